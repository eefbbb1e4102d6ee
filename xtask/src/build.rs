//! Builds: the Worker (worker-build → `build/worker/`) and the native data API.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{proc, Result};

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
pub fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cargo").join("bin")
}

/// The cargo target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The environment that makes worker-build use local tools instead of downloading its own
/// wasm-bindgen, wasm-opt and esbuild (which fails offline). worker-build reads
/// `<SHOUTY_NAME>_BIN` for each binary it needs.
pub fn worker_build_env(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let node_bin = root.join("node_modules").join(".bin");
    vec![
        ("WASM_BINDGEN_BIN", cargo_bin_dir().join("wasm-bindgen")),
        ("WASM_OPT_BIN", node_bin.join("wasm-opt")),
        ("ESBUILD_BIN", node_bin.join("esbuild")),
    ]
}

/// `worker-build --release` in the repository root: the Worker for workerd in `build/worker/`,
/// and the web console it serves as assets in `build/console/`.
pub fn worker(root: &Path) -> Result<()> {
    crate::console::build(root)?;
    let mut cmd = Command::new(cargo_bin_dir().join("worker-build"));
    cmd.current_dir(root).arg("--release");
    for (name, value) in worker_build_env(root) {
        cmd.env(name, value);
    }
    proc::run(&mut cmd, "worker_build_failed")
}

/// Builds `hybrid-data-api` and returns the path of the binary.
pub fn data_api(root: &Path, release: bool) -> Result<PathBuf> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args(["build", "--package", "data-api", "--bin", "hybrid-data-api"]);
    if release {
        cmd.arg("--release");
    }
    proc::run(&mut cmd, "data_api_build_failed")?;
    let profile = if release { "release" } else { "debug" };
    Ok(target_dir(root).join(profile).join("hybrid-data-api"))
}

/// The cargo that runs us (so a rustup override or toolchain file is honoured).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}
