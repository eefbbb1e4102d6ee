//! Uploads (create and append): read the body as a stream, parse it with `ingest`, write the
//! rows in batches through the staged-upload functions, and make them visible at one commit.
//!
//! Design decision: delimited text is never held whole. Chunks go from `req.stream()` (through
//! the multipart parser when there is one) into `ingest::DelimitedStream`, its rows into a
//! [`Batcher`], each full batch into one `stage_upload_rows` call; memory is one chunk, one batch
//! and the type-inference sample. The upload is begun lazily, at the first batch, because the
//! table's name depends on the data type the content reveals. Any failure after that aborts the
//! upload, so nothing of a failed upload ever becomes visible.

use futures_util::StreamExt;
use serde_json::{json, Value};
use worker::{console_error, console_log, ByteStream, Request};

use crate::body::{
    self, ingest_error, payload_too_large, render_issues, sheet_table_name, Batch, Batcher,
    BodyForm, JsonBody, NewClient, UploadFields,
};
use crate::client_id;
use crate::config::Config;
use crate::error::ApiError;
use crate::multipart::{Event, Multipart};
use crate::postgrest::{rpc, rpc_text, Upstream};

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

/// An upload's answer: status, body, and whether it replays an earlier upload.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

/// Where the rows go: a new client, or an existing one as the caller.
pub enum Target<'a> {
    /// A new client, described by the upload's fields (superadmin only, checked before).
    Create,
    Append {
        client_id: &'a str,
        who: Upstream<'a>,
    },
}

/// The request body, read chunk by chunk with the byte limit enforced as bytes arrive.
struct Source {
    stream: Option<ByteStream>,
    read: u64,
    limit: u64,
}

impl Source {
    fn new(req: &mut Request, limit: u64) -> Result<Source, ApiError> {
        let declared = req
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(payload_too_large(limit));
        }
        // No body at all reads as an empty one.
        Ok(Source {
            stream: req.stream().ok(),
            read: 0,
            limit,
        })
    }

    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(None);
        };
        match stream.next().await {
            None => Ok(None),
            Some(Err(e)) => Err(ApiError::bad_request(
                "invalid_body",
                format!("the upload could not be read to its end: {e}"),
            )),
            Some(Ok(chunk)) => {
                self.read += chunk.len() as u64;
                if self.read > self.limit {
                    return Err(payload_too_large(self.limit));
                }
                Ok(Some(chunk))
            }
        }
    }

    async fn read_all(&mut self) -> Result<Vec<u8>, ApiError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }
}

/// The file inside the body: the whole body for raw uploads, the `file` part for multipart.
struct FileReader {
    source: Source,
    multipart: Option<Multipart>,
    queued: std::collections::VecDeque<Event>,
    ended: bool,
}

impl FileReader {
    /// Reads multipart fields up to the file part, adding them to `fields`.
    async fn open(
        source: Source,
        boundary: Option<&str>,
        fields: &mut UploadFields,
    ) -> Result<(FileReader, Option<String>), ApiError> {
        let mut reader = FileReader {
            source,
            multipart: boundary.map(Multipart::new),
            queued: Default::default(),
            ended: false,
        };
        if reader.multipart.is_none() {
            return Ok((reader, None));
        }
        loop {
            match reader.event().await? {
                Some(Event::Field { name, value }) => fields.set(&name, value)?,
                Some(Event::FileStart {
                    filename,
                    content_type,
                    ..
                }) => return Ok((reader, filename.or(content_type))),
                Some(_) => {}
                None => return Err(ApiError::bad_request(
                    "invalid_body",
                    "the multipart body has no file part; send the data in the part named `file`",
                )),
            }
        }
    }

    async fn event(&mut self) -> Result<Option<Event>, ApiError> {
        loop {
            if let Some(e) = self.queued.pop_front() {
                return Ok(Some(e));
            }
            let Some(parser) = self.multipart.as_mut() else {
                return Ok(None);
            };
            match self.source.next().await? {
                Some(chunk) => self.queued.extend(parser.feed(&chunk)?),
                None => {
                    parser.finish()?;
                    return Ok(None);
                }
            }
        }
    }

    /// Reads the rest of the body unlooked-at, for an answer decided before its end (a replay,
    /// a key still in flight): under wrangler dev, a body left unread stalled the Worker's next
    /// requests for a minute. Ends at the body's end, a read error or the byte limit.
    async fn drain(&mut self) {
        while let Ok(Some(_)) = self.source.next().await {}
        self.ended = true;
    }

    /// The next bytes of the file; `None` at its end.
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        if self.ended {
            return Ok(None);
        }
        if self.multipart.is_none() {
            let c = self.source.next().await?;
            self.ended = c.is_none();
            return Ok(c);
        }
        loop {
            match self.event().await? {
                Some(Event::FileData(d)) => return Ok(Some(d)),
                Some(Event::FileEnd) => {
                    self.ended = true;
                    // The rest of the body may only close it: a late field would be ignored.
                    return match self.event().await? {
                        None => Ok(None),
                        Some(Event::Field { name, .. }) => Err(ApiError::bad_request(
                            "invalid_body",
                            format!("form field `{name}` comes after the file; fields must precede the `file` part"),
                        )),
                        Some(_) => Err(ApiError::bad_request(
                            "invalid_body",
                            "send one file per request (one part named `file`)",
                        )),
                    };
                }
                Some(_) => {}
                None => {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
    }
}

/// One staged upload: begun lazily, then batches, then commit — or abort on any failure.
struct Sink<'a> {
    config: &'a Config,
    who: Upstream<'a>,
    kind: &'static str,
    client_id: String,
    client: Option<Value>,
    table_name: String,
    data_type: String,
    idempotency_key: Option<String>,
    upload_id: Option<String>,
    rows_staged: u64,
    /// An append's target table as stored before this upload (`get_client_schemas` row).
    existing: Option<Value>,
}

enum Began {
    Fresh,
    /// The key was committed before: the stored result.
    Replayed(Value),
}

impl Sink<'_> {
    async fn begin(&mut self) -> Result<Began, ApiError> {
        let args = json!({
            "p_kind": self.kind,
            "p_client_id": self.client_id,
            // Empty: the database names it (a create's default depends on the stored client id
            // when an Idempotency-Key replays an earlier create).
            "p_table_name": (!self.table_name.is_empty()).then_some(&self.table_name),
            "p_data_type": self.data_type,
            "p_idempotency_key": self.idempotency_key,
            "p_client": self.client,
        });
        let answer = rpc(self.config, self.who, "begin_upload", &args)
            .await
            .map_err(|e| match (self.kind, e.code) {
                ("append", "not_found") => ApiError::client_not_found(&self.client_id),
                ("create", "conflict") => ApiError {
                    code: "email_taken",
                    ..e
                },
                _ => e,
            })?;
        if answer["replayed"] == true {
            return Ok(Began::Replayed(answer["result"].clone()));
        }
        let id = answer["upload_id"]
            .as_str()
            .filter(|id| crate::routes::is_uuid(id))
            .ok_or_else(|| {
                ApiError::upstream_unavailable(format!("begin_upload answered {answer}"))
            })?;
        self.upload_id = Some(id.to_owned());
        Ok(Began::Fresh)
    }

    async fn stage(&mut self, batch: Batch) -> Result<(), ApiError> {
        let Some(id) = &self.upload_id else {
            return Err(ApiError::internal("stage before begin"));
        };
        // The rows are already JSON text; splice them in rather than parse them again.
        // The upload id is a UUID from the database: nothing in it needs escaping.
        let args = format!(r#"{{"p_upload_id":"{id}","p_rows":{}}}"#, batch.json);
        rpc_text(self.config, self.who, "stage_upload_rows", args).await?;
        self.rows_staged += batch.rows as u64;
        Ok(())
    }

    async fn commit(&mut self, schema_def: &Value) -> Result<Value, ApiError> {
        let Some(id) = &self.upload_id else {
            return Err(ApiError::internal("commit before begin"));
        };
        let args =
            json!({"p_upload_id": id, "p_schema_def": schema_def, "p_data_type": self.data_type});
        rpc(self.config, self.who, "commit_upload", &args)
            .await
            .map_err(|e| match (self.kind, e.code) {
                ("create", "conflict") => ApiError {
                    code: "email_taken",
                    ..e
                },
                _ => e,
            })
    }

    /// Best effort: a failed abort leaves a pending upload the cleanup removes later.
    async fn abort(&mut self) {
        if let Some(id) = self.upload_id.take() {
            if let Err(e) = rpc(
                self.config,
                self.who,
                "abort_upload",
                &json!({"p_upload_id": id}),
            )
            .await
            {
                console_error!(
                    "abort_upload {id} failed ({}); cleanup_abandoned_uploads will remove it",
                    e.internal.as_deref().unwrap_or(&e.message)
                );
            }
        }
    }
}

/// What one table of the upload became.
struct Stored {
    result: Value,
    schema: Value,
    issues: Vec<Value>,
    issue_counts: Value,
    replayed: bool,
}

/// The rows of one table, as they arrive.
enum Rows {
    /// Already parsed whole (JSON, XLSX): the table with its rows.
    Whole(ingest::Table),
    /// Delimited text still streaming; `head` is what was read to decide the format.
    Streaming {
        reader: FileReader,
        head: Vec<u8>,
        opts: ingest::IngestOptions,
    },
    /// The JSON form with `data: []`: a client or table with no rows yet.
    Empty,
}

/// Runs one upload request end to end.
pub async fn upload(
    config: &Config,
    req: &mut Request,
    target: Target<'_>,
    query: UploadFields,
) -> Result<Answer, ApiError> {
    let content_type = req.headers().get("content-type").ok().flatten();
    let form = body::body_form(content_type.as_deref())?;
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .ok()
        .flatten()
        .map(|k| k.trim().to_owned());
    if idempotency_key
        .as_deref()
        .is_some_and(|k| k.is_empty() || k.len() > 255)
    {
        return Err(ApiError::bad_request(
            "invalid_argument",
            "Idempotency-Key must have 1 to 255 characters",
        ));
    }
    let source = Source::new(req, config.max_upload_bytes)?;
    let opts = ingest::IngestOptions::new()
        .with_max_bytes(config.max_upload_bytes)
        .with_distinct_cap(DISTINCT_CAP);
    let mut fields;
    let (rows, tables) = match form {
        BodyForm::Json => {
            let mut source = source;
            let bytes = source.read_all().await?;
            match body::parse_json_body(&bytes)? {
                JsonBody::Form { fields: f, rows } => {
                    fields = f;
                    fields.merge(query)?;
                    if rows.is_empty() {
                        (Rows::Empty, None)
                    } else {
                        let data = serde_json::to_vec(&rows)
                            .map_err(|e| ApiError::internal(format!("re-serializing data: {e}")))?;
                        drop(rows);
                        let opts = opts.with_format(ingest::Format::Json);
                        let got = ingest::ingest(&data, &opts).map_err(ingest_error)?;
                        (Rows::Whole(single(got.tables)?), None)
                    }
                }
                JsonBody::File => {
                    fields = query;
                    let got = ingest::ingest(&bytes, &opts.with_hint("application/json"))
                        .map_err(ingest_error)?;
                    sheets(got.tables, &fields, &target)?
                }
            }
        }
        BodyForm::Multipart { .. } | BodyForm::Raw { .. } => {
            let (multipart, boundary) = match form {
                BodyForm::Multipart { boundary } => (true, boundary),
                BodyForm::Raw { hint } => (false, hint),
                BodyForm::Json => (false, String::new()),
            };
            fields = query;
            let (mut reader, part_hint) =
                FileReader::open(source, multipart.then_some(boundary.as_str()), &mut fields)
                    .await
                    .map_err(|e| {
                        if multipart && e.code == "invalid_body" {
                            e.with_hint("form fields must precede the `file` part")
                        } else {
                            e
                        }
                    })?;
            check_fields(&target, &fields).map_err(|e| {
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
            let mut head = Vec::new();
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
                Some(ingest::Format::Delimited) => (Rows::Streaming { reader, head, opts }, None),
                Some(_) => {
                    let mut all = head;
                    while let Some(c) = reader.chunk().await? {
                        all.extend_from_slice(&c);
                    }
                    let got = ingest::ingest(&all, &opts).map_err(ingest_error)?;
                    sheets(got.tables, &fields, &target)?
                }
                None => {
                    return Err(ingest_error(ingest::IngestError::new(
                        ingest::ErrorCode::UnsupportedFormat,
                        "this is not CSV/TSV, JSON, NDJSON or XLSX (binary content such as PDF, legacy .xls or an image)",
                    )))
                }
            }
        }
    };
    check_fields(&target, &fields)?;

    let (kind, client_id, client, who, new_client) = match &target {
        Target::Create => {
            let client = fields.new_client()?;
            let password_hash = match &client.password {
                Some(p) => Some(crate::handlers::hash_password(p).await?),
                None => None,
            };
            // With an Idempotency-Key the id (and so every table name) is the retry's too.
            let client_id = match &idempotency_key {
                Some(key) => client_id::derived(key, &client.email),
                None => client_id::random()?,
            };
            let described = json!({
                "company_name": client.company_name,
                "email": client.email,
                "password_hash": password_hash,
            });
            (
                "create",
                client_id,
                Some(described),
                Upstream::AsService,
                Some(client),
            )
        }
        Target::Append { client_id, who } => ("append", client_id.to_string(), None, *who, None),
    };
    let base_sink = |table_name: String, data_type: String, key: Option<String>| Sink {
        config,
        who,
        kind,
        client_id: client_id.clone(),
        client: client.clone(),
        table_name,
        data_type,
        idempotency_key: key,
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
        let stored = store_one(&mut sink, rows, explicit_type).await?;
        return Ok(answer(&sink, new_client.as_ref(), stored, Vec::new()));
    };

    // Several sheets (create only): one table each, the first creates the client.
    let explicit_type = fields.data_type.clone();
    let mut parts: Vec<(Sink, Stored)> = Vec::new();
    for (i, table) in tables.into_iter().enumerate() {
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
        let mut sink = base_sink(sheet_table_name(&base, &sheet), data_type.clone(), key);
        if i > 0 {
            sink.kind = "append";
            sink.client = None;
        }
        let created = parts
            .first()
            .map(|(_, s)| s.result["client_id"].as_str().unwrap_or("").to_owned());
        if let Some(id) = created.filter(|id| !id.is_empty()) {
            sink.client_id = id;
        }
        match store_one(&mut sink, Rows::Whole(table), Some(data_type)).await {
            Ok(stored) => parts.push((sink, stored)),
            Err(e) => {
                if let Some((first, s)) = parts.first() {
                    if !s.replayed {
                        delete_new_client(config, &first.client_id).await;
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
    let rest: Vec<(Sink, Stored)> = parts.collect();
    let mut entries = vec![table_entry(&first)];
    entries.extend(rest.iter().map(|(_, s)| table_entry(s)));
    let mut out = answer(&first_sink, new_client.as_ref(), first, entries);
    out.replayed &= rest.iter().all(|(_, s)| s.replayed);
    Ok(out)
}

/// Deletes a client whose later sheet failed, so a create stays all or nothing.
async fn delete_new_client(config: &Config, client_id: &str) {
    if let Err(e) = rpc(
        config,
        Upstream::AsService,
        "delete_client",
        &json!({"p_client_id": client_id}),
    )
    .await
    {
        console_error!(
            "could not delete half-created client {client_id}: {}",
            e.internal.as_deref().unwrap_or(&e.message)
        );
    }
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
    if let Some(wanted) = &fields.sheet {
        let names: Vec<String> = tables.iter().filter_map(|t| t.sheet.clone()).collect();
        let table = tables
            .into_iter()
            .find(|t| t.sheet.as_deref() == Some(wanted.as_str()))
            .ok_or_else(|| {
                ApiError::new(
                    422,
                    "sheet_not_found",
                    format!("the workbook has no sheet {wanted:?}"),
                )
                .with_details(json!({"sheets": names}))
            })?;
        return Ok((Rows::Whole(table), None));
    }
    if tables.len() <= 1 {
        return Ok((Rows::Whole(single(tables)?), None));
    }
    match target {
        Target::Create => Ok((Rows::Empty, Some(tables))),
        Target::Append { .. } => Err(ApiError::new(
            422,
            "multiple_sheets",
            format!(
                "the workbook has {} sheets with data; an append takes one",
                tables.len()
            ),
        )
        .with_details(
            json!({"sheets": tables.iter().filter_map(|t| t.sheet.clone()).collect::<Vec<_>>()}),
        )
        .with_hint("name the sheet with ?sheet= (or a `sheet` field)")),
    }
}

/// Begins `sink` once its data type is known; `Some(stored result)` for a replay. (The
/// database refuses a key committed for another table: 409 `idempotency_conflict`; and one
/// whose upload another request is still sending: 409 `idempotency_in_progress`.)
async fn begin_for(sink: &mut Sink<'_>, data_type: &str) -> Result<Option<Value>, ApiError> {
    let explicit_type = !sink.data_type.is_empty();
    if !explicit_type {
        sink.data_type = data_type.to_owned();
    }
    if sink.kind == "append" {
        if sink.table_name.is_empty() {
            // The same default the database uses; needed to find the stored schema.
            sink.table_name = ingest::table_name(&sink.client_id, &sink.data_type);
        }
        let tables = rpc(
            sink.config,
            sink.who,
            "get_client_schemas",
            &json!({"p_client_id": sink.client_id}),
        )
        .await?;
        sink.existing = tables.as_array().and_then(|ts| {
            ts.iter()
                .find(|t| t["table_name"] == json!(sink.table_name))
                .cloned()
        });
        // An existing table keeps its data type unless the upload names another.
        if let (false, Some(d)) = (
            explicit_type,
            sink.existing.as_ref().and_then(|t| t["data_type"].as_str()),
        ) {
            sink.data_type = d.to_owned();
        }
    }
    match sink.begin().await? {
        Began::Fresh => Ok(None),
        Began::Replayed(result) => Ok(Some(result)),
    }
}

async fn store_one(
    sink: &mut Sink<'_>,
    rows: Rows,
    explicit_type: Option<String>,
) -> Result<Stored, ApiError> {
    let outcome = store_rows(sink, rows, explicit_type).await;
    match outcome {
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
        Ok(mut stored) if stored.replayed => {
            // The first answer's schema and creation time, as stored now.
            let tables = rpc(
                sink.config,
                sink.who,
                "get_client_schemas",
                &json!({"p_client_id": stored.result["client_id"]}),
            )
            .await?;
            if let Some(t) = tables.as_array().and_then(|ts| {
                ts.iter()
                    .find(|t| t["table_name"] == stored.result["table_name"])
            }) {
                stored.schema = t["schema_def"].clone();
                if let Some(o) = stored.result.as_object_mut() {
                    o.insert("created_at".into(), t["created_at"].clone());
                }
            }
            Ok(stored)
        }
        ok => ok,
    }
}

async fn store_rows(
    sink: &mut Sink<'_>,
    rows: Rows,
    explicit_type: Option<String>,
) -> Result<Stored, ApiError> {
    let mut batcher = Batcher::new(BATCH_ROWS, BATCH_BYTES);
    let replayed = |result: Value| Stored {
        result,
        schema: Value::Null,
        issues: Vec::new(),
        issue_counts: json!({}),
        replayed: true,
    };
    let table = match rows {
        Rows::Empty => {
            let data_type = explicit_type.unwrap_or_else(|| "data".to_owned());
            if let Some(r) = begin_for(sink, &data_type).await? {
                return Ok(replayed(r));
            }
            let schema = json!({"version": ingest::SCHEMA_DEF_VERSION, "format": "json",
                                "row_count": 0, "columns": []});
            return finish(sink, schema, Vec::new(), json!({})).await;
        }
        Rows::Whole(mut table) => {
            let data_type = explicit_type.unwrap_or_else(|| table.data_type.clone());
            if let Some(r) = begin_for(sink, &data_type).await? {
                return Ok(replayed(r));
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
        } => {
            let mut stream = ingest::DelimitedStream::new(opts).map_err(ingest_error)?;
            let mut began = false;
            let mut chunk = Some(head);
            while let Some(c) = chunk {
                let ready = stream.feed(&c).map_err(ingest_error)?;
                drop(c);
                if !ready.is_empty() && !began {
                    let data_type = explicit_type
                        .clone()
                        .or_else(|| stream.data_type().map(|(d, _)| d))
                        .unwrap_or_else(|| "data".to_owned());
                    let begun = begin_for(sink, &data_type).await;
                    if !matches!(begun, Ok(None)) {
                        reader.drain().await;
                    }
                    if let Some(r) = begun? {
                        return Ok(replayed(r));
                    }
                    began = true;
                }
                for row in &ready {
                    if let Some(b) = batcher.push(row) {
                        sink.stage(b).await?;
                    }
                }
                chunk = reader.chunk().await?;
            }
            let end = stream.finish().map_err(ingest_error)?;
            if !began {
                let data_type = explicit_type.unwrap_or_else(|| end.table.data_type.clone());
                if let Some(r) = begin_for(sink, &data_type).await? {
                    return Ok(replayed(r));
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
    console_log!(
        "upload {}: {} rows staged; wasm memory {} KiB",
        sink.upload_id.as_deref().unwrap_or("-"),
        sink.rows_staged,
        wasm_memory_kib()
    );
    let issues = render_issues(&table.issues);
    let counts = json!(table.issue_counts);
    finish(sink, schema, issues, counts).await
}

/// Merges with the stored schema (an append to an existing table), then commits.
async fn finish(
    sink: &mut Sink<'_>,
    schema: Value,
    issues: Vec<Value>,
    issue_counts: Value,
) -> Result<Stored, ApiError> {
    let schema = match &sink.existing {
        Some(table) => ingest::merge_schema_defs(&table["schema_def"], &schema),
        None => schema,
    };
    let mut result = sink.commit(&schema).await?;
    if sink.kind == "create" {
        // The client and its table are created in the commit's transaction: one timestamp.
        let tables = rpc(
            sink.config,
            sink.who,
            "get_client_schemas",
            &json!({"p_client_id": result["client_id"]}),
        )
        .await?;
        if let (Some(o), Some(t)) = (result.as_object_mut(), tables.get(0)) {
            o.insert("created_at".into(), t["created_at"].clone());
        }
    }
    Ok(Stored {
        result,
        schema,
        issues,
        issue_counts,
        replayed: false,
    })
}

fn table_entry(s: &Stored) -> Value {
    json!({
        "table_name": s.result["table_name"],
        "data_type": s.result["data_type"],
        "sheet": s.schema.get("sheet").cloned().unwrap_or(Value::Null),
        "schema": s.schema,
        "rows_stored": s.result["rows_stored"],
        "row_count": s.result["row_count"],
        "schema_version": s.result["schema_version"],
        "issues": s.issues,
        "issue_counts": s.issue_counts,
    })
}

fn answer(sink: &Sink, new_client: Option<&NewClient>, s: Stored, tables: Vec<Value>) -> Answer {
    let mut body = table_entry(&s);
    if let Some(o) = body.as_object_mut() {
        o.remove("sheet");
        o.insert("rows_rejected".into(), json!([]));
        if let Some(c) = new_client {
            o.insert(
                "client".into(),
                json!({
                    "client_id": s.result["client_id"],
                    "auth_user_id": s.result["auth_user_id"],
                    "company_name": c.company_name,
                    "email": c.email,
                    "data_type": s.result["data_type"],
                    "created_at": s.result.get("created_at").cloned().unwrap_or(Value::Null),
                }),
            );
        } else {
            o.insert("client_id".into(), json!(sink.client_id));
        }
        if !tables.is_empty() {
            o.insert("tables".into(), Value::Array(tables));
        }
    }
    Answer {
        status: if sink.kind == "create" || new_client.is_some() {
            201
        } else {
            200
        },
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
