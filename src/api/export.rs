//! `GET /api/data/{client_id}/export`: every matching row as one streamed CSV or NDJSON download.
//!
//! The export takes the read route's language (`crates/query`: filters, `or=`, `q`, `order`,
//! `table`) and walks `query_client_data`'s keyset cursor through pages of [`MAX_LIMIT`] rows,
//! writing each page to the response body as it arrives, so the Worker holds one page at a time
//! however big the table is. Rows come in file order (or `order=`); the cursor is the database's
//! `next`, so any order pages without gaps or repeats.
//!
//! Everything that can fail in a way the caller should see as an HTTP error (parameters, auth,
//! "not your client", an unknown table, the first page) happens before the first byte is
//! sent. A failure on a later page can only abort the body: the download ends without its
//! terminating chunk, which HTTP clients report as an incomplete transfer.
//!
//! Design decision: CSV columns come from the table's stored schema (`client_schemas`), read
//! once before the header, not from the rows of the first page: a key first seen on a later page
//! (a later upload widened the schema) still has its column. Cells a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) are prefixed with `'` (OWASP's CSV
//! injection advice), except plain numbers in number columns, which stay numbers.
//!
//! `as=source` (CSV only) writes the file back as it was uploaded: `ingest::SourceCsv` takes the
//! original header texts, column order, delimiter, quote and line ends from the schema_def and
//! renders each value in its column's `source_format`; only text cells are formula-guarded.

use std::pin::Pin;

use futures_util::stream::{self, Stream};
use serde_json::{json, Value};
use worker::console_error;

use query::MAX_LIMIT;

use crate::api::data::not_here;
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

/// What an export was asked for: a format, and the read route's plan over all matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportQuery {
    pub format: Format,
    /// `query_client_data`'s plan for the first page (limit [`MAX_LIMIT`], no cursor).
    pub plan: Value,
    /// The `table` asked for, for the file name.
    pub table: Option<String>,
    /// `as=source`: the CSV in the source file's layout and value formats.
    pub source: bool,
}

impl ExportQuery {
    /// `format` (default `ndjson`) is the export's own parameter; `table`, `order`, `q` and the
    /// filters mean what they mean on the data route. `limit`, `offset`, `cursor` and `count`
    /// are refused: an export is all rows. `select` only for NDJSON (CSV columns are the
    /// table's).
    pub fn parse(pairs: &[(String, String)]) -> Result<ExportQuery, ApiError> {
        let (as_pairs, pairs): (Vec<_>, Vec<_>) =
            pairs.iter().cloned().partition(|(k, _)| k == "as");
        let source = match as_pairs.as_slice() {
            [] => false,
            [(_, v)] if v == "source" => true,
            [(_, v)] => {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("as must be `source`, got `{v}`"),
                )
                .with_details(json!({ "parameter": "as" }))
                .with_hint("as=source writes the values as the uploaded file wrote them"))
            }
            _ => {
                return Err(ApiError::new(
                    ErrorCode::DuplicateParameter,
                    "query parameter `as` is given more than once",
                )
                .with_details(json!({ "parameter": "as" })))
            }
        };
        let mut read = query::parse_read(&pairs)?;
        for (given, name) in [
            (read.limit.is_some(), "limit"),
            (read.offset.is_some(), "offset"),
            (read.after.is_some(), "cursor"),
            (read.count.is_some(), "count"),
        ] {
            if given {
                return Err(not_here(name, "an export returns every matching row")
                    .with_hint("page with GET /api/data/{client_id} instead"));
            }
        }
        let format = match read.format {
            Some(query::ExportFormat::Csv) => Format::Csv,
            _ => Format::Ndjson,
        };
        if source && format != Format::Csv {
            return Err(
                not_here("as", "the source layout is a CSV export").with_hint("add format=csv")
            );
        }
        if format == Format::Csv && read.select.is_some() {
            return Err(not_here("select", "a CSV export has the table's columns")
                .with_hint("use format=ndjson to pick fields"));
        }
        read.limit = Some(MAX_LIMIT);
        Ok(ExportQuery {
            format,
            plan: read.plan(),
            table: read.table,
            source,
        })
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

/// Checks everything that can still become an HTTP error, reads the first page (and for CSV
/// the table's columns), and returns the download whose body reads the remaining pages on
/// demand.
pub async fn start(
    config: Config,
    caller: Caller,
    client_id: String,
    export: ExportQuery,
) -> Result<Download, ApiError> {
    let who = caller.who();
    let rpc = FetchRpc { config: &config };
    let first = db::query_data(&rpc, who, &client_id, &export.plan).await?;
    let mut columns = None;
    let mut prefix = Vec::new();
    if export.format == Format::Csv {
        let tables = db::client_schemas(&rpc, who, &client_id).await?;
        let names: Vec<&str> = tables.iter().map(|t| t.table_name.as_str()).collect();
        // The database resolved the table (named, or the client's only one); None: several.
        let Some(table) = first
            .table
            .as_deref()
            .and_then(|name| tables.iter().find(|t| t.table_name == name))
        else {
            return Err(ApiError::new(
                ErrorCode::TableRequired,
                "a CSV export is one table: this client has several",
            )
            .with_details(json!({ "tables": names }))
            .with_hint("add ?table=<name> (GET /api/data/{client_id}/schema lists them), or use format=ndjson"));
        };
        let mut cols = schema_columns(&table.schema_def);
        add_first_page_keys(&mut cols, &first.rows);
        if export.source {
            let mut layout = ingest::SourceCsv::new(&table.schema_def);
            for c in &cols {
                layout.add_column(&c.key);
            }
            prefix = layout.header();
            columns = Some(Layout::Source(layout));
        } else {
            prefix = csv_record(cols.iter().map(|c| (Cell::Text(&c.key), false)));
            columns = Some(Layout::Keys(cols));
        }
    }
    // The file is named after the table asked for (CSV: the one read), else the client.
    let name = match export.format {
        Format::Csv => first.table.as_deref(),
        Format::Ndjson => export.table.as_deref(),
    }
    .unwrap_or(&client_id);
    let content_disposition = format!(
        "attachment; filename=\"{}.{}\"",
        file_stem(name),
        export.format.extension()
    );
    let walk = Walk {
        config,
        caller,
        client_id,
        plan: export.plan,
        columns,
        next: Step::Render(first.rows, first.next, prefix),
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
    /// The first page's plan; later pages add `after`.
    plan: Value,
    /// CSV columns; `None` for NDJSON.
    columns: Option<Layout>,
    next: Step,
}

enum Step {
    /// Rows already read, the cursor after them (None: the last page), and bytes to send
    /// before them (the CSV header).
    Render(Vec<DataRow>, Option<Value>, Vec<u8>),
    Fetch(Value),
    Done,
}

impl Walk {
    async fn advance(mut self) -> Option<(Result<Vec<u8>, worker::Error>, Walk)> {
        let (rows, after, mut out) = match std::mem::replace(&mut self.next, Step::Done) {
            Step::Done => return None,
            Step::Render(rows, after, prefix) => (rows, after, prefix),
            Step::Fetch(after) => {
                let rpc = FetchRpc {
                    config: &self.config,
                };
                let who = self.caller.who();
                let mut plan = self.plan.clone();
                plan["after"] = after;
                match db::query_data(&rpc, who, &self.client_id, &plan).await {
                    Ok(page) => (page.rows, page.next, Vec::new()),
                    Err(e) => return Some((Err(self.abort(e)), self)),
                }
            }
        };
        match &self.columns {
            Some(Layout::Source(layout)) => {
                for row in &rows {
                    out.extend(layout.record(&row.data, &|s| formula_safe(s, false).into_owned()));
                }
            }
            Some(Layout::Keys(cols)) => render_rows(Some(cols), &rows, &mut out),
            None => render_rows(None, &rows, &mut out),
        }
        if let Some(after) = after {
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

/// How CSV rows are written: by stored key (the plain export), or as the source file wrote them.
enum Layout {
    Keys(Vec<Column>),
    Source(ingest::SourceCsv),
}

/// A CSV column: the stored key, and whether the schema types it as a number (whose plain
/// numbers are never formula-escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub key: String,
    pub numeric: bool,
}

/// Appends `rows` to `out` as CSV records when `columns` is given, else as NDJSON lines (the
/// stored `data` per line).
pub fn render_rows(columns: Option<&[Column]>, rows: &[DataRow], out: &mut Vec<u8>) {
    for row in rows {
        match columns {
            Some(columns) => out.extend(csv_record(columns.iter().map(|c| {
                let value = row.data.get(&c.key).unwrap_or(&Value::Null);
                (Cell::Value(value), c.numeric)
            }))),
            None => {
                out.extend(row.data.to_string().into_bytes());
                out.push(b'\n');
            }
        }
    }
}

/// The columns of a `schema_def` (version 1: `columns[].key`, `type`), in `position` order.
pub fn schema_columns(schema_def: &Value) -> Vec<Column> {
    let mut columns: Vec<(u64, Column)> = schema_def["columns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let key = c["key"].as_str()?.to_owned();
            let numeric = matches!(c["type"].as_str(), Some("integer" | "number"));
            Some((
                c["position"].as_u64().unwrap_or(i as u64),
                Column { key, numeric },
            ))
        })
        .collect();
    columns.sort_by_key(|(position, _)| *position);
    let mut out: Vec<Column> = Vec::with_capacity(columns.len());
    for (_, column) in columns {
        if !out.iter().any(|c| c.key == column.key) {
            out.push(column);
        }
    }
    out
}

/// Keys of the first page's rows that the schema does not name (rows appended without a schema
/// update), in order of first appearance, so they get columns too.
fn add_first_page_keys(columns: &mut Vec<Column>, rows: &[DataRow]) {
    for data in rows.iter().filter_map(|r| r.data.as_object()) {
        for key in data.keys() {
            if !columns.iter().any(|c| &c.key == key) {
                columns.push(Column {
                    key: key.clone(),
                    numeric: false,
                });
            }
        }
    }
}

enum Cell<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// One RFC 4180 record with its CRLF. Strings as is, numbers and booleans as JSON text, null
/// (or a missing key) as an empty field, objects and arrays as JSON text; each cell with
/// whether its column is numeric (see [`formula_safe`]).
fn csv_record<'a>(cells: impl Iterator<Item = (Cell<'a>, bool)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (cell, numeric)) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let owned;
        let (text, is_number) = match cell {
            Cell::Text(s) => (s, false),
            Cell::Value(Value::String(s)) => (s.as_str(), numeric && is_plain_number(s)),
            Cell::Value(Value::Null) => ("", false),
            Cell::Value(other) => {
                owned = other.to_string();
                (owned.as_str(), other.is_number())
            }
        };
        let text = formula_safe(text, is_number);
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

/// `text` as a spreadsheet will not run it: a cell starting with `=`, `+`, `-`, `@`, tab or CR
/// gets a leading `'`, unless it is a number (`-3.5` in a number column stays `-3.5`).
fn formula_safe(text: &str, is_number: bool) -> std::borrow::Cow<'_, str> {
    if !is_number && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// `-3.5`, `+2`, `1e-3`: what a number column's value looks like as text.
fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        && s.parse::<f64>().is_ok()
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

    fn cols(keys: &[&str]) -> Vec<Column> {
        keys.iter()
            .map(|k| Column {
                key: k.to_string(),
                numeric: false,
            })
            .collect()
    }

    #[test]
    fn parse_defaults_to_ndjson_over_all_rows() {
        let q = ExportQuery::parse(&pairs(&[("region", "north"), ("order", "n.desc")])).unwrap();
        assert_eq!(q.format, Format::Ndjson);
        assert_eq!(q.plan["limit"], MAX_LIMIT);
        assert_eq!(
            q.plan["filter"],
            json!({"field": "region", "op": "eq", "value": "north"})
        );
        assert_eq!(q.plan["order"], json!([{"field": "n", "dir": "desc"}]));
        let q = ExportQuery::parse(&pairs(&[("format", "csv"), ("table", "client_x_data")]));
        let q = q.unwrap();
        assert_eq!(
            (q.format, q.table.as_deref()),
            (Format::Csv, Some("client_x_data"))
        );
    }

    #[test]
    fn parse_refusals() {
        for (query, code) in [
            (&[("format", "xml")][..], "invalid_parameter"),
            (
                &[("format", "csv"), ("format", "csv")][..],
                "duplicate_parameter",
            ),
            (&[("limit", "5")][..], "invalid_parameter"),
            (&[("offset", "5")][..], "invalid_parameter"),
            (&[("count", "exact")][..], "invalid_parameter"),
            (&[("cursor", "eyJpZCI6MX0")][..], "invalid_parameter"),
            (&[("cursor", "x!")][..], "invalid_cursor"),
            (
                &[("format", "csv"), ("select", "a")][..],
                "invalid_parameter",
            ),
            (&[("a", "ilke.x")][..], "invalid_operator"),
        ] {
            let e = ExportQuery::parse(&pairs(query)).unwrap_err();
            assert_eq!((e.status(), e.code.as_str()), (400, code), "{query:?}");
        }
        // Repeating a field is two conditions (and), not an error.
        let q = ExportQuery::parse(&pairs(&[("a", "gt.1"), ("a", "lt.5")])).unwrap();
        assert_eq!(q.plan["filter"]["and"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn ndjson_is_the_stored_row_per_line() {
        let rows = [
            row(2, json!({"a": "x\ny", "n": null, "o": {"k": [1, 2]}})),
            row(1, json!({"a": "=1+1"})),
        ];
        let mut out = Vec::new();
        render_rows(None, &rows, &mut out);
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
        assert_eq!(parsed[1], json!({"a": "=1+1"}), "JSON is never escaped");
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn csv_quotes_nulls_and_nested_values() {
        let columns = cols(&["name", "n", "ok", "none", "nested", "missing"]);
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
        let header = csv_record(columns.iter().map(|c| (Cell::Text(&c.key), false)));
        assert_eq!(text(header), "name,n,ok,none,nested,missing\r\n");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_get_a_quote_prefix() {
        let mut columns = cols(&["t", "price", "s"]);
        columns[1].numeric = true;
        let rows = [
            row(
                1,
                json!({"t": "=HYPERLINK(\"x\")", "price": -3.5, "s": "-3.5"}),
            ),
            row(2, json!({"t": "+1", "price": "-2", "s": "@SUM(A1)"})),
            row(3, json!({"t": "\tx", "price": "-1+1", "s": "\rx"})),
            row(4, json!({"t": "a=b", "price": 7, "s": "-"})),
        ];
        let mut out = Vec::new();
        render_rows(Some(&columns), &rows, &mut out);
        assert_eq!(
            text(out),
            "\"'=HYPERLINK(\"\"x\"\")\",-3.5,'-3.5\r\n\
             '+1,-2,'@SUM(A1)\r\n\
             '\tx,'-1+1,\"'\rx\"\r\n\
             a=b,7,'-\r\n"
        );
    }

    #[test]
    fn csv_columns_are_the_schemas_then_unknown_first_page_keys() {
        let schema = json!({"columns": [
            {"key": "b", "position": 1, "type": "integer"}, {"key": "a", "position": 0},
            {"name": "no key"}]});
        let mut columns = schema_columns(&schema);
        assert_eq!(
            columns,
            [
                Column {
                    key: "a".into(),
                    numeric: false
                },
                Column {
                    key: "b".into(),
                    numeric: true
                }
            ]
        );
        add_first_page_keys(
            &mut columns,
            &[
                row(2, json!({"b": 1, "z": 2})),
                row(1, json!({"c": 3, "a": 4})),
            ],
        );
        let keys: Vec<&str> = columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "z", "c"]);
        assert!(schema_columns(&json!({})).is_empty());
    }

    #[test]
    fn as_source_is_a_csv_export_asked_once() {
        let q = ExportQuery::parse(&pairs(&[("format", "csv"), ("as", "source")])).unwrap();
        assert!(q.source && q.format == Format::Csv);
        assert_eq!(q.plan["filter"], Value::Null, "`as` is not a field filter");
        assert!(
            !ExportQuery::parse(&pairs(&[("format", "csv")]))
                .unwrap()
                .source
        );
        for (query, code) in [
            (&[("as", "source")][..], "invalid_parameter"),
            (&[("format", "csv"), ("as", "raw")][..], "invalid_parameter"),
            (
                &[("format", "csv"), ("as", "source"), ("as", "source")][..],
                "duplicate_parameter",
            ),
        ] {
            let e = ExportQuery::parse(&pairs(query)).unwrap_err();
            assert_eq!((e.status(), e.code.as_str()), (400, code), "{query:?}");
        }
    }

    #[test]
    fn the_source_layout_guards_text_cells_only() {
        let schema = json!({"dialect": {"delimiter": ";", "quote": "\"", "has_header": true, "crlf": true},
            "columns": [
                {"key": "note", "name": "Notiz", "position": 1, "type": "string"},
                {"key": "amount", "name": "Betrag", "position": 0, "type": "number",
                 "source_format": {"decimal": ",", "currency": "€", "currency_after": true,
                                   "currency_gap": " ", "null": "-", "checked": 1, "misses": 0}}]});
        let layout = ingest::SourceCsv::new(&schema);
        let guard = |s: &str| formula_safe(s, false).into_owned();
        assert_eq!(text(layout.header()), "Betrag;Notiz\r\n");
        assert_eq!(
            text(layout.record(&json!({"amount": -3.5, "note": "=1+1"}), &guard)),
            "-3,5 €;'=1+1\r\n"
        );
        assert_eq!(
            text(layout.record(&json!({"amount": null, "note": "a;b"}), &guard)),
            "-;\"a;b\"\r\n"
        );
    }

    #[test]
    fn file_names_stay_inside_their_quotes() {
        assert_eq!(file_stem("client_ab12cd34_sales"), "client_ab12cd34_sales");
        assert_eq!(file_stem("a\"b;\r\nc/d"), "a_b___c_d");
    }
}
