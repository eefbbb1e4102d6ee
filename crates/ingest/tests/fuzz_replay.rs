//! Replays the committed inputs of the upload fuzz targets (`fuzz/regressions/`, `fuzz/seeds/`)
//! through the targets' own checks, so stable CI keeps every input a fuzz run found.

#[path = "../../../fuzz/src/ingest_checks.rs"]
mod ingest_checks;
