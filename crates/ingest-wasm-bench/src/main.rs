//! `ingest-bench`: the native half of `cargo xtask bench` — writes the generated benchmark files
//! and times the `ingest` core on them with the same functions the wasm module exports.
//!
//! Design decision: this binary prints machine-readable JSON lines (every run's seconds, not a
//! summary) and leaves medians, ratios and the table to xtask, which also runs the wasm, DuckDB
//! and PostgreSQL measurements and must treat all of them alike.
//!
//! ```text
//! ingest-bench generate-csv  <out.csv> <megabytes>
//! ingest-bench generate-xlsx <out.xlsx> <rows>
//! ingest-bench copy-rows     <in.csv> <out.copy.csv> <client_id> <table_name>
//! ingest-bench measure       <file.csv> <file.xlsx> <runs>
//! ingest-bench data-type
//! ```

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use ingest_testdata::{messy_csv, messy_xlsx, score_data_types};
use ingest_wasm_bench::{ingest_whole, stream_csv};

/// Every generated file uses this seed, so every run measures the same bytes.
const SEED: u64 = 42;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ingest-bench: {message}");
    ExitCode::FAILURE
}

/// Writes next to `path` first and renames, so a killed run never leaves half a file that a
/// later run would take as already generated.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    let tmp = path.with_extension("partial");
    let file = fs::File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut out = BufWriter::new(file);
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("renaming to {}: {e}", path.display()))
}

fn generate_csv(out: &Path, megabytes: usize) -> Result<(), String> {
    let row_bytes = (messy_csv(10_000, SEED).len() / 10_000).max(1);
    let csv = messy_csv(megabytes * 1_000_000 / row_bytes, SEED);
    write_atomically(out, |w| w.write_all(&csv))
}

fn generate_xlsx(out: &Path, rows: usize) -> Result<(), String> {
    let xlsx = messy_xlsx(rows, SEED);
    write_atomically(out, |w| w.write_all(&xlsx))
}

/// The rows the Worker would store for `csv`, as PostgreSQL `COPY … (FORMAT csv)` input for
/// `client_data(client_id, table_name, data)`.
fn copy_rows(csv: &Path, out: &Path, client_id: &str, table_name: &str) -> Result<(), String> {
    let bytes = fs::read(csv).map_err(|e| format!("reading {}: {e}", csv.display()))?;
    let mut failure: Option<std::io::Error> = None;
    write_atomically(out, |w| {
        let prefix = format!("{client_id},{table_name},\"");
        stream_csv(&bytes, |row| {
            if failure.is_some() {
                return;
            }
            // The JSON text the Worker's batches hold (always UTF-8).
            let mut json = Vec::new();
            row.write_json(&mut json);
            let json = String::from_utf8_lossy(&json);
            let line = format!("{prefix}{}\"\n", json.replace('"', "\"\""));
            if let Err(e) = w.write_all(line.as_bytes()) {
                failure = Some(e);
            }
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        failure.take().map_or(Ok(()), Err)
    })
}

/// One JSON line per workload: bytes, rows and the seconds of every run.
fn measure(csv: &Path, xlsx: &Path, runs: usize) -> Result<(), String> {
    let read = |p: &Path| fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()));
    let csv = read(csv)?;
    let xlsx = read(xlsx)?;
    type Workload<'a> = (
        &'a str,
        &'a [u8],
        fn(&[u8]) -> Result<u64, ingest::IngestError>,
    );
    let workloads: [Workload; 2] = [
        ("csv", &csv, |b| stream_csv(b, |_| {})),
        ("xlsx", &xlsx, ingest_whole),
    ];
    for (name, bytes, work) in workloads {
        let mut secs = Vec::with_capacity(runs);
        let mut rows = 0;
        for _ in 0..runs {
            let start = Instant::now();
            rows = work(bytes).map_err(|e| format!("{name}: {e}"))?;
            secs.push(start.elapsed().as_secs_f64());
        }
        let line =
            serde_json::json!({"name": name, "bytes": bytes.len(), "rows": rows, "secs": secs});
        println!("{line}");
    }
    Ok(())
}

/// `data_type` on the labelled corpus (`ingest_testdata::data_type_corpus`), through
/// `ingest::ingest` as an upload: one JSON line `{name, correct, total, misses}`.
fn data_type_accuracy() -> Result<(), String> {
    let score = score_data_types(|csv| {
        ingest::ingest(csv, &ingest::IngestOptions::new())
            .ok()
            .and_then(|got| got.tables.into_iter().next())
            .map_or_else(|| "error".to_owned(), |t| t.data_type)
    });
    let misses: Vec<String> = score
        .misses
        .iter()
        .map(|(name, want, got)| format!("{name}: {want} → {got}"))
        .collect();
    let line = serde_json::json!({"name": "data_type", "correct": score.correct,
                                  "total": score.total, "misses": misses});
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("`{s}` is not a whole number"))
    };
    let outcome = match words.as_slice() {
        ["generate-csv", out, mb] => number(mb).and_then(|mb| generate_csv(Path::new(out), mb)),
        ["generate-xlsx", out, rows] => {
            number(rows).and_then(|rows| generate_xlsx(Path::new(out), rows))
        }
        ["copy-rows", csv, out, client_id, table] => {
            copy_rows(Path::new(csv), Path::new(out), client_id, table)
        }
        ["data-type"] => data_type_accuracy(),
        ["measure", csv, xlsx, runs] => {
            number(runs).and_then(|runs| measure(Path::new(csv), Path::new(xlsx), runs.max(1)))
        }
        _ => Err(
            "usage: see the top of crates/ingest-wasm-bench/src/main.rs (generate-csv, \
                  generate-xlsx, copy-rows, measure, data-type)"
                .to_string(),
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}
