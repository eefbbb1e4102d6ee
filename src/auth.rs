//! Bearer-token verification: signature (WebCrypto), then claims ([`crate::jwt`]), then who it is.
//!
//! HS256 tokens are checked against the project secret only; ES256/RS256 only against the JWKS
//! key with the token's `kid` and a matching key type — so an HS256 token "signed" with a public
//! key, or an ES256 token claiming the secret, cannot verify. The JWKS is cached per isolate.

use std::cell::RefCell;

use serde_json::Value;
use worker::js_sys;

use crate::config::Config;
use crate::crypto::{self, PublicAlg};
use crate::error::ApiError;
use crate::jwt::{self, Alg, Principal};
use crate::postgrest;

/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL_MS: f64 = 600_000.0;
/// An unknown `kid` refetches the JWKS (key rotation) at most this often.
const JWKS_REFETCH_MIN_MS: f64 = 30_000.0;

struct CachedJwks {
    url: String,
    fetched_at_ms: f64,
    keys: Vec<Value>,
}

thread_local! {
    static JWKS: RefCell<Option<CachedJwks>> = const { RefCell::new(None) };
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The JWK with `kid`, from the cache or a (re)fetch.
async fn jwk_for(url: &str, kid: &str) -> Result<Option<Value>, ApiError> {
    let find = |keys: &[Value]| {
        keys.iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .cloned()
    };
    let now = now_ms();
    let cached = JWKS.with(|c| {
        c.borrow().as_ref().filter(|j| j.url == url).map(|j| {
            let age = now - j.fetched_at_ms;
            (age, find(&j.keys))
        })
    });
    match cached {
        Some((age, Some(key))) if age < JWKS_TTL_MS => return Ok(Some(key)),
        Some((age, None)) if age < JWKS_REFETCH_MIN_MS => return Ok(None),
        _ => {}
    }
    let doc = postgrest::get_json(url).await?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::upstream_unavailable(format!("JWKS at {url} has no `keys`")))?;
    let found = find(&keys);
    JWKS.with(|c| {
        *c.borrow_mut() = Some(CachedJwks {
            url: url.to_owned(),
            fetched_at_ms: now,
            keys,
        })
    });
    Ok(found)
}

async fn signature_ok(config: &Config, token: &jwt::UnverifiedJwt) -> Result<bool, ApiError> {
    let data = token.signing_input.as_bytes();
    let public_alg = match token.alg {
        Alg::Hs256 => {
            return crypto::hmac_sha256_verify(config.jwt_secret.as_bytes(), data, &token.signature)
                .await
        }
        Alg::Es256 => PublicAlg::Es256,
        Alg::Rs256 => PublicAlg::Rs256,
    };
    let Some(url) = &config.jwks_url else {
        return Err(ApiError::invalid_token(
            "asymmetric JWTs are not accepted: SUPABASE_JWKS_URL is not configured",
        ));
    };
    let Some(kid) = &token.kid else {
        return Err(ApiError::invalid_token("ES256/RS256 JWT has no `kid`"));
    };
    let Some(jwk) = jwk_for(url, kid).await? else {
        return Err(ApiError::invalid_token(format!(
            "JWT key id `{kid}` is not in the JWKS"
        )));
    };
    let (kty, jwk_alg) = (
        jwk.get("kty").and_then(Value::as_str),
        jwk.get("alg").and_then(Value::as_str),
    );
    let expected = match public_alg {
        PublicAlg::Es256 => ("EC", "ES256"),
        PublicAlg::Rs256 => ("RSA", "RS256"),
    };
    if kty != Some(expected.0) || jwk_alg.is_some_and(|a| a != expected.1) {
        return Err(ApiError::invalid_token(format!(
            "JWT key `{kid}` is not a {} key",
            expected.1
        )));
    }
    crypto::verify_with_jwk(public_alg, &jwk, data, &token.signature).await
}

/// Verifies a bearer token completely; `Principal` says who it speaks for.
pub async fn verify(config: &Config, token: &str) -> Result<Principal, ApiError> {
    let parsed = jwt::parse(token)?;
    if !signature_ok(config, &parsed).await? {
        return Err(ApiError::invalid_token("JWT signature does not verify"));
    }
    let now = (now_ms() / 1000.0) as i64;
    jwt::validate_claims(&parsed.claims, now, &config.jwt_aud)?;
    Ok(jwt::principal(&parsed.claims, token))
}

/// Signs an HS256 token for a client that logged in with a password.
pub async fn mint_login_token(
    config: &Config,
    auth_user_id: &str,
    client_id: &str,
) -> Result<String, ApiError> {
    let now = (now_ms() / 1000.0) as i64;
    let input = jwt::login_signing_input(
        auth_user_id,
        client_id,
        &config.jwt_aud,
        now,
        config.token_ttl_seconds,
    );
    let sig = crypto::hmac_sha256_sign(config.jwt_secret.as_bytes(), input.as_bytes()).await?;
    Ok(format!("{input}.{}", jwt::encode_signature(&sig)))
}
