//! What the caller may tell the ingester: limits, a format hint, a date-order hint.

use crate::error::{ErrorCode, IngestError};

/// The container formats the crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CSV, TSV, semicolon- or pipe-separated text.
    Delimited,
    /// A JSON array of objects, or an object holding one array of objects.
    Json,
    /// Newline-delimited JSON: one object per line.
    Ndjson,
    /// Office Open XML workbook: every sheet becomes its own table.
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Delimited => "delimited",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Xlsx => "xlsx",
        }
    }

    /// The format a file name or content type suggests, if any. Only a hint: content wins when
    /// it clearly says otherwise (an `.csv` that is really a zip is read as XLSX).
    pub fn from_hint(hint: &str) -> Option<Format> {
        let h = hint.trim().to_ascii_lowercase();
        let h = h.split(';').next().unwrap_or("").trim().to_string();
        let ext = h.rsplit('.').next().unwrap_or("");
        if h.contains("spreadsheetml") || ext == "xlsx" || ext == "xlsm" {
            Some(Format::Xlsx)
        } else if h.contains("ndjson")
            || h.contains("jsonl")
            || h.contains("json-seq")
            || ext == "ndjson"
            || ext == "jsonl"
        {
            Some(Format::Ndjson)
        } else if h.ends_with("/json") || h.ends_with("+json") || ext == "json" {
            Some(Format::Json)
        } else if h.starts_with("text/")
            || ["csv", "tsv", "tab", "txt", "psv", "dat"].contains(&ext)
        {
            Some(Format::Delimited)
        } else {
            None
        }
    }
}

/// How to read `03/04/2024` when a column holds no day above 12 to decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// day, month, year (most of the world; always assumed for `d.m.Y`).
    Dmy,
    /// month, day, year (United States).
    Mdy,
}

/// Limits and hints for one upload. Build with [`IngestOptions::new`] and the `with_*` methods;
/// every limit is explicit so the Worker can state it in its 413/422 answers.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOptions {
    pub max_bytes: u64,
    pub max_rows: u64,
    pub max_columns: usize,
    pub max_cell_bytes: usize,
    /// What an XLSX may unpack to, all its zip entries together (one budget for the archive).
    pub max_unpacked_bytes: u64,
    /// Rows read before column types are fixed (the streaming API holds this many rows).
    pub sample_rows: usize,
    /// Distinct values are counted exactly up to this many per column.
    pub distinct_cap: usize,
    /// Issues kept verbatim per table; the counts in `issue_counts` stay exact beyond it.
    pub max_issues: usize,
    /// Filename or content type; used only when content does not decide.
    pub hint: Option<String>,
    /// Forces a format instead of detecting it.
    pub format: Option<Format>,
    /// For a JSON object document: the field holding the records (the Worker's `data`), instead
    /// of the largest array of objects.
    pub json_records_key: Option<String>,
    /// Date order for columns with no evidence either way (default: m/d/Y, reported as assumed).
    pub ambiguous_date_order: DateOrder,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_bytes: 100 * 1024 * 1024,
            max_rows: 2_000_000,
            max_columns: 512,
            max_cell_bytes: 64 * 1024,
            // Unpacked XML is held while a sheet is read: this bounds a zip bomb's memory.
            max_unpacked_bytes: 64 * 1024 * 1024,
            sample_rows: 1000,
            distinct_cap: 10_000,
            max_issues: 1000,
            hint: None,
            format: None,
            json_records_key: None,
            ambiguous_date_order: DateOrder::Mdy,
        }
    }
}

impl IngestOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }
    pub fn with_max_rows(mut self, n: u64) -> Self {
        self.max_rows = n;
        self
    }
    pub fn with_max_columns(mut self, n: usize) -> Self {
        self.max_columns = n;
        self
    }
    pub fn with_max_cell_bytes(mut self, n: usize) -> Self {
        self.max_cell_bytes = n;
        self
    }
    pub fn with_max_unpacked_bytes(mut self, n: u64) -> Self {
        self.max_unpacked_bytes = n;
        self
    }
    pub fn with_sample_rows(mut self, n: usize) -> Self {
        self.sample_rows = n;
        self
    }
    pub fn with_distinct_cap(mut self, n: usize) -> Self {
        self.distinct_cap = n;
        self
    }
    pub fn with_max_issues(mut self, n: usize) -> Self {
        self.max_issues = n;
        self
    }
    /// A filename (`sales.csv`) or content type (`text/csv; charset=utf-8`).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
    pub fn with_json_records_key(mut self, key: impl Into<String>) -> Self {
        self.json_records_key = Some(key.into());
        self
    }
    pub fn with_ambiguous_date_order(mut self, order: DateOrder) -> Self {
        self.ambiguous_date_order = order;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        let zero = [
            ("max_bytes", self.max_bytes == 0),
            ("max_rows", self.max_rows == 0),
            ("max_columns", self.max_columns == 0),
            ("max_cell_bytes", self.max_cell_bytes == 0),
            ("max_unpacked_bytes", self.max_unpacked_bytes == 0),
            ("sample_rows", self.sample_rows == 0),
        ];
        for (name, is_zero) in zero {
            if is_zero {
                return Err(IngestError::new(
                    ErrorCode::InvalidOptions,
                    format!("{name} must be at least 1"),
                ));
            }
        }
        Ok(())
    }
}
