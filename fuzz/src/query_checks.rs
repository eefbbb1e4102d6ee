//! The checks of the `query` and `cursor` targets: the read and aggregate parsers of
//! `crates/query` on arbitrary query pairs, and the cursor codec.
//!
//! Design decision: an accepted request is rendered back into query pairs by a renderer of our
//! own that quotes every name and value (the most general form of the grammar) and parsed again:
//! the plan must come out the same. That checks the parser against the grammar's own escaping
//! rules, which a "does not panic" run cannot.

use query::{
    decode_cursor, encode_cursor, parse_aggregate, parse_read, AggregateRequest, Filter,
    FilterValue, Nulls, Op, QueryError, ReadRequest, ERROR_CODES, MAX_CURSOR_LEN,
};
use serde_json::Value;

/// `"…"` with `\` before `"` and `\`: the quoted form every name and list item accepts.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("({})", inner.join(","))
}

/// A node inside a logic tree: `"field".[not.]op.value`, `[not.]or(…)`, `[not.]and(…)`.
fn tree_item(f: &Filter) -> String {
    match f {
        Filter::And(nodes) => format!("and{}", tree(nodes)),
        Filter::Or(nodes) => format!("or{}", tree(nodes)),
        Filter::Not(inner) => match inner.as_ref() {
            Filter::Condition { field, op, value } => {
                format!("{}.not.{}", quoted(field), op_value(*op, value, true))
            }
            other => format!("not.{}", tree_item(other)),
        },
        Filter::Condition { field, op, value } => {
            format!("{}.{}", quoted(field), op_value(*op, value, true))
        }
    }
}

fn tree(nodes: &[Filter]) -> String {
    let items: Vec<String> = nodes.iter().map(tree_item).collect();
    format!("({})", items.join(","))
}

/// `op.value`: inside a tree a text value is quoted; at the top it runs verbatim to the end.
fn op_value(op: Op, value: &FilterValue, in_tree: bool) -> String {
    let v = match (op, value) {
        (_, FilterValue::List(items)) => list(items),
        (Op::Is, FilterValue::Text(t)) => t.clone(),
        (_, FilterValue::Text(t)) if in_tree => quoted(t),
        (_, FilterValue::Text(t)) => t.clone(),
    };
    format!("{}.{v}", op.as_str())
}

/// One top-level parameter for `f`.
fn filter_param(f: &Filter) -> (String, String) {
    match f {
        Filter::Condition { field, op, value } => (quoted(field), op_value(*op, value, false)),
        Filter::Not(inner) => match inner.as_ref() {
            Filter::Condition { field, op, value } => (
                quoted(field),
                format!("not.{}", op_value(*op, value, false)),
            ),
            Filter::Or(nodes) => ("not.or".into(), tree(nodes)),
            Filter::And(nodes) => ("not.and".into(), tree(nodes)),
            Filter::Not(_) => unreachable!("the grammar has no double negation"),
        },
        Filter::Or(nodes) => ("or".into(), tree(nodes)),
        Filter::And(nodes) => ("and".into(), tree(nodes)),
    }
}

/// Several top-level filters parse to their `and`: render it back as several parameters.
fn filter_params(f: &Option<Filter>) -> Vec<(String, String)> {
    match f {
        None => Vec::new(),
        Some(Filter::And(nodes)) if nodes.len() >= 2 => nodes.iter().map(filter_param).collect(),
        Some(f) => vec![filter_param(f)],
    }
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// A [`ReadRequest`] as query pairs, every name quoted.
pub fn render_read(r: &ReadRequest) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if let Some(t) = &r.table {
        p.push(pair("table", t.as_str()));
    }
    if let Some(cols) = &r.select {
        let cols: Vec<String> = cols.iter().map(|c| quoted(c)).collect();
        p.push(pair("select", cols.join(",")));
    }
    if !r.order.is_empty() {
        let terms: Vec<String> = r
            .order
            .iter()
            .map(|t| {
                let nulls = match t.nulls {
                    None => "",
                    Some(Nulls::First) => ".nullsfirst",
                    Some(Nulls::Last) => ".nullslast",
                };
                format!("{}.{}{nulls}", quoted(&t.field), t.dir.as_str())
            })
            .collect();
        p.push(pair("order", terms.join(",")));
    }
    if let Some(l) = r.limit {
        p.push(pair("limit", l.to_string()));
    }
    if let Some(o) = r.offset {
        p.push(pair("offset", o.to_string()));
    }
    if let Some(after) = &r.after {
        p.push(pair("cursor", encode_cursor(after)));
    }
    if let Some(c) = r.count {
        p.push(pair(
            "count",
            if c == query::CountKind::Exact {
                "exact"
            } else {
                "estimated"
            },
        ));
    }
    if let Some(q) = &r.q {
        p.push(pair("q", q.as_str()));
    }
    if let Some(f) = r.format {
        p.push(pair(
            "format",
            if f == query::ExportFormat::Csv {
                "csv"
            } else {
                "ndjson"
            },
        ));
    }
    p.extend(filter_params(&r.filter));
    p
}

/// An [`AggregateRequest`] as query pairs.
pub fn render_aggregate(r: &AggregateRequest) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if let Some(t) = &r.table {
        p.push(pair("table", t.as_str()));
    }
    if let Some(q) = &r.q {
        p.push(pair("q", q.as_str()));
    }
    if !r.group_by.is_empty() {
        let groups: Vec<String> = r
            .group_by
            .iter()
            .map(|g| match g.bucket {
                Some(b) => format!("{}:{b}", quoted(&g.field)),
                None => quoted(&g.field),
            })
            .collect();
        p.push(pair("group_by", groups.join(",")));
    }
    let metrics: Vec<String> = r
        .metrics
        .iter()
        .map(|m| match &m.field {
            Some(f) => format!("{}({})", m.func, quoted(f)),
            None => m.func.to_string(),
        })
        .collect();
    p.push(pair("metrics", metrics.join(",")));
    if !r.order.is_empty() {
        let terms: Vec<String> = r
            .order
            .iter()
            .map(|o| format!("{}.{}", o.by, o.dir.as_str()))
            .collect();
        p.push(pair("order", terms.join(",")));
    }
    if let Some(l) = r.limit {
        p.push(pair("limit", l.to_string()));
    }
    p.extend(filter_params(&r.filter));
    p
}

fn sound_error(e: &QueryError) {
    assert!(ERROR_CODES.contains(&e.code), "unknown code {}", e.code);
    let json = e.to_json();
    assert_eq!(json["code"], e.code);
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// Parse → render → parse gives the same plan, for the read and the aggregate grammar.
pub fn query_pairs(pairs: &[(String, String)]) {
    match parse_read(pairs) {
        Ok(r) => {
            let again = render_read(&r);
            let back = parse_read(&again)
                .unwrap_or_else(|e| panic!("{pairs:?} rendered as {again:?} fails: {e}"));
            assert_eq!(back.plan(), r.plan(), "{pairs:?} rendered as {again:?}");
            assert_eq!(back.format, r.format);
        }
        Err(e) => sound_error(&e),
    }
    match parse_aggregate(pairs) {
        Ok(r) => {
            let again = render_aggregate(&r);
            let back = parse_aggregate(&again)
                .unwrap_or_else(|e| panic!("{pairs:?} rendered as {again:?} fails: {e}"));
            assert_eq!(back.plan(), r.plan(), "{pairs:?} rendered as {again:?}");
        }
        Err(e) => sound_error(&e),
    }
}

/// The `cursor` target: a decoded cursor re-encodes to one that decodes to the same value; any
/// JSON object encodes to a cursor that decodes to it (when it fits the length limit).
pub fn cursor(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match decode_cursor(&text) {
        Ok(v) => {
            assert!(v.is_object(), "a cursor is an object");
            assert_eq!(decode_cursor(&encode_cursor(&v)).ok(), Some(v.clone()));
        }
        Err(e) => {
            sound_error(&e);
            assert_eq!(e.code, "invalid_cursor");
        }
    }
    if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(data) {
        let c = encode_cursor(&v);
        if c.len() <= MAX_CURSOR_LEN {
            assert_eq!(decode_cursor(&c).ok(), Some(v), "cursor {c}");
        }
    }
}
