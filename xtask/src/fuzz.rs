//! `cargo xtask fuzz [--seconds N] [--target T[,T…]]` and the `fuzz-smoke` stage of `cargo
//! xtask test`: the cargo-fuzz targets of `fuzz/` (nightly), each run for a fixed time from its
//! committed seeds plus the corpus of earlier runs, with a table of runs, corpus size and crashes.
//!
//! Design decision: the targets are built once (`cargo fuzz build`, no sanitizer: the code under
//! test is safe Rust, so ASan would only slow it down; overflow checks and debug assertions on)
//! and the libFuzzer binaries are then run directly, so per-target runs spend their seconds
//! fuzzing, not re-checking the build, and their final statistics can be read from stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::build::cargo_bin_dir;
use crate::{proc, Error, Result};

/// Every target of `fuzz/Cargo.toml`, in the order they run.
pub const TARGETS: &[&str] = &[
    "delimited",
    "ndjson",
    "json_array",
    "xlsx",
    "multipart",
    "jwt",
    "query",
    "cursor",
];

/// Seconds per target of `cargo xtask fuzz` unless `--seconds`.
const DEFAULT_SECONDS: u64 = 60;
/// Seconds per target of the smoke stage: 8 targets in about 1½ minutes, plus the build.
pub const SMOKE_SECONDS: u64 = 10;

/// One target's run.
struct RunStats {
    target: &'static str,
    runs: u64,
    seconds: f64,
    corpus: usize,
    /// Files libFuzzer wrote to `fuzz/artifacts/<target>/` (crash, timeout, oom inputs).
    crashes: Vec<PathBuf>,
}

/// The nightly toolchain through rustup (`rustup run nightly …`), or why it cannot be used.
fn nightly() -> std::result::Result<(), String> {
    match proc::probe(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        Some(_) => Ok(()),
        None => Err("no nightly toolchain (rustup toolchain install nightly)".to_string()),
    }
}

fn cargo_fuzz_installed() -> bool {
    proc::probe(Command::new("rustup").args(["run", "nightly", "cargo", "fuzz", "--version"]))
        .is_some()
}

/// Log of the background `cargo install cargo-fuzz` that `cargo xtask setup` starts.
pub fn install_log(root: &Path) -> PathBuf {
    root.join(".local")
        .join("setup")
        .join("cargo-fuzz-install.log")
}

fn install_command() -> Command {
    let mut cmd = Command::new(crate::build::cargo());
    cmd.args(["install", "cargo-fuzz", "--locked"]);
    cmd
}

/// Starts `cargo install cargo-fuzz` detached, unless there is no nightly (nothing to fuzz
/// with), cargo-fuzz is there, or an earlier install is still running. It is never waited for:
/// the smoke stage skips until it has finished.
pub fn start_background_install(root: &Path) -> Result<()> {
    if nightly().is_err() || cargo_fuzz_installed() {
        return Ok(());
    }
    let pid_file = install_log(root).with_extension("pid");
    if proc::read_pid(&pid_file).is_some_and(proc::ours) {
        return Ok(());
    }
    proc::mkdir(pid_file.parent().expect("under .local/setup"))?;
    let _ = fs::remove_file(install_log(root));
    println!("setup: installing cargo-fuzz in the background (for `cargo xtask fuzz`)");
    proc::spawn_service(&mut install_command(), &install_log(root), &pid_file).map(|_| ())
}

fn fuzz_dir(root: &Path) -> PathBuf {
    root.join("fuzz")
}

/// The build both commands share (same flags, so one build serves both).
fn build(root: &Path) -> Result<()> {
    let started = Instant::now();
    proc::run(
        Command::new("rustup")
            .current_dir(fuzz_dir(root))
            .args(["run", "nightly", "cargo", "fuzz", "build"])
            .args(["-O", "--debug-assertions", "--sanitizer", "none"])
            // 16 units: a build in half the time, for runs a few percent slower.
            .args(["--codegen-units", "16"])
            .arg("--target-dir")
            .arg(fuzz_dir(root).join("target")),
        "fuzz_build_failed",
    )?;
    println!("fuzz: targets built in {}", crate::steps::duration(started));
    Ok(())
}

fn host_triple() -> Result<String> {
    let v = proc::output(Command::new("rustc").arg("-vV"), "rustc_missing")?;
    v.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| Error::new("rustc_missing", "`rustc -vV` names no host"))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// `stat::name: value` from libFuzzer's `-print_final_stats=1`.
fn final_stat(stderr: &str, name: &str) -> Option<u64> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs one built target for `seconds` from its seeds and corpus.
fn run_target(
    root: &Path,
    bin_dir: &Path,
    target: &'static str,
    seconds: u64,
    smoke: bool,
) -> Result<RunStats> {
    let dir = fuzz_dir(root);
    // libFuzzer first replays the whole corpus, outside `-max_total_time`: the smoke run starts
    // from the seeds alone so its time does not grow with what earlier long runs kept.
    let corpus = if smoke {
        let fresh = root.join(".local").join("fuzz-smoke").join(target);
        let _ = fs::remove_dir_all(&fresh);
        fresh
    } else {
        dir.join("corpus").join(target)
    };
    let artifacts = dir.join("artifacts").join(target);
    proc::mkdir(&corpus)?;
    proc::mkdir(&artifacts)?;
    let before = files_in(&artifacts);
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.current_dir(&dir)
        .arg(&corpus)
        .arg(dir.join("seeds").join(target))
        .arg(format!("-max_total_time={seconds}"))
        // A slow input is a finding too (quadratic parsing): 10 s for one input is a hang.
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-max_len=65536")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let dict = dir.join("dicts").join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    println!("\n$ {}", proc::describe(&cmd));
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new("fuzz_run_failed", format!("could not start {target}: {e}")))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let crashes: Vec<PathBuf> = files_in(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    if !out.status.success() || !crashes.is_empty() {
        // The panic message (the broken invariant), then libFuzzer's report of the input.
        let lines: Vec<&str> = stderr.lines().collect();
        let panic = lines.iter().position(|l| l.contains("panicked at"));
        if let Some(at) = panic {
            eprintln!("{}", lines[at..(at + 6).min(lines.len())].join("\n"));
        }
        eprintln!("{}", lines[lines.len().saturating_sub(14)..].join("\n"));
    }
    if !out.status.success() && crashes.is_empty() {
        return Err(Error::new(
            "fuzz_run_failed",
            format!("{target} exited with {} and left no artifact", out.status),
        ));
    }
    Ok(RunStats {
        target,
        runs: final_stat(&stderr, "number_of_executed_units").unwrap_or(0),
        seconds,
        corpus: files_in(&corpus).len(),
        crashes,
    })
}

/// Builds and runs `targets` for `seconds` each; Err when a target found a crash.
fn fuzz(root: &Path, targets: &[&'static str], seconds: u64, smoke: bool) -> Result<()> {
    build(root)?;
    let bin_dir = fuzz_dir(root)
        .join("target")
        .join(host_triple()?)
        .join("release");
    let mut stats = Vec::new();
    for &t in targets {
        stats.push(run_target(root, &bin_dir, t, seconds, smoke)?);
    }
    println!(
        "\n{:<12} {:>12} {:>8} {:>8} {:>8}",
        "target", "runs", "seconds", "corpus", "crashes"
    );
    for s in &stats {
        println!(
            "{:<12} {:>12} {:>8.1} {:>8} {:>8}",
            s.target,
            s.runs,
            s.seconds,
            s.corpus,
            s.crashes.len()
        );
    }
    let crashed: Vec<String> = stats
        .iter()
        .flat_map(|s| {
            s.crashes
                .iter()
                .map(|c| format!("{}: {}", s.target, c.display()))
        })
        .collect();
    if crashed.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        "fuzz_crash",
        format!(
            "inputs that break a check (fix the bug, then copy the input to fuzz/regressions/<target>/):\n  {}\n\
             reproduce one with: cd fuzz && cargo +nightly fuzz run -O -a -s none <target> <file>",
            crashed.join("\n  ")
        ),
    ))
}

/// `cargo xtask fuzz [--seconds N] [--target T[,T…]]`; installs cargo-fuzz first when missing.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let usage = || {
        Error::new(
            "bad_arguments",
            format!(
                "usage: cargo xtask fuzz [--seconds N] [--target T[,T...]] (targets: {})",
                TARGETS.join(", ")
            ),
        )
    };
    let mut seconds = DEFAULT_SECONDS;
    let mut targets: Vec<&'static str> = TARGETS.to_vec();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(usage)?;
        match flag.as_str() {
            "--seconds" => seconds = value.parse().map_err(|_| usage())?,
            "--target" => {
                targets = value
                    .split(',')
                    .map(|t| TARGETS.iter().copied().find(|k| *k == t).ok_or_else(usage))
                    .collect::<Result<_>>()?
            }
            _ => return Err(usage()),
        }
    }
    nightly().map_err(|why| Error::new("nightly_missing", why))?;
    if !cargo_fuzz_installed() {
        crate::steps::step("cargo-fuzz (cargo install cargo-fuzz --locked)", || {
            proc::run(&mut install_command(), "cargo_fuzz_install_failed")
        })?;
    }
    fuzz(root, &targets, seconds, false)
}

/// The `fuzz-smoke` stage: Ok(Some(reason)) when it cannot run here (no nightly, cargo-fuzz
/// not installed yet), an error when a target found a crash.
pub fn smoke(root: &Path) -> Result<Option<String>> {
    if let Err(why) = nightly() {
        return Ok(Some(why));
    }
    if !cargo_fuzz_installed() {
        let log = install_log(root);
        let running = proc::read_pid(&log.with_extension("pid")).is_some_and(proc::ours);
        return Ok(Some(match (running, log.is_file()) {
            (true, _) => format!(
                "cargo-fuzz not installed yet (installing: {})",
                log.display()
            ),
            (false, true) => format!(
                "cargo-fuzz not installed: its background install ended without it ({})",
                log.display()
            ),
            (false, false) => format!(
                "cargo-fuzz not installed yet (`cargo xtask setup` installs it into {})",
                cargo_bin_dir().display()
            ),
        }));
    }
    fuzz(root, TARGETS, SMOKE_SECONDS, true).map(|()| None)
}
