//! The pure parts of an upload: which body form a request uses, the fields that name the client
//! and table, the batches rows are staged in, and the answer.
//!
//! Kept free of `worker` so each piece is unit-tested natively; `uploads` does the I/O.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ErrorCode};

/// The XLSX content type (contract: one of the raw body types).
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How the request carries its data.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyForm {
    /// `application/json`: `{…fields, data: [...]}`, or a raw JSON file (fields in the query).
    Json,
    Multipart {
        boundary: String,
    },
    /// A file as the whole body (fields in the query); `hint` is its content type.
    Raw {
        hint: String,
    },
}

pub fn body_form(content_type: Option<&str>) -> Result<BodyForm, ApiError> {
    let full = content_type.unwrap_or("").trim();
    let essence = full
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyForm::Json),
        "multipart/form-data" => super::multipart::boundary(full)
            .map(|boundary| BodyForm::Multipart { boundary })
            .ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidBody,
                    "multipart/form-data needs a boundary parameter in Content-Type",
                )
            }),
        "text/csv"
        | "text/tab-separated-values"
        | "text/plain"
        | "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/octet-stream"
        | XLSX_TYPE => Ok(BodyForm::Raw { hint: essence }),
        other => Err(ApiError::new(ErrorCode::UnsupportedMediaType,
            if other.is_empty() {
                "the request has no Content-Type".to_owned()
            } else {
                format!("Content-Type {other} is not an upload form")
            },
        )
        .with_hint(format!(
            "use application/json, multipart/form-data, text/csv, text/tab-separated-values, text/plain, application/x-ndjson or {XLSX_TYPE}"
        ))),
    }
}

/// The fields of an upload, from a JSON body, form fields or the query string.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadFields {
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub data_type: Option<String>,
    #[serde(alias = "table")]
    pub table_name: Option<String>,
    /// The one XLSX sheet an append takes.
    pub sheet: Option<String>,
    /// A file name, used as a format hint for raw bodies.
    pub filename: Option<String>,
}

const FIELD_NAMES: &str =
    "company_name, email, password, data_type, table (or table_name), sheet, filename";

impl UploadFields {
    /// Sets one field by name; a repeated or unknown name is a 400.
    pub fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        let slot = match name {
            "company_name" => &mut self.company_name,
            "email" => &mut self.email,
            "password" => &mut self.password,
            "data_type" => &mut self.data_type,
            "table" | "table_name" => &mut self.table_name,
            "sheet" => &mut self.sheet,
            "filename" => &mut self.filename,
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("unknown upload field `{other}`; the fields are {FIELD_NAMES}"),
                ))
            }
        };
        if slot.is_some() {
            return Err(ApiError::new(
                ErrorCode::DuplicateParameter,
                format!("upload field `{name}` is given more than once"),
            ));
        }
        *slot = Some(value);
        Ok(())
    }

    /// The fields given in the query string. A password is refused there: URLs end up in
    /// access logs, proxies and browser history.
    pub fn from_query(pairs: &[(String, String)]) -> Result<UploadFields, ApiError> {
        let mut f = UploadFields::default();
        for (k, v) in pairs {
            if k == "password" {
                return Err(ApiError::new(ErrorCode::InvalidParameter,
                    "a password never goes in the URL (URLs are logged); send it as a form field or in the JSON body",
                ));
            }
            f.set(k, v.clone())?;
        }
        Ok(f)
    }

    /// Adds `other`'s fields (e.g. the query's to the body's); a field set in both is a 400.
    pub fn merge(&mut self, other: UploadFields) -> Result<(), ApiError> {
        let pairs = [
            ("company_name", other.company_name),
            ("email", other.email),
            ("password", other.password),
            ("data_type", other.data_type),
            ("table_name", other.table_name),
            ("sheet", other.sheet),
            ("filename", other.filename),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                self.set(k, v)?;
            }
        }
        Ok(())
    }

    /// Checks the fields every upload may carry.
    pub fn validate_target(&self) -> Result<(), ApiError> {
        if let Some(d) = &self.data_type {
            if !is_identifier(d, 32) {
                return Err(invalid_body(
                    "data_type must be lowercase letters, digits and _ (at most 32), starting with a letter",
                ));
            }
        }
        if let Some(t) = &self.table_name {
            if !is_identifier(t, 63) {
                return Err(invalid_body(
                    "table_name must be lowercase letters, digits and _ (at most 63), starting with a letter",
                ));
            }
        }
        Ok(())
    }

    /// The new client a create describes (trimmed and checked).
    pub fn new_client(&self) -> Result<NewClient, ApiError> {
        self.validate_target()?;
        let company_name = self
            .company_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| invalid_body("company_name is required (1 to 200 characters)"))?;
        let email = self
            .email
            .as_deref()
            .map(str::trim)
            .filter(|s| plausible_email(s))
            .ok_or_else(|| invalid_body("email is required and must look like name@example.com"))?;
        if let Some(p) = &self.password {
            if p.chars().count() < 8 || p.len() > 1024 {
                return Err(invalid_body("password must be 8 to 1024 characters"));
            }
        }
        Ok(NewClient {
            company_name: company_name.to_owned(),
            email: email.to_owned(),
            password: self.password.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    pub company_name: String,
    pub email: String,
    pub password: Option<String>,
}

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidBody, message)
}

fn is_identifier(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

/// A JSON body: either the JSON form (an object with `data`, fields beside it) or a raw JSON
/// file (anything else: an array, NDJSON, an object holding records).
#[derive(Debug)]
pub enum JsonBody {
    /// The form; `rows` is how many rows `data` holds (ingest parses them from the body).
    Form {
        fields: UploadFields,
        rows: usize,
    },
    File,
}

/// Tells the form from a file in one pass that keeps only the fields: the rows of `data` are
/// checked one at a time and dropped (ingest parses them from the body afterwards), so a large
/// `data` array is never held as a second parsed copy.
pub fn parse_json_body(body: &[u8]) -> Result<JsonBody, ApiError> {
    // Not an object, or not valid JSON: a raw JSON file, for ingest to read or report.
    let Ok(top) = serde_json::from_slice::<TopLevel>(body) else {
        return Ok(JsonBody::File);
    };
    let Some(data) = top.data else {
        return Ok(JsonBody::File);
    };
    let fields: UploadFields = serde_json::from_value(Value::Object(top.fields)).map_err(|e| {
        invalid_body(format!(
            "body is not the expected JSON object: {e}; the fields are {FIELD_NAMES} and data"
        ))
    })?;
    match data {
        DataShape::Rows {
            count,
            first_not_object: None,
        } => Ok(JsonBody::Form {
            fields,
            rows: count,
        }),
        DataShape::Rows {
            first_not_object: Some(i),
            ..
        } => Err(ApiError::new(
            ErrorCode::InvalidRow,
            format!("data[{i}] is not a JSON object; every row must be an object"),
        )
        .with_details(json!({"row": i}))),
        DataShape::Null => Ok(JsonBody::Form { fields, rows: 0 }),
        DataShape::NotArray => Err(invalid_body("data must be an array of objects")),
    }
}

/// A top-level JSON object as the form needs it: every member but `data` kept, `data` only
/// shaped.
struct TopLevel {
    fields: Map<String, Value>,
    data: Option<DataShape>,
}

/// What `data` holds, without its rows.
enum DataShape {
    Null,
    Rows {
        count: usize,
        first_not_object: Option<usize>,
    },
    NotArray,
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TopLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<TopLevel, A::Error> {
                let mut top = TopLevel {
                    fields: Map::new(),
                    data: None,
                };
                while let Some(key) = m.next_key::<String>()? {
                    if key == "data" {
                        top.data = Some(m.next_value::<DataShape>()?);
                    } else {
                        let value = m.next_value::<Value>()?;
                        top.fields.insert(key, value);
                    }
                }
                Ok(top)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for DataShape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::IgnoredAny;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DataShape;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of objects")
            }
            fn visit_unit<E>(self) -> Result<DataShape, E> {
                Ok(DataShape::Null)
            }
            fn visit_none<E>(self) -> Result<DataShape, E> {
                Ok(DataShape::Null)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<DataShape, A::Error> {
                let (mut count, mut first_not_object) = (0, None);
                // One row alive at a time.
                while let Some(row) = s.next_element::<Value>()? {
                    if !row.is_object() && first_not_object.is_none() {
                        first_not_object = Some(count);
                    }
                    count += 1;
                }
                Ok(DataShape::Rows {
                    count,
                    first_not_object,
                })
            }
            // Anything else is not an array (a number arrives as a map under serde_json's
            // arbitrary_precision, so maps are consumed, not inspected).
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<DataShape, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(DataShape::NotArray)
            }
            fn visit_bool<E>(self, _: bool) -> Result<DataShape, E> {
                Ok(DataShape::NotArray)
            }
            fn visit_i64<E>(self, _: i64) -> Result<DataShape, E> {
                Ok(DataShape::NotArray)
            }
            fn visit_u64<E>(self, _: u64) -> Result<DataShape, E> {
                Ok(DataShape::NotArray)
            }
            fn visit_f64<E>(self, _: f64) -> Result<DataShape, E> {
                Ok(DataShape::NotArray)
            }
            fn visit_str<E>(self, _: &str) -> Result<DataShape, E> {
                Ok(DataShape::NotArray)
            }
        }
        d.deserialize_any(V)
    }
}

/// Rows collected into one `stage_upload_rows` call: at most `max_rows` rows or about
/// `max_bytes` of JSON, whichever comes first, so a batch is one bounded request.
///
/// Each row is written straight onto the end of one byte buffer (`Row::write_json`: the keys'
/// JSON text made once per table, the values by serde_json; no text per row that is then
/// copied); the buffer only ever holds JSON text and ASCII brackets and commas, so it is UTF-8
/// and `take` checks that once per batch.
pub struct Batcher {
    max_rows: usize,
    max_bytes: usize,
    json: Vec<u8>,
    rows: usize,
}

/// A ready batch: its rows as a JSON array text, and how many.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub json: String,
    pub rows: usize,
}

impl Batcher {
    pub fn new(max_rows: usize, max_bytes: usize) -> Batcher {
        Batcher {
            max_rows,
            max_bytes,
            json: Vec::new(),
            rows: 0,
        }
    }

    /// Adds a row; returns a batch when this row filled one.
    pub fn push(&mut self, row: &ingest::Row) -> Option<Batch> {
        self.json.push(if self.rows == 0 { b'[' } else { b',' });
        row.write_json(&mut self.json);
        self.rows += 1;
        (self.rows >= self.max_rows || self.json.len() >= self.max_bytes).then(|| self.take())
    }

    /// The rows not yet in a batch, if any.
    pub fn flush(&mut self) -> Option<Batch> {
        (self.rows > 0).then(|| self.take())
    }

    fn take(&mut self) -> Batch {
        let mut json = std::mem::take(&mut self.json);
        json.push(b']');
        let rows = std::mem::replace(&mut self.rows, 0);
        // Always UTF-8 (see the type); the lossy path is never taken.
        let json = String::from_utf8(json)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Batch { json, rows }
    }
}

/// An ingest failure as an answer: 413 for size, 422 with row/column/sheet for the rest.
pub fn ingest_error(e: ingest::IngestError) -> ApiError {
    use ingest::ErrorCode as Ingest;
    let mut details = Map::new();
    if let Some(r) = e.row {
        details.insert("row".into(), json!(r));
    }
    if let Some(c) = &e.column {
        details.insert("column".into(), json!(c));
    }
    if let Some(s) = &e.sheet {
        details.insert("sheet".into(), json!(s));
    }
    let code = match e.code {
        Ingest::TooLarge => return too_large_message(e.message),
        Ingest::InvalidOptions | Ingest::InvalidState => return ApiError::internal(e.to_string()),
        Ingest::TooManyRows => ErrorCode::TooManyRows,
        Ingest::TooManyColumns => ErrorCode::TooManyColumns,
        Ingest::CellTooLarge => ErrorCode::CellTooLarge,
        Ingest::EmptyFile => ErrorCode::EmptyFile,
        Ingest::InvalidJson => ErrorCode::InvalidJson,
        Ingest::InvalidXlsx => ErrorCode::InvalidXlsx,
        Ingest::UnsupportedFormat => ErrorCode::UnsupportedFormat,
    };
    let mut out = ApiError::new(code, e.message);
    if !details.is_empty() {
        out = out.with_details(Value::Object(details));
    }
    out
}

/// A JSON object document or an XLSX file (or a `.ndjson` name on JSON that is not one object
/// per line) over [`super::WHOLE_FILE_BYTES`]: those are parsed whole.
pub fn whole_file_too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a JSON object or XLSX upload is parsed whole and may have at most {limit} bytes"),
    )
    .with_details(json!({ "limit_bytes": limit }))
    .with_hint("send larger data as CSV, NDJSON (one object per line) or a top-level JSON array, which stream up to MAX_UPLOAD_BYTES")
}

fn too_large_message(message: String) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, message)
        .with_hint("split the file, or ask the operator to raise MAX_UPLOAD_BYTES")
}

pub fn payload_too_large(limit: u64) -> ApiError {
    too_large_message(format!(
        "the upload is larger than the limit of {limit} bytes"
    ))
}

/// The `issues` of an answer: the first 100, in the contract's shape.
pub fn render_issues(issues: &[ingest::Issue]) -> Vec<Value> {
    issues
        .iter()
        .take(100)
        .map(|i| {
            let mut o = Map::new();
            if let Some(r) = i.row {
                o.insert("row".into(), json!(r));
            }
            if let Some(c) = &i.column {
                o.insert("column".into(), json!(c));
            }
            if let Some(l) = i.line {
                o.insert("line".into(), json!(l));
            }
            o.insert("code".into(), json!(i.kind.as_str()));
            o.insert("message".into(), json!(i.message));
            if let Some(v) = &i.original {
                o.insert("value".into(), json!(v));
            }
            Value::Object(o)
        })
        .collect()
}

/// The name of sheet `sheet`'s table when one XLSX makes several: `{base}_{sheet}`, kept to
/// the 63 characters a table name may have.
pub fn sheet_table_name(base: &str, sheet: &str) -> String {
    let suffix = ingest::snake_case(sheet);
    let suffix = if suffix.is_empty() {
        "sheet".to_owned()
    } else {
        suffix
    };
    let mut name = format!("{base}_{suffix}");
    name.truncate(63);
    name.trim_end_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_forms_by_content_type() {
        assert_eq!(
            body_form(Some("application/json; charset=utf-8")).unwrap(),
            BodyForm::Json
        );
        assert_eq!(
            body_form(Some("multipart/form-data; boundary=abc")).unwrap(),
            BodyForm::Multipart {
                boundary: "abc".into()
            }
        );
        assert_eq!(
            body_form(Some("Text/CSV; charset=latin1")).unwrap(),
            BodyForm::Raw {
                hint: "text/csv".into()
            }
        );
        assert!(matches!(
            body_form(Some(XLSX_TYPE)).unwrap(),
            BodyForm::Raw { .. }
        ));
        for bad in [Some("application/pdf"), Some("image/png"), None] {
            let e = body_form(bad).unwrap_err();
            assert_eq!((e.status(), e.code), (415, ErrorCode::UnsupportedMediaType));
        }
        assert_eq!(
            body_form(Some("multipart/form-data")).unwrap_err().status(),
            400
        );
    }

    #[test]
    fn query_fields() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let f = UploadFields::from_query(&pairs(&[
            ("company_name", "Acme"),
            ("email", "a@acme.io"),
            ("table", "sales"),
        ]))
        .unwrap();
        assert_eq!(f.table_name.as_deref(), Some("sales"));
        assert_eq!(f.new_client().unwrap().company_name, "Acme");
        let e =
            UploadFields::from_query(&pairs(&[("table", "a"), ("table_name", "b")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateParameter);
        let e = UploadFields::from_query(&pairs(&[("tabel", "a")])).unwrap_err();
        assert!(e.message.contains("tabel") && e.message.contains("table_name"));
        let e = UploadFields::from_query(&pairs(&[("password", "s3cret-pass")])).unwrap_err();
        assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidParameter));
        let mut body = UploadFields::from_query(&pairs(&[("email", "a@b.co")])).unwrap();
        let e = body.merge(UploadFields::from_query(&pairs(&[("email", "c@d.co")])).unwrap());
        assert_eq!(e.unwrap_err().code, ErrorCode::DuplicateParameter);
    }

    #[test]
    fn new_client_checks() {
        let mut f = UploadFields {
            company_name: Some(" Acme ".into()),
            email: Some("nope".into()),
            ..Default::default()
        };
        assert!(f.new_client().unwrap_err().message.contains("email"));
        f.email = Some("a@b.co".into());
        f.password = Some("short".into());
        assert!(f.new_client().unwrap_err().message.contains("password"));
        f.password = None;
        f.data_type = Some("Sales!".into());
        assert!(f.new_client().unwrap_err().message.contains("data_type"));
        f.data_type = None;
        assert_eq!(f.new_client().unwrap().company_name, "Acme");
        f.company_name = None;
        assert!(f.new_client().unwrap_err().message.contains("company_name"));
    }

    #[test]
    fn json_bodies() {
        let JsonBody::Form { fields, rows } =
            parse_json_body(br#"{"company_name":"A","email":"a@b.co","data":[{"x":1}]}"#).unwrap()
        else {
            panic!("an object with data is the form")
        };
        assert_eq!((fields.company_name.as_deref(), rows), (Some("A"), 1));
        assert!(matches!(
            parse_json_body(br#"[{"x":1}]"#).unwrap(),
            JsonBody::File
        ));
        assert!(matches!(
            parse_json_body(b"{\"x\":1}\n{\"x\":2}\n").unwrap(),
            JsonBody::File
        ));
        let e = parse_json_body(br#"{"data":[{"x":1},{"x":2},[3]]}"#).unwrap_err();
        assert_eq!(
            (e.status(), e.code, e.details),
            (400, ErrorCode::InvalidRow, Some(json!({"row": 2})))
        );
        let e = parse_json_body(br#"{"data":[], "colour":"red"}"#).unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        for not_rows in [
            &br#"{"data":{"x":1}}"#[..],
            br#"{"data":5}"#,
            br#"{"data":"x"}"#,
        ] {
            let e = parse_json_body(not_rows).unwrap_err();
            assert!(e.message.contains("array"), "{}", e.message);
        }
    }

    #[test]
    fn batches_close_on_rows_or_bytes() {
        let row = |i: i64| {
            let mut m = Map::new();
            m.insert("i".into(), json!(i));
            ingest::Row::from_map(m)
        };
        let mut b = Batcher::new(3, 1 << 20);
        assert_eq!(b.push(&row(1)), None);
        assert_eq!(b.push(&row(2)), None);
        let batch = b.push(&row(3)).expect("3 rows fill a batch");
        assert_eq!(batch.rows, 3);
        let parsed: Value = serde_json::from_str(&batch.json).unwrap();
        assert_eq!(parsed, json!([{"i":1},{"i":2},{"i":3}]));
        assert_eq!(b.flush(), None, "nothing left");
        b.push(&row(4));
        assert_eq!(b.flush().unwrap().json, r#"[{"i":4}]"#);

        let mut by_size = Batcher::new(1000, 12);
        assert_eq!(by_size.push(&row(1)), None);
        assert_eq!(
            by_size.push(&row(22)).map(|b| b.rows),
            Some(2),
            "12 bytes of JSON fill it"
        );
    }

    /// The batches are byte for byte what serializing each row to its own text and joining
    /// them gave (the serialization before rows were written into one buffer), on the messy
    /// CSV and XLSX files and the formatted corpus (exact digits, local formats).
    #[test]
    fn batches_are_the_rows_serialized_one_by_one() {
        let mut files = vec![
            ingest_testdata::messy_csv(3_000, 7),
            ingest_testdata::messy_xlsx(500, 7),
        ];
        files.extend(
            ingest_testdata::formatted_corpus()
                .into_iter()
                .map(|f| f.bytes),
        );
        let mut rows_seen = 0;
        for bytes in files {
            let ingested = ingest::ingest(&bytes, &ingest::IngestOptions::default()).unwrap();
            for table in ingested.tables {
                // Small batches, so every boundary (first row, commas, closing) is crossed often.
                let mut batcher = Batcher::new(7, 1 << 20);
                let mut got = Vec::new();
                for row in &table.rows {
                    got.extend(batcher.push(row));
                }
                got.extend(batcher.flush());
                let expected: Vec<String> = table
                    .rows
                    .chunks(7)
                    .map(|c| {
                        let texts: Vec<String> = c
                            .iter()
                            .map(|r| serde_json::to_string(r).unwrap())
                            .collect();
                        format!("[{}]", texts.join(","))
                    })
                    .collect();
                let got_json: Vec<&str> = got.iter().map(|b| b.json.as_str()).collect();
                assert_eq!(got_json, expected);
                // And read back, they are the rows' values, every digit kept.
                let back: Vec<Value> = got_json
                    .iter()
                    .flat_map(|j| match serde_json::from_str(j) {
                        Ok(Value::Array(rows)) => rows,
                        other => panic!("a batch is a JSON array: {other:?}"),
                    })
                    .collect();
                let rows: Vec<Value> = table.rows.iter().cloned().map(Value::from).collect();
                assert_eq!(back, rows);
                rows_seen += table.rows.len();
            }
        }
        assert!(rows_seen > 3_000, "the corpus yields rows: {rows_seen}");
    }

    #[test]
    fn ingest_errors_map_to_413_and_422() {
        let e = ingest_error(
            ingest::IngestError::new(ingest::ErrorCode::TooManyColumns, "600 columns")
                .at_row(0)
                .at_column("c600"),
        );
        assert_eq!((e.status(), e.code), (422, ErrorCode::TooManyColumns));
        assert_eq!(e.details, Some(json!({"row": 0, "column": "c600"})));
        let e = ingest_error(ingest::IngestError::new(ingest::ErrorCode::TooLarge, "big"));
        assert_eq!((e.status(), e.code), (413, ErrorCode::PayloadTooLarge));
    }

    #[test]
    fn sheet_tables_are_valid_names() {
        assert_eq!(
            sheet_table_name("client_0b6a4c1e_data", "Q1 Sales"),
            "client_0b6a4c1e_data_q1_sales"
        );
        assert_eq!(sheet_table_name("t", "***"), "t_sheet");
        assert!(sheet_table_name(&"a".repeat(60), "sheet two").len() <= 63);
    }
}
