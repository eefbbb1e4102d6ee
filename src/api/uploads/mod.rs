//! Uploads (create and append): read the body as a stream, parse it with `ingest`, write the
//! rows in batches through the staged-upload functions, and make them visible at one commit.
//!
//! Design decision: delimited text, NDJSON and JSON arrays are never held whole. Chunks go from
//! the body stream (through the multipart parser when there is one) into
//! `ingest::DelimitedStream` or `ingest::NdjsonStream` (`json_array` for a body opening with
//! `[`), their rows into a
//! [`Batcher`], each full batch into one `stage_upload_rows` call; memory is one chunk, one batch
//! and the type-inference sample. The upload is begun lazily, at the first batch, because the
//! table's name depends on the data type the content reveals. Any failure after that aborts the
//! upload, so nothing of a failed upload ever becomes visible. The orchestration is generic over
//! [`Rpc`] and [`Minter`] so its failure paths are unit-tested natively (`tests` below).

pub mod client_id;
pub mod digest;
pub mod fields;
pub mod multipart;
pub mod source;

use serde_json::{json, Value};

use crate::api::Reply;
use crate::auth::Minter;
use crate::db::{self, BeginUpload, Rpc, TableSchema, UploadResult, Who};
use crate::error::{ApiError, ErrorCode};
use digest::RequestDigest;
use fields::{
    ingest_error, render_issues, sheet_table_name, Batch, Batcher, BodyForm, JsonBody, NewClient,
    UploadFields,
};
pub use source::BodyStream;
use source::{FileReader, Source};

/// Rows per `stage_upload_rows` call, and the JSON size that closes a batch earlier.
const BATCH_ROWS: usize = 2000;
const BATCH_BYTES: usize = 1 << 20;
/// Distinct values remembered per column for `distinct_count` (exact up to here, then a floor
/// with `distinct_exact: false`). The set holds each value as a string, so it is the one part
/// of an upload's memory that grows with the file: at ingest's default of 10,000 a 40-column
/// CSV of 2 KB rows grew the wasm memory from 5.5 to 32 MiB; at 1,000 it peaks at 13 MiB.
const DISTINCT_CAP: usize = 1000;
/// Bytes of a file read before its format is decided from content.
const SNIFF_BYTES: usize = 4096;
/// Largest body of a format parsed whole (a JSON object document such as the JSON form, and
/// XLSX), far below MAX_UPLOAD_BYTES: such a file is held in memory with its parsed rows, which
/// cost 10 to 100 times its text (a JSON array of 1-key rows natively: 8 MiB → 805 MB RSS,
/// 1 MiB → 103 MB; of 6-key rows 8 MiB → 104 MB). This keeps one upload within the 64 MiB wasm
/// budget, as measured per input in tests/e2e/tests/hardening.rs. Delimited text, NDJSON and a
/// top-level JSON array stream and are not capped by it (up to `ingest::HOLD_BYTES`, the same
/// 1 MiB, NDJSON and a JSON array are still held and read whole, so their answer is the
/// whole-file one).
pub const WHOLE_FILE_BYTES: u64 = 1024 * 1024;
/// What an XLSX may unpack to in the Worker (ingest's default is 64 MiB): the unpacked XML is
/// held whole while its rows are parsed.
pub const UNPACKED_XLSX_BYTES: u64 = 16 * 1024 * 1024;

/// An upload request as the orchestration needs it (headers, query, body), taken from the
/// `worker::Request` by `app`, or built directly in tests.
pub struct UploadRequest {
    pub content_type: Option<String>,
    pub idempotency_key: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: BodyStream,
}

/// Where the rows go: a new client, or an existing one as the caller.
pub enum Target<'a> {
    /// A new client, described by the upload's fields (superadmin only, checked before).
    Create,
    Append {
        client_id: &'a str,
        who: Who<'a>,
    },
}

/// Runs one upload request end to end.
pub async fn upload<R: Rpc>(
    rpc: &R,
    minter: &impl Minter,
    max_bytes: u64,
    req: UploadRequest,
    target: Target<'_>,
) -> Result<Reply, ApiError> {
    let query = UploadFields::from_query(&req.query)?;
    let form = fields::body_form(req.content_type.as_deref())?;
    let idempotency_key = req.idempotency_key.as_deref().map(|k| k.trim().to_owned());
    if idempotency_key
        .as_deref()
        .is_some_and(|k| k.is_empty() || k.len() > 255)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            "Idempotency-Key must have 1 to 255 characters",
        ));
    }
    let source = Source::new(req.body, max_bytes);
    let opts = ingest::IngestOptions::new()
        .with_max_bytes(max_bytes)
        .with_max_unpacked_bytes(UNPACKED_XLSX_BYTES)
        .with_distinct_cap(DISTINCT_CAP);
    let digest = RequestDigest::of_query(&req.query);
    let (rows, tables, fields) = read_rows(form, source, opts, query, &target, &digest).await?;
    let parsed = Parsed {
        rows,
        tables,
        fields,
        idempotency_key,
        digest,
    };
    store(rpc, minter, parsed, target).await
}

/// An upload after its parse stage: the fields, and the rows (still streaming for delimited
/// text) or, for a workbook with several sheets on create, one table per sheet.
struct Parsed {
    rows: Rows,
    tables: Option<Vec<ingest::Table>>,
    fields: UploadFields,
    idempotency_key: Option<String>,
    /// Complete once the body was read to its end (see [`Rows::Streaming`]).
    digest: RequestDigest,
}

/// The execute stage: begin, stage, commit (per sheet), or abort and undo.
async fn store<R: Rpc>(
    rpc: &R,
    minter: &impl Minter,
    parsed: Parsed,
    target: Target<'_>,
) -> Result<Reply, ApiError> {
    let Parsed {
        rows,
        tables,
        fields,
        idempotency_key,
        digest,
    } = parsed;
    check_fields(&target, &fields)?;

    let (kind, client_id, client, who, new_client) = match &target {
        Target::Create => {
            let client = fields.new_client()?;
            let password_hash = match &client.password {
                Some(p) => Some(minter.hash_password(p).await?),
                None => None,
            };
            // With an Idempotency-Key the id (and so every table name) is the retry's too.
            let client_id = match &idempotency_key {
                Some(key) => client_id::derived(key, &client.email),
                None => client_id::random_from(minter.random_id_bytes()?),
            };
            let described = json!({
                "company_name": client.company_name,
                "email": client.email,
                "password_hash": password_hash,
            });
            (
                Kind::Create,
                client_id,
                Some(described),
                Who::Service,
                Some(client),
            )
        }
        Target::Append { client_id, who } => {
            (Kind::Append, client_id.to_string(), None, *who, None)
        }
    };
    let base_sink = |table_name: String, data_type: String, key: Option<String>| Sink {
        rpc,
        who,
        kind,
        client_id: client_id.clone(),
        client: client.clone(),
        table_name,
        data_type,
        idempotency_key: key,
        digest: digest.clone(),
        upload_id: None,
        rows_staged: 0,
        existing: None,
    };

    let Some(tables) = tables else {
        // One table: streamed, whole, or empty.
        let explicit_type = fields.data_type.clone();
        let mut sink = base_sink(
            fields.table_name.clone().unwrap_or_default(),
            explicit_type.clone().unwrap_or_default(),
            idempotency_key.clone(),
        );
        let mut stored = store_one(&mut sink, rows, explicit_type.clone()).await?;
        let more = std::mem::take(&mut stored.more_tables);
        if more.is_empty() {
            return Ok(answer(&sink, new_client.as_ref(), stored, Vec::new()));
        }
        // Delimited text with tables one after another (create only): the later ones become
        // `{table}_2`, `{table}_3`, … of the same client, as later sheets of a workbook do.
        let mut entries = vec![table_entry(&stored)];
        for (i, table) in more.into_iter().enumerate() {
            let number = (i + 2).to_string();
            let data_type = explicit_type
                .clone()
                .unwrap_or_else(|| table.data_type.clone());
            let key = idempotency_key.as_ref().map(|k| format!("{k}/{number}"));
            let name = numbered_table_name(&stored.result.table_name, i + 2);
            let mut later = base_sink(name, data_type.clone(), key);
            later.kind = Kind::Append;
            later.client = None;
            later.client_id = stored.result.client_id.clone();
            match store_one(&mut later, Rows::Whole(table), Some(data_type)).await {
                Ok(s) => entries.push(table_entry(&s)),
                Err(e) => {
                    if kind == Kind::Create && !stored.replayed {
                        delete_new_client(rpc, &stored.result.client_id).await;
                    }
                    return Err(e);
                }
            }
        }
        return Ok(answer(&sink, new_client.as_ref(), stored, entries));
    };

    // Several sheets (create only): one table each, the first creates the client.
    let explicit_type = fields.data_type.clone();
    let mut parts: Vec<(Sink<R>, Stored)> = Vec::new();
    // Table name → the sheet stored in it: two sheets must never share a table.
    let mut taken: std::collections::HashMap<String, String> = Default::default();
    for (i, mut table) in tables.into_iter().enumerate() {
        let data_type = explicit_type
            .clone()
            .unwrap_or_else(|| table.data_type.clone());
        let base = fields
            .table_name
            .clone()
            .unwrap_or_else(|| ingest::table_name(&client_id, &data_type));
        let sheet = table
            .sheet
            .clone()
            .unwrap_or_else(|| format!("sheet{}", i + 1));
        let key = idempotency_key.as_ref().map(|k| {
            if i == 0 {
                k.clone()
            } else {
                format!("{k}/{sheet}")
            }
        });
        let name = distinct_table_name(&mut table, sheet_table_name(&base, &sheet), &taken);
        taken.insert(name.clone(), sheet.clone());
        let mut sink = base_sink(name, data_type.clone(), key);
        if let Some((_, first)) = parts.first() {
            sink.kind = Kind::Append;
            sink.client = None;
            sink.client_id = first.result.client_id.clone();
        }
        match store_one(&mut sink, Rows::Whole(table), Some(data_type)).await {
            Ok(stored) => parts.push((sink, stored)),
            Err(e) => {
                if let Some((first, s)) = parts.first() {
                    if !s.replayed {
                        delete_new_client(rpc, &first.client_id).await;
                    }
                }
                return Err(e);
            }
        }
    }
    let mut parts = parts.into_iter();
    let Some((first_sink, first)) = parts.next() else {
        return Err(ingest_error(ingest::IngestError::new(
            ingest::ErrorCode::EmptyFile,
            "the workbook has no sheet with data",
        )));
    };
    let rest: Vec<(Sink<R>, Stored)> = parts.collect();
    let mut entries = vec![table_entry(&first)];
    entries.extend(rest.iter().map(|(_, s)| table_entry(s)));
    let mut out = answer(&first_sink, new_client.as_ref(), first, entries);
    out.replayed &= rest.iter().all(|(_, s)| s.replayed);
    Ok(out)
}

/// The parse stage: the body's fields (merged with the query's) and its rows, whole or still
/// streaming; several tables when a workbook has several sheets.
async fn read_rows(
    form: BodyForm,
    mut source: Source,
    opts: ingest::IngestOptions,
    query: UploadFields,
    target: &Target<'_>,
    digest: &RequestDigest,
) -> Result<(Rows, Option<Vec<ingest::Table>>, UploadFields), ApiError> {
    let mut peeked = Vec::new();
    let (multipart, boundary) = match form {
        BodyForm::Json => {
            // A body opening with `[` can only be a file (the JSON form is an object): it
            // streams like a raw upload of a JSON array. An object is read whole.
            peeked = peek_first_byte(&mut source).await?;
            if ingest::starts_json_array(&peeked) {
                digest.bytes(&peeked);
                (false, "application/json".to_owned())
            } else {
                source.cap_whole(WHOLE_FILE_BYTES);
                let mut bytes = std::mem::take(&mut peeked);
                bytes.extend(source.read_all().await?);
                return read_json_document(bytes, opts, query, target, digest);
            }
        }
        BodyForm::Multipart { boundary } => (true, boundary),
        BodyForm::Raw { hint } => (false, hint),
    };
    let mut fields = query;
    let with_field_hint = |e: ApiError| {
        if multipart && e.code == ErrorCode::InvalidBody {
            e.with_hint("form fields must precede the `file` part")
        } else {
            e
        }
    };
    let (mut reader, part_hint) = FileReader::open(
        source,
        multipart.then_some(boundary.as_str()),
        &mut fields,
        digest,
    )
    .await
    .map_err(with_field_hint)?;
    check_fields(target, &fields).map_err(|e| {
        if multipart {
            e.with_hint("form fields must precede the `file` part")
        } else {
            e
        }
    })?;
    let hint = fields
        .filename
        .clone()
        .or(part_hint)
        .unwrap_or(if multipart { String::new() } else { boundary });
    let mut head = peeked;
    while head.len() < SNIFF_BYTES {
        match reader.chunk().await? {
            Some(c) => head.extend_from_slice(&c),
            None => break,
        }
    }
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(ingest_error(ingest::IngestError::new(
            ingest::ErrorCode::EmptyFile,
            "the file is empty",
        )));
    }
    let opts = if hint.is_empty() {
        opts
    } else {
        opts.with_hint(hint.clone())
    };
    match ingest::detect_format(&head, opts.hint.as_deref()) {
        Some(ingest::Format::Delimited) => Ok((
            Rows::Streaming {
                reader,
                head,
                opts,
                format: ingest::Format::Delimited,
            },
            None,
            fields,
        )),
        // NDJSON by its content (a complete object on the first line, more lines after) streams;
        // a `.ndjson` name on a JSON array or a pretty-printed object is read whole.
        Some(ingest::Format::Ndjson) if ingest::detect_format(&head, None) == Some(ingest::Format::Ndjson) => Ok((
            Rows::Streaming {
                reader,
                head,
                opts,
                format: ingest::Format::Ndjson,
            },
            None,
            fields,
        )),
        // A top-level JSON array streams element by element (held and read whole up to
        // `ingest::HOLD_BYTES`); a JSON object document is read whole.
        Some(ingest::Format::Json) if ingest::starts_json_array(&head) => Ok((
            Rows::Streaming {
                reader,
                head,
                opts,
                format: ingest::Format::Json,
            },
            None,
            fields,
        )),
        Some(_) => {
            reader.cap_whole(WHOLE_FILE_BYTES);
            let mut all = head;
            while let Some(c) = reader.chunk().await? {
                all.extend_from_slice(&c);
            }
            let got = ingest::ingest(&all, &opts).map_err(ingest_error)?;
            let (rows, tables) = sheets(got.tables, &fields, target)?;
            Ok((rows, tables, fields))
        }
        None => Err(ingest_error(ingest::IngestError::new(
            ingest::ErrorCode::UnsupportedFormat,
            "this is not CSV/TSV, JSON, NDJSON or XLSX (binary content such as PDF, legacy .xls or an image)",
        ))),
    }
}

/// The first bytes of a body, up to and including the first byte of its JSON value
/// ([`ingest::json_start`]): enough to tell a JSON array from an object.
async fn peek_first_byte(source: &mut Source) -> Result<Vec<u8>, ApiError> {
    let mut head = Vec::new();
    while ingest::json_start(&head).is_none() {
        match source.next().await? {
            Some(c) => head.extend_from_slice(&c),
            None => break,
        }
    }
    Ok(head)
}

/// A JSON body that is an object, read whole: the JSON form (`data` holds the rows) or a file
/// that is one object document.
fn read_json_document(
    bytes: Vec<u8>,
    opts: ingest::IngestOptions,
    query: UploadFields,
    target: &Target<'_>,
    digest: &RequestDigest,
) -> Result<(Rows, Option<Vec<ingest::Table>>, UploadFields), ApiError> {
    digest.bytes(&bytes);
    match fields::parse_json_body(&bytes)? {
        JsonBody::Form {
            fields: mut f,
            rows,
        } => {
            f.merge(query)?;
            if rows == 0 {
                return Ok((Rows::Empty, None, f));
            }
            // The body as sent, not the parsed rows re-serialised: ingest keeps the
            // key order and reports duplicate keys, which a parsed `Map` has lost.
            let opts = opts
                .with_format(ingest::Format::Json)
                .with_json_records_key("data");
            let got = ingest::ingest(&bytes, &opts).map_err(ingest_error)?;
            Ok((Rows::Whole(single(got.tables)?), None, f))
        }
        JsonBody::File => {
            let got = ingest::ingest(&bytes, &opts.with_hint("application/json"))
                .map_err(ingest_error)?;
            let (rows, tables) = sheets(got.tables, &query, target)?;
            Ok((rows, tables, query))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Append,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Append => "append",
        }
    }
}

/// One staged upload: begun lazily, then batches, then commit — or abort on any failure.
struct Sink<'a, R> {
    rpc: &'a R,
    who: Who<'a>,
    kind: Kind,
    client_id: String,
    client: Option<Value>,
    table_name: String,
    data_type: String,
    idempotency_key: Option<String>,
    digest: RequestDigest,
    upload_id: Option<String>,
    rows_staged: u64,
    /// An append's target table as stored before this upload.
    existing: Option<TableSchema>,
}

/// A key committed before: its stored result, and the digest of the request that committed it.
struct Replay {
    result: UploadResult,
    request_digest: Option<String>,
}

impl<R: Rpc> Sink<'_, R> {
    /// `Some(replay)` when the key was committed before.
    async fn begin(&mut self) -> Result<Option<Replay>, ApiError> {
        let args = BeginUpload {
            p_kind: self.kind.as_str(),
            p_client_id: &self.client_id,
            p_table_name: (!self.table_name.is_empty()).then_some(self.table_name.as_str()),
            p_data_type: &self.data_type,
            p_idempotency_key: self.idempotency_key.as_deref(),
            p_client: self.client.as_ref(),
        };
        let begun = db::begin_upload(self.rpc, self.who, &args).await?;
        if begun.replayed {
            return Ok(begun.result.map(|result| Replay {
                result,
                request_digest: begun.request_digest,
            }));
        }
        self.upload_id = begun.upload_id;
        Ok(None)
    }

    async fn stage(&mut self, batch: Batch) -> Result<(), ApiError> {
        let Some(id) = &self.upload_id else {
            return Err(ApiError::internal("stage before begin"));
        };
        db::stage_upload_rows(self.rpc, self.who, id, &batch.json).await?;
        self.rows_staged += batch.rows as u64;
        Ok(())
    }

    async fn commit(&mut self, schema_def: &Value) -> Result<UploadResult, ApiError> {
        let Some(id) = &self.upload_id else {
            return Err(ApiError::internal("commit before begin"));
        };
        db::commit_upload(
            self.rpc,
            self.who,
            self.kind == Kind::Create,
            id,
            schema_def,
            &self.data_type,
            &self.digest.hex(),
        )
        .await
    }

    /// The replay's result if this request is the one that committed the key; call it once
    /// the body was read to its end. (A key stored without a digest is taken as the same.)
    fn same_request(&self, replay: Replay) -> Result<UploadResult, ApiError> {
        match replay.request_digest {
            Some(stored) if stored != self.digest.hex() => Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a request with other fields or another file",
            )
            .with_hint("send a new Idempotency-Key for a new upload")),
            _ => Ok(replay.result),
        }
    }

    /// Best effort: a failed abort leaves a pending upload the scheduled cleanup removes.
    async fn abort(&mut self) {
        if let Some(id) = self.upload_id.take() {
            if let Err(e) = db::abort_upload(self.rpc, self.who, &id).await {
                log_error(&format!(
                    "abort_upload {id} failed ({}); cleanup_abandoned_uploads will remove it",
                    e.internal.as_deref().unwrap_or(&e.message)
                ));
            }
        }
    }
}

/// What one table of the upload became.
struct Stored {
    result: UploadResult,
    created_at: Value,
    schema: Value,
    issues: Vec<Value>,
    issue_counts: Value,
    replayed: bool,
    /// Tables that followed this one in the same delimited file, not yet stored.
    more_tables: Vec<ingest::Table>,
}

/// The rows of one table, as they arrive.
enum Rows {
    /// Already parsed whole (JSON, XLSX): the table with its rows.
    Whole(ingest::Table),
    /// Delimited text, NDJSON or a JSON array still streaming; `head` is what was read to
    /// decide the format.
    Streaming {
        reader: FileReader,
        head: Vec<u8>,
        opts: ingest::IngestOptions,
        format: ingest::Format,
    },
    /// The JSON form with `data: []`: a client or table with no rows yet.
    Empty,
}

/// The push parser of a format that streams.
enum RowStream {
    // Boxed: both parsers are hundreds of bytes inline, of different sizes.
    Delimited(Box<ingest::DelimitedStream>),
    Ndjson(Box<ingest::NdjsonStream>),
}

impl RowStream {
    fn new(format: ingest::Format, opts: ingest::IngestOptions) -> Result<RowStream, ApiError> {
        match format {
            ingest::Format::Ndjson => {
                ingest::NdjsonStream::new(opts).map(|s| RowStream::Ndjson(Box::new(s)))
            }
            ingest::Format::Json => {
                ingest::NdjsonStream::json_array(opts).map(|s| RowStream::Ndjson(Box::new(s)))
            }
            _ => ingest::DelimitedStream::new(opts).map(|s| RowStream::Delimited(Box::new(s))),
        }
        .map_err(ingest_error)
    }
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<ingest::Row>, ApiError> {
        match self {
            RowStream::Delimited(s) => s.feed(chunk),
            RowStream::Ndjson(s) => s.feed(chunk),
        }
        .map_err(ingest_error)
    }
    /// Rows of input the parser holds but has not read yet (NDJSON and JSON arrays read the
    /// held first megabyte a step at a time); empty when there are none.
    fn pending(&mut self) -> Result<Vec<ingest::Row>, ApiError> {
        match self {
            RowStream::Delimited(_) => Ok(Vec::new()),
            RowStream::Ndjson(s) => s.pending().map_err(ingest_error),
        }
    }
    fn data_type(&self) -> Option<(String, Vec<String>)> {
        match self {
            RowStream::Delimited(s) => s.data_type(),
            RowStream::Ndjson(s) => s.data_type(),
        }
    }
    fn finish(self) -> Result<ingest::StreamEnd, ApiError> {
        match self {
            RowStream::Delimited(s) => s.finish(),
            RowStream::Ndjson(s) => s.finish(),
        }
        .map_err(ingest_error)
    }
}

/// `{name}_{n}`, the base shortened so the suffix survives the 63 characters a table name may
/// have (the numbering of `table_split` tables and of renamed sheets).
fn numbered_table_name(name: &str, n: usize) -> String {
    let suffix = format!("_{n}");
    let mut end = name.len().min(63 - suffix.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", name[..end].trim_end_matches('_'))
}

/// `wanted`, or when an earlier sheet's table has that name (`Sales Q1` and `Sales-Q1` both
/// clean to `…_sales_q1`), the first free `{wanted}_2`, `{wanted}_3`, … with a `table_renamed`
/// issue on `table` saying so: two sheets are never appended into one table.
fn distinct_table_name(
    table: &mut ingest::Table,
    wanted: String,
    taken: &std::collections::HashMap<String, String>,
) -> String {
    let Some(earlier) = taken.get(&wanted) else {
        return wanted;
    };
    let name = (2..)
        .map(|n| numbered_table_name(&wanted, n))
        .find(|n| !taken.contains_key(n))
        .expect("a free number");
    let sheet = table.sheet.clone().unwrap_or_default();
    table.issues.insert(
        0,
        ingest::Issue {
            kind: ingest::IssueKind::TableRenamed,
            row: None,
            line: None,
            offset: None,
            column: None,
            original: Some(sheet.clone()),
            message: format!(
                "the sheet {sheet:?} would be stored in {wanted}, the table of the earlier sheet {earlier:?}; it is stored as {name}"
            ),
        },
    );
    *table
        .issue_counts
        .entry(ingest::IssueKind::TableRenamed.as_str().to_owned())
        .or_insert(0) += 1;
    name
}

/// Deletes a client whose later sheet failed, so a create stays all or nothing.
async fn delete_new_client(rpc: &impl Rpc, client_id: &str) {
    if let Err(e) = db::delete_client(rpc, client_id).await {
        log_error(&format!(
            "could not delete half-created client {client_id}: {}",
            e.internal.as_deref().unwrap_or(&e.message)
        ));
    }
}

fn log_error(message: &str) {
    #[cfg(target_arch = "wasm32")]
    worker::console_error!("{message}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

fn check_fields(target: &Target, fields: &UploadFields) -> Result<(), ApiError> {
    match target {
        Target::Create => fields.new_client().map(|_| ()),
        Target::Append { .. } => fields.validate_target(),
    }
}

fn single(tables: Vec<ingest::Table>) -> Result<ingest::Table, ApiError> {
    tables.into_iter().next().ok_or_else(|| {
        ingest_error(ingest::IngestError::new(
            ingest::ErrorCode::EmptyFile,
            "the file holds no rows",
        ))
    })
}

/// Whole-file tables: one is the usual case; several sheets make several tables on create, and
/// an append must pick one with `sheet`.
fn sheets(
    tables: Vec<ingest::Table>,
    fields: &UploadFields,
    target: &Target,
) -> Result<(Rows, Option<Vec<ingest::Table>>), ApiError> {
    let names = |tables: &[ingest::Table]| -> Vec<String> {
        tables.iter().filter_map(|t| t.sheet.clone()).collect()
    };
    if let Some(wanted) = &fields.sheet {
        let all = names(&tables);
        let table = tables
            .into_iter()
            .find(|t| t.sheet.as_deref() == Some(wanted.as_str()))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::SheetNotFound,
                    format!("the workbook has no sheet {wanted:?}"),
                )
                .with_details(json!({ "sheets": all }))
            })?;
        return Ok((Rows::Whole(table), None));
    }
    if tables.len() <= 1 {
        return Ok((Rows::Whole(single(tables)?), None));
    }
    match target {
        Target::Create => Ok((Rows::Empty, Some(tables))),
        Target::Append { .. } => Err(ApiError::new(
            ErrorCode::MultipleSheets,
            format!(
                "the workbook has {} sheets with data; an append takes one",
                tables.len()
            ),
        )
        .with_details(json!({ "sheets": names(&tables) }))
        .with_hint("name the sheet with ?sheet= (or a `sheet` field)")),
    }
}

/// Begins `sink` once its data type is known; `Some(stored result)` for a replay. (The
/// database refuses a key committed for another table: 409 `idempotency_conflict`; and one
/// whose upload another request is still sending: 409 `idempotency_in_progress`.)
async fn begin_for<R: Rpc>(
    sink: &mut Sink<'_, R>,
    data_type: &str,
) -> Result<Option<Replay>, ApiError> {
    let explicit_type = !sink.data_type.is_empty();
    if !explicit_type {
        sink.data_type = data_type.to_owned();
    }
    if sink.kind == Kind::Append {
        if sink.table_name.is_empty() {
            // The same default the database uses; needed to find the stored schema.
            sink.table_name = ingest::table_name(&sink.client_id, &sink.data_type);
        }
        let tables = db::client_schemas(sink.rpc, sink.who, &sink.client_id).await?;
        sink.existing = tables.into_iter().find(|t| t.table_name == sink.table_name);
        // An existing table keeps its data type unless the upload names another.
        if let (false, Some(t)) = (explicit_type, &sink.existing) {
            sink.data_type = t.data_type.clone();
        }
    }
    sink.begin().await
}

async fn store_one<R: Rpc>(
    sink: &mut Sink<'_, R>,
    rows: Rows,
    explicit_type: Option<String>,
) -> Result<Stored, ApiError> {
    match store_rows(sink, rows, explicit_type).await {
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
        Ok(mut stored) if stored.replayed => {
            // The first answer's schema and creation time, as stored now.
            let table = stored_table(sink, &stored.result).await?;
            if let Some(t) = table {
                stored.schema = t.schema_def;
                stored.created_at = json!(t.created_at);
            }
            Ok(stored)
        }
        ok => ok,
    }
}

/// The stored schema row of a committed upload's table.
async fn stored_table<R: Rpc>(
    sink: &Sink<'_, R>,
    result: &UploadResult,
) -> Result<Option<TableSchema>, ApiError> {
    let tables = db::client_schemas(sink.rpc, sink.who, &result.client_id).await?;
    Ok(tables
        .into_iter()
        .find(|t| t.table_name == result.table_name))
}

async fn store_rows<R: Rpc>(
    sink: &mut Sink<'_, R>,
    rows: Rows,
    explicit_type: Option<String>,
) -> Result<Stored, ApiError> {
    let mut batcher = Batcher::new(BATCH_ROWS, BATCH_BYTES);
    let mut more_tables = Vec::new();
    let replayed = |result: UploadResult| Stored {
        result,
        created_at: Value::Null,
        schema: Value::Null,
        issues: Vec::new(),
        issue_counts: json!({}),
        replayed: true,
        more_tables: Vec::new(),
    };
    let table = match rows {
        Rows::Empty => {
            let data_type = explicit_type.unwrap_or_else(|| "data".to_owned());
            if let Some(r) = begin_for(sink, &data_type).await? {
                return Ok(replayed(sink.same_request(r)?));
            }
            let schema = json!({"version": ingest::SCHEMA_DEF_VERSION, "format": "json",
                                "row_count": 0, "columns": []});
            return finish(sink, schema, Vec::new(), json!({})).await;
        }
        Rows::Whole(mut table) => {
            let data_type = explicit_type.unwrap_or_else(|| table.data_type.clone());
            if let Some(r) = begin_for(sink, &data_type).await? {
                return Ok(replayed(sink.same_request(r)?));
            }
            for row in std::mem::take(&mut table.rows) {
                if let Some(b) = batcher.push(&row) {
                    sink.stage(b).await?;
                }
            }
            table
        }
        Rows::Streaming {
            mut reader,
            head,
            opts,
            format,
        } => {
            let mut stream = RowStream::new(format, opts)?;
            let mut began = false;
            let mut chunk = Some(head);
            while let Some(c) = chunk {
                let mut ready = stream.feed(&c)?;
                drop(c);
                // The rows of one step at a time (a parser may have more input in hand).
                while !ready.is_empty() {
                    if !began {
                        let data_type = explicit_type
                            .clone()
                            .or_else(|| stream.data_type().map(|(d, _)| d))
                            .unwrap_or_else(|| "data".to_owned());
                        if let Some(r) = begin_for(sink, &data_type).await? {
                            // The rest of the file still counts for the digest (not parsed).
                            while reader.chunk().await?.is_some() {}
                            return Ok(replayed(sink.same_request(r)?));
                        }
                        began = true;
                    }
                    for row in &ready {
                        if let Some(b) = batcher.push(row) {
                            sink.stage(b).await?;
                        }
                    }
                    ready = stream.pending()?;
                }
                chunk = reader.chunk().await?;
            }
            let end = stream.finish()?;
            if !end.more_tables.is_empty() && sink.kind == Kind::Append {
                return Err(ApiError::new(
                    ErrorCode::MultipleSheets,
                    format!(
                        "the file holds {} tables one after another; an append takes one",
                        end.more_tables.len() + 1
                    ),
                )
                .with_details(json!({ "table_split": render_issues(&end.more_tables.iter().flat_map(|t| t.issues.iter().filter(|i| i.kind == ingest::IssueKind::TableSplit).cloned()).collect::<Vec<_>>()) }))
                .with_hint("upload each table on its own, or the whole file on create"));
            }
            more_tables = end.more_tables;
            if !began {
                let data_type = explicit_type.unwrap_or_else(|| end.table.data_type.clone());
                if let Some(r) = begin_for(sink, &data_type).await? {
                    return Ok(replayed(sink.same_request(r)?));
                }
            }
            for row in &end.rows {
                if let Some(b) = batcher.push(row) {
                    sink.stage(b).await?;
                }
            }
            end.table
        }
    };
    if let Some(b) = batcher.flush() {
        sink.stage(b).await?;
    }
    let mut schema = ingest::schema_def(&table);
    if let Some(o) = schema.as_object_mut() {
        // The table's data type is the one it is stored under.
        o.insert("data_type".into(), json!(sink.data_type));
    }
    // One line per upload: the evidence that memory stays flat however large the file is.
    log_info(&format!(
        "upload {}: {} rows staged; wasm memory {} KiB",
        sink.upload_id.as_deref().unwrap_or("-"),
        sink.rows_staged,
        wasm_memory_kib()
    ));
    let issues = render_issues(&table.issues);
    let counts = json!(table.issue_counts);
    let mut stored = finish(sink, schema, issues, counts).await?;
    stored.more_tables = more_tables;
    Ok(stored)
}

fn log_info(message: &str) {
    #[cfg(target_arch = "wasm32")]
    worker::console_log!("{message}");
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}

/// Merges with the stored schema (an append to an existing table), then commits.
async fn finish<R: Rpc>(
    sink: &mut Sink<'_, R>,
    schema: Value,
    issues: Vec<Value>,
    issue_counts: Value,
) -> Result<Stored, ApiError> {
    let schema = match &sink.existing {
        Some(table) => ingest::merge_schema_defs(&table.schema_def, &schema),
        None => schema,
    };
    let result = sink.commit(&schema).await?;
    let mut created_at = Value::Null;
    if sink.kind == Kind::Create {
        // The client and its table are created in the commit's transaction: one timestamp.
        if let Some(t) = stored_table(sink, &result).await? {
            created_at = json!(t.created_at);
        }
    }
    Ok(Stored {
        result,
        created_at,
        schema,
        issues,
        issue_counts,
        replayed: false,
        more_tables: Vec::new(),
    })
}

fn table_entry(s: &Stored) -> Value {
    json!({
        "table_name": s.result.table_name,
        "data_type": s.result.data_type,
        "sheet": s.schema.get("sheet").cloned().unwrap_or(Value::Null),
        "schema": s.schema,
        "rows_stored": s.result.rows_stored,
        "row_count": s.result.row_count,
        "schema_version": s.result.schema_version,
        "issues": s.issues,
        "issue_counts": s.issue_counts,
    })
}

fn answer<R>(
    sink: &Sink<'_, R>,
    new_client: Option<&NewClient>,
    s: Stored,
    tables: Vec<Value>,
) -> Reply {
    let mut body = table_entry(&s);
    if let Some(o) = body.as_object_mut() {
        o.remove("sheet");
        if let Some(c) = new_client {
            o.insert(
                "client".into(),
                json!({
                    "client_id": s.result.client_id,
                    "auth_user_id": s.result.auth_user_id,
                    "company_name": c.company_name,
                    "email": c.email,
                    "data_type": s.result.data_type,
                    "created_at": s.created_at,
                }),
            );
        } else {
            o.insert("client_id".into(), json!(sink.client_id));
        }
        if !tables.is_empty() {
            o.insert("tables".into(), Value::Array(tables));
        }
    }
    Reply {
        status: if new_client.is_some() { 201 } else { 200 },
        body,
        replayed: s.replayed,
    }
}

/// The Worker's wasm linear memory (it grows and never shrinks, so its size is the peak).
fn wasm_memory_kib() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) * 64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

#[cfg(test)]
mod tests;
