//! Supabase Auth publishes its signing keys at `/auth/v1/.well-known/jwks.json`, without an
//! API key; verifiers (the Worker) fetch them there. Needs DATA_API_TEST_DB_URL (see
//! tests/common/mod.rs); fails without it.

mod common;

use common::{now, parts, sign_with_fixture_key, Stack};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

/// Members a private JWK has and a public one must not (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

async fn served_jwks(stack: &Stack) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = stack
        .http
        .get(format!("{}/auth/v1/.well-known/jwks.json", stack.base))
        .send()
        .await
        .expect("GET jwks.json");
    parts(response).await
}

fn keys(body: &Value) -> &Vec<Value> {
    body["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("not a JWKS document: {body}"))
}

/// The configured public keys are served with no `apikey` (Supabase serves this path without
/// one), each usable as is to verify a token signed with its private key.
#[tokio::test]
async fn configured_public_keys_are_served_without_an_apikey() {
    let stack = Stack::start().await;
    let (status, headers, body) = served_jwks(&stack).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let kids: Vec<&str> = keys(&body)
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, ["test-es256", "test-rs256"]);

    for (alg, pem, kid) in [
        (Algorithm::ES256, "es256-private.pem", "test-es256"),
        (Algorithm::RS256, "rs256-private.pem", "test-rs256"),
    ] {
        let token = sign_with_fixture_key(
            alg,
            pem,
            kid,
            json!({"sub": "someone", "role": "authenticated", "exp": now() + 60}),
        );
        let served = keys(&body)
            .iter()
            .find(|k| k["kid"] == kid)
            .expect("served key");
        let jwk: Jwk = serde_json::from_value(served.clone()).expect("a JWK");
        let key = DecodingKey::from_jwk(&jwk).expect("a usable public key");
        let verified = decode::<Value>(&token, &key, &Validation::new(alg));
        assert!(verified.is_ok(), "{kid}: {verified:?}");
    }
}

/// A JWKS file holding private JWKs (and a symmetric one) must never leak a secret member.
#[tokio::test]
async fn private_members_are_never_served() {
    let stack = Stack::start_with(|config| {
        config.jwks = Some(
            serde_json::from_value(json!({"keys": [
                {"kty": "EC", "crv": "P-256", "kid": "private-ec", "alg": "ES256", "use": "sig",
                 "x": "HKIYNcF4kZmVZVBkuVsPQ3tSgG6At8Ggm-sq1HdWymo",
                 "y": "AC_Kj2Cf17ViYiDBzW_anWdC_Ibed0Cby0rEYuZK-D4",
                 "d": "c2VjcmV0LWVjLXByaXZhdGUtc2NhbGFyLXNlY3JldC1k"},
                {"kty": "RSA", "kid": "private-rsa", "alg": "RS256", "n": "3q2-7w", "e": "AQAB",
                 "d": "c2VjcmV0", "p": "c2VjcmV0", "q": "c2VjcmV0", "dp": "c2VjcmV0",
                 "dq": "c2VjcmV0", "qi": "c2VjcmV0"},
                {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2hhcmVkLXNlY3JldA"}
            ]}))
            .expect("a JWKS document"),
        );
    })
    .await;
    let (status, _, body) = served_jwks(&stack).await;
    assert_eq!(status, 200, "{body}");
    let kids: Vec<&str> = keys(&body)
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(
        kids,
        ["private-ec", "private-rsa"],
        "the symmetric key is left out"
    );
    for key in keys(&body) {
        for member in PRIVATE_MEMBERS {
            assert!(key.get(member).is_none(), "`{member}` served in {key}");
        }
    }
    assert!(!body.to_string().contains("c2VjcmV0"), "{body}");
}

/// Without a configured JWKS the document is still there, empty, as on a project that only has
/// the legacy JWT secret.
#[tokio::test]
async fn no_jwks_configured_serves_an_empty_set() {
    let stack = Stack::start_with(|config| config.jwks = None).await;
    let (status, _, body) = served_jwks(&stack).await;
    assert_eq!((status, body), (200, json!({"keys": []})));
}
