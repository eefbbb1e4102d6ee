//! The web console's build: `console/` (TypeScript, CSS, `index.html`, `_headers`) bundled by
//! the esbuild in node_modules into `build/console/`, which wrangler serves as static assets
//! (`[assets]` in wrangler.toml). Prints the gzip size and fails above the budget.
//!
//! `tsc --noEmit` checks the types first (esbuild only strips them).
//!
//! Design decision: esbuild is run as a command with flags (no build script, no config file),
//! like every other tool xtask drives, and the gzip size is measured with `gzip -9` itself,
//! so the number printed is what a user could reproduce by hand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{proc, Error, Result};

/// The whole console, gzip-compressed, may not exceed this (issue 11).
pub const BUDGET_BYTES: u64 = 250 * 1024;

pub fn out_dir(root: &Path) -> PathBuf {
    root.join("build").join("console")
}

/// Builds the console; returns its total gzip size in bytes.
pub fn build(root: &Path) -> Result<u64> {
    let src = root.join("console");
    let out = out_dir(root);
    fs::create_dir_all(&out).map_err(|e| {
        Error::io(
            "console_build_failed",
            format!("creating {}", out.display()),
            e,
        )
    })?;
    let node_bin = root.join("node_modules").join(".bin");
    // esbuild strips types without checking them; tsc checks them (console/tsconfig.json).
    proc::run(
        Command::new(node_bin.join("tsc"))
            .args(["-p", "console/tsconfig.json"])
            .current_dir(root),
        "console_type_errors",
    )?;
    let esbuild = node_bin.join("esbuild");
    for (entry, outfile) in [("src/main.ts", "console.js"), ("style.css", "console.css")] {
        proc::run(
            Command::new(&esbuild)
                .current_dir(&src)
                .arg(entry)
                .args([
                    "--bundle",
                    "--minify",
                    "--format=esm",
                    "--target=es2022",
                    "--log-level=warning",
                    "--legal-comments=none",
                ])
                .arg(format!("--outfile={}", out.join(outfile).display())),
            "console_build_failed",
        )?;
    }
    for file in ["index.html", "_headers"] {
        fs::copy(src.join(file), out.join(file))
            .map_err(|e| Error::io("console_build_failed", format!("copying console/{file}"), e))?;
    }
    let mut total = 0;
    let mut parts = Vec::new();
    for file in ["index.html", "console.js", "console.css"] {
        let gz = gzip_size(&out.join(file))?;
        parts.push(format!("{file} {:.1} KB", gz as f64 / 1024.0));
        total += gz;
    }
    println!(
        "console: {:.1} KB gzip in total ({}; budget {} KB) → {}",
        total as f64 / 1024.0,
        parts.join(", "),
        BUDGET_BYTES / 1024,
        out.display()
    );
    if total > BUDGET_BYTES {
        return Err(Error::new(
            "console_too_big",
            format!("the console is {total} bytes gzip, over the {BUDGET_BYTES}-byte budget"),
        ));
    }
    Ok(total)
}

fn gzip_size(path: &Path) -> Result<u64> {
    let out = proc::output(
        Command::new("sh")
            .arg("-c")
            .arg("gzip -9 -c \"$0\" | wc -c")
            .arg(path),
        "gzip_failed",
    )?;
    out.trim()
        .parse()
        .map_err(|_| Error::new("gzip_failed", format!("gzip answered {out:?}")))
}
