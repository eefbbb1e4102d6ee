//! Structure (issue 12): every file of the generated structure corpus reads as the tables a
//! person would see — keys and every row value for value — with each skipped or repaired line
//! reported with its line number (and its text), whole or streamed in chunks of any size.

use ingest::*;
use ingest_testdata::{structure_corpus, ExpectedTable, StructureCase, STRUCTURE_ISSUES};
use serde_json::Value;

fn expected_rows(t: &ExpectedTable) -> Vec<Vec<Value>> {
    t.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| serde_json::from_str(v).unwrap_or_else(|e| panic!("{v}: {e}")))
                .collect()
        })
        .collect()
}

fn structural(t: &Table) -> Vec<(&'static str, u64)> {
    t.issues
        .iter()
        .filter(|i| STRUCTURE_ISSUES.contains(&i.kind.as_str()))
        .map(|i| {
            (
                i.kind.as_str(),
                i.line.expect("a structural issue names its line"),
            )
        })
        .collect()
}

fn check(case: &StructureCase, got: &[(Vec<Row>, Table)], how: &str) {
    let name = case.name;
    assert_eq!(
        got.len(),
        case.tables.len(),
        "{name} ({how}): tables {:?}",
        got.iter()
            .map(|(_, t)| t.columns.iter().map(|c| c.key.clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    for (i, ((rows, t), want)) in got.iter().zip(&case.tables).enumerate() {
        let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, want.keys, "{name} ({how}) table {}", i + 1);
        let values: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
            .collect();
        assert_eq!(
            values,
            expected_rows(want),
            "{name} ({how}) table {}",
            i + 1
        );
        assert_eq!(t.row_count, want.rows.len() as u64, "{name} ({how})");
        assert_eq!(structural(t), want.issues, "{name} ({how}) table {}", i + 1);
        for issue in &t.issues {
            if matches!(
                issue.kind,
                IssueKind::HeaderRepaired
                    | IssueKind::HeaderMerged
                    | IssueKind::HeaderRepeated
                    | IssueKind::TableSplit
                    | IssueKind::QuoteRecovered
                    | IssueKind::PreambleSkipped
            ) {
                assert!(
                    issue.original.as_deref().is_some_and(|o| !o.is_empty()),
                    "{name}: {issue:?} carries the line's text"
                );
            }
        }
    }
}

#[test]
fn every_structural_mess_reads_as_a_person_sees_it() {
    let only = std::env::var("CASE").ok();
    for case in structure_corpus() {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let got = ingest(case.text.as_bytes(), &IngestOptions::new())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let tables: Vec<(Vec<Row>, Table)> = got
            .tables
            .into_iter()
            .map(|t| (t.rows.clone(), t))
            .collect();
        check(&case, &tables, "whole");
    }
}

#[test]
fn the_same_structure_comes_out_of_the_stream_in_any_chunking() {
    for case in structure_corpus() {
        for chunk in [1, 2, 5, 13] {
            let mut stream = DelimitedStream::new(IngestOptions::new()).unwrap();
            let mut rows = Vec::new();
            for c in case.text.as_bytes().chunks(chunk) {
                rows.extend(stream.feed(c).unwrap());
            }
            let end = stream.finish().unwrap();
            rows.extend(end.rows);
            let mut tables = vec![(rows, end.table)];
            tables.extend(end.more_tables.into_iter().map(|t| (t.rows.clone(), t)));
            check(&case, &tables, &format!("chunks of {chunk}"));
        }
    }
}

#[test]
fn dialects_are_scored_not_first_match() {
    let corpus = structure_corpus();
    let dialect = |name: &str| {
        let case = corpus.iter().find(|c| c.name == name).unwrap();
        ingest(case.text.as_bytes(), &IngestOptions::new())
            .unwrap()
            .tables[0]
            .dialect
            .clone()
            .unwrap()
    };
    assert_eq!(dialect("space_delimiter").delimiter, ' ');
    let d = dialect("comma_space_delimiter");
    assert_eq!((d.delimiter, d.skip_initial_space), (',', true));
    assert_eq!(dialect("single_quotes").quote, '\'');
    assert_eq!(dialect("backslash_escaped_quotes").escape, Some('\\'));
    // Ordinary files keep the plain dialect (no escape, no skipped spaces).
    let d = dialect("two_tables_blank_line");
    assert_eq!(
        (d.delimiter, d.quote, d.escape, d.skip_initial_space),
        (',', '"', None, false)
    );
}

#[test]
fn a_second_table_after_a_long_first_one_is_split_after_the_types_are_fixed() {
    let mut csv = String::from("order_id,amount,day\n");
    for i in 1..=60 {
        csv.push_str(&format!("{i},{}.5,2024-01-{:02}\n", i * 3, 1 + i % 28));
    }
    csv.push_str("\nwarehouse,city,manager\nW1,Lisboa,Ana\nW2,Porto,Bruno\n");
    let got = ingest(csv.as_bytes(), &IngestOptions::new().with_sample_rows(10)).unwrap();
    assert_eq!(got.tables.len(), 2);
    let (a, b) = (&got.tables[0], &got.tables[1]);
    assert_eq!(a.row_count, 60);
    assert_eq!(a.rows.len(), 60);
    assert_eq!(a.rows[59]["order_id"], serde_json::json!(60));
    assert_eq!(b.rows.len(), 2);
    assert_eq!(b.rows[1]["manager"], serde_json::json!("Bruno"));
    let split = b
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::TableSplit)
        .unwrap();
    assert_eq!(split.line, Some(63));
    assert_eq!(split.original.as_deref(), Some("warehouse,city,manager"));
    assert_eq!(a.issue_counts.get("ragged_row"), None);
}

#[test]
fn text_rows_after_a_blank_line_stay_in_their_table() {
    // All-text rows after a blank line are data, not a new header: nothing to tell them apart.
    let t = ingest(
        "name,city\nAna,Lisboa\n\nBruno,Porto\nEva,Kraków\n".as_bytes(),
        &IngestOptions::new(),
    )
    .unwrap();
    assert_eq!(t.tables.len(), 1);
    assert_eq!(t.tables[0].row_count, 3);
    // A null token in a numeric column after a blank line is a value, not a header.
    let t = ingest(
        b"name,score\nAna,1\nBruno,2\n\nEva,NA\nHiro,4\n",
        &IngestOptions::new(),
    )
    .unwrap();
    assert_eq!(t.tables.len(), 1);
    assert_eq!(t.tables[0].row_count, 4);
}

#[test]
fn a_first_data_row_with_null_spellings_is_not_taken_for_a_header_line() {
    let t = ingest(
        b"name,score,day\nAna,-,N/A\nBruno,4,2024-01-02\nEva,5,2024-01-03\n",
        &IngestOptions::new(),
    )
    .unwrap();
    assert_eq!(t.tables.len(), 1);
    let t = &t.tables[0];
    assert_eq!(t.row_count, 3);
    assert_eq!(t.columns[1].key, "score");
    assert_eq!(t.rows[0]["name"], serde_json::json!("Ana"));
    assert_eq!(t.issue_counts.get("header_merged"), None);
}

#[test]
fn plain_files_keep_their_plain_reading() {
    // Spaces in text, apostrophes, commas in quotes: still one comma-separated table.
    let text =
        "name,city,note\nAna Smith,New York,\"a, b\"\nO'Brien,Porto,it's fine\nBo Li,Kraków,ok\n";
    let got = ingest(text.as_bytes(), &IngestOptions::new()).unwrap();
    assert_eq!(got.tables.len(), 1);
    let t = &got.tables[0];
    let d = t.dialect.as_ref().unwrap();
    assert_eq!(
        (d.delimiter, d.quote, d.escape, d.skip_initial_space),
        (',', '"', None, false)
    );
    assert_eq!(t.rows[0]["note"], serde_json::json!("a, b"));
    assert_eq!(t.rows[1]["name"], serde_json::json!("O'Brien"));
    assert_eq!(t.rows[1]["note"], serde_json::json!("it's fine"));
    assert!(t.issues.is_empty(), "{:?}", t.issues);
}

/// Random mixes of messy lines (stray quotes, blank lines, second headers, other dialects):
/// no panic, and a stream fed 3 bytes at a time reads exactly what a whole read does.
#[test]
fn random_mixes_never_panic_and_read_the_same_in_any_chunking() {
    let lines = [
        "id,name,score\n",
        "1,Ana,3.5\n",
        "2,\"Bo,b\n",
        "\n",
        "sku,qty\n",
        "A,5\n",
        "x y z\n",
        "'q,w',e\n",
        "\"a\\\"b\",c,d\n",
        "Title\n",
        "a, b, c\n",
        ",,\n",
        "#c\n",
        "\r\n",
        "1;2;3\n",
        "\"\n",
        "h1,h2,h3,h4\n",
    ];
    let mut seed: u64 = 88_172_645_463_325_252;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = (next() % 12) as usize + 1;
        let text: String = (0..n)
            .map(|_| lines[(next() % lines.len() as u64) as usize])
            .collect();
        let whole = ingest(text.as_bytes(), &IngestOptions::new());
        let mut stream = DelimitedStream::new(IngestOptions::new()).unwrap();
        let mut rows = Vec::new();
        for c in text.as_bytes().chunks(3) {
            rows.extend(stream.feed(c).unwrap());
        }
        match (stream.finish(), whole) {
            (Ok(end), Ok(whole)) => {
                rows.extend(end.rows);
                assert_eq!(whole.tables[0].rows, rows, "{text:?}");
                assert_eq!(whole.tables.len(), 1 + end.more_tables.len(), "{text:?}");
                assert_eq!(&whole.tables[1..], &end.more_tables[..], "{text:?}");
            }
            (Err(a), Err(b)) => assert_eq!(a.code, b.code, "{text:?}"),
            (a, b) => panic!("{text:?}: stream {a:?}, whole {b:?}"),
        }
    }
}
