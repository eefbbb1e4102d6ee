//! Uploads end to end (issue 5): every mess a real spreadsheet brings goes through the Worker in
//! workerd as a real upload (raw body, multipart or JSON) and is read back through the API value
//! for value, with the per-column types and the table's `data_type` the stored schema claims.
//! Then the upload guarantees: all or nothing, Idempotency-Key, appends and schema widening,
//! limits, and error bodies.
//!
//! The corpus is generated here (byte strings and `ingest_testdata::xlsx`), so every file is
//! visible next to what it must read back as. Each file is also parsed natively with `ingest`;
//! when the Worker's stored rows differ from the native parse, the Worker (not the parser) changed
//! a value on the way.

use e2e::{csv_bytes, enc, multipart, unique, Stack};
use ingest_testdata::{xlsx, XlsxCell};
use serde_json::{json, Value};

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PASSWORD: &str = "correct horse battery";

/// An answer from the Worker with the headers an upload test looks at.
#[derive(Debug)]
struct Reply {
    status: u16,
    replayed: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request to the Worker failed");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (replayed, retry_after) = (header("idempotent-replayed"), header("retry-after"));
    let text = response.text().await.expect("reading the body");
    Reply {
        status,
        replayed,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// `POST {worker}{path}` with `bytes` as the body.
async fn post_bytes(
    stack: &Stack,
    path: &str,
    token: &str,
    content_type: &str,
    bytes: Vec<u8>,
    idempotency_key: Option<&str>,
) -> Reply {
    let mut r = stack
        .http()
        .post(format!("{}{path}", stack.worker_url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes);
    if let Some(k) = idempotency_key {
        r = r.header("idempotency-key", k);
    }
    send(r).await
}

async fn get(stack: &Stack, path: &str, token: &str) -> Reply {
    send(
        stack
            .http()
            .get(format!("{}{path}", stack.worker_url))
            .bearer_auth(token),
    )
    .await
}

/// A fresh (company, email) pair.
fn new_identity(tag: &str) -> (String, String) {
    (
        unique(&format!("{tag} Ltd")),
        format!("{}@example.com", unique(tag)),
    )
}

/// The create route with the fields as query parameters (raw body form).
fn create_path(company: &str, email: &str) -> String {
    format!(
        "/api/superadmin/clients?company_name={}&email={}",
        enc(company),
        enc(email)
    )
}

/// Asserts the status and that the body is an error with the stable `code` and a message.
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (status, Some(code)),
        "expected {status} {code}, got {reply:?}"
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "an error needs a message a person can act on: {reply:?}"
    );
}

fn client_id(answer: &Value) -> String {
    answer["client"]["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no client.client_id in {answer}"))
        .to_owned()
}

/// Every row of `table` (all tables when None), in upload order (the API's order since issue 10).
async fn read_rows(stack: &Stack, id: &str, table: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/data/{id}?limit=1000");
        if let Some(t) = table {
            path.push_str(&format!("&table={}", enc(t)));
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", enc(c)));
        }
        let page = get(stack, &path, &stack.service_role_key).await;
        assert_eq!(page.status, 200, "GET {path}: {:?}", page.body);
        let data = page.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("not a page: {:?}", page.body));
        out.extend(data.iter().map(|r| r["data"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(c) if !data.is_empty() => cursor = Some(c.to_owned()),
            _ => break,
        }
    }
    out
}

async fn count(stack: &Stack, id: &str, table: Option<&str>) -> u64 {
    let path = match table {
        Some(t) => format!("/api/data/{id}/count?table={}", enc(t)),
        None => format!("/api/data/{id}/count"),
    };
    let a = get(stack, &path, &stack.service_role_key).await;
    assert_eq!(a.status, 200, "GET {path}: {:?}", a.body);
    a.body["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no count: {:?}", a.body))
}

/// The `/schema` entry of `table`: `{table_name, data_type, schema_def, row_count, …}`.
async fn schema_entry(stack: &Stack, id: &str, table: &str) -> Value {
    let a = get(
        stack,
        &format!("/api/data/{id}/schema"),
        &stack.service_role_key,
    )
    .await;
    assert_eq!(a.status, 200, "schema: {:?}", a.body);
    a.body["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table_name"] == table))
        .cloned()
        .unwrap_or_else(|| panic!("no table {table} in {:?}", a.body))
}

/// A column of a `schema_def` by key (`columns` is an array; an object keyed by column is
/// accepted too).
fn column<'a>(schema_def: &'a Value, key: &str) -> &'a Value {
    let columns = &schema_def["columns"];
    let found = match columns {
        Value::Array(cs) => cs.iter().find(|c| c["key"] == key),
        Value::Object(m) => m.get(key),
        _ => None,
    };
    found.unwrap_or_else(|| panic!("no column {key} in {columns}"))
}

fn column_keys(schema_def: &Value) -> Vec<String> {
    match &schema_def["columns"] {
        Value::Array(cs) => cs
            .iter()
            .filter_map(|c| c["key"].as_str().map(str::to_owned))
            .collect(),
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("schema_def.columns is not a list: {other}"),
    }
}

/// Asserts the stored schema has exactly these columns, each with this `type`.
fn assert_types(schema_def: &Value, want: &[(&str, &str)]) {
    let mut keys = column_keys(schema_def);
    keys.sort();
    let mut want_keys: Vec<String> = want.iter().map(|(k, _)| (*k).to_owned()).collect();
    want_keys.sort();
    assert_eq!(keys, want_keys, "columns of {schema_def}");
    for (key, ty) in want {
        assert_eq!(
            column(schema_def, key)["type"].as_str(),
            Some(*ty),
            "type of {key}: {}",
            column(schema_def, key)
        );
    }
}

fn semantic<'a>(schema_def: &'a Value, key: &str) -> Option<&'a str> {
    column(schema_def, key)["semantic_type"].as_str()
}

/// Equal as a user reads them: numbers by value (10 == 10.0, but integers exactly, so
/// 2^53 + 1 is not 2^53), a missing key the same as null, nested values recursively.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64() && (x.is_f64() || y.is_f64()),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).all(|k| {
            same(
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
            )
        }),
        _ => a == b,
    }
}

/// Asserts `got` holds exactly the rows `want`, in order, value for value.
fn assert_rows(got: &[Value], want: &[Value]) {
    assert_eq!(
        got.len(),
        want.len(),
        "row count: got {got:#?}\nwant {want:#?}"
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(same(g, w), "row {}: got {g}\nwant {w}", i + 1);
    }
}

/// One table as the API stores it after an upload.
struct Stored {
    client_id: String,
    answer: Value,
    rows: Vec<Value>,
    /// The `/schema` entry: `data_type`, `schema_def`, `row_count`, …
    entry: Value,
}

impl Stored {
    fn schema(&self) -> &Value {
        &self.entry["schema_def"]
    }
}

/// Reads back the table an upload answer names and checks the answer agrees with what is stored.
async fn stored(stack: &Stack, answer: Value, table: &str) -> Stored {
    let id = client_id(&answer);
    let rows = read_rows(stack, &id, Some(table)).await;
    let n = count(stack, &id, Some(table)).await;
    assert_eq!(n as usize, rows.len(), "count and rows disagree");
    let entry = schema_entry(stack, &id, table).await;
    assert_eq!(entry["row_count"].as_u64(), Some(n), "{entry}");
    Stored {
        client_id: id,
        answer,
        rows,
        entry,
    }
}

/// Creates a client from a raw file body, reads the table back, and checks it against the
/// native parse of the same bytes.
async fn create_raw(stack: &Stack, content_type: &str, bytes: &[u8]) -> Stored {
    let (company, email) = new_identity("corpus");
    let a = post_bytes(
        stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        content_type,
        bytes.to_vec(),
        None,
    )
    .await;
    assert_eq!(a.status, 201, "create from {content_type}: {:?}", a.body);
    let table = a.body["table_name"]
        .as_str()
        .unwrap_or_else(|| panic!("no table_name in {:?}", a.body))
        .to_owned();
    let s = stored(stack, a.body, &table).await;
    assert_eq!(s.answer["rows_stored"].as_u64(), Some(s.rows.len() as u64));
    assert_eq!(s.answer["client"]["email"], email.as_str());
    assert_eq!(s.entry["data_type"], s.answer["data_type"]);
    let native = ingest::ingest(bytes, &ingest::IngestOptions::new().with_hint(content_type))
        .unwrap_or_else(|e| panic!("the corpus file must parse natively: {e}"));
    let rows: Vec<Value> = native.tables[0]
        .rows
        .iter()
        .cloned()
        .map(Value::from)
        .collect();
    assert_rows(&s.rows, &rows);
    assert_eq!(s.entry["data_type"], native.tables[0].data_type.as_str());
    s
}

fn issue_count(answer: &Value, code: &str) -> u64 {
    answer["issue_counts"][code].as_u64().unwrap_or(0)
}

// ---------------------------------------------------------------- encodings

#[tokio::test]
async fn utf8_bom_does_not_stick_to_the_first_header() {
    let stack = Stack::connect().await;
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend("name,city\nJosé,Zürich\nÅsa,Malmö\n".as_bytes());
    let s = create_raw(&stack, "text/csv", &bytes).await;
    assert_rows(
        &s.rows,
        &[
            json!({"name": "José", "city": "Zürich"}),
            json!({"name": "Åsa", "city": "Malmö"}),
        ],
    );
    assert_types(s.schema(), &[("name", "string"), ("city", "string")]);
    assert_eq!(s.schema()["encoding"], "utf-8-bom");
}

#[tokio::test]
async fn utf16_le_and_be_read_back_as_text() {
    let stack = Stack::connect().await;
    let text = "id,name\n1,Łódź\n2,東京\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
    for (bytes, encoding) in [(le, "utf-16le"), (be, "utf-16be")] {
        let s = create_raw(&stack, "text/csv", &bytes).await;
        assert_rows(
            &s.rows,
            &[
                json!({"id": 1, "name": "Łódź"}),
                json!({"id": 2, "name": "東京"}),
            ],
        );
        assert_types(s.schema(), &[("id", "integer"), ("name", "string")]);
        assert_eq!(s.schema()["encoding"], encoding);
    }
}

#[tokio::test]
async fn windows_1252_semicolons_and_euro_amounts() {
    let stack = Stack::connect().await;
    // "Café;Preis\nCrème brûlée;4,50 €\nThé;2,00 €\n" as Excel saves it on a German Windows.
    let bytes = b"Caf\xe9;Preis\nCr\xe8me br\xfbl\xe9e;4,50 \x80\nTh\xe9;2,00 \x80\n";
    let s = create_raw(&stack, "text/csv", bytes).await;
    assert_rows(
        &s.rows,
        &[
            json!({"cafe": "Crème brûlée", "preis": 4.5}),
            json!({"cafe": "Thé", "preis": 2}),
        ],
    );
    assert_types(s.schema(), &[("cafe", "string"), ("preis", "number")]);
    assert_eq!(column(s.schema(), "cafe")["name"], "Café");
    assert_eq!(semantic(s.schema(), "preis"), Some("currency"));
    assert_eq!(
        column(s.schema(), "preis")["format"]["currency_code"],
        "EUR"
    );
    assert_eq!(s.schema()["encoding"], "windows-1252");
    assert_eq!(s.schema()["dialect"]["delimiter"], ";");
    assert_eq!(issue_count(&s.answer, "encoding_fallback"), 1);
}

// ---------------------------------------------------------------- dialects

#[tokio::test]
async fn title_lines_comments_semicolons_and_decimal_commas() {
    let stack = Stack::connect().await;
    let text = "Quarterly sales report\nExported 2024-03-01 by admin\n# source: crm\nregion;units;revenue\nNorth;10;1.234,50\n# a comment in the data\nSouth;7;99,00\n";
    let s = create_raw(&stack, "text/csv", text.as_bytes()).await;
    assert_rows(
        &s.rows,
        &[
            json!({"region": "North", "units": 10, "revenue": 1234.5}),
            json!({"region": "South", "units": 7, "revenue": 99}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("region", "string"),
            ("units", "integer"),
            ("revenue", "number"),
        ],
    );
    let dialect = &s.schema()["dialect"];
    assert_eq!(dialect["delimiter"], ";");
    assert_eq!(dialect["preamble_lines"], 2);
    assert_eq!(dialect["comment"], "#");
    assert_eq!(issue_count(&s.answer, "preamble_skipped"), 2);
    assert_eq!(issue_count(&s.answer, "comment_line"), 2);
    assert_eq!(
        column(s.schema(), "revenue")["format"]["decimal_separator"],
        ","
    );
}

#[tokio::test]
async fn tab_and_pipe_delimited_files() {
    let stack = Stack::connect().await;
    for (delimiter, content_type) in [('\t', "text/tab-separated-values"), ('|', "text/plain")] {
        let text = format!(
            "a{d}b{d}c\n1{d}x y{d}3.5\n2{d}\"z, w\"{d}4.5\n",
            d = delimiter
        );
        let s = create_raw(&stack, content_type, text.as_bytes()).await;
        assert_rows(
            &s.rows,
            &[
                json!({"a": 1, "b": "x y", "c": 3.5}),
                json!({"a": 2, "b": "z, w", "c": 4.5}),
            ],
        );
        assert_types(
            s.schema(),
            &[("a", "integer"), ("b", "string"), ("c", "number")],
        );
        assert_eq!(s.schema()["dialect"]["delimiter"], delimiter.to_string());
    }
}

#[tokio::test]
async fn quoted_newlines_and_escaped_quotes() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"id,comment\n1,\"first line\nsecond line\"\n2,\"she said \"\"hi\"\", then left\"\n3,plain\n",
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"id": 1, "comment": "first line\nsecond line"}),
            json!({"id": 2, "comment": "she said \"hi\", then left"}),
            json!({"id": 3, "comment": "plain"}),
        ],
    );
    assert_types(s.schema(), &[("id", "integer"), ("comment", "string")]);
}

#[tokio::test]
async fn trailing_empty_columns_are_dropped() {
    let stack = Stack::connect().await;
    let s = create_raw(&stack, "text/csv", b"a,b,,\n1,2,,\n3,4,,\n").await;
    assert_rows(&s.rows, &[json!({"a": 1, "b": 2}), json!({"a": 3, "b": 4})]);
    assert_types(s.schema(), &[("a", "integer"), ("b", "integer")]);
    assert_eq!(s.schema()["dialect"]["trailing_empty_columns"], 2);
}

#[tokio::test]
async fn ragged_rows_are_padded_and_reported_never_shifted() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n",
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"a": 4, "b": 5, "c": null}),
            json!({"a": 6, "b": 7, "c": 8, "column_4": 9}),
            json!({"a": 10, "b": 11, "c": 12}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("a", "integer"),
            ("b", "integer"),
            ("c", "integer"),
            ("column_4", "integer"),
        ],
    );
    assert_eq!(column(s.schema(), "c")["nullable"], true);
    assert_eq!(issue_count(&s.answer, "ragged_row"), 2);
    let ragged: Vec<Value> = s.answer["issues"]
        .as_array()
        .map(|is| {
            is.iter()
                .filter(|i| i["code"] == "ragged_row")
                .map(|i| i["row"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ragged,
        [json!(2), json!(3)],
        "issues: {}",
        s.answer["issues"]
    );
}

#[tokio::test]
async fn duplicate_and_empty_headers_get_unique_keys_and_keep_their_names() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"Name,name,,Amount (USD)\nx,y,z,1\nu,v,w,2\n",
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"name": "x", "name_2": "y", "column_3": "z", "amount_usd": 1}),
            json!({"name": "u", "name_2": "v", "column_3": "w", "amount_usd": 2}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("name", "string"),
            ("name_2", "string"),
            ("column_3", "string"),
            ("amount_usd", "integer"),
        ],
    );
    assert_eq!(column(s.schema(), "name")["name"], "Name");
    assert_eq!(column(s.schema(), "name_2")["name"], "name");
    assert_eq!(column(s.schema(), "amount_usd")["name"], "Amount (USD)");
    assert_eq!(issue_count(&s.answer, "duplicate_header"), 1);
    assert_eq!(issue_count(&s.answer, "empty_header"), 1);
}

// ---------------------------------------------------------------- values

#[tokio::test]
async fn thousands_separators_in_both_locales() {
    let stack = Stack::connect().await;
    let text = "us;eu;plain\n\"1,234.56\";1.234,56;12\n\"2,000.5\";2.000,5;13\n\"3.25\";3,25;14\n";
    let s = create_raw(&stack, "text/csv", text.as_bytes()).await;
    assert_rows(
        &s.rows,
        &[
            json!({"us": 1234.56, "eu": 1234.56, "plain": 12}),
            json!({"us": 2000.5, "eu": 2000.5, "plain": 13}),
            json!({"us": 3.25, "eu": 3.25, "plain": 14}),
        ],
    );
    assert_types(
        s.schema(),
        &[("us", "number"), ("eu", "number"), ("plain", "integer")],
    );
    let eu = &column(s.schema(), "eu")["format"];
    assert_eq!(
        (&eu["decimal_separator"], &eu["thousands_separator"]),
        (&json!(","), &json!("."))
    );
}

#[tokio::test]
async fn european_us_dotted_and_named_dates_and_iso_datetimes() {
    let stack = Stack::connect().await;
    let text = "eu,us,dots,named,iso_dt\n31/01/2024,01/31/2024,05.03.2024,15 Jan 2024,2024-01-15T10:30:00Z\n05/02/2024,02/05/2024,06.03.2024,\"March 3, 2024\",2024-01-16 08:00:00\n";
    let s = create_raw(&stack, "text/csv", text.as_bytes()).await;
    assert_rows(
        &s.rows,
        &[
            json!({"eu": "2024-01-31", "us": "2024-01-31", "dots": "2024-03-05",
                   "named": "2024-01-15", "iso_dt": "2024-01-15T10:30:00Z"}),
            json!({"eu": "2024-02-05", "us": "2024-02-05", "dots": "2024-03-06",
                   "named": "2024-03-03", "iso_dt": "2024-01-16T08:00:00"}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("eu", "date"),
            ("us", "date"),
            ("dots", "date"),
            ("named", "date"),
            ("iso_dt", "datetime"),
        ],
    );
    assert_eq!(column(s.schema(), "eu")["format"]["date_order"], "dmy");
    assert_eq!(column(s.schema(), "us")["format"]["date_order"], "mdy");
    assert_eq!(column(s.schema(), "dots")["format"]["date_order"], "dmy");
}

#[tokio::test]
async fn null_tokens_become_null() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"v,w\n1,a\nNA,b\nN/A,c\nnull,d\n-,e\n,f\n2,g\n",
    )
    .await;
    let v: Vec<Value> = [
        json!(1),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        json!(2),
    ]
    .into();
    let want: Vec<Value> = v
        .into_iter()
        .zip(["a", "b", "c", "d", "e", "f", "g"])
        .map(|(v, w)| json!({"v": v, "w": w}))
        .collect();
    assert_rows(&s.rows, &want);
    assert_types(s.schema(), &[("v", "integer"), ("w", "string")]);
    let v = column(s.schema(), "v");
    assert_eq!(
        (&v["nullable"], &v["null_count"]),
        (&json!(true), &json!(5))
    );
}

#[tokio::test]
async fn yes_no_columns_are_booleans_but_counts_stay_numbers() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"active,count,answer\nyes,1,Y\nno,0,n\nyes,0,y\n",
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"active": true, "count": 1, "answer": true}),
            json!({"active": false, "count": 0, "answer": false}),
            json!({"active": true, "count": 0, "answer": true}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("active", "boolean"),
            ("count", "integer"),
            ("answer", "boolean"),
        ],
    );
}

#[tokio::test]
async fn leading_zero_codes_and_big_integers_stay_exact() {
    let stack = Stack::connect().await;
    let s = create_raw(
        &stack,
        "text/csv",
        b"zip,agent,big,small\n02134,007,9007199254740993,5\n90210,042,12345678901234567890,6\n",
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"zip": "02134", "agent": "007", "big": "9007199254740993", "small": 5}),
            json!({"zip": "90210", "agent": "042", "big": "12345678901234567890", "small": 6}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("zip", "string"),
            ("agent", "string"),
            ("big", "string"),
            ("small", "integer"),
        ],
    );
    assert_eq!(semantic(s.schema(), "zip"), Some("code"));
    assert_eq!(semantic(s.schema(), "big"), Some("big_integer"));
}

#[tokio::test]
async fn currency_and_percent_become_numbers_with_their_unit_in_the_schema() {
    let stack = Stack::connect().await;
    let text = "price,fee,rate\n\"$1,234.50\",€12,12.5%\n$3.00,12 EUR,-3%\n\"$10\",EUR 7.25,100%\n";
    let s = create_raw(&stack, "text/csv", text.as_bytes()).await;
    assert_rows(
        &s.rows,
        &[
            json!({"price": 1234.5, "fee": 12, "rate": 12.5}),
            json!({"price": 3, "fee": 12, "rate": -3}),
            json!({"price": 10, "fee": 7.25, "rate": 100}),
        ],
    );
    assert_types(
        s.schema(),
        &[("price", "number"), ("fee", "number"), ("rate", "number")],
    );
    assert_eq!(semantic(s.schema(), "price"), Some("currency"));
    let price = &column(s.schema(), "price")["format"];
    assert_eq!(
        (&price["currency_symbol"], &price["currency_code"]),
        (&json!("$"), &json!("USD"))
    );
    assert_eq!(column(s.schema(), "fee")["format"]["currency_code"], "EUR");
    assert_eq!(semantic(s.schema(), "rate"), Some("percent"));
}

// ---------------------------------------------------------------- JSON, NDJSON, XLSX

#[tokio::test]
async fn ndjson_logs_keep_nested_objects() {
    let stack = Stack::connect().await;
    let text = "{\"ts\":\"2024-05-01T10:00:00Z\",\"level\":\"info\",\"latency_ms\":12,\"user\":{\"id\":1}}\n{\"ts\":\"2024-05-01T10:00:01Z\",\"level\":\"error\",\"latency_ms\":250.5,\"message\":\"boom\",\"user\":{\"id\":2}}\n\n";
    let s = create_raw(&stack, "application/x-ndjson", text.as_bytes()).await;
    assert_rows(
        &s.rows,
        &[
            json!({"ts": "2024-05-01T10:00:00Z", "level": "info", "latency_ms": 12, "user": {"id": 1}}),
            json!({"ts": "2024-05-01T10:00:01Z", "level": "error", "latency_ms": 250.5,
                   "message": "boom", "user": {"id": 2}}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("ts", "datetime"),
            ("level", "string"),
            ("latency_ms", "number"),
            ("message", "string"),
            ("user", "json"),
        ],
    );
    assert_eq!(s.schema()["format"], "ndjson");
    assert_eq!(s.entry["data_type"], "events");
}

/// The nested JSON document of the corpus: an object holding the array, arrays in cells, and
/// integers beyond 2^53.
fn inventory_json() -> Vec<u8> {
    br#"{"meta": {"page": 1}, "data": [
        {"sku": "A-1", "price": 9.99, "tags": ["x", "y"], "stock": 3, "warehouse": "north", "dims": {"w": 2, "h": 3}},
        {"sku": "B-2", "price": 19.5, "tags": [], "stock": 0, "warehouse": "south", "dims": null, "big": 12345678901234567890, "just_over": 9007199254740993}
    ]}"#
    .to_vec()
}

#[tokio::test]
async fn nested_json_keeps_objects_arrays_and_big_integers() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("nested");
    let (content_type, body) = multipart(
        &[("company_name", &company), ("email", &email)],
        Some(("inventory.json", "application/json", &inventory_json())),
    );
    let a = post_bytes(
        &stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &content_type,
        body,
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let table = a.body["table_name"].as_str().unwrap_or_default().to_owned();
    let s = stored(&stack, a.body, &table).await;
    assert_rows(
        &s.rows,
        &[
            json!({"sku": "A-1", "price": 9.99, "tags": ["x", "y"], "stock": 3, "warehouse": "north",
                   "dims": {"w": 2, "h": 3}}),
            json!({"sku": "B-2", "price": 19.5, "tags": [], "stock": 0, "warehouse": "south",
                   "big": 12345678901234567890u64, "just_over": 9007199254740993u64}),
        ],
    );
    let schema = s.schema();
    for (key, ty) in [
        ("tags", "json"),
        ("dims", "json"),
        ("price", "number"),
        ("stock", "integer"),
        ("sku", "string"),
    ] {
        assert_eq!(column(schema, key)["type"], ty, "{key}");
    }
    assert_eq!(schema["format"], "json");
    assert_eq!(s.entry["data_type"], "inventory");
}

fn two_sheet_workbook() -> Vec<u8> {
    use XlsxCell::*;
    let t = |s: &str| Text(s.to_owned());
    xlsx(&[
        (
            "Orders",
            vec![
                vec![
                    t("Order ID"),
                    t("Order Date"),
                    t("Unit Price"),
                    t("Paid"),
                    t("Zip"),
                ],
                vec![
                    Number(1.0),
                    Date(45306.0),
                    Number(9.99),
                    Bool(true),
                    t("02134"),
                ],
                vec![
                    Number(2.0),
                    Date(45307.0),
                    Number(10.0),
                    Bool(false),
                    t("90210"),
                ],
            ],
        ),
        (
            "Staff & Pay",
            vec![
                vec![t("Report <2024>")],
                vec![t("Employee"), t("Department"), t("Salary"), t("Hired At")],
                vec![t("Ann"), t("R&D"), Number(5000.5), DateTime(45306.75)],
                vec![t("Bo"), t("Sales"), Number(4200.0), DateTime(45000.5)],
            ],
        ),
    ])
}

#[tokio::test]
async fn two_sheet_xlsx_makes_one_table_per_sheet_with_iso_dates() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("workbook");
    let a = post_bytes(
        &stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        XLSX_TYPE,
        two_sheet_workbook(),
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = client_id(&a.body);
    let tables = a.body["tables"].as_array().cloned().unwrap_or_default();
    assert_eq!(tables.len(), 2, "one entry per sheet: {:?}", a.body);
    let prefix = format!("client_{}_", &id.replace('-', "")[..8]);
    let name_of = |suffix: &str| {
        tables
            .iter()
            .filter_map(|t| t["table_name"].as_str())
            .find(|n| n.starts_with(&prefix) && n.ends_with(suffix))
            .unwrap_or_else(|| panic!("no table {prefix}…{suffix} in {tables:?}"))
            .to_owned()
    };
    let (orders, staff) = (name_of("_orders"), name_of("_staff_pay"));

    let o = stored(&stack, a.body.clone(), &orders).await;
    assert_rows(
        &o.rows,
        &[
            json!({"order_id": 1, "order_date": "2024-01-15", "unit_price": 9.99, "paid": true, "zip": "02134"}),
            json!({"order_id": 2, "order_date": "2024-01-16", "unit_price": 10, "paid": false, "zip": "90210"}),
        ],
    );
    assert_types(
        o.schema(),
        &[
            ("order_id", "integer"),
            ("order_date", "date"),
            ("unit_price", "number"),
            ("paid", "boolean"),
            ("zip", "string"),
        ],
    );
    assert_eq!(o.entry["data_type"], "ecommerce");
    assert_eq!(o.schema()["sheet"], "Orders");

    let s = stored(&stack, a.body, &staff).await;
    assert_rows(
        &s.rows,
        &[
            json!({"employee": "Ann", "department": "R&D", "salary": 5000.5, "hired_at": "2024-01-15T18:00:00"}),
            json!({"employee": "Bo", "department": "Sales", "salary": 4200, "hired_at": "2023-03-15T12:00:00"}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("employee", "string"),
            ("department", "string"),
            ("salary", "number"),
            ("hired_at", "datetime"),
        ],
    );
    assert_eq!(s.entry["data_type"], "hr");
    assert_eq!(s.schema()["sheet"], "Staff & Pay");
    assert_eq!(count(&stack, &id, None).await, 4);
}

#[tokio::test]
async fn a_generated_messy_orders_export_reads_back_like_the_native_parse() {
    let stack = Stack::connect().await;
    // 1,500 rows: more than one batch and more than one page, past the type sample.
    let bytes = ingest_testdata::messy_csv(1500, 11);
    let s = create_raw(&stack, "text/csv", &bytes).await;
    assert_eq!(s.rows.len(), 1500);
    assert_eq!(s.entry["data_type"], "ecommerce");
    let schema = s.schema();
    for (key, ty) in [
        ("order_id", "integer"),
        ("customer_email", "string"),
        ("order_date", "date"),
        ("amount", "number"),
        ("qty", "integer"),
        ("zip", "string"),
    ] {
        assert_eq!(column(schema, key)["type"], ty, "{key}");
    }
    assert_eq!(semantic(schema, "customer_email"), Some("email"));
    assert_eq!(semantic(schema, "amount"), Some("currency"));
    assert_eq!(s.rows[0]["order_id"], 100_000);
    assert_eq!(s.rows[1499]["order_id"], 101_499);
}

// ---------------------------------------------------------------- body forms

#[tokio::test]
async fn json_body_create_keeps_values_and_types() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("jsonbody");
    let data = json!([
        {"employee": "Ann", "salary": 5000.5, "hired": "2024-01-15", "active": true, "badge": "007"},
        {"employee": "Bo", "salary": 4200, "hired": "2023-03-15", "active": false, "badge": "042"}
    ]);
    let a = post_bytes(
        &stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        "application/json",
        json!({"company_name": company, "email": email, "data_type": "hr", "data": data})
            .to_string()
            .into_bytes(),
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let table = a.body["table_name"].as_str().unwrap_or_default().to_owned();
    let s = stored(&stack, a.body, &table).await;
    assert_rows(
        &s.rows,
        data.as_array().map(Vec::as_slice).unwrap_or_default(),
    );
    assert_eq!(s.entry["data_type"], "hr");
    assert!(table.ends_with("_hr"), "{table}");
    assert_eq!(column(s.schema(), "salary")["type"], "number");
    assert_eq!(column(s.schema(), "active")["type"], "boolean");
    assert_eq!(column(s.schema(), "badge")["type"], "string");
}

#[tokio::test]
async fn multipart_create_with_fields_and_a_file_part() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("multipart");
    let csv = b"employee_id,first_name,department,salary,hire_date\n0017,Ann,R&D,\"52,000\",15.01.2024\n0018,Bo,Sales,\"48,500\",01.02.2023\n";
    let (content_type, body) = multipart(
        &[
            ("company_name", &company),
            ("email", &email),
            ("password", PASSWORD),
        ],
        Some(("employees.csv", "text/csv", csv)),
    );
    let a = post_bytes(
        &stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &content_type,
        body,
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["client"]["company_name"], company.as_str());
    let table = a.body["table_name"].as_str().unwrap_or_default().to_owned();
    let s = stored(&stack, a.body, &table).await;
    assert_rows(
        &s.rows,
        &[
            json!({"employee_id": "0017", "first_name": "Ann", "department": "R&D", "salary": 52000, "hire_date": "2024-01-15"}),
            json!({"employee_id": "0018", "first_name": "Bo", "department": "Sales", "salary": 48500, "hire_date": "2023-02-01"}),
        ],
    );
    assert_types(
        s.schema(),
        &[
            ("employee_id", "string"),
            ("first_name", "string"),
            ("department", "string"),
            ("salary", "integer"),
            ("hire_date", "date"),
        ],
    );
    assert_eq!(s.entry["data_type"], "hr");
    assert_eq!(
        table,
        format!("client_{}_hr", &s.client_id.replace('-', "")[..8])
    );
    // The password field made a login: the client reads its own upload.
    let token = stack.login(&email, PASSWORD).await;
    let own = get(&stack, &format!("/api/data/{}/count", s.client_id), &token).await;
    assert_eq!((own.status, own.body.clone()), (200, json!({"count": 2})));
}

#[tokio::test]
async fn the_format_comes_from_the_content_not_the_label() {
    let stack = Stack::connect().await;
    // A JSON array sent as text/csv is read as JSON.
    let s = create_raw(
        &stack,
        "text/csv",
        br#"[{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 5}]"#,
    )
    .await;
    assert_rows(
        &s.rows,
        &[
            json!({"sku": "A-1", "qty": 2}),
            json!({"sku": "B-2", "qty": 5}),
        ],
    );
    assert_eq!(s.schema()["format"], "json");
    // A workbook in a part called report.csv, labelled text/csv, is read as XLSX.
    use XlsxCell::*;
    let book = xlsx(&[(
        "Sheet1",
        vec![
            vec![Text("city".into()), Text("visits".into())],
            vec![Text("Lisboa".into()), Number(3.0)],
        ],
    )]);
    let (company, email) = new_identity("labels");
    let (content_type, body) = multipart(
        &[("company_name", &company), ("email", &email)],
        Some(("report.csv", "text/csv", &book)),
    );
    let a = post_bytes(
        &stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &content_type,
        body,
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let table = a.body["table_name"].as_str().unwrap_or_default().to_owned();
    let s = stored(&stack, a.body, &table).await;
    assert_rows(&s.rows, &[json!({"city": "Lisboa", "visits": 3})]);
    assert_eq!(s.schema()["format"], "xlsx");
    assert_types(s.schema(), &[("city", "string"), ("visits", "integer")]);
}

// ---------------------------------------------------------------- all or nothing

/// `good` rows `{id, note}` then one row whose note is larger than the 64 KiB cell limit, then
/// one more good row: the failure comes after several batches could have been written.
fn csv_failing_at(good: usize) -> Vec<u8> {
    let header = ["id".to_owned(), "note".to_owned()];
    let rows = (1..=good).map(|i| [i.to_string(), format!("row {i}")]);
    let too_big = [(good + 1).to_string(), "x".repeat(70 * 1024)];
    let after = [(good + 2).to_string(), "after".to_owned()];
    csv_bytes(std::iter::once(header).chain(rows).chain([too_big, after]))
}

async fn staged_rows_for_email(stack: &Stack, email: &str) -> i64 {
    let db = stack.db().await;
    let row = db
        .query_one(
            "select count(*) from staging.upload_rows r join staging.uploads u using (upload_id) \
             where lower(u.client->>'email') = lower($1)",
            &[&email],
        )
        .await
        .expect("query staging");
    row.get(0)
}

async fn clients_with_email(stack: &Stack, email: &str) -> i64 {
    let db = stack.db().await;
    db.query_one(
        "select count(*) from public.clients where lower(email) = lower($1)",
        &[&email],
    )
    .await
    .expect("query clients")
    .get(0)
}

#[tokio::test]
async fn a_create_that_fails_midway_leaves_no_client_and_the_server_keeps_serving() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("midway");
    let a = post_bytes(
        &stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        "text/csv",
        csv_failing_at(3000),
        None,
    )
    .await;
    assert_error(&a, 422, "cell_too_large");
    assert_eq!(a.body["details"]["row"], 3001, "{:?}", a.body);
    assert_eq!(a.body["details"]["column"], "note", "{:?}", a.body);
    assert_eq!(
        clients_with_email(&stack, &email).await,
        0,
        "a failed create made a client"
    );
    assert_eq!(
        staged_rows_for_email(&stack, &email).await,
        0,
        "staged rows were left behind"
    );
    // The same email is free to use, and the server answers the next upload.
    let ok = post_bytes(
        &stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        "text/csv",
        b"id,note\n1,fine\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    assert_eq!(ok.body["rows_stored"], 1);
}

#[tokio::test]
async fn too_many_columns_is_refused_with_the_limit_code() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("wide");
    let header: Vec<String> = (1..=600).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (1..=600).map(|i| i.to_string()).collect();
    let a = post_bytes(
        &stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        "text/csv",
        csv_bytes([header, row]),
        None,
    )
    .await;
    assert_error(&a, 422, "too_many_columns");
    assert_eq!(clients_with_email(&stack, &email).await, 0);
}

#[tokio::test]
async fn a_broken_multipart_body_stores_nothing() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("broken");
    let (content_type, body) = multipart(
        &[("company_name", &company), ("email", &email)],
        Some(("rows.csv", "text/csv", b"id,name\n1,a\n2,b\n")),
    );
    // Cut off before the closing boundary: the file part never ends.
    let boundary = content_type.split("boundary=").nth(1).expect("a boundary");
    let closing = format!("\r\n--{boundary}--\r\n");
    assert!(
        body.ends_with(closing.as_bytes()),
        "the form ends with its closing boundary"
    );
    let cut = body.len() - closing.len();
    let a = post_bytes(
        &stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &content_type,
        body[..cut].to_vec(),
        None,
    )
    .await;
    assert_error(&a, 400, "invalid_body");
    assert_eq!(clients_with_email(&stack, &email).await, 0);
    assert_eq!(staged_rows_for_email(&stack, &email).await, 0);
    assert_eq!(get(&stack, "/health", "").await.status, 200);
}

/// A client with rows `{id, amount}` = (1, 5), (2, 7) and a login; returns (client_id, token,
/// table_name).
async fn client_with_amounts(stack: &Stack, tag: &str) -> (String, String, String) {
    let (company, email) = new_identity(tag);
    let (content_type, body) = multipart(
        &[
            ("company_name", &company),
            ("email", &email),
            ("password", PASSWORD),
        ],
        Some(("amounts.csv", "text/csv", b"id,amount\n1,5\n2,7\n")),
    );
    let a = post_bytes(
        stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &content_type,
        body,
        None,
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let token = stack.login(&email, PASSWORD).await;
    let table = a.body["table_name"].as_str().unwrap_or_default().to_owned();
    (client_id(&a.body), token, table)
}

async fn pending_staged_rows_for_client(stack: &Stack, id: &str) -> i64 {
    let db = stack.db().await;
    db.query_one(
        "select count(*) from staging.upload_rows r join staging.uploads u using (upload_id) \
         where u.client_id::text = $1 and u.status = 'pending'",
        &[&id],
    )
    .await
    .expect("query staging")
    .get(0)
}

#[tokio::test]
async fn an_append_that_fails_midway_adds_no_rows() {
    let stack = Stack::connect().await;
    let (id, token, table) = client_with_amounts(&stack, "appendfail").await;
    let a = post_bytes(
        &stack,
        &format!("/api/data/{id}?table={table}"),
        &token,
        "text/csv",
        csv_failing_at(2500),
        None,
    )
    .await;
    assert_error(&a, 422, "cell_too_large");
    assert_eq!(a.body["details"]["row"], 2501, "{:?}", a.body);
    assert_eq!(
        count(&stack, &id, None).await,
        2,
        "rows of a failed append became visible"
    );
    assert_eq!(
        pending_staged_rows_for_client(&stack, &id).await,
        0,
        "staged rows left behind"
    );
    let next = post_bytes(
        &stack,
        &format!("/api/data/{id}?table={table}"),
        &token,
        "text/csv",
        b"id,amount\n3,9\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!(count(&stack, &id, None).await, 3);
}

// ---------------------------------------------------------------- idempotency

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_stores_once() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("idem-create");
    let key = unique("key");
    let csv = b"sku,qty\nA-1,2\nB-2,5\n".to_vec();
    let path = create_path(&company, &email);
    let first = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "text/csv",
        csv.clone(),
        Some(&key),
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_ne!(first.replayed.as_deref(), Some("true"));
    let retry = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "text/csv",
        csv,
        Some(&key),
    )
    .await;
    assert_eq!(retry.status, 201, "{:?}", retry.body);
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    assert_eq!(client_id(&retry.body), client_id(&first.body));
    assert_eq!(retry.body["rows_stored"], 2);
    assert_eq!(clients_with_email(&stack, &email).await, 1);
    assert_eq!(count(&stack, &client_id(&first.body), None).await, 2);
}

#[tokio::test]
async fn a_retried_append_stores_once_and_a_reused_key_for_another_table_conflicts() {
    let stack = Stack::connect().await;
    let (id, token, table) = client_with_amounts(&stack, "idem-append").await;
    let key = unique("key");
    let path = format!("/api/data/{id}?table={table}");
    let rows = b"id,amount\n3,9\n4,11\n".to_vec();
    let first = post_bytes(&stack, &path, &token, "text/csv", rows.clone(), Some(&key)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["rows_stored"], 2);
    let retry = post_bytes(&stack, &path, &token, "text/csv", rows.clone(), Some(&key)).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    assert_eq!(retry.body["rows_stored"], 2);
    assert_eq!(
        count(&stack, &id, None).await,
        4,
        "the retry stored its rows again"
    );
    let other = post_bytes(
        &stack,
        &format!("/api/data/{id}?table=other_table"),
        &token,
        "text/csv",
        rows,
        Some(&key),
    )
    .await;
    assert_error(&other, 409, "idempotency_conflict");
    assert_eq!(count(&stack, &id, None).await, 4);
}

// ---------------------------------------------------------------- appends and widening

#[tokio::test]
async fn a_client_appends_to_itself_but_not_to_another_client() {
    let stack = Stack::connect().await;
    let (a_id, a_token, a_table) = client_with_amounts(&stack, "appender").await;
    let (b_id, _, b_table) = client_with_amounts(&stack, "victim").await;

    // JSON body append by the client with its own login token.
    let own = post_bytes(
        &stack,
        &format!("/api/data/{a_id}"),
        &a_token,
        "application/json",
        json!({"table_name": a_table, "data": [{"id": 3, "amount": 9}]})
            .to_string()
            .into_bytes(),
        None,
    )
    .await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(
        (
            own.body["rows_stored"].as_u64(),
            own.body["row_count"].as_u64()
        ),
        (Some(1), Some(3))
    );
    assert_rows(
        &read_rows(&stack, &a_id, Some(&a_table)).await,
        &[
            json!({"id": 1, "amount": 5}),
            json!({"id": 2, "amount": 7}),
            json!({"id": 3, "amount": 9}),
        ],
    );

    // Into another client's id, in every body form: 404 as if it did not exist, nothing stored.
    let (mp_type, mp_body) = multipart(&[], Some(("x.csv", "text/csv", b"id,amount\n99,1\n")));
    for (content_type, body) in [
        ("text/csv".to_owned(), b"id,amount\n99,1\n".to_vec()),
        (
            "application/json".to_owned(),
            json!({"data": [{"id": 99, "amount": 1}]})
                .to_string()
                .into_bytes(),
        ),
        (mp_type, mp_body),
    ] {
        let denied = post_bytes(
            &stack,
            &format!("/api/data/{b_id}?table={b_table}"),
            &a_token,
            &content_type,
            body,
            None,
        )
        .await;
        assert_error(&denied, 404, "client_not_found");
    }
    assert_eq!(count(&stack, &b_id, None).await, 2);
    assert_eq!(pending_staged_rows_for_client(&stack, &b_id).await, 0);
}

#[tokio::test]
async fn re_uploads_widen_the_schema_and_record_versions() {
    let stack = Stack::connect().await;
    let (id, token, table) = client_with_amounts(&stack, "widen").await;
    let path = format!("/api/data/{id}?table={table}");
    let entry = schema_entry(&stack, &id, &table).await;
    assert_eq!(column(&entry["schema_def"], "amount")["type"], "integer");

    // integer → number, and a new column.
    let a = post_bytes(
        &stack,
        &path,
        &token,
        "text/csv",
        b"id,amount,note\n3,1.5,first\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let v2 = a.body["schema_version"]
        .as_i64()
        .unwrap_or_else(|| panic!("no schema_version: {:?}", a.body));
    let entry = schema_entry(&stack, &id, &table).await;
    assert_eq!(column(&entry["schema_def"], "amount")["type"], "number");
    assert_eq!(column(&entry["schema_def"], "note")["type"], "string");
    assert_eq!(column(&a.body["schema"], "amount")["type"], "number");

    // number → text: "abc" cannot be a number, so the column no longer claims to be one.
    let b = post_bytes(
        &stack,
        &path,
        &token,
        "text/csv",
        b"id,amount\n4,abc\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(b.status, 200, "{:?}", b.body);
    let v3 = b.body["schema_version"].as_i64().unwrap_or_default();
    assert!(
        v3 > v2,
        "a changed schema must record a new version ({v2} then {v3})"
    );
    let entry = schema_entry(&stack, &id, &table).await;
    let amount = column(&entry["schema_def"], "amount")["type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        amount == "string" || amount == "mixed",
        "amount after \"abc\": {amount}"
    );
    assert_rows(
        &read_rows(&stack, &id, Some(&table)).await,
        &[
            json!({"id": 1, "amount": 5}),
            json!({"id": 2, "amount": 7}),
            json!({"id": 3, "amount": 1.5, "note": "first"}),
            json!({"id": 4, "amount": "abc"}),
        ],
    );

    // The history holds every version, newest first.
    let versions = stack
        .rpc_direct(
            "get_client_schema_versions",
            &stack.service_role_key,
            &json!({"p_client_id": id, "p_table_name": table}),
        )
        .await;
    assert_eq!(versions.status, 200, "{:?}", versions.body);
    let numbers: Vec<i64> = versions
        .body
        .as_array()
        .map(|vs| vs.iter().filter_map(|v| v["version"].as_i64()).collect())
        .unwrap_or_default();
    assert!(numbers.len() >= 3, "versions: {numbers:?}");
    assert_eq!(numbers[0], v3);
    let types: Vec<String> = versions
        .body
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    column(&v["schema_def"], "amount")["type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        types.last().map(String::as_str),
        Some("integer"),
        "the first version: {types:?}"
    );
}

#[tokio::test]
async fn an_append_of_a_multi_sheet_workbook_needs_a_sheet() {
    let stack = Stack::connect().await;
    let (id, token, _) = client_with_amounts(&stack, "sheets").await;
    let a = post_bytes(
        &stack,
        &format!("/api/data/{id}"),
        &token,
        XLSX_TYPE,
        two_sheet_workbook(),
        None,
    )
    .await;
    assert_error(&a, 422, "multiple_sheets");
    assert_eq!(count(&stack, &id, None).await, 2);
    let b = post_bytes(
        &stack,
        &format!("/api/data/{id}?sheet=Orders&table=orders"),
        &token,
        XLSX_TYPE,
        two_sheet_workbook(),
        None,
    )
    .await;
    assert_eq!(b.status, 200, "{:?}", b.body);
    assert_eq!(b.body["rows_stored"], 2);
    assert_rows(
        &read_rows(&stack, &id, Some("orders")).await,
        &[
            json!({"order_id": 1, "order_date": "2024-01-15", "unit_price": 9.99, "paid": true, "zip": "02134"}),
            json!({"order_id": 2, "order_date": "2024-01-16", "unit_price": 10, "paid": false, "zip": "90210"}),
        ],
    );
}

// ---------------------------------------------------------------- limits and errors

#[tokio::test]
async fn unsupported_content_is_refused() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("unsupported");
    let path = create_path(&company, &email);
    let png = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "image/png",
        b"\x89PNG\r\n\x1a\n....".to_vec(),
        None,
    )
    .await;
    assert_error(&png, 415, "unsupported_media_type");
    // A PDF labelled as CSV: the content decides, and it is no spreadsheet.
    let pdf = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "text/csv",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(),
        None,
    )
    .await;
    assert_error(&pdf, 422, "unsupported_format");
    let empty = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "text/csv",
        b"  \n\n".to_vec(),
        None,
    )
    .await;
    assert_error(&empty, 422, "empty_file");
    let bad_json = post_bytes(
        &stack,
        &path,
        &stack.service_role_key,
        "application/x-ndjson",
        b"{\"a\":1}\n{\"a\":2\n".to_vec(),
        None,
    )
    .await;
    assert_error(&bad_json, 422, "invalid_json");
    assert_eq!(clients_with_email(&stack, &email).await, 0);
}

#[tokio::test]
async fn an_oversized_body_gets_413_and_the_server_keeps_serving() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("huge");
    // Valid CSV just over the default MAX_UPLOAD_BYTES (101 MiB: a 100 MiB file plus framing).
    let line = "123456,some text that fills the line up,42.5\n";
    let mut body = String::from("id,text,value\n");
    while body.len() <= 101 * 1024 * 1024 {
        body.push_str(line);
    }
    let a = post_bytes(
        &stack,
        &create_path(&company, &email),
        &stack.service_role_key,
        "text/csv",
        body.into_bytes(),
        None,
    )
    .await;
    assert_error(&a, 413, "payload_too_large");
    assert_eq!(clients_with_email(&stack, &email).await, 0);
    assert_eq!(get(&stack, "/health", "").await.status, 200);
}

/// `rows` rows `{id, amount}` numbered from `first`, as CSV with a header.
fn amounts_csv(first: usize, rows: usize) -> Vec<u8> {
    let header = ["id".to_owned(), "amount".to_owned()];
    let rows = (first..first + rows).map(|i| [i.to_string(), (i % 97).to_string()]);
    csv_bytes(std::iter::once(header).chain(rows))
}

/// Sends the headers of a `text/csv` POST announcing `announced` bytes and only `sent` of the
/// body, then hangs up: a browser tab closed mid-upload.
fn abandon_upload(stack: &Stack, path: &str, token: &str, key: &str, body: &[u8], sent: usize) {
    use std::io::Write;
    let authority = stack
        .worker_url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut socket = std::net::TcpStream::connect(authority).expect("connect to the Worker");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).expect("send headers");
    socket
        .write_all(&body[..sent])
        .expect("send part of the body");
    socket.flush().expect("flush");
    socket.shutdown(std::net::Shutdown::Both).expect("hang up");
}

/// Sends `request()` again while the answer is 409 `idempotency_in_progress` (another request
/// with the same Idempotency-Key is still in flight), as a client honouring that answer would:
/// a short pause between tries, for at most a minute (the database restarts an upload idle for
/// 30 s). Returns the first other answer.
async fn retry_while_in_progress<F, Fut>(mut request: F) -> Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let reply = request().await;
        let in_progress = reply.status == 409 && reply.body["code"] == "idempotency_in_progress";
        if !in_progress {
            return reply;
        }
        assert_eq!(reply.retry_after.as_deref(), Some("30"), "{:?}", reply.body);
        assert!(
            std::time::Instant::now() < deadline,
            "still in progress after a minute: {:?}",
            reply.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn an_abandoned_upload_shows_nothing_and_its_retry_stores_once() {
    let stack = Stack::connect().await;
    let (id, token, table) = client_with_amounts(&stack, "abandon").await;
    let path = format!("/api/data/{id}?table={table}");
    let key = unique("key");
    // 20,000 rows: several batches are staged before the connection drops half-way.
    let body = amounts_csv(3, 20_000);
    abandon_upload(&stack, &path, &token, &key, &body, body.len() / 2);
    assert_eq!(
        count(&stack, &id, None).await,
        2,
        "rows of an abandoned upload are visible"
    );

    // The retry with the same key restarts the upload: every row once. The Worker may still be
    // processing the abandoned request; until it has aborted that upload the retry is told so.
    let retry = retry_while_in_progress(|| {
        post_bytes(&stack, &path, &token, "text/csv", body.clone(), Some(&key))
    })
    .await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.body["rows_stored"], 20_000);
    assert_eq!(count(&stack, &id, None).await, 20_002);
    assert_eq!(pending_staged_rows_for_client(&stack, &id).await, 0);
    let ids: Vec<u64> = read_rows(&stack, &id, Some(&table))
        .await
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect();
    assert_eq!(
        ids,
        (1..=20_002).collect::<Vec<u64>>(),
        "rows lost, doubled or reordered"
    );
}

/// A `text/csv` POST on a raw connection: the headers and the first half of `body` go at once,
/// the rest when `resume` receives. The task answers the response's status and JSON body.
fn upload_in_two_halves(
    stack: &Stack,
    path: &str,
    token: &str,
    key: &str,
    body: Vec<u8>,
    resume: std::sync::mpsc::Receiver<()>,
) -> tokio::task::JoinHandle<(u16, Value)> {
    use std::io::{Read, Write};
    let authority = stack
        .worker_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(&authority).expect("connect to the Worker");
        let half = body.len() / 2;
        socket.write_all(head.as_bytes()).expect("send headers");
        socket
            .write_all(&body[..half])
            .expect("send the first half");
        socket.flush().expect("flush");
        resume.recv().expect("the test says when to go on");
        socket
            .write_all(&body[half..])
            .expect("send the second half");
        let mut answer = Vec::new();
        socket.read_to_end(&mut answer).expect("read the answer");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {answer:?}"));
        // The JSON body, whatever the framing (content-length or chunked).
        let json = match (answer.find("\r\n\r\n{"), answer.rfind('}')) {
            (Some(start), Some(end)) if start + 4 <= end => &answer[start + 4..=end],
            _ => panic!("no JSON body in {answer:?}"),
        };
        (status, serde_json::from_str(json).expect("a JSON answer"))
    })
}

#[tokio::test]
async fn two_requests_with_one_key_in_flight_store_once() {
    let stack = Stack::connect().await;
    let (id, token, table) = client_with_amounts(&stack, "inflight").await;
    let path = format!("/api/data/{id}?table={table}");
    let key = unique("key");
    let body = amounts_csv(3, 20_000);
    let (resume, resumed) = std::sync::mpsc::channel();
    let first = upload_in_two_halves(&stack, &path, &token, &key, body.clone(), resumed);

    // Readiness: the first request has begun its upload and staged rows.
    let db = stack.db().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let staged: i64 = db
            .query_one(
                "select coalesce(sum(rows_staged), 0)::bigint from staging.uploads \
                 where client_id::text = $1 and idempotency_key = $2 and status = 'pending'",
                &[&id, &key],
            )
            .await
            .expect("query staging")
            .get(0);
        if staged > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first upload staged nothing in 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let staged_before = pending_staged_rows_for_client(&stack, &id).await;

    // The second request with the key is told to wait, and takes nothing from the first.
    let second = post_bytes(&stack, &path, &token, "text/csv", body.clone(), Some(&key)).await;
    assert_error(&second, 409, "idempotency_in_progress");
    assert_eq!(second.retry_after.as_deref(), Some("30"));
    assert!(
        pending_staged_rows_for_client(&stack, &id).await >= staged_before,
        "the refused request discarded the first one's staged rows"
    );

    resume.send(()).expect("the first upload is waiting");
    let (status, answer) = first.await.expect("the first upload's task");
    assert_eq!(status, 200, "{answer:?}");
    assert_eq!(answer["rows_stored"], 20_000);

    // Retried once the first has finished, the second replays its answer.
    let again = retry_while_in_progress(|| {
        post_bytes(&stack, &path, &token, "text/csv", body.clone(), Some(&key))
    })
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(again.body["rows_stored"], 20_000);
    assert_eq!(count(&stack, &id, None).await, 20_002, "stored once");
    assert_eq!(pending_staged_rows_for_client(&stack, &id).await, 0);
}

#[tokio::test]
async fn deleting_a_client_removes_it_and_its_rows() {
    let stack = Stack::connect().await;
    let (id, token, _) = client_with_amounts(&stack, "delete").await;
    let http = stack.http();
    let url = format!("{}/api/superadmin/clients/{id}", stack.worker_url);
    let by_client = send(http.delete(&url).bearer_auth(&token)).await;
    assert_error(&by_client, 403, "forbidden");
    let deleted = send(http.delete(&url).bearer_auth(&stack.service_role_key)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let gone = get(
        &stack,
        &format!("/api/data/{id}/count"),
        &stack.service_role_key,
    )
    .await;
    assert_error(&gone, 404, "client_not_found");
    let again = send(http.delete(&url).bearer_auth(&stack.service_role_key)).await;
    assert_error(&again, 404, "client_not_found");
    let db = stack.db().await;
    let left: i64 = db
        .query_one(
            "select count(*) from public.client_data where client_id::text = $1",
            &[&id],
        )
        .await
        .expect("query client_data")
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_retried_two_sheet_create_with_an_idempotency_key_replays_every_sheet() {
    let stack = Stack::connect().await;
    let (company, email) = new_identity("workbook-retry");
    let key = unique("workbook-key");
    let path = create_path(&company, &email);
    let create = || {
        post_bytes(
            &stack,
            &path,
            &stack.service_role_key,
            XLSX_TYPE,
            two_sheet_workbook(),
            Some(&key),
        )
    };
    let first = create().await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_ne!(first.replayed.as_deref(), Some("true"));
    let retry = create().await;
    assert_eq!(
        retry.status, 201,
        "the retry names the same sheet tables and replays: {:?}",
        retry.body
    );
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    let id = client_id(&first.body);
    assert_eq!(client_id(&retry.body), id);
    let names = |a: &Value| -> Vec<Value> {
        a["tables"]
            .as_array()
            .map(|ts| ts.iter().map(|t| t["table_name"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(&retry.body), names(&first.body));
    assert_eq!(names(&first.body).len(), 2, "{:?}", first.body);
    assert_eq!(count(&stack, &id, None).await, 4, "both sheets stored once");
    assert_eq!(clients_with_email(&stack, &email).await, 1);
}

// ---------------------------------------------------------------- data_type (issue 12)

/// The issue's examples through the API: the stored `data_type`, the table name and the
/// `data_type_points` of the stored schema; German `ja`/`nein` stored as booleans.
#[tokio::test]
async fn data_type_is_named_from_headers_and_values_with_its_points() {
    let stack = Stack::connect().await;
    let cases = [
        (
            "Customer ID,Name,Email,Website,Sign-up Date\n\
             1,Ana Silva,ana@acme.example,https://acme.example,2024-01-05\n\
             2,Bruno Novak,bruno@globex.example,https://globex.example,2024-02-11\n",
            "crm",
        ),
        (
            "SKU,Product Name,Stock Level,Warehouse,Reorder Point\n\
             MUG-101,Mug,120,North,20\nCAP-202,Cap,0,South,15\nBAG-303,Bag,48,North,10\n",
            "inventory",
        ),
        (
            "Kundennr;Firma;E-Mail;Newsletter;Registriert am\n\
             1;Acme;a@acme.example;ja;05.01.2024\n2;Globex;b@globex.example;nein;11.02.2024\n",
            "crm",
        ),
    ];
    for (csv, kind) in cases {
        let s = create_raw(&stack, "text/csv", csv.as_bytes()).await;
        assert_eq!(s.entry["data_type"], kind, "{csv}");
        let table = s.answer["table_name"].as_str().unwrap_or_default();
        assert!(table.ends_with(&format!("_{kind}")), "{table}");
        let points = &s.schema()["data_type_points"];
        assert_eq!(points[0]["kind"], kind, "{points}");
        assert!(
            points[0]["reasons"].as_array().map_or(0, Vec::len) >= 3,
            "{points}"
        );
        assert_eq!(s.answer["schema"]["data_type_points"], *points);
    }
    let s = create_raw(&stack, "text/csv", cases[2].0.as_bytes()).await;
    assert_eq!(s.rows[0]["newsletter"], json!(true));
    assert_eq!(s.rows[1]["newsletter"], json!(false));
    assert_eq!(column(s.schema(), "newsletter")["type"], "boolean");
}

/// The whole labelled corpus through `POST /api/inspect`: the Worker's answer is the native
/// one for every table, and at least nine in ten are named right.
#[tokio::test]
async fn the_labelled_data_type_corpus_through_inspect() {
    let stack = Stack::connect().await;
    let corpus = ingest_testdata::data_type_corpus();
    let mut right = 0;
    for case in &corpus {
        let a = post_bytes(
            &stack,
            "/api/inspect?filename=t.csv",
            &stack.service_role_key,
            "text/csv",
            case.csv.clone().into_bytes(),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}: {:?}", case.name, a.body);
        let t = &a.body["tables"][0];
        let native = ingest::ingest(case.csv.as_bytes(), &ingest::IngestOptions::new())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let n = &native.tables[0];
        assert_eq!(t["data_type"], n.data_type.as_str(), "{}", case.name);
        assert_eq!(
            t["data_type_points"],
            json!(n.data_type_points),
            "{}",
            case.name
        );
        right += usize::from(n.data_type == case.expected);
    }
    println!("data_type through /api/inspect: {right}/{}", corpus.len());
    assert!(right * 10 >= corpus.len() * 9, "{right}/{}", corpus.len());
}
