#![no_main]
//! Fuzz target `multipart`: see `hybrid_store_fuzz::worker_checks::multipart`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::worker_checks::multipart(data));
