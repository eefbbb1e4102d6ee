//! The XLSX amplification limits (issue 9): the shared-strings table is capped in count and
//! bytes, and one cell budget covers the cells of every sheet together, so a short workbook
//! whose cells all repeat one long shared string is refused instead of copied a million times.

use ingest::*;
use ingest_testdata::{xlsx_parts, zip, XlsxCell};

const SST_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;
const SHEET_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_CLOSE: &str = "</sheetData></worksheet>";

/// A workbook of `sheets` sheets, its shared strings `sst` and each sheet's XML `sheet_xml`.
fn workbook(sheets: usize, sst: &str, sheet_xml: &str) -> Vec<u8> {
    let names: Vec<String> = (1..=sheets).map(|i| format!("S{i}")).collect();
    let shape: Vec<(&str, Vec<Vec<XlsxCell>>)> = names
        .iter()
        .map(|n| (n.as_str(), vec![vec![XlsxCell::Text("a".into())]]))
        .collect();
    let mut parts = xlsx_parts(&shape);
    for (name, data) in parts.iter_mut() {
        if name == "xl/sharedStrings.xml" {
            *data = sst.as_bytes().to_vec();
        } else if name.starts_with("xl/worksheets/sheet") {
            *data = sheet_xml.as_bytes().to_vec();
        }
    }
    zip(&parts)
}

/// A header row, then `rows` rows whose one cell is shared string 1.
fn sheet_repeating_string_1(rows: usize) -> String {
    let mut xml = String::from(SHEET_OPEN);
    xml.push_str(r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#);
    for r in 2..rows + 2 {
        xml.push_str(&format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>1</v></c></row>"#));
    }
    xml.push_str(SHEET_CLOSE);
    xml
}

fn long_string_sst() -> String {
    format!(
        "{SST_OPEN}<si><t>name</t></si><si><t>{}</t></si></sst>",
        "x".repeat(60 * 1024)
    )
}

fn refused(bytes: &[u8], opts: &IngestOptions) -> IngestError {
    match ingest(bytes, opts) {
        Ok(got) => panic!("expected a refusal, got {} table(s)", got.tables.len()),
        Err(e) => e,
    }
}

#[test]
fn more_than_a_million_shared_strings_are_refused() {
    let mut sst = String::from(SST_OPEN);
    sst.push_str(&"<si/>".repeat(1_000_001));
    sst.push_str("</sst>");
    let e = refused(
        &workbook(1, &sst, &sheet_repeating_string_1(1)),
        &IngestOptions::new(),
    );
    assert_eq!(e.code(), "too_large");
    assert!(e.message.contains("1000000 strings"), "{}", e.message);
    // A million exactly is read.
    let mut sst = String::from(SST_OPEN);
    sst.push_str("<si><t>name</t></si><si><t>v</t></si>");
    sst.push_str(&"<si/>".repeat(999_998));
    sst.push_str("</sst>");
    let got = ingest(
        &workbook(1, &sst, &sheet_repeating_string_1(2)),
        &IngestOptions::new(),
    )
    .unwrap();
    assert_eq!(got.tables[0].row_count, 2);
}

#[test]
fn one_long_shared_string_repeated_by_many_cells_runs_into_the_cell_budget() {
    let opts = IngestOptions::new().with_max_unpacked_bytes(4_000_000);
    // 40 copies of 60 KiB fit 4 MB; 200 copies (12 MB of cells from a 70 KB sheet) do not.
    let fits = ingest(
        &workbook(1, &long_string_sst(), &sheet_repeating_string_1(40)),
        &opts,
    )
    .unwrap();
    assert_eq!(fits.tables[0].row_count, 40);
    let e = refused(
        &workbook(1, &long_string_sst(), &sheet_repeating_string_1(200)),
        &opts,
    );
    assert_eq!(e.code(), "too_large");
    assert!(
        e.message.contains("cells take more than 4000000 bytes"),
        "{}",
        e.message
    );
}

#[test]
fn the_cell_budget_covers_all_sheets_together() {
    let opts = IngestOptions::new().with_max_unpacked_bytes(4_000_000);
    let sheet = sheet_repeating_string_1(40);
    let one = ingest(&workbook(1, &long_string_sst(), &sheet), &opts).unwrap();
    assert_eq!(one.tables.len(), 1, "one sheet of 2.4 MB of cells fits");
    let e = refused(&workbook(2, &long_string_sst(), &sheet), &opts);
    assert_eq!(e.code(), "too_large");
    assert!(e.message.contains("all sheets together"), "{}", e.message);
}

#[test]
fn one_wide_row_makes_every_row_cost_its_width() {
    // 20,000 one-cell rows and one cell in column 500: padded, that is 10 million cells.
    let mut xml = String::from(SHEET_OPEN);
    xml.push_str(r#"<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="SF1" t="inlineStr"><is><t>b</t></is></c></row>"#);
    for r in 2..20_002 {
        xml.push_str(&format!(r#"<row r="{r}"><c r="A{r}"><v>1</v></c></row>"#));
    }
    xml.push_str(SHEET_CLOSE);
    let bytes = workbook(1, &format!("{SST_OPEN}</sst>"), &xml);
    let e = refused(&bytes, &IngestOptions::new());
    assert_eq!(e.code(), "too_large");
    assert!(e.message.contains("cells take more than"), "{}", e.message);
    // Without the wide cell the same rows are read.
    let narrow = xml.replace(r#"<c r="SF1" t="inlineStr"><is><t>b</t></is></c>"#, "");
    let got = ingest(
        &workbook(1, &format!("{SST_OPEN}</sst>"), &narrow),
        &IngestOptions::new(),
    )
    .unwrap();
    assert_eq!(got.tables[0].row_count, 20_000);
}
