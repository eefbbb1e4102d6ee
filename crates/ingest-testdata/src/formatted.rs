//! Files whose values are written in local formats (currency, grouping, decimal commas, local
//! dates and times, `Yes`/`No`, null spellings, percents), for the round trip: uploaded, stored
//! typed, and exported `as=source`, each must come back byte for byte.
//!
//! Design decision: each file is written as a person or a spreadsheet would save it, and only in
//! forms a column-level format can write back exactly (one spelling per column, fields quoted
//! only where they must be); the forms that cannot are the documented normalisations, tested
//! on their own.

/// One formatted file.
pub struct FormattedFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

fn rows(lines: &[&str], end: &str) -> Vec<u8> {
    lines
        .iter()
        .map(|l| format!("{l}{end}"))
        .collect::<String>()
        .into_bytes()
}

/// The corpus: a US CSV (`$1,234.50`, `01/28/2018`, `Yes`/`No`, `NA`, `12.5%`, `00:00`), a German
/// `;` file with CRLF (`1.234,50 €`, `28.01.2018`, `ja`/`nein`, `-`), a TSV of times, date-times
/// and month names (`9:05 PM`, `2018-01-28 00:00`, `Jan 15, 2024`), and a `|` file of plain
/// numbers with every written digit, grouped integers and `1`/`0` flags.
pub fn formatted_corpus() -> Vec<FormattedFile> {
    vec![
        FormattedFile {
            name: "us_orders.csv",
            bytes: rows(
                &[
                    "Order ID,Amount,Order Date,Shipped,Region,Discount,Pickup,Units",
                    "A-1,\"$1,234.50\",01/28/2018,Yes,NA,12.5%,00:00,\"1,200\"",
                    "A-2,$74.69,12/01/2018,No,West,3%,13:45,5",
                    "A-3,-$3.00,02/13/2018,Yes,East,NA,09:05,\"12,000\"",
                    "A-4,NA,NA,No,\"North, East\",100%,NA,NA",
                ],
                "\n",
            ),
        },
        FormattedFile {
            name: "bestellungen.csv",
            bytes: rows(
                &[
                    "Bestellnummer;Betrag;Datum;Bezahlt;Menge;Anteil",
                    "1001;1.234,50 €;28.01.2018;ja;1.234.567;12,5 %",
                    "1002;12,00 €;01.02.2018;nein;5;3 %",
                    "1003;-7,10 €;15.03.2018;ja;-;-",
                    "1004;-;-;nein;12;100 %",
                ],
                "\r\n",
            ),
        },
        FormattedFile {
            name: "shifts.tsv",
            bytes: rows(
                &[
                    "Shift\tStarts\tEnds\tLogged\tDay\tActive",
                    "Early\t00:00\t8:00 AM\t2018-01-28 00:00\tJan 15, 2024\tTRUE",
                    "Late\t16:00\t4:30 PM\t2018-01-28 16:05\tFeb 2, 2024\tFALSE",
                    "Night\t22:30\t11:59 PM\t2018-12-31 23:59\tDec 31, 2024\tTRUE",
                ],
                "\n",
            ),
        },
        FormattedFile {
            name: "measures.psv",
            bytes: rows(
                &[
                    "id|reading|total|flag",
                    "1|12.277999999999999|1,234|1",
                    "2|8.3945900000000009|12|0",
                    "3|0.1|1,000,000|1",
                ],
                "\n",
            ),
        },
    ]
}

/// A workbook and its values as Excel shows them (what `as=source` must write).
pub struct FormattedWorkbook {
    pub bytes: Vec<u8>,
    pub shown: String,
}

/// An XLSX whose cells hold bare numbers and serials, each column in one number format:
/// `"$"#,##0.00`, `0.0%`, the built-in date (14), `dd/mm/yyyy`, `h:mm AM/PM`,
/// `#,##0.00\ [$€-407]`, `#,##0`, General, booleans (Excel shows `TRUE`/`FALSE`), and a text
/// column with an empty cell.
pub fn formatted_workbook() -> FormattedWorkbook {
    use crate::{xlsx, XlsxCell};
    let f = |v: f64, code: &str| XlsxCell::Formatted(v, code.into());
    let t = |s: &str| XlsxCell::Text(s.into());
    let nine_oh_five = 545.0 / 1440.0;
    let rows = vec![
        [
            "Price",
            "Share",
            "Sold On",
            "Shipped On",
            "Pickup",
            "Amount",
            "Units",
            "Plain",
            "Paid",
            "Note",
        ]
        .map(t)
        .to_vec(),
        vec![
            f(1234.5, "\"$\"#,##0.00"),
            f(0.125, "0.0%"),
            XlsxCell::Date(43128.0),
            f(43128.0, "dd/mm/yyyy"),
            f(0.5625, "h:mm AM/PM"),
            f(1234.5, "#,##0.00\\ [$€-407]"),
            f(12000.0, "#,##0"),
            XlsxCell::Number(3.5),
            XlsxCell::Bool(true),
            t("first"),
        ],
        vec![
            f(74.69, "\"$\"#,##0.00"),
            f(0.03, "0.0%"),
            XlsxCell::Date(43435.0),
            f(43435.0, "dd/mm/yyyy"),
            f(nine_oh_five, "h:mm AM/PM"),
            f(2.0, "#,##0.00\\ [$€-407]"),
            f(5.0, "#,##0"),
            XlsxCell::Number(4.0),
            XlsxCell::Bool(false),
            XlsxCell::Empty,
        ],
    ];
    FormattedWorkbook {
        bytes: xlsx(&[("Orders", rows)]),
        shown: "Price,Share,Sold On,Shipped On,Pickup,Amount,Units,Plain,Paid,Note\n\
                \"$1,234.50\",12.5%,1/28/2018,28/01/2018,1:30 PM,\"1,234.50 €\",\"12,000\",3.5,TRUE,first\n\
                $74.69,3.0%,12/1/2018,01/12/2018,9:05 AM,2.00 €,5,4,FALSE,\n"
            .to_string(),
    }
}
