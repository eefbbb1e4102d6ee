pub(crate) fn ingest_xlsx(_b: &[u8], _o: &crate::IngestOptions) -> Result<Vec<crate::Table>, crate::IngestError> { todo!() }
