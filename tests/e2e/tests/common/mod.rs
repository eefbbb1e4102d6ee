//! Kept for test files written as `mod common; use common::…`: everything shared now lives in the
//! `e2e` library (tests/e2e/src/lib.rs); new files `use e2e::…` directly.
#![allow(unused_imports)]

pub use e2e::*;
