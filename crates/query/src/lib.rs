//! The read-side query language: PostgREST's query grammar → the plans of `docs/QUERY.md`, with
//! no I/O (compiled into the wasm Worker and tested natively).
//!
//! Design decision: the parser only shapes the request; it never knows the table. Field names
//! stay as written and values stay text, because PostgreSQL resolves names (key, then header,
//! then case-insensitively) and types values from `schema_def`; the SQL's `PT400` errors come
//! back through [`from_sql_error`], which adds the did-you-mean the parser cannot know.
//! Hand-written rather than a parser-combinator crate: the grammar is small and the wasm
//! Worker pays for every dependency (only `serde_json`, `base64`, `strsim`).
//!
//! # Grammar as implemented (`parse_read`)
//! ```text
//! table=NAME                      1..=63 characters
//! select=F,F,…  | select=*        F: a name as written, or "…" with \ escapes
//! order=T,T,…                     T: F[.asc|.desc][.nullsfirst|.nullslast], modifiers read from
//!                                    the right (so `Unit.Price.desc` is field `Unit.Price`)
//! limit=0..=1000   offset=0..=10000   (not offset together with cursor)
//! cursor=BASE64URL                the previous answer's `next` JSON, ≤ 4096 characters
//! count=exact|estimated   q=TEXT (1..=500 characters)   format=ndjson|csv (export)
//! or=TREE  and=TREE  not.or=TREE  not.and=TREE   (may repeat; all must hold)
//! FIELD=VALUE                     any other key: a filter on FIELD (as written, or "…" for a
//!                                    name with `.,:()`: `"information.cpe"=like.*MS*`)
//!
//! VALUE := [not.]OP.TEXT           OP: eq neq gt gte lt lte like ilike; TEXT verbatim (to the end)
//!        | [not.]in.LIST | [not.]is.(null|true|false|unknown)   (is: any case)
//!        | TEXT                    a bare value: eq TEXT (`?status=shipped`)
//! LIST   := ( [E {, E}] )          E: "…" (\ escapes any character) | text without , ( ) "
//! TREE   := ( ITEM {, ITEM} )      at most 16 deep
//! ITEM   := [not.]or TREE | [not.]and TREE | NAME.[not.]OP.V
//!           NAME: "…" | text without . , ( ) "     V: LIST for in; "…" | text without , ( ) "
//! ```
//! A bare value whose text before the first `.` is `not`, a PostgREST operator this API does
//! not offer (`fts`, `cs`, `match`, …) or a near-miss of one (three or more lowercase letters one
//! edit from `neq gte lte like ilike`: `ilke.Ku*`) is an `invalid_operator`, never a silent
//! equality; write `eq.<text>` for such a value. Several filters are combined with `and`.
//!
//! # Aggregates (`parse_aggregate`)
//! ```text
//! group_by=G,G,…    G: F[:day|:week|:month|:year]
//! metrics=M,M,…     M: count | sum(F) | avg(F) | min(F) | max(F) | count_distinct(F); default count
//! order=O,O,…       O: group:F[.asc|.desc] | metric:N[.asc|.desc] (N: index into metrics)
//! limit=1..=10000   table, q, filters and trees as above; select/offset/cursor/count/format refused
//! ```
//!
//! # Error codes ([`QueryError::code`], all HTTP 400)
//! `duplicate_parameter` (a once-only parameter twice), `invalid_parameter` (a bad value of a
//! reserved parameter, `details: {parameter, position?}`), `invalid_table`, `invalid_limit` /
//! `invalid_offset` (`details: {parameter, min, max}`), `invalid_operator` (`details: {parameter,
//! position, op, operators}`), `invalid_filter` (`details: {parameter, position}`),
//! `invalid_cursor`; and from the SQL via [`from_sql_error`]: `unknown_field`, `unknown_table`,
//! `table_required`, `invalid_value`, `invalid_operator`, `invalid_cursor`, `invalid_query`.
//! Positions are 0-based character offsets into the parameter's decoded value.
//!
//! # Fuzzing
//! [`parse_read`], [`parse_aggregate`] and [`decode_cursor`] take arbitrary input and return an
//! error rather than panic; a fuzz target can feed them pairs split from bytes.

mod aggregate;
mod error;
mod filter;
mod hint;
mod openapi;
mod read;
mod schema;

pub use aggregate::{
    parse_aggregate, AggregateOrder, AggregateRequest, GroupBy, Metric, AGGREGATE_PARAMETERS,
    BUCKETS, MAX_GROUPS, METRIC_FUNCTIONS,
};
pub use error::{QueryError, ERROR_CODES};
pub use filter::{Filter, FilterValue, Op, IS_VALUES, MAX_DEPTH, OPERATORS};
pub use hint::{closest, from_sql_error};
pub use openapi::{openapi_parameters, FILTER_PATTERN};
pub use read::{
    decode_cursor, encode_cursor, parse_read, CountKind, Direction, ExportFormat, Nulls, OrderTerm,
    ReadRequest, DEFAULT_LIMIT, MAX_CURSOR_LEN, MAX_LIMIT, MAX_OFFSET, MAX_Q_CHARS, MAX_TABLE_LEN,
    READ_PARAMETERS,
};
pub use schema::json_schema;

#[cfg(test)]
mod tests;
