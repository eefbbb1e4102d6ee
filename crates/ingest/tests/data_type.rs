//! `data_type` (issue 12) on the labelled corpus of `ingest-testdata`: tables in English, German,
//! French and Spanish, read through `ingest::ingest` as an upload is. Prints the accuracy and
//! every miss with the points each kind scored, and fails below the floor.

use ingest::*;
use ingest_testdata::{data_type_corpus, score_data_types};

/// The least share of the corpus that must be named right.
const FLOOR_PERCENT: f64 = 90.0;

fn table(csv: &[u8]) -> Table {
    let got = ingest(csv, &IngestOptions::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.tables.len(), 1);
    got.tables.into_iter().next().unwrap()
}

#[test]
fn the_labelled_corpus_is_named_right() {
    let corpus = data_type_corpus();
    assert!(corpus.len() >= 60, "{} tables", corpus.len());
    for lang in ["en", "de", "fr", "es"] {
        assert!(
            corpus.iter().filter(|c| c.language == lang).count() >= 8,
            "{lang}"
        );
    }
    let score = score_data_types(|csv| table(csv).data_type);
    for (name, expected, got) in &score.misses {
        let case = corpus.iter().find(|c| &c.name == name).unwrap();
        let points: Vec<String> = table(case.csv.as_bytes())
            .data_type_points
            .iter()
            .map(|p| format!("{} {}", p.kind, p.points))
            .collect();
        println!(
            "miss {name}: expected {expected}, got {got} ({})",
            points.join(", ")
        );
    }
    println!(
        "data_type accuracy: {}/{} = {:.1} %",
        score.correct,
        score.total,
        score.percent()
    );
    assert!(
        score.percent() >= FLOOR_PERCENT,
        "{:.1} % is below the floor of {FLOOR_PERCENT} %: {:?}",
        score.percent(),
        score.misses
    );
}

#[test]
fn the_issue_examples() {
    // A customer report: email, website, sign-up date.
    let t = table(
        b"Customer ID,Name,Email,Website,Sign-up Date\n\
          1,Ana Silva,ana@acme.example,https://acme.example,2024-01-05\n\
          2,Bruno Novak,bruno@globex.example,https://globex.example,2024-02-11\n",
    );
    assert_eq!(t.data_type, "crm");
    assert_eq!(
        t.data_type_evidence,
        ["customer_id", "email", "website", "sign_up_date"]
    );
    // An inventory sheet with stock levels.
    let t = table(
        b"SKU,Product Name,Stock Level,Warehouse,Reorder Point\n\
          MUG-101,Mug,120,North,20\nCAP-202,Cap,0,South,15\nBAG-303,Bag,48,North,10\n",
    );
    assert_eq!(t.data_type, "inventory");
    let inventory = &t.data_type_points[0];
    assert_eq!(inventory.kind, "inventory");
    assert!(inventory
        .reasons
        .iter()
        .any(|r| r.column == "stock_level" && r.reason.contains("stock levels")));
    assert!(inventory
        .reasons
        .iter()
        .any(|r| r.column == "sku" && r.reason == "values look like SKUs"));
    // German headers and ja/nein booleans.
    let t = table(
        "Kundennr;Firma;E-Mail;Newsletter;Registriert am\n\
         1;Acme;a@acme.example;ja;05.01.2024\n2;Globex;b@globex.example;nein;11.02.2024\n"
            .as_bytes(),
    );
    assert_eq!(t.data_type, "crm");
    assert_eq!(t.column("newsletter").unwrap().ty, ColumnType::Boolean);
    let crm = &t.data_type_points[0];
    assert!(crm
        .reasons
        .iter()
        .any(|r| r.column == "registriert_am" && r.reason.contains("(de)")));
}

/// Streams `csv` in 4 KiB chunks: `(data_type and evidence when the first rows came out, the end)`.
fn streamed(csv: &[u8], opts: IngestOptions) -> (Option<(String, Vec<String>)>, Table) {
    let mut stream = DelimitedStream::new(opts).unwrap();
    let mut early = None;
    for chunk in csv.chunks(4096) {
        let rows = stream.feed(chunk).unwrap();
        if early.is_none() && !rows.is_empty() {
            early = stream.data_type();
        }
    }
    (early, stream.finish().unwrap().table)
}

#[test]
fn a_stream_answers_as_the_whole_read_and_knows_it_before_the_end() {
    for case in data_type_corpus() {
        let whole = table(case.csv.as_bytes());
        let (_, end) = streamed(case.csv.as_bytes(), IngestOptions::new());
        assert_eq!(end.data_type, whole.data_type, "{}", case.name);
        assert_eq!(
            end.data_type_points, whole.data_type_points,
            "{}",
            case.name
        );
        // A long file with a sample of 4 rows: the answer comes with the first rows, and is final.
        let (header, body) = case.csv.split_once('\n').unwrap();
        let long = format!("{header}\n{}", body.repeat(32 * 1024 / body.len() + 1));
        let (early, end) = streamed(long.as_bytes(), IngestOptions::new().with_sample_rows(4));
        let early = early.expect("rows came out before the end");
        assert_eq!(early.0, end.data_type, "{}", case.name);
        assert_eq!(early.1, end.data_type_evidence, "{}", case.name);
    }
}
