//! `cargo xtask`: the project's dev tooling — install what is missing, bring the local stack
//! (PostgreSQL 15, the `hybrid-data-api`, the Worker in `wrangler dev`) up and down, apply
//! migrations, and run every test suite against a throwaway stack.
//!
//! Design decision: xtask drives the real tools (`psql`, `pg_ctl`, `pg_prove`, `cargo`,
//! `wrangler`) through `std::process` instead of linking client libraries, so it compiles in
//! seconds and every step it takes is a command a person could type and re-run by hand.

mod admin;
mod bench;
mod bench_scale;
mod build;
mod console;
mod error;
mod faults;
mod fuzz;
mod http;
mod keys;
mod migrate;
mod proc;
mod setup;
mod signals;
mod stack;
mod steps;
mod test;
mod workerd;

use std::path::PathBuf;
use std::process::ExitCode;

pub use error::{Error, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup          install what is missing (apt packages, wasm32 target, wasm-bindgen CLI
                 matching Cargo.lock, npm packages)
  build-worker   build the Worker for workerd into build/worker/ (cargo, wasm-bindgen,
                 wasm-opt, esbuild; offline) and check its size against the budget
  up             start PostgreSQL, the data API and the Worker; write .local/stack.env
  down           stop everything `up` started (data is kept in .local/stack/)
  dev            up, then follow the logs; Ctrl-C stops the stack
  admin create EMAIL [--db-url URL]
                 a superadmin account for the web console (password: $ADMIN_PASSWORD or
                 a prompt; default database: the `up` stack's)
  migrate [--db-url URL]
                 apply pending migrations/*.sql (default: the `up` stack's database)
  test [--only STAGE[,STAGE...]]
                 run every test suite against a throwaway stack on free ports (--only: just
                 those stages and what they need, e.g. --only pgtap or --only e2e)
  fuzz [--seconds N] [--target T[,T...]]
                 the cargo-fuzz targets of fuzz/ (nightly; installs cargo-fuzz when missing),
                 N seconds each (default 60): runs, corpus size and crashes per target
  bench [--quick] [--help]
                 throughput table: ingest native vs wasm vs DuckDB, upload via the Worker
                 vs COPY, data API RPC vs pgbench, workerd memory (own throwaway stack)
  bench --scale [--quick] [--rows N] [--clients N] [--big N] [--help]
                 reads at scale (issue 10): rows loaded by SQL, the same reads as SQL with
                 RLS on and off (pgbench) and through the data API, index write cost, EXPLAIN
";

/// The repository root: xtask lives in `<root>/xtask`.
pub fn repo_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let outcome = match args.first().map(String::as_str) {
        Some("setup") => setup::run(&root),
        Some("build-worker") => setup::worker_tools(&root).and_then(|()| build::worker(&root)),
        Some("up") => stack::up(&root).map(|_| ()),
        Some("down") => stack::down(&root),
        Some("dev") => stack::dev(&root),
        Some("admin") => admin::command(&root, &args[1..]),
        Some("migrate") => migrate::command(&root, &args[1..]),
        Some("test") => match test::run(&root, &args[1..]) {
            Ok(true) => Ok(()),
            // The summary has already said what failed; its closing line must stay last.
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Some("bench") => bench::run(&root, &args[1..]),
        Some("fuzz") => fuzz::command(&root, &args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Error::new(
            "unknown_command",
            format!("unknown command `{other}`\n\n{USAGE}"),
        )),
        None => Err(Error::new("missing_command", USAGE.trim_end().to_string())),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
