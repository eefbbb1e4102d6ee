#![no_main]
//! Fuzz target `cursor`: see `hybrid_store_fuzz::worker_checks::cursor`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::worker_checks::cursor(data));
