//! The one error type of the crate: a stable machine code, a message a person can act on, and
//! where in the upload the problem is (row, column, sheet) when that is known.

use std::fmt;

/// Stable error codes. The Worker maps them to HTTP statuses; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The upload is larger than `max_bytes`.
    TooLarge,
    /// More data rows than `max_rows`.
    TooManyRows,
    /// More columns than `max_columns`.
    TooManyColumns,
    /// One cell is larger than `max_cell_bytes`.
    CellTooLarge,
    /// Nothing but whitespace, BOMs or blank lines.
    EmptyFile,
    /// JSON that does not parse, or does not hold objects.
    InvalidJson,
    /// A zip/XLSX container that cannot be read.
    InvalidXlsx,
    /// Content that is none of the supported formats (e.g. a PDF or an image).
    UnsupportedFormat,
    /// The options themselves are contradictory (e.g. a zero limit).
    InvalidOptions,
    /// The stream API was used out of order (e.g. `feed` after `finish`).
    InvalidState,
}

impl ErrorCode {
    /// The snake_case code as it appears in API error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooManyRows => "too_many_rows",
            ErrorCode::TooManyColumns => "too_many_columns",
            ErrorCode::CellTooLarge => "cell_too_large",
            ErrorCode::EmptyFile => "empty_file",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidXlsx => "invalid_xlsx",
            ErrorCode::UnsupportedFormat => "unsupported_format",
            ErrorCode::InvalidOptions => "invalid_options",
            ErrorCode::InvalidState => "invalid_state",
        }
    }
}

/// An upload that cannot be ingested at all. Per-cell problems are not errors: they are
/// [`crate::Issue`]s and the row is still stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IngestError {
    pub code: ErrorCode,
    pub message: String,
    /// 1-based data row (not counting the header), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// Column key or original name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// XLSX sheet name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
}

impl IngestError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IngestError {
            code,
            message: message.into(),
            row: None,
            column: None,
            sheet: None,
        }
    }
    pub fn at_row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
    pub fn at_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
    pub fn in_sheet(mut self, sheet: impl Into<String>) -> Self {
        self.sheet = Some(sheet.into());
        self
    }
    /// The stable snake_case code, e.g. `too_large`.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)?;
        let mut at = Vec::new();
        if let Some(s) = &self.sheet {
            at.push(format!("sheet {s:?}"));
        }
        if let Some(r) = self.row {
            at.push(format!("row {r}"));
        }
        if let Some(c) = &self.column {
            at.push(format!("column {c:?}"));
        }
        if !at.is_empty() {
            write!(f, " ({})", at.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}
