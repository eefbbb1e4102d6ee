#![no_main]
//! Fuzz target `delimited`: see `hybrid_store_fuzz::ingest_checks::delimited`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::ingest_checks::delimited(data));
