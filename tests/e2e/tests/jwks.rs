//! Supabase's asymmetric JWT signing keys end to end: tokens signed with the stack's ES256 and
//! RS256 private keys, verified by the Worker (JWKS fetched from the data API's
//! `/auth/v1/.well-known/jwks.json`) and by the data API itself (its configured JWKS).

use e2e::{mint_hs256, now, rows, unique, SigningKey, Stack};
use serde_json::{json, Value};

/// A user token as Supabase Auth issues it for `sub`.
fn user_claims(sub: &str, exp: i64) -> Value {
    json!({"sub": sub, "role": "authenticated", "aud": "authenticated", "iat": now(), "exp": exp})
}

/// A client with `n` rows `{n: i, tag}`; returns (client_id, auth_user_id).
async fn new_client(stack: &Stack, tag: &str, n: usize) -> (String, String) {
    let data: Vec<Value> = (0..n).map(|i| json!({"n": i, "tag": tag})).collect();
    let created = stack
        .create_client(&json!({
            "company_name": unique(&format!("{tag} Ltd")),
            "email": format!("{}@example.com", unique(tag)),
            "data": data,
        }))
        .await;
    let field = |name: &str| {
        created["client"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {created}"))
            .to_owned()
    };
    (field("client_id"), field("auth_user_id"))
}

/// `GET /api/data/{id}` as `token`: 200 with exactly `n` rows tagged `tag`, and the count.
async fn assert_reads_own_rows(stack: &Stack, id: &str, token: &str, n: usize, tag: &str) {
    let page = stack.get(&format!("/api/data/{id}"), Some(token)).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let mine = rows(&page.body);
    assert_eq!(mine.len(), n, "{mine:?}");
    assert!(
        mine.iter().all(|r| r["tag"] == tag),
        "foreign rows: {mine:?}"
    );
    let count = stack
        .get(&format!("/api/data/{id}/count"), Some(token))
        .await;
    assert_eq!((count.status, count.body), (200, json!({"count": n})));
}

#[tokio::test]
async fn the_data_api_publishes_the_public_keys_without_an_apikey() {
    let stack = Stack::connect().await;
    let (es256, rs256) = (SigningKey::es256(), SigningKey::rs256());
    let jwks: Value = stack
        .http()
        .get(format!("{}/auth/v1/.well-known/jwks.json", stack.api_url))
        .send()
        .await
        .expect("GET jwks.json")
        .json()
        .await
        .expect("a JSON JWKS");
    let keys = jwks["keys"].as_array().expect("keys");
    for (kid, kty, alg) in [(&es256.kid, "EC", "ES256"), (&rs256.kid, "RSA", "RS256")] {
        let key = keys
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("{kid} not served: {jwks}"));
        assert_eq!(
            (&key["kty"], &key["alg"], &key["use"]),
            (&json!(kty), &json!(alg), &json!("sig"))
        );
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member `{private}` served: {key}"
            );
        }
    }
}

#[tokio::test]
async fn es256_and_rs256_client_tokens_read_their_own_rows() {
    let stack = Stack::connect().await;
    let (a_id, a_user) = new_client(&stack, "kappa", 3).await;
    let (b_id, b_user) = new_client(&stack, "lambda", 2).await;
    let (es256, rs256) = (SigningKey::es256(), SigningKey::rs256());

    let a_es256 = es256.sign(&user_claims(&a_user, now() + 300));
    let a_rs256 = rs256.sign(&user_claims(&a_user, now() + 300));
    let b_rs256 = rs256.sign(&user_claims(&b_user, now() + 300));
    assert_reads_own_rows(&stack, &a_id, &a_es256, 3, "kappa").await;
    assert_reads_own_rows(&stack, &a_id, &a_rs256, 3, "kappa").await;
    assert_reads_own_rows(&stack, &b_id, &b_rs256, 2, "lambda").await;

    // A verified asymmetric token is still only its own client's.
    let across = stack
        .get(&format!("/api/data/{b_id}"), Some(&a_es256))
        .await;
    assert_eq!(across.status, 404, "{:?}", across.body);
    assert_eq!(across.body["code"], "client_not_found");
}

#[tokio::test]
async fn an_es256_superadmin_token_creates_a_client() {
    let stack = Stack::connect().await;
    let es256 = SigningKey::es256();
    let mut claims = user_claims("00000000-0000-4000-8000-00000000a11c", now() + 300);
    claims["app_metadata"] = json!({"provider": "email", "role": "superadmin"});
    let admin = es256.sign(&claims);
    let created = stack
        .post(
            "/api/superadmin/clients",
            Some(&admin),
            &json!({
                "company_name": unique("Mu Ltd"),
                "email": format!("{}@example.com", unique("mu")),
                "data": [{"tag": "mu", "n": 1}, {"tag": "mu", "n": 2}],
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["rows_stored"], 2);
    let id = created.body["client"]["client_id"]
        .as_str()
        .expect("client_id");
    assert_reads_own_rows(&stack, id, &admin, 2, "mu").await;

    // Without the superadmin role, the same key signs an ordinary user: no creating clients.
    let user = es256.sign(&user_claims(
        "00000000-0000-4000-8000-00000000a11c",
        now() + 300,
    ));
    let refused = stack
        .post(
            "/api/superadmin/clients",
            Some(&user),
            &json!({"company_name": "x", "email": format!("{}@example.com", unique("x")), "data": []}),
        )
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
}

#[tokio::test]
async fn untrusted_asymmetric_tokens_get_401_invalid_token() {
    let stack = Stack::connect().await;
    let (id, user) = new_client(&stack, "nu", 1).await;
    let (es256, rs256) = (SigningKey::es256(), SigningKey::rs256());
    let good = es256.sign(&user_claims(&user, now() + 300));
    assert_eq!(
        stack
            .get(&format!("/api/data/{id}"), Some(&good))
            .await
            .status,
        200
    );

    // What an attacker can get: the public key, as PEM (openssl) and as served in the JWKS.
    let public_pem = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in", &es256.private_key_file])
        .output()
        .expect("openssl (installed by `cargo xtask setup`)")
        .stdout;
    assert!(public_pem.starts_with(b"-----BEGIN PUBLIC KEY-----"));
    let jwks: Value = stack
        .http()
        .get(format!("{}/auth/v1/.well-known/jwks.json", stack.api_url))
        .send()
        .await
        .expect("GET jwks.json")
        .json()
        .await
        .expect("JSON");
    let public_jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == es256.kid.as_str()))
        .expect("served ES256 key")
        .to_string();
    let hs256_with = |secret: &[u8]| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(es256.kid.clone());
        jsonwebtoken::encode(
            &header,
            &user_claims(&user, now() + 300),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("HS256 signing")
    };
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let forged = mint_hs256(
            b"x",
            &json!({"sub": user, "role": "service_role", "aud": "authenticated", "exp": now() + 300}),
        );
        parts[1] = forged.split('.').nth(1).expect("payload").to_owned();
        parts.join(".")
    };

    let cases = [
        (
            "unknown kid",
            es256.sign_as("no-such-key", &user_claims(&user, now() + 300)),
        ),
        (
            "ES256 naming the RSA key",
            es256.sign_as(&rs256.kid, &user_claims(&user, now() + 300)),
        ),
        (
            "RS256 naming the EC key",
            rs256.sign_as(&es256.kid, &user_claims(&user, now() + 300)),
        ),
        (
            "HS256 keyed with the EC public key PEM",
            hs256_with(&public_pem),
        ),
        (
            "HS256 keyed with the EC public JWK",
            hs256_with(public_jwk.as_bytes()),
        ),
        ("tampered payload", tampered),
        ("expired", es256.sign(&user_claims(&user, now() - 120))),
        (
            "expired RS256",
            rs256.sign(&user_claims(&user, now() - 120)),
        ),
    ];
    for (what, token) in cases {
        let a = stack.get(&format!("/api/data/{id}"), Some(&token)).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (401, Some("invalid_token")),
            "{what}: {:?}",
            a.body
        );
        assert!(a.www_authenticate.is_some(), "{what}: no WWW-Authenticate");
        assert!(a.body.get("data").is_none(), "{what}: {:?}", a.body);
    }
}

#[tokio::test]
async fn the_data_api_verifies_es256_itself() {
    let stack = Stack::connect().await;
    let (id, user) = new_client(&stack, "xi", 4).await;
    let es256 = SigningKey::es256();
    let args = json!({"p_client_id": id});

    let token = es256.sign(&user_claims(&user, now() + 300));
    let counted = stack
        .rpc_direct("get_client_data_count", &token, &args)
        .await;
    assert_eq!((counted.status, counted.body), (200, json!(4)));

    let unknown = es256.sign_as("no-such-key", &user_claims(&user, now() + 300));
    let refused = stack
        .rpc_direct("get_client_data_count", &unknown, &args)
        .await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "PGRST301");
    assert!(refused.www_authenticate.is_some());
}
