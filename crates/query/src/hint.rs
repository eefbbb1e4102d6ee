//! Did-you-mean hints, and the SQL functions' `PT400` errors turned into the Worker's answers.
//!
//! Design decision: suggestions use `strsim`'s Levenshtein distance (small, no dependencies)
//! with a case-insensitive exact match first, and only suggest within about a third of the
//! word's length, so a hint is a likely typo and never a random field.

use serde_json::{json, Map, Value};

use crate::error::{QueryError, ERROR_CODES};

/// The candidate closest to `word`: a case-insensitive equal first, else the smallest edit
/// distance within `max(1, len/3)` (ties: the first candidate).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(&str, usize)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = if c.to_lowercase() == lower {
            0
        } else {
            strsim::levenshtein(&lower, &c.to_lowercase())
        };
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((c, d));
        }
    }
    let budget = (word.chars().count() / 3).max(1);
    best.filter(|(_, d)| *d <= budget).map(|(c, _)| c)
}

/// The SQL functions' `PT400` error (`detail` parsed from its JSON text, `message` its message)
/// as the Worker's 400: the same `code`, `details` = the detail's other fields, and for
/// `unknown_field` / `unknown_table` a did-you-mean over the table's `fields` (strings, or
/// objects with `key` and `name`) plus `reserved` (the route's parameter names, so `?limt=5`
/// is answered "did you mean `limit`?") / over `tables`.
pub fn from_sql_error(detail: &Value, message: &str, reserved: &[&str]) -> QueryError {
    let given = detail.get("code").and_then(Value::as_str).unwrap_or("");
    let code = ERROR_CODES
        .iter()
        .copied()
        .find(|c| *c == given)
        .unwrap_or("invalid_query");
    let mut details: Map<String, Value> = detail.as_object().cloned().unwrap_or_default();
    details.remove("code");
    if code == "invalid_query" && given != "invalid_query" && !given.is_empty() {
        details.insert("sql_code".into(), json!(given));
    }
    let text = |k: &str| detail.get(k).and_then(Value::as_str);
    let names = |k: &str| -> Vec<String> {
        detail
            .get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|f| match f {
                Value::String(s) => vec![s.clone()],
                Value::Object(o) => ["key", "name"]
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string))
                    .collect(),
                _ => vec![],
            })
            .collect()
    };
    let hint = match code {
        "unknown_field" => text("field").map(|field| {
            let fields = names("fields");
            let candidates = fields
                .iter()
                .map(String::as_str)
                .chain(reserved.iter().copied());
            match closest(field, candidates) {
                Some(c) if reserved.contains(&c) && !fields.iter().any(|f| f == c) => {
                    format!("did you mean the parameter `{c}`?")
                }
                Some(c) => format!("did you mean `{c}`?"),
                None if fields.is_empty() => "the table has no fields".to_string(),
                None => format!("the fields are {}", quoted_list(&fields)),
            }
        }),
        "unknown_table" => text("table").map(|table| {
            let tables = names("tables");
            match closest(table, tables.iter().map(String::as_str)) {
                Some(t) => format!("did you mean `{t}`?"),
                None => format!("the tables are {}", quoted_list(&tables)),
            }
        }),
        "table_required" => Some(format!(
            "add ?table=<name>; the tables are {}",
            quoted_list(&names("tables"))
        )),
        _ => None,
    };
    let mut e = QueryError::new(code, message);
    if !details.is_empty() {
        e.details = Some(Value::Object(details));
    }
    e.hint = hint;
    e
}

fn quoted_list(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}
