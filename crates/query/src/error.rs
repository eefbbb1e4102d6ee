//! The one error type of this crate: a 400 answer the Worker sends as `{code, message, details?,
//! hint?}`.
//!
//! Design decision: `code` is a `&'static str` from [`ERROR_CODES`] rather than an enum, so the
//! Worker maps it into its own `ErrorCode` without a second enum to keep in step, and a code the
//! SQL functions add later still has a place to land ([`from_sql_error`](crate::from_sql_error)
//! maps an unknown one to `invalid_query`).

use std::fmt;

use serde_json::{json, Map, Value};

/// Every `code` a [`QueryError`] can carry; all of them are HTTP 400.
///
/// From the parser: `duplicate_parameter`, `invalid_parameter`, `invalid_table`, `invalid_limit`,
/// `invalid_offset`, `invalid_operator`, `invalid_filter`, `invalid_cursor`.
/// From the SQL functions (via `from_sql_error`): `unknown_field`, `unknown_table`,
/// `table_required`, `invalid_value`, `invalid_operator`, `invalid_cursor`, `invalid_query`.
pub const ERROR_CODES: &[&str] = &[
    "duplicate_parameter",
    "invalid_parameter",
    "invalid_table",
    "invalid_limit",
    "invalid_offset",
    "invalid_operator",
    "invalid_filter",
    "invalid_cursor",
    "unknown_field",
    "unknown_table",
    "table_required",
    "invalid_value",
    "invalid_query",
];

/// A request the parser or the SQL compiler refused; always a 400.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    /// One of [`ERROR_CODES`].
    pub code: &'static str,
    /// For a person: says what was wrong and where.
    pub message: String,
    /// For a program: the parameter, position, field names… (an object), when there are any.
    pub details: Option<Value>,
    /// What to do instead (a did-you-mean, the accepted forms).
    pub hint: Option<String>,
}

impl QueryError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        QueryError {
            code,
            message: message.into(),
            details: None,
            hint: None,
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

    /// The answer body: `{code, message, details?, hint?}`.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("code".into(), json!(self.code));
        o.insert("message".into(), json!(self.message));
        if let Some(d) = &self.details {
            o.insert("details".into(), d.clone());
        }
        if let Some(h) = &self.hint {
            o.insert("hint".into(), json!(h));
        }
        Value::Object(o)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for QueryError {}

/// `details` for a problem at `position` (0-based, in characters) of parameter `parameter`.
pub(crate) fn at(parameter: &str, value: &str, byte: usize) -> Value {
    json!({"parameter": parameter, "position": char_position(value, byte)})
}

/// The character offset of byte offset `byte` of `s` (clamped to the end).
pub(crate) fn char_position(s: &str, byte: usize) -> usize {
    let byte = byte.min(s.len());
    s.char_indices().take_while(|(i, _)| *i < byte).count()
}
