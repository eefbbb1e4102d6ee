#![no_main]
//! Fuzz target `json_array`: see `hybrid_store_fuzz::ingest_checks::json_array`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::ingest_checks::json_array(data));
