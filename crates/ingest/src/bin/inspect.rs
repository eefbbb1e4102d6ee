//! `inspect FILE [--json] [--rows N]`: what uploading FILE would store, without a server —
//! the same report as the Worker's `POST /api/inspect` (`ingest::inspect::report`), printed as
//! aligned text tables or as that JSON. For checking files before uploading them.
//!
//! Design decision: arguments are parsed by hand (three flags) rather than with clap, so the
//! `ingest` crate keeps its two dependencies; the report is never re-derived here, only laid out.

use std::process::ExitCode;

use serde_json::Value;

use ingest::inspect::{report, ReportLimits};

const USAGE: &str = "usage: inspect FILE [--json] [--rows N]
  prints what uploading FILE (CSV, TSV, JSON, NDJSON or XLSX) would store:
  format, dialect, data type and evidence, columns, the first N rows (default 10), issues";

fn main() -> ExitCode {
    let mut path = None;
    let mut as_json = false;
    let mut rows = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => as_json = true,
            "--rows" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => rows = n,
                None => return usage("--rows needs a number"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if path.is_none() && !a.starts_with("--") => path = Some(a),
            other => return usage(&format!("unexpected argument `{other}`")),
        }
    }
    let Some(path) = path else {
        return usage("no FILE given");
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("inspect: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = ingest::IngestOptions::new()
        .with_max_bytes(u64::MAX)
        .with_hint(path.clone());
    let got = match ingest::ingest(&bytes, &opts) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("inspect: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let limits = ReportLimits {
        rows,
        ..Default::default()
    };
    let r = report(&got, limits);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        print!("{}", text(&r));
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("inspect: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// A value as one table cell: strings bare, the rest as JSON, nulls empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn grid(header: &[&str], rows: &[Vec<String>]) -> String {
    const MAX: usize = 40;
    let clip = |s: &str| -> String {
        let one_line = s.replace(['\n', '\r', '\t'], " ");
        if one_line.chars().count() > MAX {
            one_line.chars().take(MAX - 1).collect::<String>() + "…"
        } else {
            one_line
        }
    };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clip(c)).collect())
        .collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        out += &line(r);
    }
    out
}

fn text(r: &Value) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    for t in r["tables"].as_array().unwrap_or(&empty) {
        let list = |v: &Value| v.as_array().unwrap_or(&empty).clone();
        if let Some(sheet) = t["sheet"].as_str() {
            out += &format!("sheet {sheet}\n");
        }
        out += &format!(
            "format {}, encoding {}, {} rows\n",
            cell(&r["format"]),
            cell(&t["encoding"]),
            t["row_count"]
        );
        if let Some(d) = t["dialect"].as_object() {
            out += &format!(
                "dialect: delimiter {:?}, quote {:?}, header {}, preamble lines {}\n",
                cell(&d["delimiter"]),
                cell(&d["quote"]),
                d["has_header"],
                d["preamble_lines"]
            );
        }
        let evidence: Vec<String> = list(&t["data_type_evidence"]).iter().map(cell).collect();
        out += &format!(
            "data type: {} (evidence: {})\n",
            cell(&t["data_type"]),
            if evidence.is_empty() {
                "none".to_owned()
            } else {
                evidence.join(", ")
            }
        );
        for p in list(&t["data_type_points"]) {
            let reasons: Vec<String> = list(&p["reasons"])
                .iter()
                .map(|r| {
                    format!(
                        "{} +{} {}",
                        cell(&r["column"]),
                        r["points"],
                        cell(&r["reason"])
                    )
                })
                .collect();
            out += &format!(
                "  {} {}: {}\n",
                cell(&p["kind"]),
                p["points"],
                reasons.join("; ")
            );
        }
        out.push('\n');
        let columns = list(&t["columns"]);
        let col_rows: Vec<Vec<String>> = columns
            .iter()
            .map(|c| {
                let samples: Vec<String> = list(&c["samples"]).iter().map(cell).collect();
                vec![
                    cell(&c["key"]),
                    cell(&c["name"]),
                    cell(&c["type"]),
                    cell(&c["semantic_type"]),
                    cell(&c["null_count"]),
                    samples.join(" | "),
                ]
            })
            .collect();
        out += &grid(
            &["column", "header", "type", "semantic", "nulls", "samples"],
            &col_rows,
        );
        let keys: Vec<String> = columns.iter().map(|c| cell(&c["key"])).collect();
        let data: Vec<Vec<String>> = list(&t["rows"])
            .iter()
            .map(|row| keys.iter().map(|k| cell(&row[k])).collect())
            .collect();
        if !data.is_empty() {
            out += "\nfirst rows, as stored:\n";
            let header: Vec<&str> = keys.iter().map(String::as_str).collect();
            out += &grid(&header, &data);
        }
        let issues = list(&t["issues"]);
        if !issues.is_empty() {
            out += "\nissues:\n";
            let rows: Vec<Vec<String>> = issues
                .iter()
                .map(|i| {
                    vec![
                        cell(&i["line"]),
                        cell(&i["row"]),
                        cell(&i["column"]),
                        cell(&i["kind"]),
                        cell(&i["message"]),
                    ]
                })
                .collect();
            out += &grid(&["line", "row", "column", "kind", "message"], &rows);
        }
        out += "\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_report_lists_columns_rows_and_issues_with_lines() {
        let mut csv = String::from("Order ID,Amount\n");
        for i in 1..=12 {
            let amount = if i == 2 {
                "oops".to_owned()
            } else {
                format!("{i}.5")
            };
            csv += &format!("{i},{amount}\n");
        }
        let got = ingest::ingest(csv.as_bytes(), &ingest::IngestOptions::new()).unwrap();
        let limits = ReportLimits {
            rows: 2,
            ..Default::default()
        };
        let out = text(&report(&got, limits));
        assert!(out.contains("dialect: delimiter \",\""), "{out}");
        assert!(out.contains("amount    Amount    mixed"), "{out}");
        assert!(out.contains("first rows, as stored:"), "{out}");
        let issue = out
            .lines()
            .find(|l| l.contains("value_not_converted"))
            .unwrap();
        assert!(issue.starts_with("3     2    amount"), "{issue}");
    }

    #[test]
    fn long_cells_are_clipped_to_one_line() {
        let g = grid(&["a"], &[vec![format!("x\ny{}", "z".repeat(60))]]);
        let row = g.lines().nth(2).unwrap();
        assert!(row.starts_with("x y") && row.ends_with('…') && row.chars().count() == 40);
    }
}
