//! Values back exactly as written (issue 12), through the Worker in workerd, the data API and
//! PostgreSQL: every digit of a number (read through the API *and* as the text PostgreSQL's
//! jsonb holds), a filter by the written value, JSON strings that look like null tokens, JSON key
//! order, a duplicate JSON key reported, and an XLSX number as Excel shows it.

use e2e::{csv_bytes, enc, unique, Stack};
use ingest_testdata::{xlsx, XlsxCell};
use serde_json::Value;

/// `POST` a raw body to the create route; answers (status, body).
async fn create(stack: &Stack, content_type: &str, body: Vec<u8>) -> Value {
    let path = format!(
        "/api/superadmin/clients?company_name={}&email={}",
        enc(&unique("exact Ltd")),
        enc(&format!("{}@example.com", unique("exact")))
    );
    post(stack, &path, content_type, body, 201).await
}

async fn post(stack: &Stack, path: &str, content_type: &str, body: Vec<u8>, want: u16) -> Value {
    let response = stack
        .http()
        .post(format!("{}{path}", stack.worker_url))
        .bearer_auth(&stack.service_role_key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request to the Worker failed");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(status, want, "POST {path}: {text}");
    serde_json::from_str(&text).expect("a JSON answer")
}

/// The rows through the API, in upload order, optionally filtered (`&x=…`).
async fn rows(stack: &Stack, answer: &Value, filter: &str) -> Vec<Value> {
    let id = answer["client"]["client_id"].as_str().expect("client_id");
    let table = answer["table_name"].as_str().expect("table_name");
    let page = stack
        .get(
            &format!("/api/data/{id}?limit=1000&table={}{filter}", enc(table)),
            Some(&stack.service_role_key),
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let out: Vec<Value> = page.body["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|r| r["data"].clone())
        .collect();
    // The API answers in upload (file) order since issue 10; it was newest first.
    out
}

/// `data->key` as PostgreSQL prints it (jsonb's own text of the value), in upload order.
async fn stored_text(stack: &Stack, answer: &Value, key: &str) -> Vec<String> {
    let id = answer["client"]["client_id"].as_str().expect("client_id");
    let table = answer["table_name"].as_str().expect("table_name");
    let db = stack.db().await;
    db.query(
        "select (data -> $3)::text from public.client_data \
         where client_id = $1::text::uuid and table_name = $2 order by id",
        &[&id, &table, &key],
    )
    .await
    .expect("query client_data")
    .iter()
    .map(|r| r.get::<_, String>(0))
    .collect()
}

fn texts(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter().map(|r| r[key].to_string()).collect()
}

#[tokio::test]
async fn delimited_numbers_keep_every_digit_and_filter_by_the_written_value() {
    let stack = Stack::connect().await;
    let written = ["12.277999999999999", "8.3945900000000009", "0.5"];
    let csv = csv_bytes([
        ["id", "reading"],
        ["1", written[0]],
        ["2", written[1]],
        ["3", written[2]],
    ]);
    let a = create(&stack, "text/csv", csv).await;
    let got = rows(&stack, &a, "").await;
    assert_eq!(texts(&got, "reading"), written, "through the API");
    assert_eq!(
        stored_text(&stack, &a, "reading").await,
        written,
        "as PostgreSQL jsonb holds them"
    );
    let schema_type = a["schema"]["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["key"] == "reading"))
        .map(|c| c["type"].clone());
    assert_eq!(schema_type, Some(Value::from("number")));
    let found = rows(&stack, &a, "&reading=12.277999999999999").await;
    assert_eq!(
        texts(&found, "id"),
        ["1"],
        "a filter by the written value finds it"
    );
}

#[tokio::test]
async fn json_uploads_keep_digits_strings_key_order_and_report_duplicates() {
    let stack = Stack::connect().await;
    let body = br#"[{"zone": "NA", "big": 123456789012345678901234567890, "note": "", "price": 1, "price": 2},
                    {"zone": "EU", "big": 1, "note": "x", "price": 3}]"#;
    let a = create(&stack, "application/json", body.to_vec()).await;
    let got = rows(&stack, &a, "").await;
    assert_eq!(
        texts(&got, "zone"),
        [r#""NA""#, r#""EU""#],
        "NA is North America"
    );
    assert_eq!(
        texts(&got, "note"),
        [r#""""#, r#""x""#],
        "an empty string is a value"
    );
    assert_eq!(
        stored_text(&stack, &a, "big").await,
        ["123456789012345678901234567890", "1"]
    );
    assert_eq!(texts(&got, "big")[0], "123456789012345678901234567890");
    assert_eq!(texts(&got, "price"), ["2", "3"]);
    assert_eq!(a["issue_counts"]["duplicate_key"], 1, "{a}");
    let keys: Vec<&str> = a["schema"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert_eq!(keys, ["zone", "big", "note", "price"], "first-seen order");

    // The JSON form ({fields…, data: […]}) keeps the order and reports the duplicate too.
    let form =
        br#"{"company_name": "Form Ltd", "email": "FORM", "data": [{"b": 1, "a": 2, "a": 3}]}"#;
    let email = format!("{}@example.com", unique("exactform"));
    let form = String::from_utf8_lossy(form).replace("FORM", &email);
    let a = post(
        &stack,
        "/api/superadmin/clients",
        "application/json",
        form.into_bytes(),
        201,
    )
    .await;
    let keys: Vec<&str> = a["schema"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert_eq!(keys, ["b", "a"]);
    assert_eq!(a["issue_counts"]["duplicate_key"], 1, "{a}");
}

#[tokio::test]
async fn an_xlsx_number_is_the_number_excel_shows() {
    let stack = Stack::connect().await;
    let book = xlsx(&[(
        "Prices",
        vec![
            vec![
                XlsxCell::Text("item".into()),
                XlsxCell::Text("price".into()),
            ],
            vec![
                XlsxCell::Text("a".into()),
                XlsxCell::NumberText("78.54000000000001".into()),
            ],
            vec![XlsxCell::Text("b".into()), XlsxCell::Number(12.5)],
        ],
    )]);
    let a = create(
        &stack,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        book,
    )
    .await;
    assert_eq!(stored_text(&stack, &a, "price").await, ["78.54", "12.5"]);
    let price = a["schema"]["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["key"] == "price"))
        .cloned()
        .expect("price column");
    assert_eq!(price["type"], "number", "{price}");
}
