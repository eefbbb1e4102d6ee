//! `GET /api/data/{client_id}/export` end to end: NDJSON and CSV carry exactly what the data route
//! returns, the cursor walk covers more than one database page, and isolation and auth hold.

use std::time::Instant;

use e2e::{rows, unique, Stack};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A download as the client sees it: status, the two headers that matter, the raw body.
struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    body: String,
}

async fn download(stack: &Stack, path: &str, token: Option<&str>) -> Download {
    let mut request = stack.http().get(format!("{}{path}", stack.worker_url));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.expect("request to the Worker failed");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: the body did not arrive whole: {e}"));
    Download {
        status,
        content_type,
        disposition,
        body,
    }
}

/// Creates a client with `data`; returns (client id, table name, login token).
async fn client_with(stack: &Stack, tag: &str, data: Vec<Value>) -> (String, String, String) {
    let email = format!("{}@example.com", unique(tag));
    let created = stack
        .create_client(&json!({
            "company_name": unique(&format!("{tag} Inc")),
            "email": email,
            "password": PASSWORD,
            "data": data,
        }))
        .await;
    let id = created["client"]["client_id"].as_str().expect("client_id");
    let table = created["table_name"].as_str().expect("table_name");
    let token = stack.login(&email, PASSWORD).await;
    (id.to_owned(), table.to_owned(), token)
}

fn ndjson(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect()
}

/// The export read by the csv crate (independent of the Worker's writer), checking RFC 4180's
/// CRLF after every record.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.unwrap_or_else(|e| panic!("not CSV ({e}): {text:?}"));
        // A bare LF or CR outside quotes would start a record that no CRLF precedes. (After a
        // CRLF the csv crate places the next record at the LF, which it skips as an empty line.)
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let (before, after) = text.as_bytes().split_at(start);
        assert!(
            start == 0
                || before.ends_with(b"\r\n")
                || (before.ends_with(b"\r") && after.starts_with(b"\n")),
            "the record at byte {start} does not follow a CRLF in {text:?}"
        );
        records.push(record.iter().map(str::to_owned).collect());
    }
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "no CRLF after the last record"
    );
    records
}

/// How the export writes one JSON value into a CSV field.
fn csv_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[tokio::test]
async fn ndjson_and_csv_carry_exactly_what_the_data_route_returns() {
    let stack = Stack::connect().await;
    let tricky = "Smith, \"J\"\nJr";
    let (id, table, token) = client_with(
        &stack,
        "export",
        vec![
            json!({"name": tricky, "qty": 1, "note": null, "meta": {"tags": ["a", "b,c"], "x": 1}, "paid": true}),
            json!({"name": "plain", "qty": 2, "note": "second", "meta": {"tags": [], "x": 2}, "paid": false}),
            json!({"name": "third", "qty": 3, "note": "", "meta": {"tags": ["z"], "x": 3}, "paid": true}),
        ],
    )
    .await;
    let page = stack
        .get(&format!("/api/data/{id}?limit=1000"), Some(&token))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let stored = rows(&page.body);
    assert_eq!(stored.len(), 3);

    let nd = download(&stack, &format!("/api/data/{id}/export"), Some(&token)).await;
    assert_eq!(nd.status, 200, "{}", nd.body);
    assert_eq!(nd.content_type, "application/x-ndjson");
    assert_eq!(
        nd.disposition,
        format!("attachment; filename=\"{id}.ndjson\"")
    );
    assert_eq!(
        ndjson(&nd.body),
        stored,
        "NDJSON differs from the data route"
    );
    assert!(stored
        .iter()
        .any(|r| r["name"] == tricky && r["note"].is_null()));

    let filtered = download(
        &stack,
        &format!("/api/data/{id}/export?name=plain"),
        Some(&token),
    )
    .await;
    let expected: Vec<Value> = stored
        .iter()
        .filter(|r| r["name"] == "plain")
        .cloned()
        .collect();
    assert_eq!(ndjson(&filtered.body), expected);

    let csv = download(
        &stack,
        &format!("/api/data/{id}/export?format=csv&table={table}"),
        Some(&token),
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        csv.disposition,
        format!("attachment; filename=\"{table}.csv\"")
    );
    let records = parse_csv(&csv.body);
    let schema = stack
        .get(&format!("/api/data/{id}/schema"), Some(&token))
        .await;
    let mut columns: Vec<(u64, String)> = schema.body["tables"][0]["schema_def"]["columns"]
        .as_array()
        .expect("schema columns")
        .iter()
        .map(|c| {
            (
                c["position"].as_u64().unwrap(),
                c["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    columns.sort();
    let header: Vec<String> = columns.into_iter().map(|(_, k)| k).collect();
    assert_eq!(records[0], header, "CSV header is the schema's columns");
    let expected: Vec<Vec<String>> = stored
        .iter()
        .map(|r| header.iter().map(|k| csv_text(r.get(k))).collect())
        .collect();
    assert_eq!(
        &records[1..],
        &expected[..],
        "CSV differs from the data route"
    );
    let name = header
        .iter()
        .position(|k| k == "name")
        .expect("name column");
    assert!(records[1..].iter().any(|r| r[name] == tricky));
}

#[tokio::test]
async fn an_export_walks_every_page() {
    let stack = Stack::connect().await;
    let n = 2_500;
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"n": i, "label": format!("row {i}")}))
        .collect();
    let (id, table, token) = client_with(&stack, "export-big", data).await;

    let started = Instant::now();
    let nd = download(&stack, &format!("/api/data/{id}/export"), Some(&token)).await;
    let elapsed = started.elapsed();
    assert_eq!(nd.status, 200, "{}", nd.body);
    let lines = ndjson(&nd.body);
    // File order (issue 10; was newest first): every row once, as uploaded.
    let got: Vec<i64> = lines.iter().map(|r| r["n"].as_i64().expect("n")).collect();
    let want: Vec<i64> = (0..n).collect();
    assert_eq!(got, want);
    eprintln!(
        "NDJSON export of {n} rows: {elapsed:?}, {} bytes",
        nd.body.len()
    );

    let started = Instant::now();
    let csv = download(
        &stack,
        &format!("/api/data/{id}/export?format=csv&table={table}"),
        Some(&token),
    )
    .await;
    eprintln!("CSV export of {n} rows: {:?}", started.elapsed());
    let records = parse_csv(&csv.body);
    assert_eq!(records.len(), n as usize + 1);
    let col = records[0].iter().position(|k| k == "n").expect("n column");
    assert_eq!(records[1][col], "0");
    assert_eq!(records[n as usize][col], (n - 1).to_string());
}

#[tokio::test]
async fn export_refuses_strangers_and_bad_requests() {
    let stack = Stack::connect().await;
    let (a_id, a_table, a_token) =
        client_with(&stack, "export-a", vec![json!({"secret": "of a"})]).await;
    let (_, _, b_token) = client_with(&stack, "export-b", vec![json!({"secret": "of b"})]).await;

    // Another tenant's id answers as an unknown one would: 404, no rows.
    for query in [String::new(), format!("?format=csv&table={a_table}")] {
        let other = download(
            &stack,
            &format!("/api/data/{a_id}/export{query}"),
            Some(&b_token),
        )
        .await;
        assert_eq!(other.status, 404, "{query}: {}", other.body);
        let body: Value = serde_json::from_str(&other.body).expect("a JSON error");
        assert_eq!(body["code"], "client_not_found");
        assert!(!other.body.contains("of a"), "{}", other.body);
    }

    let anonymous = download(&stack, &format!("/api/data/{a_id}/export"), None).await;
    assert_eq!(anonymous.status, 401);
    assert!(!anonymous.body.contains("of a"));

    // With one table, CSV needs no `table` (issue 10; was a 400): the database resolves it.
    let csv = download(
        &stack,
        &format!("/api/data/{a_id}/export?format=csv"),
        Some(&a_token),
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.body, "secret\r\nof a\r\n");
    assert_eq!(
        csv.disposition,
        format!("attachment; filename=\"{a_table}.csv\"")
    );

    // The read side's codes now (issue 10; bad format and unknown table were invalid_argument).
    for (query, code, mentions) in [
        ("?format=xml", "invalid_parameter", "format"),
        (
            "?format=csv&table=client_nothere_data",
            "unknown_table",
            "client_nothere_data",
        ),
        ("?limit=5", "invalid_parameter", "limit"),
        ("?cursor=eyJpZCI6MX0", "invalid_parameter", "cursor"),
        ("?secrt=x", "unknown_field", "secrt"),
    ] {
        let bad = download(
            &stack,
            &format!("/api/data/{a_id}/export{query}"),
            Some(&a_token),
        )
        .await;
        assert_eq!(bad.status, 400, "{query}: {}", bad.body);
        let body: Value = serde_json::from_str(&bad.body).expect("a JSON error");
        assert_eq!(body["code"], code, "{query}");
        assert!(
            body["message"].as_str().unwrap_or("").contains(mentions),
            "{query}: {body}"
        );
    }
}

/// The reader itself: RFC 4180 quoting comes back as written, and a record not ended by CRLF
/// is caught (else the export's line ends would go unchecked).
#[test]
fn parse_csv_reads_quotes_and_refuses_other_line_ends() {
    assert_eq!(
        parse_csv("a,\"b,\"\"c\"\"\nd\"\r\n1,2\r\n"),
        vec![vec!["a", "b,\"c\"\nd"], vec!["1", "2"]]
    );
    for bad in ["a,b\n1,2\r\n", "a,b\r1,2\r\n", "a,b\r\n1,2"] {
        assert!(
            std::panic::catch_unwind(|| parse_csv(bad)).is_err(),
            "{bad:?} was accepted"
        );
    }
}
