//! The parse stage of `POST /api/auth/login`. (Upload bodies, create and append, are parsed
//! in `body` and `multipart`.)

use serde::Deserialize;

use crate::error::ApiError;

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_body", message)
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
            "invalid_body"
        );
        assert_eq!(
            parse_login(br#"{"email":"","password":"x"}"#)
                .unwrap_err()
                .status,
            400
        );
    }
}
