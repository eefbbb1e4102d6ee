//! `cargo xtask setup`: installs what is missing and does nothing (quickly) when all is there.
//! Every check looks at the installed thing itself (a file, a `--version`), never at a marker
//! of our own, so a hand-installed tool of the right version is accepted as is.
//!
//! Design decision: the one slow install, the wasm-bindgen CLI (a `cargo install`), starts in the
//! background first and is waited for only where the Worker build needs it, so apt, npm and the
//! other builds of a first run overlap it; it is compiled with a lighter profile (opt-level 1,
//! no LTO): it runs for seconds per build, so full optimisation would only cost compile time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{cargo, cargo_bin_dir};
use crate::steps::{step, Background};
use crate::{proc, Error, Result};

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
    // The `faults` test stage: uploads and reads (curl), the bounded load run (wrk).
    ("curl", "/usr/bin/curl"),
    ("wrk", "/usr/bin/wrk"),
];

/// Installs still running after [`start`] returned.
#[must_use = "finish() waits for the background installs and reports their failure"]
pub struct Pending {
    wasm_bindgen: Option<Background>,
}

impl Pending {
    /// Fails now if a background install has already failed (instead of after the next build).
    pub fn check(&mut self) -> Result<()> {
        let failed = self
            .wasm_bindgen
            .as_mut()
            .is_some_and(Background::exited_unsuccessfully);
        match self.wasm_bindgen.take() {
            Some(install) if failed => install.finish(),
            still_running => {
                self.wasm_bindgen = still_running;
                Ok(())
            }
        }
    }

    /// Waits for the background installs; after it, every tool is in place.
    pub fn finish(self) -> Result<()> {
        match self.wasm_bindgen {
            Some(install) => install.finish(),
            None => Ok(()),
        }
    }
}

/// Everything, waiting for the background install too.
pub fn run(root: &Path) -> Result<()> {
    start(root)?.finish()
}

/// What building and running the Worker needs, waiting for all of it: the wasm32 target, the
/// wasm-bindgen CLI matching Cargo.lock, and the npm packages (wrangler, wasm-opt, esbuild).
pub fn worker_tools(root: &Path) -> Result<()> {
    start_installs(root, false)?.finish()
}

/// Installs what is missing; the wasm-bindgen CLI may still be compiling when this returns.
pub fn start(root: &Path) -> Result<Pending> {
    start_installs(root, true)
}

fn start_installs(root: &Path, with_apt: bool) -> Result<Pending> {
    // The target first: a rustup download that the wasm-bindgen build must not race with.
    step("wasm32-unknown-unknown target", wasm32_target)?;
    let pending = Pending {
        wasm_bindgen: start_wasm_bindgen_install(root)?,
    };
    if with_apt {
        step(
            "apt packages (PostgreSQL 15, pgTAP, pg_prove, openssl)",
            apt_packages,
        )?;
        // Detached and never waited for: the `fuzz-smoke` stage skips until it is there.
        crate::fuzz::start_background_install(root)?;
    }
    step("npm packages (npm ci)", || npm_packages(root))?;
    Ok(pending)
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

/// The wasm-bindgen CLI at the version in Cargo.lock: `$CARGO_HOME/bin/wasm-bindgen`, else the
/// first `wasm-bindgen` on PATH; None when neither is that version.
fn find_wasm_bindgen(wanted: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    std::iter::once(cargo_bin_dir())
        .chain(on_path)
        .map(|dir| dir.join("wasm-bindgen"))
        .find(|bin| {
            proc::probe(Command::new(bin).arg("--version")).as_deref()
                == Some(&format!("wasm-bindgen {wanted}"))
        })
}

/// The wasm-bindgen CLI the Worker build runs; an error says how to install it.
pub fn wasm_bindgen_bin(root: &Path) -> Result<PathBuf> {
    let wanted = locked_wasm_bindgen_version(root)?;
    find_wasm_bindgen(&wanted).ok_or_else(|| {
        Error::new(
            "wasm_bindgen_missing",
            format!(
                "no wasm-bindgen {wanted} in {} or on PATH; `cargo xtask setup` installs it",
                cargo_bin_dir().display()
            ),
        )
    })
}

/// Starts `cargo install wasm-bindgen-cli` at the locked version unless it is there already.
fn start_wasm_bindgen_install(root: &Path) -> Result<Option<Background>> {
    let wanted = locked_wasm_bindgen_version(root)?;
    if find_wasm_bindgen(&wanted).is_some() {
        return Ok(None);
    }
    let mut cmd = Command::new(cargo());
    // Not --locked: the CLI's own lockfile names versions the index may no longer offer
    // (webpki-roots 1.0.11 for 0.2.130), and then the install fails outright.
    cmd.args(["install", "wasm-bindgen-cli", "--version"])
        .arg(format!("={wanted}"))
        // A lighter release profile: the CLI runs a few seconds per build, so full
        // optimisation and LTO (minutes of compiling) buy nothing here.
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    Background::start(
        &format!("wasm-bindgen CLI {wanted}: cargo install (opt-level 1, no LTO)"),
        &mut cmd,
        &root
            .join(".local")
            .join("setup")
            .join("wasm-bindgen-install.log"),
        "wasm_bindgen_install_failed",
    )
    .map(Some)
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
