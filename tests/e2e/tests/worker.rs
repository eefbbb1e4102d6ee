//! The Worker's HTTP API end to end: create, log in, read, isolation, token rejection, params.

use e2e::{mint_hs256, now, rows, unique, unsigned, Stack};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A client with `n` rows `{n: i, region: north|south, tag}` and a password; returns
/// (create answer, email).
async fn new_client(stack: &Stack, tag: &str, n: usize, data_type: &str) -> (Value, String) {
    let email = format!("{}@example.com", unique(tag));
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"n": i, "region": if i % 2 == 0 { "north" } else { "south" }, "tag": tag}))
        .collect();
    let created = stack
        .create_client(&json!({
            "company_name": unique(&format!("{tag} Inc")),
            "email": email,
            "password": PASSWORD,
            "data_type": data_type,
            "data": data,
        }))
        .await;
    (created, email)
}

fn client_id(created: &Value) -> String {
    created["client"]["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no client_id in {created}"))
        .to_owned()
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let stack = Stack::connect().await;
    let health = stack.get("/health", None).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"status": "ok"}))
    );
    let doc = stack.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for path in [
        "/api/data/{client_id}",
        "/api/auth/login",
        "/api/superadmin/clients",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "{path} not documented"
        );
    }
    // A browser frontend on another origin may call the API (bearer tokens, no cookies).
    let preflight = stack
        .http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/data/x", stack.worker_url),
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers().get("access-control-allow-headers");
    assert!(allowed.is_some_and(|h| h.to_str().unwrap_or("").contains("authorization")));
    let missing = stack.get("/api/nowhere", None).await;
    assert_eq!(
        (missing.status, missing.body["code"].as_str()),
        (404, Some("route_not_found"))
    );
}

#[tokio::test]
async fn each_client_reads_exactly_its_own_rows() {
    let stack = Stack::connect().await;
    let (a, a_email) = new_client(&stack, "alpha", 3, "sales").await;
    let (b, b_email) = new_client(&stack, "beta", 2, "data").await;
    let (a_id, b_id) = (client_id(&a), client_id(&b));

    assert_eq!(a["rows_stored"], 3);
    assert!(
        a.get("rows_rejected").is_none(),
        "dropped: it was always []"
    );
    assert_eq!(
        a["table_name"],
        format!("client_{}_sales", &a_id.replace('-', "")[..8])
    );
    // The answer carries the stored schema_def (ingest's version-1 shape: a column list).
    let n_column = a["schema"]["columns"]
        .as_array()
        .and_then(|cols| cols.iter().find(|c| c["key"] == "n"))
        .unwrap_or_else(|| panic!("no column n in {}", a["schema"]));
    assert_eq!(n_column["type"], "integer");
    assert!(a["client"]["auth_user_id"].is_string());

    let a_token = stack.login(&a_email, PASSWORD).await;
    let b_token = stack.login(&b_email, PASSWORD).await;

    for (id, token, n, tag) in [(&a_id, &a_token, 3, "alpha"), (&b_id, &b_token, 2, "beta")] {
        let page = stack.get(&format!("/api/data/{id}"), Some(token)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let mine = rows(&page.body);
        assert_eq!(mine.len(), n);
        assert!(
            mine.iter().all(|r| r["tag"] == tag),
            "foreign rows: {mine:?}"
        );
        // File order (issue 10; was newest first): rows come back as they were uploaded.
        assert_eq!(mine[0]["n"], 0);
        assert_eq!(mine[n - 1]["n"], n - 1);
        let count = stack
            .get(&format!("/api/data/{id}/count"), Some(token))
            .await;
        assert_eq!(
            (count.status, count.body.clone()),
            (200, json!({"count": n}))
        );
        let schema = stack
            .get(&format!("/api/data/{id}/schema"), Some(token))
            .await;
        assert_eq!(schema.status, 200, "{:?}", schema.body);
        assert_eq!(schema.body["tables"].as_array().map(Vec::len), Some(1));
    }

    // Across tenants: nothing, and the same answer as for an id that does not exist.
    for (other, token) in [(&b_id, &a_token), (&a_id, &b_token)] {
        for suffix in ["", "/count", "/schema", "/aggregate", "/profile", "/export"] {
            let a = stack
                .get(&format!("/api/data/{other}{suffix}"), Some(token))
                .await;
            assert_eq!(a.status, 404, "{suffix}: {:?}", a.body);
            assert_eq!(a.body["code"], "client_not_found");
            assert!(a.body.get("data").is_none() && a.body.get("count").is_none());
        }
    }

    // The database holds without the Worker: A's token straight at the data API sees none of B;
    // the read functions raise PT404, which PostgREST answers as HTTP 404 (SQLSTATE PTxyz).
    for function in [
        "get_client_data_filtered",
        "get_client_data_count",
        "query_client_data",
        "profile_client_table",
    ] {
        let direct = stack
            .rpc_direct(function, &a_token, &json!({"p_client_id": b_id}))
            .await;
        assert_eq!(direct.status, 404, "{function}: {:?}", direct.body);
        assert_eq!(direct.body["code"], "PT404", "{function}");
        assert!(direct.body.get("data").is_none(), "{function}");
    }

    // A superadmin (by app_metadata) reads any client; a client cannot create clients.
    let admin = stack.mint(
        &json!({"role": "authenticated", "sub": "00000000-0000-4000-8000-000000000001",
        "aud": "authenticated", "exp": now() + 300, "app_metadata": {"role": "superadmin"}}),
    );
    let page = stack.get(&format!("/api/data/{b_id}"), Some(&admin)).await;
    assert_eq!((page.status, rows(&page.body).len()), (200, 2));
    let denied = stack
        .post("/api/superadmin/clients", Some(&a_token),
            &json!({"company_name": "x", "email": format!("{}@example.com", unique("x")), "data": []}))
        .await;
    assert_eq!(
        (denied.status, denied.body["code"].as_str()),
        (403, Some("forbidden"))
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let stack = Stack::connect().await;
    let (_, email) = new_client(&stack, "gamma", 1, "data").await;
    let wrong = stack
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": "not the password"}),
        )
        .await;
    let unknown = stack
        .post(
            "/api/auth/login",
            None,
            &json!({"email": format!("{}@example.com", unique("nobody")), "password": PASSWORD}),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["code"], "invalid_credentials");
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    // email matching is case-insensitive
    stack.login(&email.to_uppercase(), PASSWORD).await;
}

#[tokio::test]
async fn untrusted_tokens_get_401() {
    let stack = Stack::connect().await;
    let (created, _) = new_client(&stack, "delta", 1, "data").await;
    let id = client_id(&created);
    let sub = created["client"]["auth_user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims =
        |exp: i64| json!({"role": "authenticated", "sub": sub, "aud": "authenticated", "exp": exp});
    // Sanity: the well-formed version of these tokens is accepted.
    let good = stack.mint(&claims(now() + 300));
    assert_eq!(
        stack
            .get(&format!("/api/data/{id}"), Some(&good))
            .await
            .status,
        200
    );

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("anon key", Some(stack.anon_key.clone())),
        ("wrong secret", Some(mint_hs256(b"not-the-secret-not-the-secret-not-the-secret", &claims(now() + 300)))),
        ("expired", Some(stack.mint(&claims(now() - 120)))),
        ("not yet valid", Some(stack.mint(&json!({"role": "authenticated", "sub": sub, "aud": "authenticated", "exp": now() + 600, "nbf": now() + 300})))),
        ("wrong audience", Some(stack.mint(&json!({"role": "authenticated", "sub": sub, "aud": "other", "exp": now() + 300})))),
        ("alg none", Some(unsigned(&claims(now() + 300)))),
        ("tampered payload", Some({
            let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
            let other = stack.mint(&json!({"role": "service_role", "exp": now() + 300}));
            parts[1] = other.split('.').nth(1).unwrap().to_owned();
            parts.join(".")
        })),
        ("garbage", Some("not.a.jwt".to_owned())),
    ];
    for (what, token) in cases {
        for path in [format!("/api/data/{id}"), format!("/api/data/{id}/count")] {
            let a = stack.get(&path, token.as_deref()).await;
            assert_eq!(a.status, 401, "{what} on {path}: {:?}", a.body);
            assert!(a.www_authenticate.is_some(), "{what}: no WWW-Authenticate");
            assert!(a.body.get("data").is_none());
        }
        let create = stack
            .post("/api/superadmin/clients", token.as_deref(),
                &json!({"company_name": "x", "email": format!("{}@example.com", unique("x")), "data": []}))
            .await;
        assert_eq!(create.status, 401, "{what} on create: {:?}", create.body);
    }
}

#[tokio::test]
async fn duplicate_email_is_409_and_leaves_nothing_behind() {
    let stack = Stack::connect().await;
    let (first, email) = new_client(&stack, "epsilon", 2, "data").await;
    let second_company = unique("Epsilon Copycat");
    let again = stack
        .post(
            "/api/superadmin/clients",
            Some(&stack.service_role_key),
            &json!({
                "company_name": second_company,
                "email": email.to_uppercase(),
                "data": [{"marker": second_company}, {"marker": second_company}],
            }),
        )
        .await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["code"], "email_taken");

    let db = stack.db().await;
    let clients: i64 = db
        .query_one(
            "select count(*) from public.clients where lower(email) = lower($1)",
            &[&email],
        )
        .await
        .expect("count clients")
        .get(0);
    assert_eq!(clients, 1);
    let copycats: i64 = db
        .query_one(
            "select count(*) from public.clients where company_name = $1",
            &[&second_company],
        )
        .await
        .expect("count copycat")
        .get(0);
    assert_eq!(copycats, 0);
    let first_rows: i64 = db
        .query_one(
            "select count(*) from public.client_data where client_id = $1::text::uuid",
            &[&client_id(&first)],
        )
        .await
        .expect("count rows")
        .get(0);
    assert_eq!(first_rows, 2);
    let stray: i64 = db
        .query_one(
            "select count(*) from public.client_data where data->>'marker' = $1",
            &[&second_company],
        )
        .await
        .expect("count stray rows")
        .get(0);
    assert_eq!(stray, 0, "rows of the rejected create were stored");

    // A non-object row is refused with its index, before anything is stored.
    let bad = stack
        .post(
            "/api/superadmin/clients",
            Some(&stack.service_role_key),
            &json!({
                "company_name": "Bad Rows", "email": format!("{}@example.com", unique("bad")),
                "data": [{"ok": 1}, 7],
            }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (400, Some("invalid_row"))
    );
    assert_eq!(bad.body["details"]["row"], 1);
}

#[tokio::test]
async fn limit_cursor_filter_and_table_parameters() {
    let stack = Stack::connect().await;
    let (created, email) = new_client(&stack, "zeta", 7, "inventory").await;
    let id = client_id(&created);
    let table = created["table_name"].as_str().unwrap().to_owned();
    let token = stack.login(&email, PASSWORD).await;

    // Keyset pages of 3 cover all 7 rows once, then end.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("/api/data/{id}?limit=3&cursor={c}"),
            None => format!("/api/data/{id}?limit=3"),
        };
        let page = stack.get(&path, Some(&token)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(
            rows(&page.body)
                .into_iter()
                .map(|r| r["n"].as_i64().unwrap()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    // File order (issue 10; was newest first, 6..0).
    assert_eq!(seen, vec![0, 1, 2, 3, 4, 5, 6]);

    let north = stack
        .get(&format!("/api/data/{id}?region=north"), Some(&token))
        .await;
    let north_rows = rows(&north.body);
    assert_eq!(north_rows.len(), 4);
    assert!(north_rows.iter().all(|r| r["region"] == "north"));
    let count = stack
        .get(&format!("/api/data/{id}/count?region=south"), Some(&token))
        .await;
    assert_eq!(count.body, json!({"count": 3}));
    let both = stack
        .get(
            &format!("/api/data/{id}/count?region=north&n=2"),
            Some(&token),
        )
        .await;
    assert_eq!(both.body, json!({"count": 1}));

    let by_table = stack
        .get(&format!("/api/data/{id}?table={table}"), Some(&token))
        .await;
    assert_eq!(rows(&by_table.body).len(), 7);
    // A table the client does not have is a 400 naming its tables (issue 10; was 200, 0).
    let other_table = stack
        .get(
            &format!("/api/data/{id}/count?table=client_nothere_data"),
            Some(&token),
        )
        .await;
    assert_eq!(other_table.status, 400, "{:?}", other_table.body);
    assert_eq!(other_table.body["code"], "unknown_table");
    assert_eq!(other_table.body["details"]["tables"], json!([table]));
    // limit=0 is a page of no rows (with count=exact: just the total); it was refused.
    let none = stack
        .get(&format!("/api/data/{id}?limit=0&count=exact"), Some(&token))
        .await;
    assert_eq!((none.status, rows(&none.body).len()), (200, 0));
    assert_eq!(none.body["total"], 7);

    for (query, code) in [
        ("limit=1001", "invalid_limit"),
        ("limit=many", "invalid_limit"),
        ("cursor=bogus", "invalid_cursor"),
    ] {
        let a = stack
            .get(&format!("/api/data/{id}?{query}"), Some(&token))
            .await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (400, Some(code)),
            "{query}"
        );
    }
    let full = stack
        .get(&format!("/api/data/{id}?limit=1000"), Some(&token))
        .await;
    assert_eq!(full.status, 200);
    let not_uuid = stack.get("/api/data/123", Some(&token)).await;
    assert_eq!(
        (not_uuid.status, not_uuid.body["code"].as_str()),
        (400, Some("invalid_client_id"))
    );
}
