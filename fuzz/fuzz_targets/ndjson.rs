#![no_main]
//! Fuzz target `ndjson`: see `hybrid_store_fuzz::ingest_checks::ndjson`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::ingest_checks::ndjson(data));
