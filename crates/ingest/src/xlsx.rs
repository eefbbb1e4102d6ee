//! XLSX: a zip of XML parts. A minimal zip reader (stored + deflate, no zip64), a pull XML
//! reader, and the Excel rules that matter for values: shared strings, inline strings,
//! booleans, errors, and number formats that turn date serials into dates.
//!
//! Design decision: numbers become typed JSON cells straight from the XML (`<v>` is always
//! dot-decimal), so locale sniffing never touches them; only strings go through recognisers.
//!
//! A workbook is read whole, so every amplification is bounded for the archive as a whole, not
//! per part: one inflate budget for all zip entries, at most [`MAX_SHARED_STRINGS`] shared
//! strings held in one buffer, and one cell budget ([`CELL_COST`] per held cell plus its text)
//! for the cells of every sheet together, since one short shared string referenced by a
//! million cells costs a million copies.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::Value;

use crate::builder::{Cell, ColumnHint, TableBuilder};
use crate::error::{ErrorCode, IngestError};
use crate::excel_format::{builtin_code, shown_format, Shows};
use crate::model::*;
use crate::options::{Format, IngestOptions};
use crate::source_format::SourceFormat;
use crate::values::NumberStyle;

fn bad(msg: impl Into<String>) -> IngestError {
    IngestError::new(ErrorCode::InvalidXlsx, msg)
}

fn u16_at(b: &[u8], i: usize) -> Option<usize> {
    b.get(i..i + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

fn u32_at(b: &[u8], i: usize) -> Option<usize> {
    b.get(i..i + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The entries of a zip archive, read from its central directory.
struct Zip<'a> {
    bytes: &'a [u8],
    /// name → (method, compressed size, uncompressed size, local header offset)
    entries: HashMap<String, (usize, usize, usize, usize)>,
}

impl<'a> Zip<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, IngestError> {
        let from = bytes.len().saturating_sub(22 + 65535);
        let eocd = (from..bytes.len().saturating_sub(21))
            .rev()
            .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
            .ok_or_else(|| bad("not a zip archive (no end of central directory)"))?;
        let count = u16_at(bytes, eocd + 10).ok_or_else(|| bad("truncated zip"))?;
        let mut pos = u32_at(bytes, eocd + 16).ok_or_else(|| bad("truncated zip"))?;
        if pos == 0xFFFF_FFFF {
            return Err(bad("zip64 archives are not supported"));
        }
        let mut entries = HashMap::new();
        for _ in 0..count {
            if bytes.get(pos..pos + 4) != Some(&[0x50, 0x4b, 0x01, 0x02]) {
                return Err(bad("corrupt zip central directory"));
            }
            let field = |off| u16_at(bytes, pos + off).ok_or_else(|| bad("truncated zip"));
            let method = field(10)?;
            let csize = u32_at(bytes, pos + 20).ok_or_else(|| bad("truncated zip"))?;
            let usize_ = u32_at(bytes, pos + 24).ok_or_else(|| bad("truncated zip"))?;
            let (n, e, c) = (field(28)?, field(30)?, field(32)?);
            let local = u32_at(bytes, pos + 42).ok_or_else(|| bad("truncated zip"))?;
            let name = String::from_utf8_lossy(
                bytes
                    .get(pos + 46..pos + 46 + n)
                    .ok_or_else(|| bad("truncated zip"))?,
            )
            .into_owned();
            entries.insert(name, (method, csize, usize_, local));
            pos += 46 + n + e + c;
        }
        Ok(Zip { bytes, entries })
    }

    /// Inflates one entry, charging its size to the one budget shared by the whole archive.
    fn read(&self, name: &str, budget: &mut Budget) -> Result<Option<Vec<u8>>, IngestError> {
        let Some(&(method, csize, usize_, local)) = self.entries.get(name) else {
            return Ok(None);
        };
        // The declared size is refused before anything is inflated, and it is also the inflate
        // limit: an entry declaring little and inflating to more is refused at its declared size,
        // so memory follows what the archive declares, never what it hides (a lying zip bomb
        // took the Worker's wasm memory to 200 MiB when only the budget stopped it).
        if usize_ as u64 > budget.left {
            return Err(budget.exceeded(name));
        }
        let b = self.bytes;
        if b.get(local..local + 4) != Some(&[0x50, 0x4b, 0x03, 0x04]) {
            return Err(bad(format!("corrupt zip entry {name}")));
        }
        let start =
            local + 30 + u16_at(b, local + 26).unwrap_or(0) + u16_at(b, local + 28).unwrap_or(0);
        let data = b
            .get(start..start + csize)
            .ok_or_else(|| bad(format!("truncated zip entry {name}")))?;
        let limit = usize_;
        let out = match method {
            0 if data.len() > limit => return Err(budget.lied(name, usize_)),
            0 => data.to_vec(),
            8 => match miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit) {
                Ok(v) => v,
                Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    return Err(budget.lied(name, usize_))
                }
                Err(e) => return Err(bad(format!("cannot inflate {name}: {:?}", e.status))),
            },
            m => {
                return Err(bad(format!(
                "zip compression method {m} in {name} is not supported (only stored and deflate)"
            )))
            }
        };
        budget.left -= out.len() as u64;
        Ok(Some(out))
    }
}

/// The bytes the whole archive may still unpack to (`max_unpacked_bytes`): one budget for every
/// entry together, so a workbook of many small bombs is refused like one big one.
struct Budget {
    limit: u64,
    left: u64,
}

impl Budget {
    /// An entry inflating to more than its zip entry declares.
    fn lied(&self, name: &str, declared: usize) -> IngestError {
        IngestError::new(
            ErrorCode::TooLarge,
            format!(
                "{name} inflates to more than the {declared} bytes its zip entry declares (a corrupt or hostile workbook); an XLSX may unpack to at most {} bytes",
                self.limit
            ),
        )
    }

    fn exceeded(&self, name: &str) -> IngestError {
        IngestError::new(
            ErrorCode::TooLarge,
            format!(
                "the workbook unpacks to more than {} bytes (reached in {name}); that is the limit for an XLSX",
                self.limit
            ),
        )
    }
}

/// Excel never writes a DTD; one in a part can only declare entities to expand, so it is refused.
fn refuse_dtd(part: &str) -> IngestError {
    bad(format!(
        "{part} declares a DTD (<!DOCTYPE>); XLSX parts have none, and entity declarations are refused"
    ))
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name || a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Text of a `<t>` or `<v>` including entity and character references.
fn push_ref(out: &mut String, r: &quick_xml::events::BytesRef) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        out.push(c);
        return;
    }
    match r.decode().as_deref().unwrap_or("") {
        "amp" => out.push('&'),
        "lt" => out.push('<'),
        "gt" => out.push('>'),
        "quot" => out.push('"'),
        "apos" => out.push('\''),
        other => {
            out.push('&');
            out.push_str(other);
            out.push(';');
        }
    }
}

/// Undoes Excel's `_xHHHH_` escapes of string text (ECMA-376 ST_Xstring): `_x000D_` is a
/// carriage return, `_x005F_` a literal underscore before something that looks like an escape.
fn unescape_xstring(s: String) -> String {
    if !s.contains("_x") {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let code = tail
            .get(2..6)
            .filter(|h| {
                h.bytes().all(|b| b.is_ascii_hexdigit()) && tail.as_bytes().get(6) == Some(&b'_')
            })
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &tail[7..];
            }
            None => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn xml_err(part: &str, e: impl std::fmt::Display) -> IngestError {
    bad(format!("{part} is not well-formed XML: {e}"))
}

/// The next XML event of `part`; a DTD is refused (see [`refuse_dtd`]).
fn next_event<'x>(r: &mut Reader<&'x [u8]>, part: &str) -> Result<Event<'x>, IngestError> {
    match r.read_event().map_err(|e| xml_err(part, e))? {
        Event::DocType(_) => Err(refuse_dtd(part)),
        ev => Ok(ev),
    }
}

/// Shared strings a workbook may hold (Excel itself allows about 32 million; each costs an
/// offset here and its text, and a sheet may reference each any number of times).
pub const MAX_SHARED_STRINGS: usize = 1_000_000;

/// What one held cell costs beyond its text (the cell, its row's map entry and key), charged
/// to the workbook's cell budget.
pub const CELL_COST: u64 = 64;

/// The shared-strings table as one text buffer and the end offset of each string: 4 bytes a
/// string instead of a `String` (24 bytes and an allocation) each.
#[derive(Debug, Default)]
struct Strings {
    text: String,
    ends: Vec<u32>,
}

impl Strings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text.get(start..end)
    }

    fn push(&mut self, s: &str, max_bytes: u64) -> Result<(), IngestError> {
        if self.ends.len() >= MAX_SHARED_STRINGS {
            return Err(IngestError::new(
                ErrorCode::TooLarge,
                format!(
                    "sharedStrings.xml holds more than {MAX_SHARED_STRINGS} strings; that is the limit for an XLSX"
                ),
            ));
        }
        if (self.text.len() + s.len()) as u64 > max_bytes.min(u32::MAX as u64) {
            return Err(IngestError::new(
                ErrorCode::TooLarge,
                format!(
                    "the shared strings of the workbook hold more than {max_bytes} bytes; an XLSX may unpack to at most {max_bytes} bytes"
                ),
            ));
        }
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        Ok(())
    }
}

/// The memory the cells of the whole workbook may take while it is read: every held cell costs
/// [`CELL_COST`] plus its text, charged as rows are kept and as they are padded to the table's
/// width.
struct CellBudget {
    limit: u64,
    left: u64,
}

impl CellBudget {
    fn charge(&mut self, bytes: u64, sheet: &str, row: u64) -> Result<(), IngestError> {
        if bytes > self.left {
            return Err(IngestError::new(
                ErrorCode::TooLarge,
                format!(
                    "the workbook's cells take more than {} bytes (their text plus {CELL_COST} bytes per cell, all sheets together); that is the limit for an XLSX",
                    self.limit
                ),
            )
            .in_sheet(sheet)
            .at_row(row));
        }
        self.left -= bytes;
        Ok(())
    }
}

/// What a kept row costs the cell budget: each cell (empty ones too) and its text.
fn row_cost(row: &[Option<Cell>]) -> u64 {
    row.iter()
        .map(|c| {
            CELL_COST
                + match c {
                    Some(Cell::Text(s)) => s.len() as u64,
                    // A number's digits (held as text with arbitrary_precision), at most this.
                    Some(Cell::Json(Value::Number(_))) => 24,
                    Some(Cell::Json(_)) => 0,
                    None => 0,
                }
        })
        .sum()
}

fn shared_strings(xml: &str, max_bytes: u64) -> Result<Strings, IngestError> {
    let mut r = Reader::from_str(xml);
    let mut out = Strings::default();
    let (mut in_t, mut in_ph, mut cur) = (false, false, String::new());
    loop {
        match next_event(&mut r, "sharedStrings.xml")? {
            Event::Start(e) if e.local_name().as_ref() == b"si" => cur.clear(),
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_t = true,
            Event::Start(e) if e.local_name().as_ref() == b"rPh" => in_ph = true,
            Event::End(e) if e.local_name().as_ref() == b"rPh" => in_ph = false,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_t = false,
            Event::End(e) if e.local_name().as_ref() == b"si" => {
                out.push(&unescape_xstring(std::mem::take(&mut cur)), max_bytes)?
            }
            Event::Empty(e) if e.local_name().as_ref() == b"si" => out.push("", max_bytes)?,
            Event::Text(t) if in_t && !in_ph => {
                cur.push_str(&t.decode().map_err(|e| xml_err("sharedStrings.xml", e))?)
            }
            Event::CData(t) if in_t && !in_ph => cur.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(g) if in_t && !in_ph => push_ref(&mut cur, &g),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateKind {
    Date,
    Time,
    DateTime,
}

fn date_kind_of_code(code: &str) -> Option<DateKind> {
    // Drop quoted literals, escapes and [colour]/[$-locale] sections before looking for d/m/y/h/s.
    let mut plain = String::new();
    let (mut quoted, mut bracket, mut escape) = (false, false, false);
    for c in code.chars() {
        match c {
            _ if escape => escape = false,
            '\\' => escape = true,
            '"' => quoted = !quoted,
            '[' if !quoted => bracket = true,
            ']' if !quoted => bracket = false,
            _ if quoted || bracket => {}
            c => plain.push(c.to_ascii_lowercase()),
        }
    }
    let plain = plain.split(';').next().unwrap_or("").to_string();
    let date = plain.contains('d') || plain.contains('y');
    let time = plain.contains('h') || plain.contains('s');
    match (date, time) {
        (true, true) => Some(DateKind::DateTime),
        (true, false) => Some(DateKind::Date),
        (false, true) => Some(DateKind::Time),
        _ if plain.contains('m') && !plain.contains('0') && !plain.contains('#') => {
            Some(DateKind::Date)
        }
        _ => None,
    }
}

fn builtin_date_kind(id: u32) -> Option<DateKind> {
    match id {
        14..=17 | 27..=31 | 34..=36 | 50..=58 => Some(DateKind::Date),
        18..=21 | 32 | 33 | 45..=47 => Some(DateKind::Time),
        22 => Some(DateKind::DateTime),
        _ => None,
    }
}

/// How one cell style (`cellXfs` entry) shows numbers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct CellStyle {
    date: Option<DateKind>,
    number: Option<NumberStyle>,
    /// Its format as the file-back export writes it: an index into [`Styles::shown`].
    shown: Option<u16>,
}

/// The cell styles of a workbook and the distinct formats they show values in.
#[derive(Debug)]
struct Styles {
    cells: Vec<CellStyle>,
    /// `shown[0]` is how Excel shows a boolean cell: `TRUE`, `FALSE`.
    shown: Vec<SourceFormat>,
}

/// The index of the boolean format in [`Styles::shown`].
const SHOWN_BOOLEAN: u16 = 0;

impl Default for Styles {
    fn default() -> Self {
        let boolean = SourceFormat {
            true_text: Some("TRUE".into()),
            false_text: Some("FALSE".into()),
            ..SourceFormat::default()
        };
        Styles {
            cells: Vec::new(),
            shown: vec![boolean],
        }
    }
}

impl Styles {
    /// The index of `format` in `shown`, added if new.
    fn shown_index(&mut self, format: Option<SourceFormat>) -> Option<u16> {
        let format = format?;
        let at = match self.shown.iter().position(|f| *f == format) {
            Some(at) => at,
            None => {
                self.shown.push(format);
                self.shown.len() - 1
            }
        };
        u16::try_from(at).ok()
    }
}

/// What a number format code shows a value in, for a cell whose serial is a `date` (or a number).
fn shown_of_code(code: &str, date: Option<DateKind>) -> Option<SourceFormat> {
    let shows = match date {
        None => Shows::Number,
        Some(DateKind::Date) => Shows::Date,
        Some(DateKind::Time) => Shows::Time,
        Some(DateKind::DateTime) => Shows::DateTime,
    };
    shown_format(code, shows)
}

/// The percent or currency of a number format code: `0.0%`, `"$"#,##0.00`, `[$€-407] #,##0`,
/// `#,##0.00\ "€"`, `£#,##0`. Only the first (positive) section counts.
fn number_style_of_code(code: &str) -> Option<NumberStyle> {
    let mut literal = String::new();
    let mut plain = String::new();
    let (mut quoted, mut escape) = (false, false);
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            _ if escape => {
                escape = false;
                literal.push(c);
            }
            '\\' => escape = true,
            '"' => quoted = !quoted,
            _ if quoted => literal.push(c),
            ';' => break,
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                if let Some(cur) = inner.strip_prefix('$') {
                    literal.push_str(cur.split('-').next().unwrap_or(""));
                }
            }
            c => plain.push(c),
        }
    }
    if plain.contains('%') {
        return Some(NumberStyle::Percent);
    }
    if !plain.contains(['0', '#']) {
        return None;
    }
    // `$`, `€`, `£`, `¥` may stand unquoted in a format; anything else is quoted or bracketed.
    literal.extend(plain.chars().filter(|c| "$€£¥₹".contains(*c)));
    let literal = literal.trim();
    crate::values::currency_of_marker(literal).map(|(s, c)| NumberStyle::Currency(s, c))
}

/// For each cell style index, whether it formats numbers as dates, percents or currency, and
/// the format it shows them in.
fn styles(xml: &str) -> Result<Styles, IngestError> {
    let mut r = Reader::from_str(xml);
    let mut custom = HashMap::new();
    let mut out = Styles::default();
    let mut in_cell_xfs = false;
    loop {
        match next_event(&mut r, "styles.xml")? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"numFmt" => {
                if let (Some(id), Some(code)) = (attr(&e, b"numFmtId"), attr(&e, b"formatCode")) {
                    let date = date_kind_of_code(&code);
                    let number = date
                        .is_none()
                        .then(|| number_style_of_code(&code))
                        .flatten();
                    let shown = out.shown_index(shown_of_code(&code, date));
                    custom.insert(
                        id.parse::<u32>().unwrap_or(0),
                        CellStyle {
                            date,
                            number,
                            shown,
                        },
                    );
                }
            }
            Event::Start(e) if e.local_name().as_ref() == b"cellXfs" => in_cell_xfs = true,
            Event::End(e) if e.local_name().as_ref() == b"cellXfs" => in_cell_xfs = false,
            Event::Start(e) | Event::Empty(e)
                if in_cell_xfs && e.local_name().as_ref() == b"xf" =>
            {
                let id: u32 = attr(&e, b"numFmtId")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let style = match custom.get(&id) {
                    Some(style) => *style,
                    None => {
                        let date = builtin_date_kind(id);
                        let shown = builtin_code(id).and_then(|code| shown_of_code(code, date));
                        CellStyle {
                            date,
                            // Built-in 9 and 10 are `0%` and `0.00%`; the built-in currency
                            // formats (5-8) depend on the reader's locale: no currency.
                            number: matches!(id, 9 | 10).then_some(NumberStyle::Percent),
                            shown: out.shown_index(shown),
                        }
                    }
                };
                out.cells.push(style);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// The number Excel shows for a `<v>` text: Excel keeps doubles and shows at most 15
/// significant digits, so `78.54000000000001` (a double's artefact) is 78.54. `percent_points`
/// shifts the decimal point by two, exactly (0.125 shown as `12.5%` is 12.5).
fn excel_number(text: &str, percent_points: bool) -> Option<Value> {
    let t = text.trim();
    if !percent_points {
        if let Ok(i) = t.parse::<i64>() {
            if i.unsigned_abs() <= 1 << 53 {
                return Some(i.into());
            }
        }
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    // `{:.14e}`: 15 significant digits, rounded half to even on the exact double.
    let shown = format!("{:.14e}", f);
    let (mantissa, exp) = shown.split_once('e')?;
    let exp: i32 = exp.parse::<i32>().ok()? + if percent_points { 2 } else { 0 };
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return Some(0.into());
    }
    let sign = if neg { "-" } else { "" };
    let plain = if !(-20..=20).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{sign}{first}e{exp}")
        } else {
            format!("{sign}{first}.{rest}e{exp}")
        }
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    };
    plain.parse::<serde_json::Number>().ok().map(Value::Number)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm), inverted.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// An Excel serial as ISO 8601, or `None` outside Excel's calendar (and for the fictional
/// 1900-02-29, which no real date matches).
fn serial_to_iso(serial: f64, kind: DateKind, date1904: bool) -> Option<String> {
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let mut days = serial.floor() as i64;
    let mut ms = ((serial - serial.floor()) * 86_400_000.0).round() as i64;
    if ms >= 86_400_000 {
        days += 1;
        ms -= 86_400_000;
    }
    // Days since 1970-01-01 of serial 0: 1904 system 1904-01-01; 1900 system 1899-12-30 for
    // serials from 61 on (Excel counts a 1900-02-29 that never was), 1899-12-31 before it.
    let epoch = if date1904 {
        -24_107
    } else if days >= 61 {
        -25_569
    } else if days == 60 {
        return None;
    } else {
        -25_568
    };
    let (y, m, d) = civil_from_days(days + epoch);
    let (h, mi, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let time = if frac > 0 {
        format!("{h:02}:{mi:02}:{s:02}.{frac:03}")
    } else {
        format!("{h:02}:{mi:02}:{s:02}")
    };
    Some(match kind {
        DateKind::Date if ms == 0 => format!("{y:04}-{m:02}-{d:02}"),
        DateKind::Time if days == 0 => time,
        _ => format!("{y:04}-{m:02}-{d:02}T{time}"),
    })
}

fn column_index(cell_ref: &str) -> Option<usize> {
    let mut n = 0usize;
    let mut any = false;
    for c in cell_ref.chars().take_while(char::is_ascii_alphabetic) {
        // Saturating: `AAAAAAAAAAAAAAAA1` is a column past any limit, not an overflow (a
        // panic natively, a wrapped small index in a 32-bit wasm build).
        n = n
            .saturating_mul(26)
            .saturating_add(c.to_ascii_uppercase() as usize - 'A' as usize + 1);
        any = true;
    }
    any.then(|| n - 1)
}

struct Ctx<'a> {
    strings: &'a Strings,
    styles: &'a Styles,
    date1904: bool,
    max_columns: usize,
}

/// Per column, what all its cells of one kind share, if they share it.
#[derive(Debug)]
struct Shared<T> {
    /// (the first cell's, whether a later one differed, how many cells)
    columns: Vec<Option<(T, bool, u64)>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            columns: Vec::new(),
        }
    }
}

impl<T: PartialEq + Copy> Shared<T> {
    fn note(&mut self, col: usize, value: T) {
        if self.columns.len() <= col {
            self.columns.resize_with(col + 1, || None);
        }
        match &mut self.columns[col] {
            slot @ None => *slot = Some((value, false, 1)),
            Some((first, differs, n)) => {
                *differs |= *first != value;
                *n += 1;
            }
        }
    }
    /// The shared value and the number of cells that share it.
    fn of(&self, col: usize) -> Option<(T, u64)> {
        match self.columns.get(col) {
            Some(Some((value, false, n))) => Some((*value, *n)),
            _ => None,
        }
    }
}

/// Per column, the number format its numbers share, and the shown format its numbers and dates
/// share (an index into [`Styles::shown`]).
#[derive(Debug, Default)]
struct Hints {
    numbers: Shared<Option<NumberStyle>>,
    shown: Shared<Option<u16>>,
}

/// One sheet row that holds a value: its 1-based row number in the sheet, and its cells.
type GridRow = (u64, Vec<Option<Cell>>);

/// The rows of one sheet that hold a value. Rows with nothing in them are never materialised,
/// so `<row r="60000000">` costs one row, not sixty million empty ones.
fn sheet_grid(
    xml: &str,
    ctx: &Ctx,
    sheet: &str,
    cells: &mut CellBudget,
) -> Result<(Vec<GridRow>, Hints), IngestError> {
    let mut hints = Hints::default();
    let mut r = Reader::from_str(xml);
    let mut grid: Vec<GridRow> = Vec::new();
    let mut row: Vec<Option<Cell>> = Vec::new();
    let mut row_no = 0u64;
    let (mut col, mut ty, mut style) = (0usize, String::new(), 0usize);
    let (mut text, mut in_value) = (String::new(), false);
    let mut keep = |row_no: u64, row: Vec<Option<Cell>>, grid: &mut Vec<GridRow>| {
        if filled(&row) > 0 {
            cells.charge(row_cost(&row), sheet, row_no)?;
            grid.push((row_no, row));
        }
        Ok::<(), IngestError>(())
    };
    loop {
        let ev = next_event(&mut r, sheet)?;
        let empty_element = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"row" => {
                row_no = attr(&e, b"r")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(row_no + 1);
                row = Vec::new();
                col = 0;
                if empty_element {
                    keep(row_no, std::mem::take(&mut row), &mut grid)?;
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"row" => {
                keep(row_no, std::mem::take(&mut row), &mut grid)?
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"c" => {
                col = attr(&e, b"r")
                    .and_then(|v| column_index(&v))
                    .unwrap_or(row.len());
                if col >= ctx.max_columns {
                    return Err(IngestError::new(
                        ErrorCode::TooManyColumns,
                        format!(
                            "a cell in column {} ; the limit is {} columns",
                            col + 1,
                            ctx.max_columns
                        ),
                    )
                    .in_sheet(sheet)
                    .at_row(row_no));
                }
                ty = attr(&e, b"t").unwrap_or_default();
                style = attr(&e, b"s").and_then(|v| v.parse().ok()).unwrap_or(0);
                text.clear();
            }
            Event::Start(e) if matches!(e.local_name().as_ref(), b"v" | b"t") => in_value = true,
            Event::End(e) if matches!(e.local_name().as_ref(), b"v" | b"t") => in_value = false,
            Event::Text(t) if in_value => {
                text.push_str(&t.decode().map_err(|e| xml_err(sheet, e))?)
            }
            Event::GeneralRef(g) if in_value => push_ref(&mut text, &g),
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                let cell = match ty.as_str() {
                    "s" => text
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| ctx.strings.get(i))
                        .map(|s| Cell::text(s.to_owned())),
                    "inlineStr" | "str" => Some(Cell::text(unescape_xstring(text.clone()))),
                    "e" => Some(Cell::text(text.clone())),
                    "b" => {
                        hints.shown.note(col, Some(SHOWN_BOOLEAN));
                        Some(Cell::Json(Value::Bool(text.trim() == "1")))
                    }
                    _ if text.is_empty() => None,
                    _ => {
                        let st = ctx.styles.cells.get(style).copied().unwrap_or_default();
                        let percent = st.number == Some(NumberStyle::Percent);
                        match (st.date, text.trim().parse::<f64>()) {
                            (Some(k), Ok(f)) => Some(match serial_to_iso(f, k, ctx.date1904) {
                                Some(iso) => {
                                    hints.shown.note(col, st.shown);
                                    Cell::text(iso)
                                }
                                None => Cell::text(text.clone()),
                            }),
                            _ => match excel_number(&text, percent) {
                                Some(v) => {
                                    hints.numbers.note(col, st.number);
                                    hints.shown.note(col, st.shown);
                                    Some(Cell::Json(v))
                                }
                                None => Some(Cell::text(text.clone())),
                            },
                        }
                    }
                };
                if row.len() <= col {
                    row.resize_with(col + 1, || None);
                }
                row[col] = cell;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((grid, hints))
}

fn filled(row: &[Option<Cell>]) -> usize {
    row.iter()
        .filter(|c| {
            matches!(c, Some(Cell::Text(s)) if !s.trim().is_empty())
                || matches!(c, Some(Cell::Json(_)))
        })
        .count()
}

fn grid_to_table(
    grid: Vec<GridRow>,
    hints: &Hints,
    shown: &[SourceFormat],
    opts: &IngestOptions,
    sheet: &str,
    cells: &mut CellBudget,
) -> Result<Option<Table>, IngestError> {
    let width = grid
        .iter()
        .map(|(_, r)| r.iter().rposition(|c| c.is_some()).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0);
    if grid.is_empty() {
        return Ok(None);
    }
    // Every row is padded to the widest: one wide row makes every row cost that width.
    let padding: u64 = grid
        .iter()
        .map(|(_, r)| width.saturating_sub(r.len()) as u64 * CELL_COST)
        .sum();
    cells.charge(padding, sheet, grid.last().map_or(0, |(n, _)| *n))?;
    let mut header_at = 0;
    let mut issues = IssueLog::new(opts.max_issues);
    // A lone title cell above a wider row is a title, not the header.
    while filled(&grid[header_at].1) == 1
        && width > 2
        && grid.get(header_at + 1).is_some_and(|(_, n)| filled(n) > 1)
    {
        let mut is = Issue::new(
            IssueKind::PreambleSkipped,
            "row above the header skipped (title or note)",
        );
        is.line = Some(grid[header_at].0);
        is.original = grid[header_at].1.iter().flatten().find_map(|c| {
            if let Cell::Text(s) = c {
                Some(s.to_string())
            } else {
                None
            }
        });
        issues.push(is);
        header_at += 1;
    }
    let header = &grid[header_at].1;
    let has_header = header.iter().all(|c| !matches!(c, Some(Cell::Json(_))));
    let names: Vec<String> = (0..width)
        .map(|i| match header.get(i) {
            Some(Some(Cell::Text(s))) if has_header => s.trim().to_string(),
            _ => String::new(),
        })
        .collect();
    let mut builder =
        TableBuilder::new(names, opts, issues, has_header).map_err(|e| e.in_sheet(sheet))?;
    for col in 0..width {
        let hint = ColumnHint {
            number_style: hints.numbers.of(col).and_then(|(style, _)| style),
            source_format: hints.shown.of(col).and_then(|(at, cells)| {
                Some(SourceFormat {
                    checked: cells,
                    ..shown[usize::from(at?)].clone()
                })
            }),
        };
        builder.hint_column(col, hint);
    }
    let mut rows = Vec::new();
    let start = if has_header { header_at + 1 } else { header_at };
    for (row_no, r) in grid.into_iter().skip(start) {
        let mut cells: Vec<Cell> = r.into_iter().map(|c| c.unwrap_or(Cell::text(""))).collect();
        cells.resize_with(width, || Cell::text(""));
        builder
            .push(cells, Some(row_no), &mut rows)
            .map_err(|e| e.in_sheet(sheet))?;
    }
    let mut table = builder.finish(&mut rows, Format::Xlsx, None, None, Some(sheet.to_string()));
    table.rows = rows;
    Ok(Some(table))
}

pub(crate) fn ingest_xlsx(bytes: &[u8], opts: &IngestOptions) -> Result<Vec<Table>, IngestError> {
    let zip = Zip::open(bytes)?;
    let mut budget = Budget {
        limit: opts.max_unpacked_bytes,
        left: opts.max_unpacked_bytes,
    };
    let mut text = |name: &str| -> Result<Option<String>, IngestError> {
        Ok(zip.read(name, &mut budget)?.map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }))
    };
    let workbook = text("xl/workbook.xml")?
        .ok_or_else(|| bad("xl/workbook.xml is missing: not an XLSX workbook"))?;
    let rels = text("xl/_rels/workbook.xml.rels")?.unwrap_or_default();
    let strings = match text("xl/sharedStrings.xml")? {
        Some(x) => shared_strings(&x, opts.max_unpacked_bytes)?,
        None => Strings::default(),
    };
    let styles = match text("xl/styles.xml")? {
        Some(x) => styles(&x)?,
        None => Styles::default(),
    };
    let mut targets = HashMap::new();
    let mut r = Reader::from_str(&rels);
    loop {
        match next_event(&mut r, "workbook.xml.rels")? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Relationship" => {
                if let (Some(id), Some(t)) = (attr(&e, b"Id"), attr(&e, b"Target")) {
                    let path = match t.strip_prefix('/') {
                        Some(abs) => abs.to_string(),
                        None => format!("xl/{t}"),
                    };
                    targets.insert(id, path);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut sheets = Vec::new();
    let mut date1904 = false;
    let mut r = Reader::from_str(&workbook);
    loop {
        match next_event(&mut r, "workbook.xml")? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"workbookPr" => {
                date1904 = matches!(attr(&e, b"date1904").as_deref(), Some("1" | "true"));
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"sheet" => {
                let name = attr(&e, b"name").unwrap_or_default();
                let path = attr(&e, b"id")
                    .and_then(|id| targets.get(&id).cloned())
                    .unwrap_or_else(|| format!("xl/worksheets/sheet{}.xml", sheets.len() + 1));
                sheets.push((name, path));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let ctx = Ctx {
        strings: &strings,
        styles: &styles,
        date1904,
        max_columns: opts.max_columns,
    };
    let mut cells = CellBudget {
        limit: opts.max_unpacked_bytes,
        left: opts.max_unpacked_bytes,
    };
    let mut tables = Vec::new();
    for (name, path) in sheets {
        let Some(xml) = text(&path).map_err(|e| e.in_sheet(&name))? else {
            continue;
        };
        let (grid, hints) = sheet_grid(&xml, &ctx, &name, &mut cells)?;
        drop(xml);
        if let Some(t) = grid_to_table(grid, &hints, &ctx.styles.shown, opts, &name, &mut cells)? {
            tables.push(t);
        }
    }
    if tables.is_empty() {
        return Err(IngestError::new(
            ErrorCode::EmptyFile,
            "the workbook has no sheet with data",
        ));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_become_iso_dates() {
        assert_eq!(
            serial_to_iso(45306.0, DateKind::Date, false).as_deref(),
            Some("2024-01-15")
        );
        assert_eq!(
            serial_to_iso(1.0, DateKind::Date, false).as_deref(),
            Some("1900-01-01")
        );
        assert_eq!(
            serial_to_iso(61.0, DateKind::Date, false).as_deref(),
            Some("1900-03-01")
        );
        assert_eq!(
            serial_to_iso(45306.5, DateKind::DateTime, false).as_deref(),
            Some("2024-01-15T12:00:00")
        );
        assert_eq!(
            serial_to_iso(0.25, DateKind::Time, false).as_deref(),
            Some("06:00:00")
        );
        assert_eq!(
            serial_to_iso(0.0, DateKind::Date, true).as_deref(),
            Some("1904-01-01")
        );
        assert_eq!(date_kind_of_code("dd/mm/yyyy"), Some(DateKind::Date));
        assert_eq!(date_kind_of_code("#,##0.00\" m\""), None);
        assert_eq!(date_kind_of_code("[$-409]h:mm AM/PM"), Some(DateKind::Time));
    }
}
