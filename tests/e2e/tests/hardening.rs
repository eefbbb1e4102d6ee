//! Hardening (issue 9): bad input must cost its sender a 4xx and nothing more. After each
//! hostile upload the next request of another tenant is answered at once; bodies are capped by
//! route before they are parsed; NUL bytes are a 400 naming the field; every answer carries
//! `nosniff` and tenant data `no-store`.
//!
//! The probes run through the real Worker in `wrangler dev`, whose proxy is what turned an
//! unread body into a 503 for the *next* request (see src/body.rs), so a regression shows here
//! as a failed or slow follow-up request, not as a flaky upload.

// Each test binary uses only some of the shared helpers.
#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{unique, Stack};
use serde_json::{json, Value};

const PASSWORD: &str = "hardening passphrase 9";

/// How long a follow-up request may take. A healthy answer takes milliseconds; the failure
/// this guards against took ~93 s or failed at once with a 503.
const PROMPT: Duration = Duration::from_secs(5);

/// An answer with the headers these tests look at; the body as JSON (a string when it is not).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request to the Worker failed");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("reading the body");
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

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
        "an error needs a message: {reply:?}"
    );
}

/// A tenant: its client id, a login token, and the rows it was created with.
struct Tenant {
    id: String,
    token: String,
    rows: Vec<Value>,
}

async fn tenant(stack: &Stack, tag: &str) -> Tenant {
    let email = format!("{}@example.com", unique(tag));
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"sku": format!("{tag}-{i}"), "qty": i}))
        .collect();
    let created = stack
        .create_client(&json!({
            "company_name": unique(&format!("{tag} Ltd")),
            "email": email,
            "password": PASSWORD,
            "data_type": "stock",
            "data": rows,
        }))
        .await;
    let id = created["client"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let token = stack.login(&email, PASSWORD).await;
    Tenant { id, token, rows }
}

/// The other tenant reads its rows: 200, its own three rows, promptly.
async fn assert_reads_promptly(stack: &Stack, reader: &Tenant, after: &str) {
    let started = Instant::now();
    let page = send(
        http()
            .get(format!(
                "{}/api/data/{}?limit=10",
                stack.worker_url, reader.id
            ))
            .bearer_auth(&reader.token),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(page.status, 200, "read after {after}: {page:?}");
    let mut got: Vec<Value> = common::rows(&page.body);
    got.sort_by_key(|r| r["sku"].as_str().unwrap_or_default().to_owned());
    assert_eq!(got, reader.rows, "read after {after}");
    assert!(took < PROMPT, "the read after {after} took {took:?}");
}

/// A multipart body from raw parts (each already `headers\r\n\r\nvalue`).
fn multipart_raw(boundary: &str, parts: &[Vec<u8>], close: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend(format!("--{boundary}\r\n").into_bytes());
        body.extend_from_slice(part);
        body.extend(b"\r\n");
    }
    if close {
        body.extend(format!("--{boundary}--\r\n").into_bytes());
    }
    body
}

fn file_part(content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "Content-Disposition: form-data; name=\"file\"; filename=\"data\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(bytes);
    part
}

/// A CSV with `rows` rows of `columns` columns.
fn wide_csv(columns: usize, rows: usize) -> Vec<u8> {
    let header: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
    let mut text = header.join(",");
    text.push('\n');
    let line = vec!["1"; columns].join(",");
    for _ in 0..rows {
        text.push_str(&line);
        text.push('\n');
    }
    text.into_bytes()
}

/// Bytes that look like a PNG: the signature, an IHDR chunk, then noise.
fn png_like(len: usize) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02".to_vec();
    let mut x: u32 = 0x9e37_79b9;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x & 0xff) as u8);
    }
    bytes
}

/// One hostile upload: a name, its content type and body, and the answer it must get.
struct Probe {
    name: &'static str,
    content_type: String,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn probes() -> Vec<Probe> {
    let boundary = "hardening-boundary-1f2e";
    let multipart = format!("multipart/form-data; boundary={boundary}");
    let csv = |name, body, status, code| Probe {
        name,
        content_type: "text/csv".into(),
        body,
        status,
        code,
    };
    let mut huge_header = b"Content-Disposition: form-data; name=\"file\"; filename=\"".to_vec();
    huge_header.extend(vec![b'h'; 64 * 1024]);
    huge_header.extend(b"\"\r\nContent-Type: text/csv\r\n\r\nid\n1\n");
    let mut big_field = b"Content-Disposition: form-data; name=\"table_name\"\r\n\r\n".to_vec();
    big_field.extend(vec![b'f'; 1024 * 1024]);
    vec![
        csv(
            "1 MB of blank lines",
            vec![b'\n'; 1_000_000],
            422,
            "empty_file",
        ),
        Probe {
            name: "a 64 KiB multipart part header",
            content_type: multipart.clone(),
            body: multipart_raw(
                boundary,
                &[huge_header, file_part("text/csv", b"id\n1\n")],
                true,
            ),
            status: 400,
            code: "invalid_body",
        },
        Probe {
            name: "a 1 MiB form field",
            content_type: multipart.clone(),
            body: multipart_raw(
                boundary,
                &[big_field, file_part("text/csv", b"id\n1\n")],
                true,
            ),
            status: 400,
            code: "invalid_body",
        },
        csv(
            "10,000 columns",
            wide_csv(10_000, 100),
            422,
            "too_many_columns",
        ),
        csv(
            "a PNG sent as CSV",
            png_like(2 * 1024 * 1024),
            422,
            "unsupported_format",
        ),
        csv("an empty file", Vec::new(), 422, "empty_file"),
    ]
}

#[tokio::test]
async fn after_each_rejected_upload_the_next_request_of_another_tenant_is_answered_promptly() {
    let stack = Stack::connect().await;
    let (uploader, reader) = (
        tenant(&stack, "uploader").await,
        tenant(&stack, "reader").await,
    );
    let probes = probes();
    // Several rounds: the failure was intermittent (8 of 11 probes), so one pass proves little.
    for round in 1..=3 {
        for probe in &probes {
            let after = format!("{} (round {round})", probe.name);
            let rejected = send(
                http()
                    .post(format!("{}/api/data/{}", stack.worker_url, uploader.id))
                    .bearer_auth(&uploader.token)
                    .header("content-type", &probe.content_type)
                    .body(probe.body.clone()),
            )
            .await;
            assert_error(&rejected, probe.status, probe.code);
            assert_reads_promptly(&stack, &reader, &after).await;
        }
    }
    // The uploader's own table is as it was: nothing of the rejected uploads was stored.
    let own = send(
        http()
            .get(format!(
                "{}/api/data/{}/count",
                stack.worker_url, uploader.id
            ))
            .bearer_auth(&uploader.token),
    )
    .await;
    assert_eq!(
        (own.status, own.body["count"].as_u64()),
        (200, Some(3)),
        "{own:?}"
    );
}

#[tokio::test]
async fn a_login_body_over_16_kib_is_refused_as_it_arrives() {
    let stack = Stack::connect().await;
    let padding = "x".repeat(32 * 1024);
    let big = json!({"email": "a@example.com", "password": "pw", "padding": padding}).to_string();
    // Declared length over the cap: 413 before a byte is read.
    let declared = send(
        http()
            .post(format!("{}/api/auth/login", stack.worker_url))
            .header("content-type", "application/json")
            .body(big.clone()),
    )
    .await;
    assert_error(&declared, 413, "payload_too_large");
    assert!(
        declared.body["message"].as_str().unwrap().contains("16384"),
        "the message names the limit: {declared:?}"
    );
    // Streamed without a length (chunked): refused as the bytes pass the cap.
    let mut chunked = String::from(
        "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
    );
    for piece in big.as_bytes().chunks(4096) {
        chunked.push_str(&format!(
            "{:x}\r\n{}\r\n",
            piece.len(),
            String::from_utf8_lossy(piece)
        ));
    }
    chunked.push_str("0\r\n\r\n");
    let streamed = raw_request(&stack, &chunked);
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    assert!(streamed.contains("payload_too_large"), "{streamed}");
    let health = send(http().get(format!("{}/health", stack.worker_url))).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn a_declared_length_over_the_upload_limit_is_refused_before_the_body() {
    let stack = Stack::connect().await;
    let owner = tenant(&stack, "declared").await;
    // Only the headers and a few bytes are sent: the answer must come without the rest.
    let answer = raw_request(
        &stack,
        &format!(
            "POST /api/data/{} HTTP/1.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: text/csv\r\nContent-Length: 999999999999\r\n\r\nid\n1\n",
            owner.id, owner.token
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
}

/// A `Content-Length` that is not a number never reaches the Worker under `wrangler dev`:
/// workerd's HTTP parser refuses it ("invalid Content-Length header value") and answers a
/// plain-text 500 itself; Cloudflare's edge answers 400. (The Worker's own check, 400
/// `invalid_body`, is unit-tested in src/body.rs for a runtime that passes one through.) What
/// must hold here: the bad request is answered at once, and nobody else is affected.
#[tokio::test]
async fn a_non_numeric_content_length_is_answered_at_once_and_breaks_nothing() {
    let stack = Stack::connect().await;
    let reader = tenant(&stack, "after-bad-length").await;
    for _ in 0..3 {
        let started = Instant::now();
        let answer = raw_request(
            &stack,
            "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: lots\r\n\r\n{}",
        );
        let status: u16 = answer
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {answer}"));
        assert!(matches!(status, 400 | 500), "{answer}");
        assert!(
            started.elapsed() < PROMPT,
            "answered after {:?}",
            started.elapsed()
        );
        assert_reads_promptly(&stack, &reader, "a non-numeric Content-Length").await;
    }
}

/// Sends `head` (a request line and headers, with `Host` and `Connection: close` added) and
/// what follows it as is; returns the whole answer as text. For requests reqwest will not send.
fn raw_request(stack: &Stack, request: &str) -> String {
    use std::io::{Read, Write};
    let authority = stack.worker_url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(authority).expect("connect to the Worker");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    let (line, rest) = request.split_once("\r\n").expect("a request line");
    let text = format!("{line}\r\nHost: {authority}\r\nConnection: close\r\n{rest}");
    socket.write_all(text.as_bytes()).expect("send the request");
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn nul_bytes_in_query_parameters_and_the_login_email_are_400s_naming_the_field() {
    let stack = Stack::connect().await;
    let owner = tenant(&stack, "nul").await;
    for query in ["name=%00", "table=%00", "%00=1", "sku=eq.a%00b"] {
        let a = send(
            http()
                .get(format!(
                    "{}/api/data/{}?{query}",
                    stack.worker_url, owner.id
                ))
                .bearer_auth(&owner.token),
        )
        .await;
        assert_error(&a, 400, "invalid_parameter");
        let message = a.body["message"].as_str().unwrap();
        let name = query.split('=').next().unwrap().replace("%00", "\\0");
        assert!(message.contains(&format!("`{name}`")), "{query}: {message}");
    }
    let login = stack
        .post(
            "/api/auth/login",
            None,
            &json!({"email": "a\u{0}@example.com", "password": "pw"}),
        )
        .await;
    assert_eq!(login.status, 400, "{:?}", login.body);
    assert_eq!(login.body["code"], "invalid_body");
    assert_eq!(login.body["details"]["field"], "email");
}

#[tokio::test]
async fn every_answer_is_nosniff_and_tenant_answers_are_no_store() {
    let stack = Stack::connect().await;
    let owner = tenant(&stack, "headers").await;
    let get = |path: String, token: Option<String>| {
        let mut r = http().get(format!("{}{path}", stack.worker_url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        send(r)
    };
    let token = Some(owner.token.clone());
    let private = [
        (
            "data",
            get(format!("/api/data/{}", owner.id), token.clone()).await,
        ),
        (
            "count",
            get(format!("/api/data/{}/count", owner.id), token.clone()).await,
        ),
        (
            "schema",
            get(format!("/api/data/{}/schema", owner.id), token.clone()).await,
        ),
        (
            "export",
            get(format!("/api/data/{}/export", owner.id), token.clone()).await,
        ),
        (
            "an error",
            get(format!("/api/data/{}", owner.id), None).await,
        ),
    ];
    for (what, a) in &private {
        assert!(a.status == 200 || what == &"an error", "{what}: {a:?}");
        assert_eq!(a.header("cache-control"), Some("no-store"), "{what}: {a:?}");
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
    let login = send(
        http()
            .post(format!("{}/api/auth/login", stack.worker_url))
            .json(&json!({"email": "nobody@example.com", "password": "wrong"})),
    )
    .await;
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_eq!(login.header("x-content-type-options"), Some("nosniff"));
    let openapi = get("/api/openapi.json".into(), None).await;
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.header("x-content-type-options"), Some("nosniff"));
}

// ---- Memory: an adversarial corpus, each input refused with a 4xx naming its limit ----

/// The wasm memory one isolate may reach: half the production isolate limit (128 MiB), since
/// wasm memory never shrinks and every later request in the isolate carries it.
const WASM_MEMORY_BUDGET: u64 = 64 * 1024 * 1024;
/// How long a hostile input may take to be refused.
const REFUSED_WITHIN: Duration = Duration::from_secs(15);
/// How long a file may take to be refused at its 2,000,001st record: the two million before it
/// are valid, so they are parsed and staged (then aborted) as they arrive — 30.6 s measured for
/// 20 MB of `{"a":0}` under `cargo xtask test` on the 2-core machine. Bounded by the row limit,
/// not by the file: a longer file is refused at the same record.
const ROW_LIMIT_WITHIN: Duration = Duration::from_secs(90);

/// An XLSX whose parts are those of a one-cell workbook, with `part` replaced by `content`.
fn xlsx_with(part: &str, content: Vec<u8>) -> Vec<u8> {
    ingest_testdata::zip(&xlsx_parts_with(part, content))
}

/// The parts of [`xlsx_with`] before zipping.
fn xlsx_parts_with(part: &str, content: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let cells = vec![
        vec![ingest_testdata::XlsxCell::Text("name".into())],
        vec![ingest_testdata::XlsxCell::Text("x".into())],
    ];
    let mut parts = ingest_testdata::xlsx_parts(&[("Sheet1", cells)]);
    let slot = parts
        .iter_mut()
        .find(|(name, _)| name == part)
        .unwrap_or_else(|| panic!("no part {part}"));
    slot.1 = content;
    parts
}

/// `zip` with the uncompressed size of entry `name` rewritten to `size` in its local header and
/// its central directory entry: a zip bomb that lies about what it inflates to.
fn declare_size(mut zip: Vec<u8>, name: &str, size: u32) -> Vec<u8> {
    let u16_at = |z: &[u8], i: usize| u16::from_le_bytes([z[i], z[i + 1]]) as usize;
    let mut i = 0;
    while i + 46 <= zip.len() {
        let (size_at, name_at) = match &zip[i..i + 4] {
            b"PK\x03\x04" => (i + 22, i + 30),
            b"PK\x01\x02" => (i + 24, i + 46),
            _ => {
                i += 1;
                continue;
            }
        };
        let len = u16_at(&zip, if name_at == i + 30 { i + 26 } else { i + 28 });
        if zip.get(name_at..name_at + len) == Some(name.as_bytes()) {
            zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 4;
    }
    zip
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const SHEET: &str = "xl/worksheets/sheet1.xml";
const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SST_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// One hostile input: its body, content type, and what the refusal must say.
struct Hostile {
    name: &'static str,
    content_type: String,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    /// A word of the message that names the limit.
    names: &'static str,
}

fn hostile_corpus() -> Vec<Hostile> {
    let hostile = |name, content_type: &str, body, status, code, names| Hostile {
        name,
        content_type: content_type.to_owned(),
        body,
        status,
        code,
        names,
    };
    // A sheet of 200 MB of whitespace: about 200 KB deflated; once honest, once declaring 4 KB.
    let mut bomb = SHEET_HEAD.as_bytes().to_vec();
    bomb.resize(bomb.len() + 200 * 1024 * 1024, b' ');
    bomb.extend(b"</sheetData></worksheet>");
    let bomb = xlsx_with(SHEET, bomb);
    // 60 MB of sheet XML, declared as it is: refused by the unpack budget before inflating.
    let mut sixty = SHEET_HEAD.as_bytes().to_vec();
    sixty.resize(sixty.len() + 60 * 1000 * 1000, b' ');
    sixty.extend(b"</sheetData></worksheet>");
    let honest_60mb = xlsx_with(SHEET, sixty);
    let lying = declare_size(bomb.clone(), SHEET, 4096);
    let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>"#;
    // 100 MB of shared strings (the same one, so the file stays small).
    let mut sst = br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#.to_vec();
    let one = format!("<si><t>{}</t></si>", "s".repeat(100));
    while sst.len() < 100 * 1024 * 1024 {
        sst.extend(one.as_bytes());
    }
    sst.extend(b"</sst>");
    let mut big_cell = b"id,notes\n1,\"".to_vec();
    big_cell.resize(big_cell.len() + 40 * 1024 * 1024, b'x');
    big_cell.extend(b"\"\n");
    let mut deep = vec![b'['; 100_000];
    deep.extend(vec![b']'; 100_000]);
    let mut zeros = b"[".to_vec();
    while zeros.len() < 20 * 1024 * 1024 {
        zeros.extend(b"{\"a\":0},");
    }
    zeros.extend(b"{\"a\":0}]");
    let boundary = "unclosed-boundary-77";
    let mut unclosed = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nid,name\n"
    )
    .into_bytes();
    for i in 0..100_000 {
        unclosed.extend(format!("{i},name {i}\n").into_bytes());
    }
    vec![
        hostile(
            "NDJSON with a 40 MB line",
            "application/x-ndjson",
            {
                let mut b = b"{\"a\":1}\n{\"a\":2}\n{\"a\":\"".to_vec();
                b.resize(40 * 1024 * 1024, b'x');
                b
            },
            422,
            "cell_too_large",
            "1048576",
        ),
        hostile(
            "XLSX zip bomb (200 MB sheet in ~200 KB)",
            XLSX_TYPE,
            bomb.clone(),
            413,
            "payload_too_large",
            "unpacks to more than",
        ),
        hostile(
            "XLSX zip bomb declaring 4 KB",
            XLSX_TYPE,
            lying,
            413,
            "payload_too_large",
            "its zip entry declares",
        ),
        hostile(
            "XLSX entity expansion (DTD)",
            XLSX_TYPE,
            xlsx_with(SHEET, lol.as_bytes().to_vec()),
            422,
            "invalid_xlsx",
            "DTD",
        ),
        hostile(
            "XLSX 100 MB sharedStrings",
            XLSX_TYPE,
            xlsx_with("xl/sharedStrings.xml", sst),
            413,
            "payload_too_large",
            "unpacks to more than",
        ),
        hostile(
            "CSV of 10,000 columns",
            "text/csv",
            wide_csv(10_000, 50),
            422,
            "too_many_columns",
            "512",
        ),
        hostile(
            "CSV with a 40 MB cell",
            "text/csv",
            big_cell,
            422,
            "cell_too_large",
            "65536",
        ),
        hostile(
            "JSON nested 100,000 deep",
            "application/json",
            deep,
            422,
            "invalid_json",
            "JSON",
        ),
        // 2.6 million records: streamed, and refused at record 2,000,001.
        hostile(
            "JSON array of 20 MB of tiny records",
            "application/json",
            zeros,
            422,
            "too_many_rows",
            "2000000",
        ),
        hostile(
            "JSON array with a 40 MB string",
            "application/json",
            {
                let mut b = b"[{\"a\":1},{\"a\":\"".to_vec();
                b.resize(40 * 1024 * 1024, b'x');
                b.extend(b"\"}]");
                b
            },
            422,
            "cell_too_large",
            "1048576",
        ),
        hostile(
            "JSON array (streamed) with an element nested 100,000 deep",
            "application/json",
            {
                // 18 records of 60 KiB take it past the whole-file hold, so it streams.
                let mut b = b"[".to_vec();
                for _ in 0..18 {
                    b.extend(format!("{{\"a\":\"{}\"}},", "p".repeat(60 * 1024)).into_bytes());
                }
                b.extend(b"{\"a\":");
                b.extend(vec![b'['; 100_000]);
                b.extend(vec![b']'; 100_000]);
                b.extend(b"}]");
                b
            },
            422,
            "invalid_json",
            "recursion limit",
        ),
        hostile(
            "XLSX with 1.5 million shared strings",
            XLSX_TYPE,
            {
                let mut sst = SST_HEAD.as_bytes().to_vec();
                for _ in 0..1_500_000 {
                    sst.extend(b"<si/>");
                }
                sst.extend(b"</sst>");
                xlsx_with("xl/sharedStrings.xml", sst)
            },
            413,
            "payload_too_large",
            "1000000 strings",
        ),
        hostile(
            "XLSX: one 60 KB shared string in 1,000 cells",
            XLSX_TYPE,
            {
                let sst = format!(
                    "{SST_HEAD}<si><t>name</t></si><si><t>{}</t></si></sst>",
                    "s".repeat(60 * 1024)
                );
                let mut sheet = SHEET_HEAD.as_bytes().to_vec();
                sheet.extend(br#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#);
                for r in 2..1002 {
                    sheet.extend(format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>1</v></c></row>"#).into_bytes());
                }
                sheet.extend(b"</sheetData></worksheet>");
                let mut parts = xlsx_parts_with(SHEET, sheet);
                for (name, data) in parts.iter_mut() {
                    if name == "xl/sharedStrings.xml" {
                        *data = sst.clone().into_bytes();
                    }
                }
                ingest_testdata::zip(&parts)
            },
            413,
            "payload_too_large",
            "cells take more than",
        ),
        hostile(
            "a million empty lines",
            "text/csv",
            vec![b'\n'; 1_000_000],
            422,
            "empty_file",
            "empty",
        ),
        hostile(
            "multipart without a closing boundary",
            &format!("multipart/form-data; boundary={boundary}"),
            unclosed,
            400,
            "invalid_body",
            "closing delimiter",
        ),
        hostile(
            "XLSX declaring 60 MB unpacked (honest)",
            XLSX_TYPE,
            honest_60mb,
            413,
            "payload_too_large",
            "unpacks to more than",
        ),
        // Last, as they are parsed whole before the one bad cell at their end is found: the
        // peak a file at the whole-file limit costs (wasm memory never shrinks afterwards).
        hostile(
            "JSON at the whole-file limit, 1-key rows, bad last cell",
            "application/json",
            json_at_limit(r#"{"a":0}"#),
            422,
            "cell_too_large",
            "65536",
        ),
        hostile(
            "JSON at the whole-file limit, 6-key rows, bad last cell",
            "application/json",
            json_at_limit(
                r#"{"id":12345,"name":"some customer name","email":"someone@example.com","amount":1234.56,"city":"Zurich","ok":true}"#,
            ),
            422,
            "cell_too_large",
            "65536",
        ),
        hostile(
            "XLSX at the whole-file limit, bad last cell",
            XLSX_TYPE,
            xlsx_at_limit(),
            422,
            "cell_too_large",
            "65536",
        ),
    ]
}

/// The Worker's limit for a file parsed whole (`WHOLE_FILE_BYTES` in src/api/uploads/mod.rs).
const WHOLE_FILE_BYTES: usize = 1024 * 1024;

/// A JSON array of `row` repeated up to just under the whole-file limit, ending in a row whose
/// cell is over the cell limit (so it is refused only once everything was parsed).
fn json_at_limit(row: &str) -> Vec<u8> {
    let last = format!(r#"{{"a":"{}"}}]"#, "z".repeat(70 * 1024));
    let mut body = b"[".to_vec();
    while body.len() + row.len() + 1 + last.len() < WHOLE_FILE_BYTES - 64 {
        body.extend(row.as_bytes());
        body.push(b',');
    }
    body.extend(last.as_bytes());
    body
}

/// A workbook just under the whole-file limit (distinct values, as real sheets have), ending in
/// a row with a cell over the cell limit.
fn xlsx_at_limit() -> Vec<u8> {
    xlsx_near_limit(true)
}

/// A workbook of 4-column rows just under the whole-file limit; with `bad_last`, its last row is
/// one cell over the cell limit. Its row count is the file's rows (with a header row first).
fn xlsx_near_limit(bad_last: bool) -> Vec<u8> {
    use ingest_testdata::XlsxCell;
    let row = |i: usize| {
        vec![
            XlsxCell::Number(i as f64),
            XlsxCell::Text(format!("customer {i}")),
            XlsxCell::Number((i % 997) as f64 * 1.25),
            XlsxCell::Text(["Zurich", "Basel", "Bern"][i % 3].into()),
        ]
    };
    let build = |rows: usize| {
        let mut sheet: Vec<Vec<XlsxCell>> = vec![["id", "customer", "amount", "city"]
            .iter()
            .map(|h| XlsxCell::Text(h.to_string()))
            .collect()];
        sheet.extend((0..rows).map(row));
        if bad_last {
            sheet.push(vec![XlsxCell::Text("z".repeat(70 * 1024))]);
        }
        ingest_testdata::xlsx(&[("Sheet1", sheet)])
    };
    let target = WHOLE_FILE_BYTES - 64 * 1024;
    let mut rows = 20_000 * target / build(20_000).len();
    let mut file = build(rows);
    while file.len() > target {
        rows = rows * 95 / 100;
        file = build(rows);
    }
    file
}

#[tokio::test]
async fn every_hostile_input_is_refused_in_seconds_naming_its_limit_within_the_memory_budget() {
    let stack = Stack::connect().await;
    let (attacker, reader) = (
        tenant(&stack, "attacker").await,
        tenant(&stack, "bystander").await,
    );
    let mut table = String::from(
        "| input | body bytes | answer | refused in | wasm memory after |\n|---|---:|---|---:|---:|\n",
    );
    for input in hostile_corpus() {
        let started = Instant::now();
        let refused = send(
            http()
                .post(format!("{}/api/data/{}", stack.worker_url, attacker.id))
                .bearer_auth(&attacker.token)
                .header("content-type", &input.content_type)
                .body(input.body.clone()),
        )
        .await;
        let took = started.elapsed();
        let memory: u64 = refused
            .header("x-wasm-memory-bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{}: no X-Wasm-Memory-Bytes (the test stack sets DEBUG_MEMORY=1): {refused:?}",
                    input.name
                )
            });
        table.push_str(&format!(
            "| {} | {} | {} {} | {:.2} s | {:.1} MiB |\n",
            input.name,
            input.body.len(),
            refused.status,
            refused.body["code"].as_str().unwrap_or("?"),
            took.as_secs_f64(),
            memory as f64 / 1048576.0
        ));
        // Written before the assertions, so a failing run still leaves the measurements.
        let _ = std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-memory.md"),
            &table,
        );
        assert_error(&refused, input.status, input.code);
        let message = refused.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(input.names),
            "{}: the message names the limit ({:?}): {message}",
            input.name,
            input.names
        );
        let within = if input.code == "too_many_rows" {
            ROW_LIMIT_WITHIN
        } else {
            REFUSED_WITHIN
        };
        assert!(took < within, "{}: refused after {took:?}", input.name);
        assert!(
            memory <= WASM_MEMORY_BUDGET,
            "{}: wasm memory {memory} bytes is over the budget of {WASM_MEMORY_BUDGET}\n{table}",
            input.name
        );
        assert_reads_promptly(&stack, &reader, input.name).await;
    }
    eprintln!("{table}");
}

// ---- Login throttling ----

/// A login attempt from `address` (as Cloudflare's CF-Connecting-IP; `wrangler dev` passes a
/// client's own through, the edge sets it).
async fn login_from(stack: &Stack, address: &str, email: &str, password: &str) -> Reply {
    send(
        http()
            .post(format!("{}/api/auth/login", stack.worker_url))
            .header("cf-connecting-ip", address)
            .json(&json!({"email": email, "password": password})),
    )
    .await
}

/// An address of TEST-NET-2 unique to this call.
fn test_address() -> String {
    let n = unique("a")
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    format!("198.51.{}.{}", n % 250, (n / 250) % 250 + 1)
}

/// Sends attempts from `address` (emails from `email`) until one is 429; returns how many were
/// 401 before it. The limiter counts in fixed windows of 60 s, so a run that straddles a window
/// boundary may be let through up to twice the limit: never fewer than the limit, never more
/// than twice it.
async fn attempts_before_429(
    stack: &Stack,
    limit: usize,
    address: impl Fn(usize) -> String,
    email: impl Fn(usize) -> String,
) -> usize {
    for n in 0..=2 * limit {
        let a = login_from(stack, &address(n), &email(n), "wrong password").await;
        if a.status == 429 {
            assert_error(&a, 429, "rate_limited");
            assert_eq!(a.header("retry-after"), Some("60"), "{a:?}");
            assert_eq!(a.header("cache-control"), Some("no-store"));
            assert!(n >= limit, "refused after only {n} attempts");
            return n;
        }
        assert_error(&a, 401, "invalid_credentials");
        assert!(a.header("retry-after").is_none(), "{a:?}");
    }
    panic!("{} attempts were never refused", 2 * limit + 1);
}

#[tokio::test]
async fn five_attempts_a_minute_per_email_known_or_not_then_429_with_retry_after() {
    let stack = Stack::connect().await;
    let known = format!("{}@example.com", unique("throttled"));
    stack
        .create_client(
            &json!({"company_name": unique("Throttled Ltd"), "email": known,
                               "password": PASSWORD, "data": [{"a": 1}]}),
        )
        .await;
    let unknown = format!("{}@example.com", unique("nobody"));
    for email in [&known, &unknown] {
        // Each attempt from another address, the email written otherwise every other time:
        // the email alone is what is counted.
        attempts_before_429(
            &stack,
            5,
            |_| test_address(),
            |n| {
                if n % 2 == 0 {
                    email.to_string()
                } else {
                    email.to_uppercase()
                }
            },
        )
        .await;
        // Once refused, even the right password is refused (before it is looked at).
        let right = login_from(&stack, &test_address(), email, PASSWORD).await;
        assert_error(&right, 429, "rate_limited");
    }
}

#[tokio::test]
async fn sixty_attempts_a_minute_per_address_then_429() {
    let stack = Stack::connect().await;
    let address = test_address();
    attempts_before_429(
        &stack,
        60,
        |_| address.clone(),
        |_| format!("{}@example.com", unique("spray")),
    )
    .await;
    // Another address is not held back.
    let other = login_from(&stack, &test_address(), "fresh@example.com", "guess").await;
    assert_error(&other, 401, "invalid_credentials");
}

// ---- Idempotency-Key reused with another request ----

async fn count(stack: &Stack, owner: &Tenant) -> u64 {
    let a = send(
        http()
            .get(format!("{}/api/data/{}/count", stack.worker_url, owner.id))
            .bearer_auth(&owner.token),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    a.body["count"].as_u64().expect("a count")
}

async fn append(
    stack: &Stack,
    owner: &Tenant,
    content_type: &str,
    body: Vec<u8>,
    key: &str,
) -> Reply {
    send(
        http()
            .post(format!("{}/api/data/{}", stack.worker_url, owner.id))
            .bearer_auth(&owner.token)
            .header("content-type", content_type)
            .header("idempotency-key", key)
            .body(body),
    )
    .await
}

fn csv_part(boundary: &str, csv: &[u8]) -> (String, Vec<u8>) {
    (
        format!("multipart/form-data; boundary={boundary}"),
        multipart_raw(boundary, &[file_part("text/csv", csv)], true),
    )
}

#[tokio::test]
async fn a_reused_idempotency_key_replays_the_same_request_and_refuses_another_with_422() {
    let stack = Stack::connect().await;
    let owner = tenant(&stack, "idem").await;
    let key = unique("idem-key");
    let csv = b"sku,qty\nidem-1,1\nidem-2,2\n".to_vec();
    let (content_type, body) = csv_part("first-boundary", &csv);
    let first = append(&stack, &owner, &content_type, body, &key).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["rows_stored"], 2);
    // The same file, framed by another multipart boundary (as a client library retries).
    let (content_type, body) = csv_part("retry-boundary", &csv);
    let retry = append(&stack, &owner, &content_type, body, &key).await;
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body["rows_stored"], 2);
    // Another file under the same key: refused, and nothing of it stored.
    let (content_type, body) = csv_part("retry-boundary", b"sku,qty\nidem-3,3\n");
    let reused = append(&stack, &owner, &content_type, body, &key).await;
    assert_error(&reused, 422, "idempotency_key_reused");
    assert_eq!(
        count(&stack, &owner).await,
        3 + 2,
        "the tenant's 3 rows and the first append's 2"
    );
}

// ---- Cost of a large accepted upload (the figures behind `[limits] cpu_ms`) ----

/// A 20 MB CSV streams in flat memory, and its time (an upper bound of its CPU time: it also
/// waits for the database) is what `[limits] cpu_ms` in wrangler.toml is set from.
#[tokio::test]
async fn a_20_mb_csv_streams_within_the_memory_budget_and_its_time_is_recorded() {
    let stack = Stack::connect().await;
    let csv = ingest_testdata::messy_csv(170_000, 9);
    let email = format!("{}@example.com", unique("large"));
    let started = Instant::now();
    let created = send(
        http()
            .post(format!(
                "{}/api/superadmin/clients?company_name={}&email={email}",
                stack.worker_url,
                unique("Large")
            ))
            .bearer_auth(&stack.service_role_key)
            .header("content-type", "text/csv")
            .body(csv.clone()),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(created.status, 201, "{:?}", created.body["message"]);
    assert_eq!(created.body["rows_stored"], 170_000);
    let memory: u64 = created
        .header("x-wasm-memory-bytes")
        .and_then(|v| v.parse().ok())
        .expect("X-Wasm-Memory-Bytes");
    let mb = csv.len() as f64 / 1e6;
    let line = format!(
        "20 MB CSV create: {mb:.1} MB, 170000 rows, {:.1} s ({:.2} s/MB), wasm memory after {:.1} MiB\n",
        took.as_secs_f64(),
        took.as_secs_f64() / mb,
        memory as f64 / 1048576.0
    );
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-large-upload.txt"),
        &line,
    );
    eprintln!("{line}");
    assert!(memory <= WASM_MEMORY_BUDGET, "{line}");
}

/// Creates a client from `body` (over the whole-file limit, so it streams) and checks it was
/// stored completely, with the column types the native whole-file reader gives the same bytes,
/// in flat wasm memory; records the figures in `target/tmp/hardening-{tag}-upload.txt`.
async fn streams_completely(
    stack: &Stack,
    tag: &str,
    content_type: &str,
    format: &str,
    body: Vec<u8>,
    rows: u64,
) {
    let email = format!("{}@example.com", unique(tag));
    let started = Instant::now();
    let created = send(
        http()
            .post(format!(
                "{}/api/superadmin/clients?company_name={}&email={email}",
                stack.worker_url,
                unique(tag)
            ))
            .bearer_auth(&stack.service_role_key)
            .header("content-type", content_type)
            .body(body.clone()),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(created.status, 201, "{:?}", created.body["message"]);
    assert_eq!(created.body["rows_stored"], rows);
    assert_eq!(created.body["row_count"], rows);
    assert_eq!(created.body["schema"]["format"], format);
    let whole = ingest::ingest(
        &body,
        &ingest::IngestOptions::new().with_hint(content_type),
    )
    .expect("the native whole-file read");
    let types = |columns: &Value| -> Vec<(String, String)> {
        columns
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap_or("?").to_owned(),
                    c["type"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect()
    };
    let native = ingest::schema_def(&whole.tables[0]);
    assert_eq!(
        types(&created.body["schema"]["columns"]),
        types(&native["columns"])
    );
    assert_eq!(created.body["schema"]["row_count"], native["row_count"]);
    let client = created.body["client"]["client_id"]
        .as_str()
        .expect("client_id");
    let counted = send(
        http()
            .get(format!("{}/api/data/{client}/count", stack.worker_url))
            .bearer_auth(&stack.service_role_key),
    )
    .await;
    assert_eq!(counted.body["count"].as_u64(), Some(rows), "{counted:?}");
    let memory: u64 = created
        .header("x-wasm-memory-bytes")
        .and_then(|v| v.parse().ok())
        .expect("X-Wasm-Memory-Bytes");
    let line = format!(
        "20 MB {format} create: {:.1} MB, {rows} rows, {:.1} s, wasm memory after {:.1} MiB\n",
        body.len() as f64 / 1e6,
        took.as_secs_f64(),
        memory as f64 / 1048576.0
    );
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hardening-{tag}-upload.txt")),
        &line,
    );
    eprintln!("{line}");
    assert!(memory <= WASM_MEMORY_BUDGET, "{line}");
}

/// About `bytes` of varied records, one JSON object each (the rows of the streaming tests and
/// of the cost table), and how many there are.
fn records(bytes: usize) -> (Vec<String>, u64) {
    let mut out = Vec::new();
    let (mut len, mut rows) = (0, 0u64);
    while len < bytes {
        let r = format!(
            "{{\"id\":{rows},\"name\":\"customer {rows}\",\"amount\":{}.{:02},\"day\":\"2024-{:02}-{:02}\",\"active\":{},\"tags\":[\"t{}\"],\"note\":\"null\"}}",
            rows % 9973,
            rows % 100,
            rows % 12 + 1,
            rows % 28 + 1,
            rows % 3 == 0,
            rows % 7
        );
        len += r.len() + 1;
        out.push(r);
        rows += 1;
    }
    (out, rows)
}

fn ndjson_of(records: &[String]) -> Vec<u8> {
    let mut b = records.join("\n").into_bytes();
    b.push(b'\n');
    b
}

fn json_array_of(records: &[String]) -> Vec<u8> {
    format!("[{}]", records.join(",\n")).into_bytes()
}

/// NDJSON over the whole-file limit streams like CSV: a 20 MB file is stored completely, with
/// the column types the whole-file reader gives the same bytes, in flat wasm memory.
#[tokio::test]
async fn a_20_mb_ndjson_streams_completely_within_the_memory_budget() {
    let stack = Stack::connect().await;
    let (records, rows) = records(20_000_000);
    let body = ndjson_of(&records);
    streams_completely(&stack, "ndjson", "application/x-ndjson", "ndjson", body, rows).await;
}

/// A top-level JSON array streams element by element the same way (issue 9: it was capped at
/// 1 MiB and parsed whole).
#[tokio::test]
async fn a_20_mb_json_array_streams_completely_within_the_memory_budget() {
    let stack = Stack::connect().await;
    let (records, rows) = records(20_000_000);
    let body = json_array_of(&records);
    streams_completely(&stack, "json-array", "application/json", "json", body, rows).await;
}

// ---- Sheet names that clean to one table name ----

#[tokio::test]
async fn sheets_whose_names_clean_alike_are_stored_in_tables_of_their_own() {
    use ingest_testdata::XlsxCell;
    let stack = Stack::connect().await;
    let sheet = |n: usize, tag: &str| -> Vec<Vec<XlsxCell>> {
        let mut rows = vec![vec![XlsxCell::Text("sku".into()), XlsxCell::Text("qty".into())]];
        rows.extend((0..n).map(|i| vec![XlsxCell::Text(format!("{tag}-{i}")), XlsxCell::Number(i as f64)]));
        rows
    };
    let book = ingest_testdata::xlsx(&[("Sales Q1", sheet(2, "a")), ("Sales-Q1", sheet(3, "b"))]);
    let created = send(
        http()
            .post(format!(
                "{}/api/superadmin/clients?company_name={}&email={}@example.com",
                stack.worker_url,
                unique("Sheets"),
                unique("sheets")
            ))
            .bearer_auth(&stack.service_role_key)
            .header("content-type", XLSX_TYPE)
            .body(book),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let tables = created.body["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 2, "{tables:?}");
    let first = tables[0]["table_name"].as_str().unwrap();
    let second = tables[1]["table_name"].as_str().unwrap();
    assert!(first.ends_with("_sales_q1"), "{first}");
    assert_eq!(second, format!("{first}_2"));
    assert_eq!(tables[1]["issues"][0]["code"], "table_renamed", "{:?}", tables[1]);
    assert_eq!(tables[1]["issue_counts"]["table_renamed"], 1);
    assert!(tables[1]["issues"][0]["message"].as_str().unwrap().contains("Sales-Q1"));
    let client = created.body["client"]["client_id"].as_str().unwrap();
    for (table, rows) in [(first, 2), (second, 3)] {
        let counted = send(
            http()
                .get(format!("{}/api/data/{client}/count?table={table}", stack.worker_url))
                .bearer_auth(&stack.service_role_key),
        )
        .await;
        assert_eq!(counted.body["count"].as_u64(), Some(rows), "{table}: {counted:?}");
    }
}

// ---- What each format costs per MB (the figures behind the README's limits table) ----

/// Creates a client from each format's file and records the Worker's time per MB in
/// `target/tmp/hardening-cost.md`. Wall time in `wrangler dev` is an upper bound of the
/// Worker's CPU time: it includes the data API's and PostgreSQL's time for every batch.
#[tokio::test]
async fn the_time_per_mb_of_each_format_is_recorded() {
    let stack = Stack::connect().await;
    let (recs, _) = records(4_000_000);
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("CSV", "text/csv", ingest_testdata::messy_csv(34_000, 5)),
        ("NDJSON", "application/x-ndjson", ndjson_of(&recs)),
        ("JSON array", "application/json", json_array_of(&recs)),
        ("XLSX (whole-file limit)", XLSX_TYPE, xlsx_near_limit(false)),
    ];
    let mut table = String::from(
        "| format | file bytes | rows | wall time | s per MB | wasm memory after |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (name, content_type, body) in files {
        let started = Instant::now();
        let created = send(
            http()
                .post(format!(
                    "{}/api/superadmin/clients?company_name={}&email={}@example.com",
                    stack.worker_url,
                    unique("Cost"),
                    unique("cost")
                ))
                .bearer_auth(&stack.service_role_key)
                .header("content-type", content_type)
                .body(body.clone()),
        )
        .await;
        let took = started.elapsed().as_secs_f64();
        assert_eq!(created.status, 201, "{name}: {:?}", created.body["message"]);
        let memory: u64 = created
            .header("x-wasm-memory-bytes")
            .and_then(|v| v.parse().ok())
            .expect("X-Wasm-Memory-Bytes");
        let mb = body.len() as f64 / 1e6;
        table.push_str(&format!(
            "| {name} | {} | {} | {took:.2} s | {:.2} | {:.1} MiB |\n",
            body.len(),
            created.body["rows_stored"],
            took / mb,
            memory as f64 / 1048576.0
        ));
        let _ = std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-cost.md"),
            &table,
        );
        assert!(memory <= WASM_MEMORY_BUDGET, "{name}\n{table}");
    }
    eprintln!("{table}");
}
