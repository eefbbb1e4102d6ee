//! Errors in the two shapes clients of Supabase see: PostgREST's `{code, message, details, hint}`
//! with PostgREST's SQLSTATE → HTTP status mapping, and the API gateway's `{message, hint}` for
//! requests rejected before they reach PostgREST (API key, body size).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in every `Result` of the request path, which stays small.
    pub body: Box<ErrorBody>,
    /// `WWW-Authenticate` value for invalid tokens (RFC 6750), as PostgREST sends it.
    pub www_authenticate: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorBody {
    /// PostgREST's body; `code` is a SQLSTATE or a `PGRSTnnn` code.
    Postgrest {
        code: String,
        message: String,
        details: Option<String>,
        hint: Option<String>,
    },
    /// The gateway's (Kong's) body.
    Gateway {
        message: String,
        hint: Option<String>,
    },
}

impl ApiError {
    pub fn postgrest(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody::Postgrest {
                code: code.to_string(),
                message: message.into(),
                details: None,
                hint: None,
            }),
            www_authenticate: None,
        }
    }

    pub fn with_details(mut self, value: impl Into<String>) -> Self {
        if let ErrorBody::Postgrest { details, .. } = self.body.as_mut() {
            *details = Some(value.into());
        }
        self
    }

    pub fn with_hint(mut self, value: impl Into<String>) -> Self {
        match self.body.as_mut() {
            ErrorBody::Postgrest { hint, .. } | ErrorBody::Gateway { hint, .. } => {
                *hint = Some(value.into())
            }
        }
        self
    }

    pub fn gateway(status: StatusCode, message: &str) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody::Gateway {
                message: message.to_string(),
                hint: None,
            }),
            www_authenticate: None,
        }
    }

    /// The stable code for logs (SQLSTATE, PGRST code, or `gateway`).
    pub fn code(&self) -> &str {
        match self.body.as_ref() {
            ErrorBody::Postgrest { code, .. } => code,
            ErrorBody::Gateway { .. } => "gateway",
        }
    }

    /// A PostgreSQL error raised while serving a request. `anonymous` is whether the request
    /// carried no JWT of its own, which turns 42501 into 401 instead of 403, as in PostgREST.
    pub fn from_db(err: &tokio_postgres::error::DbError, anonymous: bool) -> Self {
        let code = err.code().code();
        let mut api =
            ApiError::postgrest(status_for_sqlstate(code, anonymous), code, err.message());
        if let Some(d) = err.detail() {
            api = api.with_details(d);
        }
        if let Some(h) = err.hint() {
            api = api.with_hint(h);
        }
        api
    }

    /// Any failure talking to PostgreSQL: a database error keeps its SQLSTATE; a lost or refused
    /// connection is PostgREST's PGRST001 (503) so clients know to retry; anything else
    /// (a client-side conversion failure) is a 500. The connection error's own text (hosts,
    /// ports, OS errors) goes to the log only, never into the body.
    pub fn from_pg(err: &tokio_postgres::Error, anonymous: bool) -> Self {
        if err.as_db_error().is_none() {
            tracing::warn!(error = %err, "database client error");
        }
        match err.as_db_error() {
            Some(db) => ApiError::from_db(db, anonymous),
            None if err.is_closed() || is_io(err) => ApiError::postgrest(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST001",
                "Database client error. Retrying the connection.",
            ),
            None => ApiError::postgrest(
                StatusCode::INTERNAL_SERVER_ERROR,
                "PGRST001",
                "Database client error.",
            ),
        }
    }

    pub fn pool(err: &deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(e) => ApiError::from_pg(e, false),
            deadpool_postgres::PoolError::Timeout(_) => ApiError::postgrest(
                StatusCode::GATEWAY_TIMEOUT,
                "PGRST003",
                "Timed out acquiring connection from connection pool.",
            ),
            other => {
                tracing::warn!(error = %other, "connection pool error");
                ApiError::postgrest(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "PGRST000",
                    "Database connection error. Retrying the connection.",
                )
            }
        }
    }
}

fn is_io(err: &tokio_postgres::Error) -> bool {
    std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>())
}

/// PostgREST's table "HTTP Status Codes" (docs.postgrest.org, references/errors). Anything not
/// listed is 400, as in PostgREST (so 22xxx, 23502, 23514 are 400). `57P0x` (the server is going
/// away) is 503 rather than PostgREST's generic 57* → 500: the connection is gone and a retry helps.
pub fn status_for_sqlstate(code: &str, anonymous: bool) -> StatusCode {
    let class = code.get(..2).unwrap_or("");
    let status = match (code, class) {
        ("23503" | "23505", _) => 409,
        ("25006", _) => 405,
        ("53400", _) => 500,
        ("57P01" | "57P02" | "57P03", _) => 503,
        ("P0001", _) => 400,
        ("42883" | "42P01", _) => 404,
        ("42P17", _) => 500,
        ("42501", _) => {
            if anonymous {
                401
            } else {
                403
            }
        }
        (_, "08" | "53") => 503,
        (_, "0L" | "0P" | "28") => 403,
        (
            _,
            "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "54" | "55" | "57" | "58" | "F0"
            | "HV" | "P0" | "XX",
        ) => 500,
        (_, "PT") => return custom_status(code),
        _ => 400,
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `PTxyz` → HTTP xyz (PostgREST's convention for statuses raised from SQL).
fn custom_status(code: &str) -> StatusCode {
    code.get(2..)
        .and_then(|digits| digits.parse::<u16>().ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.body.as_ref() {
            ErrorBody::Postgrest {
                code,
                message,
                details,
                hint,
            } => {
                json!({"code": code, "details": details, "hint": hint, "message": message})
            }
            ErrorBody::Gateway {
                message,
                hint: Some(hint),
            } => json!({"message": message, "hint": hint}),
            ErrorBody::Gateway {
                message,
                hint: None,
            } => json!({"message": message}),
        };
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        if let Some(value) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: &str) -> u16 {
        status_for_sqlstate(code, false).as_u16()
    }

    #[test]
    fn constraint_violations_follow_postgrest() {
        assert_eq!(status("23505"), 409);
        assert_eq!(status("23503"), 409);
        assert_eq!(status("23502"), 400);
        assert_eq!(status("23514"), 400);
        assert_eq!(status("22023"), 400);
        assert_eq!(status("22P02"), 400);
    }

    #[test]
    fn insufficient_privilege_depends_on_authentication() {
        assert_eq!(status_for_sqlstate("42501", true).as_u16(), 401);
        assert_eq!(status_for_sqlstate("42501", false).as_u16(), 403);
    }

    #[test]
    fn custom_pt_codes_become_the_status() {
        assert_eq!(status("PT404"), 404);
        assert_eq!(status("PT402"), 402);
        assert_eq!(status("PTabc"), 500);
    }

    /// A pool failure answers PostgREST's code and message only: no connection details
    /// (hosts, ports, OS errors) in the body.
    #[test]
    fn pool_errors_carry_no_connection_details() {
        let err = ApiError::pool(&deadpool_postgres::PoolError::Closed);
        assert_eq!((err.status.as_u16(), err.code()), (503, "PGRST000"));
        match *err.body {
            ErrorBody::Postgrest { details, hint, .. } => assert_eq!((details, hint), (None, None)),
            other => panic!("expected a PostgREST body, got {other:?}"),
        }
    }

    #[test]
    fn server_side_classes() {
        assert_eq!(status("P0001"), 400);
        assert_eq!(status("P0002"), 500);
        assert_eq!(status("42883"), 404);
        assert_eq!(status("42P01"), 404);
        assert_eq!(status("25006"), 405);
        assert_eq!(status("08006"), 503);
        assert_eq!(status("53300"), 503);
        assert_eq!(status("53400"), 500);
        assert_eq!(status("57P01"), 503);
        assert_eq!(status("57014"), 500);
        assert_eq!(status("40001"), 500);
        assert_eq!(status("XX000"), 500);
        assert_eq!(status("28P01"), 403);
        assert_eq!(status("42703"), 400);
    }
}
