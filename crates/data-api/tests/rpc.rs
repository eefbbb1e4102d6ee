//! RPC behaviour, each test mirroring a PostgREST behaviour (named in its doc comment), against a
//! real PostgreSQL. Needs DATA_API_TEST_DB_URL (see tests/common/mod.rs); fails without it.

mod common;

use common::{bearer, now, parts, sign_hs256, Stack};
use serde_json::json;

/// Readiness: `GET /` answers `{"status":"ok"}` without any key once the database is reachable.
#[tokio::test]
async fn readiness_needs_no_key() {
    let stack = Stack::start().await;
    let (status, headers, body) = parts(
        stack
            .http
            .get(format!("{}/", stack.base))
            .send()
            .await
            .expect("GET /"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
}

/// PostgREST: a function returning a scalar answers a bare JSON scalar.
#[tokio::test]
async fn scalar_result_is_a_json_scalar() {
    let stack = Stack::start().await;
    let (status, headers, body) = parts(
        stack
            .post("add")
            .json(&json!({"a": 2, "b": 3}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!(5)));
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    let (_, _, body) = parts(
        stack
            .post("returns_json")
            .json(&json!({"p": {"k": [1, null]}}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!({"got": {"k": [1, null]}}));
}

/// PostgREST: omitted arguments take their SQL defaults (only supplied ones are passed, by name).
#[tokio::test]
async fn omitted_arguments_take_sql_defaults() {
    let stack = Stack::start().await;
    let (_, _, body) = parts(
        stack
            .post("greet")
            .json(&json!({}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!("hello world!"));
    let (_, _, body) = parts(
        stack
            .post("greet")
            .json(&json!({"punctuation": "?"}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!("hello world?"));
    let (_, _, body) = parts(stack.post("greet").send().await.expect("rpc without body")).await;
    assert_eq!(body, json!("hello world!"));
}

/// PostgREST: `setof scalar` → array of scalars; `setof table`/`returns table` → array of
/// objects; a single composite → one object.
#[tokio::test]
async fn result_shapes_follow_the_return_type() {
    let stack = Stack::start().await;
    let (_, _, body) = parts(
        stack
            .post("numbers")
            .json(&json!({"n": 3}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([1, 2, 3]));
    let (_, headers, body) = parts(
        stack
            .post("list_items")
            .json(&json!({"min_id": 2}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        body,
        json!([{"id": 2, "label": "two"}, {"id": 3, "label": "three"}])
    );
    assert_eq!(headers["content-range"], "0-1/*");
    let (_, _, body) = parts(stack.post("item_table").send().await.expect("rpc")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(3));
    let (_, _, body) = parts(stack.post("first_item").send().await.expect("rpc")).await;
    assert_eq!(body, json!({"id": 1, "label": "one"}));
    let (_, _, body) = parts(
        stack
            .post("numbers")
            .json(&json!({"n": 0}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([]));
}

/// PostgREST: a `void` function answers 204 No Content.
#[tokio::test]
async fn void_function_answers_204() {
    let stack = Stack::start().await;
    let response = stack.post("do_nothing").send().await.expect("rpc");
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.expect("body"), "");
}

/// PostgREST: `Prefer: count=exact` adds the total to `Content-Range`; `*/0` when empty.
#[tokio::test]
async fn prefer_count_exact_sets_content_range() {
    let stack = Stack::start().await;
    let (_, headers, _) = parts(
        stack
            .post("numbers")
            .header("Prefer", "count=exact")
            .json(&json!({"n": 3}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(headers["content-range"], "0-2/3");
    let (_, headers, _) = parts(
        stack
            .post("numbers")
            .header("Prefer", "count=exact")
            .json(&json!({"n": 0}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(headers["content-range"], "*/0");
}

/// PostgREST: overloaded functions are chosen by the argument names; when names cannot decide,
/// 300 PGRST203.
#[tokio::test]
async fn overloads_resolve_by_argument_names() {
    let stack = Stack::start().await;
    let (_, _, body) = parts(
        stack
            .post("describe")
            .json(&json!({"n": 7}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!("number 7"));
    let (_, _, body) = parts(
        stack
            .post("describe")
            .json(&json!({"word": "hi"}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!("word hi"));
    let (status, _, body) = parts(
        stack
            .post("ambiguous")
            .json(&json!({"x": 1}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (300, json!("PGRST203")));
}

/// PostgREST: a function with a single unnamed json/jsonb parameter receives the whole body.
#[tokio::test]
async fn single_unnamed_json_parameter_gets_the_whole_body() {
    let stack = Stack::start().await;
    let payload = json!({"anything": [1, 2], "nested": {"a": true}});
    let (_, _, body) = parts(
        stack
            .post("echo_body")
            .json(&payload)
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, payload);
    let (_, _, body) = parts(
        stack
            .post("echo_body")
            .json(&json!([1, "two"]))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([1, "two"]));
}

/// PostgREST: unknown functions or argument sets are 404 PGRST202 with its message and details.
#[tokio::test]
async fn unknown_function_is_pgrst202() {
    let stack = Stack::start().await;
    let (status, headers, body) = parts(
        stack
            .post("no_such_function")
            .json(&json!({"p_b": 1, "p_a": 2}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(
        body,
        json!({
            "code": "PGRST202",
            "message": "Could not find the function public.no_such_function(p_a, p_b) in the schema cache",
            "details": "Searched for the function public.no_such_function with parameters p_a, p_b or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            "hint": null
        })
    );
    let (status, _, body) = parts(
        stack
            .post("add")
            .json(&json!({"a": 1, "zzz": 2}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (404, json!("PGRST202")));
    assert_eq!(
        body["hint"],
        "Perhaps you meant to call the function public.add(a, b)"
    );
}

/// PostgREST: GET /rpc/fn?arg=… passes text arguments converted by PostgreSQL, in a READ ONLY
/// transaction; a function that writes fails with 25006 → 405.
#[tokio::test]
async fn get_runs_read_only() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(stack.get("add?a=40&b=2").send().await.expect("rpc")).await;
    assert_eq!((status, body), (200, json!(42)));
    let (_, _, body) = parts(stack.get("whoami").send().await.expect("rpc")).await;
    assert_eq!(body["read_only"], "on");
    assert_eq!(body["method"], "GET");
    let (status, _, body) = parts(
        stack
            .get("add_item?p_id=10&p_label=x")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (405, json!("25006")));
}

/// PostgREST: POST commits a volatile function's writes; an error rolls the whole call back.
#[tokio::test]
async fn post_commits_and_errors_roll_back() {
    let stack = Stack::start().await;
    let service = stack.service_role_key.clone();
    let (status, _, body) = parts(
        stack
            .post("add_item")
            .header("Authorization", bearer(&service))
            .json(&json!({"p_id": 10, "p_label": "ten"}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!(10)));
    let (status, _, body) = parts(
        stack
            .post("add_item_then_fail")
            .header("Authorization", bearer(&service))
            .json(&json!({"p_id": 11}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code": "P0001", "message": "deliberate failure after insert", "details": "the insert must be rolled back", "hint": null})
    );
    let db = stack.db().await;
    let ids: Vec<i32> = db
        .query("select id from items where id >= 10 order by id", &[])
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![10]);
}

/// PostgREST's status mapping for errors raised by PostgreSQL.
#[tokio::test]
async fn database_errors_map_to_postgrest_statuses() {
    let stack = Stack::start().await;
    let service = bearer(&stack.service_role_key);
    let call = |f: &str, args: serde_json::Value| {
        stack
            .post(f)
            .header("Authorization", service.clone())
            .json(&args)
            .send()
    };
    // 23505 unique violation → 409, with PostgreSQL's details.
    let (status, _, body) = parts(
        call("add_item", json!({"p_id": 1, "p_label": "dup"}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (409, json!("23505")));
    assert_eq!(body["details"], "Key (id)=(1) already exists.");
    // 23514 check violation and 23502 not-null → 400.
    let (status, _, body) = parts(
        call("add_item", json!({"p_id": 20, "p_label": ""}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("23514")));
    let (status, _, body) = parts(call("add_item", json!({"p_id": 21})).await.expect("rpc")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("PGRST202")),
        "p_label has no default"
    );
    let (status, _, body) = parts(
        call("add_item", json!({"p_id": 21, "p_label": null}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("23502")));
    // 22012 division by zero, 22P02 invalid input → 400.
    let (status, _, body) =
        parts(call("divide", json!({"a": 1, "b": 0})).await.expect("rpc")).await;
    assert_eq!((status, body["code"].clone()), (400, json!("22012")));
    let (status, _, body) = parts(
        call("takes_uuid", json!({"p_id": "not-a-uuid"}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("22P02")));
    // PTxyz → status xyz, keeping the hint.
    let (status, _, body) = parts(
        call("raise_custom", json!({"p_status": "404"}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"code": "PT404", "message": "custom status", "details": null, "hint": "raised on purpose"})
        )
    );
    let (status, _, _) = parts(
        call("raise_custom", json!({"p_status": "402"}))
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 402);
}

/// PostgREST: 42501 (insufficient privilege) is 401 for the anonymous role, 403 for others.
#[tokio::test]
async fn insufficient_privilege_is_401_for_anon_and_403_otherwise() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(stack.post("admin_only").send().await.expect("rpc")).await;
    assert_eq!((status, body["code"].clone()), (401, json!("42501")));
    assert_eq!(body["message"], "permission denied for function admin_only");
    let user = sign_hs256(
        json!({"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000a", "exp": now() + 60}),
    );
    let (status, _, _) = parts(
        stack
            .post("admin_only")
            .header("Authorization", bearer(&user))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = parts(
        stack
            .post("admin_only")
            .header("Authorization", bearer(&stack.service_role_key))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!("secret")));
}

/// PostgREST: the role claim becomes the role, the claims `request.jwt.claims` (so RLS on
/// auth.uid() applies), plus request.method/path/headers.
#[tokio::test]
async fn role_and_claims_drive_rls_and_request_settings() {
    let stack = Stack::start().await;
    let sub = "00000000-0000-0000-0000-00000000000a";
    let user = sign_hs256(json!({"role": "authenticated", "sub": sub, "exp": now() + 60}));
    let (_, _, body) = parts(
        stack
            .post("whoami")
            .header("Authorization", bearer(&user))
            .header("X-Custom", "hello")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body["current_user"], "authenticated");
    assert_eq!(body["role"], "authenticated");
    assert_eq!(body["uid"], sub);
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/rpc/whoami");
    assert_eq!(body["x_custom"], "hello");
    assert_eq!(
        body["read_only"], "on",
        "stable functions run read-only even on POST"
    );
    assert_eq!(body["claims"]["sub"], sub);

    let (_, _, notes) = parts(
        stack
            .post("my_notes")
            .header("Authorization", bearer(&user))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    let bodies: Vec<&str> = notes
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|n| n["body"].as_str())
        .collect();
    assert_eq!(bodies, vec!["a1", "a2"]);
    let (_, _, notes) = parts(
        stack
            .post("my_notes")
            .header("Authorization", bearer(&stack.service_role_key))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        notes.as_array().map(Vec::len),
        Some(3),
        "service_role bypasses RLS"
    );
}

/// PostgREST: an invalid JSON body is 400 PGRST102.
#[tokio::test]
async fn invalid_json_body_is_pgrst102() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        stack
            .post("add")
            .header("Content-Type", "application/json")
            .body("{\"a\": 1,")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("PGRST102")));
}

/// PostgREST: `Accept: application/vnd.pgrst.object+json` unwraps a one-row result; other row
/// counts are 406 PGRST116.
#[tokio::test]
async fn single_object_accept_header() {
    let stack = Stack::start().await;
    let accept = "application/vnd.pgrst.object+json";
    let (status, _, body) = parts(
        stack
            .post("list_items")
            .header("Accept", accept)
            .json(&json!({"min_id": 3}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 3, "label": "three"})));
    let (status, _, body) = parts(
        stack
            .post("list_items")
            .header("Accept", accept)
            .json(&json!({"min_id": 2}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone(), body["details"].clone()),
        (406, json!("PGRST116"), json!("The result contains 2 rows"))
    );
}

/// PostgREST reloads its schema cache on `NOTIFY pgrst, 'reload schema'`.
#[tokio::test]
async fn notify_reloads_the_schema_cache() {
    let stack = Stack::start().await;
    let db = stack.db().await;
    db.batch_execute(
        "create function public.added_later() returns text language sql as $$ select 'new' $$",
    )
    .await
    .expect("create function");
    let (status, _, _) = parts(stack.post("added_later").send().await.expect("rpc")).await;
    assert_eq!(status, 404, "not in the cache before the notification");
    db.batch_execute("notify pgrst, 'reload schema'")
        .await
        .expect("notify");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, _, body) = parts(stack.post("added_later").send().await.expect("rpc")).await;
        if status == 200 {
            assert_eq!(body, json!("new"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "schema cache not reloaded within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The gateway's body size limit: larger bodies are 413 before reaching the database.
#[tokio::test]
async fn oversized_body_is_413() {
    let stack = Stack::start_with(|c| c.max_body_bytes = 1024).await;
    let big = json!({"p": "x".repeat(2048)});
    let (status, _, body) = parts(
        stack
            .post("returns_json")
            .json(&big)
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        (status, body),
        (413, json!({"message": "Request size limit exceeded"}))
    );
    let (status, _, _) = parts(
        stack
            .post("returns_json")
            .json(&json!({"p": 1}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 200);
}

/// PostgREST: methods other than GET/HEAD/POST on an RPC are 405 PGRST117; a relation missing
/// from the schema cache is 404 PGRST205 (table reads: tests/reads.rs).
#[tokio::test]
async fn unsupported_method_and_tables_are_refused() {
    let stack = Stack::start().await;
    let response = stack
        .http
        .put(format!("{}/rest/v1/rpc/add", stack.base))
        .header("apikey", &stack.anon_key)
        .send()
        .await
        .expect("rpc");
    let (status, _, body) = parts(response).await;
    assert_eq!((status, body["code"].clone()), (405, json!("PGRST117")));
    let response = stack
        .http
        .get(format!("{}/rest/v1/no_such_table", stack.base))
        .header("apikey", &stack.anon_key)
        .send()
        .await
        .expect("table");
    let (status, _, body) = parts(response).await;
    assert_eq!((status, body["code"].clone()), (404, json!("PGRST205")));
}
