//! NDJSON (and a top-level JSON array of objects) as a stream: chunks of bytes in, cleaned rows
//! out, with memory bounded by one record's text, the type-inference sample and (for a small
//! file) the file itself.
//!
//! Design decision: a file that ends within the first [`HOLD_BYTES`] is held and read by the
//! whole-file JSON path, so every upload that was accepted before streaming existed gets the very
//! same answer. A longer file is read record by record (a line, or an array element cut out by
//! a byte scanner that tracks strings, escapes and depth) with the same value rules (`json::parse_tracked`:
//! first-seen key order, `duplicate_key` issues, `arbitrary_precision` numbers); its columns are
//! the keys of the first `sample_rows` objects (or of those in the first [`SAMPLE_BYTES`] of
//! record text, whichever ends first; a value that is not an object is skipped with an issue,
//! never held or counted, and objects without a key do not end the sample while no key has been
//! seen), and a key first seen later is refused with its line,
//! since the rows before it are already stored. The column limit is checked on every record of
//! the sample as it arrives, the row limit on every record after it, so a hostile file is
//! refused at the record that crosses a limit, never after the whole file was read.

use std::cell::RefCell;

use crate::builder::{clean_keys, TableBuilder};
use crate::decode::{Decoder, TextEncoding};
use crate::delimited::StreamEnd;
use crate::error::{ErrorCode, IngestError};
use crate::json::{self, At, OwnedSet, Record, Seen, Set};
use crate::model::*;
use crate::options::{Format, IngestOptions};

/// A file up to this size is held and read whole (the cap that applied to all NDJSON before).
pub const HOLD_BYTES: usize = 1024 * 1024;

/// What one held record counts toward [`SAMPLE_BYTES`] at least (its parsed `Value` costs
/// memory even when its text is `{}`).
const HELD_RECORD_COST: usize = 32;

/// The record text the type-inference sample may hold: with records of up to a line's limit
/// (1 MiB), `sample_rows` of them could otherwise hold a gigabyte before the columns are fixed.
pub const SAMPLE_BYTES: usize = 1024 * 1024;

/// Input read per step once a file outgrew the hold (see [`NdjsonStream::pending`]).
const STEP_BYTES: usize = 64 * 1024;

/// The longest line a record may take: a record at the row limits (every cell at its limit) is
/// refused by the builder anyway, so the splitter stops well before holding one.
fn line_limit(opts: &IngestOptions) -> usize {
    opts.max_cell_bytes.saturating_mul(16).max(HOLD_BYTES)
}

/// Whether a file's first bytes open a top-level JSON array (`[`): such a file is read by
/// [`NdjsonStream::json_array`].
pub fn starts_json_array(head: &[u8]) -> bool {
    json_start(head) == Some(b'[')
}

/// The first byte of a JSON text's value, after an optional UTF-8 BOM and whitespace (UTF-16 by
/// its interleaved NULs and BOM); `None` while `head` holds nothing else yet, or only part of a
/// UTF-8 BOM, so a caller reading a stream knows to read on.
pub fn json_start(head: &[u8]) -> Option<u8> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if head.len() < BOM.len() && BOM.starts_with(head) {
        return None;
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    head.iter()
        .copied()
        .filter(|b| !matches!(b, 0 | 0xFE | 0xFF))
        .find(|b| !b.is_ascii_whitespace())
}

/// Push parser for NDJSON: `feed` chunks, get rows back once the column types are fixed, then
/// `finish` for the last rows and the table's schema (as [`crate::DelimitedStream`]).
pub struct NdjsonStream {
    opts: IngestOptions,
    /// Set for a top-level JSON array of objects instead of one value per line.
    array: Option<ArrayScan>,
    /// `array` is set (it is taken out while the scanner runs).
    is_array: bool,
    hold_bytes: usize,
    /// The file's bytes while it may still be read whole; `None` once streaming.
    held: Option<Vec<u8>>,
    /// Input fed but not read yet (the held bytes when the file outgrew the hold), read from
    /// `backlog_at` on, a step at a time.
    backlog: Vec<u8>,
    backlog_at: usize,
    bytes_seen: u64,
    decoder: Decoder,
    /// Text of the line not yet ended.
    partial: String,
    /// Lines ended so far (1-based number of the last one).
    line: u64,
    /// Values parsed (objects or not): the record index for `duplicate_key` rows.
    values: usize,
    seen: RefCell<Seen>,
    /// Records held until the columns are known, with their line.
    sample: Vec<(serde_json::Value, Option<u64>)>,
    /// Text bytes of the records in `sample` (capped by [`SAMPLE_BYTES`]).
    sample_bytes: usize,
    /// How many records fixed the columns (`sample_rows`, or fewer when they were long).
    sampled: usize,
    issues: Option<IssueLog>,
    builder: Option<(TableBuilder, Vec<String>, Vec<String>)>,
}

impl NdjsonStream {
    pub fn new(opts: IngestOptions) -> Result<Self, IngestError> {
        opts.validate()?;
        Ok(NdjsonStream {
            array: None,
            is_array: false,
            decoder: Decoder::new(opts.max_issues),
            issues: Some(IssueLog::new(opts.max_issues)),
            opts,
            hold_bytes: HOLD_BYTES,
            held: Some(Vec::new()),
            backlog: Vec::new(),
            backlog_at: 0,
            bytes_seen: 0,
            partial: String::new(),
            line: 0,
            values: 0,
            seen: RefCell::new(Seen::default()),
            sample: Vec::new(),
            sample_bytes: 0,
            sampled: 0,
            builder: None,
        })
    }

    /// Reads a top-level JSON array of objects (`[{…}, {…}]`) instead: each element is cut out
    /// by a byte scanner (string, escape and depth state) and handed to the same value rules.
    pub fn json_array(opts: IngestOptions) -> Result<Self, IngestError> {
        let mut s = Self::new(opts)?;
        s.array = Some(ArrayScan::default());
        s.is_array = true;
        Ok(s)
    }

    /// Streams from the first byte over `n` (tests use a small `n` to exercise streaming).
    pub fn with_hold_bytes(mut self, n: usize) -> Self {
        self.hold_bytes = n;
        self
    }

    /// `(data_type, evidence)` once the column types are fixed (when `feed` first returns rows).
    pub fn data_type(&self) -> Option<(String, Vec<String>)> {
        self.builder.as_ref().and_then(|(b, _, _)| b.data_type())
    }

    /// The text encoding, once decided.
    pub fn encoding(&self) -> Option<TextEncoding> {
        self.decoder.encoding()
    }

    /// Adds a chunk of the upload; returns the cleaned rows that became ready.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Row>, IngestError> {
        self.bytes_seen += chunk.len() as u64;
        if self.bytes_seen > self.opts.max_bytes {
            return Err(IngestError::new(
                ErrorCode::TooLarge,
                format!("the upload is larger than {} bytes", self.opts.max_bytes),
            ));
        }
        let mut out = Vec::new();
        match self.held.as_mut() {
            Some(held) => {
                held.extend_from_slice(chunk);
                if held.len() > self.hold_bytes {
                    // Read in steps: the held megabyte of tiny records is 130,000 rows, and
                    // rows held as maps cost hundreds of bytes each.
                    self.backlog = self.held.take().unwrap_or_default();
                    return self.pending();
                }
            }
            None if self.backlog_at < self.backlog.len() => {
                self.backlog.extend_from_slice(chunk);
                return self.pending();
            }
            None => self.stream(chunk, false, &mut out)?,
        }
        Ok(out)
    }

    /// The rows of the next [`STEP_BYTES`] of input not read yet (the held bytes, once the file
    /// outgrew the hold); empty when everything fed so far was read. Call it after each `feed`
    /// until it is empty to keep the rows in hand to one step's.
    pub fn pending(&mut self) -> Result<Vec<Row>, IngestError> {
        let mut out = Vec::new();
        while out.is_empty() && self.backlog_at < self.backlog.len() {
            let end = (self.backlog_at + STEP_BYTES).min(self.backlog.len());
            let step = std::mem::take(&mut self.backlog);
            let result = self.stream(&step[self.backlog_at..end], false, &mut out);
            self.backlog = step;
            self.backlog_at = end;
            result?;
        }
        if self.backlog_at >= self.backlog.len() {
            self.backlog = Vec::new();
        } else {
            // What was read goes: the backlog stays the unread bytes, however long the file.
            self.backlog.drain(..self.backlog_at);
        }
        self.backlog_at = 0;
        Ok(out)
    }

    /// Ends the upload: the last rows and the final table schema.
    pub fn finish(mut self) -> Result<StreamEnd, IngestError> {
        if let Some(held) = self.held.take() {
            let mut table = json::ingest_json(&held, &self.opts, self.array.is_none())?;
            return Ok(StreamEnd {
                rows: std::mem::take(&mut table.rows),
                table,
                more_tables: Vec::new(),
            });
        }
        let mut out = Vec::new();
        loop {
            let more = self.pending()?;
            if more.is_empty() {
                break;
            }
            out.extend(more);
        }
        self.stream(&[], true, &mut out)?;
        let rest = std::mem::take(&mut self.partial);
        match &self.array {
            None => self.take_line(&rest, &mut out)?,
            Some(scan) if scan.state != Scan::Ended => {
                return Err(IngestError::new(
                    ErrorCode::InvalidJson,
                    "not valid JSON: the array is not closed (no `]` at the end of the file)",
                )
                .at_row(self.values as u64 + 1))
            }
            Some(_) => {}
        }
        if self.values == 0 && self.is_array {
            // `[]`: not empty, but no records (the whole-file read's answer too).
            return Err(IngestError::new(
                ErrorCode::InvalidJson,
                "no JSON objects found (the array is empty)",
            ));
        }
        if self.values == 0 {
            return Err(IngestError::new(ErrorCode::EmptyFile, "the file is empty"));
        }
        self.start_builder(&mut out)?;
        let encoding = self.decoder.encoding();
        let (builder, _, _) = self.builder.take().expect("start_builder made it");
        let format = if self.array.is_some() {
            Format::Json
        } else {
            Format::Ndjson
        };
        let table = builder.finish(&mut out, format, encoding, None, None);
        Ok(StreamEnd {
            rows: out,
            table,
            more_tables: Vec::new(),
        })
    }

    fn log(&mut self) -> &mut IssueLog {
        match (&mut self.builder, &mut self.issues) {
            (Some((b, _, _)), _) => &mut b.issues,
            (None, Some(log)) => log,
            (None, None) => unreachable!("the issue log moves into the builder when it is made"),
        }
    }

    fn stream(&mut self, bytes: &[u8], last: bool, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let mut text = String::with_capacity(bytes.len());
        self.decoder.decode(bytes, last, &mut text);
        let fallback = self.decoder.encoding() == Some(TextEncoding::Windows1252);
        for p in std::mem::take(&mut self.decoder.problems) {
            let kind = if fallback {
                IssueKind::EncodingFallback
            } else {
                IssueKind::InvalidEncoding
            };
            let mut is = Issue::new(kind, p.reason);
            is.offset = Some(p.offset);
            self.log().push(is);
        }
        if self.array.is_some() {
            return self.scan_array(&text, out);
        }
        let mut rest = text.as_str();
        while let Some(end) = rest.find('\n') {
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            if self.partial.is_empty() {
                self.take_line(piece, out)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.push_str(piece);
                self.check_length(line.len())?;
                self.take_line(&line, out)?;
            }
        }
        self.partial.push_str(rest);
        self.check_length(self.partial.len())
    }

    /// The record being read, or (`ahead` 1) the one still arriving: a line or an element.
    fn place(&self, ahead: u64) -> String {
        if self.is_array {
            format!("element {} of the array", self.values as u64 + ahead)
        } else {
            format!("line {}", self.line + ahead)
        }
    }

    fn check_length(&self, len: usize) -> Result<(), IngestError> {
        let limit = line_limit(&self.opts);
        if len > limit {
            return Err(IngestError::new(
                ErrorCode::CellTooLarge,
                format!(
                    "{} is over {limit} bytes; one JSON record may be at most {limit} bytes",
                    self.place(1)
                ),
            )
            .at_row(self.values as u64 + 1));
        }
        Ok(())
    }

    fn take_line(&mut self, line: &str, out: &mut Vec<Row>) -> Result<(), IngestError> {
        self.check_length(line.len())?;
        self.line += 1;
        let l = line.trim();
        if l.is_empty() {
            return Ok(());
        }
        let line = self.line;
        self.take_value(l, Some(line), out)
    }

    /// Cuts the array's elements out of `text`, keeping the scan state across chunks.
    fn scan_array(&mut self, text: &str, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let mut scan = self.array.take().expect("array mode");
        let result = self.scan_with(&mut scan, text, out);
        self.array = Some(scan);
        result?;
        self.check_length(self.partial.len())
    }

    fn scan_with(
        &mut self,
        scan: &mut ArrayScan,
        text: &str,
        out: &mut Vec<Row>,
    ) -> Result<(), IngestError> {
        let not_array = |what: &str| {
            IngestError::new(ErrorCode::InvalidJson, format!("not valid JSON: {what}"))
        };
        // Bytes of the element not yet copied into `partial` start at `from`.
        let bytes = text.as_bytes();
        // Around the array the whole read trims as `str::trim` does (any Unicode white space);
        // a byte inside a character is reached only after its first byte was white space.
        let blank = |i: usize, b: u8| {
            b.is_ascii_whitespace()
                || b == 0x0b
                || (b >= 0x80
                    && (!text.is_char_boundary(i)
                        || text[i..].chars().next().is_some_and(char::is_whitespace)))
        };
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            match scan.state {
                Scan::Before => {
                    if b == b'[' {
                        scan.state = Scan::Between;
                    } else if !blank(i, b) {
                        return Err(not_array(
                            "a streamed JSON file must be an array of objects",
                        ));
                    }
                    from = i + 1;
                }
                Scan::Ended => {
                    if !blank(i, b) {
                        return Err(not_array("text after the closing `]`"));
                    }
                    from = i + 1;
                }
                Scan::Between | Scan::Inside => {
                    if scan.in_string {
                        if scan.escape {
                            scan.escape = false;
                        } else if b == b'\\' {
                            scan.escape = true;
                        } else if b == b'"' {
                            scan.in_string = false;
                        }
                        continue;
                    }
                    match b {
                        b'"' => {
                            scan.in_string = true;
                            scan.state = Scan::Inside;
                        }
                        b'{' | b'[' => {
                            scan.depth += 1;
                            scan.state = Scan::Inside;
                        }
                        b']' if scan.depth == 0 => {
                            self.partial.push_str(&text[from..i]);
                            let element = std::mem::take(&mut self.partial);
                            if !element.trim_matches(json_blank).is_empty() || scan.after_comma {
                                self.take_element(&element, out)?;
                            }
                            scan.state = Scan::Ended;
                            from = i + 1;
                        }
                        b'}' | b']' => scan.depth = scan.depth.saturating_sub(1),
                        b',' if scan.depth == 0 => {
                            self.partial.push_str(&text[from..i]);
                            let element = std::mem::take(&mut self.partial);
                            self.take_element(&element, out)?;
                            scan.after_comma = true;
                            scan.state = Scan::Between;
                            from = i + 1;
                        }
                        b if json_blank(char::from(b)) && scan.state == Scan::Between => {}
                        _ => scan.state = Scan::Inside,
                    }
                }
            }
        }
        if from < bytes.len() {
            self.partial.push_str(&text[from..]);
        }
        Ok(())
    }

    fn take_element(&mut self, element: &str, out: &mut Vec<Row>) -> Result<(), IngestError> {
        self.check_length(element.len())?;
        // Only JSON's white space: a form feed between elements is invalid, as in the whole read.
        self.take_value(element.trim_matches(json_blank), None, out)
    }

    /// One record's text (a line, or an array element): parsed with the JSON value rules.
    fn take_value(
        &mut self,
        l: &str,
        line_no: Option<u64>,
        out: &mut Vec<Row>,
    ) -> Result<(), IngestError> {
        let at = At::Item(Record {
            set: Set::RootArray,
            index: self.values,
        });
        let value = json::parse_tracked(l, &self.seen, at).map_err(|e| {
            let place = match line_no {
                Some(n) => format!("line {n}"),
                None => format!("element {} of the array", self.values + 1),
            };
            IngestError::new(
                ErrorCode::InvalidJson,
                format!("{place} is not valid JSON: {e}"),
            )
            .at_row(self.values as u64 + 1)
        })?;
        self.values += 1;
        if self.builder.is_none() {
            // Each record may bring new keys: the column limit is checked as they appear.
            let keys = self
                .seen
                .borrow()
                .keys
                .get(&OwnedSet::RootArray)
                .map_or(0, |k| k.order.len());
            if keys > self.opts.max_columns {
                return Err(json::too_many_keys(keys, &self.opts).at_row(self.values as u64));
            }
            if !value.is_object() {
                // Skipped, so not held: only objects fill the sample that fixes the columns
                // (`[1, 2, 3, {…}]` has one record, as the whole read sees it).
                self.log().push(json::skipped_value(&value, line_no));
                return Ok(());
            }
            self.sample.push((value, line_no));
            // At least HELD_RECORD_COST each: a run of `{}` is held as Values, not as its text.
            self.sample_bytes += l.len().max(HELD_RECORD_COST);
            // Objects without a key (`{}`) fix no column: the sample waits for a key, as the
            // whole read takes its columns from every record.
            if (self.sample.len() >= self.opts.sample_rows && keys > 0)
                || self.sample_bytes > SAMPLE_BYTES
            {
                self.start_builder(out)?;
            }
            return Ok(());
        }
        self.new_keys_refused()?;
        self.report_duplicates(line_no);
        let (builder, names, _) = self.builder.as_mut().expect("checked above");
        json::push_record(builder, value, names, line_no, out)
    }

    /// The columns are fixed: a key first seen now cannot be added to rows already stored.
    fn new_keys_refused(&self) -> Result<(), IngestError> {
        let seen = self.seen.borrow();
        let Some((_, names, _)) = &self.builder else {
            return Ok(());
        };
        let order = seen
            .keys
            .get(&OwnedSet::RootArray)
            .map_or(&[][..], |k| &k.order[..]);
        match order.get(names.len()) {
            None => Ok(()),
            Some(key) => Err(IngestError::new(
                ErrorCode::InvalidJson,
                format!(
                    "{}: the key {key:?} first appears after the first {} records, which fix the columns of a JSON file over {} bytes; give the first record every key (null where empty)",
                    self.place(0), self.sampled, self.hold_bytes
                ),
            )
            .at_row(self.values as u64)),
        }
    }

    fn report_duplicates(&mut self, line_no: Option<u64>) {
        let dups = std::mem::take(&mut self.seen.borrow_mut().duplicates);
        let Some((builder, names, keys)) = self.builder.as_mut() else {
            return;
        };
        for d in dups {
            let (row, line) = match &d.record {
                Some((OwnedSet::RootArray, i)) => (Some(*i as u64 + 1), line_no),
                _ => (None, None),
            };
            builder
                .issues
                .push(json::duplicate_issue(d, row, line, names, keys));
        }
    }

    /// Fixes the columns from the records held so far and hands them to a builder.
    fn start_builder(&mut self, out: &mut Vec<Row>) -> Result<(), IngestError> {
        if self.builder.is_some() {
            return Ok(());
        }
        let names: Vec<String> = self
            .seen
            .borrow()
            .keys
            .get(&OwnedSet::RootArray)
            .map(|k| k.order.clone())
            .unwrap_or_default();
        if names.len() > self.opts.max_columns {
            return Err(json::too_many_keys(names.len(), &self.opts));
        }
        if names.is_empty() {
            return Err(IngestError::new(
                ErrorCode::InvalidJson,
                "no JSON objects found (expected one object per line)",
            ));
        }
        let keys = clean_keys(&names);
        self.sampled = self.sample.len();
        let mut issues = self.issues.take().expect("the builder is made once");
        let lines: Vec<Option<u64>> = self.sample.iter().map(|(_, l)| *l).collect();
        for d in std::mem::take(&mut self.seen.borrow_mut().duplicates) {
            let (row, line) = match &d.record {
                Some((OwnedSet::RootArray, i)) => {
                    (Some(*i as u64 + 1), lines.get(*i).copied().flatten())
                }
                _ => (None, None),
            };
            issues.push(json::duplicate_issue(d, row, line, &names, &keys));
        }
        let mut builder =
            TableBuilder::new(names.clone(), &self.opts, issues, true)?.without_null_tokens();
        for (value, line) in std::mem::take(&mut self.sample) {
            json::push_record(&mut builder, value, &names, line, out)?;
        }
        self.builder = Some((builder, names, keys));
        Ok(())
    }
}

/// Where the array scanner is: before `[`, between elements, inside one, or after `]`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Scan {
    #[default]
    Before,
    Between,
    Inside,
    Ended,
}

/// The byte scanner's state across chunks; only ASCII bytes change it, so a chunk boundary may
/// fall inside a multi-byte character.
#[derive(Debug, Default)]
struct ArrayScan {
    state: Scan,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// A `,` came: an empty element before `]` (`[1,]`) is an error, not the end.
    after_comma: bool,
}

/// JSON's white space (RFC 8259): what may stand between an array's elements.
fn json_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}
