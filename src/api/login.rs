//! `POST /api/auth/login`: `{email, password}` → a signed HS256 token for the client or the
//! superadmin account the email belongs to, with `role` and `client_id` beside it so the console
//! need not decode the token.
//!
//! Design decision: an unknown email costs the same PBKDF2 work as a wrong password (a decoy
//! hash, see [`crate::auth::password_matches`]), and both answer the same 401, so neither the
//! answer nor its time tells accounts apart.

use serde::Deserialize;
use serde_json::json;

use crate::api::Reply;
use crate::auth;
use crate::auth::jwt::LoginSubject;
use crate::config::Config;
use crate::db::{self, AccountKind, Rpc};
use crate::error::{ApiError, ErrorCode};

pub async fn login(rpc: &impl Rpc, config: &Config, body: &[u8]) -> Result<Reply, ApiError> {
    let login = parse_login(body)?;
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
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
