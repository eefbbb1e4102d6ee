//! The parse stage of the client-facing writes: `POST /api/superadmin/clients` and login bodies,
//! plus the schema summary stored with new data.
//!
//! [`summarize_schema`] is the seam where the `ingest` crate's inference will plug in; until then
//! it records one JSON type per key, which is what the stored rows actually hold.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
struct CreateClientJson {
    company_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    data_type: Option<String>,
    table_name: Option<String>,
    data: Option<Value>,
}

/// A validated create-client request.
#[derive(Debug, PartialEq)]
pub struct NewClient {
    pub company_name: String,
    pub email: String,
    pub password: Option<String>,
    pub data_type: String,
    pub table_name: Option<String>,
    pub rows: Vec<Value>,
}

fn invalid_body(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_body", message)
}

fn is_identifier(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

pub fn parse_new_client(body: &[u8]) -> Result<NewClient, ApiError> {
    let raw: CreateClientJson = serde_json::from_slice(body)
        .map_err(|e| invalid_body(format!("body is not the expected JSON object: {e}")))?;
    let company_name = raw
        .company_name
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or_else(|| invalid_body("company_name is required (1 to 200 characters)"))?;
    let email = raw
        .email
        .map(|s| s.trim().to_owned())
        .filter(|s| plausible_email(s))
        .ok_or_else(|| invalid_body("email is required and must look like name@example.com"))?;
    if let Some(p) = &raw.password {
        if p.chars().count() < 8 || p.len() > 1024 {
            return Err(invalid_body("password must be 8 to 1024 characters"));
        }
    }
    let data_type = raw.data_type.unwrap_or_else(|| "data".to_owned());
    if !is_identifier(&data_type, 32) {
        return Err(invalid_body(
            "data_type must be lowercase letters, digits and _ (at most 32), starting with a letter",
        ));
    }
    if let Some(t) = &raw.table_name {
        if !is_identifier(t, 63) {
            return Err(invalid_body(
                "table_name must be lowercase letters, digits and _ (at most 63), starting with a letter",
            ));
        }
    }
    let rows = match raw.data {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows,
        Some(_) => return Err(invalid_body("data must be an array of objects")),
    };
    if let Some(i) = rows.iter().position(|r| !r.is_object()) {
        return Err(ApiError::bad_request(
            "invalid_row",
            format!("data[{i}] is not a JSON object; every row must be an object"),
        )
        .with_details(json!({"row": i})));
    }
    Ok(NewClient {
        company_name,
        email,
        password: raw.password,
        data_type,
        table_name: raw.table_name,
        rows,
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `{"columns": {key: {"type", "nullable"}}}` over all rows. Mixed integer/number is `number`;
/// any other mix is `mixed`; a key missing from some rows is nullable.
pub fn summarize_schema(rows: &[Value]) -> Value {
    let mut seen: BTreeMap<&str, (Option<&'static str>, usize, bool)> = BTreeMap::new();
    for row in rows.iter().filter_map(Value::as_object) {
        for (key, value) in row {
            let entry = seen.entry(key.as_str()).or_insert((None, 0, false));
            entry.1 += 1;
            let t = json_type(value);
            if t == "null" {
                entry.2 = true;
                continue;
            }
            entry.0 = Some(match (entry.0, t) {
                (None, t) => t,
                (Some(a), b) if a == b => a,
                (Some("integer"), "number") | (Some("number"), "integer") => "number",
                _ => "mixed",
            });
        }
    }
    let columns: Map<String, Value> = seen
        .into_iter()
        .map(|(key, (t, present, had_null))| {
            let nullable = had_null || present < rows.len();
            (
                key.to_owned(),
                json!({"type": t.unwrap_or("null"), "nullable": nullable}),
            )
        })
        .collect();
    json!({ "columns": columns })
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

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn minimal_and_full_bodies() {
        let c = parse_new_client(&body(
            json!({"company_name":" Acme ","email":"a@acme.io","data":[{"x":1}]}),
        ))
        .unwrap();
        assert_eq!(c.company_name, "Acme");
        assert_eq!(c.data_type, "data");
        assert_eq!(c.rows.len(), 1);
        let c = parse_new_client(&body(
            json!({"company_name":"A","email":"a@b.co","password":"correct horse",
            "data_type":"sales","table_name":"client_x_sales","data":[]}),
        ))
        .unwrap();
        assert_eq!(c.password.as_deref(), Some("correct horse"));
        assert_eq!(c.table_name.as_deref(), Some("client_x_sales"));
    }

    #[test]
    fn non_object_row_names_its_index() {
        let e = parse_new_client(&body(
            json!({"company_name":"A","email":"a@b.co","data":[{"x":1},{"x":2},[3]]}),
        ))
        .unwrap_err();
        assert_eq!((e.status, e.code), (400, "invalid_row"));
        assert_eq!(e.details, Some(json!({"row": 2})));
        assert!(e.message.contains("data[2]"));
    }

    #[test]
    fn invalid_fields() {
        for (v, needle) in [
            (json!({"email":"a@b.co","data":[]}), "company_name"),
            (
                json!({"company_name":"A","email":"nope","data":[]}),
                "email",
            ),
            (
                json!({"company_name":"A","email":"a@b.co","password":"short"}),
                "password",
            ),
            (
                json!({"company_name":"A","email":"a@b.co","data_type":"Sales!"}),
                "data_type",
            ),
            (
                json!({"company_name":"A","email":"a@b.co","table_name":"x; drop"}),
                "table_name",
            ),
            (
                json!({"company_name":"A","email":"a@b.co","data":{"x":1}}),
                "array",
            ),
        ] {
            let e = parse_new_client(&body(v)).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(
                e.message.contains(needle),
                "{} should mention {needle}",
                e.message
            );
        }
        assert_eq!(
            parse_new_client(b"not json").unwrap_err().code,
            "invalid_body"
        );
    }

    #[test]
    fn schema_summary() {
        let rows = vec![
            json!({"id": 1, "price": 2, "name": "a", "note": null}),
            json!({"id": 2, "price": 2.5, "name": 3}),
        ];
        let s = summarize_schema(&rows);
        assert_eq!(
            s["columns"]["id"],
            json!({"type":"integer","nullable":false})
        );
        assert_eq!(
            s["columns"]["price"],
            json!({"type":"number","nullable":false})
        );
        assert_eq!(
            s["columns"]["name"],
            json!({"type":"mixed","nullable":false})
        );
        assert_eq!(s["columns"]["note"], json!({"type":"null","nullable":true}));
        assert_eq!(summarize_schema(&[]), json!({"columns": {}}));
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
