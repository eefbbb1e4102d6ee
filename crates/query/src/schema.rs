//! A table's `client_schemas.schema_def` (crates/ingest/src/schema.rs) as a JSON Schema
//! (draft 2020-12) of one row's `data`.
//!
//! Design decision: no property is `required` and `additionalProperties` is left open, because
//! rows of an earlier upload lack the columns a later upload added; the generated types are
//! optional fields, which is the truth about stored rows.

use serde_json::{json, Map, Value};

/// The JSON Schema of one row's `data` in `table_name`.
pub fn json_schema(schema_def: &Value, table_name: &str) -> Value {
    let mut properties = Map::new();
    let columns = schema_def.get("columns").and_then(Value::as_array);
    for column in columns.into_iter().flatten() {
        let Some(key) = column.get("key").and_then(Value::as_str) else {
            continue;
        };
        properties.insert(key.to_string(), column_schema(column));
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": table_name,
        "description": format!("One row's `data` in table `{table_name}`."),
        "type": "object",
        "properties": properties,
    });
    if let Some(t) = schema_def.get("data_type").and_then(Value::as_str) {
        schema["x-data-type"] = json!(t);
    }
    schema
}

fn column_schema(column: &Value) -> Value {
    let text = |k: &str| column.get(k).and_then(Value::as_str);
    let ty = text("type").unwrap_or("mixed");
    let nullable = column
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    // (JSON type, format) of a stored value; None: any JSON value.
    let json_type = match ty {
        "integer" => Some(("integer", None)),
        "number" => Some(("number", None)),
        "boolean" => Some(("boolean", None)),
        "date" => Some(("string", Some("date"))),
        "datetime" => Some(("string", Some("date-time"))),
        // Stored as the cleaned text (`14:30:00`), not always RFC 3339's full-time with an offset.
        "time" | "string" => Some(("string", None)),
        "empty" => Some(("null", None)),
        // `json` holds any JSON; `mixed` keeps some values as their original text.
        _ => None,
    };
    let mut s = Map::new();
    match json_type {
        Some(("null", _)) => {
            s.insert("type".into(), json!("null"));
        }
        Some((t, format)) => {
            s.insert(
                "type".into(),
                if nullable {
                    json!([t, "null"])
                } else {
                    json!(t)
                },
            );
            if let Some(f) = format {
                s.insert("format".into(), json!(f));
            }
        }
        None => {}
    }
    if let Some(name) = text("name") {
        s.insert("title".into(), json!(name));
        s.insert("x-header".into(), json!(name));
    }
    s.insert("x-type".into(), json!(ty));
    if let Some(sem) = text("semantic_type") {
        s.insert("x-semantic-type".into(), json!(sem));
    }
    if let Some(p) = column.get("position").filter(|p| p.is_u64()) {
        s.insert("x-position".into(), p.clone());
    }
    if let Some(code) = column
        .pointer("/format/currency_code")
        .and_then(Value::as_str)
    {
        s.insert("x-currency".into(), json!(code));
    }
    // How the source file wrote the values (ingest's `source_format`), for `export?as=source`.
    if let Some(f) = column.get("source_format").filter(|f| f.is_object()) {
        s.insert("x-source-format".into(), f.clone());
    }
    if ty == "mixed" {
        let inferred = text("inferred_type").unwrap_or("mixed");
        s.insert(
            "description".into(),
            json!(format!(
                "Mostly {inferred}; values that did not fit are kept as their original text."
            )),
        );
    }
    Value::Object(s)
}
