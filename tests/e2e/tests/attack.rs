//! The attack suite (issue 9): every route of the Worker's API (`src/routes.rs` ROUTES) and the
//! data API's RPC functions, each called with every kind of bad or foreign token an attacker can
//! make, asserting the documented refusal (never 2xx where forbidden, never 5xx), that nothing of
//! tenant A appears in any answer, and afterwards, in the database, that nothing of A changed
//! and no client was created or deleted.
//!
//! Design decision: one test function runs the whole matrix between two database snapshots, so
//! "nothing changed" is one before/after comparison of the same rows, not a check per request;
//! A's rows carry a unique marker value, so "nothing leaked" is a substring search of each body.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::{mint_hs256, now, rows, unique, unsigned, Answer, SigningKey, Stack};
use serde_json::{json, Value};

const PASSWORD: &str = "attack suite password";

/// Every (method, path template) of `src/routes.rs` ROUTES; a test below keeps them equal.
const ROUTES: [(&str, &str); 14] = [
    ("GET", "/health"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/auth/login"),
    ("GET", "/api/data/{client_id}"),
    ("GET", "/api/data/{client_id}/count"),
    ("GET", "/api/data/{client_id}/schema"),
    ("GET", "/api/data/{client_id}/export"),
    ("GET", "/api/data/{client_id}/aggregate"),
    ("GET", "/api/data/{client_id}/profile"),
    ("GET", "/api/superadmin/clients"),
    ("POST", "/api/superadmin/clients"),
    ("POST", "/api/inspect"),
    ("POST", "/api/data/{client_id}"),
    ("DELETE", "/api/superadmin/clients/{client_id}"),
];

struct Tenant {
    id: String,
    sub: String,
    email: String,
    company: String,
    marker: String,
}

async fn new_tenant(stack: &Stack, tag: &str, n: usize) -> Tenant {
    let marker = unique(&format!("SECRET-{tag}"));
    let email = format!("{}@example.com", unique(tag));
    let company = unique(&format!("{tag} Confidential"));
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"n": i, "secret": marker, "region": "north"}))
        .collect();
    let created = stack
        .create_client(&json!({
            "company_name": company, "email": email, "password": PASSWORD, "data": data,
        }))
        .await;
    let field = |name: &str| {
        created["client"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {created}"))
            .to_owned()
    };
    Tenant {
        id: field("client_id"),
        sub: field("auth_user_id"),
        email,
        company,
        marker,
    }
}

fn user_claims(sub: &str) -> Value {
    json!({"sub": sub, "role": "authenticated", "aud": "authenticated", "iat": now(), "exp": now() + 300})
}

/// What a matrix case must get on a route that needs a token.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// 401: the token is missing, unverifiable, or names no user.
    Unauthenticated,
    /// A verified client that is not A: 404 on A's data (as for an id that does not exist),
    /// 403 on the superadmin routes.
    OtherTenant,
}

struct Case {
    name: &'static str,
    token: Option<String>,
    /// Extra query (the tampered cursor).
    query: String,
    expect: Expect,
}

/// Panics if any of A's identifying values appears in `answer`.
fn assert_nothing_of(a: &Tenant, what: &str, answer: &Answer) {
    let text = answer.body.to_string();
    // Not A's sub: it is A's client id (the default auth_user_id), which the attacker sent.
    for secret in [&a.marker, &a.company, &a.email] {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: A's `{secret}` leaked: {text}"
        );
    }
}

/// Everything of A, and the set of clients, as the database holds them.
async fn snapshot(db: &tokio_postgres::Client, a: &Tenant) -> Vec<String> {
    let row = db
        .query_one(
            "select (select count(*)::text || ':' || md5(string_agg(client_id::text, ',' order by client_id))
                       from public.clients),
                    (select md5(c::text) from public.clients c where client_id = $1::text::uuid),
                    (select count(*)::text || ':' || md5(coalesce(string_agg(d::text, ',' order by d.id), ''))
                       from public.client_data d where client_id = $1::text::uuid),
                    (select coalesce(string_agg(s.table_name || '=' || s.row_count || ':' || md5(s::text), ','
                                                order by s.table_name), '')
                       from public.client_schemas s where client_id = $1::text::uuid),
                    (select count(*)::text || ':' || md5(coalesce(string_agg(v::text, ',' order by v.table_name, v.version), ''))
                       from public.client_schema_versions v where client_id = $1::text::uuid)",
            &[&a.id],
        )
        .await
        .expect("snapshot query");
    (0..5)
        .map(|i| row.get::<_, Option<String>>(i).unwrap_or_default())
        .collect()
}

/// Sends `method path` to the Worker with a body fitting the route, as `token`.
async fn call(
    stack: &Stack,
    method: &str,
    path: &str,
    token: Option<&str>,
    a: &Tenant,
    attack: &str,
) -> Answer {
    let url = format!("{}{path}", stack.worker_url);
    let http = stack.http();
    let mut r = match (method, path.split('?').next().unwrap_or(path)) {
        // From an address of its own (as CF-Connecting-IP), so these attempts do not spend the
        // per-address login budget other tests share.
        ("POST", "/api/auth/login") => http
            .post(&url)
            .header("cf-connecting-ip", "203.0.113.77")
            .json(&json!({"email": a.email, "password": "not the password"})),
        ("POST", "/api/superadmin/clients") => http.post(&url).json(&json!({
            "company_name": attack, "email": format!("{attack}@example.com"),
            "data": [{"secret": attack}],
        })),
        ("POST", "/api/inspect") => http
            .post(format!("{url}{}filename=x.csv", sep(&url)))
            .header("content-type", "text/csv")
            .body(format!("secret\n{attack}\n")),
        ("POST", _) => http
            .post(format!("{url}{}filename=x.csv", sep(&url)))
            .header("content-type", "text/csv")
            .body(format!("n,secret,region\n99,{attack},south\n")),
        ("DELETE", _) => http.delete(&url),
        _ => http.get(&url),
    };
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let response = r.send().await.expect("the Worker answers");
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        www_authenticate,
        // Non-JSON bodies (the export's CSV) are kept as a string, so the leak check sees them.
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') {
        "&"
    } else {
        "?"
    }
}

/// A's cursor with its contents changed: every number zeroed and every string replaced, so it
/// still decodes but points anywhere; or, if it is not JSON inside, its bytes flipped.
fn tampered(cursor: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).unwrap_or_default();
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => {
            fn rewrite(v: &Value) -> Value {
                match v {
                    Value::Number(_) => json!(0),
                    Value::String(_) => json!("1970-01-01T00:00:00Z"),
                    Value::Array(a) => Value::Array(a.iter().map(rewrite).collect()),
                    Value::Object(o) => {
                        Value::Object(o.iter().map(|(k, v)| (k.clone(), rewrite(v))).collect())
                    }
                    other => other.clone(),
                }
            }
            URL_SAFE_NO_PAD.encode(rewrite(&v).to_string())
        }
        Err(_) => URL_SAFE_NO_PAD.encode(bytes.iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>()),
    }
}

#[test]
fn the_matrix_covers_every_route_of_the_router() {
    let source = include_str!("../../../src/routes.rs");
    let start = source
        .find("pub const ROUTES")
        .expect("ROUTES in src/routes.rs");
    let listed = &source[start
        ..source[start..]
            .find("];")
            .map(|e| start + e)
            .unwrap_or(source.len())];
    let count = listed.matches("(\"").count();
    assert_eq!(
        count,
        ROUTES.len(),
        "src/routes.rs ROUTES changed: {listed}"
    );
    for (m, p) in ROUTES {
        assert!(
            listed.contains(&format!("(\"{m}\", \"{p}\")")),
            "{m} {p} is no longer in src/routes.rs ROUTES"
        );
    }
}

#[tokio::test]
async fn every_route_refuses_every_attack_and_nothing_of_tenant_a_leaks_or_changes() {
    let stack = Stack::connect().await;
    let a = new_tenant(&stack, "attack-a", 3).await;
    let b = new_tenant(&stack, "attack-b", 2).await;
    let es256 = SigningKey::es256();
    let a_token = stack.login(&a.email, PASSWORD).await;
    let b_token = stack.login(&b.email, PASSWORD).await;

    // The tests can fail: A's own token sees A's marker on every read route.
    let page = stack
        .get(&format!("/api/data/{}?limit=1", a.id), Some(&a_token))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(rows(&page.body)[0]["secret"], a.marker.as_str());
    let a_cursor = page.body["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no next_cursor with 3 rows and limit=1: {}", page.body))
        .to_owned();
    for suffix in [
        "",
        "/schema",
        "/export",
        "/profile",
        "/aggregate?group_by=secret",
    ] {
        let own = call(
            &stack,
            "GET",
            &format!("/api/data/{}{suffix}", a.id),
            Some(&a_token),
            &a,
            "x",
        )
        .await;
        assert_eq!(own.status, 200, "A's own {suffix}: {:?}", own.body);
        assert!(
            own.body.to_string().contains(&a.marker),
            "A's own {suffix} does not show A's marker, so the leak check would prove nothing: {:?}",
            own.body
        );
    }
    let own_count = stack
        .get(&format!("/api/data/{}/count", a.id), Some(&a_token))
        .await;
    assert_eq!(
        (own_count.status, own_count.body),
        (200, json!({"count": 3}))
    );

    let db = stack.db().await;
    let before = snapshot(&db, &a).await;
    assert!(
        before[2].starts_with("3:"),
        "A's rows in the database: {before:?}"
    );

    let public_pem = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in", &es256.private_key_file])
        .output()
        .expect("openssl (installed by `cargo xtask setup`)")
        .stdout;
    assert!(public_pem.starts_with(b"-----BEGIN PUBLIC KEY-----"));
    let hs256_with_public_key = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(es256.kid.clone());
        jsonwebtoken::encode(
            &header,
            &user_claims(&a.sub),
            &jsonwebtoken::EncodingKey::from_secret(&public_pem),
        )
        .expect("HS256 signing")
    };
    let wrong_secret = b"not-the-secret-not-the-secret-not-the-secret";
    let with = |extra: Value| {
        let mut c = user_claims(&a.sub);
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let mut forged_admin = user_claims(&b.sub);
    forged_admin["app_metadata"] = json!({"provider": "email", "role": "superadmin"});
    let mut user_meta_admin = user_claims(&b.sub);
    user_meta_admin["user_metadata"] = json!({"role": "superadmin"});
    let no_sub = json!({"role": "authenticated", "aud": "authenticated", "exp": now() + 300});

    use Expect::*;
    let case = |name, token: Option<String>, expect| Case {
        name,
        token,
        query: String::new(),
        expect,
    };
    let cases = vec![
        case("no token", None, Unauthenticated),
        case("garbage", Some("not.a.jwt".into()), Unauthenticated),
        case(
            "alg none",
            Some(unsigned(&user_claims(&a.sub))),
            Unauthenticated,
        ),
        case(
            "wrong secret",
            Some(mint_hs256(wrong_secret, &user_claims(&a.sub))),
            Unauthenticated,
        ),
        case(
            "expired",
            Some(stack.mint(&with(json!({"exp": now() - 120})))),
            Unauthenticated,
        ),
        case(
            "nbf in the future",
            Some(stack.mint(&with(json!({"nbf": now() + 240})))),
            Unauthenticated,
        ),
        case(
            "wrong aud",
            Some(stack.mint(&with(json!({"aud": "other"})))),
            Unauthenticated,
        ),
        case("no sub", Some(stack.mint(&no_sub)), Unauthenticated),
        // The project's public API key is a valid token, but of no user.
        case(
            "the anon key",
            Some(stack.anon_key.clone()),
            Unauthenticated,
        ),
        case(
            "role service_role, wrong key",
            Some(mint_hs256(
                wrong_secret,
                &json!({"role": "service_role", "exp": now() + 300}),
            )),
            Unauthenticated,
        ),
        case(
            "HS256 keyed with the ES256 public key",
            Some(hs256_with_public_key),
            Unauthenticated,
        ),
        case(
            "unknown kid",
            Some(es256.sign_as("no-such-key", &user_claims(&a.sub))),
            Unauthenticated,
        ),
        case(
            "app_metadata superadmin, wrong key",
            Some(mint_hs256(wrong_secret, &forged_admin)),
            Unauthenticated,
        ),
        case(
            "user_metadata superadmin, valid signature",
            Some(stack.mint(&user_meta_admin)),
            OtherTenant,
        ),
        case(
            "another tenant's valid token",
            Some(b_token.clone()),
            OtherTenant,
        ),
        Case {
            name: "another tenant with A's tampered cursor",
            token: Some(b_token.clone()),
            query: format!("cursor={}", tampered(&a_cursor)),
            expect: OtherTenant,
        },
    ];

    let mut size = 0;
    // Per case, the statuses in ROUTES order then RPC order, printed at the end.
    let mut statuses: Vec<Vec<u16>> = vec![Vec::new(); cases.len()];
    for (i, c) in cases.iter().enumerate() {
        for (method, template) in ROUTES {
            let mut path = template.replace("{client_id}", &a.id);
            if !c.query.is_empty() {
                path = format!("{path}?{}", c.query);
            }
            let attack = unique("attack-write");
            let answer = call(&stack, method, &path, c.token.as_deref(), &a, &attack).await;
            let what = format!("{} on {method} {template}", c.name);
            size += 1;
            statuses[i].push(answer.status);
            assert!(
                answer.status < 500,
                "{what}: {} {:?}",
                answer.status,
                answer.body
            );
            assert_nothing_of(&a, &what, &answer);
            let expected: u16 = match (template, c.expect) {
                ("/health" | "/api/openapi.json", _) => 200,
                // A wrong password; past 5 attempts per email a minute, the documented 429.
                ("/api/auth/login", _) if answer.status == 429 => 429,
                ("/api/auth/login", _) => 401,
                (t, OtherTenant) if t.starts_with("/api/superadmin/") || t == "/api/inspect" => 403,
                (_, OtherTenant) => 404,
                (_, Unauthenticated) => 401,
            };
            // A cursor where none applies (or that does not decode) may be refused as a bad
            // parameter before the tenant is looked at: a 400 that names no data of A.
            let refused_as_parameter = !c.query.is_empty()
                && expected == 404
                && answer.status == 400
                && ["invalid_parameter", "invalid_cursor"]
                    .contains(&answer.body["code"].as_str().unwrap_or(""));
            if !refused_as_parameter {
                assert_eq!(answer.status, expected, "{what}: {:?}", answer.body);
            }
            if expected == 401 && template != "/api/auth/login" {
                assert!(
                    answer.www_authenticate.is_some(),
                    "{what}: no WWW-Authenticate"
                );
            }
            if expected >= 400 {
                assert!(
                    answer.body["code"].is_string(),
                    "{what}: not an API error: {:?}",
                    answer.body
                );
            }
        }
    }

    // A's cursor at B's own client: B gets B's rows or a 400, never A's.
    for cursor in [a_cursor.clone(), tampered(&a_cursor)] {
        let answer = stack
            .get(
                &format!("/api/data/{}?cursor={cursor}", b.id),
                Some(&b_token),
            )
            .await;
        size += 1;
        assert!(
            answer.status == 200 || answer.status == 400,
            "A's cursor at B: {} {:?}",
            answer.status,
            answer.body
        );
        assert_nothing_of(&a, "A's cursor at B", &answer);
    }

    // The same tokens straight at the data API's RPC functions, A's client as the target.
    let a_uuid = json!(a.id);
    let rpcs: Vec<(&str, Value)> = vec![
        (
            "query_client_data",
            json!({"p_client_id": a_uuid, "p_query": {}}),
        ),
        ("get_client_data_filtered", json!({"p_client_id": a_uuid})),
        ("get_client_data_count", json!({"p_client_id": a_uuid})),
        ("get_client_schemas", json!({"p_client_id": a_uuid})),
        ("get_client_schema_versions", json!({"p_client_id": a_uuid})),
        ("profile_client_table", json!({"p_client_id": a_uuid})),
        (
            "aggregate_client_data",
            json!({"p_client_id": a_uuid, "p_query": {"group_by": [{"field": "secret"}]}}),
        ),
        ("list_clients", json!({})),
        ("get_client_credentials", json!({"p_email": a.email})),
        (
            "append_client_data",
            json!({"p_client_id": a_uuid, "p_table_name": "data",
            "p_rows": [{"secret": "attack-rpc-append"}]}),
        ),
        ("delete_client", json!({"p_client_id": a_uuid})),
    ];
    // The tests can fail: A's own token reads A's marker through the read functions.
    for (function, args) in &rpcs[..7] {
        let own = stack.rpc_direct(function, &a_token, args).await;
        assert_eq!(own.status, 200, "A's own {function}: {:?}", own.body);
        if *function != "get_client_data_count" && *function != "get_client_schema_versions" {
            assert!(
                own.body.to_string().contains(&a.marker) || *function == "get_client_schemas",
                "A's own {function} shows no marker: {:?}",
                own.body
            );
        }
    }
    for (i, c) in cases.iter().enumerate() {
        for (function, args) in &rpcs {
            let what = format!("{} on rpc/{function}", c.name);
            let mut r = stack
                .http()
                .post(format!("{}/rest/v1/rpc/{function}", stack.api_url))
                .header("apikey", &stack.anon_key)
                .json(args);
            if let Some(t) = &c.token {
                r = r.bearer_auth(t);
            }
            let response = r.send().await.expect("the data API answers");
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let answer = Answer {
                status,
                www_authenticate: None,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            };
            size += 1;
            statuses[i].push(answer.status);
            assert!(
                [401, 403, 404].contains(&answer.status),
                "{what}: {} {:?}",
                answer.status,
                answer.body
            );
            assert_ne!(
                answer.body["code"], "PGRST202",
                "{what}: the arguments do not fit"
            );
            assert_nothing_of(&a, &what, &answer);
        }
    }

    let after = snapshot(&db, &a).await;
    assert_eq!(
        before, after,
        "A's rows, row_count, schemas or the set of clients changed"
    );
    let stray: i64 = db
        .query_one(
            "select (select count(*) from public.clients where company_name like 'attack-write%'
                                                          or email like 'attack-write%')
                  + (select count(*) from public.client_data
                      where data->>'secret' like 'attack-write%' or data->>'secret' = 'attack-rpc-append')",
            &[],
        )
        .await
        .expect("count stray writes")
        .get(0);
    assert_eq!(stray, 0, "an attack wrote something");
    for (c, got) in cases.iter().zip(&statuses) {
        let (worker, rpc) = got.split_at(ROUTES.len());
        println!("{:<45} Worker {worker:?}  RPC {rpc:?}", c.name);
    }
    println!(
        "attack matrix: {} token variants x ({} Worker routes + {} RPC functions) + 2 cursor replays = {size} requests",
        cases.len(),
        ROUTES.len(),
        rpcs.len()
    );
    assert_eq!(size, cases.len() * (ROUTES.len() + rpcs.len()) + 2);
}
