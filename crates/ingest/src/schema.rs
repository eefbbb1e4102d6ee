//! The `client_schemas.schema_def` JSON: a stable, documented rendering of a table's schema.
//!
//! Shape (version 1; fields are only ever added):
//! ```json
//! {
//!   "version": 1,
//!   "format": "delimited" | "json" | "ndjson" | "xlsx",
//!   "encoding": "utf-8" | "utf-8-bom" | "utf-16le" | "utf-16be" | "windows-1252" | null,
//!   "sheet": "Sheet1" | null,
//!   "dialect": {"delimiter": ",", "quote": "\"", "has_header": true, "preamble_lines": 0,
//!               "comment": "#" | null, "trailing_empty_columns": 0} | null,
//!   "data_type": "ecommerce", "data_type_evidence": ["order_id", "sku"],
//!   "row_count": 120,
//!   "columns": [{
//!     "key": "unit_price", "name": "Unit Price", "position": 3,
//!     "type": "integer|number|boolean|date|datetime|time|string|json|mixed|empty",
//!     "inferred_type": "...", "semantic_type": "currency" | null,
//!     "nullable": true, "null_count": 2, "non_null_count": 118, "nonconforming_count": 0,
//!     "distinct_count": 57, "distinct_exact": true, "min": 0.5, "max": 99.0,
//!     "samples": [1.5, 2.0], "null_tokens": ["N/A"],
//!     "format": {"decimal_separator": ",", "thousands_separator": ".", "date_order": "dmy",
//!                "date_order_assumed": false, "currency_symbol": "€", "currency_code": "EUR",
//!                "boolean_digits": false}
//!   }],
//!   "issue_counts": {"value_not_converted": 3, "ragged_row": 1}
//! }
//! ```
//! `type` is always the truth about stored values: `mixed` means some values are the original
//! text because they did not fit `inferred_type` (`nonconforming_count` says how many).

use serde_json::{json, Value};

use crate::model::Table;

pub const SCHEMA_DEF_VERSION: u32 = 1;

/// Renders `table`'s schema as stored in `client_schemas.schema_def`.
pub fn schema_def(table: &Table) -> Value {
    json!({
        "version": SCHEMA_DEF_VERSION,
        "format": table.format.as_str(),
        "encoding": table.encoding.map(|e| e.as_str()),
        "sheet": table.sheet,
        "dialect": table.dialect,
        "data_type": table.data_type,
        "data_type_evidence": table.data_type_evidence,
        "row_count": table.row_count,
        "columns": table.columns,
        "issue_counts": table.issue_counts,
    })
}
