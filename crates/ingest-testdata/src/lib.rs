//! `ingest-testdata`: deterministic generated uploads for the tests and benchmarks of `ingest`: a
//! messy CSV, a corpus of structurally messy files with the tables a person would see in them,
//! a labelled corpus of tables for `data_type` in four languages,
//! and a minimal XLSX writer (deflated XML parts), so no fixture files are needed.
//!
//! Design decision: a crate of its own, only ever a dev-dependency (or the bench's), so none of
//! this ships in the Worker's wasm.

mod data_type;
mod formatted;
mod structure;
pub use data_type::{data_type_corpus, score_data_types, DataTypeCase, DataTypeScore};
pub use formatted::{formatted_corpus, formatted_workbook, FormattedFile, FormattedWorkbook};
pub use structure::{structure_corpus, ExpectedTable, StructureCase, STRUCTURE_ISSUES};

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIRST: [&str; 8] = [
    "Ana", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro",
];
const CITIES: [&str; 6] = [
    "Lisboa",
    "München",
    "São Paulo",
    "New York, NY",
    "Zürich",
    "Kraków",
];
const STATUS: [&str; 4] = ["shipped", "pending", "delivered", "cancelled"];

/// A messy-ish e-commerce CSV: a title line, currency amounts with thousands separators,
/// zip codes with leading zeros, null tokens, quoted commas and newlines, ISO and US dates.
/// About 120 bytes a row; the same `(rows, seed)` always gives the same bytes.
pub fn messy_csv(rows: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed.max(1));
    let mut out = String::with_capacity(rows * 128 + 256);
    out.push_str("Orders export (generated)\n");
    out.push_str("Order ID,Customer Email,Order Date,Amount,Qty,Zip,Status,Ship City,Notes\n");
    for i in 0..rows {
        let name = FIRST[r.below(8) as usize];
        let (y, m, d) = (2020 + r.below(5), 1 + r.below(12), 1 + r.below(28));
        let cents = r.below(500_000);
        let amount = if r.below(50) == 0 {
            "N/A".to_string()
        } else {
            let whole = cents / 100;
            let grouped = if whole >= 1000 {
                format!("{},{:03}", whole / 1000, whole % 1000)
            } else {
                whole.to_string()
            };
            format!("\"${grouped}.{:02}\"", cents % 100)
        };
        let notes = match r.below(10) {
            0 => "\"fragile, handle with care\"".to_string(),
            1 => "\"line one\nline two\"".to_string(),
            2 => "\"said \"\"ok\"\"\"".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{},{}.{}@example.com,{y}-{m:02}-{d:02},{amount},{},{:05},{},\"{}\",{notes}\n",
            100_000 + i,
            name.to_lowercase(),
            i,
            1 + r.below(20),
            r.below(99_999),
            STATUS[r.below(4) as usize],
            CITIES[r.below(6) as usize],
        ));
    }
    out.into_bytes()
}

/// A cell for [`xlsx`].
#[derive(Debug, Clone, PartialEq)]
pub enum XlsxCell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// An Excel date serial shown with the built-in date format (numFmtId 14).
    Date(f64),
    /// An Excel serial shown with the built-in date-time format (numFmtId 22).
    DateTime(f64),
    /// A number cell whose `<v>` is this text exactly (Excel writes up to 17 digits).
    NumberText(String),
    /// A number shown with a custom number format code (`"$"#,##0.00`, `0.0%`).
    Formatted(f64, String),
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn col_name(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (i % 26) as u8) as char);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s
}

/// Writes a zip archive of `(name, content)` parts, deflated.
pub fn zip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in parts {
        let packed = miniz_oxide::deflate::compress_to_vec(data, 6);
        let crc = crc32(data);
        let offset = out.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&8u16.to_le_bytes()); // deflate
            h.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attrs
                h.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(&packed);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(parts.len() as u16).to_le_bytes());
    out.extend_from_slice(&(parts.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A minimal but valid XLSX workbook: one worksheet per `(name, rows)`, strings shared.
pub fn xlsx(sheets: &[(&str, Vec<Vec<XlsxCell>>)]) -> Vec<u8> {
    zip(&xlsx_parts(sheets))
}

/// The parts of [`xlsx`] before zipping, so a test can alter one (a hostile sheet, a DTD).
pub fn xlsx_parts(sheets: &[(&str, Vec<Vec<XlsxCell>>)]) -> Vec<(String, Vec<u8>)> {
    let mut strings: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut sheet_entries = String::new();
    let mut rels = String::new();
    let mut overrides = String::new();
    // Custom number formats: ids from 164 (Excel's first custom id), styles from index 3.
    let mut formats: Vec<String> = Vec::new();
    for (n, (name, rows)) in sheets.iter().enumerate() {
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (ri, row) in rows.iter().enumerate() {
            xml.push_str(&format!(r#"<row r="{}">"#, ri + 1));
            for (ci, cell) in row.iter().enumerate() {
                let r = format!("{}{}", col_name(ci), ri + 1);
                match cell {
                    XlsxCell::Empty => {}
                    XlsxCell::Text(s) => {
                        let i = *index.entry(s.clone()).or_insert_with(|| {
                            strings.push(s.clone());
                            strings.len() - 1
                        });
                        xml.push_str(&format!(r#"<c r="{r}" t="s"><v>{i}</v></c>"#));
                    }
                    XlsxCell::Number(f) => xml.push_str(&format!(r#"<c r="{r}"><v>{f}</v></c>"#)),
                    XlsxCell::Bool(b) => {
                        xml.push_str(&format!(r#"<c r="{r}" t="b"><v>{}</v></c>"#, u8::from(*b)))
                    }
                    XlsxCell::Date(f) => {
                        xml.push_str(&format!(r#"<c r="{r}" s="1"><v>{f}</v></c>"#))
                    }
                    XlsxCell::DateTime(f) => {
                        xml.push_str(&format!(r#"<c r="{r}" s="2"><v>{f}</v></c>"#))
                    }
                    XlsxCell::NumberText(t) => {
                        xml.push_str(&format!(r#"<c r="{r}"><v>{}</v></c>"#, escape(t)))
                    }
                    XlsxCell::Formatted(f, code) => {
                        let i = formats.iter().position(|c| c == code).unwrap_or_else(|| {
                            formats.push(code.clone());
                            formats.len() - 1
                        });
                        xml.push_str(&format!(r#"<c r="{r}" s="{}"><v>{f}</v></c>"#, i + 3))
                    }
                }
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        parts.push((
            format!("xl/worksheets/sheet{}.xml", n + 1),
            xml.into_bytes(),
        ));
        sheet_entries.push_str(&format!(
            r#"<sheet name="{}" sheetId="{}" r:id="rId{}"/>"#,
            escape(name),
            n + 1,
            n + 1
        ));
        rels.push_str(&format!(r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{}.xml"/>"#, n + 1, n + 1));
        overrides.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#, n + 1));
    }
    let k = sheets.len();
    rels.push_str(&format!(r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#, k + 1, k + 2));
    let sst: String = strings
        .iter()
        .map(|s| format!(r#"<si><t xml:space="preserve">{}</t></si>"#, escape(s)))
        .collect();
    let mut all = vec![
        ("[Content_Types].xml".to_string(), format!(r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#).into_bytes()),
        ("_rels/.rels".to_string(), br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_vec()),
        ("xl/workbook.xml".to_string(), format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheet_entries}</sheets></workbook>"#).into_bytes()),
        ("xl/_rels/workbook.xml.rels".to_string(), format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#).into_bytes()),
        ("xl/sharedStrings.xml".to_string(), format!(r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">{sst}</sst>"#, strings.len()).into_bytes()),
        ("xl/styles.xml".to_string(), styles_xml(&formats).into_bytes()),
    ];
    all.extend(parts);
    all
}

/// `styles.xml`: the default style, the built-in date (14) and date-time (22) formats, then one
/// style per custom format code.
fn styles_xml(formats: &[String]) -> String {
    let num_fmts: String = formats
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                r#"<numFmt numFmtId="{}" formatCode="{}"/>"#,
                164 + i,
                escape(c)
            )
        })
        .collect();
    let custom_xfs: String = (0..formats.len())
        .map(|i| format!(r#"<xf numFmtId="{}" applyNumberFormat="1"/>"#, 164 + i))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="{}">{num_fmts}</numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="{}"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/>{custom_xfs}</cellXfs></styleSheet>"#,
        formats.len(),
        formats.len() + 3
    )
}

/// A two-sheet workbook for benchmarks: `Orders` (`rows` rows: text, numbers, dates, booleans)
/// and a small `Customers` sheet.
pub fn messy_xlsx(rows: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed.max(1));
    let mut orders = vec![[
        "Order ID",
        "SKU",
        "Order Date",
        "Unit Price",
        "Quantity",
        "Paid",
        "Customer",
    ]
    .iter()
    .map(|s| XlsxCell::Text(s.to_string()))
    .collect::<Vec<_>>()];
    for i in 0..rows {
        orders.push(vec![
            XlsxCell::Number((100_000 + i) as f64),
            XlsxCell::Text(format!("SKU-{:04}", r.below(5000))),
            XlsxCell::Date(43_831.0 + r.below(1800) as f64),
            XlsxCell::Number(r.below(100_000) as f64 / 100.0),
            XlsxCell::Number(1.0 + r.below(20) as f64),
            XlsxCell::Bool(r.below(2) == 0),
            XlsxCell::Text(FIRST[r.below(8) as usize].to_string()),
        ]);
    }
    let mut customers = vec![vec![
        XlsxCell::Text("Name".into()),
        XlsxCell::Text("Email".into()),
        XlsxCell::Text("Signed Up".into()),
    ]];
    for (i, n) in FIRST.iter().enumerate() {
        customers.push(vec![
            XlsxCell::Text(n.to_string()),
            XlsxCell::Text(format!("{}@example.com", n.to_lowercase())),
            XlsxCell::DateTime(44_000.5 + i as f64),
        ]);
    }
    xlsx(&[("Orders", orders), ("Customers", customers)])
}
