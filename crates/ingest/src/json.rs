//! JSON uploads: an array of objects, an object holding one array of objects, or NDJSON.
//! Values keep the type JSON gave them; strings go through the same recognisers as CSV cells.

use serde_json::Value;

use crate::builder::{Cell, TableBuilder};
use crate::decode::{decode_all, TextEncoding};
use crate::error::{ErrorCode, IngestError};
use crate::model::*;
use crate::options::{Format, IngestOptions};

fn to_cell(v: Value) -> Cell {
    match v {
        Value::String(s) => Cell::Text(s),
        other => Cell::Json(other),
    }
}

/// The array of records in a parsed document, with the path it was found at.
fn records_of(doc: Value) -> Result<(Vec<Value>, Option<String>), IngestError> {
    match doc {
        Value::Array(items) => Ok((items, None)),
        Value::Object(map) => {
            // An object holding arrays of objects (`{"data": [...], "meta": {...}}`): take the largest.
            let best = map
                .iter()
                .filter_map(|(k, v)| {
                    v.as_array()
                        .filter(|a| a.iter().any(Value::is_object))
                        .map(|a| (a.len(), k.clone()))
                })
                .max_by_key(|(n, _)| *n);
            match best {
                Some((_, key)) => {
                    let mut map = map;
                    match map.remove(&key) {
                        Some(Value::Array(items)) => Ok((items, Some(key))),
                        _ => Ok((Vec::new(), None)),
                    }
                }
                None => Ok((vec![Value::Object(map)], None)),
            }
        }
        _ => Err(IngestError::new(
            ErrorCode::InvalidJson,
            "the JSON document is a single value, not objects",
        )),
    }
}

pub(crate) fn ingest_json(
    bytes: &[u8],
    opts: &IngestOptions,
    ndjson_hint: bool,
) -> Result<Table, IngestError> {
    let (text, encoding, decoder) = decode_all(bytes, opts.max_issues);
    let mut issues = IssueLog::new(opts.max_issues);
    for p in decoder.problems {
        let mut is = Issue::new(
            if encoding == TextEncoding::Windows1252 {
                IssueKind::EncodingFallback
            } else {
                IssueKind::InvalidEncoding
            },
            p.reason,
        );
        is.offset = Some(p.offset);
        issues.push(is);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(IngestError::new(ErrorCode::EmptyFile, "the file is empty"));
    }
    let mut format = Format::Json;
    let mut lines_of: Vec<Option<u64>> = Vec::new();
    let records: Vec<Value> = match serde_json::from_str::<Value>(trimmed) {
        Ok(doc) if !ndjson_hint || !doc.is_object() => {
            let (items, _) = records_of(doc)?;
            items
        }
        parsed => {
            // NDJSON: one value per non-blank line.
            format = Format::Ndjson;
            let whole_error = parsed.err();
            let mut items = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(l) {
                    Ok(v) => {
                        items.push(v);
                        lines_of.push(Some(i as u64 + 1));
                    }
                    Err(e) if items.is_empty() && whole_error.is_some() => {
                        let msg = whole_error
                            .as_ref()
                            .map_or(e.to_string(), |w| w.to_string());
                        return Err(IngestError::new(
                            ErrorCode::InvalidJson,
                            format!("not valid JSON: {msg}"),
                        )
                        .at_row(i as u64 + 1));
                    }
                    Err(e) => {
                        return Err(IngestError::new(
                            ErrorCode::InvalidJson,
                            format!("line {} is not valid JSON: {e}", i + 1),
                        )
                        .at_row(items.len() as u64 + 1))
                    }
                }
            }
            items
        }
    };
    // Columns: every key, in order of first appearance.
    let mut names: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for r in &records {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !index.contains_key(k) {
                    index.insert(k.clone(), names.len());
                    names.push(k.clone());
                    if names.len() > opts.max_columns {
                        return Err(IngestError::new(
                            ErrorCode::TooManyColumns,
                            format!("more than {} distinct keys", opts.max_columns),
                        ));
                    }
                }
            }
        }
    }
    if names.is_empty() {
        return Err(IngestError::new(ErrorCode::InvalidJson, "no JSON objects found (expected an array of objects, an object holding one, or one object per line)"));
    }
    let mut builder = TableBuilder::new(names.clone(), opts, issues, true)?;
    let mut rows = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        let line = lines_of.get(i).copied().flatten();
        match r {
            Value::Object(mut m) => {
                let cells = names
                    .iter()
                    .map(|n| to_cell(m.remove(n).unwrap_or(Value::Null)))
                    .collect();
                builder.push(cells, line, &mut rows)?;
            }
            other => {
                let mut is = Issue::new(
                    IssueKind::SkippedContent,
                    "a JSON value that is not an object was skipped",
                );
                is.line = line;
                is.original = Some(other.to_string().chars().take(200).collect());
                builder.issues.push(is);
            }
        }
    }
    let mut table = builder.finish(&mut rows, format, Some(encoding), None, None);
    table.rows = rows;
    Ok(table)
}
