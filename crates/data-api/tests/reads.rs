//! PostgREST's read modifiers on function results and on tables and views, counting, media
//! types, CORS, the OpenAPI root, Auth's `/user`, and the explicit refusals of what the local
//! data API does not do. Each test names the PostgREST (or Supabase Auth) behaviour it mirrors:
//! a page of PostgREST's documentation (docs.postgrest.org, references/api/…) or its own test
//! suite (test/spec/Feature/…). Needs DATA_API_TEST_DB_URL (see tests/common/mod.rs).

mod common;

use common::{bearer, now, parts, sign_hs256, Stack};
use reqwest::Method;
use serde_json::{json, Value};

fn rest(stack: &Stack, method: Method, path: &str) -> reqwest::RequestBuilder {
    stack
        .http
        .request(method, format!("{}/rest/v1/{path}", stack.base))
        .header("apikey", &stack.anon_key)
}

async fn text_parts(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, String) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// references/api/functions "Filters and modifiers on function results" and
/// references/api/tables_views "Vertical filtering" / "Ordering" / "Limits and Pagination":
/// `select`, filters, `order` and `limit` apply to what a set-returning function returns.
#[tokio::test]
async fn rpc_results_take_select_filters_order_and_limit() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        stack
            .post("list_items?select=label&id=gt.1&order=id.desc&limit=1")
            .json(&json!({}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!([{"label": "three"}])));
    let (_, _, body) = parts(
        stack
            .post("list_items?select=id&id=in.(1,3)&order=id.asc")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([{"id": 1}, {"id": 3}]));
    let (_, _, body) = parts(
        stack
            .post("list_items?select=id&id=neq.2&offset=1")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([{"id": 3}]));
    // A set of scalars is filtered on the column named after the function.
    let (_, _, body) = parts(
        stack
            .post("numbers?numbers=gte.2&order=numbers.desc")
            .json(&json!({"n": 4}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([4, 3, 2]));
}

/// references/api/tables_views "JSON Columns", "Renaming Columns", "Casting Columns" and
/// "Ordering" with nullsfirst/nullslast; test/spec/Feature/Query/JsonOperatorSpec.
#[tokio::test]
async fn json_paths_renames_casts_and_null_ordering() {
    let stack = Stack::start().await;
    let (_, _, body) = parts(
        stack
            .post("list_docs?select=id,a:data->>a,c:data->b->>c,data->b,n:data->a::text&data->>a=eq.2")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(
        body,
        json!([{"id": 2, "a": "2", "c": "y", "b": {"c": "y"}, "n": "2"}])
    );
    let (_, _, body) = parts(
        stack
            .post("list_docs?select=id&order=data->>a.desc.nullsfirst")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([{"id": 3}, {"id": 2}, {"id": 1}]));
    let (_, _, body) = parts(
        stack
            .post("list_docs?select=id&order=note.asc.nullslast")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(body, json!([{"id": 2}, {"id": 3}, {"id": 1}]));
    // A cast outside the supported list is refused by name, never ignored.
    let (status, _, body) = parts(
        stack
            .post("list_docs?select=id::regclass")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (501, json!("PGRSTX501")));
}

/// references/api/tables_views "Logical operators" (`or`, `and`, `not`, nesting) and
/// "Operators" (`is`, `like`, `ilike`, `not.in`).
#[tokio::test]
async fn logic_trees_and_operators() {
    let stack = Stack::start().await;
    let ids = |body: Value| -> Vec<i64> {
        body.as_array()
            .expect("an array")
            .iter()
            .map(|row| row["id"].as_i64().expect("id"))
            .collect()
    };
    let cases: &[(&str, &[i64])] = &[
        ("or=(id.eq.1,id.eq.3)", &[1, 3]),
        ("or=(id.eq.1,and(id.gt.1,note.like.*comma))", &[1, 2]),
        ("not.or=(id.eq.1,id.eq.3)", &[2]),
        ("note=is.null", &[1]),
        ("note=not.is.null", &[2, 3]),
        ("note=ilike.THIRD", &[3]),
        ("id=not.in.(1,2)", &[3]),
        ("data->b->>c=in.(x,z)", &[1, 3]),
        ("or=(note.eq.\"second, with a comma\",id.eq.3)", &[2, 3]),
    ];
    for (filter, expected) in cases {
        let (status, _, body) = parts(
            rest(
                &stack,
                Method::GET,
                &format!("docs?select=id&order=id&{filter}"),
            )
            .send()
            .await
            .expect("read"),
        )
        .await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(ids(body), *expected, "{filter}");
    }
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "docs?id=nope.1")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("PGRST100")));
}

/// references/api/functions "Calling with GET": query keys naming a parameter are arguments,
/// the others filter the result (test/spec/Feature/Query/RpcSpec "GET with filters").
#[tokio::test]
async fn get_rpc_tells_arguments_from_filters() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        stack
            .get("list_items?min_id=2&label=eq.three")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!([{"id": 3, "label": "three"}])));
    let (status, _, body) = parts(
        stack
            .get("list_items?label=eq.one")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!([{"id": 1, "label": "one"}])));
}

/// references/api/pagination "Exact Count" and "Limits and Pagination": a limited page with
/// `Prefer: count=exact` is 206 with `Content-Range: 0-0/3`; the Range header pages too; an
/// offset beyond the total is 416 PGRST103.
#[tokio::test]
async fn exact_count_ranges_and_partial_content() {
    let stack = Stack::start().await;
    let response = stack
        .post("list_items?limit=1")
        .header("prefer", "count=exact")
        .send()
        .await
        .expect("rpc");
    let (status, headers, body) = parts(response).await;
    assert_eq!((status, body), (206, json!([{"id": 1, "label": "one"}])));
    assert_eq!(headers["content-range"], "0-0/3");
    assert_eq!(headers["range-unit"], "items");
    let (status, headers, body) = parts(
        rest(&stack, Method::GET, "items?select=id&order=id")
            .header("range", "1-2")
            .header("range-unit", "items")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body), (200, json!([{"id": 2}, {"id": 3}])));
    assert_eq!(headers["content-range"], "1-2/*");
    let (status, headers, _) = parts(
        rest(&stack, Method::GET, "items?offset=1")
            .header("prefer", "count=exact")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(
        (status, &headers["content-range"]),
        (206, &"1-2/3".parse().expect("header"))
    );
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "items?offset=5")
            .header("prefer", "count=exact")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (416, json!("PGRST103")));
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "items")
            .header("range", "3-1")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (416, json!("PGRST103")));
}

/// references/api/pagination "Planned Count" and "Estimated Count": the total is a number
/// (the planner's estimate; exact while small), never `*` or missing.
#[tokio::test]
async fn planned_and_estimated_counts_are_numbers() {
    let stack = Stack::start().await;
    stack
        .db()
        .await
        .batch_execute("analyze public.items")
        .await
        .expect("analyze");
    for preference in ["count=planned", "count=estimated"] {
        let (status, headers, body) = parts(
            rest(&stack, Method::GET, "items")
                .header("prefer", preference)
                .send()
                .await
                .expect("read"),
        )
        .await;
        assert_eq!(status, 200, "{preference}");
        assert_eq!(body.as_array().map(Vec::len), Some(3));
        assert_eq!(headers["content-range"], "0-2/3", "{preference}");
    }
    // On a function the plan estimates its rows (prorows), like PostgREST's planned count.
    let (_, headers, _) = parts(
        stack
            .post("list_items")
            .header("prefer", "count=planned")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    let range = headers["content-range"].to_str().expect("ascii");
    let total: i64 = range
        .rsplit('/')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a numeric total in {range}"));
    assert!(total > 0, "{range}");
}

/// references/api/resource_representation "CSV": `Accept: text/csv` is a header line and one
/// line per row, values quoted where needed; "Singular or Plural": the single-object media type
/// unwraps exactly one row and is 406 PGRST116 otherwise.
#[tokio::test]
async fn csv_and_single_object_media_types() {
    let stack = Stack::start().await;
    let (status, headers, body) = text_parts(
        rest(&stack, Method::GET, "docs?select=id,note&order=id")
            .header("accept", "text/csv")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(body, "id,note\n1,\n2,\"second, with a comma\"\n3,third");
    let (status, headers, body) = parts(
        rest(&stack, Method::GET, "items?id=eq.2")
            .header("accept", "application/vnd.pgrst.object+json")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 2, "label": "two"})));
    assert_eq!(
        headers["content-type"],
        "application/vnd.pgrst.object+json; charset=utf-8"
    );
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "items?id=gt.5")
            .header("accept", "application/vnd.pgrst.object+json")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (406, json!("PGRST116")));
    assert_eq!(body["details"], "The result contains 0 rows");
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "items")
            .header("accept", "application/xml")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (406, json!("PGRST107")));
}

/// references/observability "Execution plan" (`Accept: application/vnd.pgrst.plan`): not
/// produced locally, so an explicit 501 instead of a JSON body that looks like data.
#[tokio::test]
async fn explain_is_refused_explicitly() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        stack
            .post("list_items")
            .header(
                "accept",
                "application/vnd.pgrst.plan+text; for=\"application/json\"",
            )
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (501, json!("PGRSTX501")));
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("execution plan"),
        "{body}"
    );
}

/// references/api/functions "Function with single JSON parameter" via
/// `Prefer: params=single-object`: the whole body is the one json/jsonb argument.
#[tokio::test]
async fn single_object_params_pass_the_whole_body() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        stack
            .post("returns_json")
            .header("prefer", "params=single-object")
            .json(&json!({"k": [1, 2]}))
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"got": {"k": [1, 2]}})));
}

/// references/api/tables_views "Read" and HEAD: tables and views are read with the same
/// modifiers; HEAD answers the headers (the count) without a body.
#[tokio::test]
async fn tables_and_views_are_read_and_head_counts() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "items?select=id&order=id.desc")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!([{"id": 3}, {"id": 2}, {"id": 1}]))
    );
    let (_, _, body) = parts(
        rest(&stack, Method::GET, "item_labels?id=eq.1")
            .send()
            .await
            .expect("view"),
    )
    .await;
    assert_eq!(body, json!([{"id": 1, "label": "ONE"}]));
    let (status, headers, body) = text_parts(
        rest(&stack, Method::HEAD, "items")
            .header("prefer", "count=exact")
            .send()
            .await
            .expect("head"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(headers["content-range"], "0-2/3");
}

/// Row-level security applies to table reads exactly as to RPC (PostgREST runs both as the
/// token's role with its claims): each owner sees only their own notes, anon sees none.
#[tokio::test]
async fn table_reads_run_under_rls_for_the_tokens_owner() {
    let stack = Stack::start().await;
    let token = |sub: &str| {
        sign_hs256(
            json!({"role": "authenticated", "sub": sub, "aud": "authenticated", "exp": now() + 60}),
        )
    };
    let owner_a = token("00000000-0000-0000-0000-00000000000a");
    let owner_b = token("00000000-0000-0000-0000-00000000000b");
    let read = |t: String| {
        rest(&stack, Method::GET, "notes?select=body&order=id")
            .header("authorization", bearer(&t))
            .header("prefer", "count=exact")
            .send()
    };
    let (status, headers, body) = parts(read(owner_a).await.expect("read")).await;
    assert_eq!(
        (status, body),
        (200, json!([{"body": "a1"}, {"body": "a2"}]))
    );
    assert_eq!(headers["content-range"], "0-1/2");
    let (_, headers, body) = parts(read(owner_b).await.expect("read")).await;
    assert_eq!(body, json!([{"body": "b1"}]));
    assert_eq!(headers["content-range"], "0-0/1");
    // Filtering for another owner's row finds nothing: RLS, not the filter, decides.
    let (_, _, body) = parts(
        rest(&stack, Method::GET, "notes?body=eq.a1")
            .header(
                "authorization",
                bearer(&token("00000000-0000-0000-0000-00000000000b")),
            )
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(body, json!([]));
    let (_, _, body) = parts(
        rest(&stack, Method::GET, "notes")
            .send()
            .await
            .expect("anon"),
    )
    .await;
    assert_eq!(body, json!([]));
}

/// PostgREST's PGRST205 for an unknown relation; writes on tables are not implemented
/// locally and answer 501 PGRSTX501 naming the feature (never a silent success).
#[tokio::test]
async fn unknown_relations_404_and_writes_501() {
    let stack = Stack::start().await;
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "no_such_table")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (404, json!("PGRST205")));
    assert_eq!(
        body["message"],
        "Could not find the table 'public.no_such_table' in the schema cache"
    );
    for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
        let (status, _, body) = parts(
            rest(&stack, method.clone(), "items?id=eq.1")
                .json(&json!({"id": 9, "label": "nine"}))
                .send()
                .await
                .expect("write"),
        )
        .await;
        assert_eq!(
            (status, body["code"].clone()),
            (501, json!("PGRSTX501")),
            "{method}"
        );
        assert!(body["message"]
            .as_str()
            .unwrap_or("")
            .contains("not supported by the local data API"));
    }
    let rows = stack
        .db()
        .await
        .query_one("select count(*) from public.items", &[])
        .await
        .expect("count");
    assert_eq!(rows.get::<_, i64>(0), 3, "a refused write changed nothing");
    let (status, _, body) = parts(
        rest(&stack, Method::DELETE, "no_such_table")
            .send()
            .await
            .expect("write"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (404, json!("PGRST205")));
}

/// PostgREST's CORS (its "CORS" reference page; test/spec/Feature/CorsSpec): a preflight is
/// 200 allowing any origin and the headers supabase-js sends; every answer allows any origin
/// and exposes Content-Range.
#[tokio::test]
async fn cors_preflight_and_allow_origin() {
    let stack = Stack::start().await;
    let response = stack
        .http
        .request(
            Method::OPTIONS,
            format!("{}/rest/v1/rpc/list_items", stack.base),
        )
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "apikey, authorization, content-type, prefer, x-client-info",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_string();
    for name in [
        "apikey",
        "authorization",
        "prefer",
        "range",
        "x-client-info",
        "accept-profile",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .contains("POST"));
    let response = rest(&stack, Method::GET, "items")
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .expect("read");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        exposed.contains("content-range") && exposed.contains("range-unit"),
        "{exposed}"
    );
}

/// references/api/openapi: `GET /` of PostgREST is a Swagger 2.0 document of the relations and
/// functions the role may use (openapi-mode follow-privileges).
#[tokio::test]
async fn openapi_root_describes_what_the_role_may_use() {
    let stack = Stack::start().await;
    let (status, headers, doc) =
        parts(rest(&stack, Method::GET, "").send().await.expect("openapi")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/openapi+json; charset=utf-8"
    );
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(
        doc["definitions"]["items"]["properties"]["id"],
        json!({"type": "integer", "format": "integer"})
    );
    assert_eq!(
        doc["definitions"]["items"]["required"],
        json!(["id", "label"])
    );
    assert!(doc["paths"]["/items"]["get"].is_object());
    assert!(doc["paths"]["/item_labels"]["get"].is_object());
    assert_eq!(
        doc["paths"]["/rpc/add"]["post"]["parameters"][0]["schema"]["required"],
        json!(["a", "b"])
    );
    assert!(
        doc["paths"]["/rpc/admin_only"].is_null(),
        "anon may not execute admin_only"
    );
    let (_, _, doc) = parts(
        rest(&stack, Method::GET, "")
            .header("authorization", bearer(&stack.service_role_key))
            .send()
            .await
            .expect("openapi"),
    )
    .await;
    assert!(doc["paths"]["/rpc/admin_only"]["post"].is_object());
    let (status, _, _) = parts(
        stack
            .http
            .get(format!("{}/rest/v1/", stack.base))
            .send()
            .await
            .expect("no key"),
    )
    .await;
    assert_eq!(status, 401);
}

/// Supabase Auth's `GET /user` (what `supabase.auth.getUser(jwt)` calls): the user from a
/// valid token; 401 `no_authorization` without one; 403 `bad_jwt` for a bad one.
#[tokio::test]
async fn auth_user_answers_like_supabase_auth() {
    let stack = Stack::start().await;
    let url = format!("{}/auth/v1/user", stack.base);
    let token = sign_hs256(json!({
        "sub": "00000000-0000-0000-0000-00000000000a", "aud": "authenticated",
        "role": "authenticated", "email": "a@example.test",
        "app_metadata": {"provider": "email"}, "exp": now() + 60
    }));
    let (status, _, user) = parts(
        stack
            .http
            .get(&url)
            .header("apikey", &stack.anon_key)
            .header("authorization", bearer(&token))
            .send()
            .await
            .expect("user"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["id"], "00000000-0000-0000-0000-00000000000a");
    assert_eq!(user["email"], "a@example.test");
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["app_metadata"], json!({"provider": "email"}));
    let (status, _, body) = parts(
        stack
            .http
            .get(&url)
            .header("apikey", &stack.anon_key)
            .send()
            .await
            .expect("user"),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (401, json!("no_authorization"))
    );
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (status, _, body) = parts(
        stack
            .http
            .get(&url)
            .header("apikey", &stack.anon_key)
            .header("authorization", bearer(&forged))
            .send()
            .await
            .expect("user"),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (403, json!("bad_jwt"))
    );
    let (status, _, _) = parts(
        stack
            .http
            .get(&url)
            .header("authorization", bearer(&token))
            .send()
            .await
            .expect("user"),
    )
    .await;
    assert_eq!(status, 401, "the gateway wants an apikey");
}

/// A body that ends before its declared length (the client went away) is a 400, not the
/// 413 of a body over the limit.
#[tokio::test]
async fn truncated_body_is_400_not_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = Stack::start().await;
    let address = stack.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST /rest/v1/rpc/add HTTP/1.1\r\nHost: {address}\r\napikey: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\": 1",
        stack.anon_key
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    socket.shutdown().await.expect("half-close");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("PGRST102"), "{answer}");
}

/// PostgREST reads a relation column by column, so column-level grants hold: the granted
/// columns (and an exact count) are readable, `select=*` reaching a revoked column is 42501
/// (401 for anon), and the revoked column never appears.
#[tokio::test]
async fn column_level_grants_hold_on_table_reads() {
    let stack = Stack::start().await;
    let (status, headers, body) = parts(
        rest(&stack, Method::GET, "accounts?select=id,name&order=id")
            .header("prefer", "count=exact")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!([{"id": 1, "name": "first"}, {"id": 2, "name": "second"}])
        )
    );
    assert_eq!(headers["content-range"], "0-1/2");
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "accounts")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (401, json!("42501")));
    let (status, _, body) = parts(
        rest(&stack, Method::GET, "accounts?select=id&secret=eq.s1")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("42501")),
        "a filter on a revoked column"
    );
}

/// Clients choose the SQL shapes (every `limit`, filter set, select list is one), so the
/// per-connection statement cache must not grow with them: after 300 shapes on one pooled
/// connection it holds at most the limit (256) plus the few statements of one request.
#[tokio::test]
async fn the_statement_cache_stays_bounded() {
    let stack = Stack::start_with(|c| c.pool_size = 1).await;
    for limit in 1..=300 {
        let response = rest(
            &stack,
            Method::GET,
            &format!("items?select=id&limit={limit}"),
        )
        .send()
        .await
        .expect("read");
        assert_eq!(response.status(), 200);
    }
    let (status, _, count) = parts(
        stack
            .post("prepared_statement_count")
            .send()
            .await
            .expect("rpc"),
    )
    .await;
    assert_eq!(status, 200);
    let count = count.as_i64().expect("a number");
    assert!((1..=260).contains(&count), "{count} prepared statements");
}

/// PostgREST's `db-max-rows` (Supabase's "Max rows", 1000 by default; here 2): no read or
/// set-returning call answers more rows, whatever `limit` asks; the count still sees all.
#[tokio::test]
async fn max_rows_caps_every_page() {
    let stack = Stack::start_with(|c| c.max_rows = 2).await;
    let (status, headers, body) = parts(
        rest(&stack, Method::GET, "items?select=id&order=id&limit=10")
            .header("prefer", "count=exact")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!((status, body), (206, json!([{"id": 1}, {"id": 2}])));
    assert_eq!(headers["content-range"], "0-1/3");
    let (_, headers, body) = parts(stack.post("list_items").send().await.expect("rpc")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    assert_eq!(headers["content-range"], "0-1/*");
    let (_, _, body) = parts(
        rest(&stack, Method::GET, "items?select=id&order=id&limit=1")
            .send()
            .await
            .expect("read"),
    )
    .await;
    assert_eq!(body, json!([{"id": 1}]));
}
