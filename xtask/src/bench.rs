//! `cargo xtask bench`: one table of throughput numbers on the same generated files — the ingest
//! core natively and as wasm, DuckDB's `read_csv` on the same CSV, an upload through the Worker
//! against PostgreSQL `COPY` of the same rows, one data-API RPC call against the same `select` in
//! one PostgreSQL session, a client's `GET /api/data/{id}?limit=50` through the Worker against the
//! same RPC straight at the data API (wall and workerd CPU per request), and the workerd
//! process's memory during the upload; plus the `data_type` accuracy on the labelled corpus.
//!
//! Design decision: every measurement runs as a separate process (`ingest-bench`, `node run.mjs`,
//! `python3` for DuckDB, `psql`/`pgbench`, the Worker over HTTP) and reports every run's seconds;
//! this module only takes medians and ratios, so each number can be reproduced by hand with the
//! command it prints. Benchmarks are never part of `cargo xtask test`: they assert nothing.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::stack::{Ports, Stack};
use crate::{build, http, migrate, proc, signals, Error, Result};

/// The client that the COPY baseline and the RPC comparison use (created with this id).
const COPY_CLIENT_ID: &str = "b0000000-0000-4000-8000-00000000c0b1";
const COPY_TABLE: &str = "bench_copy";
const RPC_CLIENT_ID: &str = "b0000000-0000-4000-8000-000000000e1c";
/// The client whose page the Worker-read rows fetch: created through the Worker with a password.
const READ_CLIENT_ROWS: usize = 500;
const READ_PAGE: usize = 50;
const READ_PASSWORD: &str = "bench-read-pass";
/// Requests before the clock starts: isolate start, JIT, the data API's connection pool.
const WARM_UP_CALLS: usize = 50;
/// A 100 MB upload can take minutes on a busy machine.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(1800);
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(20);

struct Options {
    csv_mb: usize,
    upload_mb: usize,
    xlsx_rows: usize,
    runs: usize,
    upload_runs: usize,
    rpc_calls: usize,
    worker_requests: usize,
    with_stack: bool,
}

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--csv-mb N] [--upload-mb N] [--xlsx-rows N] [--runs N]
                         [--upload-runs N] [--rpc-calls N] [--worker-requests N] [--no-stack]
  defaults: --csv-mb 50 --upload-mb 100 --xlsx-rows 200000 --runs 3 --upload-runs 1
            --rpc-calls 2000 --worker-requests 1000; --quick: 5 MB CSV, 5 MB upload,
            20000 XLSX rows, 500 RPC calls, 200 Worker requests
  --no-stack skips the rows that need PostgreSQL, the data API and the Worker
  --scale: the read side at scale instead (cargo xtask bench --scale --help)";

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            csv_mb: 50,
            upload_mb: 100,
            xlsx_rows: 200_000,
            runs: 3,
            upload_runs: 1,
            rpc_calls: 2000,
            worker_requests: 1000,
            with_stack: true,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut number = |name: &str| -> Result<usize> {
                it.next()
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::new(
                            "bad_bench_option",
                            format!("{name} needs a whole number above 0\n\n{USAGE}"),
                        )
                    })
            };
            match arg.as_str() {
                "--quick" => {
                    o.csv_mb = 5;
                    o.upload_mb = 5;
                    o.xlsx_rows = 20_000;
                    o.rpc_calls = 500;
                    o.worker_requests = 200;
                }
                "--csv-mb" => o.csv_mb = number("--csv-mb")?,
                "--upload-mb" => o.upload_mb = number("--upload-mb")?,
                "--xlsx-rows" => o.xlsx_rows = number("--xlsx-rows")?,
                "--runs" => o.runs = number("--runs")?,
                "--upload-runs" => o.upload_runs = number("--upload-runs")?,
                "--rpc-calls" => o.rpc_calls = number("--rpc-calls")?,
                "--worker-requests" => o.worker_requests = number("--worker-requests")?,
                "--no-stack" => o.with_stack = false,
                other => {
                    return Err(Error::new(
                        "bad_bench_option",
                        format!("unknown option `{other}`\n\n{USAGE}"),
                    ))
                }
            }
        }
        Ok(o)
    }
}

/// One workload's result: every run's seconds, the rows and bytes it handled.
#[derive(Clone)]
struct Sample {
    bytes: u64,
    rows: u64,
    secs: Vec<f64>,
}

impl Sample {
    fn median(&self) -> f64 {
        let mut s = self.secs.clone();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }
    fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.median()
    }
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.median()
    }
}

/// The printed table: a row is either a measurement or a reason it could not be taken.
enum Line {
    Measured {
        label: String,
        sample: Sample,
        versus: String,
    },
    Note {
        label: String,
        text: String,
    },
}

/// `cargo xtask bench [options]`
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--scale") {
        return crate::bench_scale::run(root, args);
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let opts = Options::parse(args)?;
    signals::install();
    let dir = root.join(".local").join("bench");
    proc::mkdir(&dir)?;
    let tools = build_tools(root)?;
    let files = generate_files(&tools, &dir, &opts)?;

    println!("\n==> core: native");
    let native = parse_samples(&proc::output(
        Command::new(&tools.ingest_bench)
            .arg("measure")
            .arg(&files.csv)
            .arg(&files.xlsx)
            .arg(opts.runs.to_string()),
        "bench_native_failed",
    )?)?;
    println!("==> core: wasm in Node");
    let wasm = parse_samples(&proc::output(
        Command::new("node")
            .arg(root.join("crates/ingest-wasm-bench/run.mjs"))
            .arg(&tools.wasm)
            .arg(&files.csv)
            .arg(&files.xlsx)
            .arg(opts.runs.to_string()),
        "bench_wasm_failed",
    )?)?;
    println!("==> DuckDB read_csv");
    let duckdb = duckdb_samples(&files.csv, opts.runs);
    println!("==> data_type on the labelled corpus");
    let data_type = data_type_accuracy(&tools);

    let mut lines = Vec::new();
    let sample = |set: &[(String, Sample)], name: &str| -> Result<Sample> {
        set.iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Error::new("bench_output_missing", format!("no `{name}` result")))
    };
    let csv_native = sample(&native, "csv")?;
    let csv_wasm = sample(&wasm, "csv")?;
    let xlsx_native = sample(&native, "xlsx")?;
    let xlsx_wasm = sample(&wasm, "xlsx")?;
    lines.push(Line::Measured {
        label: "core CSV, native (stream, 64 KiB chunks)".into(),
        versus: String::new(),
        sample: csv_native.clone(),
    });
    lines.push(Line::Measured {
        label: "core CSV, wasm32 in Node".into(),
        versus: ratio(&csv_wasm, &csv_native, "native"),
        sample: csv_wasm,
    });
    lines.push(Line::Measured {
        label: "core XLSX, native (2 sheets)".into(),
        versus: String::new(),
        sample: xlsx_native.clone(),
    });
    lines.push(Line::Measured {
        label: "core XLSX, wasm32 in Node".into(),
        versus: ratio(&xlsx_wasm, &xlsx_native, "native"),
        sample: xlsx_wasm,
    });
    match duckdb {
        Ok(samples) => {
            for (threads, s) in samples {
                lines.push(Line::Measured {
                    label: format!("DuckDB read_csv, {threads}"),
                    versus: format!("core native = {}", ratio(&csv_native, &s, "this")),
                    sample: s,
                });
            }
        }
        Err(e) => lines.push(Line::Note {
            label: "DuckDB read_csv".into(),
            text: format!("n/a ({e})"),
        }),
    }

    lines.push(Line::Note {
        label: "data_type accuracy (labelled corpus)".into(),
        text: data_type.unwrap_or_else(|e| format!("n/a ({e})")),
    });

    let mut memory = None;
    if opts.with_stack {
        stack_rows(root, &files, &opts, &mut lines, &mut memory)?;
    }
    print_table(&opts, &files, &lines, memory.as_deref());
    Ok(())
}

/// `ingest-bench data-type`: `84/87 = 96.6 % (en/de/fr/es tables; misses: …)`.
fn data_type_accuracy(tools: &Tools) -> Result<String> {
    let out = proc::output(
        Command::new(&tools.ingest_bench).arg("data-type"),
        "bench_native_failed",
    )?;
    let v: Value = serde_json::from_str(out.trim()).map_err(|e| {
        Error::new(
            "bench_output_missing",
            format!("ingest-bench data-type: {e}"),
        )
    })?;
    let (correct, total) = (
        v["correct"].as_u64().unwrap_or(0),
        v["total"].as_u64().unwrap_or(0),
    );
    let misses: Vec<&str> = v["misses"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Ok(format!(
        "{correct}/{total} = {:.1} % (tables in en/de/fr/es; misses: {})",
        100.0 * correct as f64 / total.max(1) as f64,
        if misses.is_empty() {
            "none".to_owned()
        } else {
            misses.join(", ")
        }
    ))
}

struct Tools {
    ingest_bench: PathBuf,
    wasm: PathBuf,
}

/// Builds the native `ingest-bench` binary and the wasm module, both in release mode (the
/// workspace's release profile, the one the Worker ships with).
fn build_tools(root: &Path) -> Result<Tools> {
    let cargo = build::cargo();
    proc::run(
        Command::new(&cargo).current_dir(root).args([
            "build",
            "--release",
            "-p",
            "ingest-wasm-bench",
            "--bin",
            "ingest-bench",
        ]),
        "bench_build_failed",
    )?;
    proc::run(
        Command::new(&cargo).current_dir(root).args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "ingest-wasm-bench",
            "--lib",
        ]),
        "bench_build_failed",
    )?;
    let target = build::target_dir(root);
    Ok(Tools {
        ingest_bench: target.join("release").join("ingest-bench"),
        wasm: target
            .join("wasm32-unknown-unknown")
            .join("release")
            .join("ingest_wasm_bench.wasm"),
    })
}

struct Files {
    csv: PathBuf,
    xlsx: PathBuf,
    upload: PathBuf,
    /// The rows the Worker stores for `upload`, as `COPY … (FORMAT csv)` input.
    upload_copy: PathBuf,
    upload_rows: u64,
}

/// Generates each file once (deterministic seed; the name carries the size), so later runs
/// measure the same bytes without paying for generation again.
fn generate_files(tools: &Tools, dir: &Path, opts: &Options) -> Result<Files> {
    let make = |path: &Path, args: &[&str]| -> Result<()> {
        if path.exists() {
            return Ok(());
        }
        println!("generating {}", path.display());
        proc::output(
            Command::new(&tools.ingest_bench).args(args),
            "bench_generate_failed",
        )
        .map(|_| ())
    };
    let csv_file = |mb: usize| dir.join(format!("messy-{mb}mb.csv"));
    let files = Files {
        csv: csv_file(opts.csv_mb),
        xlsx: dir.join(format!("messy-{}rows.xlsx", opts.xlsx_rows)),
        upload: csv_file(opts.upload_mb),
        upload_copy: dir.join(format!("messy-{}mb.copy.csv", opts.upload_mb)),
        upload_rows: 0,
    };
    for (path, mb) in [(&files.csv, opts.csv_mb), (&files.upload, opts.upload_mb)] {
        make(path, &["generate-csv", &path_str(path), &mb.to_string()])?;
    }
    make(
        &files.xlsx,
        &[
            "generate-xlsx",
            &path_str(&files.xlsx),
            &opts.xlsx_rows.to_string(),
        ],
    )?;
    if opts.with_stack {
        make(
            &files.upload_copy,
            &[
                "copy-rows",
                &path_str(&files.upload),
                &path_str(&files.upload_copy),
                COPY_CLIENT_ID,
                COPY_TABLE,
            ],
        )?;
        let text = fs::File::open(&files.upload_copy).map_err(|e| {
            Error::io(
                "bench_read_failed",
                format!("reading {}", files.upload_copy.display()),
                e,
            )
        })?;
        // One row per line: the JSON inside escapes its newlines.
        let rows = BufReader::new(text).split(b'\n').count() as u64;
        return Ok(Files {
            upload_rows: rows,
            ..files
        });
    }
    Ok(files)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Parses `{name, bytes, rows, secs}` JSON lines.
fn parse_samples(text: &str) -> Result<Vec<(String, Sample)>> {
    let bad = |line: &str| {
        Error::new(
            "bench_output_invalid",
            format!("unexpected benchmark output line: {line}"),
        )
    };
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
        let v: Value = serde_json::from_str(line).map_err(|_| bad(line))?;
        let secs: Vec<f64> = v["secs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let (Some(name), Some(bytes), Some(rows)) =
            (v["name"].as_str(), v["bytes"].as_u64(), v["rows"].as_u64())
        else {
            return Err(bad(line));
        };
        if secs.is_empty() {
            return Err(bad(line));
        }
        out.push((name.to_string(), Sample { bytes, rows, secs }));
    }
    Ok(out)
}

/// `subject` vs `baseline` in throughput: "0.42× native" means 0.42 times the baseline's rows/s.
fn ratio(subject: &Sample, baseline: &Sample, baseline_name: &str) -> String {
    format!(
        "{:.2}× {baseline_name}",
        subject.rows_per_sec() / baseline.rows_per_sec()
    )
}

// ---- DuckDB ----

/// What DuckDB does: `CREATE TABLE t AS SELECT * FROM read_csv(file)` in an in-memory database,
/// i.e. auto-detection plus parsing every column into typed storage (the work the ingest core
/// does), not `count(*)` (which could skip converting columns) and not `fetchall()` (which would
/// time Python object creation). Once with one thread (the core is single-threaded, as a
/// Worker isolate is) and once with DuckDB's default threads.
const DUCKDB_SCRIPT: &str = r#"
import json, sys, time, duckdb
path, runs = sys.argv[1], int(sys.argv[2])
for threads in (1, 0):
    secs, rows = [], 0
    for _ in range(runs):
        con = duckdb.connect()
        if threads:
            con.execute(f"set threads={threads}")
        used = con.execute("select current_setting('threads')").fetchone()[0]
        start = time.perf_counter()
        con.execute("create table t as select * from read_csv(?)", [path])
        secs.append(time.perf_counter() - start)
        rows = con.execute("select count(*) from t").fetchone()[0]
        con.close()
    print(json.dumps({"name": f"{used} thread(s), duckdb {duckdb.__version__}", "bytes": 0, "rows": rows, "secs": secs}))
"#;

fn duckdb_samples(csv: &Path, runs: usize) -> Result<Vec<(String, Sample)>> {
    let has_duckdb =
        || proc::probe(Command::new("python3").args(["-c", "import duckdb"])).is_some();
    if !has_duckdb() {
        println!("DuckDB's Python package is missing: installing it (the baseline only)");
        proc::run(
            Command::new("python3").args(["-m", "pip", "install", "--quiet", "duckdb"]),
            "duckdb_install_failed",
        )?;
    }
    let bytes = fs::metadata(csv)
        .map_err(|e| Error::io("bench_read_failed", format!("reading {}", csv.display()), e))?
        .len();
    let out = proc::output(
        Command::new("python3")
            .args(["-c", DUCKDB_SCRIPT])
            .arg(csv)
            .arg(runs.to_string()),
        "duckdb_failed",
    )?;
    Ok(parse_samples(&out)?
        .into_iter()
        .map(|(name, s)| (name, Sample { bytes, ..s }))
        .collect())
}

// ---- the stack: upload vs COPY, RPC vs pgbench, workerd memory ----

/// Stops the bench stack and removes its directory however the run ends.
pub(crate) struct Teardown<'a>(pub(crate) &'a Stack);

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        println!("\n==> tearing down the bench stack");
        self.0.stop_all();
        let _ = fs::remove_dir_all(&self.0.dir);
    }
}

fn stack_rows(
    root: &Path,
    files: &Files,
    opts: &Options,
    lines: &mut Vec<Line>,
    memory: &mut Option<String>,
) -> Result<()> {
    println!("\n==> starting a throwaway stack");
    let dir = root
        .join(".local")
        .join(format!("bench-{}", std::process::id()));
    let stack = Stack::create(root, dir, Ports::free()?, true)?;
    let _teardown = Teardown(&stack);
    stack.start_database()?;
    let data_api = build::data_api(root, true)?;
    build::worker(root)?;
    stack.start_data_api(&data_api)?;
    stack.start_worker()?;
    let db_url = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres",
        stack.ports.postgres
    );

    println!("\n==> RPC: data API vs pgbench");
    sql(
        &db_url,
        &format!(
            "select public.create_client_with_data(p_company_name => 'Bench RPC', \
             p_email => 'bench-rpc@example.com', p_client_id => '{RPC_CLIENT_ID}', \
             p_rows => '[{{\"n\": 1}}, {{\"n\": 2}}]')"
        ),
    )?;
    let api = rpc_per_call(&stack, opts.rpc_calls)?;
    let direct = pgbench_per_call(&stack, opts.rpc_calls)?;
    lines.push(Line::Note {
        label: "RPC get_client_data_count, data API".into(),
        text: format!(
            "{:.0} µs/call ({} sequential calls, one kept-alive HTTP connection, service_role \
             JWT) = {:.1}× the direct select",
            api * 1e6,
            opts.rpc_calls,
            api / direct
        ),
    });
    lines.push(Line::Note {
        label: "same select, pgbench (1 session)".into(),
        text: format!(
            "{:.0} µs/call (pgbench -n -c 1 -t {}, as postgres over TCP)",
            direct * 1e6,
            opts.rpc_calls
        ),
    });

    println!("\n==> GET /api/data/{{id}}?limit={READ_PAGE}: Worker vs data API");
    read_rows(&stack, opts.worker_requests, lines)?;

    println!("\n==> COPY baseline");
    let copy = copy_sample(&db_url, files, opts.upload_runs)?;

    println!("\n==> upload through the Worker");
    let upload = upload_sample(&stack, files, opts.upload_runs);
    match upload {
        Ok((sample, rss)) => {
            lines.push(Line::Measured {
                label: format!("upload via Worker ({} MB CSV)", opts.upload_mb),
                versus: ratio(&sample, &copy, "COPY"),
                sample,
            });
            *memory = Some(rss);
        }
        Err(e) => lines.push(Line::Note {
            label: format!("upload via Worker ({} MB CSV)", opts.upload_mb),
            text: format!("n/a ({})", e.message),
        }),
    }
    lines.push(Line::Measured {
        label: "COPY into client_data (same rows)".into(),
        versus: String::new(),
        sample: copy,
    });
    Ok(())
}

pub(crate) fn sql(db_url: &str, statement: &str) -> Result<String> {
    proc::output(
        migrate::psql(db_url).args(["-A", "-t", "-c", statement]),
        "bench_sql_failed",
    )
}

/// Mean seconds per call of `POST /rest/v1/rpc/get_client_data_count` over one kept-alive
/// connection, after a warm-up of 50 calls (connection pool, schema cache, JIT of the plan).
fn rpc_per_call(stack: &Stack, calls: usize) -> Result<f64> {
    let key = &stack.keys.service_role_key;
    let auth = format!("Bearer {key}");
    let body = format!("{{\"p_client_id\":\"{RPC_CLIENT_ID}\"}}");
    let conn = http::Client::local(stack.ports.data_api, UPLOAD_TIMEOUT);
    let call = || -> Result<()> {
        let (status, answer) = conn.request(
            "POST",
            "/rest/v1/rpc/get_client_data_count",
            &[
                ("apikey", key.as_str()),
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.len() as u64,
            &mut body.as_bytes(),
        )?;
        if status != 200 || answer.trim_ascii() != b"2" {
            return Err(Error::new(
                "bench_rpc_failed",
                format!(
                    "the data API answered {status}: {}",
                    String::from_utf8_lossy(&answer)
                ),
            ));
        }
        Ok(())
    };
    for _ in 0..50 {
        call()?;
    }
    let start = Instant::now();
    for _ in 0..calls {
        call()?;
    }
    Ok(start.elapsed().as_secs_f64() / calls as f64)
}

/// pgbench's average latency of the same function call in one session, in seconds.
fn pgbench_per_call(stack: &Stack, calls: usize) -> Result<f64> {
    let script = stack.dir.join("rpc.pgbench.sql");
    fs::write(
        &script,
        format!("select public.get_client_data_count('{RPC_CLIENT_ID}'::uuid);\n"),
    )
    .map_err(|e| {
        Error::io(
            "bench_write_failed",
            format!("writing {}", script.display()),
            e,
        )
    })?;
    let out = proc::output(
        Command::new(proc::pg_bin("pgbench"))
            .args(["-n", "-c", "1", "-j", "1", "-t"])
            .arg(calls.to_string())
            .arg("-f")
            .arg(&script)
            .args(["-h", "127.0.0.1", "-p"])
            .arg(stack.ports.postgres.to_string())
            .args(["-U", "postgres", "postgres"]),
        "pgbench_failed",
    )?;
    // "latency average = 0.123 ms"
    out.lines()
        .find_map(|l| l.strip_prefix("latency average = "))
        .and_then(|rest| rest.trim_end_matches(" ms").trim().parse::<f64>().ok())
        .map(|ms| ms / 1000.0)
        .ok_or_else(|| {
            Error::new(
                "pgbench_output_invalid",
                format!("no `latency average` in pgbench's output:\n{out}"),
            )
        })
}

/// `\copy client_data(client_id, table_name, data) from '<file>' (format csv)` of the rows the
/// Worker stores for the upload file, as `postgres` (so RLS is not in the way; the table's
/// triggers run), timed around the psql process.
fn copy_sample(db_url: &str, files: &Files, runs: usize) -> Result<Sample> {
    sql(
        db_url,
        &format!(
            "select public.create_client_with_data(p_company_name => 'Bench COPY', \
             p_email => 'bench-copy@example.com', p_client_id => '{COPY_CLIENT_ID}', \
             p_table_name => '{COPY_TABLE}')"
        ),
    )?;
    let bytes = fs::metadata(&files.upload)
        .map_err(|e| Error::io("bench_read_failed", "reading the upload file", e))?
        .len();
    let copy = format!(
        "\\copy public.client_data(client_id, table_name, data) from '{}' with (format csv)",
        files.upload_copy.display()
    );
    let mut secs = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        proc::output(migrate::psql(db_url).args(["-c", &copy]), "copy_failed")?;
        secs.push(start.elapsed().as_secs_f64());
    }
    Ok(Sample {
        bytes,
        rows: files.upload_rows,
        secs,
    })
}

/// POSTs the upload file as a raw `text/csv` body to `POST /api/superadmin/clients` (a new
/// client each run), and samples the memory of wrangler's workerd processes meanwhile. Returns
/// the timing and a memory summary.
fn upload_sample(stack: &Stack, files: &Files, runs: usize) -> Result<(Sample, String)> {
    let workerds = workerd_processes(stack);
    if workerds.is_empty() {
        return Err(Error::new(
            "workerd_not_found",
            "no workerd process under the Worker's wrangler",
        ));
    }
    let bytes = fs::metadata(&files.upload)
        .map_err(|e| Error::io("bench_read_failed", "reading the upload file", e))?
        .len();
    let auth = format!("Bearer {}", stack.keys.service_role_key);
    let mut secs = Vec::new();
    let mut rows = 0;
    let mut memory = Vec::new();
    for run in 0..runs {
        let before: Vec<u64> = workerds
            .iter()
            .map(|w| proc_status_kb(w.pid, "VmRSS").unwrap_or(0))
            .collect();
        let sampler = RssSampler::start(workerds.iter().map(|w| w.pid).collect());
        let path = format!(
            "/api/superadmin/clients?company_name=Bench%20Upload%20{run}&email=bench-upload-{run}-{}%40example.com&data_type=ecommerce",
            std::process::id()
        );
        let mut body = fs::File::open(&files.upload)
            .map_err(|e| Error::io("bench_read_failed", "opening the upload file", e))?;
        let conn = http::Client::local(stack.ports.worker, UPLOAD_TIMEOUT);
        let start = Instant::now();
        let answer = conn.request(
            "POST",
            &path,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "text/csv"),
            ],
            bytes,
            &mut body,
        );
        let elapsed = start.elapsed().as_secs_f64();
        let peaks = sampler.stop();
        let (status, answer) = answer?;
        if status != 201 {
            let what = if status == 404 || status == 415 || status == 400 {
                "upload endpoint missing or refusing raw CSV: "
            } else {
                ""
            };
            return Err(Error::new(
                "bench_upload_failed",
                format!(
                    "{what}HTTP {status} {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                ),
            ));
        }
        let json: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        rows = json["rows_stored"].as_u64().unwrap_or(0);
        if rows != files.upload_rows {
            return Err(Error::new(
                "bench_upload_rows",
                format!(
                    "the Worker stored {rows} rows; the file has {}",
                    files.upload_rows
                ),
            ));
        }
        secs.push(elapsed);
        memory = workerds
            .iter()
            .zip(before.iter().zip(&peaks))
            .map(|(w, (before, peak))| {
                let hwm = proc_status_kb(w.pid, "VmHWM").unwrap_or(0);
                format!(
                    "  workerd {} (pid {}): VmRSS {:.0} MB before, peak {:.0} MB during the upload \
                     (sampled every {} ms); VmHWM {:.0} MB after (peak since it started)",
                    w.role,
                    w.pid,
                    *before as f64 / 1024.0,
                    *peak as f64 / 1024.0,
                    RSS_SAMPLE_EVERY.as_millis(),
                    hwm as f64 / 1024.0
                )
            })
            .collect();
    }
    Ok((Sample { bytes, rows, secs }, memory.join("\n")))
}

pub(crate) struct Workerd {
    pub(crate) pid: u32,
    /// wrangler dev runs two: a proxy on the Worker's port, and the runtime executing the Worker.
    pub(crate) role: &'static str,
}

/// The workerd processes wrangler started for this stack: descendants of the pid in
/// `pids/worker.pid` whose command name is `workerd`. The one listening on the Worker's port is
/// wrangler's proxy; the other runs the Worker's code.
pub(crate) fn workerd_processes(stack: &Stack) -> Vec<Workerd> {
    let Some(root) = proc::read_pid(&stack.pids().join("worker.pid")) else {
        return Vec::new();
    };
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        rest.split_whitespace().nth(1)?.parse().ok()
    };
    let descends = |mut pid: u32| {
        while pid > 1 {
            if pid == root {
                return true;
            }
            match parent_of(pid) {
                Some(p) => pid = p,
                None => return false,
            }
        }
        false
    };
    let proxy_socket = format!("entry=127.0.0.1:{}", stack.ports.worker);
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<Workerd> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "workerd")
                && descends(pid)
        })
        .map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let is_proxy = String::from_utf8_lossy(&cmdline).contains(&proxy_socket);
            Workerd {
                pid,
                role: if is_proxy {
                    "wrangler proxy"
                } else {
                    "running the Worker"
                },
            }
        })
        .collect();
    found.sort_by_key(|w| w.role != "running the Worker");
    found
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Samples processes' VmRSS on a thread until stopped; keeps each one's maximum.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peaks = vec![0; pids.len()];
            while !flag.load(Ordering::Relaxed) {
                for (peak, pid) in peaks.iter_mut().zip(&pids) {
                    *peak = (*peak).max(proc_status_kb(*pid, "VmRSS").unwrap_or(0));
                }
                std::thread::sleep(RSS_SAMPLE_EVERY);
            }
            peaks
        });
        RssSampler { stop, thread }
    }

    /// The highest VmRSS seen per process, in kB.
    fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

// ---- a client's page through the Worker vs the same RPC at the data API ----

/// [`WARM_UP_CALLS`] untimed calls.
fn warm_up(call: &mut impl FnMut() -> Result<()>) -> Result<()> {
    (0..WARM_UP_CALLS).try_for_each(|_| call())
}

/// Wall seconds of each of `calls` sequential calls, ascending.
fn time_each(calls: usize, call: &mut impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut secs = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        call()?;
        secs.push(start.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    Ok(secs)
}

/// The value at `fraction` (0.5 = median) of ascending `sorted` (nearest rank).
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).max(1);
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) a process has used so far: fields 14 and 15 of `/proc/<pid>/stat`.
pub(crate) fn cpu_secs(pid: u32, ticks_per_sec: f64) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing `)` start at field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / ticks_per_sec)
}

/// The kernel's clock ticks per second, the unit of `/proc/<pid>/stat` times.
pub(crate) fn clock_ticks() -> Result<f64> {
    let out = proc::output(Command::new("getconf").arg("CLK_TCK"), "getconf_failed")?;
    out.trim().parse::<f64>().map_err(|_| {
        Error::new(
            "getconf_failed",
            format!("`getconf CLK_TCK` printed `{}`", out.trim()),
        )
    })
}

/// One request with a JSON body; the answer as JSON (or, when it is not JSON, its first 300
/// bytes as a string, for the error message).
fn json_request(
    conn: &http::Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<(u16, Value)> {
    let text = body.to_string();
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let (status, answer) =
        conn.request(method, path, &all, text.len() as u64, &mut text.as_bytes())?;
    Ok((
        status,
        serde_json::from_slice(&answer).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned())
        }),
    ))
}

/// Creates a client with [`READ_CLIENT_ROWS`] rows and a password through the Worker's JSON
/// create, logs in as it, then times `GET /api/data/{id}?limit=50` through the Worker and the
/// RPC the Worker makes for it (`query_client_data`, same plan, same token) straight
/// at the data API, each over one kept-alive connection; reads the workerd processes' CPU time
/// around the Worker's requests.
fn read_rows(stack: &Stack, requests: usize, lines: &mut Vec<Line>) -> Result<()> {
    let failed = |what: &str, status: u16, body: &Value| {
        Error::new(
            "bench_read_rows_failed",
            format!("{what}: HTTP {status} {body}"),
        )
    };
    let email = format!("bench-read-{}@example.com", std::process::id());
    let rows: Vec<Value> = (0..READ_CLIENT_ROWS)
        .map(|i| {
            let status = ["shipped", "pending", "returned"][i % 3];
            serde_json::json!({
                "order_id": format!("ORD-{i:05}"),
                "status": status,
                "amount": (i * 37 % 1000) as f64 + 0.99,
                "quantity": i % 7 + 1,
                "note": format!("bench row {i}"),
            })
        })
        .collect();
    let worker = http::Client::local(stack.ports.worker, UPLOAD_TIMEOUT);
    let service = format!("Bearer {}", stack.keys.service_role_key);
    let (status, created) = json_request(
        &worker,
        "POST",
        "/api/superadmin/clients",
        &[("Authorization", service.as_str())],
        &serde_json::json!({
            "company_name": "Bench Read",
            "email": email,
            "password": READ_PASSWORD,
            "data_type": "orders",
            "data": rows,
        }),
    )?;
    if status != 201 {
        return Err(failed(
            "creating the client through the Worker",
            status,
            &created,
        ));
    }
    let client_id = created["client"]["client_id"]
        .as_str()
        .ok_or_else(|| failed("no client.client_id in the create answer", status, &created))?
        .to_string();
    let (status, login) = json_request(
        &worker,
        "POST",
        "/api/auth/login",
        &[],
        &serde_json::json!({"email": email, "password": READ_PASSWORD}),
    )?;
    let token = login["access_token"]
        .as_str()
        .filter(|_| status == 200)
        .ok_or_else(|| failed("logging in through the Worker", status, &login))?;
    let bearer = format!("Bearer {token}");

    let path = format!("/api/data/{client_id}?limit={READ_PAGE}");
    let workerds = workerd_processes(stack);
    let ticks = clock_ticks()?;
    let mut worker_call = || -> Result<()> {
        let (status, answer) = worker.request(
            "GET",
            &path,
            &[("Authorization", bearer.as_str())],
            0,
            &mut std::io::empty(),
        )?;
        let page: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        match page["data"].as_array() {
            Some(data) if status == 200 && data.len() == READ_PAGE => Ok(()),
            _ => Err(Error::new(
                "bench_read_rows_failed",
                format!(
                    "GET {path} through the Worker: HTTP {status}, expected {READ_PAGE} rows: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                ),
            )),
        }
    };
    warm_up(&mut worker_call)?;
    let cpu_before: Vec<Option<f64>> = workerds.iter().map(|w| cpu_secs(w.pid, ticks)).collect();
    let via_worker = time_each(requests, &mut worker_call)?;
    let cpu = workerds
        .iter()
        .zip(&cpu_before)
        .map(|(w, before)| match (before, cpu_secs(w.pid, ticks)) {
            (Some(a), Some(b)) => format!(
                "{:.2} ms in workerd {} (pid {})",
                (b - a) * 1e3 / requests as f64,
                w.role,
                w.pid
            ),
            _ => format!(
                "n/a for workerd {} (pid {}: /proc unreadable)",
                w.role, w.pid
            ),
        })
        .collect::<Vec<_>>();

    // What the Worker sends upstream for `?limit=50` (src/api/data.rs: `crates/query`'s plan).
    let args = serde_json::json!({
        "p_client_id": client_id,
        "p_query": { "limit": READ_PAGE },
    })
    .to_string();
    let api = http::Client::local(stack.ports.data_api, UPLOAD_TIMEOUT);
    let anon = stack.keys.anon_key.clone();
    let mut direct_call = || -> Result<()> {
        let (status, answer) = api.request(
            "POST",
            "/rest/v1/rpc/query_client_data",
            &[
                ("apikey", anon.as_str()),
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ],
            args.len() as u64,
            &mut args.as_bytes(),
        )?;
        let page: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        match page["rows"].as_array() {
            Some(rows) if status == 200 && rows.len() == READ_PAGE => Ok(()),
            _ => Err(Error::new(
                "bench_read_rows_failed",
                format!(
                    "query_client_data at the data API: HTTP {status}, expected \
                     {READ_PAGE} rows: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(300)])
                ),
            )),
        }
    };
    warm_up(&mut direct_call)?;
    let direct = time_each(requests, &mut direct_call)?;

    let ms = |secs: &[f64], fraction: f64| percentile(secs, fraction) * 1e3;
    lines.push(Line::Note {
        label: format!("GET /api/data/{{id}}?limit={READ_PAGE} via Worker"),
        text: format!(
            "median {:.2} ms, p90 {:.2} ms per request ({requests} sequential after \
             {WARM_UP_CALLS} warm-up, one kept-alive connection, the client's login token, \
             {READ_CLIENT_ROWS} rows stored); Worker adds {:.2} ms over the data API",
            ms(&via_worker, 0.5),
            ms(&via_worker, 0.9),
            ms(&via_worker, 0.5) - ms(&direct, 0.5)
        ),
    });
    lines.push(Line::Note {
        label: "  workerd CPU per request (whole process)".into(),
        text: if cpu.is_empty() {
            "n/a (no workerd process under the Worker's wrangler)".into()
        } else {
            format!(
                "{} — utime+stime from /proc/<pid>/stat around the {requests} requests; an \
                 upper bound",
                cpu.join(", ")
            )
        },
    });
    lines.push(Line::Note {
        label: "same RPC query_client_data, data API".into(),
        text: format!(
            "median {:.2} ms, p90 {:.2} ms per call (limit {READ_PAGE}, same token, \
             {requests} sequential, one kept-alive connection)",
            ms(&direct, 0.5),
            ms(&direct, 0.9)
        ),
    });
    Ok(())
}

// ---- the table ----

fn print_table(opts: &Options, files: &Files, lines: &[Line], memory: Option<&str>) {
    println!(
        "\ncargo xtask bench — medians of {} runs ({} for uploads and COPY); files in {}",
        opts.runs,
        opts.upload_runs,
        files.csv.parent().map(path_str).unwrap_or_default()
    );
    println!(
        "CSV: {} ({} MB)   XLSX: {}   upload: {}",
        file_name(&files.csv),
        opts.csv_mb,
        file_name(&files.xlsx),
        file_name(&files.upload)
    );
    println!("2 shared cores: numbers are noisy; compare ratios from the same run.\n");
    println!(
        "{:<44} {:>9} {:>8} {:>9} {:>11} {:>8}  vs baseline",
        "measurement", "rows", "MB", "median s", "rows/s", "MB/s"
    );
    for line in lines {
        match line {
            Line::Measured {
                label,
                sample,
                versus,
            } => println!(
                "{:<44} {:>9} {:>8.1} {:>9.3} {:>11.0} {:>8.1}  {versus}",
                label,
                sample.rows,
                sample.bytes as f64 / 1e6,
                sample.median(),
                sample.rows_per_sec(),
                sample.mb_per_sec()
            ),
            Line::Note { label, text } => println!("{label:<44} {text}"),
        }
    }
    if let Some(memory) = memory {
        println!(
            "\nWorker memory during the {} MB upload:\n{memory}",
            opts.upload_mb
        );
    } else if opts.with_stack {
        println!("\nWorker memory during the upload: n/a (no upload was measured)");
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
