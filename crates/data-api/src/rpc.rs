//! Turning an RPC request into one SQL statement, the way PostgREST does: the arguments travel
//! as a single JSON parameter and are unpacked with `json_to_record(...) as _(name type, ...)`
//! listing only the supplied arguments, then passed in named notation, so every omitted argument
//! takes its SQL default. The statement always returns text (the JSON response body), so a
//! cached prepared statement stays valid when the function changes.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::schema::{Function, Returns, EXPOSED_SCHEMA};

/// Query parameters PostgREST reserves for shaping results; never function arguments.
const RESERVED_QUERY_PARAMS: &[&str] = &[
    "select",
    "order",
    "limit",
    "offset",
    "columns",
    "on_conflict",
    "apikey",
];

/// The arguments of one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// Named arguments (POST object body, or GET query string).
    Named(Map<String, Value>),
    /// A POST body that is not an object (only a whole-body json function can take it).
    Raw(Value),
}

impl Args {
    /// POST body: empty means no arguments; anything else must be JSON (PGRST102).
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Args::Named(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Args::Named(map)),
            Ok(other) => Ok(Args::Raw(other)),
            Err(e) => Err(ApiError::postgrest(
                StatusCode::BAD_REQUEST,
                "PGRST102",
                "Empty or invalid json",
            )
            .with_details(e.to_string())),
        }
    }

    /// GET query string: every value is text (PostgreSQL converts it to the parameter type);
    /// a repeated name becomes an array, as PostgREST does for array parameters.
    pub fn from_query(query: &str) -> Self {
        let mut map = Map::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if RESERVED_QUERY_PARAMS.contains(&key.as_ref()) {
                continue;
            }
            match map.get_mut(key.as_ref()) {
                Some(Value::Array(items)) => items.push(Value::String(value.into_owned())),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value.into_owned())]);
                }
                None => {
                    map.insert(key.into_owned(), Value::String(value.into_owned()));
                }
            }
        }
        Args::Named(map)
    }

    /// Names used for overload resolution.
    pub fn keys(&self) -> BTreeSet<String> {
        match self {
            Args::Named(map) => map.keys().cloned().collect(),
            Args::Raw(_) => BTreeSet::new(),
        }
    }

    fn to_json_text(&self) -> String {
        match self {
            Args::Named(map) => Value::Object(map.clone()).to_string(),
            Args::Raw(value) => value.to_string(),
        }
    }
}

/// One statement and its single parameter (JSON text), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub sql: String,
    pub param: Option<String>,
}

/// Builds the statement. It returns one row: (body text, row count). For `setof`/table
/// functions the body is a JSON array; otherwise a JSON scalar or object, or NULL for void.
pub fn build_call(function: &Function, args: &Args, whole_body: bool) -> Result<Call, ApiError> {
    let target = format!(
        "{}.{}",
        quote_ident(EXPOSED_SCHEMA),
        quote_ident(&function.name)
    );
    let (call, from_args, param) = if whole_body {
        let type_name = function
            .params
            .first()
            .map(|p| p.type_name.as_str())
            .unwrap_or("json");
        (
            format!("{target}($1::text::{type_name})"),
            None,
            Some(args.to_json_text()),
        )
    } else {
        let Args::Named(map) = args else {
            return Err(ApiError::postgrest(
                StatusCode::BAD_REQUEST,
                "PGRST102",
                "Empty or invalid json",
            )
            .with_details("An RPC body must be a JSON object of named arguments"));
        };
        if map.is_empty() {
            (format!("{target}()"), None, None)
        } else {
            let mut columns = Vec::new();
            let mut named = Vec::new();
            for p in function.params.iter().filter(|p| map.contains_key(&p.name)) {
                let ident = quote_ident(&p.name);
                columns.push(format!("{ident} {}", p.type_name));
                named.push(format!("{ident} := _args.{ident}"));
            }
            let from = format!(
                "json_to_record($1::text::json) as _args({})",
                columns.join(", ")
            );
            (
                format!("{target}({})", named.join(", ")),
                Some(from),
                Some(args.to_json_text()),
            )
        }
    };
    let sql = match (function.returns, function.returns_set) {
        // A void value cannot be read as text: call it in a subquery and answer NULL (→ 204).
        (Returns::Void, _) => select_scalar(
            &format!("(select null::text from (select {call}) as _v)"),
            from_args.as_deref(),
        ),
        (Returns::Scalar, false) => {
            select_scalar(&format!("to_json({call})::text"), from_args.as_deref())
        }
        (Returns::Composite, false) => {
            format!(
                "select row_to_json(_r)::text, 1::int8 from {}",
                from_items(from_args.as_deref(), &call, "_r")
            )
        }
        (Returns::Scalar, true) => format!(
            "select coalesce(json_agg(_r._value), '[]')::text, count(*) from {}",
            from_items(from_args.as_deref(), &call, "_r(_value)")
        ),
        (Returns::Composite, true) => format!(
            "select coalesce(json_agg(_r), '[]')::text, count(*) from {}",
            from_items(from_args.as_deref(), &call, "_r")
        ),
    };
    Ok(Call { sql, param })
}

fn select_scalar(expr: &str, from_args: Option<&str>) -> String {
    match from_args {
        Some(from) => format!("select {expr}, 1::int8 from {from}"),
        None => format!("select {expr}, 1::int8"),
    }
}

/// The FROM list: the unpacked arguments (if any), then the function call, which may refer to
/// them without LATERAL (function calls in FROM are implicitly lateral).
fn from_items(from_args: Option<&str>, call: &str, alias: &str) -> String {
    match from_args {
        Some(from) => format!("{from}, {call} as {alias}"),
        None => format!("{call} as {alias}"),
    }
}

/// A double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// PostgREST's `Content-Range` for `count` rows returned out of `total` (when counted).
pub fn content_range(count: i64, total: Option<i64>) -> String {
    let total = total.map(|t| t.to_string()).unwrap_or_else(|| "*".into());
    if count <= 0 {
        format!("*/{total}")
    } else {
        format!("0-{}/{total}", count - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Param;
    use serde_json::json;

    fn f(returns: Returns, returns_set: bool) -> Function {
        Function {
            name: "get_rows".into(),
            params: vec![
                Param {
                    name: "p_id".into(),
                    type_name: "uuid".into(),
                    has_default: false,
                },
                Param {
                    name: "p_limit".into(),
                    type_name: "integer".into(),
                    has_default: true,
                },
            ],
            returns,
            returns_set,
            volatile: false,
        }
    }

    fn named(value: Value) -> Args {
        match value {
            Value::Object(map) => Args::Named(map),
            other => Args::Raw(other),
        }
    }

    #[test]
    fn only_supplied_args_are_passed_so_defaults_apply() {
        let call = build_call(
            &f(Returns::Scalar, false),
            &named(json!({"p_id": "x"})),
            false,
        )
        .expect("call");
        assert_eq!(
            call.sql,
            "select to_json(\"public\".\"get_rows\"(\"p_id\" := _args.\"p_id\"))::text, 1::int8 \
             from json_to_record($1::text::json) as _args(\"p_id\" uuid)"
        );
        assert_eq!(call.param.as_deref(), Some(r#"{"p_id":"x"}"#));
    }

    #[test]
    fn set_returning_functions_aggregate_to_an_array_with_a_count() {
        let call = build_call(
            &f(Returns::Composite, true),
            &named(json!({"p_id": "x", "p_limit": 2})),
            false,
        )
        .expect("call");
        assert!(call.sql.starts_with(
            "select coalesce(json_agg(_r), '[]')::text, count(*) from json_to_record"
        ));
        assert!(call.sql.contains("\"p_limit\" := _args.\"p_limit\""));
        let scalars =
            build_call(&f(Returns::Scalar, true), &named(json!({})), false).expect("call");
        assert_eq!(
            scalars.sql,
            "select coalesce(json_agg(_r._value), '[]')::text, count(*) from \"public\".\"get_rows\"() as _r(_value)"
        );
        assert_eq!(scalars.param, None);
    }

    #[test]
    fn whole_body_goes_to_the_single_json_param() {
        let mut g = f(Returns::Scalar, false);
        g.params = vec![Param {
            name: String::new(),
            type_name: "jsonb".into(),
            has_default: false,
        }];
        let call = build_call(&g, &named(json!([1, 2])), true).expect("call");
        assert_eq!(
            call.sql,
            "select to_json(\"public\".\"get_rows\"($1::text::jsonb))::text, 1::int8"
        );
        assert_eq!(call.param.as_deref(), Some("[1,2]"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn query_string_args_skip_reserved_names_and_collect_repeats() {
        let args = Args::from_query("a=1&select=x&b=2&b=3&apikey=k&c=h%C3%A9");
        assert_eq!(args, named(json!({"a": "1", "b": ["2", "3"], "c": "hé"})));
    }

    #[test]
    fn bodies_must_be_json() {
        assert_eq!(
            Args::from_body(b" ").expect("empty is no args"),
            named(json!({}))
        );
        let err = Args::from_body(b"{not json").expect_err("invalid");
        assert_eq!((err.status.as_u16(), err.code()), (400, "PGRST102"));
    }

    #[test]
    fn content_range_matches_postgrest() {
        assert_eq!(content_range(3, None), "0-2/*");
        assert_eq!(content_range(3, Some(3)), "0-2/3");
        assert_eq!(content_range(0, Some(0)), "*/0");
        assert_eq!(content_range(0, None), "*/*");
    }
}
