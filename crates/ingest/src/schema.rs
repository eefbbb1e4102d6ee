//! The `client_schemas.schema_def` JSON: a stable, documented rendering of a table's schema.
//!
//! Shape (version 1; fields are only ever added):
//! ```json
//! {
//!   "version": 1,
//!   "format": "delimited" | "json" | "ndjson" | "xlsx",
//!   "encoding": "utf-8" | "utf-8-bom" | "utf-16le" | "utf-16be" | "windows-1252" | null,
//!   "sheet": "Sheet1" | null,
//!   "dialect": {"delimiter": ",", "quote": "\"", "has_header": true, "preamble_lines": 0,
//!               "comment": "#" | null, "trailing_empty_columns": 0} | null,
//!   "data_type": "ecommerce", "data_type_evidence": ["order_id", "sku"],
//!   "data_type_points": [{"kind": "ecommerce", "points": 9, "reasons": [
//!     {"column": "order_id", "points": 3, "reason": "header \"Order ID\": \"order\" (en)"}, …]}, …],
//!   "row_count": 120,
//!   "columns": [{
//!     "key": "unit_price", "name": "Unit Price", "position": 3,
//!     "type": "integer|number|boolean|date|datetime|time|string|json|mixed|empty",
//!     "inferred_type": "...", "semantic_type": "currency" | null,
//!     "nullable": true, "null_count": 2, "non_null_count": 118, "nonconforming_count": 0,
//!     "distinct_count": 57, "distinct_exact": true, "min": 0.5, "max": 99.0,
//!     "samples": [1.5, 2.0], "null_tokens": ["N/A"],
//!     "format": {"decimal_separator": ",", "thousands_separator": ".", "date_order": "dmy",
//!                "date_order_assumed": false, "currency_symbol": "€", "currency_code": "EUR",
//!                "boolean_digits": false}
//!   }],
//!   "issue_counts": {"value_not_converted": 3, "ragged_row": 1}
//! }
//! ```
//! `type` is always the truth about stored values: `mixed` means some values are the original
//! text because they did not fit `inferred_type` (`nonconforming_count` says how many).

use serde_json::{json, Value};

use crate::model::Table;

pub const SCHEMA_DEF_VERSION: u32 = 1;

/// Renders `table`'s schema as stored in `client_schemas.schema_def`.
pub fn schema_def(table: &Table) -> Value {
    json!({
        "version": SCHEMA_DEF_VERSION,
        "format": table.format.as_str(),
        "encoding": table.encoding.map(|e| e.as_str()),
        "sheet": table.sheet,
        "dialect": table.dialect,
        "data_type": table.data_type,
        "data_type_evidence": table.data_type_evidence,
        "data_type_points": table.data_type_points,
        "row_count": table.row_count,
        "columns": table.columns,
        "issue_counts": table.issue_counts,
    })
}

/// The `type` two uploads of one column widen to: integer and number → number; any two of
/// string/date/datetime/time → string (all are stored as JSON strings); `empty` takes the other;
/// anything else (numbers with text, booleans with numbers, …) → `mixed`.
fn widen(a: &str, b: &str) -> String {
    const TEXT: [&str; 4] = ["string", "date", "datetime", "time"];
    match (a, b) {
        _ if a == b => a.to_string(),
        ("empty", t) | (t, "empty") => t.to_string(),
        ("integer", "number") | ("number", "integer") => "number".to_string(),
        _ if TEXT.contains(&a) && TEXT.contains(&b) => "string".to_string(),
        _ => "mixed".to_string(),
    }
}

fn count(c: &Value, field: &str) -> u64 {
    c.get(field).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(c: &'a Value, field: &str) -> &'a str {
    c.get(field).and_then(Value::as_str).unwrap_or("empty")
}

/// The smaller (`less`) or larger bound of two, when both are numbers or both strings.
fn bound(a: Option<&Value>, b: Option<&Value>, smaller: bool) -> Value {
    let pick = |x: bool| if x == smaller { a } else { b };
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let x_less = x.as_f64().unwrap_or(0.0) <= y.as_f64().unwrap_or(0.0);
            pick(x_less).cloned().unwrap_or(Value::Null)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => {
            pick(x <= y).cloned().unwrap_or(Value::Null)
        }
        (Some(x), None | Some(Value::Null)) if !x.is_null() => x.clone(),
        (None | Some(Value::Null), Some(y)) => y.clone(),
        _ => Value::Null,
    }
}

/// One column present in both uploads.
fn merge_column(old: &Value, new: &Value) -> Value {
    let mut out = old.clone();
    let (old_inferred, new_inferred) = (text(old, "inferred_type"), text(new, "inferred_type"));
    let mut inferred = widen(old_inferred, new_inferred);
    let non_null = count(old, "non_null_count") + count(new, "non_null_count");
    let nonconforming = if inferred == "mixed" && old_inferred != "mixed" {
        // The new values are of another kind: all of them miss the stored inferred type.
        inferred = old_inferred.to_string();
        count(old, "nonconforming_count") + count(new, "non_null_count")
    } else {
        count(old, "nonconforming_count") + count(new, "nonconforming_count")
    };
    let ty = if non_null == 0 {
        "empty".to_string()
    } else if nonconforming > 0 || widen(text(old, "type"), text(new, "type")) == "mixed" {
        "mixed".to_string()
    } else if inferred == "empty" {
        "string".to_string()
    } else {
        inferred.clone()
    };
    let null_count = count(old, "null_count") + count(new, "null_count");
    let numeric_or_text = !matches!(ty.as_str(), "boolean" | "json" | "empty");
    let mut samples: Vec<Value> = Vec::new();
    for s in [old, new]
        .iter()
        .filter_map(|c| c.get("samples").and_then(Value::as_array))
        .flatten()
    {
        if samples.len() < 5 && !samples.contains(s) {
            samples.push(s.clone());
        }
    }
    let mut null_tokens: Vec<Value> = Vec::new();
    for t in [old, new]
        .iter()
        .filter_map(|c| c.get("null_tokens").and_then(Value::as_array))
        .flatten()
    {
        if !null_tokens.contains(t) {
            null_tokens.push(t.clone());
        }
    }
    let same = |field: &str| {
        let (a, b) = (old.get(field), new.get(field));
        if a == b {
            a.cloned().unwrap_or(Value::Null)
        } else {
            Value::Null
        }
    };
    let (old_distinct, new_distinct) = (count(old, "distinct_count"), count(new, "distinct_count"));
    let fields = [
        ("type", json!(ty)),
        ("inferred_type", json!(inferred)),
        ("semantic_type", same("semantic_type")),
        ("nullable", json!(null_count > 0)),
        ("null_count", json!(null_count)),
        ("non_null_count", json!(non_null)),
        ("nonconforming_count", json!(nonconforming)),
        // The union of two distinct sets is only known to be at least the larger one.
        ("distinct_count", json!(old_distinct.max(new_distinct))),
        (
            "distinct_exact",
            json!(old_distinct == 0 || new_distinct == 0),
        ),
        (
            "min",
            if numeric_or_text {
                bound(old.get("min"), new.get("min"), true)
            } else {
                Value::Null
            },
        ),
        (
            "max",
            if numeric_or_text {
                bound(old.get("max"), new.get("max"), false)
            } else {
                Value::Null
            },
        ),
        ("samples", json!(samples)),
        ("null_tokens", json!(null_tokens)),
        (
            "format",
            match same("format") {
                Value::Null => json!({}),
                f => f,
            },
        ),
    ];
    if let Some(o) = out.as_object_mut() {
        for (k, v) in fields {
            o.insert(k.to_string(), v);
        }
    }
    out
}

/// A column that one of the uploads did not have: all of that upload's rows lack it (null).
fn with_missing_rows(column: &Value, missing_rows: u64) -> Value {
    let mut out = column.clone();
    if missing_rows > 0 {
        if let Some(o) = out.as_object_mut() {
            let nulls = count(column, "null_count") + missing_rows;
            o.insert("null_count".into(), json!(nulls));
            o.insert("nullable".into(), json!(true));
        }
    }
    out
}

/// The schema of a table after `new` (one upload's [`schema_def`]) was appended to a table whose
/// stored schema is `old`: column types widen (integer → number → string/`mixed`), new columns
/// are added after the old ones, counts add up, so `type` stays the truth about every stored
/// row. The table keeps its `data_type`; format, encoding and dialect describe the last upload.
/// An `old` that is not a version-1 schema (no `columns` array, e.g. `{}`) is replaced by `new`.
pub fn merge_schema_defs(old: &Value, new: &Value) -> Value {
    let (Some(old_columns), Some(new_columns)) = (
        old.get("columns").and_then(Value::as_array),
        new.get("columns").and_then(Value::as_array),
    ) else {
        return new.clone();
    };
    let (old_rows, new_rows) = (count(old, "row_count"), count(new, "row_count"));
    let key = |c: &Value| c.get("key").and_then(Value::as_str).map(str::to_owned);
    let mut columns: Vec<Value> = old_columns
        .iter()
        .map(|o| {
            match new_columns
                .iter()
                .find(|n| key(n).is_some() && key(n) == key(o))
            {
                Some(n) => merge_column(o, n),
                None => with_missing_rows(o, new_rows),
            }
        })
        .collect();
    for n in new_columns {
        if !old_columns
            .iter()
            .any(|o| key(o).is_some() && key(o) == key(n))
        {
            let mut c = with_missing_rows(n, old_rows);
            if let Some(o) = c.as_object_mut() {
                o.insert("position".into(), json!(columns.len()));
            }
            columns.push(c);
        }
    }
    let mut issue_counts = old
        .get("issue_counts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(added) = new.get("issue_counts").and_then(Value::as_object) {
        for (k, v) in added {
            let total =
                issue_counts.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
            issue_counts.insert(k.clone(), json!(total));
        }
    }
    let mut out = new.clone();
    if let Some(o) = out.as_object_mut() {
        for field in ["data_type", "data_type_evidence", "data_type_points"] {
            if let Some(v) = old.get(field) {
                o.insert(field.into(), v.clone());
            }
        }
        o.insert("row_count".into(), json!(old_rows + new_rows));
        o.insert("columns".into(), Value::Array(columns));
        o.insert("issue_counts".into(), Value::Object(issue_counts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ingest, IngestOptions};

    fn def(csv: &str) -> Value {
        let got = ingest(csv.as_bytes(), &IngestOptions::new()).expect("test CSV ingests");
        schema_def(&got.tables[0])
    }

    fn column<'a>(d: &'a Value, key: &str) -> &'a Value {
        d["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .unwrap_or_else(|| panic!("column {key} in {d}"))
    }

    #[test]
    fn integer_widens_to_number_and_bounds_span_both_uploads() {
        let merged = merge_schema_defs(&def("id,qty\n1,5\n2,7\n"), &def("id,qty\n3,2.5\n4,10\n"));
        let qty = column(&merged, "qty");
        assert_eq!(qty["type"], "number");
        assert_eq!(
            (qty["min"].as_f64(), qty["max"].as_f64()),
            (Some(2.5), Some(10.0))
        );
        assert_eq!(qty["non_null_count"], 4);
        assert_eq!(merged["row_count"], 4);
        assert_eq!(column(&merged, "id")["type"], "integer");
    }

    #[test]
    fn numbers_then_text_is_mixed_and_counts_the_misfits() {
        let merged = merge_schema_defs(&def("code\n1\n2\n"), &def("code\nA-1\nB-2\nC-3\n"));
        let code = column(&merged, "code");
        assert_eq!(code["type"], "mixed");
        assert_eq!(code["inferred_type"], "integer");
        assert_eq!(
            code["nonconforming_count"], 3,
            "the three text values miss integer"
        );
        assert_eq!(code["min"], Value::Null, "no bound across numbers and text");
    }

    #[test]
    fn dates_then_text_is_string() {
        let merged = merge_schema_defs(&def("when\n2024-01-02\n"), &def("when\nsoon\n"));
        assert_eq!(column(&merged, "when")["type"], "string");
    }

    #[test]
    fn new_columns_are_added_and_missing_ones_become_nullable() {
        let old = def("sku,qty\na,1\nb,2\n");
        let merged = merge_schema_defs(&old, &def("sku,price\nc,9.5\n"));
        let keys: Vec<&str> = merged["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["sku", "qty", "price"]);
        let qty = column(&merged, "qty");
        assert_eq!(
            (qty["nullable"].clone(), qty["null_count"].clone()),
            (json!(true), json!(1))
        );
        let price = column(&merged, "price");
        assert_eq!(
            (price["position"].clone(), price["null_count"].clone()),
            (json!(2), json!(2))
        );
        assert_eq!(column(&merged, "sku")["nullable"], false);
    }

    #[test]
    fn the_table_keeps_its_data_type_and_adds_issue_counts() {
        let old = def("order_id,sku,quantity\n1,a,N/A\n");
        let merged = merge_schema_defs(&old, &def("name,note\nx,y\n"));
        assert_eq!(merged["data_type"], old["data_type"]);
        let mut again = merged.clone();
        again = merge_schema_defs(&again, &def("order_id,sku,quantity\n2,b,N/A\n"));
        assert_eq!(again["row_count"], 3);
    }

    #[test]
    fn a_legacy_or_empty_old_schema_is_replaced() {
        let new = def("a\n1\n");
        assert_eq!(merge_schema_defs(&json!({}), &new), new);
        assert_eq!(merge_schema_defs(&json!({"sku": "string"}), &new), new);
    }
}
