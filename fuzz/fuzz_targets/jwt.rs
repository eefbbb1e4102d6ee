#![no_main]
//! Fuzz target `jwt`: see `hybrid_store_fuzz::worker_checks::jwt`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hybrid_store_fuzz::worker_checks::jwt(data));
