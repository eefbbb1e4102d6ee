//! Delimited text (CSV, TSV, `;`, `|`): a push parser that needs only the current chunk, the
//! dialect sniffed from the first 64 KiB, and the sample rows held for type inference.
//!
//! Design decision: the splitter works on decoded UTF-8 bytes and only ever splits at ASCII
//! delimiters, so fields are valid UTF-8 by construction and a chunk boundary can fall anywhere.

use crate::builder::{Cell, TableBuilder};
use crate::decode::{Decoder, TextEncoding};
use crate::error::{ErrorCode, IngestError};
use crate::model::*;
use crate::options::DateOrder;
use crate::options::{Format, IngestOptions};
use crate::values::{is_null_token, parse_date, parse_number};

/// Decoded text read before the dialect is decided.
const SNIFF_BYTES: usize = 16 * 1024;
const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub fields: Vec<String>,
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub comment: bool,
    /// Whether the first field was quoted (a quoted `"#x"` is data, not a comment).
    pub first_quoted: bool,
}

impl Record {
    fn is_blank(&self) -> bool {
        !self.first_quoted && self.fields.iter().all(|f| f.trim().is_empty())
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
    Comment,
}

/// Splits text into records; keeps its state between chunks.
#[derive(Debug)]
pub(crate) struct Splitter {
    delim: u8,
    quote: u8,
    comment: Option<u8>,
    state: State,
    field: Vec<u8>,
    fields: Vec<String>,
    first_quoted: bool,
    line: u64,
    record_line: u64,
    /// A `\r` ended the last record; a following `\n` belongs to it.
    after_cr: bool,
    comment_text: Vec<u8>,
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
            comment,
            state: State::FieldStart,
            field: Vec::new(),
            fields: Vec::new(),
            first_quoted: false,
            line: 1,
            record_line: 1,
            after_cr: false,
            comment_text: Vec::new(),
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

    fn end_field(&mut self) {
        let bytes = std::mem::take(&mut self.field);
        // Splits happen only at ASCII bytes of valid UTF-8, so this never fails.
        self.fields.push(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        );
    }

    fn end_record(&mut self, out: &mut Vec<Record>) {
        self.end_field();
        out.push(Record {
            fields: std::mem::take(&mut self.fields),
            line: self.record_line,
            comment: false,
            first_quoted: self.first_quoted,
        });
        self.first_quoted = false;
        self.state = State::FieldStart;
    }

    pub(crate) fn feed(&mut self, text: &str, out: &mut Vec<Record>) {
        let bytes = text.as_bytes();
        let mut i = 0;
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
                self.state == State::FieldStart && self.fields.is_empty() && self.field.is_empty();
            if at_record_start {
                self.record_line = self.line;
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
                            fields: vec![text],
                            line: self.record_line,
                            comment: true,
                            first_quoted: false,
                        });
                        self.state = State::FieldStart;
                    } else {
                        self.comment_text.push(b);
                    }
                }
                State::FieldStart if b == self.quote => {
                    if self.fields.is_empty() {
                        self.first_quoted = true;
                    }
                    self.state = State::Quoted;
                }
                State::FieldStart | State::Unquoted => {
                    if b == self.delim {
                        self.end_field();
                        self.state = State::FieldStart;
                    } else if b == b'\n' || b == b'\r' {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        self.end_record(out);
                    } else {
                        // Fast path: copy the run of ordinary bytes at once.
                        let start = i;
                        while i + 1 < bytes.len()
                            && !matches!(bytes[i + 1], b'\n' | b'\r')
                            && bytes[i + 1] != self.delim
                        {
                            i += 1;
                        }
                        self.field.extend_from_slice(&bytes[start..=i]);
                        self.state = State::Unquoted;
                    }
                }
                State::Quoted => {
                    if b == self.quote {
                        self.state = State::QuoteInQuoted;
                    } else {
                        let start = i;
                        while i + 1 < bytes.len()
                            && bytes[i + 1] != self.quote
                            && bytes[i + 1] != b'\n'
                        {
                            i += 1;
                        }
                        if b == b'\n' {
                            self.line += 1;
                        }
                        self.field.extend_from_slice(&bytes[start..=i]);
                    }
                }
                State::QuoteInQuoted => {
                    if b == self.quote {
                        self.field.push(b);
                        self.state = State::Quoted;
                    } else if b == self.delim {
                        self.end_field();
                        self.state = State::FieldStart;
                    } else if b == b'\n' || b == b'\r' {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        self.end_record(out);
                    } else {
                        // `"abc"def`: keep the stray text rather than lose it.
                        self.field.push(b);
                        self.state = State::Unquoted;
                    }
                }
            }
            i += 1;
        }
        self.over_limit();
    }

    /// Records an [`Overflow`] when the field or record being split passed a limit.
    fn over_limit(&mut self) -> bool {
        if self.overflow.is_none() {
            if self.field.len().max(self.comment_text.len()) > self.max_field_bytes {
                self.overflow = Some(Overflow::Field {
                    line: self.record_line,
                    column: self.fields.len() + 1,
                });
            } else if self.fields.len() > self.max_fields {
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
        let unterminated = self.state == State::Quoted;
        match self.state {
            State::Comment => {
                let text =
                    String::from_utf8_lossy(&std::mem::take(&mut self.comment_text)).into_owned();
                out.push(Record {
                    fields: vec![text],
                    line: self.record_line,
                    comment: true,
                    first_quoted: false,
                });
            }
            _ if !self.fields.is_empty()
                || !self.field.is_empty()
                || self.state != State::FieldStart =>
            {
                self.end_record(out)
            }
            _ => {}
        }
        self.state = State::FieldStart;
        unterminated
    }
}

/// The sniffed reading of a file, plus how many data columns there are.
#[derive(Debug, Clone)]
struct Sniffed {
    dialect: Dialect,
    width: usize,
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

fn sniff(text: &str, complete: bool) -> Sniffed {
    // Only whole lines: the last one may be cut by the chunk boundary.
    let sample = if complete {
        text
    } else {
        &text[..text.rfind('\n').map_or(text.len(), |i| i + 1)]
    };
    let mut best: Option<(usize, usize, u8, Vec<Record>, usize)> = None; // (consistent, width, delim, records, mode)
    for delim in CANDIDATE_DELIMITERS {
        let mut sp = Splitter::new(delim, b'"', None);
        let mut recs = Vec::new();
        sp.feed(sample, &mut recs);
        sp.finish(&mut recs);
        recs.truncate(500);
        let counts: Vec<usize> = recs
            .iter()
            .filter(|r| !r.is_blank() && !r.starts_with_hash())
            .map(|r| r.fields.len())
            .collect();
        let mut freq = std::collections::BTreeMap::new();
        for c in &counts {
            *freq.entry(*c).or_insert(0usize) += 1;
        }
        let Some((&mode, &consistent)) = freq
            .iter()
            .filter(|(w, _)| **w > 1)
            .max_by_key(|(w, n)| (**n, **w))
        else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((bc, bw, ..)) => (consistent, mode) > (*bc, *bw),
        };
        if better {
            best = Some((consistent, mode, delim, recs, mode));
        }
    }
    let (delim, records, mode) = match best {
        Some((_, _, d, r, m)) => (d, r, m),
        None => {
            let mut sp = Splitter::new(b',', b'"', None);
            let mut recs = Vec::new();
            sp.feed(sample, &mut recs);
            sp.finish(&mut recs);
            (b',', recs, 1)
        }
    };
    let content: Vec<&Record> = records.iter().filter(|r| !r.is_blank()).collect();
    // The header is the first record with the modal width that is not a lone title cell.
    let mut header_idx = None;
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
        header_idx = Some(i);
        break;
    }
    let header_idx = header_idx.unwrap_or(0);
    let hashes_inconsistent = content
        .iter()
        .enumerate()
        .any(|(i, r)| r.starts_with_hash() && (i < header_idx || r.fields.len() != mode));
    let comment = hashes_inconsistent.then_some('#');
    let preamble = content[..header_idx.min(content.len())]
        .iter()
        .filter(|r| !(comment.is_some() && r.starts_with_hash()))
        .count() as u64;
    let header = content.get(header_idx);
    let data: Vec<&&Record> = content
        .iter()
        .skip(header_idx + 1)
        .filter(|r| !(comment.is_some() && r.starts_with_hash()))
        .collect();

    let has_header = match header {
        Some(h) => {
            let names: Vec<&str> = h
                .fields
                .iter()
                .map(|f| f.trim())
                .filter(|f| !f.is_empty())
                .collect();
            let distinct =
                names.iter().collect::<std::collections::HashSet<_>>().len() == names.len();
            !h.fields.iter().any(|f| looks_typed(f)) && distinct && (!names.is_empty())
        }
        None => false,
    };
    // Trailing columns that have neither a header nor any value in the sample.
    let mut trailing = 0;
    if let Some(h) = header.filter(|_| has_header) {
        while trailing < mode.saturating_sub(1)
            && h.fields
                .get(mode - 1 - trailing)
                .is_some_and(|f| f.trim().is_empty())
            && data.iter().all(|r| {
                r.fields
                    .get(mode - 1 - trailing)
                    .is_none_or(|f| f.trim().is_empty())
            })
        {
            trailing += 1;
        }
    }
    Sniffed {
        dialect: Dialect {
            delimiter: delim as char,
            quote: '"',
            has_header,
            preamble_lines: preamble,
            comment,
            trailing_empty_columns: trailing,
        },
        width: mode - trailing,
    }
}

/// What [`DelimitedStream::finish`] hands back: the last rows and the final, truthful schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    /// Rows not yet returned by `feed` (all of them for a file shorter than the sample).
    pub rows: Vec<Row>,
    /// The table with its final columns, statistics and issues; `rows` is empty.
    pub table: Table,
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
/// Memory is bounded by the sample (16 KiB of text and `sample_rows` rows) plus one chunk.
pub struct DelimitedStream {
    opts: IngestOptions,
    decoder: Decoder,
    bytes_seen: u64,
    pending_text: String,
    sniffed: Option<Sniffed>,
    splitter: Option<Splitter>,
    preamble_left: u64,
    header_done: bool,
    pre_issues: Option<IssueLog>,
    builder: Option<TableBuilder>,
    records: Vec<Record>,
    trailing_reported: bool,
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
            preamble_left: 0,
            header_done: false,
            builder: None,
            records: Vec::new(),
            trailing_reported: false,
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
            if sp.finish(&mut recs) {
                let line = recs.last().map(|r| r.line);
                let mut is = Issue::new(IssueKind::UnterminatedQuote, "a quoted field was still open at the end of the file; its text runs to the end");
                is.line = line;
                self.issues().push(is);
            }
            for r in recs {
                self.take_record(r, &mut out)?;
            }
        }
        let dialect = self.sniffed.as_ref().map(|s| s.dialect.clone());
        let encoding = self.decoder.encoding();
        let builder = match self.builder.take() {
            Some(b) => b,
            None => {
                return Err(IngestError::new(
                    ErrorCode::EmptyFile,
                    "the file holds no rows (only blank, comment or title lines)",
                ));
            }
        };
        let table = builder.finish(&mut out, Format::Delimited, encoding, dialect, None);
        Ok(StreamEnd { rows: out, table })
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
            let s = sniff(&self.pending_text, last);
            // A field far over the cell limit, or a line of more cells than a row may have
            // (room for ragged rows and empty right-edge columns), is refused as it arrives
            // instead of being buffered whole first; a cell just over the limit still gets the
            // builder's answer with its row and column.
            self.splitter = Some(
                Splitter::new(
                    s.dialect.delimiter as u8,
                    s.dialect.quote as u8,
                    s.dialect.comment.map(|c| c as u8),
                )
                .with_limits(
                    split_field_limit(&self.opts),
                    self.opts.max_columns.saturating_mul(4).max(2048),
                ),
            );
            self.preamble_left = s.dialect.preamble_lines;
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

    fn take_record(&mut self, r: Record, out: &mut Vec<Row>) -> Result<(), IngestError> {
        let Some(s) = self.sniffed.clone() else {
            return Ok(());
        };
        if r.comment {
            let mut is = Issue::new(IssueKind::CommentLine, "comment line skipped");
            is.line = Some(r.line);
            is.original = r.fields.into_iter().next();
            self.issues().push(is);
            return Ok(());
        }
        if r.is_blank() {
            let mut is = Issue::new(IssueKind::BlankLine, "blank line skipped");
            is.line = Some(r.line);
            self.issues().push(is);
            return Ok(());
        }
        if !self.header_done && self.preamble_left > 0 {
            self.preamble_left -= 1;
            let mut is = Issue::new(
                IssueKind::PreambleSkipped,
                "line above the header skipped (title or note)",
            );
            is.line = Some(r.line);
            is.original = Some(r.fields.join(&s.dialect.delimiter.to_string()));
            self.issues().push(is);
            return Ok(());
        }
        let mut fields = r.fields;
        if !self.header_done {
            self.header_done = true;
            let mut log = self
                .pre_issues
                .take()
                .unwrap_or_else(|| IssueLog::new(self.opts.max_issues));
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
            if s.dialect.has_header {
                fields.truncate(
                    s.width.max(
                        fields
                            .iter()
                            .rposition(|f| !f.trim().is_empty())
                            .map_or(0, |i| i + 1),
                    ),
                );
                let names: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
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
        let Some(builder) = self.builder.as_mut() else {
            return Ok(());
        };
        let width = builder.width();
        if fields.len() > width
            && fields.len() <= width + s.dialect.trailing_empty_columns
            && fields[width..].iter().all(|f| f.trim().is_empty())
        {
            fields.truncate(width);
        }
        builder.push(
            fields.into_iter().map(Cell::Text).collect(),
            Some(r.line),
            out,
        )
    }
}

/// Reads a whole delimited file.
pub(crate) fn ingest_delimited(bytes: &[u8], opts: &IngestOptions) -> Result<Table, IngestError> {
    let mut stream = DelimitedStream::new(opts.clone())?;
    let mut rows = Vec::new();
    for chunk in bytes.chunks(1 << 20) {
        rows.extend(stream.feed(chunk)?);
    }
    let end = stream.finish()?;
    rows.extend(end.rows);
    let mut table = end.table;
    table.rows = rows;
    Ok(table)
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
        out.into_iter().map(|r| r.fields).collect()
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
