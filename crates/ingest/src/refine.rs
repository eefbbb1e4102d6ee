//! The seam for optional schema refinement (e.g. by an LLM). The crate never calls a network;
//! the Worker may send [`refinement_request`] to a model, parse its answer into a
//! [`Refinement`], and [`apply_refinement`] accepts only what the stored data confirms.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::{ColumnType, SemanticType, Table};
use crate::values::{is_email, is_ipv4, is_phone, is_url, is_uuid};

/// Suggestions for a table. Types are not suggestible: rows are already stored by type.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Refinement {
    pub data_type: Option<String>,
    /// Column key → semantic type name (`email`, `currency`, …).
    #[serde(default)]
    pub semantic_types: BTreeMap<String, String>,
}

/// What was taken from a refinement and what was refused, with reasons.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RefinementOutcome {
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
}

/// A synchronous refiner (a test double, a rules file, a cached model answer).
pub trait SchemaRefiner {
    fn refine(&self, request: &Value) -> Option<Refinement>;
}

/// The default: no refinement.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRefiner;

impl SchemaRefiner for NoRefiner {
    fn refine(&self, _request: &Value) -> Option<Refinement> {
        None
    }
}

/// A compact description of a table for a model prompt (keys, names, types, samples).
pub fn refinement_request(table: &Table) -> Value {
    json!({
        "data_type": table.data_type,
        "known_data_types": crate::known_data_types().collect::<Vec<_>>(),
        "columns": table.columns.iter().map(|c| json!({
            "key": c.key, "name": c.name, "type": c.ty.as_str(),
            "semantic_type": c.semantic_type.map(|s| s.as_str()), "samples": c.samples,
        })).collect::<Vec<_>>(),
    })
}

fn confirmed(sem: SemanticType, ty: ColumnType, samples: &[Value]) -> Result<(), String> {
    let texts: Vec<&str> = samples.iter().filter_map(Value::as_str).collect();
    let all = |f: fn(&str) -> bool| {
        !texts.is_empty() && texts.len() == samples.len() && texts.iter().all(|t| f(t))
    };
    let ok = match sem {
        SemanticType::Email => all(is_email),
        SemanticType::Url => all(is_url),
        SemanticType::Uuid => all(is_uuid),
        SemanticType::Phone => all(is_phone),
        SemanticType::Ipv4 => all(is_ipv4),
        SemanticType::Currency | SemanticType::Percent => {
            matches!(ty, ColumnType::Number | ColumnType::Integer)
        }
        SemanticType::Code | SemanticType::BigInteger => {
            ty == ColumnType::String && all(|t| t.bytes().all(|b| b.is_ascii_digit()))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("the column's values are not {}", sem.as_str()))
    }
}

/// Applies the parts of `r` that the data confirms.
pub fn apply_refinement(table: &mut Table, r: Refinement) -> RefinementOutcome {
    let mut out = RefinementOutcome::default();
    if let Some(dt) = r.data_type {
        let clean = crate::snake_case(&dt);
        if clean.is_empty() || clean.len() > 40 || clean != dt {
            out.rejected.push(format!(
                "data_type {dt:?}: must be 1-40 characters of [a-z0-9_]"
            ));
        } else {
            out.accepted
                .push(format!("data_type {} → {clean}", table.data_type));
            table.data_type = clean;
        }
    }
    for (key, sem) in r.semantic_types {
        let Some(col) = table.columns.iter_mut().find(|c| c.key == key) else {
            out.rejected.push(format!("{key}: no such column"));
            continue;
        };
        let Some(s) = SemanticType::parse(&sem) else {
            out.rejected
                .push(format!("{key}: unknown semantic type {sem:?}"));
            continue;
        };
        match confirmed(s, col.ty, &col.samples) {
            Ok(()) => {
                col.semantic_type = Some(s);
                out.accepted.push(format!("{key}: semantic type {sem}"));
            }
            Err(why) => out.rejected.push(format!("{key}: {why}")),
        }
    }
    out
}
