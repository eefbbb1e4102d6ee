//! `GET /auth/v1/user`, enough of Supabase Auth (GoTrue) for `supabase.auth.getUser(jwt)`: the
//! gateway's API-key check, then the bearer token verified like every other token here, and
//! the user object built from its claims.
//!
//! Design decision: there is no `auth.users` table locally (the Worker mints its clients'
//! tokens), so the user is what the verified claims say — id from `sub`, `aud`, `role`,
//! `email`, `phone`, `app_metadata`, `user_metadata`, `is_anonymous`; fields only the Auth
//! database knows (`created_at`, `identities`, `last_sign_in_at`, …) are left out rather than
//! invented. Errors have GoTrue's shape `{code, error_code, msg}`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::error::{ErrorBody, JSON_CONTENT_TYPE};
use crate::server::AppState;

/// A GoTrue error: `{"code": status, "error_code": …, "msg": …}`.
fn auth_error(status: StatusCode, error_code: &str, msg: String) -> Response {
    let body = json!({"code": status.as_u16(), "error_code": error_code, "msg": msg});
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

pub async fn user(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // The gateway's key check, exactly as for /rest/v1 (no bearer: only the key is judged).
    if let Err(err) = state.auth.authenticate(text("apikey"), None, now) {
        return err.into_response();
    }
    let token = text(header::AUTHORIZATION.as_str())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return auth_error(
            StatusCode::UNAUTHORIZED,
            "no_authorization",
            "This endpoint requires a valid Bearer token".into(),
        );
    };
    let claims = match state.auth.verify(token, now) {
        Ok(claims) => claims,
        Err(err) => {
            let reason = match err.body.as_ref() {
                ErrorBody::Postgrest { message, .. } | ErrorBody::Gateway { message, .. } => {
                    message.clone()
                }
            };
            return auth_error(
                StatusCode::FORBIDDEN,
                "bad_jwt",
                format!("invalid JWT: unable to parse or verify signature, {reason}"),
            );
        }
    };
    match user_from_claims(&claims) {
        Some(user) => {
            let mut response = (StatusCode::OK, user.to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            );
            response
        }
        None => auth_error(
            StatusCode::FORBIDDEN,
            "bad_jwt",
            "invalid claim: missing sub claim".into(),
        ),
    }
}

/// The user object GoTrue returns, from a token's claims; `None` without a `sub`.
pub fn user_from_claims(claims: &Value) -> Option<Value> {
    let sub = claims.get("sub").and_then(Value::as_str)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    let object = |name: &str| match claims.get(name) {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        _ => Value::Object(Map::new()),
    };
    let aud = match claims.get("aud") {
        Some(Value::String(aud)) => aud.clone(),
        Some(Value::Array(list)) => list
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    Some(json!({
        "id": sub,
        "aud": aud,
        "role": text("role"),
        "email": text("email"),
        "phone": text("phone"),
        "app_metadata": object("app_metadata"),
        "user_metadata": object("user_metadata"),
        "is_anonymous": claims.get("is_anonymous").and_then(Value::as_bool).unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GoTrue's `GET /user` answers id (= sub), aud, role, email and both metadata objects.
    #[test]
    fn user_comes_from_the_claims() {
        let user = user_from_claims(&json!({
            "sub": "0b6a8d1c-0000-4000-8000-000000000001", "aud": "authenticated",
            "role": "authenticated", "email": "a@example.test",
            "app_metadata": {"client_id": "c"}, "exp": 1
        }))
        .expect("a user");
        assert_eq!(user["id"], "0b6a8d1c-0000-4000-8000-000000000001");
        assert_eq!(user["aud"], "authenticated");
        assert_eq!(user["role"], "authenticated");
        assert_eq!(user["email"], "a@example.test");
        assert_eq!(user["app_metadata"], json!({"client_id": "c"}));
        assert_eq!(user["user_metadata"], json!({}));
        assert!(user_from_claims(&json!({"role": "anon"})).is_none());
    }
}
