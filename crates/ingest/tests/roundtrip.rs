//! The round trip: every file of the formatted corpus, ingested and written back through
//! `SourceCsv` from its own schema_def, is the same bytes; every sampled value renders back as
//! its text (`misses` 0).

use ingest::{ingest, render, schema_def, ColumnType, IngestOptions, SourceCsv, SourceFormat};
use ingest_testdata::{formatted_corpus, formatted_workbook};
use serde_json::{json, Value};

fn write_back(bytes: &[u8]) -> (String, ingest::Table) {
    let got = ingest(bytes, &IngestOptions::new()).expect("the corpus ingests");
    assert_eq!(got.tables.len(), 1);
    let table = got.tables.into_iter().next().unwrap();
    let csv = SourceCsv::new(&schema_def(&table));
    let mut out = csv.header();
    for row in &table.rows {
        out.extend(csv.record(&Value::from(row.clone()), &|s| s.to_string()));
    }
    (String::from_utf8(out).unwrap(), table)
}

#[test]
fn every_formatted_file_comes_back_byte_for_byte() {
    for file in formatted_corpus() {
        let (back, table) = write_back(&file.bytes);
        assert_eq!(
            back,
            String::from_utf8(file.bytes.clone()).unwrap(),
            "{}",
            file.name
        );
        for c in &table.columns {
            // A text column without nulls writes its strings as they are: no format needed.
            let Some(f) = c.source_format.as_ref() else {
                assert_eq!(
                    c.ty,
                    ColumnType::String,
                    "{}: {} has a format",
                    file.name,
                    c.key
                );
                continue;
            };
            assert_eq!(f.misses, 0, "{}: {} {f:?}", file.name, c.key);
            assert!(f.checked > 0);
        }
    }
}

#[test]
fn values_are_stored_typed_and_render_back_as_written() {
    let corpus = formatted_corpus();
    let (_, us) = write_back(&corpus[0].bytes);
    let col = |t: &ingest::Table, key: &str| t.column(key).unwrap().clone();
    // Typed storage is what the other tests hold; here: the types the round trip goes through.
    assert_eq!(us.rows[0]["amount"], json!(1234.5));
    assert_eq!(us.rows[0]["order_date"], json!("2018-01-28"));
    assert_eq!(us.rows[0]["pickup"], json!("00:00:00"));
    assert_eq!(us.rows[0]["shipped"], json!(true));
    assert_eq!(us.rows[0]["region"], Value::Null);
    for (key, ty) in [
        ("amount", ColumnType::Number),
        ("order_date", ColumnType::Date),
        ("shipped", ColumnType::Boolean),
        ("discount", ColumnType::Number),
        ("pickup", ColumnType::Time),
        ("units", ColumnType::Integer),
    ] {
        assert_eq!(col(&us, key).ty, ty, "{key}");
    }
    let amount = col(&us, "amount").source_format.unwrap();
    assert_eq!(render(&json!(-1234567.5), &amount), "-$1,234,567.50");
    assert_eq!(render(&Value::Null, &amount), "NA");
    let date = col(&us, "order_date").source_format.unwrap();
    assert_eq!(date.pattern.as_deref(), Some("%m/%d/%Y"));
    let (_, de) = write_back(&corpus[1].bytes);
    let betrag = col(&de, "betrag").source_format.unwrap();
    assert_eq!(render(&json!(99.5), &betrag), "99,50 €");
    assert_eq!(
        col(&de, "datum").source_format.unwrap().pattern.as_deref(),
        Some("%d.%m.%Y")
    );
    assert!(de.dialect.as_ref().unwrap().crlf);
    let (_, shifts) = write_back(&corpus[2].bytes);
    let ends = col(&shifts, "ends").source_format.unwrap();
    assert_eq!(ends.pattern.as_deref(), Some("%-I:%M %p"));
    assert_eq!(render(&json!("00:05:00"), &ends), "12:05 AM");
}

#[test]
fn the_documented_normalisations() {
    // Spaces around a typed value, a second spelling in one column and quotes a field did not
    // need are not kept; the format counts what it could not write back.
    let (back, table) = write_back(b"a,b,c\n\" x\", 12 ,Yes\n\"y\",3,yes\n");
    assert_eq!(back, "a,b,c\n x,12,Yes\ny,3,Yes\n");
    let f: &SourceFormat = table.column("b").unwrap().source_format.as_ref().unwrap();
    assert_eq!((f.checked, f.misses), (2, 1));
    assert_eq!(
        table
            .column("c")
            .unwrap()
            .source_format
            .as_ref()
            .unwrap()
            .misses,
        1
    );
}

#[test]
fn an_xlsx_comes_back_as_excel_showed_it() {
    let book = formatted_workbook();
    let (back, table) = write_back(&book.bytes);
    assert_eq!(back, book.shown);
    let price = table
        .column("price")
        .unwrap()
        .source_format
        .as_ref()
        .unwrap();
    assert_eq!(
        (price.checked, price.misses),
        (2, 0),
        "read from the style, for every cell"
    );
}

#[test]
fn an_xlsx_column_of_mixed_formats_keeps_the_plain_form() {
    use ingest_testdata::{xlsx, XlsxCell};
    let f = |v: f64, code: &str| XlsxCell::Formatted(v, code.into());
    let rows = vec![
        vec![XlsxCell::Text("Amount".into())],
        vec![f(1.5, "\"$\"#,##0.00")],
        vec![f(2.5, "0.00")],
        vec![f(3.0, "0.00E+00")],
    ];
    let (back, _) = write_back(&xlsx(&[("S", rows)]));
    assert_eq!(
        back, "Amount\n1.5\n2.5\n3\n",
        "no one format shows them all"
    );
}
