//! `GET /api/data/{id}` (and `/count`, `/export`): the query pairs → [`ReadRequest`], whose
//! [`ReadRequest::plan`] is `query_client_data`'s `p_query`; and the opaque cursor.
//!
//! Design decision: the cursor is the SQL answer's `next` JSON, base64url-encoded and never
//! looked into: the database checks that it fits the order and the table (and RLS that the rows
//! are the caller's), so the Worker has no keyset format to keep in step.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::error::{at, QueryError};
use crate::filter::{is_logic_param, parse_field_filter, parse_logic_param, Filter};
use crate::hint::closest;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
pub const MAX_OFFSET: u32 = 10_000;
/// Longest accepted `cursor` text (the SQL's `next` is an order-values array and an id).
pub const MAX_CURSOR_LEN: usize = 4096;
/// Longest accepted `q` (free-text search), in characters.
pub const MAX_Q_CHARS: usize = 500;
/// Longest table name (PostgreSQL's identifier limit).
pub const MAX_TABLE_LEN: usize = 63;

/// The parameters with their own meaning on the read routes; any other key is a field filter.
/// `or`, `and`, `not.or`, `not.and` may repeat (each is one more required condition); the
/// others may appear once.
pub const READ_PARAMETERS: &[&str] = &[
    "table", "select", "order", "limit", "offset", "cursor", "count", "q", "format", "or", "and",
    "not.or", "not.and",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    First,
    Last,
}

/// One term of `order=field.desc.nullslast`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    pub field: String,
    pub dir: Direction,
    /// `None`: PostgreSQL's default (last for asc, first for desc).
    pub nulls: Option<Nulls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountKind {
    Exact,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

/// What a read asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadRequest {
    pub table: Option<String>,
    /// All top-level filters: one node, or their `and`.
    pub filter: Option<Filter>,
    /// Empty: file order (created_at asc, id asc).
    pub order: Vec<OrderTerm>,
    /// `None`: the whole `data` object.
    pub select: Option<Vec<String>>,
    /// `None`: not given (the SQL's default is [`DEFAULT_LIMIT`]).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// The decoded `cursor`: the previous page's `next`, unchanged.
    pub after: Option<Value>,
    pub count: Option<CountKind>,
    pub q: Option<String>,
    /// `format=csv|ndjson`: the export's own parameter; the Worker refuses it on other routes.
    pub format: Option<ExportFormat>,
}

impl ReadRequest {
    /// `query_client_data`'s `p_query` (docs/QUERY.md); `limit`/`offset` only when given.
    pub fn plan(&self) -> Value {
        let mut plan = json!({
            "table": self.table,
            "filter": self.filter.as_ref().map(Filter::to_json),
            "order": self.order.iter().map(|t| {
                let mut o = json!({"field": t.field, "dir": t.dir.as_str()});
                if let Some(n) = t.nulls {
                    o["nulls"] = json!(if n == Nulls::First { "first" } else { "last" });
                }
                o
            }).collect::<Vec<_>>(),
            "select": self.select,
            "after": self.after,
            "count": self.count.map(|c| if c == CountKind::Exact { "exact" } else { "estimated" }),
            "q": self.q,
        });
        if let Some(l) = self.limit {
            plan["limit"] = json!(l);
        }
        if let Some(o) = self.offset {
            plan["offset"] = json!(o);
        }
        plan
    }
}

/// Refuses a second occurrence of a once-only parameter.
pub(crate) struct Seen(HashSet<String>);

impl Seen {
    pub(crate) fn new() -> Self {
        Seen(HashSet::new())
    }

    pub(crate) fn once(&mut self, key: &str) -> Result<(), QueryError> {
        if self.0.insert(key.to_string()) {
            Ok(())
        } else {
            Err(QueryError::new(
                "duplicate_parameter",
                format!("query parameter `{key}` is given more than once"),
            )
            .with_details(json!({"parameter": key})))
        }
    }
}

pub(crate) fn invalid_parameter(
    param: &str,
    value: &str,
    byte: usize,
    message: impl Into<String>,
) -> QueryError {
    QueryError::new("invalid_parameter", message).with_details(at(param, value, byte))
}

/// Parses the decoded query pairs of a read route, in order.
pub fn parse_read(pairs: &[(String, String)]) -> Result<ReadRequest, QueryError> {
    let mut r = ReadRequest::default();
    let mut seen = Seen::new();
    let mut filters = Vec::new();
    for (key, value) in pairs {
        let (key, value) = (key.as_str(), value.as_str());
        if is_logic_param(key) {
            filters.push(parse_logic_param(key, value)?);
            continue;
        }
        if READ_PARAMETERS.contains(&key) {
            seen.once(key)?;
        }
        match key {
            "table" => r.table = Some(parse_table(value)?),
            "select" => r.select = parse_select(value)?,
            "order" => r.order = parse_order(value)?,
            "limit" => r.limit = Some(parse_bound("limit", value, 0, MAX_LIMIT, "invalid_limit")?),
            "offset" => {
                r.offset = Some(parse_bound(
                    "offset",
                    value,
                    0,
                    MAX_OFFSET,
                    "invalid_offset",
                )?)
            }
            "cursor" => r.after = Some(decode_cursor(value)?),
            "count" => {
                r.count = Some(match value {
                    "exact" => CountKind::Exact,
                    "estimated" => CountKind::Estimated,
                    _ => {
                        return Err(invalid_parameter(
                            key,
                            value,
                            0,
                            format!("count must be `exact` or `estimated`, got `{value}`"),
                        ))
                    }
                })
            }
            "q" => r.q = Some(parse_q(value)?),
            "format" => {
                r.format = Some(match value {
                    "ndjson" => ExportFormat::Ndjson,
                    "csv" => ExportFormat::Csv,
                    _ => {
                        return Err(invalid_parameter(
                            key,
                            value,
                            0,
                            format!("format must be `csv` or `ndjson`, got `{value}`"),
                        ))
                    }
                })
            }
            field => filters.push(parse_field_filter(field, value)?),
        }
    }
    if r.after.is_some() && r.offset.is_some() {
        return Err(QueryError::new(
            "invalid_parameter",
            "cursor and offset cannot be combined: the cursor already says where the page starts",
        )
        .with_details(json!({"parameter": "offset"}))
        .with_hint("drop offset when following next_cursor"));
    }
    r.filter = Filter::all(filters);
    Ok(r)
}

pub(crate) fn parse_table(value: &str) -> Result<String, QueryError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_TABLE_LEN {
        return Err(QueryError::new(
            "invalid_table",
            format!("table must be a table name of 1 to {MAX_TABLE_LEN} characters"),
        )
        .with_details(json!({"parameter": "table"})));
    }
    Ok(value.to_string())
}

pub(crate) fn parse_q(value: &str) -> Result<String, QueryError> {
    let chars = value.chars().count();
    if value.trim().is_empty() || chars > MAX_Q_CHARS {
        return Err(invalid_parameter(
            "q",
            value,
            0,
            format!("q must be search text of 1 to {MAX_Q_CHARS} characters"),
        ));
    }
    Ok(value.to_string())
}

/// An integer in `min..=max`; the error names the bound.
pub(crate) fn parse_bound(
    param: &str,
    value: &str,
    min: u32,
    max: u32,
    code: &'static str,
) -> Result<u32, QueryError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            QueryError::new(
                code,
                format!("{param} must be an integer from {min} to {max}, got `{value}`"),
            )
            .with_details(json!({"parameter": param, "min": min, "max": max}))
        })
}

/// Splits `s` at the commas outside double quotes and parentheses: `(byte offset, item)`.
pub(crate) fn split_list(param: &str, s: &str) -> Result<Vec<(usize, String)>, QueryError> {
    let mut items = Vec::new();
    let (mut start, mut depth, mut quote_open) = (0, 0usize, None::<usize>);
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if quote_open.is_some() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quote_open = None,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => quote_open = Some(i),
            b'(' => depth += 1,
            b')' if depth == 0 => {
                return Err(invalid_parameter(
                    param,
                    s,
                    i,
                    format!("`)` without `(` in `{param}`"),
                ))
            }
            b')' => depth -= 1,
            b',' if depth == 0 => {
                items.push((start, s[start..i].to_string()));
                start = i + 1;
            }
            _ => {}
        }
    }
    if let Some(q) = quote_open {
        return Err(invalid_parameter(
            param,
            s,
            q,
            "a double quote is not closed",
        ));
    }
    if depth > 0 {
        return Err(invalid_parameter(param, s, s.len(), "a `(` is not closed"));
    }
    items.push((start, s[start..].to_string()));
    for (at_byte, item) in &items {
        if item.is_empty() {
            return Err(invalid_parameter(
                param,
                s,
                *at_byte,
                format!("an empty item in `{param}` (two commas, or a comma at an end)"),
            ));
        }
    }
    Ok(items)
}

/// A field name as written, or `"…"` with `\` escapes (for names with `,.:()`).
pub(crate) fn unquote(param: &str, s: &str, byte: usize, item: &str) -> Result<String, QueryError> {
    let Some(inner) = item.strip_prefix('"') else {
        return Ok(item.to_string());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' if chars.as_str().is_empty() => return Ok(out),
            '"' => break,
            c => out.push(c),
        }
    }
    Err(invalid_parameter(
        param,
        s,
        byte,
        "a quoted name must be one \"…\" with nothing after its closing quote",
    ))
}

/// `select=a,b,"c,d"`; `*` alone is the whole `data` object.
fn parse_select(value: &str) -> Result<Option<Vec<String>>, QueryError> {
    if value == "*" {
        return Ok(None);
    }
    split_list("select", value)?
        .into_iter()
        .map(|(i, item)| unquote("select", value, i, &item))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `order=a.desc.nullslast,b`: modifiers are read from the right, so a field name may contain
/// dots (`Unit.Price.desc`); a quoted field name is taken whole.
fn parse_order(value: &str) -> Result<Vec<OrderTerm>, QueryError> {
    const MODIFIERS: [&str; 4] = ["asc", "desc", "nullsfirst", "nullslast"];
    let mut terms = Vec::new();
    for (start, item) in split_list("order", value)? {
        let (name, rest): (&str, Vec<&str>) = if item.starts_with('"') {
            let end = quoted_end(&item).ok_or_else(|| {
                invalid_parameter("order", value, start, "a double quote is not closed")
            })?;
            let tail = &item[end..];
            let mods = match tail.strip_prefix('.') {
                Some(t) => t.split('.').collect(),
                None if tail.is_empty() => Vec::new(),
                None => {
                    return Err(invalid_parameter(
                        "order",
                        value,
                        start + end,
                        "expected `.` after a quoted field name",
                    ))
                }
            };
            (&item[..end], mods)
        } else {
            // Peel at most a direction and a nulls modifier off the right end.
            let mut parts: Vec<&str> = item.split('.').collect();
            let mut mods = Vec::new();
            while parts.len() > 1 && mods.len() < 2 {
                match parts.last() {
                    Some(last) if MODIFIERS.contains(last) => mods.insert(0, *last),
                    _ => break,
                }
                parts.pop();
            }
            if let (true, [.., last]) = (mods.is_empty() && parts.len() > 1, parts.as_slice()) {
                if let Some(m) = closest(last, MODIFIERS) {
                    return Err(invalid_parameter(
                        "order",
                        value,
                        start + item.len() - last.len(),
                        format!(
                            "`{last}` is not an order modifier (asc, desc, nullsfirst, nullslast)"
                        ),
                    )
                    .with_hint(format!("did you mean `{m}`?")));
                }
            }
            let name_len = item.len() - mods.iter().map(|m| m.len() + 1).sum::<usize>();
            (&item[..name_len], mods)
        };
        let field = unquote("order", value, start, name)?;
        if field.is_empty() {
            return Err(invalid_parameter(
                "order",
                value,
                start,
                "an order term needs a field name",
            ));
        }
        let mut term = OrderTerm {
            field,
            dir: Direction::Asc,
            nulls: None,
        };
        let mut dir_seen = false;
        for m in rest {
            match m {
                "asc" | "desc" if !dir_seen && term.nulls.is_none() => {
                    dir_seen = true;
                    term.dir = if m == "asc" {
                        Direction::Asc
                    } else {
                        Direction::Desc
                    };
                }
                "nullsfirst" | "nullslast" if term.nulls.is_none() => {
                    term.nulls = Some(if m == "nullsfirst" {
                        Nulls::First
                    } else {
                        Nulls::Last
                    });
                }
                _ => {
                    return Err(invalid_parameter(
                        "order",
                        value,
                        start,
                        format!("`{item}` is not field[.asc|.desc][.nullsfirst|.nullslast]"),
                    ))
                }
            }
        }
        terms.push(term);
    }
    Ok(terms)
}

/// The byte just after the closing quote of the `"…"` that `s` starts with.
fn quoted_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The opaque `cursor` of a SQL answer's `next`.
pub fn encode_cursor(next: &Value) -> String {
    URL_SAFE_NO_PAD.encode(next.to_string())
}

/// The `next` a cursor came from; anything that is not one (bad base64, not a JSON object, longer
/// than [`MAX_CURSOR_LEN`]) is a 400 `invalid_cursor`. Whether it fits the order and table is
/// the SQL's check.
pub fn decode_cursor(cursor: &str) -> Result<Value, QueryError> {
    let invalid = || {
        QueryError::new("invalid_cursor", "cursor is not one this API returned")
            .with_details(json!({"parameter": "cursor"}))
            .with_hint("pass the `next_cursor` of the previous page unchanged, with the same order and filters")
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid()),
    }
}
