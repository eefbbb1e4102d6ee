#![no_main]
//! Fuzz target `xlsx`: see `hybrid_store_fuzz::ingest_checks::xlsx`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::ingest_checks::xlsx(data));
