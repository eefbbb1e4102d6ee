//! `cargo xtask test`: every suite against a throwaway stack on free ports in
//! `.local/test-<pid>/`. Every stage runs even when an earlier one failed (so one run shows
//! everything that is broken); stages that need a part that did not come up fail without
//! running. The stack is torn down on success, failure and Ctrl-C alike.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::stack::{Ports, Stack};
use crate::{build, faults, migrate, proc, setup, signals, Result};

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

struct StageResult {
    name: &'static str,
    outcome: Outcome,
    elapsed: Duration,
    note: String,
}

/// Stops the throwaway stack however `run` ends (including a panic).
struct Teardown<'a> {
    stack: &'a Stack,
    keep_logs: bool,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        println!("\n==> tearing down the test stack");
        self.stack.stop_all();
        // The cluster is large and worthless afterwards; logs help when something failed.
        let _ = fs::remove_dir_all(self.stack.pgdata());
        if self.stack.pg_dir != self.stack.dir {
            let _ = fs::remove_dir_all(&self.stack.pg_dir);
        }
        let artifacts = self.stack.dir.join("artifacts");
        if self.keep_logs {
            println!("logs kept in {}", self.stack.logs().display());
        } else if artifacts.is_dir() {
            // Test artifacts (the console's screenshots) outlive a passing run; the rest goes.
            for entry in fs::read_dir(&self.stack.dir)
                .into_iter()
                .flatten()
                .flatten()
            {
                if entry.path() != artifacts {
                    let _ =
                        fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
                }
            }
            println!("artifacts kept in {}", artifacts.display());
        } else {
            let _ = fs::remove_dir_all(&self.stack.dir);
        }
    }
}

struct Runner {
    results: Vec<StageResult>,
    /// `--only a,b`: the stages asked for; the ones they need (setup, database, services) run too.
    only: Option<Vec<String>>,
}

/// Stages that other stages need, and which of them needs the running services.
const NEEDS_SERVICES: &[&str] = &["e2e", "console", "postgrest-js"];
/// Every stage, in the order they run; `--only` accepts these names.
const STAGES: &[&str] = &[
    "setup",
    "database",
    "unit",
    "pgtap",
    "services",
    "e2e",
    "console",
    "postgrest-js",
    "faults",
    "fuzz-smoke",
];

impl Runner {
    fn wanted(&self, name: &str) -> bool {
        let Some(only) = &self.only else { return true };
        only.iter().any(|o| o == name)
            || matches!(name, "setup" | "database")
            || (name == "services" && only.iter().any(|o| NEEDS_SERVICES.contains(&o.as_str())))
    }

    /// Runs one stage unless interrupted or not selected; a stage's error is printed and
    /// recorded, never fatal.
    fn stage(&mut self, name: &'static str, body: impl FnOnce() -> Result<Option<String>>) -> bool {
        if !self.wanted(name) {
            self.results.push(StageResult {
                name,
                outcome: Outcome::Skipped,
                elapsed: Duration::ZERO,
                note: "not selected by --only".to_string(),
            });
            return true;
        }
        println!("\n==> [{name}]");
        let started = Instant::now();
        let (outcome, note) = if signals::interrupted() {
            (Outcome::Failed, "interrupted".to_string())
        } else {
            match body() {
                Ok(None) => (Outcome::Passed, String::new()),
                Ok(Some(reason)) => (Outcome::Skipped, reason),
                Err(e) => {
                    eprintln!("{e}");
                    (Outcome::Failed, e.code.to_string())
                }
            }
        };
        self.results.push(StageResult {
            name,
            outcome,
            elapsed: started.elapsed(),
            note,
        });
        outcome != Outcome::Failed
    }

    /// Records a stage that cannot run because a part it needs is not there.
    fn blocked(&mut self, name: &'static str, missing: &str) {
        println!("\n==> [{name}] not run: {missing} did not come up");
        self.results.push(StageResult {
            name,
            outcome: Outcome::Failed,
            elapsed: Duration::ZERO,
            note: format!("needs {missing}"),
        });
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    fn print_summary(&self) {
        println!("\n{:<14} {:<8} {:>8}  note", "stage", "result", "time");
        for r in &self.results {
            let result = match r.outcome {
                Outcome::Passed => "passed",
                Outcome::Failed => "FAILED",
                Outcome::Skipped => "skipped",
            };
            println!(
                "{:<14} {:<8} {:>7.1}s  {}",
                r.name,
                result,
                r.elapsed.as_secs_f64(),
                r.note
            );
        }
        let skipped = self.count(Outcome::Skipped);
        let mut line = format!(
            "{} passed, {} failed",
            self.count(Outcome::Passed),
            self.count(Outcome::Failed)
        );
        if skipped > 0 {
            line.push_str(&format!(", {skipped} skipped"));
        }
        // The plain closing line CI reads: alone on its line, last.
        println!("\n{line}");
    }
}

/// Runs `cmd` in the foreground; Ok when it exits 0.
fn run_checked(cmd: &mut Command, code: &'static str) -> Result<Option<String>> {
    proc::run(cmd, code).map(|()| None)
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// supabase-js needs a global `WebSocket` (its realtime client): Node 22 has one, Node 20 only
/// behind `--experimental-websocket`.
fn node_websocket_flag() -> Vec<&'static str> {
    let major = proc::probe(Command::new("node").arg("--version")).and_then(|v| {
        v.trim()
            .trim_start_matches('v')
            .split('.')
            .next()?
            .parse::<u32>()
            .ok()
    });
    match major {
        Some(major) if major < 22 => vec!["--experimental-websocket"],
        _ => Vec::new(),
    }
}

fn node_test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(".test.mjs") || n.ends_with(".test.js"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `cargo xtask test`: Ok(true) when every stage passed. Failures are reported by the summary
/// (whose closing line must stay last), not as an error.
pub fn run(root: &Path, args: &[String]) -> Result<bool> {
    let only = match args {
        [] => None,
        [flag, stages] if flag == "--only" => {
            Some(stages.split(',').map(str::to_string).collect::<Vec<_>>())
        }
        _ => {
            return Err(crate::Error::new(
                "bad_arguments",
                "usage: cargo xtask test [--only STAGE[,STAGE...]]".to_string(),
            ))
        }
    };
    if let Some(unknown) = only
        .iter()
        .flatten()
        .find(|s| !STAGES.contains(&s.as_str()))
    {
        return Err(crate::Error::new(
            "unknown_stage",
            format!("no stage `{unknown}`; the stages are {}", STAGES.join(", ")),
        ));
    }
    signals::install();
    let started = Instant::now();
    let mut runner = Runner {
        results: Vec::new(),
        only,
    };
    if !runner.stage("setup", || setup::run(root).map(|()| None)) {
        runner.print_summary();
        return Ok(false);
    }
    let dir = root
        .join(".local")
        .join(format!("test-{}", std::process::id()));
    let stack = Stack::create(root, dir, Ports::free()?, true)?;
    let mut teardown = Teardown {
        stack: &stack,
        keep_logs: true,
    };
    let cargo = build::cargo();
    let superuser_url = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres",
        stack.ports.postgres
    );

    let database_up = runner.stage("database", || {
        stack.start_database()?;
        Ok(None)
    });

    runner.stage("unit", || {
        run_checked(
            Command::new(&cargo)
                .current_dir(root)
                .args(["test", "--workspace", "--exclude", "e2e"])
                .env("DATA_API_TEST_DB_URL", &superuser_url),
            "unit_tests_failed",
        )
    });

    if database_up {
        runner.stage("pgtap", || {
            let files = sql_files(&root.join("tests").join("database"));
            if files.is_empty() {
                return Ok(Some("no tests/database/*.sql".to_string()));
            }
            proc::output(
                migrate::psql(&superuser_url).args(["-c", "create extension if not exists pgtap"]),
                "pgtap_missing",
            )?;
            run_checked(
                Command::new("pg_prove")
                    .current_dir(root)
                    .args(["--psql-bin"])
                    .arg(proc::pg_bin("psql"))
                    .args(["-h", "127.0.0.1", "-p"])
                    .arg(stack.ports.postgres.to_string())
                    .args(["-U", "postgres", "-d", "postgres"])
                    .args(&files),
                "pgtap_failed",
            )
        });
    } else {
        runner.blocked("pgtap", "the database");
    }

    let services_up = database_up
        && runner.stage("services", || {
            let binary = build::data_api(root, false)?;
            build::worker(root)?;
            stack.start_data_api(&binary)?;
            stack.start_worker()?;
            stack.write_env_file(&stack.dir.join("stack.env"))?;
            Ok(None)
        });
    if !database_up {
        runner.blocked("services", "the database");
    }

    let postgrest_js = root.join("tests").join("postgrest-js");
    if services_up {
        runner.stage("e2e", || {
            run_checked(
                Command::new(&cargo)
                    .current_dir(root)
                    .args(["test", "--package", "e2e", "--no-fail-fast"])
                    .envs(stack.env()),
                "e2e_failed",
            )
        });
        runner.stage("console", || console_stage(root, &stack));
        if postgrest_js.is_dir() {
            runner.stage("postgrest-js", || {
                let files = node_test_files(&postgrest_js);
                if files.is_empty() {
                    return Ok(Some("no tests/postgrest-js/*.test.mjs".to_string()));
                }
                run_checked(
                    Command::new("node")
                        .current_dir(root)
                        .args(node_websocket_flag())
                        .arg("--test")
                        .args(&files)
                        .envs(stack.env()),
                    "postgrest_js_failed",
                )
            });
        }
    } else {
        runner.blocked("e2e", "the stack");
        runner.blocked("console", "the stack");
        if postgrest_js.is_dir() {
            runner.blocked("postgrest-js", "the stack");
        }
    }

    // Its own stack (it kills PostgreSQL and the data API); builds the Worker when `services`
    // did not (not selected: `stage` then returns true without running it).
    let worker_built = runner
        .results
        .iter()
        .any(|r| r.name == "services" && r.outcome == Outcome::Passed);
    runner.stage("faults", || faults::run(root, &stack.dir, !worker_built));
    // Last, so a first run's background `cargo install cargo-fuzz` has had the other stages' time.
    runner.stage("fuzz-smoke", || crate::fuzz::smoke(root));

    let failed = runner.count(Outcome::Failed);
    teardown.keep_logs = failed > 0;
    drop(teardown);
    println!(
        "\ncargo xtask test took {:.0}s",
        started.elapsed().as_secs_f64()
    );
    runner.print_summary();
    Ok(failed == 0)
}

/// The web console in headless Chromium (`tests/console/*.test.mjs`, puppeteer-core): a
/// superadmin account is made for it first; screenshots go to `<test dir>/artifacts/`.
fn console_stage(root: &Path, stack: &Stack) -> Result<Option<String>> {
    let files = node_test_files(&root.join("tests").join("console"));
    if files.is_empty() {
        return Ok(Some("no tests/console/*.test.mjs".to_string()));
    }
    let artifacts = stack.dir.join("artifacts");
    fs::create_dir_all(&artifacts).map_err(|e| {
        crate::Error::io(
            "console_tests_failed",
            format!("creating {}", artifacts.display()),
            e,
        )
    })?;
    let email = format!("console-admin-{}@test.example", std::process::id());
    let password = format!("pw-{}-{}", std::process::id(), stack.ports.postgres);
    crate::admin::create(&stack.db_url(), &email, &password)?;
    run_checked(
        Command::new("node")
            .current_dir(root)
            .arg("--test")
            .arg("--test-concurrency=1")
            .args(&files)
            .envs(stack.env())
            .env("CONSOLE_ADMIN_EMAIL", &email)
            .env("CONSOLE_ADMIN_PASSWORD", &password)
            .env("CONSOLE_ARTIFACTS", &artifacts)
            .env("CHROMIUM", "/usr/bin/chromium"),
        "console_tests_failed",
    )?;
    println!(
        "console: screenshots and metrics.json in {}",
        artifacts.display()
    );
    Ok(None)
}
