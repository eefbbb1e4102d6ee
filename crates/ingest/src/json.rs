//! JSON uploads: an array of objects, an object holding one array of objects, or NDJSON.
//! Values keep the type JSON gave them; strings go through the same recognisers as CSV cells.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::builder::{Cell, TableBuilder};
use crate::decode::{decode_all, TextEncoding};
use crate::error::{ErrorCode, IngestError};
use crate::model::*;
use crate::options::{Format, IngestOptions};

fn to_cell(v: Value) -> Cell {
    match v {
        Value::String(s) => Cell::text(s),
        other => Cell::Json(other),
    }
}

/// Which objects of a document are the records: the items of the root array, the items of an
/// array under one root-object field, or the root object itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Set<'a> {
    RootArray,
    RootObject,
    Field(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum OwnedSet {
    RootArray,
    RootObject,
    Field(String),
}

impl Set<'_> {
    fn owned(self) -> OwnedSet {
        match self {
            Set::RootArray => OwnedSet::RootArray,
            Set::RootObject => OwnedSet::RootObject,
            Set::Field(f) => OwnedSet::Field(f.to_string()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) set: Set<'a>,
    pub(crate) index: usize,
}

/// A key path inside a record, as borrowed segments (rendered only for an issue).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    key: &'a str,
    parent: Option<&'a Path<'a>>,
}

impl Path<'_> {
    fn render(&self) -> String {
        match self.parent {
            Some(p) => format!("{}.{}", p.render(), self.key),
            None => self.key.to_string(),
        }
    }
    fn first(&self) -> &str {
        self.parent.map_or(self.key, |p| p.first())
    }
}

/// Where a value sits relative to the records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At<'a> {
    Root,
    Item(Record<'a>),
    RootField(&'a str),
    Inner(Option<Record<'a>>, Option<&'a Path<'a>>),
}

#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) order: Vec<String>,
    seen: std::collections::HashSet<String>,
}

/// A key written twice in one object: the later value is kept (as JavaScript and jsonb do).
#[derive(Debug)]
pub(crate) struct Duplicate {
    pub(crate) record: Option<(OwnedSet, usize)>,
    /// The top-level key of the record it is under, and its full path.
    column: String,
    path: String,
    dropped: String,
}

/// What the parse saw beyond the values: key order per record set, and duplicate keys.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) keys: HashMap<OwnedSet, Keys>,
    pub(crate) duplicates: Vec<Duplicate>,
}

/// Parses JSON into `Value`s while recording, per record set, keys in first-seen order and every
/// duplicate key (serde_json's `Map` sorts keys and keeps the last duplicate silently).
struct Tracked<'a> {
    seen: &'a RefCell<Seen>,
    at: At<'a>,
}

/// With `arbitrary_precision`, serde_json hands a number to a visitor as a one-entry map under
/// this key, holding the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> DeserializeSeed<'de> for Tracked<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tracked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let segment = Path {
            key: "[]",
            parent: None,
        };
        loop {
            let index = items.len();
            let (at, path);
            match self.at {
                At::Root => {
                    at = At::Item(Record {
                        set: Set::RootArray,
                        index,
                    })
                }
                At::RootField(f) => {
                    at = At::Item(Record {
                        set: Set::Field(f),
                        index,
                    })
                }
                At::Item(r) => at = At::Inner(Some(r), None),
                At::Inner(r, p) => {
                    path = Path {
                        key: "[]",
                        parent: p,
                    };
                    at = At::Inner(r, Some(if p.is_some() { &path } else { &segment }));
                }
            }
            match seq.next_element_seed(Tracked {
                seen: self.seen,
                at,
            })? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        let (record, is_record) = match self.at {
            At::Root => (
                Some(Record {
                    set: Set::RootObject,
                    index: 0,
                }),
                true,
            ),
            At::Item(r) => (Some(r), true),
            At::RootField(_) => (None, false),
            At::Inner(r, _) => (r, false),
        };
        let parent = match self.at {
            At::Inner(_, p) => p,
            _ => None,
        };
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if first && key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return text
                    .parse::<serde_json::Number>()
                    .map(Value::Number)
                    .map_err(serde::de::Error::custom);
            }
            first = false;
            let path = Path { key: &key, parent };
            let at = match self.at {
                At::Root => At::RootField(&key),
                At::Item(r) => At::Inner(Some(r), Some(&path)),
                At::RootField(_) | At::Inner(..) => At::Inner(record, Some(&path)),
            };
            let value = map.next_value_seed(Tracked {
                seen: self.seen,
                at,
            })?;
            if is_record {
                let set = record.map_or(OwnedSet::RootObject, |r| r.set.owned());
                let mut seen = self.seen.borrow_mut();
                let keys = seen.keys.entry(set).or_default();
                if !keys.seen.contains(&key) {
                    keys.seen.insert(key.clone());
                    keys.order.push(key.clone());
                }
            }
            if let Some(old) = object.insert(key.clone(), value) {
                self.seen.borrow_mut().duplicates.push(Duplicate {
                    record: record.map(|r| (r.set.owned(), r.index)),
                    column: path.first().to_string(),
                    path: path.render(),
                    dropped: old.to_string().chars().take(200).collect(),
                });
            }
        }
        Ok(Value::Object(object))
    }
}

pub(crate) fn parse_tracked(
    text: &str,
    seen: &RefCell<Seen>,
    at: At,
) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    // Deep nesting is refused by serde_json's recursion limit (128) before the stack runs out.
    let v = Tracked { seen, at }.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// The array of records in a parsed document, and which record set it is.
fn records_of(doc: Value, key: Option<&str>) -> Result<(Vec<Value>, OwnedSet), IngestError> {
    match (doc, key) {
        (Value::Object(mut map), Some(key)) => match map.remove(key) {
            Some(Value::Array(items)) => Ok((items, OwnedSet::Field(key.to_string()))),
            _ => Err(IngestError::new(
                ErrorCode::InvalidJson,
                format!("{key} must be an array of objects"),
            )),
        },
        (doc, _) => records_of_document(doc),
    }
}

fn records_of_document(doc: Value) -> Result<(Vec<Value>, OwnedSet), IngestError> {
    match doc {
        Value::Array(items) => Ok((items, OwnedSet::RootArray)),
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
                        Some(Value::Array(items)) => Ok((items, OwnedSet::Field(key))),
                        _ => Ok((Vec::new(), OwnedSet::RootArray)),
                    }
                }
                None => Ok((vec![Value::Object(map)], OwnedSet::RootObject)),
            }
        }
        _ => Err(IngestError::new(
            ErrorCode::InvalidJson,
            "the JSON document is a single value, not objects",
        )),
    }
}

/// The issue for a key written twice in one object; `row`/`line` when it is under a record.
pub(crate) fn duplicate_issue(
    d: Duplicate,
    row: Option<u64>,
    line: Option<u64>,
    names: &[String],
    keys: &[String],
) -> Issue {
    let mut is = Issue::new(
        IssueKind::DuplicateKey,
        format!(
            "the key {:?} appears more than once in one object; the last value is kept (as JavaScript and PostgreSQL jsonb do), this earlier one is not stored",
            d.path
        ),
    );
    is.row = row;
    is.line = line;
    is.column = row.and_then(|_| {
        names
            .iter()
            .position(|n| *n == d.column)
            .map(|i| keys[i].clone())
    });
    is.original = Some(d.dropped);
    is
}

/// Hands one record to the builder as cells in column order; a non-object is skipped, noted.
pub(crate) fn push_record(
    builder: &mut TableBuilder,
    record: Value,
    names: &[String],
    line: Option<u64>,
    out: &mut Vec<Row>,
) -> Result<(), IngestError> {
    match record {
        Value::Object(mut m) => {
            let cells = names
                .iter()
                .map(|n| to_cell(m.remove(n).unwrap_or(Value::Null)))
                .collect();
            builder.push(cells, line, out)
        }
        other => {
            builder.issues.push(skipped_value(&other, line));
            Ok(())
        }
    }
}

/// The issue for a record that is not an object (`1`, `"x"`, `null`, `[]`): it is not stored.
pub(crate) fn skipped_value(value: &Value, line: Option<u64>) -> Issue {
    let mut is = Issue::new(
        IssueKind::SkippedContent,
        "a JSON value that is not an object was skipped",
    );
    is.line = line;
    is.original = Some(value.to_string().chars().take(200).collect());
    is
}

pub(crate) fn too_many_keys(count: usize, opts: &IngestOptions) -> IngestError {
    IngestError::new(
        ErrorCode::TooManyColumns,
        format!(
            "{count} distinct keys; the limit is {} columns",
            opts.max_columns
        ),
    )
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
    let mut seen = RefCell::new(Seen::default());
    let (records, set): (Vec<Value>, OwnedSet) = match parse_tracked(trimmed, &seen, At::Root) {
        Ok(doc) if !ndjson_hint || !doc.is_object() => {
            records_of(doc, opts.json_records_key.as_deref())?
        }
        parsed => {
            // NDJSON: one value per non-blank line.
            format = Format::Ndjson;
            seen = RefCell::new(Seen::default());
            let whole_error = parsed.err();
            let mut items = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() {
                    continue;
                }
                let at = At::Item(Record {
                    set: Set::RootArray,
                    index: items.len(),
                });
                match parse_tracked(l, &seen, at) {
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
            (items, OwnedSet::RootArray)
        }
    };
    let seen = seen.into_inner();
    // Columns: every key of the records, in order of first appearance.
    let names: Vec<String> = seen
        .keys
        .get(&set)
        .map(|k| k.order.clone())
        .unwrap_or_default();
    if names.len() > opts.max_columns {
        return Err(too_many_keys(names.len(), opts));
    }
    if names.is_empty() {
        return Err(IngestError::new(ErrorCode::InvalidJson, "no JSON objects found (expected an array of objects, an object holding one, or one object per line)"));
    }
    let keys = crate::builder::clean_keys(&names);
    for d in seen.duplicates {
        let (row, line) = match &d.record {
            Some((s, i)) if *s == set => (Some(*i as u64 + 1), lines_of.get(*i).copied().flatten()),
            _ => (None, None),
        };
        issues.push(duplicate_issue(d, row, line, &names, &keys));
    }
    let mut builder = TableBuilder::new(names.clone(), opts, issues, true)?.without_null_tokens();
    let mut rows = Vec::new();
    for (i, r) in records.into_iter().enumerate() {
        let line = lines_of.get(i).copied().flatten();
        push_record(&mut builder, r, &names, line, &mut rows)?;
    }
    let mut table = builder.finish(&mut rows, format, Some(encoding), None, None);
    table.rows = rows;
    Ok(table)
}
