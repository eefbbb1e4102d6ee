//! The file back as written, end to end: each file of the formatted corpus (US, German `;` with
//! CRLF, times and month names, every written digit) is uploaded through the Worker, stored
//! typed, and `GET …/export?format=csv&as=source` answers the uploaded bytes; `/schema` shows
//! each column's `x-source-format`; appends, filters and paging keep it. A workbook comes back
//! as its cells' number formats showed it.

use e2e::{multipart, unique, Stack};
use ingest_testdata::{formatted_corpus, formatted_workbook};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

struct Client {
    id: String,
    token: String,
}

async fn upload(
    stack: &Stack,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> Value {
    // A zip is a workbook; everything else goes up as CSV (the server sniffs either way).
    let part = if file.starts_with(b"PK\x03\x04") {
        (
            "data.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file,
        )
    } else {
        ("data.csv", "text/csv", file)
    };
    let (content_type, body) = multipart(fields, Some(part));
    let response = stack
        .http()
        .post(format!("{}{path}", stack.worker_url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload request");
    let status = response.status().as_u16();
    let answer: Value = response.json().await.expect("a JSON answer");
    assert!(status == 201 || status == 200, "{status}: {answer}");
    answer
}

async fn client_from(stack: &Stack, tag: &str, file: &[u8]) -> Client {
    let email = format!("{}@example.com", unique(tag));
    let company = unique(&format!("{tag} Inc"));
    let created = upload(
        stack,
        "/api/superadmin/clients",
        &stack.service_role_key,
        &[
            ("company_name", &company),
            ("email", &email),
            ("password", PASSWORD),
        ],
        file,
    )
    .await;
    Client {
        id: created["client"]["client_id"].as_str().unwrap().to_owned(),
        token: stack.login(&email, PASSWORD).await,
    }
}

/// `GET /api/data/{id}/export?{query}`: (status, content type, body bytes).
async fn export(stack: &Stack, c: &Client, query: &str) -> (u16, String, Vec<u8>) {
    let response = stack
        .http()
        .get(format!(
            "{}/api/data/{}/export?{query}",
            stack.worker_url, c.id
        ))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("export request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.bytes().await.expect("the whole body").to_vec();
    (status, content_type, body)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[tokio::test]
async fn every_formatted_file_comes_back_as_uploaded() {
    let stack = Stack::connect().await;
    for file in formatted_corpus() {
        let c = client_from(&stack, "roundtrip", &file.bytes).await;
        let (status, content_type, body) = export(&stack, &c, "format=csv&as=source").await;
        assert_eq!(status, 200, "{}: {}", file.name, text(&body));
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        assert_eq!(text(&body), text(&file.bytes), "{}", file.name);
        // The plain export is unchanged: stored keys, typed values, CRLF.
        let (_, _, plain) = export(&stack, &c, "format=csv").await;
        assert_ne!(plain, file.bytes, "{}", file.name);
    }
}

#[tokio::test]
async fn an_xlsx_comes_back_as_excel_showed_it() {
    // Bare numbers and serials in the file; the cells' number formats say how they looked.
    let stack = Stack::connect().await;
    let book = formatted_workbook();
    let c = client_from(&stack, "roundtrip-xlsx", &book.bytes).await;
    let (status, _, body) = export(&stack, &c, "format=csv&as=source").await;
    assert_eq!(status, 200, "{}", text(&body));
    assert_eq!(text(&body), book.shown);
    let a = stack
        .get(&format!("/api/data/{}/schema", c.id), Some(&c.token))
        .await;
    let props = &a.body["tables"][0]["json_schema"]["properties"];
    assert_eq!(
        props["price"]["x-source-format"],
        json!({"currency": "$", "thousands": ",", "decimals": 2, "checked": 2, "misses": 0})
    );
    assert_eq!(props["sold_on"]["x-source-format"]["pattern"], "%-m/%-d/%Y");
    assert_eq!(props["pickup"]["x-source-format"]["pattern"], "%-I:%M %p");
}

#[tokio::test]
async fn the_schema_shows_each_columns_source_format() {
    let stack = Stack::connect().await;
    let corpus = formatted_corpus();
    let c = client_from(&stack, "roundtrip-schema", &corpus[0].bytes).await;
    let a = stack
        .get(&format!("/api/data/{}/schema", c.id), Some(&c.token))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let props = &a.body["tables"][0]["json_schema"]["properties"];
    assert_eq!(
        props["amount"]["x-source-format"],
        json!({"currency": "$", "thousands": ",", "decimals": 2, "null": "NA", "checked": 4, "misses": 0})
    );
    assert_eq!(
        props["order_date"]["x-source-format"]["pattern"],
        "%m/%d/%Y"
    );
    assert_eq!(props["shipped"]["x-source-format"]["true"], "Yes");
    assert_eq!(props["pickup"]["x-source-format"]["pattern"], "%H:%M");
    let def = &a.body["tables"][0]["schema_def"];
    assert_eq!(
        def["columns"][1]["source_format"],
        props["amount"]["x-source-format"]
    );
}

#[tokio::test]
async fn appends_filters_and_many_pages_keep_the_source_form() {
    let stack = Stack::connect().await;
    // More rows than one database page (1000), streamed in batches on upload.
    let mut file = String::from("Order ID;Betrag;Datum;Bezahlt\r\n");
    for i in 0..2500u32 {
        file.push_str(&format!(
            "B-{i};{}.{:03},{:02} €;{:02}.{:02}.2019;{}\r\n",
            1 + i % 9,
            i % 1000,
            i % 100,
            1 + i % 28,
            1 + i % 12,
            if i % 3 == 0 { "ja" } else { "nein" }
        ));
    }
    let c = client_from(&stack, "roundtrip-pages", file.as_bytes()).await;
    let (status, _, body) = export(&stack, &c, "format=csv&as=source").await;
    assert_eq!(status, 200);
    assert_eq!(text(&body), file);
    // A filter keeps the layout: the header and the matching lines.
    let (status, _, body) = export(&stack, &c, "format=csv&as=source&order_id=B-7").await;
    assert_eq!(status, 200);
    assert_eq!(
        text(&body),
        "Order ID;Betrag;Datum;Bezahlt\r\nB-7;8.007,07 €;08.08.2019;nein\r\n"
    );
    // An append of the same layout comes back after the first upload's rows.
    let more = "Order ID;Betrag;Datum;Bezahlt\r\nC-1;-12,50 €;31.12.2019;ja\r\n";
    upload(
        &stack,
        &format!("/api/data/{}", c.id),
        &c.token,
        &[],
        more.as_bytes(),
    )
    .await;
    let (_, _, body) = export(&stack, &c, "format=csv&as=source").await;
    assert_eq!(text(&body), format!("{file}C-1;-12,50 €;31.12.2019;ja\r\n"));
}

#[tokio::test]
async fn as_source_is_refused_where_it_does_not_apply_and_isolation_holds() {
    let stack = Stack::connect().await;
    let corpus = formatted_corpus();
    let c = client_from(&stack, "roundtrip-refusals", &corpus[3].bytes).await;
    for (query, code) in [
        ("as=source", "invalid_parameter"),
        ("format=ndjson&as=source", "invalid_parameter"),
        ("format=csv&as=raw", "invalid_parameter"),
        ("format=csv&as=source&as=source", "duplicate_parameter"),
    ] {
        let (status, _, body) = export(&stack, &c, query).await;
        let answer: Value = serde_json::from_slice(&body).expect("a JSON error");
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{query}"
        );
    }
    // Another client's token: 404, never its rows.
    let other = client_from(&stack, "roundtrip-other", &corpus[3].bytes).await;
    let foreign = Client {
        id: c.id.clone(),
        token: other.token.clone(),
    };
    let (status, _, body) = export(&stack, &foreign, "format=csv&as=source").await;
    let answer: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("client_not_found"))
    );
}
