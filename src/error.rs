//! Every failure the Worker can answer with, and the one place that turns it into HTTP.
//!
//! Handlers return `ApiError`; `ApiError::status`/`body` are the only mapping to the wire.
//! Upstream PostgREST errors are translated by [`ApiError::from_upstream`], so a SQLSTATE never
//! decides a status anywhere else. 5xx bodies carry a generic message; the cause is logged.

use serde_json::{json, Map, Value};

/// An error answer: HTTP status, a stable snake_case code, a message a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub hint: Option<String>,
    /// Logged, never sent: what actually went wrong behind a 5xx.
    pub internal: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            hint: None,
            internal: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// A bearer token was presented but cannot be trusted (bad signature, expired, wrong alg…).
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(401, "invalid_token", message)
    }

    pub fn missing_token() -> Self {
        Self::new(
            401,
            "missing_token",
            "this route needs an `Authorization: Bearer <jwt>` header",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn client_not_found(client_id: &str) -> Self {
        Self::new(
            404,
            "client_not_found",
            format!("no client {client_id} is visible to the caller"),
        )
    }

    pub fn config_missing(variable: &str, why: &str) -> Self {
        // Naming the variable is safe and is what an operator needs to fix it.
        Self::new(
            500,
            "config_missing",
            format!("Worker configuration `{variable}` is {why}"),
        )
        .with_hint("set it in .dev.vars locally or with `wrangler secret put` in production")
    }

    /// Anything unexpected inside the Worker: logged in full, answered generically.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            500,
            "internal_error",
            "the Worker failed to handle the request",
        );
        e.internal = Some(cause.into());
        e
    }

    /// The data API could not be reached or answered nonsense.
    pub fn upstream_unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            502,
            "upstream_unavailable",
            "the database API is unavailable",
        );
        e.internal = Some(cause.into());
        e
    }

    /// Translates a PostgREST error answer (`{code, message, details, hint}` + HTTP status) from
    /// RPC `function` into the Worker's error. Deliberate database errors (SQLSTATE 22023, 23505,
    /// 42501, PTxyz) keep their message because the migrations write them for users; anything
    /// else becomes a 502 whose cause is only logged.
    pub fn from_upstream(function: &str, status: u16, body: &str) -> Self {
        let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let field = |k: &str| parsed.get(k).and_then(Value::as_str).map(str::to_owned);
        let sqlstate = field("code").unwrap_or_default();
        let message = field("message").unwrap_or_else(|| "request rejected".to_owned());
        let hint = field("hint");
        let details = parsed.get("details").filter(|d| !d.is_null()).cloned();
        let passthrough = |status: u16, code: &'static str| {
            let mut e = ApiError::new(status, code, message.clone());
            e.details = details.clone();
            e.hint = hint.clone();
            e
        };
        match sqlstate.as_str() {
            "23505" if function == "create_client_with_data" => passthrough(409, "email_taken")
                .with_hint("use another email or the existing client"),
            "23505" => passthrough(409, "conflict"),
            "22023" | "22P02" | "22007" | "22008" | "23502" | "23514" => {
                passthrough(400, "invalid_argument")
            }
            "42501" if status == 401 => passthrough(401, "not_authenticated"),
            "42501" => passthrough(403, "forbidden"),
            "PT404" => passthrough(404, "not_found"),
            // begin_upload: another request with this Idempotency-Key is still being processed
            // (the migration marks it with detail `in_progress`; its hint says when to retry).
            "PT409" if function == "begin_upload" && details == Some(json!("in_progress")) => {
                passthrough(409, "idempotency_in_progress")
            }
            // begin_upload: the Idempotency-Key was committed for another table.
            "PT409" if function == "begin_upload" => passthrough(409, "idempotency_conflict")
                .with_hint("send a different upload with a new Idempotency-Key"),
            // PostgREST's own JWT errors: the token was accepted by us but not by the data API.
            "PGRST301" | "PGRST302" | "PGRST303" => passthrough(401, "invalid_token"),
            code if code.starts_with("PT") && (400..500).contains(&status) => {
                passthrough(status, "rejected")
            }
            _ => {
                let mut e = Self::upstream_unavailable(format!(
                    "rpc {function} answered {status}: {}",
                    body.chars().take(500).collect::<String>()
                ));
                if (400..500).contains(&status) {
                    // A 4xx we did not plan for is still our bug (a call the data API rejects).
                    e = Self::internal(e.internal.unwrap_or_default());
                }
                e
            }
        }
    }

    /// The JSON body sent to the caller.
    pub fn body(&self) -> Value {
        let mut out = Map::new();
        out.insert("code".into(), json!(self.code));
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
    /// Idempotency-Key in flight has finished or counts as abandoned after begin_upload's 30 s.
    pub fn retry_after(&self) -> Option<u32> {
        (self.code == "idempotency_in_progress").then_some(30)
    }

    /// `WWW-Authenticate` value for 401 answers (RFC 6750).
    pub fn www_authenticate(&self) -> Option<String> {
        match (self.status, self.code) {
            (401, "invalid_token") => Some(format!(
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

    #[test]
    fn duplicate_email_on_create_is_409_email_taken() {
        let body =
            r#"{"code":"23505","message":"email already registered","details":null,"hint":null}"#;
        let e = ApiError::from_upstream("create_client_with_data", 409, body);
        assert_eq!((e.status, e.code), (409, "email_taken"));
        assert_eq!(e.message, "email already registered");
    }

    #[test]
    fn bad_argument_passes_its_message_through_as_400() {
        let body = r#"{"code":"22023","message":"p_rows[2] is not an object","details":"row 2","hint":"send objects"}"#;
        let e = ApiError::from_upstream("create_client_with_data", 400, body);
        assert_eq!((e.status, e.code), (400, "invalid_argument"));
        assert_eq!(e.body()["details"], "row 2");
        assert_eq!(e.body()["hint"], "send objects");
    }

    #[test]
    fn permission_errors_split_by_upstream_status() {
        let body = r#"{"code":"42501","message":"permission denied for function x"}"#;
        assert_eq!(ApiError::from_upstream("f", 401, body).status, 401);
        assert_eq!(ApiError::from_upstream("f", 403, body).code, "forbidden");
    }

    #[test]
    fn custom_pt_status_and_not_found() {
        let e = ApiError::from_upstream("f", 404, r#"{"code":"PT404","message":"no such client"}"#);
        assert_eq!((e.status, e.code), (404, "not_found"));
        let e = ApiError::from_upstream("f", 422, r#"{"code":"PT422","message":"nope"}"#);
        assert_eq!((e.status, e.code), (422, "rejected"));
    }

    #[test]
    fn a_reused_idempotency_key_is_a_conflict() {
        let body =
            r#"{"code":"PT409","message":"Idempotency-Key k was used for an upload to table a"}"#;
        let e = ApiError::from_upstream("begin_upload", 409, body);
        assert_eq!((e.status, e.code), (409, "idempotency_conflict"));
        assert!(e.message.contains("table a"));
        assert_eq!(e.retry_after(), None);
        // Elsewhere PT409 is an upload already committed or aborted.
        assert_eq!(
            ApiError::from_upstream("commit_upload", 409, body).code,
            "rejected"
        );
    }

    #[test]
    fn a_key_still_in_flight_is_in_progress_with_retry_after() {
        let body = r#"{"code":"PT409","message":"an upload with Idempotency-Key k is still in progress","details":"in_progress","hint":"Retry when it has finished (or after 30 s if it was abandoned)."}"#;
        let e = ApiError::from_upstream("begin_upload", 409, body);
        assert_eq!((e.status, e.code), (409, "idempotency_in_progress"));
        assert!(e.message.contains("still in progress"));
        assert!(e.hint.as_deref().unwrap_or_default().contains("30 s"));
        assert_eq!(e.retry_after(), Some(30));
    }

    #[test]
    fn unknown_upstream_failures_do_not_leak() {
        let body =
            r#"{"code":"XX000","message":"connection to 10.0.0.3 refused, password=hunter2"}"#;
        let e = ApiError::from_upstream("f", 500, body);
        assert_eq!((e.status, e.code), (502, "upstream_unavailable"));
        let sent = e.body().to_string();
        assert!(
            !sent.contains("hunter2") && !sent.contains("10.0.0.3"),
            "{sent}"
        );
        assert!(
            e.internal.unwrap().contains("hunter2"),
            "cause is kept for the log"
        );
        // Not JSON at all (a proxy error page) is still a clean 502.
        assert_eq!(ApiError::from_upstream("f", 503, "<html>").status, 502);
        // An unplanned 4xx (e.g. function missing) is our bug, answered as 500.
        let e = ApiError::from_upstream("f", 404, r#"{"code":"PGRST202","message":"no function"}"#);
        assert_eq!((e.status, e.code), (500, "internal_error"));
    }

    #[test]
    fn body_has_only_present_fields() {
        let e = ApiError::bad_request("invalid_limit", "limit must be 1..=1000");
        assert_eq!(
            e.body(),
            json!({"code":"invalid_limit","message":"limit must be 1..=1000"})
        );
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
        assert!(ApiError::forbidden("x").www_authenticate().is_none());
    }

    #[test]
    fn config_missing_names_the_variable() {
        let e = ApiError::config_missing("SUPABASE_URL", "not set");
        assert_eq!((e.status, e.code), (500, "config_missing"));
        assert!(e.message.contains("SUPABASE_URL"));
    }
}
