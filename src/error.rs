//! Every failure the Worker can answer with, and the one place that turns it into HTTP.
//!
//! Design decision: one closed enum, [`ErrorCode`], owns both the wire code and the HTTP status,
//! so a status cannot drift from its code and a new code cannot ship undocumented (a test holds
//! [`ErrorCode::ALL`] equal to `docs/ARCHITECTURE.md` and to the OpenAPI `Error` schema).
//! Upstream (PostgREST) errors become domain codes in `db` only; nothing rewrites a code later.
//! 5xx bodies carry a generic message; the cause is logged.

use serde_json::{json, Map, Value};

/// A stable snake_case error code and the HTTP status it is always answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MissingToken,
    InvalidToken,
    NotAuthenticated,
    Forbidden,
    InvalidCredentials,
    EmailTaken,
    InvalidArgument,
    InvalidParameter,
    InvalidLimit,
    InvalidCursor,
    InvalidClientId,
    InvalidBody,
    InvalidRow,
    DuplicateParameter,
    InvalidTable,
    InvalidOffset,
    InvalidOperator,
    InvalidFilter,
    InvalidValue,
    InvalidQuery,
    UnknownField,
    UnknownTable,
    TableRequired,
    RouteNotFound,
    MethodNotAllowed,
    ClientNotFound,
    UpstreamUnavailable,
    UpstreamTimeout,
    InternalError,
    ConfigMissing,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyConflict,
    IdempotencyInProgress,
    UploadConflict,
    MultipleSheets,
    SheetNotFound,
    TooManyRows,
    TooManyColumns,
    CellTooLarge,
    EmptyFile,
    InvalidJson,
    InvalidXlsx,
    UnsupportedFormat,
    IdempotencyKeyReused,
    RateLimited,
}

impl ErrorCode {
    /// Every code, in the order `docs/ARCHITECTURE.md` lists them (held equal by the tests).
    #[cfg(test)]
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MissingToken,
        ErrorCode::InvalidToken,
        ErrorCode::NotAuthenticated,
        ErrorCode::Forbidden,
        ErrorCode::InvalidCredentials,
        ErrorCode::EmailTaken,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidParameter,
        ErrorCode::InvalidLimit,
        ErrorCode::InvalidCursor,
        ErrorCode::InvalidClientId,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidRow,
        ErrorCode::DuplicateParameter,
        ErrorCode::InvalidTable,
        ErrorCode::InvalidOffset,
        ErrorCode::InvalidOperator,
        ErrorCode::InvalidFilter,
        ErrorCode::InvalidValue,
        ErrorCode::InvalidQuery,
        ErrorCode::UnknownField,
        ErrorCode::UnknownTable,
        ErrorCode::TableRequired,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ClientNotFound,
        ErrorCode::UpstreamUnavailable,
        ErrorCode::UpstreamTimeout,
        ErrorCode::InternalError,
        ErrorCode::ConfigMissing,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::IdempotencyConflict,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::UploadConflict,
        ErrorCode::MultipleSheets,
        ErrorCode::SheetNotFound,
        ErrorCode::TooManyRows,
        ErrorCode::TooManyColumns,
        ErrorCode::CellTooLarge,
        ErrorCode::EmptyFile,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidXlsx,
        ErrorCode::UnsupportedFormat,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::RateLimited,
    ];

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MissingToken => "missing_token",
            InvalidToken => "invalid_token",
            NotAuthenticated => "not_authenticated",
            Forbidden => "forbidden",
            InvalidCredentials => "invalid_credentials",
            EmailTaken => "email_taken",
            InvalidArgument => "invalid_argument",
            InvalidParameter => "invalid_parameter",
            InvalidLimit => "invalid_limit",
            InvalidCursor => "invalid_cursor",
            InvalidClientId => "invalid_client_id",
            InvalidBody => "invalid_body",
            InvalidRow => "invalid_row",
            DuplicateParameter => "duplicate_parameter",
            InvalidTable => "invalid_table",
            InvalidOffset => "invalid_offset",
            InvalidOperator => "invalid_operator",
            InvalidFilter => "invalid_filter",
            InvalidValue => "invalid_value",
            InvalidQuery => "invalid_query",
            UnknownField => "unknown_field",
            UnknownTable => "unknown_table",
            TableRequired => "table_required",
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            ClientNotFound => "client_not_found",
            UpstreamUnavailable => "upstream_unavailable",
            UpstreamTimeout => "upstream_timeout",
            InternalError => "internal_error",
            ConfigMissing => "config_missing",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            IdempotencyConflict => "idempotency_conflict",
            IdempotencyInProgress => "idempotency_in_progress",
            UploadConflict => "upload_conflict",
            MultipleSheets => "multiple_sheets",
            SheetNotFound => "sheet_not_found",
            TooManyRows => "too_many_rows",
            TooManyColumns => "too_many_columns",
            CellTooLarge => "cell_too_large",
            EmptyFile => "empty_file",
            InvalidJson => "invalid_json",
            InvalidXlsx => "invalid_xlsx",
            UnsupportedFormat => "unsupported_format",
            IdempotencyKeyReused => "idempotency_key_reused",
            RateLimited => "rate_limited",
        }
    }

    /// The code of a `query` crate error (`query::ERROR_CODES`, all 400); the crate's codes are
    /// a subset of ours by name, held so by a test, and an unknown one is `invalid_query`.
    pub fn from_query(code: &str) -> ErrorCode {
        use ErrorCode::*;
        [
            DuplicateParameter,
            InvalidParameter,
            InvalidTable,
            InvalidLimit,
            InvalidOffset,
            InvalidOperator,
            InvalidFilter,
            InvalidCursor,
            UnknownField,
            UnknownTable,
            TableRequired,
            InvalidValue,
            InvalidQuery,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or(InvalidQuery)
    }

    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidArgument | InvalidParameter | InvalidLimit | InvalidCursor | InvalidClientId
            | InvalidBody | InvalidRow | DuplicateParameter | InvalidTable | InvalidOffset
            | InvalidOperator | InvalidFilter | InvalidValue | InvalidQuery | UnknownField
            | UnknownTable | TableRequired => 400,
            MissingToken | InvalidToken | NotAuthenticated | InvalidCredentials => 401,
            Forbidden => 403,
            RouteNotFound | ClientNotFound => 404,
            MethodNotAllowed => 405,
            EmailTaken | IdempotencyConflict | IdempotencyInProgress | UploadConflict => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            MultipleSheets | SheetNotFound | TooManyRows | TooManyColumns | CellTooLarge
            | EmptyFile | InvalidJson | InvalidXlsx | UnsupportedFormat | IdempotencyKeyReused => {
                422
            }
            RateLimited => 429,
            InternalError | ConfigMissing => 500,
            UpstreamUnavailable => 502,
            UpstreamTimeout => 504,
        }
    }
}

impl From<query::QueryError> for ApiError {
    fn from(e: query::QueryError) -> Self {
        ApiError {
            code: ErrorCode::from_query(e.code),
            message: e.message,
            details: e.details,
            hint: e.hint,
            internal: None,
        }
    }
}

/// An error answer: a code (which fixes the status), a message a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub hint: Option<String>,
    /// Logged, never sent: what actually went wrong behind a 5xx.
    pub internal: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            hint: None,
            internal: None,
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A bearer token was presented but cannot be trusted (bad signature, expired, wrong alg…).
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, message)
    }

    pub fn missing_token() -> Self {
        Self::new(
            ErrorCode::MissingToken,
            "this route needs an `Authorization: Bearer <jwt>` header",
        )
    }

    pub fn not_a_user() -> Self {
        Self::new(
            ErrorCode::NotAuthenticated,
            "the token does not identify a client or a superadmin",
        )
    }

    pub fn client_not_found(client_id: &str) -> Self {
        Self::new(
            ErrorCode::ClientNotFound,
            format!("no client {client_id} is visible to the caller"),
        )
    }

    pub fn config_missing(variable: &str, why: &str) -> Self {
        // Naming the variable is safe and is what an operator needs to fix it.
        Self::new(
            ErrorCode::ConfigMissing,
            format!("Worker configuration `{variable}` is {why}"),
        )
        .with_hint("set it in .dev.vars locally or with `wrangler secret put` in production")
    }

    /// Anything unexpected inside the Worker: logged in full, answered generically.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            ErrorCode::InternalError,
            "the Worker failed to handle the request",
        );
        e.internal = Some(cause.into());
        e
    }

    /// The data API could not be reached or answered nonsense.
    pub fn upstream_unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            ErrorCode::UpstreamUnavailable,
            "the database API is unavailable",
        );
        e.internal = Some(cause.into());
        e
    }

    /// The data API took longer than the Worker waits for one call (`db::fetch`). The call may
    /// still complete upstream, so the message says the outcome is unknown.
    pub fn upstream_timeout(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            ErrorCode::UpstreamTimeout,
            "the database API did not answer in time; the outcome of the request is unknown",
        )
        .with_hint("retry; an upload retried with the same Idempotency-Key is stored at most once");
        e.internal = Some(cause.into());
        e
    }

    /// The JSON body sent to the caller.
    pub fn body(&self) -> Value {
        let mut out = Map::new();
        out.insert("code".into(), json!(self.code.as_str()));
        out.insert("message".into(), json!(self.message));
        if let Some(d) = &self.details {
            out.insert("details".into(), d.clone());
        }
        if let Some(h) = &self.hint {
            out.insert("hint".into(), json!(h));
        }
        Value::Object(out)
    }

    /// `Retry-After` seconds for an answer that will change by itself: an upload with the same
    /// Idempotency-Key in flight has finished or counts as abandoned after begin_upload's 30 s;
    /// a login limiter's window is 60 s (wrangler.toml `[[ratelimits]]`).
    pub fn retry_after(&self) -> Option<u32> {
        match self.code {
            ErrorCode::IdempotencyInProgress => Some(30),
            ErrorCode::RateLimited => Some(60),
            _ => None,
        }
    }

    /// `WWW-Authenticate` value for 401 answers (RFC 6750).
    pub fn www_authenticate(&self) -> Option<String> {
        match (self.status(), self.code) {
            (401, ErrorCode::InvalidToken) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.message.replace('"', "'")
            )),
            (401, _) => Some("Bearer".to_owned()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ours() -> BTreeSet<String> {
        ErrorCode::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect()
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        assert_eq!(ours().len(), ErrorCode::ALL.len());
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{s}"
            );
            assert!((400..600).contains(&c.status()), "{s}");
        }
    }

    /// The documented list: the backticked codes of the "Error codes (stable)" paragraph.
    #[test]
    fn codes_equal_the_list_in_architecture_md() {
        let doc = include_str!("../docs/ARCHITECTURE.md");
        let start = doc
            .find("Error codes (stable")
            .expect("ARCHITECTURE.md has the error code list");
        let paragraph = &doc[start..];
        let paragraph = &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())];
        let documented: BTreeSet<String> = paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
            .map(str::to_owned)
            .collect();
        assert_eq!(documented, ours());
    }

    #[test]
    fn codes_equal_the_openapi_error_enum() {
        let doc: Value = serde_json::from_str(crate::openapi::DOCUMENT).unwrap();
        let listed: BTreeSet<String> = doc["components"]["schemas"]["Error"]["properties"]["code"]
            ["enum"]
            .as_array()
            .expect("the Error schema's code has an enum")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, ours());
    }

    #[test]
    fn every_query_code_is_one_of_ours() {
        for code in query::ERROR_CODES {
            let ours = ErrorCode::from_query(code);
            assert_eq!((ours.as_str(), ours.status()), (*code, 400));
        }
        assert_eq!(
            ErrorCode::from_query("new_sql_code"),
            ErrorCode::InvalidQuery
        );
    }

    /// A refusal of the query crate, as the Worker answers it.
    #[test]
    fn query_errors_keep_code_details_and_hint() {
        let e: ApiError = query::QueryError::new("invalid_operator", "no")
            .with_details(json!({"parameter": "x"}))
            .with_hint("use eq")
            .into();
        assert_eq!(
            e.body(),
            json!({"code": "invalid_operator", "message": "no", "details": {"parameter": "x"}, "hint": "use eq"})
        );
    }

    #[test]
    fn body_has_only_present_fields() {
        let e = ApiError::new(ErrorCode::InvalidLimit, "limit must be 1..=1000");
        assert_eq!(
            e.body(),
            json!({"code":"invalid_limit","message":"limit must be 1..=1000"})
        );
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn unauthorized_answers_carry_www_authenticate() {
        assert!(ApiError::invalid_token("expired")
            .www_authenticate()
            .unwrap()
            .contains("invalid_token"));
        assert_eq!(
            ApiError::missing_token().www_authenticate().unwrap(),
            "Bearer"
        );
        assert!(ApiError::new(ErrorCode::Forbidden, "x")
            .www_authenticate()
            .is_none());
    }

    #[test]
    fn config_missing_names_the_variable() {
        let e = ApiError::config_missing("SUPABASE_URL", "not set");
        assert_eq!((e.status(), e.code), (500, ErrorCode::ConfigMissing));
        assert!(e.message.contains("SUPABASE_URL"));
    }
}
