//! `POST /api/inspect` (superadmin only, enforced by `app`): what an upload of this file would
//! store — format, dialect, columns with types, semantic types, nulls and samples, `data_type`
//! and its evidence, the first rows as stored, issues with line numbers — with nothing written.
//!
//! Design decision: the file is read with the upload's own body readers (raw or the `file` part
//! of a multipart form) and parsed by the same `ingest::ingest`, and the answer is
//! `ingest::inspect::report` (shared with the `inspect` command line tool). Delimited text is
//! previewed from its first [`SAMPLE_BYTES`] only (cut at a line end, `truncated: true`), so a
//! 100 MB CSV costs a preview 4 MiB of memory; XLSX and JSON cannot be cut and are read whole,
//! as an upload reads them.

use serde_json::{json, Value};

use crate::api::uploads::fields::{self, ingest_error, BodyForm, UploadFields};
use crate::api::uploads::source::{BodyStream, FileReader, Source};
use crate::api::Reply;
use crate::error::ApiError;

/// Bytes of delimited text a preview reads.
pub const SAMPLE_BYTES: usize = 4 << 20;

pub async fn inspect(
    content_type: Option<&str>,
    query: &[(String, String)],
    body: BodyStream,
    max_bytes: u64,
) -> Result<Reply, ApiError> {
    let mut fields = UploadFields::from_query(query)?;
    let (boundary, type_hint) = match fields::body_form(content_type)? {
        BodyForm::Json => (None, "application/json".to_owned()),
        BodyForm::Multipart { boundary } => (Some(boundary), String::new()),
        BodyForm::Raw { hint } => (None, hint),
    };
    let source = Source::new(body, max_bytes);
    let (mut reader, part_hint) =
        FileReader::open(source, boundary.as_deref(), &mut fields).await?;
    let hint = fields.filename.clone().or(part_hint).unwrap_or(type_hint);

    let mut bytes = Vec::new();
    let mut more = false;
    while let Some(chunk) = reader.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > SAMPLE_BYTES && is_delimited(&bytes, &hint) {
            more = true;
            break;
        }
    }
    // Whatever follows the sample is not needed; `app` drains the body before answering.
    drop(reader);
    let truncated = more && cut_at_line_end(&mut bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ingest_error(ingest::IngestError::new(
            ingest::ErrorCode::EmptyFile,
            "the file is empty",
        )));
    }
    let mut opts = ingest::IngestOptions::new().with_max_bytes(max_bytes);
    if !hint.is_empty() {
        opts = opts.with_hint(hint);
    }
    let got = ingest::ingest(&bytes, &opts).map_err(ingest_error)?;
    let mut report = ingest::inspect::report(&got, ingest::inspect::ReportLimits::default());
    if let Value::Object(o) = &mut report {
        o.insert("truncated".into(), json!(truncated));
        o.insert("bytes_read".into(), json!(bytes.len()));
    }
    Ok(Reply::ok(report))
}

fn is_delimited(head: &[u8], hint: &str) -> bool {
    let hint = (!hint.is_empty()).then_some(hint);
    ingest::detect_format(&head[..head.len().min(4096)], hint) == Some(ingest::Format::Delimited)
}

/// Drops a partial last line; false when there is no line end to cut at (then nothing is cut).
fn cut_at_line_end(bytes: &mut Vec<u8>) -> bool {
    match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => {
            bytes.truncate(i + 1);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn run(content_type: &str, query: &[(&str, &str)], body: Vec<u8>) -> Result<Value, ApiError> {
        let chunks: Vec<Result<Vec<u8>, String>> =
            body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let fut = inspect(
            Some(content_type),
            &query,
            Box::pin(stream::iter(chunks)),
            1 << 30,
        );
        crate::db::fake::block_on(fut).map(|r| r.body)
    }

    #[test]
    fn a_csv_preview_has_types_rows_and_issues() {
        // Eleven numbers and one word: a number column with one value kept as text.
        let mut body = String::from("Order ID,Amount,Customer Email\n");
        for i in 1..=12 {
            let amount = if i == 2 {
                "n/a?".to_owned()
            } else {
                format!("{i}.5")
            };
            body += &format!("{i},{amount},c{i}@x.io\n");
        }
        let r = run("text/csv", &[], body.into_bytes()).unwrap();
        let t = &r["tables"][0];
        assert_eq!(t["dialect"]["delimiter"], ",");
        assert_eq!(t["columns"][0]["key"], "order_id");
        assert_eq!(t["columns"][2]["semantic_type"], "email");
        assert_eq!(t["columns"][1]["type"], "mixed");
        assert_eq!(t["rows"][0]["amount"], json!(1.5));
        assert_eq!(t["rows"][1]["amount"], "n/a?");
        assert_eq!(t["issues"][0]["line"], 3);
        assert_eq!(r["truncated"], false);
    }

    #[test]
    fn a_big_csv_is_previewed_from_its_first_lines() {
        let mut body = b"n,label\n".to_vec();
        let mut i = 0;
        while body.len() < SAMPLE_BYTES + 100_000 {
            body.extend_from_slice(format!("{i},row number {i}\n").as_bytes());
            i += 1;
        }
        let r = run("application/octet-stream", &[("filename", "big.csv")], body).unwrap();
        assert_eq!(r["truncated"], true);
        let rows = r["tables"][0]["row_count"].as_u64().unwrap();
        assert!(rows > 100_000 && rows < i, "{rows} of {i}");
        assert!(r["tables"][0]["issues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "ragged_row"));
    }

    #[test]
    fn the_file_part_of_a_form_is_inspected() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.tsv\"\r\nContent-Type: text/tab-separated-values\r\n\r\na\tb\n1\t2\n\r\n--XyZ--\r\n".to_vec();
        let r = run("multipart/form-data; boundary=XyZ", &[], body).unwrap();
        assert_eq!(r["tables"][0]["dialect"]["delimiter"], "\t");
        assert_eq!(r["tables"][0]["rows"][0]["b"], json!(2));
    }

    #[test]
    fn an_empty_or_binary_file_is_refused_with_the_upload_codes() {
        let e = run("text/csv", &[], b"  \n".to_vec()).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::EmptyFile);
        let e = run("application/octet-stream", &[], b"%PDF-1.4 xx".to_vec()).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::UnsupportedFormat);
    }
}
