//! PostgREST's read modifiers — `select`, horizontal filters (every operator, `not.`, `or=()`,
//! `and=()`), `order`, `limit`/`offset` and the `Range` header — parsed from a request and
//! rendered as SQL around a row source (a table, a view, or a set-returning function call).
//!
//! Design decision: every value a client sends (filter operands, JSON keys, full-text languages)
//! travels as a bind parameter in PostgreSQL's text format with its type left for the server to
//! infer ([`Unknown`]), which is what PostgREST gets by writing them as untyped literals: `id=eq.5`
//! compares an integer column with 5, a jsonb column with the JSON 5. Only identifiers (quoted),
//! operators and casts from a fixed list are written into the SQL text.

use std::error::Error;

use axum::http::StatusCode;
use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};

use crate::error::ApiError;
use crate::rpc::quote_ident;

/// Query parameters PostgREST reserves for shaping results; never filters or arguments.
pub const RESERVED_QUERY_PARAMS: &[&str] = &[
    "select",
    "order",
    "limit",
    "offset",
    "columns",
    "on_conflict",
    "apikey",
];

/// The alias of the row source in the generated SQL; filters and select refer to it.
pub const SOURCE_ALIAS: &str = "pgrst_source";

/// Casts accepted in `select=col::type` (PostgREST passes any type name to PostgreSQL; here the
/// cast is written into the SQL text, so only these names are).
const CASTS: &[&str] = &[
    "text",
    "varchar",
    "integer",
    "int",
    "int2",
    "int4",
    "int8",
    "smallint",
    "bigint",
    "numeric",
    "real",
    "float4",
    "float8",
    "double precision",
    "boolean",
    "bool",
    "json",
    "jsonb",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
];

/// A text value whose type PostgreSQL infers from where it is used, sent in text format (like
/// an untyped SQL literal). PostgreSQL parses it with that type's input function.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown(pub String);

impl ToSql for Unknown {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Bind parameters of one statement, numbered after the ones the caller already uses.
#[derive(Debug, Default)]
pub struct Params {
    first: usize,
    pub values: Vec<Unknown>,
}

impl Params {
    /// Parameters numbered from `$first`.
    pub fn starting_at(first: usize) -> Self {
        Params {
            first,
            values: Vec::new(),
        }
    }

    /// Adds `value`; returns its placeholder.
    fn push(&mut self, value: impl Into<String>) -> String {
        self.values.push(Unknown(value.into()));
        format!("${}", self.first + self.values.len() - 1)
    }
}

/// One step of a JSON path: `->key` (JSON) or `->>key` (text); a number is an array index.
#[derive(Debug, Clone, PartialEq)]
struct JsonStep {
    as_text: bool,
    key: String,
}

/// A column, optionally followed by a JSON path (`data->a->>b`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    column: String,
    path: Vec<JsonStep>,
}

impl Field {
    fn parse(text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        let (column, mut rest) = match text.find("->") {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        let column = unquote(column.trim());
        if column.is_empty() {
            return Err(parse_error(format!("missing a column name in \"{text}\"")));
        }
        let mut path = Vec::new();
        while !rest.is_empty() {
            let as_text = rest.starts_with("->>");
            rest = &rest[if as_text { 3 } else { 2 }..];
            let end = rest.find("->").unwrap_or(rest.len());
            let key = unquote(&rest[..end]);
            if key.is_empty() {
                return Err(parse_error(format!("an empty JSON key in \"{text}\"")));
            }
            path.push(JsonStep { as_text, key });
            rest = &rest[end..];
        }
        Ok(Field { column, path })
    }

    /// The name PostgREST gives the result column: the last JSON key, else the column.
    fn output_name(&self) -> &str {
        self.path
            .last()
            .map(|step| step.key.as_str())
            .unwrap_or(&self.column)
    }

    fn render(&self, params: &mut Params) -> String {
        let mut sql = format!("{SOURCE_ALIAS}.{}", quote_ident(&self.column));
        for step in &self.path {
            let arrow = if step.as_text { "->>" } else { "->" };
            // An integer key indexes an array, as in PostgREST; it is written as a number.
            let key = match step.key.parse::<i32>() {
                Ok(index) => index.to_string(),
                Err(_) => format!("{}::text", params.push(step.key.clone())),
            };
            sql = format!("{sql}{arrow}{key}");
        }
        sql
    }
}

/// One item of `select`.
#[derive(Debug, Clone, PartialEq)]
enum SelectItem {
    Star,
    Field {
        field: Field,
        alias: Option<String>,
        cast: Option<String>,
    },
}

/// A horizontal filter or a logic tree of them.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Compare {
        field: Field,
        negated: bool,
        operation: Operation,
    },
    Logic {
        negated: bool,
        all: bool,
        children: Vec<Condition>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Operation {
    /// `f <op> value` (eq, neq, gt, …, like, ilike, match, imatch, isdistinct, cs, cd, ov, …).
    Binary { sql_op: &'static str, value: String },
    /// `f <op> any|all(value)` (`eq(any).{a,b}`).
    Quantified {
        sql_op: &'static str,
        quantifier: &'static str,
        value: String,
    },
    /// `f = any(array)` from `in.(a,b)`.
    In(Vec<String>),
    /// `f is null|not null|true|false|unknown`.
    Is(&'static str),
    /// Full-text search: `f @@ to_tsquery([language,] value)`.
    FullText {
        function: &'static str,
        language: Option<String>,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct OrderTerm {
    field: Field,
    descending: bool,
    nulls: Option<&'static str>,
}

/// Everything that shapes a read, parsed from the query string and headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadPlan {
    select: Vec<SelectItem>,
    conditions: Vec<Condition>,
    order: Vec<OrderTerm>,
    pub limit: Option<i64>,
    pub offset: i64,
}

impl ReadPlan {
    /// Parses `pairs` (decoded query parameters that are not function arguments) and the
    /// `Range` header value, if any.
    pub fn parse(pairs: &[(String, String)], range: Option<&str>) -> Result<Self, ApiError> {
        let mut plan = ReadPlan::default();
        let mut limit: Option<i64> = None;
        for (key, value) in pairs {
            match key.as_str() {
                "select" => plan.select = parse_select(value)?,
                "order" => plan.order = parse_order(value)?,
                "limit" => limit = Some(parse_count("limit", value)?),
                "offset" => plan.offset = parse_count("offset", value)?,
                "apikey" => {}
                "columns" | "on_conflict" => {}
                "or" | "and" | "not.or" | "not.and" => plan.conditions.push(parse_logic(
                    key.starts_with("not."),
                    key.ends_with("and"),
                    value,
                )?),
                _ => {
                    if key.contains('.') && !key.contains("->") {
                        return Err(unsupported(
                            "filters on embedded resources",
                            format!("the filter key \"{key}\" names an embedded resource"),
                        ));
                    }
                    plan.conditions
                        .push(parse_filter(Field::parse(key)?, value)?);
                }
            }
        }
        plan.limit = limit;
        if let Some(range) = range {
            let (start, end) = parse_range(range)?;
            // PostgREST intersects the Range header with limit/offset.
            let query_end = plan.limit.map(|l| plan.offset + l - 1);
            let lower = start.max(plan.offset);
            let upper = match (end, query_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            plan.offset = lower;
            plan.limit = upper.map(|u| (u - lower + 1).max(0));
        }
        Ok(plan)
    }

    /// PostgREST's `db-max-rows`: no page is longer than `max_rows`, whatever was asked.
    pub fn cap_rows(mut self, max_rows: i64) -> Self {
        self.limit = Some(self.limit.map_or(max_rows, |limit| limit.min(max_rows)));
        self
    }

    /// Whether anything here would pick, filter or sort rows or columns (which a single scalar
    /// result has none of).
    pub fn shapes_rows(&self) -> bool {
        self.selects_columns() || !self.conditions.is_empty() || !self.order.is_empty()
    }

    /// Whether `select` asked for particular columns (not `*` or nothing).
    pub fn selects_columns(&self) -> bool {
        self.select
            .iter()
            .any(|item| !matches!(item, SelectItem::Star))
    }

    /// The select list over [`SOURCE_ALIAS`].
    pub fn select_sql(&self, params: &mut Params) -> Result<String, ApiError> {
        if self.select.is_empty() {
            return Ok(format!("{SOURCE_ALIAS}.*"));
        }
        let mut items = Vec::new();
        for item in &self.select {
            items.push(match item {
                SelectItem::Star => format!("{SOURCE_ALIAS}.*"),
                SelectItem::Field { field, alias, cast } => {
                    let mut expr = field.render(params);
                    if let Some(cast) = cast {
                        expr = format!("({expr})::{cast}");
                    }
                    let name = alias.as_deref().unwrap_or(field.output_name());
                    format!("{expr} as {}", quote_ident(name))
                }
            });
        }
        Ok(items.join(", "))
    }

    /// `where …` (or empty) over [`SOURCE_ALIAS`].
    pub fn where_sql(&self, params: &mut Params) -> String {
        if self.conditions.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .conditions
            .iter()
            .map(|c| render_condition(c, params))
            .collect();
        format!(" where {}", parts.join(" and "))
    }

    /// `order by …` (or empty) over [`SOURCE_ALIAS`].
    pub fn order_sql(&self, params: &mut Params) -> String {
        if self.order.is_empty() {
            return String::new();
        }
        let terms: Vec<String> = self
            .order
            .iter()
            .map(|term| {
                let mut sql = term.field.render(params);
                sql.push_str(if term.descending { " desc" } else { " asc" });
                if let Some(nulls) = term.nulls {
                    sql.push(' ');
                    sql.push_str(nulls);
                }
                sql
            })
            .collect();
        format!(" order by {}", terms.join(", "))
    }

    /// `limit … offset …` (or empty).
    pub fn page_sql(&self) -> String {
        let mut sql = String::new();
        if let Some(limit) = self.limit {
            sql.push_str(&format!(" limit {limit}"));
        }
        if self.offset > 0 {
            sql.push_str(&format!(" offset {}", self.offset));
        }
        sql
    }
}

fn render_condition(condition: &Condition, params: &mut Params) -> String {
    match condition {
        Condition::Compare {
            field,
            negated,
            operation,
        } => {
            let f = field.render(params);
            let sql = match operation {
                Operation::Binary { sql_op, value } => {
                    format!("{f} {sql_op} {}", params.push(value.clone()))
                }
                Operation::Quantified {
                    sql_op,
                    quantifier,
                    value,
                } => format!("{f} {sql_op} {quantifier}({})", params.push(value.clone())),
                Operation::In(items) => {
                    format!("{f} = any({})", params.push(array_literal(items)))
                }
                Operation::Is(what) => format!("{f} is {what}"),
                Operation::FullText {
                    function,
                    language,
                    value,
                } => match language {
                    Some(language) => format!(
                        "{f} @@ {function}({}::regconfig, {}::text)",
                        params.push(language.clone()),
                        params.push(value.clone())
                    ),
                    None => format!("{f} @@ {function}({}::text)", params.push(value.clone())),
                },
            };
            if *negated {
                format!("not ({sql})")
            } else {
                sql
            }
        }
        Condition::Logic {
            negated,
            all,
            children,
        } => {
            let joiner = if *all { " and " } else { " or " };
            let parts: Vec<String> = children
                .iter()
                .map(|c| render_condition(c, params))
                .collect();
            let sql = format!("({})", parts.join(joiner));
            if *negated {
                format!("not {sql}")
            } else {
                sql
            }
        }
    }
}

/// A PostgreSQL array literal of text elements, every element quoted.
fn array_literal(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn parse_select(value: &str) -> Result<Vec<SelectItem>, ApiError> {
    let mut items = Vec::new();
    for raw in split_top_level(value)? {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if raw == "*" {
            items.push(SelectItem::Star);
            continue;
        }
        if raw.contains('(') || raw.starts_with("...") {
            return Err(unsupported(
                "resource embedding and aggregates in select",
                format!("the select item \"{raw}\" embeds a resource or calls an aggregate"),
            ));
        }
        // `alias:field` (a `::` is a cast, not an alias separator).
        let (alias, rest) = match find_alias_colon(raw) {
            Some(i) => (Some(unquote(&raw[..i])), &raw[i + 1..]),
            None => (None, raw),
        };
        let (field_text, cast) = match rest.find("::") {
            Some(i) => (&rest[..i], Some(rest[i + 2..].trim().to_ascii_lowercase())),
            None => (rest, None),
        };
        if let Some(cast) = &cast {
            if !CASTS.contains(&cast.as_str()) {
                return Err(unsupported(
                    "this cast",
                    format!(
                        "casting to \"{cast}\" is not supported by the local data API; supported: {}",
                        CASTS.join(", ")
                    ),
                ));
            }
        }
        items.push(SelectItem::Field {
            field: Field::parse(field_text)?,
            alias,
            cast,
        });
    }
    Ok(items)
}

/// Index of a single `:` (an alias separator) that is not part of `::`.
fn find_alias_colon(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b':' && bytes.get(i + 1) != Some(&b':') && (i == 0 || bytes[i - 1] != b':')
    })
}

fn parse_order(value: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut terms = Vec::new();
    for raw in split_top_level(value)? {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if raw.contains('(') {
            return Err(unsupported(
                "ordering by embedded resources",
                format!("the order term \"{raw}\" names an embedded resource"),
            ));
        }
        let mut parts: Vec<&str> = raw.split('.').collect();
        let mut descending = false;
        let mut nulls = None;
        while parts.len() > 1 {
            match *parts.last().unwrap_or(&"") {
                "asc" => descending = false,
                "desc" => descending = true,
                "nullsfirst" => nulls = Some("nulls first"),
                "nullslast" => nulls = Some("nulls last"),
                _ => break,
            }
            parts.pop();
        }
        terms.push(OrderTerm {
            field: Field::parse(&parts.join("."))?,
            descending,
            nulls,
        });
    }
    Ok(terms)
}

fn parse_count(name: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| parse_error(format!("failed to parse {name} parameter ({value})")))
}

/// `Range: 0-9` (or `items=0-9`); `5-` is open-ended.
fn parse_range(value: &str) -> Result<(i64, Option<i64>), ApiError> {
    let text = value.trim();
    let text = text.strip_prefix("items=").unwrap_or(text);
    let not_satisfiable = || {
        ApiError::postgrest(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "PGRST103",
            "Requested range not satisfiable",
        )
    };
    let (start, end) = text.split_once('-').ok_or_else(not_satisfiable)?;
    let start: i64 = start.trim().parse().map_err(|_| not_satisfiable())?;
    let end: Option<i64> = match end.trim() {
        "" => None,
        e => Some(e.parse().map_err(|_| not_satisfiable())?),
    };
    if start < 0 || end.is_some_and(|e| e < start) {
        return Err(not_satisfiable());
    }
    Ok((start, end))
}

/// `op.value`, `not.op.value`, `op(any).{a,b}`, `fts(english).value`.
fn parse_filter(field: Field, value: &str) -> Result<Condition, ApiError> {
    let (negated, rest) = match value.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (op_text, operand) = rest
        .split_once('.')
        .ok_or_else(|| parse_error(format!("failed to parse filter ({value})")))?;
    let (op, modifier) = match op_text.split_once('(') {
        Some((op, m)) => (op, Some(m.trim_end_matches(')'))),
        None => (op_text, None),
    };
    let binary = |sql_op: &'static str| Operation::Binary {
        sql_op,
        value: operand.to_string(),
    };
    let like = |sql_op: &'static str| Operation::Binary {
        sql_op,
        value: operand.replace('*', "%"),
    };
    let comparison = match op {
        "eq" => Some("="),
        "neq" => Some("<>"),
        "gt" => Some(">"),
        "gte" => Some(">="),
        "lt" => Some("<"),
        "lte" => Some("<="),
        "like" => Some("like"),
        "ilike" => Some("ilike"),
        "match" => Some("~"),
        "imatch" => Some("~*"),
        _ => None,
    };
    let operation = match (op, modifier) {
        (_, Some(modifier @ ("any" | "all"))) if comparison.is_some() => {
            let quantifier = if modifier == "any" { "any" } else { "all" };
            let value = if matches!(op, "like" | "ilike") {
                operand.replace('*', "%")
            } else {
                operand.to_string()
            };
            Operation::Quantified {
                sql_op: comparison.unwrap_or("="),
                quantifier,
                value,
            }
        }
        ("like", None) => like("like"),
        ("ilike", None) => like("ilike"),
        (_, None) if comparison.is_some() => binary(comparison.unwrap_or("=")),
        ("isdistinct", None) => binary("is distinct from"),
        ("cs", None) => binary("@>"),
        ("cd", None) => binary("<@"),
        ("ov", None) => binary("&&"),
        ("sl", None) => binary("<<"),
        ("sr", None) => binary(">>"),
        ("nxr", None) => binary("&<"),
        ("nxl", None) => binary("&>"),
        ("adj", None) => binary("-|-"),
        ("in", None) => Operation::In(parse_in_list(operand)?),
        ("is", None) => Operation::Is(match operand.to_ascii_lowercase().as_str() {
            "null" => "null",
            "not_null" => "not null",
            "true" => "true",
            "false" => "false",
            "unknown" => "unknown",
            _ => return Err(parse_error(format!("failed to parse filter ({value})"))),
        }),
        ("fts" | "plfts" | "phfts" | "wfts", language) => Operation::FullText {
            function: match op {
                "fts" => "to_tsquery",
                "plfts" => "plainto_tsquery",
                "phfts" => "phraseto_tsquery",
                _ => "websearch_to_tsquery",
            },
            language: language.map(str::to_string),
            value: operand.to_string(),
        },
        _ => return Err(parse_error(format!("unknown operator in filter ({value})"))),
    };
    Ok(Condition::Compare {
        field,
        negated,
        operation,
    })
}

/// `(a,b,"c,d")` → `[a, b, c,d]`.
fn parse_in_list(operand: &str) -> Result<Vec<String>, ApiError> {
    let inner = operand
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| parse_error(format!("failed to parse in list ({operand})")))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(split_top_level(inner)?
        .into_iter()
        .map(|item| unquote(item.trim()))
        .collect())
}

/// `or=(a.eq.1,and(b.gt.2,c.is.null),not.or(d.eq.x,e.eq.y))`.
fn parse_logic(negated: bool, all: bool, value: &str) -> Result<Condition, ApiError> {
    let inner = value
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| parse_error(format!("failed to parse logic tree ({value})")))?;
    let mut children = Vec::new();
    for item in split_top_level(inner)? {
        let item = item.trim();
        let (item_negated, body) = match item.strip_prefix("not.") {
            Some(body) if body.starts_with("or(") || body.starts_with("and(") => (true, body),
            _ => (false, item),
        };
        if let Some(tree) = body.strip_prefix("or").filter(|t| t.starts_with('(')) {
            children.push(parse_logic(item_negated, false, tree)?);
        } else if let Some(tree) = body.strip_prefix("and").filter(|t| t.starts_with('(')) {
            children.push(parse_logic(item_negated, true, tree)?);
        } else {
            // `field.op.value`: the field ends at the first `.` outside a JSON path key.
            let (field, filter) = item
                .split_once('.')
                .ok_or_else(|| parse_error(format!("failed to parse logic tree ({value})")))?;
            let filter = unquote_operand(filter);
            children.push(parse_filter(Field::parse(field)?, &filter)?);
        }
    }
    Ok(Condition::Logic {
        negated,
        all,
        children,
    })
}

/// In a logic tree a filter's value may be double-quoted (`a.eq."x,y"`).
fn unquote_operand(filter: &str) -> String {
    let (prefix, operand) = match filter.strip_prefix("not.") {
        Some(rest) => ("not.", rest),
        None => ("", filter),
    };
    match operand.split_once('.') {
        Some((op, value)) if value.starts_with('"') => format!("{prefix}{op}.{}", unquote(value)),
        _ => filter.to_string(),
    }
}

/// Splits on commas outside parentheses and double quotes.
fn split_top_level(text: &str) -> Result<Vec<&str>, ApiError> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(parse_error(format!("unbalanced parentheses in \"{text}\"")));
        }
    }
    if depth != 0 || quoted {
        return Err(parse_error(format!(
            "unbalanced parentheses or quotes in \"{text}\""
        )));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// `"a \"b\""` → `a "b"`; anything else as it is.
fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_string(),
    }
}

/// PostgREST's PGRST100: the query string cannot be parsed (its message says what failed).
fn parse_error(message: String) -> ApiError {
    ApiError::postgrest(StatusCode::BAD_REQUEST, "PGRST100", message)
}

/// A PostgREST feature this local stand-in does not implement: 501 `PGRSTX501`, naming it.
pub fn unsupported(feature: &str, details: impl Into<String>) -> ApiError {
    ApiError::postgrest(
        StatusCode::NOT_IMPLEMENTED,
        "PGRSTX501",
        format!("{feature} is not supported by the local data API"),
    )
    .with_details(details)
    .with_hint("Supabase's PostgREST supports it; the local stand-in (crates/data-api) does not")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sql(plan: &ReadPlan) -> (String, Vec<String>) {
        let mut params = Params::starting_at(2);
        let text = format!(
            "select {} from x as pgrst_source{}{}{}",
            plan.select_sql(&mut params).expect("select"),
            plan.where_sql(&mut params),
            plan.order_sql(&mut params),
            plan.page_sql()
        );
        (text, params.values.into_iter().map(|u| u.0).collect())
    }

    /// PostgREST docs, "Horizontal filtering": operators, `not.`, `in.()`, `is.null`.
    #[test]
    fn filters_bind_every_value() {
        let plan = ReadPlan::parse(
            &pairs(&[
                ("id", "gt.1"),
                ("label", "not.in.(a,\"b,c\")"),
                ("data->>a", "eq.1"),
                ("note", "is.null"),
                ("name", "ilike.*x*"),
            ]),
            None,
        )
        .expect("parse");
        let (text, values) = sql(&plan);
        assert_eq!(
            text,
            "select pgrst_source.* from x as pgrst_source where pgrst_source.\"id\" > $2 and \
             not (pgrst_source.\"label\" = any($3)) and pgrst_source.\"data\"->>$4::text = $5 and \
             pgrst_source.\"note\" is null and pgrst_source.\"name\" ilike $6"
        );
        assert_eq!(values, ["1", "{\"a\",\"b,c\"}", "a", "1", "%x%"]);
    }

    /// PostgREST docs, "Logical operators": nested `or`/`and`/`not.and`.
    #[test]
    fn logic_trees_nest() {
        let plan = ReadPlan::parse(
            &pairs(&[(
                "or",
                "(id.eq.1,and(id.gte.2,label.not.eq.\"x,y\"),not.or(id.lt.0,id.is.null))",
            )]),
            None,
        )
        .expect("parse");
        let (text, values) = sql(&plan);
        assert!(text.ends_with(
            "where (pgrst_source.\"id\" = $2 or (pgrst_source.\"id\" >= $3 and not (pgrst_source.\"label\" = $4)) \
             or not (pgrst_source.\"id\" < $5 or pgrst_source.\"id\" is null))"
        ), "{text}");
        assert_eq!(values, ["1", "2", "x,y", "0"]);
    }

    /// PostgREST docs, "Vertical filtering": renames, JSON paths named by their last key, casts.
    #[test]
    fn select_renames_paths_and_casts() {
        let plan = ReadPlan::parse(
            &pairs(&[("select", "id,name:label,data->>a,n:data->b::int")]),
            None,
        )
        .expect("parse");
        let (text, values) = sql(&plan);
        assert!(text.starts_with(
            "select pgrst_source.\"id\" as \"id\", pgrst_source.\"label\" as \"name\", \
             pgrst_source.\"data\"->>$2::text as \"a\", (pgrst_source.\"data\"->$3::text)::int as \"n\" from"
        ), "{text}");
        assert_eq!(values, ["a", "b"]);
        let err = ReadPlan::parse(&pairs(&[("select", "id::regclass")]), None).expect_err("cast");
        assert_eq!((err.status.as_u16(), err.code()), (501, "PGRSTX501"));
        let err = ReadPlan::parse(&pairs(&[("select", "id,items(*)")]), None).expect_err("embed");
        assert_eq!(err.code(), "PGRSTX501");
    }

    /// PostgREST docs, "Ordering" and "Limits and Pagination"; the Range header intersects.
    #[test]
    fn order_limit_offset_and_range() {
        let plan = ReadPlan::parse(
            &pairs(&[
                ("order", "id.desc.nullslast,data->>a"),
                ("limit", "5"),
                ("offset", "2"),
            ]),
            Some("0-3"),
        )
        .expect("parse");
        let (text, _) = sql(&plan);
        assert!(text.ends_with(
            "order by pgrst_source.\"id\" desc nulls last, pgrst_source.\"data\"->>$2::text asc limit 2 offset 2"
        ), "{text}");
        let err = ReadPlan::parse(&[], Some("5-1")).expect_err("bad range");
        assert_eq!((err.status.as_u16(), err.code()), (416, "PGRST103"));
        let err = ReadPlan::parse(&pairs(&[("limit", "x")]), None).expect_err("bad limit");
        assert_eq!((err.status.as_u16(), err.code()), (400, "PGRST100"));
    }

    #[test]
    fn unknown_operators_and_embedded_filters_are_refused() {
        let err = ReadPlan::parse(&pairs(&[("id", "nope.1")]), None).expect_err("operator");
        assert_eq!(err.code(), "PGRST100");
        let err = ReadPlan::parse(&pairs(&[("items.id", "eq.1")]), None).expect_err("embedded");
        assert_eq!(err.code(), "PGRSTX501");
    }
}
