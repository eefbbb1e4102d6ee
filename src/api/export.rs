//! `GET /api/data/{client_id}/export`: every matching row as one streamed CSV or NDJSON download.
//!
//! The export walks the same keyset cursor as the data route through pages of [`MAX_LIMIT`] rows
//! and writes each page to the response body as it arrives, so the Worker holds one page at a
//! time however big the table is. Walking newest-first from the first page also means rows
//! inserted while the export runs (they are newer) are never half-included.
//!
//! Everything that can fail in a way the caller should see as an HTTP error (parameters, auth,
//! "not your client", an unknown CSV table, the first page) happens before the first byte is
//! sent. A failure on a later page can only abort the body: the download ends without its
//! terminating chunk, which HTTP clients report as an incomplete transfer.

use std::pin::Pin;

use futures_util::stream::{self, Stream};
use serde_json::{Map, Value};
use worker::console_error;

use crate::api::data::{Cursor, DataQuery, MAX_LIMIT};
use crate::config::Config;
use crate::db::{self, fetch::FetchRpc, DataRow, Who};
use crate::error::{ApiError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line: the stored row (`data`) itself.
    Ndjson,
    /// RFC 4180, CRLF line ends, header row from the table's schema.
    Csv,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

/// What an export was asked for: a format, and the data route's `table` and field filters.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportQuery {
    pub format: Format,
    pub rows: DataQuery,
}

impl ExportQuery {
    /// `format` (default `ndjson`) is the export's own parameter; `table` and field filters mean
    /// what they mean on the data route. `limit` and `cursor` are refused: an export is all rows.
    pub fn parse(pairs: &[(String, String)]) -> Result<ExportQuery, ApiError> {
        let mut format = None;
        let mut rest = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            match key.as_str() {
                "format" if format.is_some() => {
                    return Err(ApiError::new(
                        ErrorCode::DuplicateParameter,
                        "query parameter `format` is given more than once",
                    ))
                }
                "format" => {
                    format = Some(match value.as_str() {
                        "ndjson" => Format::Ndjson,
                        "csv" => Format::Csv,
                        other => {
                            return Err(ApiError::new(
                                ErrorCode::InvalidArgument,
                                format!("format must be `csv` or `ndjson`, got `{other}`"),
                            ))
                        }
                    })
                }
                "limit" | "cursor" => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!(
                            "{key} does not apply to an export, which returns every matching row"
                        ),
                    )
                    .with_hint("page with GET /api/data/{client_id} instead"))
                }
                _ => rest.push((key.clone(), value.clone())),
            }
        }
        let format = format.unwrap_or(Format::Ndjson);
        let mut rows = DataQuery::parse(&rest)?;
        rows.limit = MAX_LIMIT;
        if format == Format::Csv && rows.table.is_none() {
            return Err(ApiError::new(ErrorCode::InvalidArgument,
                "a CSV export needs `table`: its columns come from that table's schema",
            )
            .with_hint("add ?table=<name> (GET /api/data/{client_id}/schema lists them), or use format=ndjson"));
        }
        Ok(ExportQuery { format, rows })
    }
}

/// The identity the pages are read as, owned so the body stream can outlive the handler.
#[derive(Clone)]
pub enum Caller {
    Service,
    Client { token: String },
}

impl Caller {
    pub fn of(who: Who<'_>) -> Caller {
        match who {
            Who::Service => Caller::Service,
            Who::Client { token } => Caller::Client {
                token: token.to_owned(),
            },
        }
    }

    fn who(&self) -> Who<'_> {
        match self {
            Caller::Service => Who::Service,
            Caller::Client { token } => Who::Client { token },
        }
    }
}

/// The body of a download: chunks of bytes, each one page of rows.
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>, worker::Error>>>>;

/// A started export: headers to send and the body still to be streamed.
pub struct Download {
    pub content_type: &'static str,
    /// `attachment; filename="…"`.
    pub content_disposition: String,
    pub body: Chunks,
}

/// Checks everything that can still become an HTTP error, reads the first page, and returns the
/// download whose body reads the remaining pages on demand.
pub async fn start(
    config: Config,
    caller: Caller,
    client_id: String,
    export: ExportQuery,
) -> Result<Download, ApiError> {
    let who = caller.who();
    let rpc = FetchRpc { config: &config };
    let mut columns = None;
    if export.format == Format::Csv {
        let tables = db::client_schemas(&rpc, who, &client_id).await?;
        let wanted = export.rows.table.as_deref().unwrap_or_default();
        let Some(table) = tables.iter().find(|t| t.table_name == wanted) else {
            let names: Vec<Value> = tables
                .iter()
                .map(|t| Value::from(t.table_name.as_str()))
                .collect();
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!("table `{wanted}` is not one of this client's tables"),
            )
            .with_details(Value::Array(names)));
        };
        columns = Some(schema_columns(&table.schema_def));
    }
    let first = page(&rpc, who, &client_id, &export.rows, None).await?;
    if first.is_empty() && columns.is_none() {
        db::client_schemas(&rpc, who, &client_id).await?;
    }
    let mut prefix = Vec::new();
    if let Some(columns) = columns.as_mut() {
        add_first_page_keys(columns, &first);
        prefix = csv_record(columns.iter().map(|c| Cell::Text(c)));
    }
    let name = export.rows.table.as_deref().unwrap_or(&client_id);
    let content_disposition = format!(
        "attachment; filename=\"{}.{}\"",
        file_stem(name),
        export.format.extension()
    );
    let walk = Walk {
        config,
        caller,
        client_id,
        query: export.rows,
        columns,
        next: Step::Render(first, prefix),
    };
    Ok(Download {
        content_type: export.format.content_type(),
        content_disposition,
        body: Box::pin(stream::unfold(walk, Walk::advance)),
    })
}

struct Walk {
    config: Config,
    caller: Caller,
    client_id: String,
    query: DataQuery,
    /// CSV columns; `None` for NDJSON.
    columns: Option<Vec<String>>,
    next: Step,
}

enum Step {
    /// Rows already read, and bytes to send before them (the CSV header).
    Render(Vec<DataRow>, Vec<u8>),
    Fetch(Cursor),
    Done,
}

impl Walk {
    async fn advance(mut self) -> Option<(Result<Vec<u8>, worker::Error>, Walk)> {
        let (rows, mut out) = match std::mem::replace(&mut self.next, Step::Done) {
            Step::Done => return None,
            Step::Render(rows, prefix) => (rows, prefix),
            Step::Fetch(after) => {
                let rpc = FetchRpc {
                    config: &self.config,
                };
                let who = self.caller.who();
                match page(&rpc, who, &self.client_id, &self.query, Some(after)).await {
                    Ok(rows) if rows.is_empty() => return None,
                    Ok(rows) => (rows, Vec::new()),
                    Err(e) => return Some((Err(self.abort(e)), self)),
                }
            }
        };
        let last = render_rows(self.columns.as_deref(), &rows, &mut out);
        // A short page is the end, as on the data route.
        if let Some(after) = last.filter(|_| rows.len() as u64 >= u64::from(MAX_LIMIT)) {
            self.next = Step::Fetch(after);
        }
        Some((Ok(out), self))
    }

    fn abort(&self, e: ApiError) -> worker::Error {
        console_error!(
            "export of client {} aborted mid-body: {} {}",
            self.client_id,
            e.code.as_str(),
            e.internal.as_deref().unwrap_or(&e.message)
        );
        worker::Error::RustError(format!("export aborted: {}", e.code.as_str()))
    }
}

async fn page(
    rpc: &FetchRpc<'_>,
    who: Who<'_>,
    client_id: &str,
    query: &DataQuery,
    after: Option<Cursor>,
) -> Result<Vec<DataRow>, ApiError> {
    let mut args = query.rows_args(client_id);
    if let Some(c) = after {
        args["p_after_created_at"] = Value::String(c.created_at);
        args["p_after_id"] = Value::from(c.id);
    }
    db::data_page(rpc, who, &args).await
}

/// Appends `rows` to `out` as CSV records when `columns` is given, else as NDJSON lines (the
/// stored `data` per line); returns the cursor after the last row.
pub fn render_rows(
    columns: Option<&[String]>,
    rows: &[DataRow],
    out: &mut Vec<u8>,
) -> Option<Cursor> {
    for row in rows {
        match columns {
            Some(columns) => out.extend(csv_record(
                columns
                    .iter()
                    .map(|c| Cell::Value(row.data.get(c).unwrap_or(&Value::Null))),
            )),
            None => {
                out.extend(row.data.to_string().into_bytes());
                out.push(b'\n');
            }
        }
    }
    rows.last().map(|last| Cursor {
        created_at: last.created_at.clone(),
        id: last.id,
    })
}

/// The column keys of a `schema_def` (version 1: `columns[].key`), in `position` order.
pub fn schema_columns(schema_def: &Value) -> Vec<String> {
    let mut columns: Vec<(u64, String)> = schema_def["columns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let key = c["key"].as_str()?.to_owned();
            Some((c["position"].as_u64().unwrap_or(i as u64), key))
        })
        .collect();
    columns.sort_by_key(|(position, _)| *position);
    let mut keys: Vec<String> = Vec::with_capacity(columns.len());
    for (_, key) in columns {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Keys of the first page's rows that the schema does not name (rows appended without a schema
/// update), in order of first appearance, so they get columns too.
fn add_first_page_keys(columns: &mut Vec<String>, rows: &[DataRow]) {
    for data in rows.iter().filter_map(|r| r.data.as_object()) {
        add_keys(columns, data);
    }
}

fn add_keys(columns: &mut Vec<String>, data: &Map<String, Value>) {
    for key in data.keys() {
        if !columns.iter().any(|c| c == key) {
            columns.push(key.clone());
        }
    }
}

enum Cell<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// One RFC 4180 record with its CRLF. Strings as is, numbers and booleans as JSON text, null
/// (or a missing key) as an empty field, objects and arrays as JSON text.
fn csv_record<'a>(cells: impl Iterator<Item = Cell<'a>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let owned;
        let text = match cell {
            Cell::Text(s) => s,
            Cell::Value(Value::String(s)) => s.as_str(),
            Cell::Value(Value::Null) => "",
            Cell::Value(other) => {
                owned = other.to_string();
                owned.as_str()
            }
        };
        if text.contains(['"', ',', '\r', '\n']) {
            out.push(b'"');
            out.extend(text.replace('"', "\"\"").into_bytes());
            out.push(b'"');
        } else {
            out.extend(text.as_bytes());
        }
    }
    out.extend(b"\r\n");
    out
}

/// A file name safe inside a quoted `Content-Disposition` parameter.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn row(id: i64, data: Value) -> DataRow {
        DataRow {
            id,
            table_name: "t".into(),
            created_at: format!("2025-01-01T00:00:{id:02}+00:00"),
            data,
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn parse_defaults_to_ndjson_over_all_rows() {
        let q = ExportQuery::parse(&pairs(&[("region", "north")])).unwrap();
        assert_eq!(q.format, Format::Ndjson);
        assert_eq!(q.rows.limit, MAX_LIMIT);
        assert_eq!(q.rows.filter["region"], "north");
        let q = ExportQuery::parse(&pairs(&[("format", "csv"), ("table", "client_x_data")]));
        assert_eq!(q.unwrap().format, Format::Csv);
    }

    #[test]
    fn parse_refusals() {
        for (query, code) in [
            (&[("format", "csv")][..], "invalid_argument"),
            (&[("format", "xml")][..], "invalid_argument"),
            (
                &[("format", "csv"), ("format", "csv")][..],
                "duplicate_parameter",
            ),
            (&[("limit", "5")][..], "invalid_parameter"),
            (&[("cursor", "x")][..], "invalid_parameter"),
            (&[("a", "1"), ("a", "2")][..], "duplicate_parameter"),
        ] {
            let e = ExportQuery::parse(&pairs(query)).unwrap_err();
            assert_eq!((e.status(), e.code.as_str()), (400, code), "{query:?}");
        }
        let e = ExportQuery::parse(&pairs(&[("format", "csv")])).unwrap_err();
        assert!(e.message.contains("`table`"), "{}", e.message);
    }

    #[test]
    fn ndjson_is_the_stored_row_per_line() {
        let rows = [
            row(2, json!({"a": "x\ny", "n": null, "o": {"k": [1, 2]}})),
            row(1, json!({"a": 1})),
        ];
        let mut out = Vec::new();
        let last = render_rows(None, &rows, &mut out).unwrap();
        assert_eq!(last.id, 1);
        let out = text(out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let parsed: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            parsed[0],
            json!({"a": "x\ny", "n": null, "o": {"k": [1, 2]}})
        );
        assert_eq!(parsed[1], json!({"a": 1}));
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn csv_quotes_nulls_and_nested_values() {
        let columns: Vec<String> = ["name", "n", "ok", "none", "nested", "missing"]
            .map(String::from)
            .to_vec();
        let rows = [row(
            1,
            json!({"name": "Smith, \"J\"\r\nJr", "n": 1.5, "ok": true, "none": null,
                "nested": {"a": [1, "b,c"]}}),
        )];
        let mut out = Vec::new();
        render_rows(Some(&columns), &rows, &mut out);
        assert_eq!(
            text(out),
            "\"Smith, \"\"J\"\"\r\nJr\",1.5,true,,\"{\"\"a\"\":[1,\"\"b,c\"\"]}\",\r\n"
        );
        let header = csv_record(columns.iter().map(|c| Cell::Text(c)));
        assert_eq!(text(header), "name,n,ok,none,nested,missing\r\n");
    }

    #[test]
    fn csv_columns_follow_schema_positions_then_new_keys() {
        let schema = json!({"columns": [
            {"key": "b", "position": 1}, {"key": "a", "position": 0}, {"name": "no key"}]});
        let mut columns = schema_columns(&schema);
        assert_eq!(columns, ["a", "b"]);
        add_first_page_keys(
            &mut columns,
            &[
                row(2, json!({"b": 1, "z": 2})),
                row(1, json!({"c": 3, "a": 4})),
            ],
        );
        assert_eq!(columns, ["a", "b", "z", "c"]);
        assert!(schema_columns(&json!({})).is_empty());
    }

    #[test]
    fn file_names_stay_inside_their_quotes() {
        assert_eq!(file_stem("client_ab12cd34_sales"), "client_ab12cd34_sales");
        assert_eq!(file_stem("a\"b;\r\nc/d"), "a_b___c_d");
    }
}
