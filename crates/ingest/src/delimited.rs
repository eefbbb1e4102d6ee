//! Delimited text (CSV, TSV, `;`, `|`, space, `, `): a push parser that needs only the current
//! chunk, the dialect sniffed from the first 16 KiB, and the sample rows held for type inference.
//!
//! Design decision: the dialect (delimiter, quote, escape) is chosen by scoring every candidate
//! on the sniffed text — row-width consistency times the share of cells that read as a known
//! type, as CleverCSV does — rather than taking the first delimiter that splits. The structure a
//! person would see is then recovered record by record (header repair, stacked headers, tables
//! one after another, a stray quote re-read locally), and every line that was skipped or repaired
//! is an issue with its line number and text. The splitter works on decoded UTF-8 bytes and only
//! splits at ASCII bytes, so fields are valid UTF-8 by construction and a chunk boundary can fall
//! anywhere.

use std::borrow::Cow;

use crate::builder::{CellOf, TableBuilder};
use crate::decode::{Decoder, TextEncoding};
use crate::error::{ErrorCode, IngestError};
use crate::model::*;
use crate::options::DateOrder;
use crate::options::{Format, IngestOptions};
use crate::values::{is_null_token, parse_date, parse_number, trim};

/// Decoded text read before the dialect is decided.
const SNIFF_BYTES: usize = 16 * 1024;
const CANDIDATE_DELIMITERS: [u8; 5] = [b',', b';', b'\t', b'|', b' '];
/// Header lines a stacked header may span.
const MAX_HEADER_LINES: usize = 3;
/// Bytes of record buffers a [`Splitter`] keeps for reuse: the records of a few 64 KiB chunks,
/// and a bound on what records with huge cells can leave behind.
const MAX_SPARE_BYTES: usize = 1 << 20;

/// A record's fields: their texts one after another in one buffer, and where each one ends.
/// A record then costs two allocations however many fields it has (it was one per field).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Fields {
    text: String,
    ends: Vec<usize>,
}

impl Fields {
    fn one(text: String) -> Fields {
        let ends = vec![text.len()];
        Fields { text, ends }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    fn field(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        (i < self.ends.len()).then(|| self.field(i))
    }

    pub(crate) fn first(&self) -> Option<&str> {
        self.get(0)
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &str> {
        // Each field starts where the one before ended: no lookup of the previous end.
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = &self.text[start..end];
            start = end;
            field
        })
    }

    /// Bytes the buffers hold room for.
    fn capacity(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Every field's text, one after another.
    fn text(&self) -> &str {
        &self.text
    }

    fn truncate(&mut self, len: usize) {
        if len < self.ends.len() {
            self.ends.truncate(len);
            self.text.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    fn join(&self, sep: &str) -> String {
        self.iter().collect::<Vec<_>>().join(sep)
    }

    #[cfg(test)]
    fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub fields: Fields,
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub comment: bool,
    /// Whether the first field was quoted (a quoted `"#x"` is data, not a comment).
    pub first_quoted: bool,
    /// The record's source text, kept only when a quoted field ran past a line break, so a
    /// stray quote can be re-read locally.
    pub raw: Option<String>,
    /// Text followed a closing quote (`"abc"def`): the mark of a quote that closed elsewhere.
    pub stray_quote: bool,
}

impl Record {
    fn is_blank(&self) -> bool {
        !self.first_quoted && self.fields.iter().all(|f| trim(f).is_empty())
    }
    fn starts_with_hash(&self) -> bool {
        !self.first_quoted && self.fields.first().is_some_and(|f| f.starts_with('#'))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just saw a quote inside a quoted field: either `""` or the end of the quotes.
    QuoteInQuoted,
    /// Just saw the escape byte (`\`) inside a quoted field: the next byte is literal.
    EscapeInQuoted,
    Comment,
}

/// Splits text into records; keeps its state between chunks.
#[derive(Debug)]
pub(crate) struct Splitter {
    delim: u8,
    quote: u8,
    /// False when quotes are literal text (re-reading a line that held a stray quote).
    quoting: bool,
    escape: Option<u8>,
    /// The `, ` dialect: a delimiter counts only when a space follows it, and spaces after it
    /// are skipped (Python's `skipinitialspace`), so `Smith,John` stays one field.
    space_after_delim: bool,
    /// A delimiter was the last byte of the previous chunk and waits for the next byte.
    pending_delim: bool,
    skip_spaces: bool,
    comment: Option<u8>,
    state: State,
    /// The current record's fields so far, one after another; the last one, not yet ended,
    /// runs from the last of `ends` to the end.
    /// Pieces are only ever cut at ASCII bytes (or whole characters), so it is UTF-8 as built.
    buf: String,
    ends: Vec<usize>,
    /// Buffers of records already taken, handed back to be filled again (no allocation per
    /// record); their capacity, `spare_bytes`, at most [`MAX_SPARE_BYTES`].
    spare: Vec<Fields>,
    spare_bytes: usize,
    first_quoted: bool,
    line: u64,
    record_line: u64,
    /// A `\r` ended the last record; a following `\n` belongs to it.
    after_cr: bool,
    comment_text: Vec<u8>,
    /// The current record's text from earlier chunks.
    raw: Vec<u8>,
    /// The current record has a quoted line break.
    spans_lines: bool,
    stray_quote: bool,
    /// Bytes one field (or comment line) may grow to, and fields one record may have, before
    /// splitting stops: what is beyond them is refused anyway, so it is never buffered.
    max_field_bytes: usize,
    max_fields: usize,
    /// Set when a limit was passed; nothing more is split.
    overflow: Option<Overflow>,
}

/// A record that passed a [`Splitter`] limit, at `line`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Overflow {
    Field { line: u64, column: usize },
    Fields { line: u64 },
}

impl Splitter {
    pub(crate) fn new(delim: u8, quote: u8, comment: Option<u8>) -> Self {
        Splitter {
            delim,
            quote,
            quoting: true,
            escape: None,
            space_after_delim: false,
            pending_delim: false,
            skip_spaces: false,
            comment,
            state: State::FieldStart,
            buf: String::new(),
            ends: Vec::new(),
            spare: Vec::new(),
            spare_bytes: 0,
            first_quoted: false,
            line: 1,
            record_line: 1,
            after_cr: false,
            comment_text: Vec::new(),
            raw: Vec::new(),
            spans_lines: false,
            stray_quote: false,
            max_field_bytes: usize::MAX,
            max_fields: usize::MAX,
            overflow: None,
        }
    }

    /// Stops splitting once a field passes `max_field_bytes` or a record `max_fields` fields.
    pub(crate) fn with_limits(mut self, max_field_bytes: usize, max_fields: usize) -> Self {
        self.max_field_bytes = max_field_bytes;
        self.max_fields = max_fields;
        self
    }

    /// The limit passed, if one was; splitting stopped there.
    pub(crate) fn overflow(&self) -> Option<Overflow> {
        self.overflow
    }

    fn for_dialect(d: &Dialect) -> Self {
        let mut sp = Splitter::new(d.delimiter as u8, d.quote as u8, d.comment.map(|c| c as u8));
        sp.escape = d.escape.map(|c| c as u8);
        sp.space_after_delim = d.skip_initial_space;
        sp
    }

    fn starting_at_line(mut self, line: u64) -> Self {
        self.line = line;
        self.record_line = line;
        self
    }

    /// Bytes of the field being split.
    #[inline]
    fn field_len(&self) -> usize {
        self.buf.len() - self.ends.last().copied().unwrap_or(0)
    }

    #[inline]
    fn end_field(&mut self) {
        self.ends.push(self.buf.len());
    }

    /// A whole field straight from the text (nothing of it was buffered).
    #[inline]
    fn push_field(&mut self, text: &str) {
        self.buf.push_str(text);
        self.ends.push(self.buf.len());
    }

    /// The record's fields, taken out; a spare record's buffers (or new ones with room for a
    /// record as long) take their place.
    fn take_fields(&mut self) -> Fields {
        let (next_buf, next_ends) = match self.spare.pop() {
            Some(mut f) => {
                self.spare_bytes -= f.capacity();
                f.text.clear();
                f.ends.clear();
                (f.text, f.ends)
            }
            None => (
                String::with_capacity(self.buf.len()),
                Vec::with_capacity(self.ends.len()),
            ),
        };
        Fields {
            text: std::mem::replace(&mut self.buf, next_buf),
            ends: std::mem::replace(&mut self.ends, next_ends),
        }
    }

    /// Appends the character at byte `i` of `text` (at a character boundary) and returns its
    /// length in bytes: a byte after a quote or escape may begin a multi-byte character.
    fn push_char_at(&mut self, text: &str, i: usize) -> usize {
        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
        self.buf.push(c);
        c.len_utf8()
    }

    /// Takes back the buffers of a record that was read, to split a later one into.
    pub(crate) fn recycle(&mut self, fields: Fields) {
        let bytes = fields.capacity();
        if self.spare_bytes + bytes <= MAX_SPARE_BYTES {
            self.spare_bytes += bytes;
            self.spare.push(fields);
        }
    }

    /// Whether a field of `len` bytes that a plain delimiter ends may skip the field buffer:
    /// nothing of it is buffered yet, and it is within the field limit (else the buffered path
    /// reports the overflow as before).
    fn direct_field(&self, len: usize) -> bool {
        self.field_len() == 0 && !self.space_after_delim && len <= self.max_field_bytes
    }

    /// `tail`: the record's text in the current chunk.
    fn end_record(&mut self, tail: &[u8], out: &mut Vec<Record>) {
        self.end_field();
        let raw = if self.spans_lines {
            self.raw.extend_from_slice(tail);
            // The pieces were cut at ASCII bytes of UTF-8 text, so this moves the buffer in
            // after a fast check (no copy); the lossy reading stays as a safety net.
            Some(match String::from_utf8(std::mem::take(&mut self.raw)) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        } else {
            None
        };
        self.raw.clear();
        self.spans_lines = false;
        out.push(Record {
            fields: self.take_fields(),
            line: self.record_line,
            comment: false,
            first_quoted: self.first_quoted,
            raw,
            stray_quote: std::mem::take(&mut self.stray_quote),
        });
        self.first_quoted = false;
        self.state = State::FieldStart;
    }

    fn in_record(&self) -> bool {
        !(self.state == State::FieldStart && self.buf.is_empty() && self.ends.is_empty())
            && self.state != State::Comment
    }

    /// A delimiter byte whose meaning depends on the next one (the `, ` dialect).
    fn delimiter_followed_by(&mut self, next: u8) -> bool {
        if next == b' ' {
            self.end_field();
            self.state = State::FieldStart;
            self.skip_spaces = true;
            true
        } else {
            self.buf.push(char::from(self.delim));
            self.state = State::Unquoted;
            false
        }
    }

    pub(crate) fn feed(&mut self, text: &str, out: &mut Vec<Record>) {
        let bytes = text.as_bytes();
        // The bytes that end a run of field text, outside quotes and inside: one table lookup
        // per byte instead of three comparisons.
        let mut ends_unquoted = [false; 256];
        for c in [b'\n', b'\r', self.delim] {
            ends_unquoted[usize::from(c)] = true;
        }
        let mut ends_quoted = [false; 256];
        for c in [self.quote, self.escape.unwrap_or(self.quote), b'\n'] {
            ends_quoted[usize::from(c)] = true;
        }
        let mut i = 0;
        let mut rec_start = 0;
        if self.pending_delim && !bytes.is_empty() {
            self.pending_delim = false;
            if self.delimiter_followed_by(bytes[0]) {
                i = 1;
            }
        }
        while i < bytes.len() {
            if self.over_limit() {
                return;
            }
            let b = bytes[i];
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    i += 1;
                    continue;
                }
            }
            let at_record_start =
                self.state == State::FieldStart && self.buf.is_empty() && self.ends.is_empty();
            if at_record_start {
                self.record_line = self.line;
                rec_start = i;
            }
            if self.skip_spaces {
                if b == b' ' && self.state == State::FieldStart {
                    i += 1;
                    continue;
                }
                self.skip_spaces = false;
            }
            match self.state {
                State::FieldStart if at_record_start && Some(b) == self.comment => {
                    self.state = State::Comment;
                    self.comment_text.clear();
                    self.comment_text.push(b);
                }
                State::Comment => {
                    if b == b'\n' || b == b'\r' {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        let text = String::from_utf8_lossy(&std::mem::take(&mut self.comment_text))
                            .into_owned();
                        out.push(Record {
                            fields: Fields::one(text),
                            line: self.record_line,
                            comment: true,
                            first_quoted: false,
                            raw: None,
                            stray_quote: false,
                        });
                        self.state = State::FieldStart;
                    } else {
                        self.comment_text.push(b);
                    }
                }
                State::FieldStart if b == self.quote && self.quoting => {
                    if self.ends.is_empty() {
                        self.first_quoted = true;
                    }
                    self.state = State::Quoted;
                    // Fast path: `"text",` whole in this chunk, with no quote, escape or line
                    // break inside, becomes a field straight from the text.
                    let start = i + 1;
                    let j = next_stop(bytes, start, &ends_quoted);
                    if j + 1 < bytes.len()
                        && bytes[j] == self.quote
                        && bytes[j + 1] == self.delim
                        && self.direct_field(j - start)
                    {
                        self.push_field(&text[start..j]);
                        self.state = State::FieldStart;
                        // The next byte to read, less the loop's step.
                        i = self.direct_fields(text, j + 2, &ends_unquoted, &ends_quoted) - 1;
                    }
                }
                State::FieldStart | State::Unquoted => {
                    if b == self.delim {
                        if !self.space_after_delim {
                            self.end_field();
                            self.state = State::FieldStart;
                        } else if i + 1 < bytes.len() {
                            if self.delimiter_followed_by(bytes[i + 1]) {
                                i += 1;
                            }
                        } else {
                            self.pending_delim = true;
                        }
                    } else if b == b'\n' || b == b'\r' {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        self.end_record(&bytes[rec_start..i], out);
                    } else {
                        // Fast path: copy the run of ordinary bytes at once; a whole field
                        // ended by a delimiter in this chunk is taken straight from the text.
                        let start = i;
                        i = next_stop(bytes, i + 1, &ends_unquoted) - 1;
                        if i + 1 < bytes.len()
                            && bytes[i + 1] == self.delim
                            && self.direct_field(i + 1 - start)
                        {
                            self.push_field(&text[start..=i]);
                            self.state = State::FieldStart;
                            i = self.direct_fields(text, i + 2, &ends_unquoted, &ends_quoted) - 1;
                        } else {
                            self.buf.push_str(&text[start..=i]);
                            self.state = State::Unquoted;
                        }
                    }
                }
                State::Quoted => {
                    if b == self.quote {
                        self.state = State::QuoteInQuoted;
                    } else if Some(b) == self.escape {
                        self.state = State::EscapeInQuoted;
                    } else {
                        let start = i;
                        i = next_stop(bytes, i + 1, &ends_quoted) - 1;
                        if b == b'\n' {
                            self.line += 1;
                            self.spans_lines = true;
                        }
                        self.buf.push_str(&text[start..=i]);
                    }
                }
                State::EscapeInQuoted => {
                    if b == b'\n' {
                        self.line += 1;
                        self.spans_lines = true;
                    }
                    // `\"` is a quote; `\n`, `\t` and the like stay as written.
                    if b != self.quote && b != self.delim && Some(b) != self.escape {
                        self.buf.push(char::from(self.escape.unwrap_or(b'\\')));
                    }
                    i += self.push_char_at(text, i) - 1;
                    self.state = State::Quoted;
                }
                State::QuoteInQuoted => {
                    if b == self.quote {
                        self.buf.push(char::from(b));
                        self.state = State::Quoted;
                    } else if b == self.delim {
                        self.end_field();
                        self.state = State::FieldStart;
                        self.skip_spaces = self.space_after_delim;
                    } else if b == b'\n' || b == b'\r' {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        self.end_record(&bytes[rec_start..i], out);
                    } else {
                        // `"abc"def`: keep the stray text rather than lose it.
                        self.stray_quote = true;
                        i += self.push_char_at(text, i) - 1;
                        self.state = State::Unquoted;
                    }
                }
            }
            i += 1;
        }
        if self.in_record() {
            self.raw
                .extend_from_slice(&bytes[rec_start.min(bytes.len())..]);
        }
        self.over_limit();
    }

    /// Splits the fields that follow a direct field (so not at a record's start, not buffered)
    /// while each is a plain run or a plain quoted text ended by a delimiter, without the
    /// per-byte checks of [`Splitter::feed`]'s loop; returns where that loop resumes, in the
    /// same state it would have reached itself. A plain run ended by a line break or the chunk's
    /// end is buffered first, as the loop does, so each record's last field is scanned once.
    #[inline]
    fn direct_fields(
        &mut self,
        text: &str,
        mut i: usize,
        ends_unquoted: &[bool; 256],
        ends_quoted: &[bool; 256],
    ) -> usize {
        let bytes = text.as_bytes();
        if self.space_after_delim {
            return i;
        }
        // The loop checks the field count before each byte; a field starts here.
        while i < bytes.len() && self.ends.len() <= self.max_fields {
            let b = bytes[i];
            if b == self.quote && self.quoting {
                let start = i + 1;
                let j = next_stop(bytes, start, ends_quoted);
                if j + 1 < bytes.len()
                    && bytes[j] == self.quote
                    && bytes[j + 1] == self.delim
                    && j - start <= self.max_field_bytes
                {
                    self.push_field(&text[start..j]);
                    i = j + 2;
                    continue;
                }
                return i;
            }
            if b == self.delim {
                self.end_field();
                i += 1;
                continue;
            }
            if ends_unquoted[usize::from(b)] {
                return i;
            }
            let start = i;
            let end = next_stop(bytes, start + 1, ends_unquoted);
            if end < bytes.len() && bytes[end] == self.delim {
                if end - start > self.max_field_bytes {
                    return i;
                }
                self.push_field(&text[start..end]);
                i = end + 1;
                continue;
            }
            self.buf.push_str(&text[start..end]);
            self.state = State::Unquoted;
            return end;
        }
        i
    }

    /// Records an [`Overflow`] when the field or record being split passed a limit. Runs per
    /// byte run: the common answer (no overflow, within limits) is inlined, the rest is not.
    #[inline]
    fn over_limit(&mut self) -> bool {
        if self.overflow.is_none()
            && self.field_len().max(self.comment_text.len()) <= self.max_field_bytes
            && self.ends.len() <= self.max_fields
        {
            return false;
        }
        self.note_overflow()
    }

    #[inline(never)]
    fn note_overflow(&mut self) -> bool {
        if self.overflow.is_none() {
            if self.field_len().max(self.comment_text.len()) > self.max_field_bytes {
                self.overflow = Some(Overflow::Field {
                    line: self.record_line,
                    column: self.ends.len() + 1,
                });
            } else if self.ends.len() > self.max_fields {
                self.overflow = Some(Overflow::Fields {
                    line: self.record_line,
                });
            }
        }
        self.overflow.is_some()
    }

    /// Flushes the last record; `true` when a quoted field was never closed.
    pub(crate) fn finish(&mut self, out: &mut Vec<Record>) -> bool {
        if self.overflow.is_some() {
            return false;
        }
        let unterminated = matches!(self.state, State::Quoted | State::EscapeInQuoted);
        if std::mem::take(&mut self.pending_delim) {
            self.buf.push(char::from(self.delim));
            self.state = State::Unquoted;
        }
        match self.state {
            State::Comment => {
                let text =
                    String::from_utf8_lossy(&std::mem::take(&mut self.comment_text)).into_owned();
                out.push(Record {
                    fields: Fields::one(text),
                    line: self.record_line,
                    comment: true,
                    first_quoted: false,
                    raw: None,
                    stray_quote: false,
                });
            }
            _ if !self.ends.is_empty()
                || !self.buf.is_empty()
                || self.state != State::FieldStart =>
            {
                self.end_record(&[], out)
            }
            _ => {}
        }
        self.state = State::FieldStart;
        unterminated
    }
}

/// Splits a whole text with one dialect (sniffing, and re-reading a record locally).
/// The index of the first byte at or after `from` that `stops` marks, or the end of `bytes`:
/// where a run of bytes that need no look of their own ends.
#[inline]
fn next_stop(bytes: &[u8], from: usize, stops: &[bool; 256]) -> usize {
    bytes[from..]
        .iter()
        .position(|&c| stops[usize::from(c)])
        .map_or(bytes.len(), |at| from + at)
}

fn split_text(mut sp: Splitter, text: &str) -> (Vec<Record>, bool) {
    let mut recs = Vec::new();
    sp.feed(text, &mut recs);
    let unterminated = sp.finish(&mut recs);
    (recs, unterminated)
}

/// The sniffed reading of a file: the dialect, how many data columns there are, and the header
/// as repaired or merged from the lines it spans.
#[derive(Debug, Clone)]
struct Sniffed {
    dialect: Dialect,
    width: usize,
    /// The header names (before trailing empty columns are dropped), when there is a header.
    header: Option<Vec<String>>,
    /// Content records the header spans (1 to [`MAX_HEADER_LINES`]; 0 without a header).
    header_span: usize,
    /// What was repaired or merged in the header, with lines and texts.
    header_issues: Vec<Issue>,
}

fn looks_typed(field: &str) -> bool {
    let t = field.trim();
    !t.is_empty()
        && !is_null_token(t)
        && (parse_number(t, '.').is_some()
            || parse_number(t, ',').is_some()
            || parse_date(t, DateOrder::Dmy).is_some()
            || parse_date(t, DateOrder::Mdy).is_some())
}

/// A cell whose text reads as a known type (CleverCSV's type score): empty, a number or date,
/// or plain text. Text counts when it has no stray quote at its ends, no surrounding space and
/// no other candidate delimiter inside — the marks of a wrong split.
fn known_type(field: &str) -> bool {
    let t = field.trim();
    if t.is_empty() || looks_typed(t) {
        return true;
    }
    if field.starts_with(char::is_whitespace) {
        return false;
    }
    let edge_quote = |c: char| c == '"' || c == '\'';
    !t.starts_with(edge_quote) && !t.ends_with(edge_quote) && !t.contains([',', ';', '\t', '|'])
}

/// A line that names columns: at least two non-empty fields, none of them a number or date.
fn header_like(r: &Record) -> bool {
    let filled = r.fields.iter().filter(|f| !f.trim().is_empty()).count();
    filled >= 2 && !r.fields.iter().any(looks_typed)
}

fn trimmed(r: &Record) -> Vec<String> {
    r.fields.iter().map(|f| f.trim().to_string()).collect()
}

/// A dialect's score on the sniffed records: pattern score × type score (CleverCSV).
fn score(records: &[Record]) -> (f64, usize) {
    let rows: Vec<&Record> = records
        .iter()
        .filter(|r| !r.is_blank() && !r.starts_with_hash())
        .collect();
    let mut freq = std::collections::BTreeMap::new();
    for r in &rows {
        *freq.entry(r.fields.len()).or_insert(0usize) += 1;
    }
    let Some((&mode, &modal)) = freq
        .iter()
        .filter(|(w, _)| **w > 1)
        .max_by_key(|(w, n)| (**n, **w))
    else {
        return (0.0, 1);
    };
    // Consistency first: a delimiter that splits only a stray line or two (a space in one
    // cell of a one-column file) is no candidate.
    if modal < rows.len().min(2) || modal * 10 < rows.len() * 3 {
        return (0.0, 1);
    }
    let pattern = freq
        .iter()
        .map(|(&w, &n)| n as f64 * (w as f64 - 1.0) / w as f64)
        .sum::<f64>()
        / freq.len() as f64;
    let (mut cells, mut known) = (0usize, 0usize);
    for r in &rows {
        cells += r.fields.len();
        known += r.fields.iter().filter(|f| known_type(f)).count();
    }
    let types = if cells == 0 {
        0.0
    } else {
        (known as f64 / cells as f64).max(1e-3)
    };
    (pattern * types, mode)
}

/// The dialects worth trying on `sample`, most usual first (a tie keeps the earlier one).
fn candidates(sample: &str) -> Vec<(u8, u8, Option<u8>, bool)> {
    let mut out = Vec::new();
    let single = sample.contains('\'');
    let backslash = sample.contains("\\\"") || sample.contains("\\'");
    for delim in CANDIDATE_DELIMITERS {
        out.push((delim, b'"', None, false));
        if delim == b',' && sample.contains(", ") {
            out.push((delim, b'"', None, true));
        }
        if single {
            out.push((delim, b'\'', None, false));
        }
        if backslash {
            out.push((delim, b'"', Some(b'\\'), false));
            if single {
                out.push((delim, b'\'', Some(b'\\'), false));
            }
        }
    }
    out
}

/// The share of sample rows whose cell `col` reads as a number or date (nulls not counted).
fn typed_share(data: &[&Record], col: usize) -> f64 {
    let (mut typed, mut filled) = (0usize, 0usize);
    for r in data {
        if let Some(f) = r.fields.get(col) {
            let t = f.trim();
            if t.is_empty() || is_null_token(t) {
                continue;
            }
            filled += 1;
            typed += usize::from(looks_typed(t));
        }
    }
    if filled == 0 {
        0.0
    } else {
        typed as f64 / filled as f64
    }
}

/// Whether `r` is text where the rows below hold numbers or dates: a header line, not data.
/// A null spelling (`-`, `N/A`) or a number there makes it a data row.
fn names_typed_columns(r: &Record, data: &[&Record]) -> bool {
    if data.is_empty() {
        return false;
    }
    let mut names = false;
    for (c, f) in r.fields.iter().enumerate() {
        let t = f.trim();
        if t.is_empty() || typed_share(data, c) < 0.8 {
            continue;
        }
        if is_null_token(t) || looks_typed(t) {
            return false;
        }
        names = true;
    }
    names
}

fn line_text(r: &Record, delim: char) -> String {
    r.fields.join(&delim.to_string())
}

fn sniff(text: &str, complete: bool) -> Sniffed {
    // Only whole lines: the last one may be cut by the chunk boundary.
    let sample = if complete {
        text
    } else {
        &text[..text.rfind('\n').map_or(text.len(), |i| i + 1)]
    };
    let mut best: Option<(f64, Dialect, Vec<Record>, usize)> = None;
    for (delim, quote, escape, space_after) in candidates(sample) {
        let dialect = Dialect {
            delimiter: delim as char,
            quote: quote as char,
            escape: escape.map(char::from),
            skip_initial_space: space_after,
            has_header: false,
            preamble_lines: 0,
            comment: None,
            trailing_empty_columns: 0,
            crlf: false,
        };
        let (mut recs, _) = split_text(Splitter::for_dialect(&dialect), sample);
        recs.truncate(500);
        let (q, mode) = score(&recs);
        if mode > 1 && best.as_ref().is_none_or(|(bq, ..)| q > *bq * 1.000_001) {
            best = Some((q, dialect, recs, mode));
        }
    }
    let (mut dialect, records, mode) = match best {
        Some((_, d, r, m)) => (d, r, m),
        None => {
            let d = Dialect {
                delimiter: ',',
                quote: '"',
                escape: None,
                skip_initial_space: false,
                has_header: false,
                preamble_lines: 0,
                comment: None,
                trailing_empty_columns: 0,
                crlf: false,
            };
            let (recs, _) = split_text(Splitter::for_dialect(&d), sample);
            (d, recs, 1)
        }
    };
    let delim = dialect.delimiter;
    let content: Vec<&Record> = records.iter().filter(|r| !r.is_blank()).collect();
    let mode = first_table_width(&content, mode);
    // The first record with the modal width that is not a lone title cell.
    let mut first_modal = None;
    for (i, r) in content.iter().enumerate() {
        if r.starts_with_hash() || r.fields.len() != mode {
            continue;
        }
        let filled = r.fields.iter().filter(|f| !f.trim().is_empty()).count();
        let next_filled = content.get(i + 1).map_or(0, |n| {
            n.fields.iter().filter(|f| !f.trim().is_empty()).count()
        });
        if filled <= 1 && mode > 2 && next_filled > filled {
            continue;
        }
        first_modal = Some(i);
        break;
    }
    let first_modal = first_modal.unwrap_or(0);
    let mut header_issues = Vec::new();
    let mut header_idx = first_modal;
    let mut repaired: Option<Vec<String>> = None;
    // A header with one field too many or too few (an extra or missing separator) right above
    // data rows: repaired, not taken for a title line.
    if let Some(p) = first_modal.checked_sub(1).and_then(|i| content.get(i)) {
        let first = content.get(first_modal);
        if !p.starts_with_hash()
            && p.fields.len().abs_diff(mode) == 1
            && header_like(p)
            && first.is_some_and(|f| f.fields.iter().any(looks_typed))
        {
            let mut names = trimmed(p);
            let message = if names.len() > mode {
                match names.iter().rposition(|n| n.is_empty()) {
                    Some(empty) => {
                        names.remove(empty);
                        format!("the header has {} fields, the data rows {mode}: an extra separator; the empty field {} was dropped", p.fields.len(), empty + 1)
                    }
                    None => {
                        let last = names.pop().unwrap_or_default();
                        if let Some(prev) = names.last_mut() {
                            prev.push(' ');
                            prev.push_str(&last);
                        }
                        format!("the header has {} fields, the data rows {mode}: an extra separator; the last two names were joined", p.fields.len())
                    }
                }
            } else {
                names.push(String::new());
                format!("the header has {} fields, the data rows {mode}: a missing separator; the last column has no name", p.fields.len())
            };
            let mut is = Issue::new(IssueKind::HeaderRepaired, message);
            is.line = Some(p.line);
            is.original = Some(line_text(p, delim));
            header_issues.push(is);
            header_idx = first_modal - 1;
            repaired = Some(names);
        }
    }
    let hashes_inconsistent = content
        .iter()
        .enumerate()
        .any(|(i, r)| r.starts_with_hash() && (i < header_idx || r.fields.len() != mode));
    let comment = hashes_inconsistent.then_some('#');
    let is_comment = |r: &Record| comment.is_some() && r.starts_with_hash();
    let preamble = content[..header_idx.min(content.len())]
        .iter()
        .filter(|r| !is_comment(r))
        .count() as u64;
    let rest: Vec<&Record> = content
        .iter()
        .skip(header_idx)
        .copied()
        .filter(|r| !is_comment(r))
        .collect();
    let header = rest.first().copied();

    let has_header = repaired.is_some()
        || match header {
            Some(h) => {
                let names: Vec<&str> = h
                    .fields
                    .iter()
                    .map(|f| f.trim())
                    .filter(|f| !f.is_empty())
                    .collect();
                let distinct =
                    names.iter().collect::<std::collections::HashSet<_>>().len() == names.len();
                !h.fields.iter().any(looks_typed) && distinct && (!names.is_empty())
            }
            None => false,
        };
    let mut header_span = usize::from(has_header);
    let mut names = repaired.or_else(|| header.filter(|_| has_header).map(trimmed));
    // A header stacked over two or three lines (or repeated right below): the lines are merged
    // into one header when they are text where the rows below hold numbers or dates.
    if let (Some(h), Some(top)) = (header, names.as_mut()) {
        if has_header && h.fields.len() == mode {
            let mut lines = vec![trimmed(h)];
            while header_span < MAX_HEADER_LINES {
                let Some(next) = rest.get(header_span) else {
                    break;
                };
                let below: Vec<&Record> = rest
                    .iter()
                    .skip(header_span + 1)
                    .take(50)
                    .copied()
                    .filter(|r| r.fields.len() == mode && r.fields.iter().any(looks_typed))
                    .collect();
                let repeated = trimmed(next) == lines[0];
                if next.fields.len() != mode
                    || !(repeated
                        || (!next.fields.iter().any(looks_typed)
                            && names_typed_columns(next, &below)))
                {
                    break;
                }
                let mut is = if repeated {
                    Issue::new(
                        IssueKind::HeaderRepeated,
                        "the header is repeated on this line; the copy was skipped",
                    )
                } else {
                    lines.push(trimmed(next));
                    Issue::new(
                        IssueKind::HeaderMerged,
                        "the header continues on this line; its names were joined with the ones above (with a space)",
                    )
                };
                is.line = Some(next.line);
                is.original = Some(line_text(next, delim));
                header_issues.push(is);
                header_span += 1;
            }
            if lines.len() > 1 {
                *top = merge_header_lines(&lines);
            }
        }
    }
    let data: Vec<&Record> = rest.iter().skip(header_span).copied().collect();
    // Trailing columns that have neither a header nor any value in the sample.
    let mut trailing = 0;
    if let Some(h) = names.as_ref() {
        while trailing < mode.saturating_sub(1)
            && h.len() == mode
            && h[mode - 1 - trailing].is_empty()
            && data.iter().all(|r| {
                r.fields
                    .get(mode - 1 - trailing)
                    .is_none_or(|f| f.trim().is_empty())
            })
        {
            trailing += 1;
        }
    }
    dialect.has_header = has_header;
    dialect.preamble_lines = preamble;
    dialect.comment = comment;
    dialect.trailing_empty_columns = trailing;
    Sniffed {
        dialect,
        width: mode - trailing,
        header: names,
        header_span: if has_header { header_span } else { 0 },
        header_issues,
    }
}

/// The width of the file's first table. Usually the most common width; but when a header-like
/// line opens a run of at least three lines of another width before any line of that width,
/// the file starts with a table of its own (a second table follows) and its width counts.
fn first_table_width(content: &[&Record], mode: usize) -> usize {
    let rows: Vec<&Record> = content
        .iter()
        .copied()
        .filter(|r| !r.starts_with_hash())
        .collect();
    let need = rows.len().min(3);
    let first_modal = rows
        .iter()
        .position(|r| r.fields.len() == mode)
        .unwrap_or(rows.len());
    for i in 0..first_modal {
        let w = rows[i].fields.len();
        if w > 1
            && header_like(rows[i])
            && rows.len() - i >= need
            && rows[i..i + need].iter().all(|r| r.fields.len() == w)
        {
            return w;
        }
    }
    mode
}

/// Joins stacked header lines column by column; an empty cell in an upper line takes the name
/// on its left (a cell merged across columns, as spreadsheets export them).
fn merge_header_lines(lines: &[Vec<String>]) -> Vec<String> {
    let width = lines.iter().map(Vec::len).max().unwrap_or(0);
    let last = lines.len() - 1;
    let mut filled: Vec<Vec<String>> = lines.to_vec();
    for line in filled.iter_mut().take(last) {
        let mut left = String::new();
        for cell in line.iter_mut() {
            if cell.is_empty() {
                cell.clone_from(&left);
            } else {
                left.clone_from(cell);
            }
        }
    }
    (0..width)
        .map(|c| {
            let parts: Vec<&str> = filled
                .iter()
                .filter_map(|l| l.get(c).map(String::as_str))
                .filter(|s| !s.is_empty())
                .collect();
            parts.join(" ")
        })
        .collect()
}

/// What [`DelimitedStream::finish`] hands back: the last rows and the final, truthful schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    /// Rows not yet returned by `feed` (all of them for a file shorter than the sample).
    pub rows: Vec<Row>,
    /// The table with its final columns, statistics and issues; `rows` is empty.
    pub table: Table,
    /// Tables that followed the first one in the file (a blank line and/or a new header), each
    /// with its rows: these are held whole, as an XLSX sheet is.
    pub more_tables: Vec<Table>,
}

/// A line that may start a new table, held until the next line confirms it.
#[derive(Debug)]
struct HeldHeader {
    record: Record,
    after_blank: bool,
}

/// The bytes a field may reach while splitting: twice the cell limit, and at least 64 KiB over
/// it, so that a cell just over the limit reaches the builder (which names row and column).
fn split_field_limit(opts: &IngestOptions) -> usize {
    let cell = opts.max_cell_bytes;
    cell.saturating_mul(2).max(cell.saturating_add(64 * 1024))
}

/// Push parser for delimited text: `feed` chunks as they arrive, get cleaned rows back once the
/// column types are fixed (after `sample_rows` rows), then `finish`.
///
/// Memory is bounded by the sample (16 KiB of text and `sample_rows` rows) plus one chunk; the
/// rows of a second table in the same file are held until `finish`.
pub struct DelimitedStream {
    opts: IngestOptions,
    decoder: Decoder,
    bytes_seen: u64,
    pending_text: String,
    sniffed: Option<Sniffed>,
    splitter: Option<Splitter>,
    /// The cell vector of the last record, emptied, for the next one.
    spare_cells: Vec<CellOf<'static>>,
    preamble_left: u64,
    header_left: usize,
    header_done: bool,
    pre_issues: Option<IssueLog>,
    builder: Option<TableBuilder>,
    records: Vec<Record>,
    trailing_reported: bool,
    /// The current table's header names, to spot the header repeated further down.
    header_names: Vec<String>,
    /// A blank line came since the last record (a table may end there).
    after_blank: bool,
    held: Option<HeldHeader>,
    /// Tables already ended (the first one's rows went out through `feed`).
    done_tables: Vec<Table>,
    /// The rows of the current table when it is not the first.
    later_rows: Option<Vec<Row>>,
}

impl DelimitedStream {
    pub fn new(opts: IngestOptions) -> Result<Self, IngestError> {
        opts.validate()?;
        Ok(DelimitedStream {
            decoder: Decoder::new(opts.max_issues),
            pre_issues: Some(IssueLog::new(opts.max_issues)),
            opts,
            bytes_seen: 0,
            pending_text: String::new(),
            sniffed: None,
            splitter: None,
            spare_cells: Vec::new(),
            preamble_left: 0,
            header_left: 0,
            header_done: false,
            builder: None,
            records: Vec::new(),
            trailing_reported: false,
            header_names: Vec::new(),
            after_blank: false,
            held: None,
            done_tables: Vec::new(),
            later_rows: None,
        })
    }

    /// The dialect, once sniffed.
    pub fn dialect(&self) -> Option<&Dialect> {
        self.sniffed.as_ref().map(|s| &s.dialect)
    }

    /// The text encoding, once decided.
    pub fn encoding(&self) -> Option<TextEncoding> {
        self.decoder.encoding()
    }

    /// `(data_type, evidence)` once the column types are fixed (when `feed` first returns rows),
    /// so a caller can name the storage table before the upload ends.
    pub fn data_type(&self) -> Option<(String, Vec<String>)> {
        if let Some(first) = self.done_tables.first() {
            return Some((first.data_type.clone(), first.data_type_evidence.clone()));
        }
        self.builder.as_ref().and_then(TableBuilder::data_type)
    }

    fn issues(&mut self) -> &mut IssueLog {
        match (&mut self.builder, &mut self.pre_issues) {
            (Some(b), _) => &mut b.issues,
            (None, Some(log)) => log,
            (None, None) => unreachable!("the issue log moves into the builder when it is created"),
        }
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
        let mut text = String::with_capacity(chunk.len());
        self.decoder.decode(chunk, false, &mut text);
        self.drain_encoding_problems();
        let mut out = Vec::new();
        self.push_text(text, false, &mut out)?;
        Ok(out)
    }

    /// Ends the upload: flushes everything and returns the final table schema.
    pub fn finish(mut self) -> Result<StreamEnd, IngestError> {
        let mut text = String::new();
        self.decoder.decode(&[], true, &mut text);
        self.drain_encoding_problems();
        let mut out = Vec::new();
        self.push_text(text, true, &mut out)?;
        if let Some(sp) = self.splitter.as_mut() {
            let mut recs = std::mem::take(&mut self.records);
            let unterminated = sp.finish(&mut recs);
            let last = recs.len().saturating_sub(1);
            for (i, r) in recs.into_iter().enumerate() {
                if i == last && unterminated && !self.recovers(&r) {
                    let mut is = Issue::new(IssueKind::UnterminatedQuote, "a quoted field was still open at the end of the file; its text runs to the end");
                    is.line = Some(r.line);
                    self.issues().push(is);
                }
                self.take_record(r, &mut out)?;
            }
        }
        if let Some(held) = self.held.take() {
            self.take_row(held.record, &mut out)?;
        }
        if self.builder.is_none() {
            return Err(IngestError::new(
                ErrorCode::EmptyFile,
                "the file holds no rows (only blank, comment or title lines)",
            ));
        }
        self.end_table(&mut out);
        let mut tables = std::mem::take(&mut self.done_tables).into_iter();
        let table = tables.next().expect("end_table stored the table");
        Ok(StreamEnd {
            rows: out,
            table,
            more_tables: tables.collect(),
        })
    }

    /// Ends the current table: the first one's last rows go to `out`, a later one keeps its own.
    fn end_table(&mut self, out: &mut Vec<Row>) {
        let Some(builder) = self.builder.take() else {
            return;
        };
        let dialect = self.sniffed.as_ref().map(|s| s.dialect.clone());
        let encoding = self.decoder.encoding();
        let table = match self.later_rows.take() {
            None => builder.finish(out, Format::Delimited, encoding, dialect, None),
            Some(mut rows) => {
                let mut t = builder.finish(&mut rows, Format::Delimited, encoding, dialect, None);
                t.rows = rows;
                t
            }
        };
        self.done_tables.push(table);
    }

    fn drain_encoding_problems(&mut self) {
        let problems = std::mem::take(&mut self.decoder.problems);
        let fallback = self.decoder.encoding() == Some(TextEncoding::Windows1252);
        for p in problems {
            let kind = if fallback {
                IssueKind::EncodingFallback
            } else {
                IssueKind::InvalidEncoding
            };
            let mut is = Issue::new(kind, p.reason);
            is.offset = Some(p.offset);
            is.original = Some(p.decoded_as);
            self.issues().push(is);
        }
    }

    fn push_text(
        &mut self,
        text: String,
        last: bool,
        out: &mut Vec<Row>,
    ) -> Result<(), IngestError> {
        if self.sniffed.is_none() {
            self.pending_text.push_str(&text);
            if self.pending_text.len() < SNIFF_BYTES && !last {
                return Ok(());
            }
            if self.pending_text.trim().is_empty() {
                return Err(IngestError::new(ErrorCode::EmptyFile, "the file is empty"));
            }
            let mut s = sniff(&self.pending_text, last);
            s.dialect.crlf = crate::source_format::uses_crlf(&self.pending_text);
            // A field far over the cell limit, or a line of more cells than a row may have
            // (room for ragged rows and empty right-edge columns), is refused as it arrives
            // instead of being buffered whole first; a cell just over the limit still gets the
            // builder's answer with its row and column.
            self.splitter = Some(Splitter::for_dialect(&s.dialect).with_limits(
                split_field_limit(&self.opts),
                self.opts.max_columns.saturating_mul(4).max(2048),
            ));
            self.preamble_left = s.dialect.preamble_lines;
            self.header_left = s.header_span;
            self.sniffed = Some(s);
            let text = std::mem::take(&mut self.pending_text);
            return self.split(&text, out);
        }
        self.split(&text, out)
    }

    fn split(&mut self, text: &str, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let mut recs = std::mem::take(&mut self.records);
        let mut overflow = None;
        if let Some(sp) = self.splitter.as_mut() {
            sp.feed(text, &mut recs);
            overflow = sp.overflow();
        }
        // Room for a row per record at once: growing the vector step by step costs more.
        out.reserve(recs.len());
        for r in recs.drain(..) {
            self.take_record(r, out)?;
        }
        self.records = recs;
        match overflow {
            None => Ok(()),
            Some(Overflow::Field { line, column }) => Err(IngestError::new(
                ErrorCode::CellTooLarge,
                format!(
                    "a cell on line {line} (column {column}) is over {} bytes; the limit is {}",
                    split_field_limit(&self.opts),
                    self.opts.max_cell_bytes
                ),
            )),
            Some(Overflow::Fields { line }) => Err(IngestError::new(
                ErrorCode::TooManyColumns,
                format!(
                    "line {line} has more cells than any row may; the limit is {} columns",
                    self.opts.max_columns
                ),
            )),
        }
    }

    /// The width a data record should have, once the header is known.
    fn expected_width(&self) -> Option<usize> {
        self.builder.as_ref().map(TableBuilder::header_width)
    }

    /// Whether `r` is a record a stray quote made: a quoted field ran past a line break and the
    /// field count is off, or text followed a closing quote.
    fn recovers(&self, r: &Record) -> bool {
        if r.raw.is_none() {
            return false;
        }
        let (Some(width), Some(s)) = (self.expected_width(), self.sniffed.as_ref()) else {
            return false;
        };
        r.stray_quote
            || (r.fields.len() != width
                && r.fields.len() != width + s.dialect.trailing_empty_columns)
    }

    /// Re-reads a record a stray quote made: its first line with the quote as a literal, the
    /// lines it swallowed as the records they are.
    fn recover(&mut self, r: Record, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let Some(s) = self.sniffed.clone() else {
            return Ok(());
        };
        let raw = r.raw.unwrap_or_default();
        let (first, rest) = raw.split_once('\n').unwrap_or((&raw, ""));
        let first = first.strip_suffix('\r').unwrap_or(first);
        let mut literal = Splitter::for_dialect(&s.dialect).starting_at_line(r.line);
        literal.quoting = false;
        let (mut recs, _) = split_text(literal, first);
        let mut is = Issue::new(
            IssueKind::QuoteRecovered,
            format!(
                "a quote opened here ran past the end of the line and made a record of {} fields; the line was re-read with the quote as a literal character",
                r.fields.len()
            ),
        );
        is.line = Some(r.line);
        is.original = Some(first.to_string());
        self.issues().push(is);
        if !rest.is_empty() {
            let sp = Splitter::for_dialect(&s.dialect).starting_at_line(r.line + 1);
            let (more, unterminated) = split_text(sp, rest);
            if unterminated {
                let line = more.last().map(|m| m.line);
                if more.last().is_none_or(|m| !self.recovers(m)) {
                    let mut is = Issue::new(IssueKind::UnterminatedQuote, "a quoted field was still open at the end of the file; its text runs to the end");
                    is.line = line;
                    self.issues().push(is);
                }
            }
            recs.extend(more);
        }
        for rec in recs {
            self.take_record(rec, out)?;
        }
        Ok(())
    }

    fn take_record(&mut self, r: Record, out: &mut Vec<Row>) -> Result<(), IngestError> {
        // Copies, not a clone of the sniffed header: this runs once per record.
        let Some((delim, has_header)) = self
            .sniffed
            .as_ref()
            .map(|s| (s.dialect.delimiter, s.dialect.has_header))
        else {
            return Ok(());
        };
        if r.comment {
            let mut is = Issue::new(IssueKind::CommentLine, "comment line skipped");
            is.line = Some(r.line);
            is.original = r.fields.first().map(str::to_owned);
            self.issues().push(is);
            return Ok(());
        }
        if r.is_blank() {
            let mut is = Issue::new(IssueKind::BlankLine, "blank line skipped");
            is.line = Some(r.line);
            self.issues().push(is);
            self.after_blank = self.header_done;
            return Ok(());
        }
        if !self.header_done && self.preamble_left > 0 {
            self.preamble_left -= 1;
            let mut is = Issue::new(
                IssueKind::PreambleSkipped,
                "line above the header skipped (title or note)",
            );
            is.line = Some(r.line);
            is.original = Some(line_text(&r, delim));
            self.issues().push(is);
            return Ok(());
        }
        if !self.header_done {
            let Some(s) = self.sniffed.clone() else {
                return Ok(());
            };
            if self.header_left > 1 {
                // An upper line of a stacked header (or a repeated one): merged by the sniffer.
                self.header_left -= 1;
                return Ok(());
            }
            self.header_done = true;
            let mut log = self
                .pre_issues
                .take()
                .unwrap_or_else(|| IssueLog::new(self.opts.max_issues));
            for is in s.header_issues.iter().cloned() {
                log.push(is);
            }
            if s.dialect.trailing_empty_columns > 0 {
                log.push(Issue::new(
                    IssueKind::TrailingEmptyColumns,
                    format!(
                        "{} empty column(s) at the right edge were dropped",
                        s.dialect.trailing_empty_columns
                    ),
                ));
                self.trailing_reported = true;
            }
            if let Some(names) = s.header.clone().filter(|_| s.dialect.has_header) {
                let mut names = names;
                let filled = names
                    .iter()
                    .rposition(|f| !f.is_empty())
                    .map_or(0, |i| i + 1);
                names.truncate(s.width.max(filled));
                self.header_names = names.clone();
                self.builder = Some(TableBuilder::new(names, &self.opts, log, true)?);
                return Ok(());
            }
            self.builder = Some(TableBuilder::new(
                vec![String::new(); s.width],
                &self.opts,
                log,
                false,
            )?);
        }
        if self.recovers(&r) {
            return self.recover(r, out);
        }
        let after_blank = std::mem::take(&mut self.after_blank);
        if let Some(held) = self.held.take() {
            if self.starts_table(&held, &r) {
                self.new_table(held.record, out)?;
            } else {
                self.take_row(held.record, out)?;
            }
        }
        if has_header && self.is_table_start(&r, after_blank) {
            self.held = Some(HeldHeader {
                record: r,
                after_blank,
            });
            return Ok(());
        }
        self.take_row(r, out)
    }

    /// Whether `r` may be the header of a new table: a header-like line whose width differs
    /// from this table's, or (after a blank line) that is text where this table has numbers.
    fn is_table_start(&self, r: &Record, after_blank: bool) -> bool {
        // The width test first: most records have the header's width and no blank line above.
        let other_width = r.fields.len() != self.header_names.len();
        if !(other_width || after_blank)
            || !header_like(r)
            || r.fields.iter().any(|f| f.trim().is_empty())
        {
            return false;
        }
        if trimmed(r) == self.header_names {
            return false; // the same header again: skipped as a repeat, not a new table
        }
        other_width || self.conflicts_with_types(r)
    }

    /// The held line is confirmed as a header by the line after it, which has its width and
    /// numbers or dates under its names — or, after a blank line, any row of its width when the
    /// width is new or the names are text where this table holds numbers.
    fn starts_table(&self, held: &HeldHeader, next: &Record) -> bool {
        let h = &held.record;
        next.fields.len() == h.fields.len()
            && (names_typed_columns(h, &[next])
                || (held.after_blank
                    && (h.fields.len() != self.header_names.len() || self.conflicts_with_types(h))))
    }

    /// `r` holds text in a column this table stores numbers, dates or booleans in.
    fn conflicts_with_types(&self, r: &Record) -> bool {
        let Some(b) = self.builder.as_ref() else {
            return false;
        };
        r.fields.iter().enumerate().any(|(c, f)| {
            let t = f.trim();
            !t.is_empty()
                && !is_null_token(t)
                && !looks_typed(t)
                && b.column_is_typed(c, looks_typed)
        })
    }

    /// Ends the current table and starts one with `header` as its header line.
    fn new_table(&mut self, header: Record, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let delim = self.sniffed.as_ref().map_or(',', |s| s.dialect.delimiter);
        self.end_table(out);
        let number = self.done_tables.len() + 1;
        let mut log = IssueLog::new(self.opts.max_issues);
        let mut is = Issue::new(
            IssueKind::TableSplit,
            format!(
                "a new table with its own header starts on this line; stored as table {number}"
            ),
        );
        is.line = Some(header.line);
        is.original = Some(line_text(&header, delim));
        log.push(is);
        let names = trimmed(&header);
        self.header_names = names.clone();
        self.builder = Some(TableBuilder::new(names, &self.opts, log, true)?);
        self.later_rows = Some(Vec::new());
        Ok(())
    }

    /// Adds a data record to the current table.
    fn take_row(&mut self, r: Record, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let trailing = self
            .sniffed
            .as_ref()
            .map_or(0, |s| s.dialect.trailing_empty_columns);
        let delim = self.sniffed.as_ref().map_or(',', |s| s.dialect.delimiter);
        if !self.header_names.is_empty()
            && r.fields.len() == self.header_names.len()
            && r.fields.first().map(|f| f.trim()) == self.header_names.first().map(String::as_str)
            && trimmed(&r) == self.header_names
        {
            let mut is = Issue::new(
                IssueKind::HeaderRepeated,
                "the header is repeated on this line; the copy was skipped",
            );
            is.line = Some(r.line);
            is.original = Some(line_text(&r, delim));
            self.issues().push(is);
            return Ok(());
        }
        let Some(builder) = self.builder.as_mut() else {
            return Ok(());
        };
        let mut fields = r.fields;
        let width = builder.width();
        if fields.len() > width
            && fields.len() <= width + trailing
            && fields.iter().skip(width).all(|f| f.trim().is_empty())
        {
            fields.truncate(width);
        }
        let sink = match self.later_rows.as_mut() {
            Some(rows) => rows,
            None => out,
        };
        // One NUL search over the whole record instead of one per cell; the cells borrow its
        // text, so only those stored as text are copied.
        let may_hold_nul = fields.text().as_bytes().contains(&0);
        // `'static` cells are cells of any shorter lifetime: no conversion this way.
        let mut cells: Vec<CellOf<'_>> = std::mem::take(&mut self.spare_cells);
        cells.extend(fields.iter().map(|f| CellOf::Text(Cow::Borrowed(f))));
        let pushed = builder.push_cells(&mut cells, Some(r.line), may_hold_nul, sink);
        self.spare_cells = reuse_cells(cells);
        if let Some(sp) = self.splitter.as_mut() {
            sp.recycle(fields);
        }
        pushed
    }
}

/// An emptied cell vector with its capacity, for cells of another lifetime (the next record's):
/// the in-place `collect` of a `vec::IntoIter` keeps the allocation.
fn reuse_cells<'b>(mut cells: Vec<CellOf<'_>>) -> Vec<CellOf<'b>> {
    cells.clear();
    cells.into_iter().map(|_| unreachable!("cleared")).collect()
}

/// Reads a whole delimited file: one table, or several when tables follow one another.
pub(crate) fn ingest_delimited(
    bytes: &[u8],
    opts: &IngestOptions,
) -> Result<Vec<Table>, IngestError> {
    let mut stream = DelimitedStream::new(opts.clone())?;
    let mut rows = Vec::new();
    for chunk in bytes.chunks(1 << 20) {
        rows.extend(stream.feed(chunk)?);
    }
    let end = stream.finish()?;
    rows.extend(end.rows);
    let mut table = end.table;
    table.rows = rows;
    let mut tables = vec![table];
    tables.extend(end.more_tables);
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(text: &str, chunk: usize) -> Vec<Vec<String>> {
        let mut sp = Splitter::new(b',', b'"', None);
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let mut j = (i + chunk).min(bytes.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            sp.feed(&text[i..j], &mut out);
            i = j;
        }
        sp.finish(&mut out);
        out.into_iter().map(|r| r.fields.to_vec()).collect()
    }

    #[test]
    fn the_data_type_is_known_as_soon_as_rows_come_out() {
        let mut stream =
            DelimitedStream::new(IngestOptions::new().with_sample_rows(2)).expect("valid options");
        let mut csv = String::from("order_id,sku,quantity\n");
        for i in 0..2000 {
            csv.push_str(&format!("{i},s-{i},{}\n", i % 7));
        }
        assert_eq!(stream.data_type(), None, "nothing read yet");
        let rows = stream.feed(csv.as_bytes()).expect("valid CSV");
        assert!(!rows.is_empty());
        let (early, _) = stream
            .data_type()
            .expect("types are fixed once rows come out");
        let end = stream.finish().expect("valid CSV");
        assert_eq!(early, end.table.data_type);
        assert_eq!(early, "ecommerce");
    }

    /// Fed one character at a time no field is ever whole in a chunk, so every field takes the
    /// buffered path; fed whole, most take the direct one. Both must give the same records.
    #[test]
    fn fields_taken_straight_from_the_text_equal_the_buffered_ones() {
        const TOKENS: [&str; 12] = [
            "a", "bc", ",", ",", ";", "\"", "\"\"", "\n", "\r\n", "\\", " ", "é",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut below = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let dialects = [
            (b',', b'"', None),
            (b',', b'"', Some(b'\\')),
            (b';', b'"', None),
        ];
        // Not the `, ` dialect (the direct path never runs there): its `raw` text already
        // depends on where a chunk ends after a delimiter (the delimiter is left out).
        let mut direct = 0;
        for _ in 0..3000 {
            let text: String = (0..below(60))
                .map(|_| TOKENS[below(TOKENS.len())])
                .collect();
            for (delim, quote, escape) in dialects {
                let make = || {
                    let mut sp = Splitter::new(delim, quote, Some(b'#')).with_limits(8, 64);
                    sp.escape = escape;
                    sp
                };
                let (mut sp, mut whole) = (make(), Vec::new());
                sp.feed(&text, &mut whole);
                let whole_end = (sp.finish(&mut whole), sp.overflow());
                let (mut sp, mut one_by_one) = (make(), Vec::new());
                for (i, c) in text.char_indices() {
                    sp.feed(&text[i..i + c.len_utf8()], &mut one_by_one);
                }
                let end = (sp.finish(&mut one_by_one), sp.overflow());
                assert_eq!(whole, one_by_one, "{text:?} with {:?}", delim as char);
                assert_eq!(whole_end, end, "{text:?}");
                direct += whole.iter().map(|r| r.fields.len()).sum::<usize>();
            }
        }
        assert!(direct > 10_000, "the generator makes fields: {direct}");
    }

    #[test]
    fn recycled_record_buffers_stay_bounded() {
        let mut sp = Splitter::new(b',', b'"', None);
        let text = format!("{},a\n", "x".repeat(300_000)).repeat(10);
        let mut out = Vec::new();
        sp.feed(&text, &mut out);
        assert_eq!(out.len(), 10);
        for r in out {
            sp.recycle(r.fields);
        }
        assert!(sp.spare_bytes <= MAX_SPARE_BYTES, "{}", sp.spare_bytes);
        assert!((1..10).contains(&sp.spare.len()), "{}", sp.spare.len());
        let kept: usize = sp.spare.iter().map(Fields::capacity).sum();
        assert_eq!(kept, sp.spare_bytes);
    }

    #[test]
    fn quoted_newlines_and_escaped_quotes_survive_any_chunking() {
        let text = "a,b\r\n\"line1\nline2\",\"say \"\"hi\"\"\"\r\nx,é\n";
        for chunk in [1, 2, 3, 7, 100] {
            assert_eq!(
                split_all(text, chunk),
                vec![
                    vec!["a", "b"],
                    vec!["line1\nline2", "say \"hi\""],
                    vec!["x", "é"]
                ],
                "chunk {chunk}"
            );
        }
    }
}
