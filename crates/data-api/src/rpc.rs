//! Turning an RPC request, or a read of a table or view, into one SQL statement, the way
//! PostgREST does: the arguments travel as a single JSON parameter and are unpacked with
//! `json_to_record(...) as _(name type, ...)` listing only the supplied arguments, then passed
//! in named notation, so every omitted argument takes its SQL default; a set-returning call or
//! a relation is the FROM item of the read modifiers (`crate::query`). The statement always
//! returns text (the response body) and counts, so a cached prepared statement stays valid when
//! the function changes.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::query::{unsupported, Params, ReadPlan, Unknown, RESERVED_QUERY_PARAMS, SOURCE_ALIAS};
use crate::schema::{Function, Returns, EXPOSED_SCHEMA};

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

/// How a result set is serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    /// PostgREST's `text/csv`: a header line of column names, then each row's record text.
    Csv,
}

/// One statement and its parameters. It returns one row: (body text, rows in the body, total
/// rows when counted). `explain` is the statement whose plan estimates the total
/// (`Prefer: count=planned|estimated`), with its own parameters.
#[derive(Debug)]
pub struct Call {
    pub sql: String,
    pub params: Vec<Unknown>,
    pub explain: Option<(String, Vec<Unknown>)>,
    /// The body is a JSON array (or CSV) of rows; otherwise a single JSON value.
    pub is_set: bool,
}

/// Builds the statement for a function call. `setof` and composite results go through the
/// read modifiers of `plan` (PostgREST applies them to a function's result as to a table);
/// a single composite comes back as an array of at most one row, which the caller unwraps.
pub fn build_call(
    function: &Function,
    args: &Args,
    whole_body: bool,
    plan: &ReadPlan,
    output: Output,
    exact_count: bool,
) -> Result<Call, ApiError> {
    let target = format!(
        "{}.{}",
        quote_ident(EXPOSED_SCHEMA),
        quote_ident(&function.name)
    );
    let (call, from_args, args_param) = if whole_body {
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
    let first_params: Vec<Unknown> = args_param.map(Unknown).into_iter().collect();
    let scalar = |expr: String| Call {
        sql: match &from_args {
            Some(from) => format!("select {expr}, 1::int8, null::int8 from {from}"),
            None => format!("select {expr}, 1::int8, null::int8"),
        },
        params: first_params.clone(),
        explain: None,
        is_set: false,
    };
    let single_value = matches!(
        (function.returns, function.returns_set),
        (Returns::Void, _) | (Returns::Scalar, false)
    );
    if single_value && plan.shapes_rows() {
        return Err(unsupported(
            "select, filters and order on a function returning one scalar (or void)",
            format!(
                "{}.{} returns a single value, which has no columns or rows to shape",
                EXPOSED_SCHEMA, function.name
            ),
        ));
    }
    match (function.returns, function.returns_set) {
        // A void value cannot be read as text: call it in a subquery and answer NULL (→ 204).
        (Returns::Void, _) => Ok(scalar(format!(
            "(select null::text from (select {call}) as _v)"
        ))),
        (Returns::Scalar, false) => Ok(scalar(format!("to_json({call})::text"))),
        (returns, returns_set) => {
            let source = match returns {
                // A set of scalars is a one-column table named after the function, as in PostgREST.
                Returns::Scalar => {
                    format!("{call} as {SOURCE_ALIAS}({})", quote_ident(&function.name))
                }
                _ => format!("{call} as {SOURCE_ALIAS}"),
            };
            let from = match &from_args {
                Some(args) => format!("{args}, {source}"),
                None => source,
            };
            let scalar_column = (returns == Returns::Scalar).then_some(function.name.as_str());
            let mut call = read_statement(
                &from,
                first_params,
                plan,
                output,
                Source::Function { scalar_column },
                exact_count,
            )?;
            call.is_set = returns_set;
            Ok(call)
        }
    }
}

/// Builds the statement for a read of a table or view of the exposed schema.
pub fn build_read(
    relation: &str,
    plan: &ReadPlan,
    output: Output,
    exact_count: bool,
) -> Result<Call, ApiError> {
    let from = format!(
        "{}.{} as {SOURCE_ALIAS}",
        quote_ident(EXPOSED_SCHEMA),
        quote_ident(relation)
    );
    read_statement(
        &from,
        Vec::new(),
        plan,
        output,
        Source::Relation,
        exact_count,
    )
}

/// What a read's FROM item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source<'a> {
    /// A function call; `scalar_column` names the one column of a set of scalars.
    Function {
        scalar_column: Option<&'a str>,
    },
    Relation,
}

/// The read modifiers around `from` (which defines [`SOURCE_ALIAS`] and may use the
/// parameters `first_params`, numbered from `$1`).
fn read_statement(
    from: &str,
    first_params: Vec<Unknown>,
    plan: &ReadPlan,
    output: Output,
    source: Source<'_>,
    exact_count: bool,
) -> Result<Call, ApiError> {
    let (is_function, scalar_column) = match source {
        Source::Function { scalar_column } => (true, scalar_column),
        Source::Relation => (false, None),
    };
    let mut params = Params::starting_at(first_params.len() + 1);
    let where_sql = plan.where_sql(&mut params);
    let select_sql = plan.select_sql(&mut params)?;
    let order_sql = plan.order_sql(&mut params);
    let page_sql = plan.page_sql();
    let body = match (output, scalar_column) {
        (Output::Csv, _) => "(select coalesce(string_agg(_k, ','), '') from \
             (select json_object_keys(row_to_json(_h)) as _k from (select * from pgrst_page limit 1) as _h) as _a) \
             || chr(10) || coalesce(string_agg(substring(pgrst_page::text, 2, length(pgrst_page::text) - 2), chr(10)), '')"
            .to_string(),
        (Output::Json, Some(column)) if !plan.selects_columns() => format!(
            "coalesce(json_agg(pgrst_page.{}), '[]')::text",
            quote_ident(column)
        ),
        (Output::Json, _) => "coalesce(json_agg(pgrst_page), '[]')::text".to_string(),
    };
    let sql = if is_function {
        // A function's rows are computed once (a volatile function must not run twice).
        let total = if exact_count {
            "(select count(*) from pgrst_filtered)::int8"
        } else {
            "null::int8"
        };
        format!(
            "with pgrst_filtered as (select {SOURCE_ALIAS}.* from {from}{where_sql}), \
             pgrst_page as (select {select_sql} from pgrst_filtered as {SOURCE_ALIAS}{order_sql}{page_sql}) \
             select {body}, count(*)::int8, {total} from pgrst_page"
        )
    } else {
        // A relation is read column by column (column-level grants hold, as in PostgREST);
        // the count is its own scan with the same filters.
        let total = if exact_count {
            format!(
                "(select count(*) from {from}{})::int8",
                plan.where_sql(&mut params)
            )
        } else {
            "null::int8".to_string()
        };
        format!(
            "with pgrst_page as (select {select_sql} from {from}{where_sql}{order_sql}{page_sql}) \
             select {body}, count(*)::int8, {total} from pgrst_page"
        )
    };
    let mut explain_params = Params::starting_at(first_params.len() + 1);
    let explain_sql = format!(
        "explain (format json) select 1 from {from}{}",
        plan.where_sql(&mut explain_params)
    );
    let mut all_params = first_params.clone();
    all_params.extend(params.values);
    let mut all_explain_params = first_params;
    all_explain_params.extend(explain_params.values);
    Ok(Call {
        sql,
        params: all_params,
        explain: Some((explain_sql, all_explain_params)),
        is_set: true,
    })
}

/// Splits GET query pairs into function arguments (the keys in `arg_keys`) and the rest
/// (modifiers and filters, in order).
pub fn split_query(query: &str, arg_keys: &BTreeSet<String>) -> (Args, Vec<(String, String)>) {
    let mut args = Map::new();
    let mut rest = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if !arg_keys.contains(key.as_ref()) {
            rest.push((key.into_owned(), value.into_owned()));
            continue;
        }
        match args.get_mut(key.as_ref()) {
            Some(Value::Array(items)) => items.push(Value::String(value.into_owned())),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value.into_owned())]);
            }
            None => {
                args.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    (Args::Named(args), rest)
}

/// Decoded query pairs, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Keys of `query` that may be function arguments (not reserved for modifiers).
pub fn candidate_keys(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| k.into_owned())
        .filter(|k| !RESERVED_QUERY_PARAMS.contains(&k.as_str()))
        .collect()
}

/// A double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// PostgREST's `Content-Range` for `count` rows from `offset` out of `total` (when counted).
pub fn content_range(offset: i64, count: i64, total: Option<i64>) -> String {
    let total = total.map(|t| t.to_string()).unwrap_or_else(|| "*".into());
    if count <= 0 {
        format!("*/{total}")
    } else {
        format!("{offset}-{}/{total}", offset + count - 1)
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

    fn call(function: &Function, args: Value, plan: &ReadPlan) -> Call {
        build_call(function, &named(args), false, plan, Output::Json, false).expect("call")
    }

    fn texts(params: &[Unknown]) -> Vec<&str> {
        params.iter().map(|p| p.0.as_str()).collect()
    }

    #[test]
    fn only_supplied_args_are_passed_so_defaults_apply() {
        let call = call(
            &f(Returns::Scalar, false),
            json!({"p_id": "x"}),
            &ReadPlan::default(),
        );
        assert_eq!(
            call.sql,
            "select to_json(\"public\".\"get_rows\"(\"p_id\" := _args.\"p_id\"))::text, 1::int8, null::int8 \
             from json_to_record($1::text::json) as _args(\"p_id\" uuid)"
        );
        assert_eq!(texts(&call.params), [r#"{"p_id":"x"}"#]);
        assert!(!call.is_set);
    }

    /// PostgREST applies select/filters/order/limit to a function's result as to a table: the
    /// call is the FROM item, filter values follow the argument parameter.
    #[test]
    fn set_returning_functions_are_read_through_the_modifiers() {
        let plan = ReadPlan::parse(
            &[("id".into(), "gt.1".into()), ("limit".into(), "2".into())],
            None,
        )
        .expect("plan");
        let call = call(
            &f(Returns::Composite, true),
            json!({"p_id": "x", "p_limit": 2}),
            &plan,
        );
        assert!(call.sql.starts_with(
            "with pgrst_filtered as (select pgrst_source.* from json_to_record($1::text::json) as \
             _args(\"p_id\" uuid, \"p_limit\" integer), \"public\".\"get_rows\"(\"p_id\" := _args.\"p_id\", \
             \"p_limit\" := _args.\"p_limit\") as pgrst_source where pgrst_source.\"id\" > $2)"
        ), "{}", call.sql);
        assert!(call.sql.ends_with(
            "select coalesce(json_agg(pgrst_page), '[]')::text, count(*)::int8, null::int8 from pgrst_page"
        ));
        assert!(call.sql.contains(" limit 2"));
        assert_eq!(texts(&call.params), [r#"{"p_id":"x","p_limit":2}"#, "1"]);
        let (explain, explain_params) = call.explain.expect("explain");
        assert!(explain.starts_with("explain (format json) select 1 from json_to_record"));
        assert_eq!(explain_params.len(), 2);
        assert!(call.is_set);
    }

    #[test]
    fn scalar_sets_are_a_column_named_after_the_function() {
        let call = call(&f(Returns::Scalar, true), json!({}), &ReadPlan::default());
        assert!(call
            .sql
            .contains("from \"public\".\"get_rows\"() as pgrst_source(\"get_rows\")"));
        assert!(call
            .sql
            .contains("select coalesce(json_agg(pgrst_page.\"get_rows\"), '[]')::text"));
        assert!(call.params.is_empty());
    }

    #[test]
    fn exact_count_counts_the_filtered_rows() {
        let call = build_call(
            &f(Returns::Composite, true),
            &named(json!({})),
            false,
            &ReadPlan::default(),
            Output::Csv,
            true,
        )
        .expect("call");
        assert!(call
            .sql
            .contains("(select count(*) from pgrst_filtered)::int8 from pgrst_page"));
        assert!(call.sql.contains("string_agg(substring(pgrst_page::text"));
    }

    /// Never a silently ignored modifier: filters on a single scalar answer 501.
    #[test]
    fn filters_on_a_single_scalar_are_refused() {
        let plan = ReadPlan::parse(&[("get_rows".into(), "eq.1".into())], None).expect("plan");
        let err = build_call(
            &f(Returns::Scalar, false),
            &named(json!({"p_id": "x"})),
            false,
            &plan,
            Output::Json,
            false,
        )
        .expect_err("refused");
        assert_eq!((err.status.as_u16(), err.code()), (501, "PGRSTX501"));
    }

    #[test]
    fn whole_body_goes_to_the_single_json_param() {
        let mut g = f(Returns::Scalar, false);
        g.params = vec![Param {
            name: String::new(),
            type_name: "jsonb".into(),
            has_default: false,
        }];
        let call = build_call(
            &g,
            &named(json!([1, 2])),
            true,
            &ReadPlan::default(),
            Output::Json,
            false,
        )
        .expect("call");
        assert_eq!(
            call.sql,
            "select to_json(\"public\".\"get_rows\"($1::text::jsonb))::text, 1::int8, null::int8"
        );
        assert_eq!(texts(&call.params), ["[1,2]"]);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        let read = build_read("we\"ird", &ReadPlan::default(), Output::Json, false).expect("read");
        assert!(read
            .sql
            .contains("from \"public\".\"we\"\"ird\" as pgrst_source"));
    }

    /// PostgREST, GET on a function: query keys naming a parameter are arguments, the rest
    /// filters and modifiers.
    #[test]
    fn get_query_splits_arguments_from_filters_and_collects_repeats() {
        let keys: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let (args, rest) = split_query("a=1&select=x&b=2&b=3&apikey=k&c=h%C3%A9&d=eq.1", &keys);
        assert_eq!(args, named(json!({"a": "1", "b": ["2", "3"], "c": "hé"})));
        assert_eq!(
            rest,
            [
                ("select".to_string(), "x".to_string()),
                ("apikey".into(), "k".into()),
                ("d".into(), "eq.1".into())
            ]
        );
        assert_eq!(candidate_keys("a=1&select=x&order=y&d=2"), ["a", "d"]);
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
        assert_eq!(content_range(0, 3, None), "0-2/*");
        assert_eq!(content_range(0, 3, Some(3)), "0-2/3");
        assert_eq!(content_range(2, 1, Some(7)), "2-2/7");
        assert_eq!(content_range(0, 0, Some(0)), "*/0");
        assert_eq!(content_range(0, 0, None), "*/*");
    }
}
