//! Throughput of the core on generated uploads (native build):
//! `cargo run --release -p ingest --example ingest_bench [csv_mb] [xlsx_rows]`.
//! Prints one line per format: bytes, rows, seconds, rows/s, MB/s.

use std::time::Instant;

use ingest::testdata::{messy_csv, messy_xlsx};
use ingest::{ingest, DelimitedStream, IngestOptions};

fn report(label: &str, bytes: usize, rows: u64, secs: f64) {
    println!(
        "{label:<28} {:>8.1} MB {:>9} rows {:>7.3} s {:>11.0} rows/s {:>7.1} MB/s",
        bytes as f64 / 1e6,
        rows,
        secs,
        rows as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}

fn main() -> Result<(), ingest::IngestError> {
    let mut args = std::env::args().skip(1);
    let csv_mb: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let xlsx_rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);

    let row_bytes = messy_csv(10_000, 42).len() / 10_000;
    let csv = messy_csv(csv_mb * 1_000_000 / row_bytes, 42);
    let opts = IngestOptions::new()
        .with_max_bytes(1 << 30)
        .with_max_rows(10_000_000);

    // Streaming, as the Worker does it: 64 KiB chunks, rows dropped after each batch.
    let start = Instant::now();
    let mut stream = DelimitedStream::new(opts.clone())?;
    let mut rows = 0u64;
    for chunk in csv.chunks(64 * 1024) {
        rows += stream.feed(chunk)?.len() as u64;
    }
    let end = stream.finish()?;
    rows += end.rows.len() as u64;
    report(
        "csv stream (64 KiB chunks)",
        csv.len(),
        rows,
        start.elapsed().as_secs_f64(),
    );
    assert_eq!(rows, end.table.row_count);

    // Whole-buffer call on a 10 MB slice (keeps every row in memory).
    let small = messy_csv(10_000_000 / row_bytes, 42);
    let start = Instant::now();
    let got = ingest(&small, &opts)?;
    report(
        "csv ingest() whole buffer",
        small.len(),
        got.tables[0].row_count,
        start.elapsed().as_secs_f64(),
    );

    let xlsx = messy_xlsx(xlsx_rows, 42);
    let start = Instant::now();
    let got = ingest(&xlsx, &opts)?;
    let rows: u64 = got.tables.iter().map(|t| t.row_count).sum();
    report(
        "xlsx ingest() (2 sheets)",
        xlsx.len(),
        rows,
        start.elapsed().as_secs_f64(),
    );
    Ok(())
}
