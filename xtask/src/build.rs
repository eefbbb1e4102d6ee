//! Builds: the Worker for workerd (`build/worker/`) and the native data API.
//!
//! The Worker is built in the four steps worker-build 0.8 takes, run here directly so the first
//! run does not compile worker-build (9 minutes on two cores) for what is a thin wrapper:
//! `cargo build --target wasm32-unknown-unknown`, `wasm-bindgen --target module` (the CLI at the
//! version in Cargo.lock), `wasm-opt -O` (npm's binaryen), and esbuild bundling our entry module
//! (`worker_entry.js`) with wasm-bindgen's JS into `build/worker/index.js`. Then the size check:
//! the optimised `.wasm`, gzipped as Cloudflare measures it, must stay under
//! [`WASM_GZIP_BUDGET`].
//!
//! Design decision: the entry module is a file of ours, not generated: the Worker exports
//! `fetch` and `scheduled` only, so a fixed module says plainly what workerd calls.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::steps::step;
use crate::{proc, setup, Error, Result};

/// The Worker's gzipped `.wasm` may not grow past this many bytes (`cargo xtask build-worker`
/// fails above it). Cloudflare's limit is 3 MB gzipped on the free plan; this leaves room and
/// catches a dependency that doubles the module.
pub const WASM_GZIP_BUDGET: u64 = 1_200_000;

/// The wasm features wasm-opt may use: rustc's wasm32-unknown-unknown defaults plus exception
/// handling (wasm-bindgen's catch wrappers). Named one by one, as worker-build does, because
/// `--all-features` lets binaryen 132 write a compact import section that workerd refuses
/// ("unknown import kind 0x7f").
const WASM_FEATURES: &[&str] = &[
    "mutable-globals",
    "sign-ext",
    "nontrapping-float-to-int",
    "bulk-memory",
    "multivalue",
    "reference-types",
    "exception-handling",
];

/// The entry module esbuild starts from (see its header).
const ENTRY_MODULE: &str = include_str!("worker_entry.js");

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

/// An npm package's executable in `node_modules/.bin` (installed by `npm ci` from package-lock.json).
pub fn npm_bin(root: &Path, name: &str) -> PathBuf {
    root.join("node_modules").join(".bin").join(name)
}

/// The whole Worker build: the web console it serves as assets (`build/console/`), then
/// [`worker_wasm`] and [`worker_bundle`].
pub fn worker(root: &Path) -> Result<()> {
    crate::console::build(root)?;
    worker_wasm(root)?;
    worker_bundle(root)
}

/// Step 1: the Worker crate compiled to `target/wasm32-unknown-unknown/release/hybrid_store.wasm`.
pub fn worker_wasm(root: &Path) -> Result<()> {
    step(
        "Worker: cargo build --release --target wasm32-unknown-unknown",
        || {
            let mut cmd = Command::new(cargo());
            cmd.current_dir(root)
                .args(["build", "--release", "--lib", "--package", "hybrid-store"])
                .args(["--target", "wasm32-unknown-unknown"])
                // As worker-build sets it: wasm-bindgen's macros then use js-sys's futures, the
                // glue `--target module` expects.
                .env("WASM_BINDGEN_USE_JS_SYS", "1");
            proc::run(&mut cmd, "worker_build_failed")
        },
    )
}

/// Steps 2–4 and the size check: bindings, optimisation and the bundle in `build/worker/`.
pub fn worker_bundle(root: &Path) -> Result<()> {
    let wasm = target_dir(root)
        .join("wasm32-unknown-unknown")
        .join("release")
        .join("hybrid_store.wasm");
    let bindgen_dir = root.join("build").join("bindgen");
    let out_dir = root.join("build").join("worker");
    for dir in [&bindgen_dir, &out_dir] {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| {
                Error::io(
                    "worker_build_failed",
                    format!("removing {}", dir.display()),
                    e,
                )
            })?;
        }
        proc::mkdir(dir)?;
    }

    let wasm_bindgen = setup::wasm_bindgen_bin(root)?;
    step("Worker: wasm-bindgen --target module", || {
        let mut cmd = Command::new(&wasm_bindgen);
        cmd.arg(&wasm)
            .arg("--out-dir")
            .arg(&bindgen_dir)
            .args([
                "--out-name",
                "index",
                "--target",
                "module",
                "--no-typescript",
            ])
            // What the entry module's recovery needs: a reset function, and the abort handler
            // that marks the instance for reset when Rust aborts.
            .args([
                "--experimental-reset-state-function",
                "--force-enable-abort-handler",
            ]);
        proc::run(&mut cmd, "wasm_bindgen_failed")
    })?;
    // wrangler bundles `import x from "./m.wasm"` as a compiled WebAssembly.Module but does not
    // know the source-phase form `--target module` writes; the two mean the same module here.
    let glue = bindgen_dir.join("index.js");
    let text = read(&glue)?;
    write(&glue, &text.replace("import source ", "import "))?;

    let optimised = out_dir.join("index_bg.wasm");
    step("Worker: wasm-opt -O", || {
        let mut cmd = Command::new(npm_bin(root, "wasm-opt"));
        cmd.arg(bindgen_dir.join("index_bg.wasm"))
            .arg("-o")
            .arg(&optimised)
            .arg("-O")
            .args(WASM_FEATURES.iter().map(|f| format!("--enable-{f}")))
            // Keeps the names section, so a panic's stack trace in workerd names Rust functions.
            .arg("--debuginfo");
        proc::run(&mut cmd, "wasm_opt_failed")
    })?;

    step("Worker: esbuild bundle -> build/worker/index.js", || {
        write(&bindgen_dir.join("entry.js"), ENTRY_MODULE)?;
        let mut cmd = Command::new(npm_bin(root, "esbuild"));
        cmd.current_dir(&bindgen_dir)
            .args(["entry.js", "--bundle", "--format=esm", "--minify"])
            .args(["--external:./index_bg.wasm", "--external:cloudflare:*"])
            .arg(format!("--outfile={}", out_dir.join("index.js").display()));
        proc::run(&mut cmd, "esbuild_failed")
    })?;
    check_wasm_size(&optimised)
}

/// Prints the raw and gzip size of the Worker's `.wasm`; fails above [`WASM_GZIP_BUDGET`].
fn check_wasm_size(wasm: &Path) -> Result<()> {
    let raw = fs::metadata(wasm)
        .map_err(|e| Error::io("wasm_size_failed", format!("reading {}", wasm.display()), e))?
        .len();
    // gzip -9 is what `wrangler deploy` reports as the upload size.
    let gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(wasm)
        .output()
        .map_err(|e| Error::new("wasm_size_failed", format!("could not run gzip: {e}")))?;
    if !gzip.status.success() {
        return Err(Error::new(
            "wasm_size_failed",
            format!("gzip -9 -c {} failed ({})", wasm.display(), gzip.status),
        ));
    }
    let gzipped = gzip.stdout.len() as u64;
    println!(
        "Worker wasm {}: {} B raw, {} B gzip (budget {} B gzip)",
        wasm.display(),
        thousands(raw),
        thousands(gzipped),
        thousands(WASM_GZIP_BUDGET)
    );
    if gzipped > WASM_GZIP_BUDGET {
        return Err(Error::new(
            "wasm_over_budget",
            format!(
                "the Worker's wasm is {} B gzipped, over the budget of {} B \
                 (xtask/src/build.rs WASM_GZIP_BUDGET): find what grew (`twiggy top` on {}) \
                 before raising it",
                thousands(gzipped),
                thousands(WASM_GZIP_BUDGET),
                wasm.display()
            ),
        ));
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        Error::io(
            "worker_build_failed",
            format!("reading {}", path.display()),
            e,
        )
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| {
        Error::io(
            "worker_build_failed",
            format!("writing {}", path.display()),
            e,
        )
    })
}

/// Builds `hybrid-data-api` and returns the path of the binary.
pub fn data_api(root: &Path, release: bool) -> Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    step(&format!("data API: cargo build ({profile})"), || {
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root)
            .args(["build", "--package", "data-api", "--bin", "hybrid-data-api"]);
        if release {
            cmd.arg("--release");
        }
        proc::run(&mut cmd, "data_api_build_failed")
    })?;
    Ok(target_dir(root).join(profile).join("hybrid-data-api"))
}

/// The cargo that runs us (so a rustup override or toolchain file is honoured).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_200_000), "1,200,000");
    }
}
