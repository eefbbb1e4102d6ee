//! OpenAPI 3.1 parameter objects for the read and aggregate routes.
//!
//! Design decision: field filters are one `filter` parameter with `style: form, explode: true`
//! and an object schema (OpenAPI's way to say "any other key"), so a generator types them as a
//! string map instead of dropping them.

use serde_json::{json, Map, Value};

use crate::aggregate::{BUCKETS, MAX_GROUPS, METRIC_FUNCTIONS};
use crate::filter::OPERATORS;
use crate::read::{MAX_LIMIT, MAX_OFFSET, MAX_Q_CHARS, MAX_TABLE_LEN};

/// The operator form of a filter value; a value that does not match it is an equality.
pub const FILTER_PATTERN: &str =
    r"^(not\.)?((eq|neq|gt|gte|lt|lte|like|ilike)\..*|in\.\(.*\)|is\.(null|true|false|unknown))$";

/// `{name: Parameter Object}` for `components.parameters`: every reserved parameter of
/// [`READ_PARAMETERS`](crate::READ_PARAMETERS) and
/// [`AGGREGATE_PARAMETERS`](crate::AGGREGATE_PARAMETERS) (`order` twice: `order` for reads,
/// `aggregate_order` for aggregates; `limit` likewise), plus `filter` for field filters.
pub fn openapi_parameters() -> Value {
    let q = |name: &str, description: String, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let tree = |name: &str, what: &str| {
        q(
            name,
            format!(
                "{what}, PostgREST's logic tree: ({}) of field.[not.]op.value conditions and nested \
                 or(…)/and(…)/not.or(…)/not.and(…), e.g. `(price.gt.10,and(country.eq.Chile,sold.is.true))`. \
                 Quote values or field names containing `,.()` with double quotes (`\\` escapes). \
                 May repeat; every occurrence must hold.",
                "comma-separated"
            ),
            json!({"type": "string", "pattern": r"^\(.*\)$"}),
        )
    };
    let mut p = Map::new();
    let mut add = |key: &str, v: Value| {
        p.insert(key.to_string(), v);
    };
    add("table", q("table", format!("The client's table to read; optional when the client has one table (1 to {MAX_TABLE_LEN} characters)."), json!({"type": "string", "minLength": 1, "maxLength": MAX_TABLE_LEN})));
    add("select", q("select", "Comma-separated fields of `data` to return (keys or header names; double-quote names with commas); `*` or absent: all of `data`.".into(), json!({"type": "string"})));
    add("order", q("order", "Comma-separated field[.asc|.desc][.nullsfirst|.nullslast], e.g. `price.desc.nullslast,id`; absent: file order (created_at, id).".into(), json!({"type": "string"})));
    add(
        "limit",
        q(
            "limit",
            format!("Rows per page, 0 to {MAX_LIMIT}; default 100."),
            json!({"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": 100}),
        ),
    );
    add(
        "offset",
        q(
            "offset",
            format!(
                "Rows to skip, 0 to {MAX_OFFSET}; page deeper with `cursor`. Not with `cursor`."
            ),
            json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
        ),
    );
    add("cursor", q("cursor", "The `next_cursor` of the previous page, unchanged (opaque), with the same order and filters.".into(), json!({"type": "string"})));
    add(
        "count",
        q(
            "count",
            "Include the total in the page: `exact`, or `estimated` (fast, from the planner)."
                .into(),
            json!({"type": "string", "enum": ["exact", "estimated"]}),
        ),
    );
    add(
        "q",
        q(
            "q",
            format!(
                "Full-text search over the table's text fields (1 to {MAX_Q_CHARS} characters)."
            ),
            json!({"type": "string", "minLength": 1, "maxLength": MAX_Q_CHARS}),
        ),
    );
    add(
        "format",
        q(
            "format",
            "Export only: `ndjson` (default) or `csv` (needs `table`).".into(),
            json!({"type": "string", "enum": ["ndjson", "csv"], "default": "ndjson"}),
        ),
    );
    add("or", tree("or", "Any of the conditions"));
    add("and", tree("and", "All of the conditions"));
    add("not.or", tree("not.or", "None of the conditions"));
    add("not.and", tree("not.and", "Not all of the conditions"));
    add("group_by", q("group_by", format!("Aggregate: comma-separated fields to group by, a date field optionally bucketed as field:{}.", BUCKETS.join("|")), json!({"type": "string"})));
    add("metrics", q("metrics", format!("Aggregate: comma-separated metrics: `count`, or fn(field) with fn one of {}; default `count`.", METRIC_FUNCTIONS.join(", ")), json!({"type": "string", "default": "count"})));
    add(
        "aggregate_order",
        json!({"name": "order", "in": "query", "required": false, "description": "Aggregate: comma-separated group:<field>[.asc|.desc] or metric:<n>[.asc|.desc] (n: place in metrics); default: group keys ascending.", "schema": {"type": "string"}}),
    );
    add(
        "aggregate_limit",
        json!({"name": "limit", "in": "query", "required": false, "description": format!("Aggregate: groups to return, 1 to {MAX_GROUPS}."), "schema": {"type": "integer", "minimum": 1, "maximum": MAX_GROUPS}}),
    );
    add(
        "filter",
        json!({
            "name": "filter",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": true,
            "description": format!(
                "Field filters: any other parameter `<field>=<value>` filters on a field (its key or its \
                 header text). The value is `[not.]op.value` with op one of {}: `in.(a,\"b,c\")` takes a list \
                 (double quotes, `\\` escapes), `is.` takes null|true|false|unknown, `like`/`ilike` use `*` \
                 as the wildcard. A value without an operator is an equality (`status=shipped`); write \
                 `eq.<value>` for a value that starts like an operator. Values are typed by the column's \
                 type: a value that does not fit is a 400 `invalid_value`.",
                OPERATORS.join(", ")
            ),
            "schema": {
                "type": "object",
                "additionalProperties": {
                    "type": "string",
                    "anyOf": [
                        {"pattern": FILTER_PATTERN, "description": "operator form"},
                        {"description": "a bare value: equality"}
                    ]
                }
            },
            "x-operators": OPERATORS,
        }),
    );
    Value::Object(p)
}
