//! `NdjsonStream` against the whole-file reader: the same rows, schema and issues in any
//! chunking, and a line over the limit refused while it streams (memory: `ndjson_memory.rs`).

use ingest::{ingest, schema_def, ErrorCode, IngestError, IngestOptions, NdjsonStream, Row, Table};

/// Mixed types, a type broken after the sample, a duplicate key before and after the sample,
/// strings that look like null tokens, long numbers, a non-object line, blank and CRLF lines.
fn messy_ndjson() -> String {
    let mut s = String::new();
    for i in 0..12 {
        s.push_str(&format!(
            "{{\"id\": {i}, \"name\": \"n{i}\", \"when\": \"2024-01-{:02}\", \"amount\": 12345678901234567890.{i}, \"note\": \"null\"}}\n",
            i + 1
        ));
        if i == 3 {
            s.push_str("{\"id\": 99, \"id\": 100, \"name\": \"NA\", \"nested\": {\"a\": 1, \"a\": 2}}\r\n\n");
        }
    }
    s.push_str("[1, 2]\n");
    s.push_str("{\"id\": \"not a number\", \"name\": null, \"when\": \"soon\", \"name\": \"x\"}\n");
    s.push_str("\n   \n{\"id\": 7.5, \"amount\": true}");
    s
}

fn streamed(
    bytes: &[u8],
    chunk: usize,
    opts: IngestOptions,
    hold: usize,
) -> Result<(Vec<Row>, Table), IngestError> {
    let mut stream = NdjsonStream::new(opts)?.with_hold_bytes(hold);
    let mut rows = Vec::new();
    for c in bytes.chunks(chunk) {
        rows.extend(stream.feed(c)?);
    }
    let end = stream.finish()?;
    assert!(end.more_tables.is_empty());
    rows.extend(end.rows);
    Ok((rows, end.table))
}

fn sorted_issues(t: &Table) -> Vec<String> {
    let mut v: Vec<String> = t.issues.iter().map(|i| format!("{i:?}")).collect();
    v.sort();
    v
}

#[test]
fn chunked_feeds_equal_the_whole_read() {
    let text = messy_ndjson();
    let opts = IngestOptions::new().with_sample_rows(5);
    let mut whole = ingest(text.as_bytes(), &opts.clone().with_hint("x.ndjson")).unwrap();
    let whole = whole.tables.remove(0);
    assert_eq!(whole.format, ingest::Format::Ndjson);
    assert!(whole
        .issues
        .iter()
        .any(|i| i.kind == ingest::IssueKind::DuplicateKey));
    assert!(
        whole.columns.iter().any(|c| c.nonconforming_count > 0),
        "a type broken after the sample"
    );
    for hold in [0, 64, ingest::HOLD_BYTES] {
        for chunk in [1, 2, 7, 64, text.len()] {
            let (rows, table) = streamed(text.as_bytes(), chunk, opts.clone(), hold).unwrap();
            let at = format!("hold {hold}, chunks of {chunk}");
            assert_eq!(rows, whole.rows, "{at}");
            assert_eq!(schema_def(&table), schema_def(&whole), "{at}");
            assert_eq!(sorted_issues(&table), sorted_issues(&whole), "{at}");
        }
    }
}

#[test]
fn a_file_over_the_hold_streams_with_the_schema_of_the_whole_read() {
    let mut text = String::new();
    for i in 0..40_000 {
        text.push_str(&format!(
            "{{\"n\": {i}, \"s\": \"row {i}\", \"d\": \"2020-02-{:02}\", \"b\": {}}}\n",
            i % 28 + 1,
            i % 2 == 0
        ));
    }
    assert!(text.len() > ingest::HOLD_BYTES);
    let opts = IngestOptions::new();
    let whole = ingest(text.as_bytes(), &opts.clone().with_hint("x.ndjson"))
        .unwrap()
        .tables
        .remove(0);
    let mut stream = NdjsonStream::new(opts).unwrap();
    let mut rows = Vec::new();
    let mut first_rows_at = None;
    for (i, c) in text.as_bytes().chunks(64 * 1024).enumerate() {
        let got = stream.feed(c).unwrap();
        if !got.is_empty() && first_rows_at.is_none() {
            first_rows_at = Some(i);
            assert!(stream.data_type().is_some());
        }
        rows.extend(got);
    }
    assert!(
        first_rows_at.unwrap() < 20,
        "rows come out before the end of the file"
    );
    let end = stream.finish().unwrap();
    rows.extend(end.rows);
    assert_eq!(rows.len(), 40_000);
    assert_eq!(rows, whole.rows);
    assert_eq!(schema_def(&end.table), schema_def(&whole));
}

#[test]
fn a_huge_line_is_refused_as_it_streams() {
    let opts = IngestOptions::new();
    let mut stream = NdjsonStream::new(opts).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    stream.feed(b"{\"a\": \"").unwrap();
    let mut fed = 0usize;
    let err = loop {
        match stream.feed(&chunk) {
            Ok(rows) => assert!(rows.is_empty()),
            Err(e) => break e,
        }
        fed += chunk.len();
        assert!(
            fed < 8 * 1024 * 1024,
            "a 40 MB line must not be read to its end"
        );
    };
    assert_eq!(err.code, ErrorCode::CellTooLarge);
    assert!(fed <= 2 * 1024 * 1024, "refused after {fed} bytes");
    assert!(err.message.contains("line 1"), "{}", err.message);
}

#[test]
fn a_key_first_seen_after_the_sample_of_a_streamed_file_is_refused_with_its_line() {
    let mut text = String::new();
    for i in 0..10 {
        text.push_str(&format!("{{\"a\": {i}}}\n"));
    }
    text.push_str("{\"a\": 1, \"late\": 2}\n");
    let opts = IngestOptions::new().with_sample_rows(5);
    let err = streamed(text.as_bytes(), 7, opts.clone(), 0).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidJson);
    assert!(
        err.message.contains("line 11") && err.message.contains("\"late\""),
        "{}",
        err.message
    );
    // Within the hold the file is read whole, so the late key is a column as before.
    let (rows, table) = streamed(text.as_bytes(), 7, opts, ingest::HOLD_BYTES).unwrap();
    assert_eq!(table.columns.len(), 2);
    assert_eq!(rows.len(), 11);
}

#[test]
fn invalid_lines_and_empty_streams_answer_like_the_whole_read() {
    let text = "{\"a\": 1}\n{\"a\": 2}\n{\"a\": \n";
    let whole = ingest(text.as_bytes(), &IngestOptions::new().with_hint("x.ndjson")).unwrap_err();
    let got = streamed(text.as_bytes(), 3, IngestOptions::new(), 0).unwrap_err();
    assert_eq!((got.code, got.row), (whole.code, whole.row));
    assert!(got.message.contains("line 3"), "{}", got.message);
    let blank = vec![b'\n'; 2 * 1024 * 1024];
    let got = streamed(&blank, 64 * 1024, IngestOptions::new(), 0).unwrap_err();
    assert_eq!(got.code, ErrorCode::EmptyFile);
}

/// The NDJSON corpus as one array, with strings that hold the scanner's delimiters.
fn messy_array() -> String {
    let mut s = String::from(" \n[");
    for (i, line) in messy_ndjson()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        if i > 0 {
            s.push_str(",\n  ");
        }
        s.push_str(line.trim());
    }
    s.push_str(r#", {"id": 3, "name": "a \"quoted\", [bracketed] {braced} \\ name ünïcødé 😀", "nested": [[1, {"x": "]"}], []]}"#);
    s.push_str("\n]\n");
    s
}

#[test]
fn a_json_array_streamed_in_any_chunking_equals_the_whole_read() {
    let text = messy_array();
    let opts = IngestOptions::new().with_sample_rows(5);
    let whole = ingest(text.as_bytes(), &opts).unwrap().tables.remove(0);
    assert_eq!(whole.format, ingest::Format::Json);
    for hold in [0, 64, ingest::HOLD_BYTES] {
        for chunk in [1, 2, 7, 64, text.len()] {
            let mut stream = NdjsonStream::json_array(opts.clone())
                .unwrap()
                .with_hold_bytes(hold);
            let mut rows = Vec::new();
            for c in text.as_bytes().chunks(chunk) {
                rows.extend(stream.feed(c).unwrap());
            }
            let end = stream.finish().unwrap();
            rows.extend(end.rows);
            let at = format!("hold {hold}, chunks of {chunk}");
            assert_eq!(rows, whole.rows, "{at}");
            assert_eq!(schema_def(&end.table), schema_def(&whole), "{at}");
            assert_eq!(sorted_issues(&end.table), sorted_issues(&whole), "{at}");
        }
    }
}

#[test]
fn a_huge_array_element_is_refused_as_it_streams() {
    let mut stream = NdjsonStream::json_array(IngestOptions::new()).unwrap();
    stream.feed(b"[{\"a\": 1}, {\"a\": \"").unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut fed = 0usize;
    let err = loop {
        if let Err(e) = stream.feed(&chunk) {
            break e;
        }
        fed += chunk.len();
        assert!(
            fed < 8 * 1024 * 1024,
            "a 40 MB element must not be read to its end"
        );
    };
    assert_eq!(err.code, ErrorCode::CellTooLarge);
    assert!(err.message.contains("element 2"), "{}", err.message);
}

#[test]
fn a_streamed_json_array_that_is_not_closed_or_has_text_after_it_is_invalid() {
    for text in [
        "[{\"a\": 1}, {\"a\": 2}",
        "[{\"a\": 1}] {\"a\": 2}",
        "[{\"a\": 1},]",
        "{\"a\": 1}",
    ] {
        let mut stream = NdjsonStream::json_array(IngestOptions::new())
            .unwrap()
            .with_hold_bytes(0);
        let err = match stream.feed(text.as_bytes()) {
            Err(e) => e,
            Ok(_) => stream.finish().unwrap_err(),
        };
        assert_eq!(err.code, ErrorCode::InvalidJson, "{text}");
    }
}

/// Feeds `bytes` to a streamed JSON array (nothing held whole) in 4 KiB chunks.
fn streamed_array(bytes: &[u8], opts: IngestOptions) -> Result<(Vec<Row>, Table), IngestError> {
    let mut stream = NdjsonStream::json_array(opts)?.with_hold_bytes(0);
    let mut rows = Vec::new();
    for c in bytes.chunks(4096) {
        rows.extend(stream.feed(c)?);
    }
    let end = stream.finish()?;
    rows.extend(end.rows);
    Ok((rows, end.table))
}

#[test]
fn too_many_keys_in_the_sample_are_refused_at_the_record_that_brings_them() {
    let opts = IngestOptions::new().with_max_columns(10);
    let mut text = String::from("[");
    for i in 0..5 {
        text.push_str(&format!("{{\"k{i}\": 1, \"k{}\": 2}},", i + 5));
    }
    text.push_str("{\"k10\": 1}");
    // Enough records after it that a late check would have read them all.
    for _ in 0..10_000 {
        text.push_str(",{\"k0\": 1}");
    }
    text.push(']');
    let mut stream = NdjsonStream::json_array(opts).unwrap().with_hold_bytes(0);
    let mut fed = 0;
    let e = loop {
        let chunk = &text.as_bytes()[fed..(fed + 64).min(text.len())];
        assert!(!chunk.is_empty(), "never refused");
        fed += chunk.len();
        if let Err(e) = stream.feed(chunk) {
            break e;
        }
    };
    // The decoder holds the first 16 KiB until it decides the encoding; from then on each
    // record is checked as it is cut out.
    assert!(
        fed <= 16 * 1024 + 64,
        "refused after {fed} of {} bytes",
        text.len()
    );
    assert_eq!(e.code(), "too_many_columns", "{e}");
    assert!(e.message.contains("the limit is 10 columns"), "{e}");
    assert_eq!(e.row, Some(6), "the record that brought the 11th key");
}

#[test]
fn the_sample_holds_at_most_sample_bytes_of_records() {
    // Records of 60 and 300 KiB: the columns are fixed after 6 of them (1080 KiB > 1 MiB), not
    // after the 1000 of `sample_rows`.
    let big = "x".repeat(300 * 1024);
    let mut text = String::from("[");
    for i in 0..6 {
        text.push_str(&format!(
            "{{\"id\": {i}, \"note\": \"{}\"}},",
            &big[..60 * 1024]
        ));
        text.push_str(&format!("{{\"id\": {i}, \"blob\": [\"{big}\"]}},"));
    }
    text.push_str("{\"id\": 99, \"late\": true}]");
    let e = streamed_array(text.as_bytes(), IngestOptions::new()).unwrap_err();
    assert_eq!(e.code(), "invalid_json", "{e}");
    assert!(
        e.message
            .contains("\"late\" first appears after the first 6 records"),
        "{e}"
    );
    // The same file with every key in the first record streams completely.
    let ok = text.replacen("{\"id\": 0,", "{\"late\": null, \"id\": 0,", 1);
    let (rows, table) = streamed_array(ok.as_bytes(), IngestOptions::new()).unwrap();
    assert_eq!((rows.len(), table.row_count), (13, 13));
}

#[test]
fn the_row_limit_stops_a_streamed_array_at_the_record_over_it() {
    let opts = IngestOptions::new()
        .with_max_rows(5000)
        .with_sample_rows(100);
    let mut stream = NdjsonStream::json_array(opts).unwrap().with_hold_bytes(0);
    let mut fed = 0usize;
    let record = b"{\"a\":0},";
    let e = loop {
        let mut chunk = if fed == 0 { b"[".to_vec() } else { Vec::new() };
        for _ in 0..500 {
            chunk.extend_from_slice(record);
        }
        fed += 500;
        match stream.feed(&chunk) {
            Ok(_) => assert!(fed <= 5000, "not refused after {fed} records"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), "too_many_rows");
    assert!(e.message.contains("5000"), "{e}");
    assert_eq!(fed, 5500, "refused in the chunk that held record 5001");
}

/// `text` read streamed (as NDJSON lines, or as a JSON array) and whole, with the hint that
/// names its format.
fn streamed_and_whole(
    text: &str,
    as_array: bool,
    opts: &IngestOptions,
) -> ((Vec<Row>, Table), Table, &'static str) {
    let got = if as_array {
        streamed_array(text.as_bytes(), opts.clone())
    } else {
        streamed(text.as_bytes(), 7, opts.clone(), 0)
    }
    .unwrap();
    let hint = if as_array { "x.json" } else { "x.ndjson" };
    let mut whole = ingest(text.as_bytes(), &opts.clone().with_hint(hint)).unwrap();
    (got, whole.tables.remove(0), hint)
}

#[test]
fn objects_without_a_key_do_not_end_the_sample_before_a_key_is_seen() {
    // Three `{}` first: with a sample of 3 they once fixed "no columns" and the streamed read
    // answered `invalid_json` where the whole read stored four rows (fuzz, ndjson target).
    let opts = IngestOptions::new().with_sample_rows(3);
    let lines = "{}\n{}\n{}\n{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n";
    let array = "[{}, {}, {}, {\"a\": 1, \"b\": \"x\"}, {\"a\": 2, \"b\": \"y\"}]";
    for (text, as_array) in [(lines, false), (array, true)] {
        let (got, whole, hint) = streamed_and_whole(text, as_array, &opts);
        assert_eq!(got.0.len(), 5, "every record is a row ({hint})");
        assert_eq!(got.0, whole.rows, "{hint}");
        assert_eq!(schema_def(&got.1), schema_def(&whole), "{hint}");
    }
}

#[test]
fn values_that_are_not_objects_do_not_fill_the_sample_that_fixes_the_columns() {
    // Three skipped values first: with a sample of 3 they once fixed "no columns" and the
    // streamed read answered `invalid_json` where the whole read stored the objects after them.
    let opts = IngestOptions::new().with_sample_rows(3);
    let lines = "1\n\"two\"\nnull\n{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n";
    let array = "[1, \"two\", null, {\"a\": 1, \"b\": \"x\"}, {\"a\": 2, \"b\": \"y\"}]";
    for (text, as_array) in [(lines, false), (array, true)] {
        let (got, whole, hint) = streamed_and_whole(text, as_array, &opts);
        assert_eq!(got.0.len(), 2, "both objects are stored ({hint})");
        assert_eq!(got.0, whole.rows, "{hint}");
        assert_eq!(schema_def(&got.1), schema_def(&whole), "{hint}");
        let skipped = got
            .1
            .issues
            .iter()
            .filter(|i| i.kind == ingest::IssueKind::SkippedContent)
            .count();
        assert_eq!(skipped, 3, "each skipped value is reported ({hint})");
        assert_eq!(sorted_issues(&got.1), sorted_issues(&whole), "{hint}");
    }
}
