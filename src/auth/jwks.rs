//! The JWKS (public keys of ES256/RS256 tokens), fetched from `SUPABASE_JWKS_URL` and cached per
//! isolate.
//!
//! Design decision: a TTL plus a rate-limited refetch on an unknown `kid`, so a key rotation is
//! picked up within 30 s while a flood of tokens with made-up kids cannot make the Worker fetch
//! the JWKS on every request.

use std::cell::RefCell;

use serde_json::Value;

use super::now_ms;
use crate::db::fetch::get_json;
use crate::error::ApiError;

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

/// The JWK with `kid`, from the cache or a (re)fetch.
pub async fn jwk_for(url: &str, kid: &str) -> Result<Option<Value>, ApiError> {
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
    let doc = get_json(url).await?;
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
