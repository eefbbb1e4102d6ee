//! `cargo xtask setup`: installs what is missing and does nothing (quickly) when all is there.
//! Every check looks at the installed thing itself (a file, a `--version`), never at a marker
//! of our own, so a hand-installed tool of the right version is accepted as is.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::build::{cargo, cargo_bin_dir};
use crate::{proc, Error, Result};

/// The worker-build release the Worker is built with (matches `worker = "=0.8.7"`).
const WORKER_BUILD_VERSION: &str = "0.8.7";

/// apt packages, each with the file whose presence proves it is installed.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("postgresql-15", "/usr/lib/postgresql/15/bin/postgres"),
    (
        "postgresql-15-pgtap",
        "/usr/share/postgresql/15/extension/pgtap.control",
    ),
    (
        "libtap-parser-sourcehandler-pgtap-perl",
        "/usr/bin/pg_prove",
    ),
    // Generates each stack's ES256/RS256 signing keys.
    ("openssl", "/usr/bin/openssl"),
    // Headless browser of the `console` test stage (puppeteer-core drives it; npm's own browser
    // downloads do not work offline).
    ("chromium", "/usr/bin/chromium"),
];

pub fn run(root: &Path) -> Result<()> {
    apt_packages()?;
    worker_tools(root)
}

/// What building and running the Worker needs: the wasm32 target, worker-build, the
/// wasm-bindgen CLI matching Cargo.lock, and the npm packages (wrangler, wasm-opt, esbuild).
pub fn worker_tools(root: &Path) -> Result<()> {
    wasm32_target()?;
    worker_build()?;
    wasm_bindgen_cli(root)?;
    npm_packages(root)
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(_, proof)| !Path::new(proof).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    let prefix = if proc::is_root() {
        ""
    } else if sudo_works() {
        "sudo "
    } else {
        return Err(Error::new(
            "needs_root",
            format!(
                "missing apt packages: {}. Run as root, then re-run this command:\n  \
                 sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive {install}",
                missing.join(", ")
            ),
        ));
    };
    println!("setup: installing {}", missing.join(", "));
    let shell =
        format!("{prefix}apt-get update && {prefix}env DEBIAN_FRONTEND=noninteractive {install}");
    proc::run(
        Command::new("sh").args(["-c", &shell]),
        "apt_install_failed",
    )
}

fn sudo_works() -> bool {
    proc::probe(Command::new("sudo").args(["-n", "true"])).is_some()
}

fn wasm32_target() -> Result<()> {
    let installed = proc::probe(Command::new("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list) if list.lines().any(|t| t.trim() == "wasm32-unknown-unknown") => Ok(()),
        Some(_) => proc::run(
            Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
            "wasm32_target_failed",
        ),
        None => {
            // Without rustup (a distribution Rust), the target's std must come with the toolchain.
            let sysroot = proc::output(
                Command::new("rustc").args(["--print", "sysroot"]),
                "rustc_missing",
            )?;
            let std_dir = Path::new(sysroot.trim()).join("lib/rustlib/wasm32-unknown-unknown");
            if std_dir.exists() {
                Ok(())
            } else {
                Err(Error::new(
                    "wasm32_target_missing",
                    "the wasm32-unknown-unknown target is not installed and rustup is not \
                     available; install rustup, then run: rustup target add wasm32-unknown-unknown",
                ))
            }
        }
    }
}

fn worker_build() -> Result<()> {
    let bin = cargo_bin_dir().join("worker-build");
    let version = proc::probe(Command::new(&bin).arg("--version"));
    if version.as_deref().map(str::trim) == Some(WORKER_BUILD_VERSION) {
        return Ok(());
    }
    proc::run(
        Command::new(cargo()).args([
            "install",
            "worker-build",
            "--locked",
            "--version",
            WORKER_BUILD_VERSION,
        ]),
        "worker_build_install_failed",
    )
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match the library exactly.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path).map_err(|e| {
        Error::io(
            "cargo_lock_unreadable",
            format!("reading {}", lock_path.display()),
            e,
        )
    })?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(version.to_string());
            }
        }
    }
    Err(Error::new(
        "wasm_bindgen_not_locked",
        format!(
            "{} has no wasm-bindgen package; run `cargo generate-lockfile` (the Worker depends on it through `worker`)",
            lock_path.display()
        ),
    ))
}

fn wasm_bindgen_cli(root: &Path) -> Result<()> {
    let wanted = locked_wasm_bindgen_version(root)?;
    let bin = cargo_bin_dir().join("wasm-bindgen");
    let installed = proc::probe(Command::new(&bin).arg("--version"));
    if installed.as_deref() == Some(&format!("wasm-bindgen {wanted}")) {
        return Ok(());
    }
    proc::run(
        Command::new(cargo()).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={wanted}"),
        ]),
        "wasm_bindgen_install_failed",
    )
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
fn npm_packages(root: &Path) -> Result<()> {
    let lock = root.join("package-lock.json");
    // npm writes this file on every install: its age is the age of node_modules' contents.
    let installed = root.join("node_modules").join(".package-lock.json");
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh && root.join("node_modules/.bin/wrangler").exists() {
        return Ok(());
    }
    if proc::probe(Command::new("npm").arg("--version")).is_none() {
        return Err(Error::new(
            "npm_missing",
            "node and npm (Node.js 20 or newer) are needed for wrangler; install Node.js, then re-run",
        ));
    }
    proc::run(
        Command::new("npm")
            .current_dir(root)
            .args(["ci", "--no-audit", "--no-fund"]),
        "npm_ci_failed",
    )
}
