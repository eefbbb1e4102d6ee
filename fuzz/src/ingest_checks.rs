//! The checks of the upload targets (`delimited`, `ndjson`, `json_array`, `xlsx`): what the
//! Worker streams must equal what the whole-file reader answers, in any chunking, and whatever
//! is accepted must be a well-formed table.
//!
//! Design decision: small limits (`sample_rows` 3, a 256 KiB unpack budget) so a few hundred
//! bytes of input already reach the paths past the type sample and past the limits, where the
//! streaming and whole readers part ways.

use ingest::{
    detect_format, ingest, schema_def, DelimitedStream, Format, IngestError, IngestOptions,
    NdjsonStream, Row, Table,
};

#[path = "chunks.rs"]
pub mod chunks;

use chunks::pieces;

fn options() -> IngestOptions {
    IngestOptions::new()
        .with_sample_rows(3)
        .with_max_rows(5_000)
        .with_max_columns(64)
        .with_max_cell_bytes(4096)
        .with_max_unpacked_bytes(256 * 1024)
        .with_max_issues(10_000)
}

/// A table with its issues in a fixed order (a chunk boundary may change when one is found).
fn normalized(mut t: Table) -> Table {
    t.issues.sort_by_key(|i| format!("{i:?}"));
    t
}

/// What a whole read or a stream produced: all tables with their rows, or the error code.
type Outcome = Result<Vec<Table>, IngestError>;

fn well_formed(tables: &[Table], opts: &IngestOptions) {
    for t in tables {
        assert_eq!(
            t.row_count,
            t.rows.len() as u64,
            "row_count counts the rows"
        );
        assert!(t.rows.len() as u64 <= opts.max_rows, "max_rows holds");
        assert!(t.columns.len() <= opts.max_columns, "max_columns holds");
        for row in &t.rows {
            for key in row.keys() {
                assert!(t.column(key).is_some(), "row key {key:?} is a column");
            }
        }
        let def = schema_def(t);
        assert!(def["columns"].is_array(), "schema_def has columns");
    }
}

fn whole(bytes: &[u8], opts: &IngestOptions) -> Outcome {
    let got = ingest(bytes, opts)?;
    well_formed(&got.tables, opts);
    Ok(got.tables.into_iter().map(normalized).collect())
}

/// The first table gets the rows `feed` and `finish` handed out; later ones carry their own.
fn assemble(mut rows: Vec<Row>, end: ingest::StreamEnd) -> Vec<Table> {
    rows.extend(end.rows);
    let mut first = end.table;
    first.rows = rows;
    std::iter::once(first)
        .chain(end.more_tables)
        .map(normalized)
        .collect()
}

fn same(whole: &Outcome, streamed: &Outcome, what: &str) {
    match (whole, streamed) {
        (Ok(w), Ok(s)) => {
            assert_eq!(w.len(), s.len(), "{what}: table count");
            for (w, s) in w.iter().zip(s) {
                assert_eq!(w.rows, s.rows, "{what}: rows");
                assert_eq!(schema_def(w), schema_def(s), "{what}: schema_def");
                assert_eq!(w, s, "{what}: table");
            }
        }
        (Err(w), Err(s)) => assert_eq!(w.code, s.code, "{what}: error ({w} / {s})"),
        (w, s) => panic!("{what}: whole read {w:?}\nstreamed {s:?}"),
    }
}

/// `DelimitedStream` fed in pieces equals `ingest` of the whole text.
pub fn delimited(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let opts = options().with_format(Format::Delimited);
    let whole = whole(body, &opts);
    let streamed = (|| {
        let mut s = DelimitedStream::new(opts.clone())?;
        let mut rows = Vec::new();
        for piece in pieces(body, selector) {
            rows.extend(s.feed(piece)?);
        }
        Ok(assemble(rows, s.finish()?))
    })();
    same(&whole, &streamed, "delimited");
}

fn stream_json(body: &[u8], selector: u8, mut s: NdjsonStream) -> Outcome {
    let mut rows = Vec::new();
    for piece in pieces(body, selector) {
        rows.extend(s.feed(piece)?);
    }
    Ok(assemble(rows, s.finish()?))
}

/// `NdjsonStream` streaming from the first byte equals the whole read of the same file, for
/// every file the Worker streams (content detected as NDJSON), except the one documented
/// difference: a key first seen after the type sample is refused.
pub fn ndjson(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let opts = options().with_format(Format::Ndjson);
    let streamed = NdjsonStream::new(opts.clone())
        .and_then(|s| stream_json(body, selector, s.with_hold_bytes(0)));
    if detect_format(body, None) != Some(Format::Ndjson) {
        return; // Not streamed by the Worker; the run above only had to not panic.
    }
    same_but_late_keys(body, &opts, &streamed, "ndjson");
}

/// [`same`], except that only the stream refuses a key first seen after the type sample.
fn same_but_late_keys(body: &[u8], opts: &IngestOptions, streamed: &Outcome, what: &str) {
    let whole = whole(body, opts);
    if let (Ok(_), Err(e)) = (&whole, streamed) {
        if e.message.contains("first appears after the first") {
            return;
        }
    }
    same(&whole, streamed, what);
}

/// `NdjsonStream::json_array` equals the whole JSON read for a top-level array (same exception
/// as NDJSON).
pub fn json_array(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let opts = options().with_format(Format::Json);
    let streamed = NdjsonStream::json_array(opts.clone())
        .and_then(|s| stream_json(body, selector, s.with_hold_bytes(0)));
    let text = String::from_utf8_lossy(body);
    if !text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('[')
    {
        return;
    }
    same_but_late_keys(body, &opts, &streamed, "json_array");
}

/// The parts of a small valid workbook, one of them (or the whole file) replaced by the input,
/// zipped: the XML readers see arbitrary XML inside a zip that opens, and the zip reader sees
/// arbitrary bytes. Whatever is accepted is a well-formed table.
pub fn xlsx(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let opts = options();
    let file = match selector % 8 {
        // Any upload at all, through format detection (XLSX when it starts with PK\3\4).
        7 => body.to_vec(),
        k => {
            use ingest_testdata::XlsxCell::{Bool, Date, Number, Text};
            let mut parts = ingest_testdata::xlsx_parts(&[(
                "Sheet 1",
                vec![
                    vec![Text("id".into()), Text("when".into()), Text("ok".into())],
                    vec![Number(1.0), Date(45000.0), Bool(true)],
                    vec![Number(2.5), Date(45001.0), Text("no".into())],
                ],
            )]);
            // 0 [Content_Types], 1 .rels, 2 workbook, 3 workbook rels, 4 sharedStrings,
            // 5 styles, 6 the sheet.
            let k = usize::from(k).min(parts.len() - 1);
            parts[k].1 = body.to_vec();
            ingest_testdata::zip(&parts)
        }
    };
    let _ = whole(&file, &opts);
}

#[cfg(test)]
mod replay {
    #[test]
    fn committed_fuzz_inputs_pass_the_upload_checks() {
        super::chunks::replay(&[
            ("delimited", super::delimited),
            ("ndjson", super::ndjson),
            ("json_array", super::json_array),
            ("xlsx", super::xlsx),
        ]);
    }
}
