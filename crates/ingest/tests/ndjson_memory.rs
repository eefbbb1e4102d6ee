//! `NdjsonStream` holds the same heap however long the file: its own test binary, because the
//! heap is counted by a global allocator that other tests running in parallel would disturb
//! (and the tests in it take turns, for the same reason).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ingest::{IngestOptions, NdjsonStream};

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counters are global, so the tests of this binary take turns: run side by side, each
/// would measure the other's heap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Streams `total` bytes of NDJSON in 64 KiB chunks, dropping the rows as a caller that stores
/// them would; returns the rows and the peak heap above what was live before.
fn peak_heap(total: usize) -> (usize, usize) {
    let row = "{\"id\": 123456, \"name\": \"a fairly ordinary name\", \"when\": \"2024-05-06\", \"ok\": true, \"n\": 0}\n";
    let chunk: String = row.repeat(64 * 1024 / row.len());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut stream = NdjsonStream::new(IngestOptions::new()).unwrap();
    let (mut fed, mut stored) = (0, 0);
    while fed < total {
        stored += stream.feed(chunk.as_bytes()).unwrap().len();
        fed += chunk.len();
    }
    stored += stream.finish().unwrap().rows.len();
    assert_eq!(stored, fed / row.len());
    (stored, PEAK.load(Ordering::Relaxed) - base)
}

#[test]
fn memory_stays_bounded_however_long_the_file() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (_, small) = peak_heap(4 * 1024 * 1024);
    let (rows, large) = peak_heap(20 * 1024 * 1024);
    eprintln!(
        "ndjson stream peak heap: {} KiB for 4 MiB, {} KiB for 20 MiB ({rows} rows)",
        small / 1024,
        large / 1024
    );
    // The hold, the type sample and one chunk's rows: nothing that grows with the file.
    assert!(
        large <= small + 1024 * 1024,
        "4 MiB: {small} bytes, 20 MiB: {large} bytes"
    );
    assert!(large < 24 * 1024 * 1024, "peak heap {large} bytes");
}

/// A JSON array of tiny records (the hostile "20 MB of `{"a":0}`"), streamed to the row limit:
/// the heap does not grow with the records read (it did not hold them, nor anything per row).
#[test]
fn a_json_array_of_tiny_records_holds_flat_memory_up_to_the_row_limit() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let peak = |records: usize| -> (usize, Option<String>) {
        let chunk: String = "{\"a\":0},".repeat(8 * 1024);
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let opts = IngestOptions::new().with_max_rows(records as u64);
        let mut stream = NdjsonStream::json_array(opts).unwrap();
        stream.feed(b"[").unwrap();
        let mut refused = None;
        'feeding: for _ in 0..records / (8 * 1024) + 2 {
            let mut ready = stream.feed(chunk.as_bytes());
            // As the Worker does: the rows of each step are stored before the next is read.
            loop {
                match ready {
                    Err(e) => {
                        refused = Some(e.code().to_owned());
                        break 'feeding;
                    }
                    Ok(rows) if rows.is_empty() => break,
                    Ok(_) => ready = stream.pending(),
                }
            }
        }
        (PEAK.load(Ordering::Relaxed) - base, refused)
    };
    let (small, e1) = peak(300_000);
    let (large, e2) = peak(2_000_000);
    eprintln!(
        "json array of tiny records: peak heap {} KiB to 300,000 rows, {} KiB to 2,000,000",
        small / 1024,
        large / 1024
    );
    assert_eq!(
        (e1.as_deref(), e2.as_deref()),
        (Some("too_many_rows"), Some("too_many_rows")),
        "{small} {large}"
    );
    assert!(
        large <= small + 1024 * 1024,
        "300k: {small} bytes, 2M: {large} bytes"
    );
    // The held megabyte, the 64 KiB step's rows and the sample: not the 85 MB that the whole
    // megabyte's 131,000 rows at once took.
    assert!(large <= 16 * 1024 * 1024, "{large} bytes");
}
