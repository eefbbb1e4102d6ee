//! The routes the web console needs (issue 11): login answers `role` and `client_id`, superadmin
//! accounts sign in with a password, the admin's client list pages and searches, and
//! `POST /api/inspect` previews a file with nothing written. Every route is also called with
//! another tenant's token, which is refused and learns nothing.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use e2e::{unique, Answer, Stack};
use ingest_testdata::XlsxCell;
use serde_json::{json, Value};

const PASSWORD: &str = "correct-horse-battery";

async fn new_client(stack: &Stack, tag: &str, rows: usize) -> (String, String) {
    let email = format!("{}@example.com", unique(tag));
    let data: Vec<Value> = (0..rows).map(|i| json!({"n": i, "tag": tag})).collect();
    let created = stack
        .create_client(&json!({
            "company_name": unique(&format!("{tag} Inc")),
            "email": email,
            "password": PASSWORD,
            "data_type": "sales",
            "data": data,
        }))
        .await;
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    (id, email)
}

/// A superadmin account made the way `cargo xtask admin create` makes it.
async fn new_admin(stack: &Stack) -> String {
    let email = format!("{}@admins.example", unique("root"));
    let salt = *b"e2e-console-salt";
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD.as_bytes(), &salt, 100_000, &mut hash);
    let phc = format!(
        "$pbkdf2-sha256$i=100000${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    );
    stack
        .db()
        .await
        .execute(
            "select public.create_admin_account($1, $2)",
            &[&email, &phc],
        )
        .await
        .expect("create_admin_account");
    email
}

async fn login_body(stack: &Stack, email: &str) -> Value {
    let a = stack
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

async fn raw_post(
    stack: &Stack,
    path: &str,
    token: Option<&str>,
    ct: &str,
    body: Vec<u8>,
) -> Answer {
    let mut r = stack
        .http()
        .post(format!("{}{path}", stack.worker_url))
        .header("content-type", ct)
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.expect("worker reachable");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    Answer {
        status,
        www_authenticate: None,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// Rows anywhere a write could land (stored, staged, or a schema's samples) that hold `marker`:
/// other tests create clients at the same time, so only this test's own values are counted.
async fn rows_holding(stack: &Stack, marker: &str) -> i64 {
    let db = stack.db().await;
    let pattern = format!("%{marker}%");
    let row = db
        .query_one(
            "select (select count(*) from public.client_data where data::text like $1)
                  + (select count(*) from staging.upload_rows where data::text like $1)
                  + (select count(*) from public.client_schemas where schema_def::text like $1)",
            &[&pattern],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test]
async fn a_client_login_says_role_and_client_id() {
    let stack = Stack::connect().await;
    let (id, email) = new_client(&stack, "login-role", 2).await;
    let body = login_body(&stack, &email).await;
    assert_eq!(body["role"], "client");
    assert_eq!(body["client_id"], id);
    let token = body["access_token"].as_str().unwrap();
    let page = stack.get(&format!("/api/data/{id}"), Some(token)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_admin_account_signs_in_as_superadmin_and_lists_clients() {
    let stack = Stack::connect().await;
    let (id, _) = new_client(&stack, "admin-sees", 3).await;
    let admin = new_admin(&stack).await;
    let body = login_body(&stack, &admin).await;
    assert_eq!(body["role"], "superadmin");
    assert_eq!(body["client_id"], Value::Null);
    let token = body["access_token"].as_str().unwrap();
    // The admin's token works where the service key did: reading any client, listing clients.
    let page = stack.get(&format!("/api/data/{id}"), Some(token)).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 3);
    let list = stack
        .get("/api/superadmin/clients?limit=500", Some(token))
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert!(list.body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["client_id"] == id));
    // A wrong password for an admin is the same 401 as for a client.
    let wrong = stack
        .post(
            "/api/auth/login",
            None,
            &json!({"email": admin, "password": "not-it"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn the_client_list_pages_searches_and_counts() {
    let stack = Stack::connect().await;
    let tag = unique("listed");
    let mut ids = Vec::new();
    for rows in [1, 2, 3] {
        let email = format!("{}@example.com", unique(&tag));
        let created = stack
            .create_client(&json!({
                "company_name": format!("{tag} {rows}"),
                "email": email,
                "data_type": "sales",
                "data": (0..rows).map(|i| json!({"i": i})).collect::<Vec<_>>(),
            }))
            .await;
        ids.push(created["client"]["client_id"].as_str().unwrap().to_owned());
    }
    let key = Some(stack.service_role_key.as_str());
    let all = stack
        .get(
            &format!("/api/superadmin/clients?search={}", tag.to_uppercase()),
            key,
        )
        .await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(all.body["total"], 3);
    let clients = all.body["clients"].as_array().unwrap();
    // Newest first: the last created comes first, with its 3 rows in one table.
    assert_eq!(clients[0]["client_id"], ids[2]);
    assert_eq!(clients[0]["row_count"], 3);
    assert_eq!(clients[0]["tables"].as_array().unwrap().len(), 1);
    assert!(clients[0]["last_upload_at"].is_string());
    assert!(clients[0].get("password_hash").is_none());
    let first = stack
        .get(
            &format!("/api/superadmin/clients?search={tag}&limit=2"),
            key,
        )
        .await;
    let second = stack
        .get(
            &format!("/api/superadmin/clients?search={tag}&limit=2&offset=2"),
            key,
        )
        .await;
    assert_eq!(first.body["clients"].as_array().unwrap().len(), 2);
    assert_eq!(second.body["clients"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["clients"][0]["client_id"], ids[0]);
    assert_eq!(second.body["total"], 3);
    let bad = stack.get("/api/superadmin/clients?limit=0", key).await;
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (400, Some("invalid_limit"))
    );
    let typo = stack.get("/api/superadmin/clients?serch=x", key).await;
    assert_eq!(
        (typo.status, typo.body["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn inspect_previews_a_csv_and_an_xlsx_and_writes_nothing() {
    let stack = Stack::connect().await;
    let key = Some(stack.service_role_key.as_str());
    let marker = unique("inspect");
    // Eleven amounts and one word: a number column with one value kept as text (line 3).
    let mut csv = String::from("Order ID,Amount,Customer Email,Order Date\n");
    for i in 1..=12 {
        let amount = if i == 2 {
            "oops".to_owned()
        } else {
            format!("{i}.5")
        };
        csv += &format!("{i},{amount},c{i}@{marker}.io,2024-01-{:02}\n", i + 10);
    }
    let csv = csv.into_bytes();
    let a = raw_post(
        &stack,
        "/api/inspect?filename=orders.csv",
        key,
        "text/csv",
        csv,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["format"], "delimited");
    let t = &a.body["tables"][0];
    assert_eq!(t["dialect"]["delimiter"], ",");
    assert_eq!(t["row_count"], 12);
    assert_eq!(t["data_type"], "ecommerce");
    assert!(!t["data_type_evidence"].as_array().unwrap().is_empty());
    assert_eq!(t["data_type_points"][0]["kind"], "ecommerce");
    assert!(t["data_type_points"][0]["reasons"][0]["reason"].is_string());
    let cols = t["columns"].as_array().unwrap();
    assert_eq!(cols[1]["type"], "mixed");
    assert_eq!(cols[2]["semantic_type"], "email");
    assert_eq!(cols[3]["type"], "date");
    assert_eq!(t["rows"][0]["amount"], json!(1.5));
    assert_eq!(t["rows"][1]["amount"], "oops");
    assert_eq!(t["issues"][0]["line"], 3);
    assert_eq!(t["issues"][0]["original"], "oops");

    let xlsx = ingest_testdata::xlsx(&[(
        "Stock",
        vec![
            vec![XlsxCell::Text("SKU".into()), XlsxCell::Text("Qty".into())],
            vec![
                XlsxCell::Text(format!("A-1-{marker}")),
                XlsxCell::Number(4.0),
            ],
        ],
    )]);
    let x = raw_post(
        &stack,
        "/api/inspect",
        key,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        xlsx,
    )
    .await;
    assert_eq!(x.status, 200, "{:?}", x.body);
    assert_eq!(x.body["format"], "xlsx");
    assert_eq!(x.body["tables"][0]["sheet"], "Stock");
    assert_eq!(x.body["tables"][0]["rows"][0]["qty"], json!(4));
    assert_eq!(
        x.body["tables"][0]["rows"][0]["sku"],
        format!("A-1-{marker}")
    );
    assert_eq!(
        rows_holding(&stack, &marker).await,
        0,
        "inspect stored nothing"
    );

    let empty = raw_post(&stack, "/api/inspect", key, "text/csv", b"\n".to_vec()).await;
    assert_eq!(
        (empty.status, empty.body["code"].as_str()),
        (422, Some("empty_file"))
    );
}

#[tokio::test]
async fn another_tenants_token_gets_nothing_from_the_console_routes() {
    let stack = Stack::connect().await;
    let (a_id, _) = new_client(&stack, "tenant-a", 2).await;
    let (_, b_email) = new_client(&stack, "tenant-b", 1).await;
    let b = stack.login(&b_email, PASSWORD).await;
    let list = stack.get("/api/superadmin/clients", Some(&b)).await;
    assert_eq!(
        (list.status, list.body["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert!(list.body.get("clients").is_none());
    let inspect = raw_post(
        &stack,
        "/api/inspect",
        Some(&b),
        "text/csv",
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(
        (inspect.status, inspect.body["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert!(inspect.body.get("tables").is_none());
    // What the console's data view calls, with B's token on A's id: 404, as for an unknown id.
    for path in [
        format!("/api/data/{a_id}/schema"),
        format!("/api/data/{a_id}"),
        format!("/api/data/{a_id}/count"),
    ] {
        let got = stack.get(&path, Some(&b)).await;
        assert_eq!(
            (got.status, got.body["code"].as_str()),
            (404, Some("client_not_found")),
            "{path}"
        );
    }
    let anonymous = stack.get("/api/superadmin/clients", None).await;
    assert_eq!(anonymous.status, 401);
    let anonymous = raw_post(&stack, "/api/inspect", None, "text/csv", b"a\n1\n".to_vec()).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_csp_and_the_api_stays_json() {
    let stack = Stack::connect().await;
    let res = reqwest::get(format!("{}/", stack.worker_url))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("/console.js"), "{html}");
    let js = reqwest::get(format!("{}/console.js", stack.worker_url))
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    let missing = stack.get("/api/nowhere", None).await;
    assert_eq!(missing.body["code"], "route_not_found");
    let unknown_page = stack.get("/no-such-page", None).await;
    assert_eq!(unknown_page.body["code"], "route_not_found");
}
