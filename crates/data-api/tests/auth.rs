//! Authentication as Supabase's gateway + PostgREST do it, each test naming the behaviour it
//! mirrors. Needs DATA_API_TEST_DB_URL (see tests/common/mod.rs); fails without it.

mod common;

use common::{
    bearer, now, parts, sign_hs256, sign_with_fixture_key, Stack, PUBLISHABLE_KEY, SECRET_KEY,
};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

async fn whoami(
    stack: &Stack,
    apikey: Option<&str>,
    authorization: Option<String>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = stack
        .http
        .post(format!("{}/rest/v1/rpc/whoami", stack.base));
    if let Some(key) = apikey {
        request = request.header("apikey", key);
    }
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    parts(request.send().await.expect("rpc")).await
}

/// Supabase's gateway: no `apikey` → 401 "No API key found in request"; an unknown one → 401
/// "Invalid API key"; neither reaches the database.
#[tokio::test]
async fn apikey_is_required_and_must_be_known() {
    let stack = Stack::start().await;
    let (status, _, body) = whoami(&stack, None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "No API key found in request");
    let (status, _, body) = whoami(&stack, Some("not-a-key"), None).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid API key"})));
    let user =
        sign_hs256(json!({"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000a"}));
    let (status, _, _) = whoami(&stack, None, Some(bearer(&user))).await;
    assert_eq!(status, 401, "a valid JWT does not replace the apikey");
}

/// Without `Authorization`, the apikey's role applies: legacy keys by their claims,
/// `sb_publishable_` as anon, `sb_secret_` as service_role (also when sent as the bearer, as
/// supabase-js does).
#[tokio::test]
async fn role_comes_from_the_apikey_without_a_bearer() {
    let stack = Stack::start().await;
    let anon = stack.anon_key.clone();
    let service = stack.service_role_key.clone();
    assert_eq!(
        whoami(&stack, Some(&anon), None).await.2["current_user"],
        "anon"
    );
    assert_eq!(
        whoami(&stack, Some(&service), None).await.2["current_user"],
        "service_role"
    );
    assert_eq!(
        whoami(&stack, Some(PUBLISHABLE_KEY), None).await.2["current_user"],
        "anon"
    );
    assert_eq!(
        whoami(&stack, Some(SECRET_KEY), None).await.2["current_user"],
        "service_role"
    );
    let (status, _, body) = whoami(&stack, Some(SECRET_KEY), Some(bearer(SECRET_KEY))).await;
    assert_eq!(
        (status, body["current_user"].clone()),
        (200, json!("service_role"))
    );
    assert_eq!(body["claims"], json!({"role": "service_role"}));
}

/// PostgREST: an expired token (beyond 30 s of skew) is 401 PGRST303 with a WWW-Authenticate
/// header naming the problem.
#[tokio::test]
async fn expired_jwt_is_401_pgrst303() {
    let stack = Stack::start().await;
    let anon = stack.anon_key.clone();
    let expired = sign_hs256(json!({"role": "authenticated", "exp": now() - 120}));
    let (status, headers, body) = whoami(&stack, Some(&anon), Some(bearer(&expired))).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": "PGRST303", "message": "JWT expired", "details": null, "hint": null})
        )
    );
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"JWT expired\""
    );
    let within_skew = sign_hs256(json!({"role": "authenticated", "exp": now() - 5}));
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&within_skew)))
            .await
            .0,
        200
    );
}

/// PostgREST: a token that does not verify (wrong secret, malformed, `alg: none`) is 401
/// PGRST301 with WWW-Authenticate.
#[tokio::test]
async fn unverifiable_jwt_is_401_pgrst301() {
    let stack = Stack::start().await;
    let anon = stack.anon_key.clone();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({"role": "service_role"}),
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-some-other-secret"),
    )
    .expect("sign");
    // {"alg":"none"} . {"role":"service_role"} . (empty signature)
    let unsigned = "eyJhbGciOiJub25lIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.".to_string();
    for token in [forged, unsigned, "garbage".to_string()] {
        let (status, headers, body) = whoami(&stack, Some(&anon), Some(bearer(&token))).await;
        assert_eq!(
            (status, body["code"].clone()),
            (401, json!("PGRST301")),
            "token {token}"
        );
        assert!(headers["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Bearer error=\"invalid_token\""));
    }
}

/// Supabase's asymmetric signing keys: ES256 and RS256 tokens verify against the JWKS key
/// named by `kid`; an unknown `kid` is 401.
#[tokio::test]
async fn es256_and_rs256_verify_from_the_jwks() {
    let stack = Stack::start().await;
    let anon = stack.anon_key.clone();
    let claims = json!({"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000b", "exp": now() + 60});
    let es = sign_with_fixture_key(
        Algorithm::ES256,
        "es256-private.pem",
        "test-es256",
        claims.clone(),
    );
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&es))).await;
    assert_eq!(
        (status, body["uid"].clone()),
        (200, json!("00000000-0000-0000-0000-00000000000b"))
    );
    let rs = sign_with_fixture_key(
        Algorithm::RS256,
        "rs256-private.pem",
        "test-rs256",
        claims.clone(),
    );
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&rs))).await.2["current_user"],
        "authenticated"
    );
    let unknown_kid = sign_with_fixture_key(
        Algorithm::ES256,
        "es256-private.pem",
        "rotated-away",
        claims.clone(),
    );
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&unknown_kid))).await;
    assert_eq!((status, body["code"].clone()), (401, json!("PGRST301")));
    // The RSA key under the EC key's kid: wrong key type.
    let mismatched =
        sign_with_fixture_key(Algorithm::RS256, "rs256-private.pem", "test-es256", claims);
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&mismatched)))
            .await
            .0,
        401
    );
}

/// PostgREST's `jwt-aud`: when configured, a token whose `aud` does not contain it is 401
/// PGRST303; a token without `aud` (like Supabase's anon key) passes.
#[tokio::test]
async fn audience_is_enforced_when_configured() {
    let stack = Stack::start_with(|c| c.jwt_aud = Some("authenticated".into())).await;
    let anon = stack.anon_key.clone();
    let good = sign_hs256(json!({"role": "authenticated", "aud": "authenticated"}));
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&good))).await.0,
        200
    );
    let wrong = sign_hs256(json!({"role": "authenticated", "aud": "somebody-else"}));
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&wrong))).await;
    assert_eq!(
        (status, body["code"].clone(), body["message"].clone()),
        (401, json!("PGRST303"), json!("JWT not in audience"))
    );
    assert_eq!(whoami(&stack, Some(&anon), None).await.0, 200);
}

/// PostgREST switches to the `role` claim with the authenticator's rights: a role it is not
/// granted is refused by PostgreSQL (42501 → 403), an unknown role is 22023 → 400; no role
/// claim means anon.
#[tokio::test]
async fn role_claim_must_be_switchable() {
    let stack = Stack::start().await;
    let anon = stack.anon_key.clone();
    let superuser = sign_hs256(json!({"role": "postgres"}));
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&superuser))).await;
    assert_eq!((status, body["code"].clone()), (403, json!("42501")));
    let unknown = sign_hs256(json!({"role": "no_such_role"}));
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&unknown))).await;
    assert_eq!((status, body["code"].clone()), (400, json!("22023")));
    let no_role = sign_hs256(json!({"sub": "00000000-0000-0000-0000-00000000000a"}));
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&no_role))).await.2["current_user"],
        "anon"
    );
}

/// PostgREST accepts a signed token without `exp` (PostgREST/postgrest#638: `exp` is optional,
/// checked only when present); with `jwt-aud` set, a token without `aud` passes and an empty
/// `aud` list does not (PostgREST/postgrest#2093, cases 4 and 1).
#[tokio::test]
async fn tokens_without_exp_pass_and_empty_audience_lists_do_not() {
    let stack = Stack::start_with(|c| c.jwt_aud = Some("authenticated".into())).await;
    let anon = stack.anon_key.clone();
    let sub = "00000000-0000-0000-0000-00000000000a";
    let no_exp = sign_hs256(json!({"role": "authenticated", "sub": sub, "aud": "authenticated"}));
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&no_exp))).await;
    assert_eq!((status, body["uid"].clone()), (200, json!(sub)));
    let no_aud = sign_hs256(json!({"role": "authenticated", "sub": sub, "exp": now() + 60}));
    assert_eq!(
        whoami(&stack, Some(&anon), Some(bearer(&no_aud))).await.0,
        200
    );
    let empty_aud = sign_hs256(json!({"role": "authenticated", "aud": [], "exp": now() + 60}));
    let (status, _, body) = whoami(&stack, Some(&anon), Some(bearer(&empty_aud))).await;
    assert_eq!((status, body["code"].clone()), (401, json!("PGRST303")));
}
