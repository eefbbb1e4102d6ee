//! `ingest`: turns an uploaded spreadsheet (CSV/TSV/`;`/`|` text, JSON, NDJSON, XLSX) into
//! typed rows and a truthful schema, with no I/O, so the same code runs natively in tests and
//! inside the Cloudflare Worker (wasm32).
//!
//! Design decision: a value is converted to typed JSON only when the conversion is exact and
//! reversible (numbers, booleans, ISO 8601 dates); anything else is stored as its original text,
//! counted in its column (`nonconforming_count`, type `mixed`) and reported as an [`Issue`] with
//! row, column and reason. Nothing is dropped or changed silently.
//!
//! ```
//! let csv = b"Order ID;Amount;Date\n1;1.234,50;31.12.2024\n2;12,00;01.02.2024\n";
//! let got = ingest::ingest(csv, &ingest::IngestOptions::new()).unwrap();
//! let t = &got.tables[0];
//! assert_eq!(t.rows[0]["amount"], serde_json::json!(1234.5));
//! assert_eq!(t.rows[0]["date"], serde_json::json!("2024-12-31"));
//! let schema_def = ingest::schema_def(t);
//! assert_eq!(schema_def["columns"][1]["type"], "number");
//! ```

mod builder;
mod classify;
mod decode;
mod delimited;
mod error;
mod excel_format;
pub mod inspect;
mod json;
mod model;
mod ndjson;
mod options;
mod row;
mod schema;
mod source_format;
mod values;
mod xlsx;

pub use builder::{clean_keys, snake_case};
pub use classify::{
    classify, known_data_types, Classification, DataTypePoints, PointReason, MAX_COLUMN_POINTS,
    MIN_POINTS,
};
pub use decode::TextEncoding;
pub use delimited::{DelimitedStream, StreamEnd};
pub use error::{ErrorCode, IngestError};
pub use model::*;
pub use ndjson::{json_start, starts_json_array, NdjsonStream, HOLD_BYTES, SAMPLE_BYTES};
pub use options::{DateOrder, Format, IngestOptions};
pub use schema::{merge_schema_defs, schema_def, SCHEMA_DEF_VERSION};
pub use source_format::{render, SourceCsv, SourceFormat};

/// Detects the format from the content first, the hint second.
pub fn detect_format(bytes: &[u8], hint: Option<&str>) -> Option<Format> {
    let hinted = hint.and_then(Format::from_hint);
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(Format::Xlsx);
    }
    // Binary formats we do not read: PDF, legacy XLS (OLE2), images, gzip.
    const BINARY: [&[u8]; 6] = [
        b"%PDF",
        b"\xD0\xCF\x11\xE0",
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"\x1F\x8B",
        b"GIF8",
    ];
    if BINARY.iter().any(|m| bytes.starts_with(m)) {
        return None;
    }
    let (enc, bom) = decode::detect(&bytes[..bytes.len().min(4096)], bytes.len() <= 4096);
    let head: String = match enc {
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let mut d = decode::Decoder::new(0);
            let mut s = String::new();
            d.decode(&bytes[..bytes.len().min(4096)], true, &mut s);
            s
        }
        _ => String::from_utf8_lossy(&bytes[bom..bytes.len().min(4096)]).into_owned(),
    };
    let first = head.trim_start_matches('\u{feff}').trim_start();
    if first.starts_with('[') || first.starts_with('{') {
        let first_line = first.lines().next().unwrap_or("").trim();
        let ndjson = first_line.starts_with('{')
            && first_line.ends_with('}')
            && first
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(2)
                .count()
                == 2
            && serde_json::from_str::<serde_json::Value>(first_line).is_ok();
        return Some(if ndjson || hinted == Some(Format::Ndjson) {
            Format::Ndjson
        } else {
            Format::Json
        });
    }
    // Binary content is full of NULs; a stray one in text is a cell's problem (`nul_replaced`).
    let nuls = head.bytes().filter(|b| *b == 0).count();
    if nuls >= 4
        && nuls * 100 > head.len()
        && !matches!(enc, TextEncoding::Utf16Le | TextEncoding::Utf16Be)
    {
        return None;
    }
    match hinted {
        Some(Format::Xlsx) | None => Some(Format::Delimited),
        Some(f) => Some(f),
    }
}

/// Reads a whole upload into one or more tables (one per XLSX sheet, one per table when
/// delimited text holds several one after another).
pub fn ingest(bytes: &[u8], opts: &IngestOptions) -> Result<Ingested, IngestError> {
    opts.validate()?;
    if bytes.len() as u64 > opts.max_bytes {
        return Err(IngestError::new(
            ErrorCode::TooLarge,
            format!(
                "the upload is {} bytes; the limit is {}",
                bytes.len(),
                opts.max_bytes
            ),
        ));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::new(ErrorCode::EmptyFile, "the file is empty"));
    }
    let format = match opts.format {
        Some(f) => f,
        None => detect_format(bytes, opts.hint.as_deref()).ok_or_else(|| IngestError::new(ErrorCode::UnsupportedFormat, "this is not CSV/TSV, JSON, NDJSON or XLSX (binary content such as PDF, legacy .xls or an image)"))?,
    };
    let tables = match format {
        Format::Delimited => delimited::ingest_delimited(bytes, opts)?,
        Format::Json | Format::Ndjson => {
            vec![json::ingest_json(bytes, opts, format == Format::Ndjson)?]
        }
        Format::Xlsx => xlsx::ingest_xlsx(bytes, opts)?,
    };
    let encoding = tables.first().and_then(|t| t.encoding);
    let format = tables.first().map_or(format, |t| t.format);
    Ok(Ingested {
        format,
        encoding,
        tables,
    })
}

/// The storage table name `client_{first 8 hex of the client id}_{data_type}`.
///
/// Accepts the 8 hex digits or a whole UUID; the data type is reduced to `[a-z0-9_]` (`data`
/// when nothing is left), matching `create_client_with_data`'s default.
pub fn table_name(client_id_hex8: &str, data_type: &str) -> String {
    let hex: String = client_id_hex8
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let kind = snake_case(data_type);
    let kind = if kind.is_empty() {
        "data".to_string()
    } else {
        kind
    };
    format!("client_{hex}_{kind}")
}
