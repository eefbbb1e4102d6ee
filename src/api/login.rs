//! `POST /api/auth/login`: `{email, password}` → a signed HS256 token for the client or the
//! superadmin account the email belongs to, with `role` and `client_id` beside it so the console
//! need not decode the token; throttled per account email and per client address.
//!
//! Design decision: an unknown email costs the same PBKDF2 work as a wrong password (a decoy
//! hash, see [`crate::auth::password_matches`]), and both answer the same 401, so neither the
//! answer nor its time tells accounts apart. The throttle runs before the account is looked up
//! and is keyed by the email as typed, so a 429 says nothing about whether the account exists
//! either. It uses Cloudflare's rate-limiting binding (`[[ratelimits]]` in wrangler.toml,
//! simulated by `wrangler dev`) rather than a Durable Object: no storage, no extra round trip
//! to a single location, and its counting per Cloudflare location is enough against guessing.

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::Reply;
use crate::auth;
use crate::auth::jwt::LoginSubject;
use crate::config::Config;
use crate::db::{self, AccountKind, Rpc};
use crate::error::{ApiError, ErrorCode};

/// The binding counting attempts per email (wrangler.toml).
pub const EMAIL_LIMITER: &str = "LOGIN_EMAIL_LIMITER";
/// The binding counting attempts per client address (`CF-Connecting-IP`).
pub const ADDRESS_LIMITER: &str = "LOGIN_ADDRESS_LIMITER";

/// A rate limiter: `Ok(true)` while `key` is within the limit of `binding`.
pub trait Limiter {
    async fn allow(&self, binding: &'static str, key: &str) -> Result<bool, ApiError>;
}

/// Counts this attempt against the email and the address; 429 when either is over its limit.
/// Both are counted on every attempt, so a sender cannot spend one limit while probing the other.
pub async fn throttle(
    limiter: &impl Limiter,
    address: Option<&str>,
    email: &str,
) -> Result<(), ApiError> {
    let address_ok = limiter
        .allow(
            ADDRESS_LIMITER,
            &format!("address:{}", address.unwrap_or("unknown")),
        )
        .await?;
    // Keyed by a digest: the limiter never sees an email address.
    let email_digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    let email_key: String = email_digest[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let email_ok = limiter
        .allow(EMAIL_LIMITER, &format!("email:{email_key}"))
        .await?;
    if address_ok && email_ok {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::RateLimited,
        "too many login attempts for this email or from this address; try again later",
    ))
}

pub async fn login(rpc: &impl Rpc, config: &Config, login: Login) -> Result<Reply, ApiError> {
    let account = db::credentials(rpc, login.email.trim()).await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
    if let (Some(a), Some(hash)) = (&account, stored) {
        if auth::password::PhcHash::parse(hash).is_none() {
            worker::console_warn!(
                "account {} has a password_hash that is not pbkdf2-sha256 PHC",
                a.id
            );
        }
    }
    let matches = auth::password_matches(&login.password, stored).await?;
    let Some(account) = account.filter(|_| matches) else {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "email or password is wrong",
        ));
    };
    let (subject, role, client_id) = match account.kind {
        AccountKind::Client => (
            LoginSubject::Client {
                client_id: &account.id,
            },
            "client",
            Some(account.id.as_str()),
        ),
        AccountKind::Admin => (LoginSubject::Superadmin, "superadmin", None),
    };
    let token = auth::mint_login_token(config, &account.auth_user_id, subject).await?;
    Ok(Reply::ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": config.token_ttl_seconds,
        "role": role,
        "client_id": client_id,
    })))
}

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidBody, message)
}

#[derive(Debug, Deserialize)]
pub struct Login {
    pub email: String,
    pub password: String,
}

pub fn parse_login(body: &[u8]) -> Result<Login, ApiError> {
    let login: Login = serde_json::from_slice(body)
        .map_err(|_| invalid_body("body must be {\"email\": \"…\", \"password\": \"…\"}"))?;
    if login.email.trim().is_empty() || login.password.is_empty() || login.password.len() > 1024 {
        return Err(invalid_body("email and password must be non-empty"));
    }
    if login.email.len() > 320 {
        return Err(invalid_body("email must have at most 320 characters")
            .with_details(json!({"field": "email"})));
    }
    // PostgreSQL text cannot hold U+0000: the lookup would fail as a 500.
    if login.email.contains('\0') {
        return Err(
            invalid_body("email contains a NUL byte").with_details(json!({"field": "email"}))
        );
    }
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::block_on;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Allows `limit` attempts per (binding, key).
    struct Counting {
        limit: u32,
        seen: RefCell<HashMap<(String, String), u32>>,
    }

    impl Limiter for Counting {
        async fn allow(&self, binding: &'static str, key: &str) -> Result<bool, ApiError> {
            let mut seen = self.seen.borrow_mut();
            let n = seen.entry((binding.into(), key.into())).or_default();
            *n += 1;
            Ok(*n <= self.limit)
        }
    }

    #[test]
    fn throttled_per_email_whatever_its_case_and_per_address() {
        let limiter = Counting {
            limit: 2,
            seen: RefCell::default(),
        };
        let attempt = |address, email| block_on(throttle(&limiter, Some(address), email));
        assert!(attempt("1.1.1.1", "A@b.co").is_ok());
        assert!(attempt("2.2.2.2", " a@b.co").is_ok());
        let e = attempt("3.3.3.3", "a@B.co").unwrap_err();
        assert_eq!((e.status(), e.code), (429, ErrorCode::RateLimited));
        assert_eq!(e.retry_after(), Some(60));
        assert!(attempt("4.4.4.4", "other@b.co").is_ok());
        assert!(attempt("4.4.4.4", "third@b.co").is_ok());
        assert!(
            attempt("4.4.4.4", "fourth@b.co").is_err(),
            "the address is over its limit"
        );
        let keys: Vec<String> = limiter
            .seen
            .borrow()
            .keys()
            .map(|(_, k)| k.clone())
            .collect();
        assert!(
            keys.iter().all(|k| !k.contains('@')),
            "no email in a key: {keys:?}"
        );
    }

    #[test]
    fn login_body() {
        assert_eq!(
            parse_login(br#"{"email":"a@b.co","password":"pw"}"#)
                .unwrap()
                .email,
            "a@b.co"
        );
        assert_eq!(
            parse_login(br#"{"email":"a@b.co"}"#).unwrap_err().code,
            ErrorCode::InvalidBody
        );
        assert_eq!(
            parse_login(br#"{"email":"","password":"x"}"#)
                .unwrap_err()
                .status(),
            400
        );
        let e = parse_login(br#"{"email":"a\u0000@b.co","password":"x"}"#).unwrap_err();
        assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidBody));
        assert!(e.message.contains("email"), "{}", e.message);
    }
}
