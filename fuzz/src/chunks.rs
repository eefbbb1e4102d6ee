//! Chunk boundaries for the streaming checks, and the replay of committed inputs.
//!
//! Design decision: the chunking comes from the input's first byte, so libFuzzer explores
//! boundaries (1-byte chunks, inside a UTF-8 sequence, a delimiter, a quote) as it explores
//! content, and a regression file replays with exactly the boundaries that broke.

use std::path::PathBuf;

/// `data` cut into pieces whose sizes cycle through `n`, 1 and `2n + 3` (`n` from `selector`).
pub fn pieces(data: &[u8], selector: u8) -> Vec<&[u8]> {
    let n = 1 + usize::from(selector % 32);
    let sizes = [n, 1, 2 * n + 3];
    let (mut out, mut at, mut i) = (Vec::new(), 0, 0);
    while at < data.len() {
        let end = (at + sizes[i % 3]).min(data.len());
        out.push(&data[at..end]);
        (at, i) = (end, i + 1);
    }
    out
}

/// Every file of `fuzz/regressions/<target>/` and `fuzz/seeds/<target>/`, for the stable tests
/// that replay them (`fuzz/` is found above the crate that runs the test).
#[allow(dead_code)] // Used by the stable replay tests only.
pub fn committed_inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("fuzz").join("regressions").is_dir() {
        assert!(
            dir.pop(),
            "no fuzz/regressions above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    let mut files = Vec::new();
    for kind in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(dir.join("fuzz").join(kind).join(target)) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("readable");
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// A target's name and its check.
#[allow(dead_code)] // Used by the stable replay tests only.
pub type Target<'a> = (&'a str, fn(&[u8]));

/// Runs each target's check on its committed inputs, naming each file first (so a failure
/// names the input).
#[allow(dead_code)] // Used by the stable replay tests only.
pub fn replay(targets: &[Target]) {
    for (target, check) in targets {
        for (path, bytes) in committed_inputs(target) {
            println!("{}", path.display());
            check(&bytes);
        }
    }
}
