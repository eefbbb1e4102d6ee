//! What an upload of a file would store, without storing it: the report behind the Worker's
//! `POST /api/inspect` and the `inspect` command line tool, so both say the same thing.
//!
//! Design decision: the report is built from [`Ingested`] itself (the very result an upload
//! writes), serialised with the model's own field names, and only cut to size (first rows,
//! samples, issues) — never re-derived — so a preview cannot disagree with the upload.

use serde_json::{json, Value};

use crate::model::{Column, Ingested, Table};

/// How much of each table a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLimits {
    /// Rows shown, as they would be stored.
    pub rows: usize,
    /// Issues listed (all are counted in `issue_counts`).
    pub issues: usize,
    /// Sample values per column.
    pub samples: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            rows: 20,
            issues: 100,
            samples: 5,
        }
    }
}

/// `{format, encoding, tables: [{sheet, dialect, data_type, data_type_evidence,
/// data_type_points: [{kind, points, reasons: [{column, points, reason}]}], row_count,
/// columns: [{key, name, type, semantic_type, nullable, null_count, samples, …}], rows,
/// issues: [{kind, row, line, column, original, message}], issue_counts}]}`.
pub fn report(got: &Ingested, limits: ReportLimits) -> Value {
    json!({
        "format": got.format,
        "encoding": got.encoding,
        "tables": got.tables.iter().map(|t| table(t, limits)).collect::<Vec<_>>(),
    })
}

fn table(t: &Table, limits: ReportLimits) -> Value {
    json!({
        "sheet": t.sheet,
        "format": t.format,
        "encoding": t.encoding,
        "dialect": t.dialect,
        "data_type": t.data_type,
        "data_type_evidence": t.data_type_evidence,
        "data_type_points": t.data_type_points,
        "row_count": t.row_count,
        "columns": t.columns.iter().map(|c| column(c, limits.samples)).collect::<Vec<_>>(),
        "rows": t.rows.iter().take(limits.rows).collect::<Vec<_>>(),
        "issues": t.issues.iter().take(limits.issues).collect::<Vec<_>>(),
        "issue_counts": t.issue_counts,
    })
}

fn column(c: &Column, samples: usize) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Some(list) = v.get_mut("samples").and_then(Value::as_array_mut) {
        list.truncate(samples);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IngestOptions;

    #[test]
    fn a_report_shows_types_first_rows_and_issues_with_lines() {
        let mut csv = String::from("name,amount,email\n");
        for i in 1..=12 {
            let amount = if i == 2 {
                "oops".to_owned()
            } else {
                format!("{i}.5")
            };
            csv += &format!("n{i},{amount},c{i}@x.io\n");
        }
        let got = crate::ingest(csv.as_bytes(), &IngestOptions::new()).unwrap();
        let limits = ReportLimits {
            rows: 2,
            ..Default::default()
        };
        let r = report(&got, limits);
        assert_eq!(r["format"], "delimited");
        let t = &r["tables"][0];
        assert_eq!(t["row_count"], 12);
        assert_eq!(t["rows"].as_array().unwrap().len(), 2);
        assert_eq!(t["dialect"]["delimiter"], ",");
        assert_eq!(t["columns"][1]["type"], "mixed");
        assert_eq!(t["columns"][2]["semantic_type"], "email");
        let issue = &t["issues"][0];
        assert_eq!(issue["kind"], "value_not_converted");
        assert_eq!(issue["line"], 3);
        assert_eq!(issue["original"], "oops");
    }
}
