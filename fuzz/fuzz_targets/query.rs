#![no_main]
//! Fuzz target `query`: see `hybrid_store_fuzz::worker_checks::query`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::worker_checks::query(data));
