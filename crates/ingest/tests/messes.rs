//! One test per mess a real upload brings: each asserts the values a user would read back,
//! the column types, and the issues reported.

use ingest::*;
use ingest_testdata::{xlsx, XlsxCell};
use serde_json::{json, Value};

fn one(bytes: &[u8]) -> Table {
    let got = ingest(bytes, &IngestOptions::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.tables.len(), 1);
    got.tables.into_iter().next().unwrap()
}

fn col<'a>(t: &'a Table, key: &str) -> &'a Column {
    t.column(key).unwrap_or_else(|| {
        panic!(
            "no column {key}; have {:?}",
            t.columns.iter().map(|c| &c.key).collect::<Vec<_>>()
        )
    })
}

fn ty(t: &Table, key: &str) -> ColumnType {
    col(t, key).ty
}

fn count(t: &Table, kind: &str) -> u64 {
    t.issue_counts.get(kind).copied().unwrap_or(0)
}

#[test]
fn utf8_with_and_without_bom_read_the_same() {
    let plain = "name,city\nJosé,Zürich\n".as_bytes().to_vec();
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&plain);
    let a = one(&plain);
    let b = one(&bom);
    assert_eq!(a.rows, b.rows);
    assert_eq!(
        b.columns[0].key, "name",
        "the BOM must not stick to the first header"
    );
    assert_eq!(a.encoding, Some(TextEncoding::Utf8));
    assert_eq!(b.encoding, Some(TextEncoding::Utf8Bom));
    assert_eq!(b.rows[0]["city"], json!("Zürich"));
}

#[test]
fn utf16_le_and_be_with_bom() {
    let text = "id,name\n1,Łódź\n2,東京\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
    for (bytes, enc) in [(le, TextEncoding::Utf16Le), (be, TextEncoding::Utf16Be)] {
        let t = one(&bytes);
        assert_eq!(t.encoding, Some(enc));
        assert_eq!(t.rows[1]["name"], json!("東京"));
        assert_eq!(ty(&t, "id"), ColumnType::Integer);
    }
}

#[test]
fn windows_1252_file_is_read_as_such_and_reported() {
    // "Café;Preis\nCrème brûlée;4,50 €" in Windows-1252.
    let bytes = b"Caf\xe9;Preis\nCr\xe8me br\xfbl\xe9e;4,50 \x80\nTh\xe9;2,00 \x80\n";
    let t = one(bytes);
    assert_eq!(t.encoding, Some(TextEncoding::Windows1252));
    assert_eq!(t.columns[0].name, "Café");
    assert_eq!(t.columns[0].key, "cafe");
    assert_eq!(t.rows[0]["cafe"], json!("Crème brûlée"));
    assert_eq!(t.rows[0]["preis"], json!(4.5));
    assert_eq!(col(&t, "preis").semantic_type, Some(SemanticType::Currency));
    assert_eq!(
        col(&t, "preis").format.currency_code.as_deref(),
        Some("EUR")
    );
    assert_eq!(count(&t, "encoding_fallback"), 1);
    assert_eq!(
        t.issues
            .iter()
            .find(|i| i.kind == IssueKind::EncodingFallback)
            .and_then(|i| i.offset),
        Some(3)
    );
}

#[test]
fn invalid_utf8_bytes_in_a_utf8_file_are_kept_and_reported_with_offset() {
    let mut bytes = "name,note\n".as_bytes().to_vec();
    bytes.extend("ok,naïve\n".as_bytes());
    let bad_at = bytes.len() + "bad,caf".len();
    bytes.extend(b"bad,caf\xe9\n");
    // Feed through the stream in 1-byte chunks: the UTF-8 'ï' is split across chunks.
    let mut s = DelimitedStream::new(IngestOptions::new()).unwrap();
    let mut rows = Vec::new();
    for b in &bytes {
        rows.extend(s.feed(std::slice::from_ref(b)).unwrap());
    }
    let end = s.finish().unwrap();
    rows.extend(end.rows);
    assert_eq!(rows[0]["note"], json!("naïve"));
    // In a file that is UTF-8 elsewhere the lone byte is kept (as Windows-1252) and reported.
    assert_eq!(rows[1]["note"], json!("café"));
    let issue = end
        .table
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::InvalidEncoding)
        .expect("reported");
    assert_eq!(issue.offset, Some(bad_at as u64));
}

#[test]
fn delimiters_are_sniffed() {
    for (delim, name) in [
        (',', "comma"),
        (';', "semicolon"),
        ('\t', "tab"),
        ('|', "pipe"),
    ] {
        let text = format!("a{d}b{d}c\n1{d}x y{d}3.5\n2{d}\"z, w\"{d}4.5\n", d = delim);
        let t = one(text.as_bytes());
        assert_eq!(t.dialect.as_ref().unwrap().delimiter, delim, "{name}");
        assert_eq!(t.columns.len(), 3, "{name}");
        assert_eq!(t.rows[1]["b"], json!("z, w"), "{name}");
        assert_eq!(ty(&t, "c"), ColumnType::Number, "{name}");
    }
}

#[test]
fn quoted_newlines_and_escaped_quotes() {
    let t = one(b"id,comment\n1,\"first line\nsecond line\"\n2,\"she said \"\"hi\"\", then left\"\n3,plain\n");
    assert_eq!(t.row_count, 3);
    assert_eq!(t.rows[0]["comment"], json!("first line\nsecond line"));
    assert_eq!(t.rows[1]["comment"], json!("she said \"hi\", then left"));
    assert_eq!(t.rows[2]["id"], json!(3));
}

#[test]
fn header_presence_is_detected() {
    let t = one(b"1,2024-01-05,10.5\n2,2024-01-06,11\n3,2024-01-07,12\n");
    assert!(!t.dialect.as_ref().unwrap().has_header);
    assert_eq!(t.row_count, 3);
    assert_eq!(
        t.columns.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["column_1", "column_2", "column_3"]
    );
    assert_eq!(ty(&t, "column_2"), ColumnType::Date);
    let t = one(b"id,day,amount\n1,2024-01-05,10.5\n");
    assert!(t.dialect.as_ref().unwrap().has_header);
    assert_eq!(t.row_count, 1);
}

#[test]
fn title_lines_and_comments_above_the_header_are_skipped_and_reported() {
    let text = "Quarterly sales report\nExported 2024-03-01 by admin\n# source: crm\nregion;units;revenue\nNorth;10;1.234,50\n# a comment in the data\nSouth;7;99,00\n";
    let t = one(text.as_bytes());
    let d = t.dialect.as_ref().unwrap();
    assert_eq!(d.delimiter, ';');
    assert_eq!(d.preamble_lines, 2);
    assert_eq!(d.comment, Some('#'));
    assert_eq!(t.row_count, 2);
    assert_eq!(t.rows[0]["revenue"], json!(1234.5));
    assert_eq!(t.rows[1]["region"], json!("South"));
    assert_eq!(count(&t, "preamble_skipped"), 2);
    assert_eq!(count(&t, "comment_line"), 2);
    let pre = t
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::PreambleSkipped)
        .unwrap();
    assert_eq!(pre.original.as_deref(), Some("Quarterly sales report"));
    assert_eq!(pre.line, Some(1));
}

#[test]
fn trailing_empty_columns_are_dropped_once() {
    let t = one(b"a,b,,\n1,2,,\n3,4,,\n");
    assert_eq!(t.columns.len(), 2);
    assert_eq!(t.dialect.as_ref().unwrap().trailing_empty_columns, 2);
    assert_eq!(count(&t, "trailing_empty_columns"), 1);
    assert_eq!(count(&t, "ragged_row"), 0);
}

#[test]
fn ragged_rows_are_padded_or_extended_never_shifted() {
    let t = one(b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n");
    assert_eq!(t.rows[1]["a"], json!(4));
    assert_eq!(t.rows[1]["b"], json!(5));
    assert_eq!(t.rows[1]["c"], Value::Null);
    assert_eq!(t.rows[2]["c"], json!(8));
    assert_eq!(t.rows[2]["column_4"], json!(9));
    assert_eq!(t.rows[0]["column_4"], Value::Null);
    assert_eq!(count(&t, "ragged_row"), 2);
    let rag: Vec<_> = t
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::RaggedRow)
        .map(|i| (i.row, i.line))
        .collect();
    assert_eq!(rag, [(Some(2), Some(3)), (Some(3), Some(4))]);
    assert_eq!(col(&t, "column_4").null_count, 3);
}

#[test]
fn duplicate_and_empty_headers_get_unique_keys() {
    let t = one(b"Name,name,,Amount (USD)\nx,y,z,1\n");
    let keys: Vec<_> = t.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["name", "name_2", "column_3", "amount_usd"]);
    assert_eq!(t.columns[1].name, "name");
    assert_eq!(count(&t, "duplicate_header"), 1);
    assert_eq!(count(&t, "empty_header"), 1);
    assert_eq!(t.rows[0]["column_3"], json!("z"));
}

#[test]
fn locale_numbers_are_resolved_per_column() {
    let t = one(
        "us;eu;plain\n\"1,234.56\";1.234,56;12\n\"2,000.5\";2.000,5;13\n\"3.25\";3,25;14\n"
            .as_bytes(),
    );
    assert_eq!(t.rows[0]["us"], json!(1234.56));
    assert_eq!(t.rows[0]["eu"], json!(1234.56));
    assert_eq!(t.rows[1]["eu"], json!(2000.5));
    assert_eq!(t.rows[2]["eu"], json!(3.25));
    assert_eq!(col(&t, "eu").format.decimal_separator, Some(','));
    assert_eq!(col(&t, "eu").format.thousands_separator, Some('.'));
    assert_eq!(col(&t, "us").format.decimal_separator, Some('.'));
    assert_eq!(ty(&t, "plain"), ColumnType::Integer);
}

#[test]
fn date_orders_are_resolved_per_column_by_evidence() {
    let text = "eu,us,dots,named,iso_dt\n31/01/2024,01/31/2024,05.03.2024,15 Jan 2024,2024-01-15T10:30:00Z\n05/02/2024,02/05/2024,06.03.2024,\"March 3, 2024\",2024-01-16 08:00:00\n";
    let t = one(text.as_bytes());
    assert_eq!(col(&t, "eu").format.date_order, Some(DateOrder::Dmy));
    assert_eq!(t.rows[1]["eu"], json!("2024-02-05"));
    assert_eq!(col(&t, "us").format.date_order, Some(DateOrder::Mdy));
    assert_eq!(t.rows[1]["us"], json!("2024-02-05"));
    assert_eq!(t.rows[0]["dots"], json!("2024-03-05"));
    assert_eq!(t.rows[1]["named"], json!("2024-03-03"));
    assert_eq!(ty(&t, "named"), ColumnType::Date);
    assert_eq!(ty(&t, "iso_dt"), ColumnType::Datetime);
    assert_eq!(t.rows[0]["iso_dt"], json!("2024-01-15T10:30:00Z"));
    assert_eq!(t.rows[1]["iso_dt"], json!("2024-01-16T08:00:00"));
    assert_eq!(count(&t, "ambiguous_date_order"), 0);
}

#[test]
fn ambiguous_date_order_is_assumed_and_reported() {
    let t = one(b"day\n01/02/2024\n03/04/2024\n");
    assert_eq!(t.rows[0]["day"], json!("2024-01-02"));
    assert!(col(&t, "day").format.date_order_assumed);
    assert_eq!(count(&t, "ambiguous_date_order"), 1);
    let opts = IngestOptions::new().with_ambiguous_date_order(DateOrder::Dmy);
    let t = ingest(b"day\n01/02/2024\n", &opts)
        .unwrap()
        .tables
        .remove(0);
    assert_eq!(t.rows[0]["day"], json!("2024-02-01"));
}

#[test]
fn times_are_typed() {
    let t = one(b"start,end\n09:00,5:30 PM\n13:45:10,11:15 AM\n");
    assert_eq!(ty(&t, "start"), ColumnType::Time);
    assert_eq!(t.rows[0]["end"], json!("17:30:00"));
    assert_eq!(t.rows[1]["start"], json!("13:45:10"));
}

#[test]
fn null_tokens_become_null_and_are_listed() {
    let t = one(b"v\n1\nNA\nN/A\nnull\nNULL\n-\nnone\n\n2\n");
    let c = col(&t, "v");
    assert_eq!(c.ty, ColumnType::Integer);
    // The blank line is skipped as a blank line, not read as a null.
    assert_eq!(c.null_count, 6);
    assert!(c.nullable);
    assert_eq!(c.null_tokens, ["-", "N/A", "NA", "NULL", "none", "null"]);
    assert_eq!(t.rows.iter().filter(|r| r["v"].is_null()).count(), 6);
}

#[test]
fn booleans_only_when_the_column_is_clearly_boolean() {
    let t = one(b"active,is_admin,count,answer\nyes,1,1,Y\nno,0,0,n\nyes,1,0,y\n");
    assert_eq!(ty(&t, "active"), ColumnType::Boolean);
    assert_eq!(t.rows[1]["active"], json!(false));
    assert_eq!(
        ty(&t, "is_admin"),
        ColumnType::Boolean,
        "0/1 with a boolean name"
    );
    assert!(col(&t, "is_admin").format.boolean_digits);
    assert_eq!(
        ty(&t, "count"),
        ColumnType::Integer,
        "0/1 with no hint stays a number"
    );
    assert_eq!(t.rows[0]["count"], json!(1));
    assert_eq!(ty(&t, "answer"), ColumnType::Boolean);
}

#[test]
fn leading_zeros_and_big_integers_stay_text() {
    let t = one(
        b"zip,agent,big,small\n02134,007,9007199254740993,5\n90210,042,12345678901234567890,6\n",
    );
    assert_eq!(t.rows[0]["zip"], json!("02134"));
    assert_eq!(t.rows[1]["zip"], json!("90210"));
    assert_eq!(ty(&t, "zip"), ColumnType::String);
    assert_eq!(col(&t, "zip").semantic_type, Some(SemanticType::Code));
    assert_eq!(t.rows[0]["agent"], json!("007"));
    assert_eq!(t.rows[0]["big"], json!("9007199254740993"));
    assert_eq!(col(&t, "big").semantic_type, Some(SemanticType::BigInteger));
    assert_eq!(ty(&t, "small"), ColumnType::Integer);
}

#[test]
fn currency_and_percent() {
    let t = one(
        "price,fee,rate\n\"$1,234.50\",€12,12.5%\n$3.00,12 EUR,-3%\n\"$10\",EUR 7.25,100%\n"
            .as_bytes(),
    );
    assert_eq!(t.rows[0]["price"], json!(1234.5));
    assert_eq!(t.rows[2]["price"], json!(10));
    let p = col(&t, "price");
    assert_eq!(
        (p.ty, p.semantic_type),
        (ColumnType::Number, Some(SemanticType::Currency))
    );
    assert_eq!(
        (
            p.format.currency_symbol.as_deref(),
            p.format.currency_code.as_deref()
        ),
        (Some("$"), Some("USD"))
    );
    assert_eq!(t.rows[1]["fee"], json!(12));
    assert_eq!(t.rows[2]["fee"], json!(7.25));
    assert_eq!(col(&t, "fee").format.currency_code.as_deref(), Some("EUR"));
    assert_eq!(t.rows[0]["rate"], json!(12.5));
    assert_eq!(t.rows[1]["rate"], json!(-3));
    assert_eq!(col(&t, "rate").semantic_type, Some(SemanticType::Percent));
    assert_eq!(p.min, Some(json!(3.0)));
    assert_eq!(p.max, Some(json!(1234.5)));
}

#[test]
fn mixed_currencies_are_not_merged_into_numbers() {
    let t = one("amount\n$5\n€6\n".as_bytes());
    assert_eq!(ty(&t, "amount"), ColumnType::String);
    assert_eq!(t.rows[1]["amount"], json!("€6"));
}

#[test]
fn semantic_string_types() {
    let text = "email,site,id,phone,ip\nann@example.com,https://example.com/a,123e4567-e89b-12d3-a456-426614174000,+1 (555) 010-9999,10.0.0.1\nbob@example.org,http://x.org,223e4567-e89b-12d3-a456-426614174000,+44 20 7946 0958,192.168.1.20\n";
    let t = one(text.as_bytes());
    for (key, sem) in [
        ("email", SemanticType::Email),
        ("site", SemanticType::Url),
        ("id", SemanticType::Uuid),
        ("phone", SemanticType::Phone),
        ("ip", SemanticType::Ipv4),
    ] {
        assert_eq!(col(&t, key).semantic_type, Some(sem), "{key}");
        assert_eq!(ty(&t, key), ColumnType::String, "{key}");
    }
}

#[test]
fn a_few_bad_cells_keep_their_text_and_are_reported() {
    let mut text = String::from("qty\n");
    for i in 0..20 {
        text.push_str(&format!("{i}\n"));
    }
    text.push_str("about 5\n");
    let t = one(text.as_bytes());
    let c = col(&t, "qty");
    assert_eq!(c.inferred_type, ColumnType::Integer);
    assert_eq!(c.ty, ColumnType::Mixed);
    assert_eq!(c.nonconforming_count, 1);
    assert_eq!(t.rows[20]["qty"], json!("about 5"));
    let i = t
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::ValueNotConverted)
        .unwrap();
    assert_eq!(
        (i.row, i.column.as_deref(), i.original.as_deref()),
        (Some(21), Some("qty"), Some("about 5"))
    );
}

#[test]
fn stream_reports_values_after_the_sample_truthfully() {
    let mut csv = String::from("id,amount\n");
    for i in 0..3000 {
        csv.push_str(&format!("{i},{i}\n"));
    }
    csv.push_str("3000,abc\n3001,52\n");
    let mut s = DelimitedStream::new(IngestOptions::new().with_sample_rows(10)).unwrap();
    let mut rows = Vec::new();
    let mut batches_before_end = 0;
    for chunk in csv.as_bytes().chunks(7) {
        let got = s.feed(chunk).unwrap();
        rows.extend(got);
        if !rows.is_empty() {
            batches_before_end += 1;
        }
    }
    let end = s.finish().unwrap();
    rows.extend(end.rows);
    assert!(batches_before_end > 0, "rows must stream out before finish");
    assert_eq!(rows.len(), 3002);
    assert_eq!(rows[3000]["amount"], json!("abc"));
    assert_eq!(rows[3001]["amount"], json!(52));
    let c = end.table.column("amount").unwrap();
    assert_eq!(
        (c.inferred_type, c.ty, c.nonconforming_count),
        (ColumnType::Integer, ColumnType::Mixed, 1)
    );
    assert_eq!(end.table.row_count, 3002);
    let def = schema_def(&end.table);
    assert_eq!(def["columns"][1]["type"], "mixed");
    assert_eq!(def["issue_counts"]["value_not_converted"], 1);
}

#[test]
fn ndjson_logs() {
    let text = "{\"ts\":\"2024-05-01T10:00:00Z\",\"level\":\"info\",\"latency_ms\":12,\"user\":{\"id\":1}}\n{\"ts\":\"2024-05-01T10:00:01Z\",\"level\":\"error\",\"latency_ms\":250.5,\"message\":\"boom\",\"user\":{\"id\":2}}\n\n";
    let got = ingest(text.as_bytes(), &IngestOptions::new()).unwrap();
    assert_eq!(got.format, Format::Ndjson);
    let t = &got.tables[0];
    assert_eq!(t.row_count, 2);
    assert_eq!(ty(t, "ts"), ColumnType::Datetime);
    assert_eq!(ty(t, "latency_ms"), ColumnType::Number);
    assert_eq!(ty(t, "user"), ColumnType::Json);
    assert_eq!(t.rows[1]["user"], json!({"id": 2}));
    assert_eq!(t.rows[0]["message"], Value::Null);
    assert_eq!(t.data_type, "events");
}

#[test]
fn nested_json_arrays_and_wrapped_arrays() {
    let doc = json!({"meta": {"page": 1}, "data": [
        {"sku": "A-1", "price": 9.99, "tags": ["x", "y"], "stock": 3, "warehouse": "north"},
        {"sku": "B-2", "price": 19.5, "tags": [], "stock": 0, "warehouse": "south", "big": 12345678901234567890u64}
    ]});
    let got = ingest(doc.to_string().as_bytes(), &IngestOptions::new()).unwrap();
    assert_eq!(got.format, Format::Json);
    let t = &got.tables[0];
    assert_eq!(t.row_count, 2);
    assert_eq!(t.rows[0]["tags"], json!(["x", "y"]));
    assert_eq!(ty(t, "tags"), ColumnType::Json);
    assert_eq!(ty(t, "price"), ColumnType::Number);
    assert_eq!(ty(t, "stock"), ColumnType::Integer);
    // A JSON integer is kept exactly as the source wrote it.
    assert_eq!(t.rows[1]["big"], json!(12345678901234567890u64));
    assert_eq!(t.data_type, "inventory");
    let arr = ingest(br#"[{"a": 1}, {"a": "2024-01-02"}]"#, &IngestOptions::new()).unwrap();
    assert_eq!(arr.tables[0].rows.len(), 2);
}

#[test]
fn invalid_json_is_an_error_with_a_code() {
    let e = ingest(b"[{\"a\": 1},", &IngestOptions::new().with_hint("x.json")).unwrap_err();
    assert_eq!(e.code(), "invalid_json");
    let e = ingest(b"{\"a\":1}\n{\"a\":2\n", &IngestOptions::new()).unwrap_err();
    assert_eq!(e.code(), "invalid_json");
    assert_eq!(e.row, Some(2));
}

#[test]
fn xlsx_with_two_sheets_and_date_serials() {
    use XlsxCell::*;
    let bytes = xlsx(&[
        (
            "Orders",
            vec![
                vec![
                    Text("Order ID".into()),
                    Text("Order Date".into()),
                    Text("Unit Price".into()),
                    Text("Paid".into()),
                    Text("Zip".into()),
                ],
                vec![
                    Number(1.0),
                    Date(45306.0),
                    Number(9.99),
                    Bool(true),
                    Text("02134".into()),
                ],
                vec![
                    Number(2.0),
                    Date(45307.0),
                    Number(10.0),
                    Bool(false),
                    Text("90210".into()),
                ],
            ],
        ),
        (
            "Staff & Pay",
            vec![
                vec![Text("Report <2024>".into())],
                vec![
                    Text("Employee".into()),
                    Text("Department".into()),
                    Text("Salary".into()),
                    Text("Hired At".into()),
                ],
                vec![
                    Text("Ann".into()),
                    Text("R&D".into()),
                    Number(5000.5),
                    DateTime(45306.75),
                ],
            ],
        ),
    ]);
    let got = ingest(&bytes, &IngestOptions::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.format, Format::Xlsx);
    assert_eq!(got.tables.len(), 2);
    let o = &got.tables[0];
    assert_eq!(o.sheet.as_deref(), Some("Orders"));
    assert_eq!(o.rows[0]["order_date"], json!("2024-01-15"));
    assert_eq!(ty(o, "order_date"), ColumnType::Date);
    assert_eq!(o.rows[0]["order_id"], json!(1));
    assert_eq!(ty(o, "order_id"), ColumnType::Integer);
    assert_eq!(o.rows[1]["unit_price"], json!(10));
    assert_eq!(ty(o, "unit_price"), ColumnType::Number);
    assert_eq!(o.rows[0]["paid"], json!(true));
    assert_eq!(o.rows[0]["zip"], json!("02134"));
    assert_eq!(o.data_type, "ecommerce");
    let s = &got.tables[1];
    assert_eq!(s.sheet.as_deref(), Some("Staff & Pay"));
    assert_eq!(count(s, "preamble_skipped"), 1);
    assert_eq!(s.rows[0]["department"], json!("R&D"));
    assert_eq!(s.rows[0]["hired_at"], json!("2024-01-15T18:00:00"));
    assert_eq!(s.data_type, "hr");
    assert_eq!(schema_def(s)["sheet"], "Staff & Pay");
}

#[test]
fn data_types_with_evidence() {
    let cases: [(&str, &str); 6] = [
        (
            "patient_id,diagnosis,admission_date\n1,flu,2024-01-01\n",
            "healthcare",
        ),
        ("student,course,grade\nAnn,Math,A\n", "education"),
        (
            "campaign,clicks,impressions,spend\nspring,10,1000,5.5\n",
            "marketing",
        ),
        (
            "shipment_id,carrier,tracking_number,destination\n1,DHL,X1,Berlin\n",
            "logistics",
        ),
        (
            "lead_name,company,deal_stage,email\nAnn,Acme,won,a@b.co\n",
            "crm",
        ),
        ("x,y\n1,2\n", "data"),
    ];
    for (csv, want) in cases {
        let t = one(csv.as_bytes());
        assert_eq!(t.data_type, want, "{csv}");
        if want != "data" {
            assert!(
                t.data_type_evidence.len() >= 2,
                "{want}: {:?}",
                t.data_type_evidence
            );
        }
    }
    let t = one(b"transaction_id,amount,balance\n1,$5.00,$10.00\n");
    assert_eq!(t.data_type, "finance");
    assert!(t.data_type_evidence.contains(&"amount".to_string()));
}

#[test]
fn schema_def_is_stable_and_complete() {
    let t = one(
        "Order ID,Amount,Order Date\n1,\"$1,200.00\",2024-01-02\n2,N/A,2024-01-03\n".as_bytes(),
    );
    let def = schema_def(&t);
    assert_eq!(def["version"], 1);
    assert_eq!(def["format"], "delimited");
    assert_eq!(def["encoding"], "utf-8");
    assert_eq!(def["dialect"]["delimiter"], ",");
    let amount = &def["columns"][1];
    for field in [
        "key",
        "name",
        "position",
        "type",
        "inferred_type",
        "semantic_type",
        "nullable",
        "null_count",
        "non_null_count",
        "nonconforming_count",
        "distinct_count",
        "distinct_exact",
        "min",
        "max",
        "samples",
        "null_tokens",
        "format",
    ] {
        assert!(amount.get(field).is_some(), "missing {field}");
    }
    assert_eq!(amount["key"], "amount");
    assert_eq!(amount["name"], "Amount");
    assert_eq!(amount["type"], "number");
    assert_eq!(amount["semantic_type"], "currency");
    assert_eq!(amount["nullable"], true);
    assert_eq!(amount["format"]["currency_code"], "USD");
    assert_eq!(amount["samples"], json!([1200.0]));
}

#[test]
fn table_names_follow_the_seed() {
    assert_eq!(
        table_name("3f2a9c1b", "ecommerce"),
        "client_3f2a9c1b_ecommerce"
    );
    assert_eq!(
        table_name("3F2A9C1B-0000-4000-8000-000000000000", "Real Estate"),
        "client_3f2a9c1b_real_estate"
    );
    assert_eq!(table_name("3f2a9c1b", ""), "client_3f2a9c1b_data");
}

#[test]
fn limits_are_errors_with_codes_and_places() {
    let e = ingest(b"a,b\n1,2\n", &IngestOptions::new().with_max_bytes(4)).unwrap_err();
    assert_eq!(e.code(), "too_large");
    let e = ingest(b"a,b,c\n1,2,3\n", &IngestOptions::new().with_max_columns(2)).unwrap_err();
    assert_eq!(e.code(), "too_many_columns");
    let e = ingest(b"a\n1\n2\n3\n", &IngestOptions::new().with_max_rows(2)).unwrap_err();
    assert_eq!((e.code(), e.row), ("too_many_rows", Some(3)));
    let e = ingest(
        b"a,b\n1,xxxxxxxxxxxx\n",
        &IngestOptions::new().with_max_cell_bytes(5),
    )
    .unwrap_err();
    assert_eq!(
        (e.code(), e.row, e.column.as_deref()),
        ("cell_too_large", Some(1), Some("b"))
    );
    assert!(e.to_string().starts_with("cell_too_large: "));
    assert_eq!(
        ingest(b"  \n\n", &IngestOptions::new()).unwrap_err().code(),
        "empty_file"
    );
    assert_eq!(
        ingest(b"%PDF-1.7 ...", &IngestOptions::new())
            .unwrap_err()
            .code(),
        "unsupported_format"
    );
    assert_eq!(
        ingest(b"PK\x03\x04garbage", &IngestOptions::new())
            .unwrap_err()
            .code(),
        "invalid_xlsx"
    );
    assert_eq!(
        ingest(b"a\n1\n", &IngestOptions::new().with_sample_rows(0))
            .unwrap_err()
            .code(),
        "invalid_options"
    );
}

#[test]
fn format_detection_uses_content_before_hints() {
    assert_eq!(
        detect_format(b"[{\"a\":1}]", Some("data.csv")),
        Some(Format::Json)
    );
    assert_eq!(
        detect_format(b"a,b\n1,2\n", Some("application/json")),
        Some(Format::Json)
    );
    assert_eq!(detect_format(b"a,b\n1,2\n", None), Some(Format::Delimited));
    assert_eq!(
        detect_format(b"{\"a\":1}\n{\"a\":2}\n", None),
        Some(Format::Ndjson)
    );
    assert_eq!(
        detect_format(&ingest_testdata::messy_xlsx(2, 1), Some("x.csv")),
        Some(Format::Xlsx)
    );
}

#[test]
fn generated_messy_csv_reads_back_cleanly() {
    let bytes = ingest_testdata::messy_csv(2000, 7);
    assert_eq!(bytes, ingest_testdata::messy_csv(2000, 7), "deterministic");
    let t = one(&bytes);
    assert_eq!(t.row_count, 2000);
    assert_eq!(ty(&t, "order_id"), ColumnType::Integer);
    assert_eq!(ty(&t, "customer_email"), ColumnType::String);
    assert_eq!(
        col(&t, "customer_email").semantic_type,
        Some(SemanticType::Email)
    );
    assert_eq!(ty(&t, "order_date"), ColumnType::Date);
    assert_eq!(ty(&t, "amount"), ColumnType::Number);
    assert_eq!(
        col(&t, "amount").semantic_type,
        Some(SemanticType::Currency)
    );
    assert_eq!(ty(&t, "zip"), ColumnType::String);
    assert_eq!(ty(&t, "qty"), ColumnType::Integer);
    assert_eq!(t.data_type, "ecommerce");
    assert_eq!(count(&t, "preamble_skipped"), 1);
    assert_eq!(count(&t, "value_not_converted"), 0);
}
