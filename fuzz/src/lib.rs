//! The invariants behind the cargo-fuzz targets of `fuzz_targets/`: each check takes arbitrary
//! bytes, runs one parser a stranger's bytes reach, and panics when an invariant breaks
//! (streamed ≠ whole, parse → render → parse ≠ identity, an accepted input that is malformed),
//! not only on a crash.
//!
//! Design decision: the checks are plain modules with no libFuzzer in them, so the stable test
//! suites include the very same files (`#[path]`: `crates/ingest/tests/fuzz_replay.rs`, the
//! Worker's `src/lib.rs`) and replay `fuzz/regressions/<target>/*` and `fuzz/seeds/<target>/*`
//! on every `cargo test`, with no nightly toolchain.

pub mod ingest_checks;
pub mod worker_checks;

/// `crate::fuzzing` as inside the Worker crate, for `worker_checks`.
mod fuzzing {
    pub use hybrid_store::fuzzing::*;
}
