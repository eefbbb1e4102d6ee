//! Who is calling: bearer-token verification (signature with WebCrypto, then claims, then who it
//! is), login tokens, and password hashes.
//!
//! Design decision: each algorithm is bound to one key source. HS256 tokens are checked against
//! the project secret only; ES256/RS256 only against the JWKS key with the token's `kid` and a
//! matching key type — so an HS256 token "signed" with a public key, or an ES256 token claiming
//! the secret, cannot verify. `jwt`, `password` and `verified` (the per-isolate cache of tokens
//! whose signature verified, and why that is safe) are pure (tested natively); `crypto` and
//! `jwks` do the I/O.

pub mod crypto;
pub mod jwks;
pub mod jwt;
pub mod password;
pub mod verified;

use serde_json::Value;
use worker::js_sys;

use crate::config::Config;
use crate::error::ApiError;
use crypto::PublicAlg;
use jwt::{Alg, Principal};
use password::PhcHash;

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
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
    let Some(jwk) = jwks::jwk_for(url, kid).await? else {
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

thread_local! {
    static VERIFIED: std::cell::RefCell<verified::Verified> =
        std::cell::RefCell::new(verified::Verified::default());
}

/// Verifies a bearer token completely; `Principal` says who it speaks for. A token whose
/// signature verified before in this isolate skips only the signature (see `verified`).
pub async fn verify(config: &Config, token: &str) -> Result<Principal, ApiError> {
    let secret = config.jwt_secret.as_str();
    let cached = VERIFIED.with(|v| v.borrow().get(secret, token, now_ms()));
    if let Some(claims) = cached {
        let now = (now_ms() / 1000.0) as i64;
        jwt::validate_claims(&claims, now, &config.jwt_aud)?;
        return Ok(jwt::principal(&claims, token));
    }
    let parsed = jwt::parse(token)?;
    if !signature_ok(config, &parsed).await? {
        return Err(ApiError::invalid_token("JWT signature does not verify"));
    }
    let now_ms = now_ms();
    let now = (now_ms / 1000.0) as i64;
    jwt::validate_claims(&parsed.claims, now, &config.jwt_aud)?;
    let principal = jwt::principal(&parsed.claims, token);
    let good_until_ms = match parsed.alg {
        Alg::Hs256 => f64::INFINITY,
        Alg::Es256 | Alg::Rs256 => now_ms + verified::PUBLIC_KEY_TTL_MS,
    };
    VERIFIED.with(|v| {
        v.borrow_mut()
            .insert(secret, token, parsed.claims, good_until_ms)
    });
    Ok(principal)
}

/// Signs an HS256 token for a client or a superadmin account that logged in with a password.
pub async fn mint_login_token(
    config: &Config,
    auth_user_id: &str,
    subject: jwt::LoginSubject<'_>,
) -> Result<String, ApiError> {
    let now = (now_ms() / 1000.0) as i64;
    let input = jwt::login_signing_input(
        auth_user_id,
        subject,
        &config.jwt_aud,
        now,
        config.token_ttl_seconds,
    );
    let sig = crypto::hmac_sha256_sign(config.jwt_secret.as_bytes(), input.as_bytes()).await?;
    Ok(format!("{input}.{}", jwt::encode_signature(&sig)))
}

/// A new PHC hash of `password` (random salt, [`password::NEW_HASH_ITERATIONS`]).
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = crypto::random_bytes(password::SALT_BYTES)?;
    let hash = crypto::pbkdf2_sha256(
        password.as_bytes(),
        &salt,
        password::NEW_HASH_ITERATIONS,
        password::HASH_BYTES,
    )
    .await?;
    Ok(PhcHash {
        iterations: password::NEW_HASH_ITERATIONS,
        salt,
        hash,
    }
    .format())
}

/// Whether `password` matches `stored` (a PHC string). Without a usable stored hash (unknown
/// email, or a hash in another format) a decoy is derived instead, so every failure costs the
/// same PBKDF2 work and the answer time does not tell accounts apart.
pub async fn password_matches(password: &str, stored: Option<&str>) -> Result<bool, ApiError> {
    let parsed = stored.and_then(PhcHash::parse);
    let genuine = parsed.is_some();
    let reference = parsed.unwrap_or_else(|| PhcHash {
        iterations: password::NEW_HASH_ITERATIONS,
        salt: b"hybrid-store-decoy".to_vec(),
        hash: vec![0; password::HASH_BYTES],
    });
    let derived = crypto::pbkdf2_sha256(
        password.as_bytes(),
        &reference.salt,
        reference.iterations,
        reference.hash.len(),
    )
    .await?;
    Ok(password::constant_time_eq(&derived, &reference.hash) && genuine)
}

/// What creating a client needs beyond the database: a password hasher and a random id.
/// WebCrypto in the Worker ([`WebCrypto`]); a fixed stand-in in native tests.
#[allow(async_fn_in_trait)] // Used by generics only, never as `dyn` and never across threads.
pub trait Minter {
    async fn hash_password(&self, password: &str) -> Result<String, ApiError>;
    /// 16 random bytes, for a new client id.
    fn random_id_bytes(&self) -> Result<[u8; 16], ApiError>;
}

/// [`Minter`] over WebCrypto.
pub struct WebCrypto;

impl Minter for WebCrypto {
    async fn hash_password(&self, password: &str) -> Result<String, ApiError> {
        hash_password(password).await
    }

    fn random_id_bytes(&self) -> Result<[u8; 16], ApiError> {
        let bytes = crypto::random_bytes(16)?;
        let mut b = [0u8; 16];
        b.copy_from_slice(&bytes[..16]);
        Ok(b)
    }
}
