//! Value fidelity (issue 12): every written digit survives, JSON strings stay what they are,
//! key order and duplicate keys are as written, Excel number formats become semantic types.

use ingest::*;
use serde_json::{json, Value};

fn one(bytes: &[u8]) -> Table {
    let got = ingest(bytes, &IngestOptions::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.tables.len(), 1);
    got.tables.into_iter().next().unwrap()
}

fn texts(t: &Table, key: &str) -> Vec<String> {
    t.rows.iter().map(|r| r[key].to_string()).collect()
}

fn col<'a>(t: &'a Table, key: &str) -> &'a Column {
    t.column(key).unwrap_or_else(|| panic!("no column {key}"))
}

#[test]
fn delimited_numbers_keep_every_written_digit() {
    let t = one(b"id;x\n1;12.277999999999999\n2;8.3945900000000009\n3;0.1\n4;1.5E+3\n");
    assert_eq!(col(&t, "x").ty, ColumnType::Number);
    assert_eq!(
        texts(&t, "x"),
        ["12.277999999999999", "8.3945900000000009", "0.1", "1500.0"]
    );
    // A decimal comma with more digits than an f64 holds: the digits, with a dot.
    let t = one(b"id;x\n1;1.234,12345678901234567\n2;2,5\n");
    assert_eq!(texts(&t, "x"), ["1234.12345678901234567", "2.5"]);
}

#[test]
fn json_numbers_keep_every_written_digit() {
    let t = one(
        br#"[{"n": 123456789012345678901234567890, "x": 12.277999999999999},
                     {"n": 1, "x": 8.3945900000000009}]"#,
    );
    assert_eq!(texts(&t, "n"), ["123456789012345678901234567890", "1"]);
    assert_eq!(texts(&t, "x"), ["12.277999999999999", "8.3945900000000009"]);
    assert_eq!(col(&t, "x").ty, ColumnType::Number);
    assert_eq!(
        serde_json::to_string(&t.rows[0]).unwrap(),
        r#"{"n":123456789012345678901234567890,"x":12.277999999999999}"#
    );
}

#[test]
fn json_strings_are_values_never_null_tokens() {
    let t = one(br#"[{"region": "NA", "note": ""}, {"region": "EU", "note": "-"}, {"region": null, "note": "x"}]"#);
    let region: Vec<&Value> = t.rows.iter().map(|r| &r["region"]).collect();
    assert_eq!(region, [&json!("NA"), &json!("EU"), &Value::Null]);
    let note: Vec<&Value> = t.rows.iter().map(|r| &r["note"]).collect();
    assert_eq!(note, [&json!(""), &json!("-"), &json!("x")]);
    assert_eq!(col(&t, "region").null_count, 1, "only JSON null is null");
    assert!(col(&t, "region").null_tokens.is_empty());
    // The same texts in CSV are null spellings, as before.
    let t = one(b"region,note\nNA,\nEU,x\n");
    assert_eq!(t.rows[0]["region"], Value::Null);
}

#[test]
fn json_columns_keep_first_seen_key_order() {
    let t = one(br#"[{"zeta": 1, "alpha": 2, "mid": 3}, {"beta": 4, "alpha": 5}]"#);
    let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["zeta", "alpha", "mid", "beta"]);
    let t = one(b"{\"b\": 1, \"a\": 2}\n{\"c\": 3, \"b\": 4}\n");
    let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["b", "a", "c"], "NDJSON too");
    let t = one(br#"{"meta": {"z": 1}, "data": [{"y": 1, "x": 2}]}"#);
    let keys: Vec<&str> = t.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["y", "x"], "records under a field");
}

#[test]
fn json_duplicate_keys_are_reported_with_row_and_column() {
    let t = one(br#"[{"id": 1, "price": 10}, {"id": 2, "price": 20, "price": 25, "tags": {"k": 1, "k": 2}}]"#);
    assert_eq!(
        t.rows[1]["price"],
        json!(25),
        "the last value, as JSON.parse and jsonb"
    );
    assert_eq!(t.rows[1]["tags"], json!({"k": 2}));
    let dups: Vec<&Issue> = t
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::DuplicateKey)
        .collect();
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0].row, Some(2));
    assert_eq!(dups[0].column.as_deref(), Some("price"));
    assert_eq!(dups[0].original.as_deref(), Some("20"));
    assert_eq!(dups[1].column.as_deref(), Some("tags"));
    assert!(dups[1].message.contains("tags.k"), "{}", dups[1].message);
    assert_eq!(t.issue_counts["duplicate_key"], 2);
    // NDJSON: the row and the line.
    let t = one(b"{\"a\": 1}\n\n{\"a\": 2, \"a\": 3}\n");
    let d = t
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::DuplicateKey)
        .unwrap();
    assert_eq!((d.row, d.line), (Some(2), Some(3)));
}

#[test]
fn the_records_key_names_the_array_of_a_json_form() {
    let body =
        br#"{"company_name": "Acme", "other": [{"q": 1}, {"q": 2}], "data": [{"b": 1, "a": 2}]}"#;
    let got = ingest(body, &IngestOptions::new().with_json_records_key("data")).unwrap();
    let keys: Vec<&str> = got.tables[0]
        .columns
        .iter()
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(keys, ["b", "a"]);
    let e = ingest(
        br#"{"data": 3}"#,
        &IngestOptions::new().with_json_records_key("data"),
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_json");
}

#[test]
fn json_nesting_beyond_the_recursion_limit_is_an_error() {
    let deep = format!(
        "[{{\"a\": {}1{}}}]",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = ingest(deep.as_bytes(), &IngestOptions::new()).unwrap_err();
    assert_eq!(e.code(), "invalid_json");
}

mod xlsx {
    use super::*;
    use ingest_testdata::{xlsx, XlsxCell};

    fn text(s: &str) -> XlsxCell {
        XlsxCell::Text(s.into())
    }

    #[test]
    fn numbers_are_what_excel_shows_15_significant_digits() {
        let rows = vec![
            vec![text("item"), text("price")],
            vec![text("a"), XlsxCell::NumberText("78.54000000000001".into())],
            vec![text("b"), XlsxCell::NumberText("78.540000000000006".into())],
            vec![
                text("c"),
                XlsxCell::NumberText("0.30000000000000004".into()),
            ],
            vec![text("d"), XlsxCell::NumberText("12.5".into())],
            vec![text("e"), XlsxCell::NumberText("1.5E+20".into())],
            vec![text("f"), XlsxCell::NumberText("1500.0".into())],
        ];
        let t = one(&xlsx(&[("S", rows)]));
        assert_eq!(
            col(&t, "price").ty,
            ColumnType::Number,
            "numbers stay numbers"
        );
        assert_eq!(
            texts(&t, "price"),
            [
                "78.54",
                "78.54",
                "0.3",
                "12.5",
                "150000000000000000000",
                "1500"
            ]
        );
        assert_eq!(t.issue_counts.get("value_not_converted"), None);
    }

    #[test]
    fn currency_and_percent_formats_become_semantic_types() {
        let f = |v: f64, code: &str| XlsxCell::Formatted(v, code.into());
        let rows = vec![
            vec![text("price"), text("share"), text("amount"), text("plain")],
            vec![
                f(74.69, "\"$\"#,##0.00"),
                f(0.125, "0.0%"),
                f(1234.5, "#,##0.00\\ [$€-407]"),
                f(3.0, "0.00"),
            ],
            vec![
                f(5.0, "\"$\"#,##0.00"),
                f(0.07, "0.0%"),
                f(2.0, "#,##0.00\\ [$€-407]"),
                f(4.0, "0.00"),
            ],
        ];
        let t = one(&xlsx(&[("S", rows)]));
        let price = col(&t, "price");
        assert_eq!(price.semantic_type, Some(SemanticType::Currency));
        assert_eq!(price.format.currency_code.as_deref(), Some("USD"));
        assert_eq!(texts(&t, "price"), ["74.69", "5"]);
        let share = col(&t, "share");
        assert_eq!(share.semantic_type, Some(SemanticType::Percent));
        assert_eq!(texts(&t, "share"), ["12.5", "7"], "percent points, exactly");
        let amount = col(&t, "amount");
        assert_eq!(amount.semantic_type, Some(SemanticType::Currency));
        assert_eq!(amount.format.currency_code.as_deref(), Some("EUR"));
        assert_eq!(col(&t, "plain").semantic_type, None);
    }
}

#[test]
fn german_french_and_spanish_booleans_are_booleans() {
    for (header, yes, no) in [
        ("Aktiv", "ja", "nein"),
        ("Actif", "oui", "non"),
        ("Activo", "sí", "no"),
        ("Gültig", "wahr", "falsch"),
        ("Valide", "vrai", "faux"),
        ("Válido", "verdadero", "falso"),
    ] {
        let csv = format!("Name,{header}\nAna,{yes}\nBruno,{no}\nChloé,{yes}\n");
        let t = one(csv.as_bytes());
        let c = &t.columns[1];
        assert_eq!(c.ty, ColumnType::Boolean, "{header}: {c:?}");
        assert_eq!(t.rows[0][&c.key], json!(true), "{header}");
        assert_eq!(t.rows[1][&c.key], json!(false), "{header}");
    }
}
