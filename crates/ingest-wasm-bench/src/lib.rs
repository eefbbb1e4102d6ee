//! The benchmark workloads of `cargo xtask bench` over the `ingest` core, compiled twice: as a
//! `wasm32-unknown-unknown` module (run by `run.mjs` in Node) and natively (the `ingest-bench`
//! binary), so the native-vs-wasm ratio compares the same code on the same bytes.
//!
//! Design decision: the wasm module exports plain `extern "C"` functions over linear memory
//! (allocate, copy the file in, ingest, read back a row count) instead of using wasm-bindgen:
//! the JavaScript side is a dozen lines and no glue code or JS↔Rust value conversion sits inside
//! the timed region.

use ingest::{DelimitedStream, IngestError, IngestOptions};

/// The Worker feeds request-body chunks of about this size into `DelimitedStream`.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Limits large enough for every generated benchmark file (the defaults cap uploads at 100 MiB,
/// and an XLSX's unpacked parts and held cells at 64 MiB, which the 200,000-row workbook passes).
pub fn bench_options() -> IngestOptions {
    IngestOptions::new()
        .with_max_bytes(1 << 31)
        .with_max_rows(50_000_000)
        .with_max_unpacked_bytes(1 << 30)
}

/// Streams delimited text through `DelimitedStream` in [`CHUNK_BYTES`] chunks, as the Worker
/// does, handing each ready row to `on_row`; returns the row count.
pub fn stream_csv(bytes: &[u8], mut on_row: impl FnMut(&ingest::Row)) -> Result<u64, IngestError> {
    let mut stream = DelimitedStream::new(bench_options())?;
    let mut rows = 0u64;
    for chunk in bytes.chunks(CHUNK_BYTES) {
        for row in stream.feed(chunk)? {
            on_row(&row);
            rows += 1;
        }
    }
    let end = stream.finish()?;
    for row in &end.rows {
        on_row(row);
        rows += 1;
    }
    Ok(rows)
}

/// Reads a whole file with `ingest::ingest` (XLSX: every sheet); returns the rows of all tables.
pub fn ingest_whole(bytes: &[u8]) -> Result<u64, IngestError> {
    let got = ingest::ingest(bytes, &bench_options())?;
    Ok(got.tables.iter().map(|t| t.row_count).sum())
}

/// The wasm interface used by `run.mjs`. Row counts come back as `f64` (exact below 2^53) so
/// JavaScript gets a plain number, not a BigInt; a negative result means failure and the
/// message is at `bench_error_ptr()`/`bench_error_len()`.
pub mod exports {
    use std::sync::Mutex;

    static LAST_ERROR: Mutex<String> = Mutex::new(String::new());

    fn answer(result: Result<u64, ingest::IngestError>) -> f64 {
        match result {
            Ok(rows) => rows as f64,
            Err(e) => {
                if let Ok(mut last) = LAST_ERROR.lock() {
                    *last = e.to_string();
                }
                -1.0
            }
        }
    }

    /// Allocates `len` bytes for the caller to fill; free with [`bench_free`].
    #[no_mangle]
    pub extern "C" fn bench_alloc(len: usize) -> *mut u8 {
        let mut buf = Vec::<u8>::with_capacity(len);
        let ptr = buf.as_mut_ptr();
        std::mem::forget(buf);
        ptr
    }

    /// # Safety
    /// `ptr` and `len` must come from one [`bench_alloc`] call, freed once.
    #[no_mangle]
    pub unsafe extern "C" fn bench_free(ptr: *mut u8, len: usize) {
        drop(Vec::from_raw_parts(ptr, 0, len));
    }

    /// Streams the CSV at `ptr..ptr+len` as the Worker does; returns the row count.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be initialised memory from [`bench_alloc`].
    #[no_mangle]
    pub unsafe extern "C" fn bench_csv_stream(ptr: *const u8, len: usize) -> f64 {
        let bytes = std::slice::from_raw_parts(ptr, len);
        answer(super::stream_csv(bytes, |_| {}))
    }

    /// Reads the whole file at `ptr..ptr+len` (XLSX: every sheet); returns the row count.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be initialised memory from [`bench_alloc`].
    #[no_mangle]
    pub unsafe extern "C" fn bench_ingest_whole(ptr: *const u8, len: usize) -> f64 {
        let bytes = std::slice::from_raw_parts(ptr, len);
        answer(super::ingest_whole(bytes))
    }

    /// The last error message (UTF-8), valid until the next failing call.
    #[no_mangle]
    pub extern "C" fn bench_error_ptr() -> *const u8 {
        LAST_ERROR.lock().map_or(std::ptr::null(), |s| s.as_ptr())
    }

    #[no_mangle]
    pub extern "C" fn bench_error_len() -> usize {
        LAST_ERROR.lock().map_or(0, |s| s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest_testdata::{messy_csv, messy_xlsx};

    #[test]
    fn streaming_and_whole_buffer_reads_count_the_same_rows() {
        // The sample is 1000 rows: 3000 rows exercise the streamed path after the types are fixed.
        let csv = messy_csv(3000, 7);
        assert_eq!(stream_csv(&csv, |_| {}).unwrap(), 3000);
        assert_eq!(ingest_whole(&csv).unwrap(), 3000);
    }

    #[test]
    fn xlsx_rows_of_every_sheet_are_counted() {
        // messy_xlsx: `Orders` with the requested rows plus 8 `Customers`.
        assert_eq!(ingest_whole(&messy_xlsx(500, 7)).unwrap(), 508);
    }
}
