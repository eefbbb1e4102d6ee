//! The public result types: tables, columns, issues.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::decode::TextEncoding;
use crate::options::{DateOrder, Format};

pub use crate::row::{Keys, Row};

/// The storage type of a column: what the JSON values in its rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Number,
    Boolean,
    /// ISO 8601 `YYYY-MM-DD` strings.
    Date,
    /// ISO 8601 `YYYY-MM-DDTHH:MM:SS[.f][zone]` strings (zone only when the source had one).
    Datetime,
    /// `HH:MM:SS[.f]` strings.
    Time,
    String,
    /// Nested JSON objects or arrays, stored as they came.
    Json,
    /// Mostly `inferred_type`, but some values did not fit and are stored as their original text.
    Mixed,
    /// No value at all in any row.
    Empty,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
            ColumnType::Time => "time",
            ColumnType::String => "string",
            ColumnType::Json => "json",
            ColumnType::Mixed => "mixed",
            ColumnType::Empty => "empty",
        }
    }
}

/// What the values mean, beyond their storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SemanticType {
    Email,
    Url,
    Uuid,
    Phone,
    Ipv4,
    /// A number that came with a currency symbol or code (see `format.currency_*`).
    Currency,
    /// A number written with `%`; the stored value is in percent points (`12.5%` → 12.5).
    Percent,
    /// Digits with leading zeros (zip codes, IDs like `007`): kept as text.
    Code,
    /// Integers beyond ±2^53: kept as text so no consumer rounds them.
    BigInteger,
}

impl SemanticType {
    pub fn as_str(self) -> &'static str {
        match self {
            SemanticType::Email => "email",
            SemanticType::Url => "url",
            SemanticType::Uuid => "uuid",
            SemanticType::Phone => "phone",
            SemanticType::Ipv4 => "ipv4",
            SemanticType::Currency => "currency",
            SemanticType::Percent => "percent",
            SemanticType::Code => "code",
            SemanticType::BigInteger => "big_integer",
        }
    }

    pub fn parse(s: &str) -> Option<SemanticType> {
        use SemanticType::*;
        [
            Email, Url, Uuid, Phone, Ipv4, Currency, Percent, Code, BigInteger,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// How the source wrote the values of a column (what was undone to store them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColumnFormat {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimal_separator: Option<char>,
    /// The thousands separator the column used, when it used one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thousands_separator: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_order: Option<DateOrder>,
    /// True when no value decided the date order and `date_order` is the configured default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub date_order_assumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// True when `1`/`0` were read as booleans (only in clearly boolean columns).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub boolean_digits: bool,
}

/// One column of a table, with the statistics of what was actually stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Clean key used in the rows: snake_case, unique, `column_N` when the header was empty.
    pub key: String,
    /// The header text as it was in the file ("" when the file had no header).
    pub name: String,
    /// 0-based position in the source.
    pub position: usize,
    /// The truth about stored values (`mixed` when some did not fit `inferred_type`).
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// The type decided from the sample rows.
    pub inferred_type: ColumnType,
    pub semantic_type: Option<SemanticType>,
    pub nullable: bool,
    pub null_count: u64,
    pub non_null_count: u64,
    /// Values stored as original text because they did not fit `inferred_type`.
    pub nonconforming_count: u64,
    pub distinct_count: u64,
    /// False when there were more distinct values than `distinct_cap` (the count is a floor).
    pub distinct_exact: bool,
    pub min: Option<Value>,
    pub max: Option<Value>,
    /// Up to five distinct stored values, in order of appearance.
    pub samples: Vec<Value>,
    /// Null spellings met in this column (`N/A`, `-`, …).
    pub null_tokens: Vec<String>,
    pub format: ColumnFormat,
    /// How the source wrote the values, to write them back (`ingest::render`); absent when no
    /// cell was sampled, and in schemas stored before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_format: Option<crate::source_format::SourceFormat>,
}

/// How delimited text was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dialect {
    pub delimiter: char,
    pub quote: char,
    /// The byte that escapes a quote inside a quoted field (`\\"`), besides doubling it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escape: Option<char>,
    /// The `, ` dialect: a delimiter counts only when a space follows it (so `Smith,John` is
    /// one field), and the spaces after it are skipped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_initial_space: bool,
    pub has_header: bool,
    /// Lines above the header that were skipped (titles, export notes).
    pub preamble_lines: u64,
    /// The comment prefix when comment lines were found.
    pub comment: Option<char>,
    /// Empty columns at the right edge of every row that were dropped.
    pub trailing_empty_columns: usize,
    /// Lines end with CRLF (most line breaks of the sniffed text are `\r\n`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub crlf: bool,
}

/// Kinds of problems worth telling the uploader about. Stable snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A cell that did not fit its column's type and was stored as its original text.
    ValueNotConverted,
    /// A row with fewer fields than the header (padded with nulls) or more (kept in extra columns).
    RaggedRow,
    /// Bytes that are not valid in the detected encoding (kept, decoded as Windows-1252).
    InvalidEncoding,
    /// The whole file was not UTF-8 and was read as Windows-1252.
    EncodingFallback,
    PreambleSkipped,
    CommentLine,
    BlankLine,
    TrailingEmptyColumns,
    DuplicateHeader,
    EmptyHeader,
    /// A date column with no value that decides d/m vs m/d; the configured order was used.
    AmbiguousDateOrder,
    /// A quoted field that was still open at the end of the file.
    UnterminatedQuote,
    /// An XLSX sheet with no data, or a JSON value that was not an object.
    SkippedContent,
    /// A JSON object with the same key twice: the last value is kept, the earlier one reported.
    DuplicateKey,
    /// A NUL character (U+0000), which PostgreSQL text and jsonb cannot hold, stored as U+FFFD.
    NulReplaced,
    /// A header line with one field too many or too few (an extra or missing separator),
    /// repaired to the data rows' width.
    HeaderRepaired,
    /// A header stacked over two or three lines, merged into one (names joined with a space).
    HeaderMerged,
    /// The header line again (right below it, or further down): the copy is skipped.
    HeaderRepeated,
    /// A second table in the same file (its own header): stored as a table of its own.
    TableSplit,
    /// A stray quote that ran past the end of its line: the line was re-read with the quote as
    /// a literal, and the lines it swallowed read as the rows they are.
    QuoteRecovered,
    /// A sheet whose table name (after cleaning) was already taken by an earlier sheet of the
    /// same workbook (`Sales Q1` / `Sales-Q1`): stored as `{table}_2`, not appended to it.
    TableRenamed,
}

impl IssueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::ValueNotConverted => "value_not_converted",
            IssueKind::RaggedRow => "ragged_row",
            IssueKind::InvalidEncoding => "invalid_encoding",
            IssueKind::EncodingFallback => "encoding_fallback",
            IssueKind::PreambleSkipped => "preamble_skipped",
            IssueKind::CommentLine => "comment_line",
            IssueKind::BlankLine => "blank_line",
            IssueKind::TrailingEmptyColumns => "trailing_empty_columns",
            IssueKind::DuplicateHeader => "duplicate_header",
            IssueKind::EmptyHeader => "empty_header",
            IssueKind::AmbiguousDateOrder => "ambiguous_date_order",
            IssueKind::UnterminatedQuote => "unterminated_quote",
            IssueKind::SkippedContent => "skipped_content",
            IssueKind::NulReplaced => "nul_replaced",
            IssueKind::DuplicateKey => "duplicate_key",
            IssueKind::HeaderRepaired => "header_repaired",
            IssueKind::HeaderMerged => "header_merged",
            IssueKind::HeaderRepeated => "header_repeated",
            IssueKind::TableSplit => "table_split",
            IssueKind::QuoteRecovered => "quote_recovered",
            IssueKind::TableRenamed => "table_renamed",
        }
    }
}

/// One thing that was not taken exactly as written, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub kind: IssueKind,
    /// 1-based data row (the first row after the header is 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// 1-based physical line in the source text, for delimited files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset in the upload (encoding problems).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Clean column key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The original text involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    pub message: String,
}

impl Issue {
    pub(crate) fn new(kind: IssueKind, message: impl Into<String>) -> Self {
        Issue {
            kind,
            row: None,
            line: None,
            offset: None,
            column: None,
            original: None,
            message: message.into(),
        }
    }
}

/// Issues kept up to a cap, counted exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IssueLog {
    pub kept: Vec<Issue>,
    pub counts: BTreeMap<&'static str, u64>,
    pub max: usize,
}

impl IssueLog {
    pub fn new(max: usize) -> Self {
        IssueLog {
            max,
            ..Default::default()
        }
    }
    pub fn push(&mut self, issue: Issue) {
        *self.counts.entry(issue.kind.as_str()).or_insert(0) += 1;
        if self.kept.len() < self.max {
            self.kept.push(issue);
        }
    }
}

/// One table: a CSV file, a JSON document, or one XLSX sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// The sheet name for XLSX; `None` otherwise.
    pub sheet: Option<String>,
    pub format: Format,
    pub encoding: Option<TextEncoding>,
    pub dialect: Option<Dialect>,
    pub columns: Vec<Column>,
    /// ecommerce, crm, finance, inventory, hr, marketing, logistics, healthcare, education,
    /// real_estate, … or `data`.
    pub data_type: String,
    /// Column keys that decided `data_type`.
    pub data_type_evidence: Vec<String>,
    /// Every kind that scored, most points first, with its reasons (header words, values).
    pub data_type_points: Vec<crate::classify::DataTypePoints>,
    /// Data rows read (equals `rows.len()` unless the rows were streamed out).
    pub row_count: u64,
    pub rows: Vec<Row>,
    /// Issues in order of discovery, at most `max_issues`.
    pub issues: Vec<Issue>,
    /// Exact count per issue kind, including those beyond `max_issues`.
    pub issue_counts: BTreeMap<String, u64>,
}

impl Table {
    pub fn column(&self, key: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.key == key)
    }
}

/// Everything read from one upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ingested {
    pub format: Format,
    pub encoding: Option<TextEncoding>,
    pub tables: Vec<Table>,
}
