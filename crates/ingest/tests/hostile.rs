//! Hostile uploads (issue 9): each is refused with the limit it hit, or read with bounded work,
//! and the answer says what was done. The workbooks are built here from `ingest_testdata`.

use ingest::*;
use ingest_testdata::{xlsx, xlsx_parts, zip, XlsxCell};
use serde_json::json;

fn err(bytes: &[u8], opts: &IngestOptions) -> IngestError {
    match ingest(bytes, opts) {
        Ok(got) => panic!("expected a refusal, got {} table(s)", got.tables.len()),
        Err(e) => e,
    }
}

fn one(bytes: &[u8]) -> Table {
    let got = ingest(bytes, &IngestOptions::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.tables.len(), 1);
    got.tables.into_iter().next().unwrap()
}

fn text(s: &str) -> XlsxCell {
    XlsxCell::Text(s.into())
}

/// A one-sheet workbook whose `xl/worksheets/sheet1.xml` is `sheet_xml`.
fn with_sheet_xml(sheet_xml: &str) -> Vec<u8> {
    let mut parts = xlsx_parts(&[("S", vec![vec![text("a")]])]);
    for (name, data) in parts.iter_mut() {
        if name == "xl/worksheets/sheet1.xml" {
            *data = sheet_xml.as_bytes().to_vec();
        }
    }
    zip(&parts)
}

const SHEET_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_CLOSE: &str = "</sheetData></worksheet>";

#[test]
fn one_inflate_budget_covers_every_entry_of_the_workbook() {
    // Eight sheets of ~200 KB XML each: every one fits 1 MB alone, together they do not.
    let rows: Vec<Vec<XlsxCell>> = (0..4000)
        .map(|i| vec![XlsxCell::Number(i as f64), text("padding padding")])
        .collect();
    let sheets: Vec<(String, Vec<Vec<XlsxCell>>)> =
        (0..8).map(|i| (format!("S{i}"), rows.clone())).collect();
    let refs: Vec<(&str, Vec<Vec<XlsxCell>>)> = sheets
        .iter()
        .map(|(n, r)| (n.as_str(), r.clone()))
        .collect();
    let opts = IngestOptions::new().with_max_unpacked_bytes(1_000_000);
    let one_sheet = xlsx(&refs[..1]);
    assert_eq!(
        ingest(&one_sheet, &opts).unwrap().tables[0].row_count,
        4000,
        "one sheet fits the budget (no header: the first row is numbers)"
    );
    let e = err(&xlsx(&refs), &opts);
    assert_eq!(e.code(), "too_large");
    assert!(e.message.contains("1000000 bytes"), "{}", e.message);
}

#[test]
fn a_declared_400_mb_entry_is_refused_before_it_is_inflated() {
    let mut bytes = xlsx(&[("S", vec![vec![text("a")], vec![text("b")]])]);
    // Declare 400 MB as sheet1's uncompressed size in the central directory (honest headers
    // would say the same; the data is never inflated, so it need not match).
    let name = b"xl/worksheets/sheet1.xml";
    let cd = (0..bytes.len() - 4)
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && bytes[i + 46..].starts_with(name))
        .expect("central directory entry");
    bytes[cd + 24..cd + 28].copy_from_slice(&400_000_000u32.to_le_bytes());
    let e = err(&bytes, &IngestOptions::new());
    assert_eq!(e.code(), "too_large");
    assert!(e.message.contains("sheet1.xml"), "{}", e.message);
}

#[test]
fn an_entry_that_lies_about_its_size_stops_at_the_budget() {
    // 3 MB of XML whitespace declared as its true size would be refused up front; declare 1 KB.
    let mut xml = String::from(SHEET_OPEN);
    xml.push_str(&" ".repeat(3_000_000));
    xml.push_str(SHEET_CLOSE);
    let mut bytes = with_sheet_xml(&xml);
    let name = b"xl/worksheets/sheet1.xml";
    let cd = (0..bytes.len() - 4)
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && bytes[i + 46..].starts_with(name))
        .expect("central directory entry");
    bytes[cd + 24..cd + 28].copy_from_slice(&1024u32.to_le_bytes());
    let e = err(
        &bytes,
        &IngestOptions::new().with_max_unpacked_bytes(2_000_000),
    );
    assert_eq!(e.code(), "too_large", "{e}");
    // Stopped at the 1 KB it declares, not at the 2 MB budget.
    assert!(
        e.message
            .contains("more than the 1024 bytes its zip entry declares"),
        "{e}"
    );
}

#[test]
fn a_row_numbered_sixty_million_is_one_row_not_sixty_million() {
    let xml = format!(
        r#"{SHEET_OPEN}<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="60000000"><c r="A60000000" t="inlineStr"><is><t>last</t></is></c></row>{}{SHEET_CLOSE}"#,
        "<row/>".repeat(100_000)
    );
    let t = one(&with_sheet_xml(&xml));
    assert_eq!(t.row_count, 1);
    assert_eq!(
        t.rows,
        vec![json!({"name": "last"}).as_object().unwrap().clone()]
    );
}

#[test]
fn xml_entity_declarations_are_refused() {
    let mut parts = xlsx_parts(&[("S", vec![vec![text("a")], vec![text("b")]])]);
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&c;</t></si><si><t>b</t></si></sst>"#;
    for (name, data) in parts.iter_mut() {
        if name == "xl/sharedStrings.xml" {
            *data = bomb.as_bytes().to_vec();
        }
    }
    let e = err(&zip(&parts), &IngestOptions::new());
    assert_eq!(e.code(), "invalid_xlsx");
    assert!(e.message.contains("DOCTYPE"), "{}", e.message);
}

#[test]
fn excel_escapes_in_strings_are_undone() {
    let xml = format!(
        r#"{SHEET_OPEN}<row r="1"><c r="A1" t="inlineStr"><is><t>note</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>one_x000D_
two _x005F_x0041_ x_1</t></is></c></row>{SHEET_CLOSE}"#
    );
    let t = one(&with_sheet_xml(&xml));
    assert_eq!(t.rows[0]["note"], json!("one\r\ntwo _x0041_ x_1"));
}

fn nul_issue(t: &Table) -> &Issue {
    t.issues
        .iter()
        .find(|i| i.kind == IssueKind::NulReplaced)
        .expect("a nul_replaced issue")
}

#[test]
fn a_nul_byte_in_a_cell_is_replaced_and_reported_with_row_and_column() {
    let t = one(b"id,name\n1,ok\n2,a\0b\n");
    assert_eq!(t.rows[1]["name"], json!("a\u{fffd}b"));
    let is = nul_issue(&t);
    assert_eq!(
        (is.row, is.line, is.column.as_deref()),
        (Some(2), Some(3), Some("name"))
    );
    assert_eq!(t.issue_counts["nul_replaced"], 1);

    let t = one(br#"[{"id": 1, "name": "a\u0000b", "tags": {"k\u0000": ["\u0000"]}}]"#);
    assert_eq!(t.rows[0]["name"], json!("a\u{fffd}b"));
    assert_eq!(t.rows[0]["tags"], json!({"k\u{fffd}": ["\u{fffd}"]}));
    assert_eq!(t.issue_counts["nul_replaced"], 2);

    let xml = format!(
        r#"{SHEET_OPEN}<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a_x0000_b</t></is></c></row>{SHEET_CLOSE}"#
    );
    let t = one(&with_sheet_xml(&xml));
    assert_eq!(t.rows[0]["name"], json!("a\u{fffd}b"));
    assert_eq!(nul_issue(&t).column.as_deref(), Some("name"));
}

/// Feeds `head` then `chunk` repeatedly (up to `max_chunks`); returns the refusal and how many
/// chunks had been fed when it came.
fn refused_while_streaming(head: &[u8], chunk: &[u8], max_chunks: usize) -> (IngestError, usize) {
    let mut s = DelimitedStream::new(IngestOptions::new()).unwrap();
    s.feed(head).unwrap();
    for n in 1..=max_chunks {
        if let Err(e) = s.feed(chunk) {
            return (e, n);
        }
    }
    panic!("fed {max_chunks} chunks without a refusal");
}

#[test]
fn a_cell_over_the_limit_is_refused_as_it_streams_not_after_it_was_buffered() {
    // A quoted 40 MB cell in 64 KiB chunks: refused once it passes twice the limit (a cell
    // just over it is refused by the row's builder, naming row and column).
    let (e, chunks) = refused_while_streaming(b"id,notes\n1,\"", &[b'x'; 65536], 640);
    assert_eq!(e.code, ErrorCode::CellTooLarge, "{e}");
    assert!(chunks <= 3, "refused after {chunks} chunks");
    assert!(
        e.message.contains("65536") && e.message.contains("line 2"),
        "{}",
        e.message
    );
    // The same unquoted, and as a comment line that never ends.
    let (e, chunks) = refused_while_streaming(b"id,notes\n1,", &[b'y'; 65536], 640);
    assert_eq!(
        (e.code, chunks <= 3),
        (ErrorCode::CellTooLarge, true),
        "{e}"
    );
}

#[test]
fn a_line_of_endless_cells_is_refused_as_it_streams() {
    let (e, chunks) = refused_while_streaming(b"a,b\n1,2\n", &[b','; 65536], 1000);
    assert_eq!(e.code, ErrorCode::TooManyColumns, "{e}");
    assert!(chunks <= 1, "refused after {chunks} chunks");
    assert!(e.message.contains("512"), "{}", e.message);
}
