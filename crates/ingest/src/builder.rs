//! From header + cells to a typed table: clean keys, type inference on the first
//! `sample_rows` rows, cleaning of every cell, and per-column statistics of what was stored.
//!
//! Design decision: types are fixed after the sample so rows can stream out, and the statistics
//! are taken from what was *stored*, not from the sample, so a column that later meets a value
//! that does not fit reports itself as `mixed` instead of claiming a type it no longer has.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use serde_json::Value;

use crate::classify::{classify_views, Classification, ColumnView, MAX_VALUES};
use crate::decode::TextEncoding;
use crate::error::{ErrorCode, IngestError};
use crate::model::*;
use crate::options::{DateOrder, Format, IngestOptions};
use crate::row::CellRef;
use crate::source_format::{Kind, Observer, SourceFormat};
use crate::values::*;

/// One cell as read from the source. Its text may borrow the record it was split from (CSV):
/// a cell that becomes a number, boolean or null then never owns a copy of its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CellOf<'a> {
    /// Text to be recognised (every cell of CSV and XLSX strings, JSON strings).
    Text(Cow<'a, str>),
    /// A value whose type the source already stated (JSON numbers, booleans, objects, null).
    Json(Value),
}

/// A cell that owns its text (JSON, XLSX, and the sample rows held for inference).
pub(crate) type Cell = CellOf<'static>;

impl<'a> CellOf<'a> {
    pub(crate) fn text(s: impl Into<Cow<'a, str>>) -> Self {
        CellOf::Text(s.into())
    }

    fn into_owned(self) -> Cell {
        match self {
            CellOf::Text(s) => CellOf::Text(Cow::Owned(s.into_owned())),
            CellOf::Json(v) => CellOf::Json(v),
        }
    }
}

/// Clean, unique snake_case keys for header names; `column_N` (1-based position) for empty ones.
pub fn clean_keys(names: &[String]) -> Vec<String> {
    let mut used = HashSet::new();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let base = snake_case(n);
            let base = if base.is_empty() {
                format!("column_{}", i + 1)
            } else {
                base
            };
            let mut key = base.clone();
            let mut k = 2;
            while !used.insert(key.clone()) {
                key = format!("{base}_{k}");
                k += 1;
            }
            key
        })
        .collect()
}

fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ç' | 'Ç' => "c",
        'ñ' | 'Ñ' => "n",
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        '%' => "pct",
        '#' => "num",
        '€' => "eur",
        '$' => "usd",
        _ => return None,
    })
}

/// `Order ID` → `order_id`, `unitPrice` → `unit_price`, `Prix (€)` → `prix_eur`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else if let Some(s) = fold_latin(c) {
            if matches!(c, '%' | '#' | '€' | '$') && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push_str(s);
            prev_lower = true;
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_matches('_').to_string()
}

/// How one column's cells are turned into stored values; fixed after the sample.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    ty: ColumnType,
    semantic: Option<SemanticType>,
    decimal: char,
    date_order: DateOrder,
    bool_digits: bool,
    currency: Option<Currency>,
    format: ColumnFormat,
    /// Whether null spellings (`NA`, `-`, empty) are nulls here (not for JSON strings).
    null_tokens: bool,
}

/// What cleaning a cell stored; the value itself went into the row.
enum Cleaned<'c> {
    /// Null, with the cell's (trimmed) text when it was a null spelling.
    Null(Option<&'c str>),
    Fits,
    /// Stored as it came, with the reason it did not fit.
    Kept(String),
}

const BOOL_NAME_HINTS: &[&str] = &[
    "active",
    "enabled",
    "disabled",
    "verified",
    "deleted",
    "paid",
    "subscribed",
    "flag",
    "valid",
    "archived",
    "approved",
    "completed",
    "done",
    "visible",
    "published",
];

fn boolean_name(key: &str) -> bool {
    key.starts_with("is_")
        || key.starts_with("has_")
        || key.starts_with("can_")
        || key.ends_with("_flag")
        || BOOL_NAME_HINTS
            .iter()
            .any(|h| key == *h || key.ends_with(&format!("_{h}")))
}

fn text_of(cell: &Cell) -> Option<&str> {
    match cell {
        Cell::Text(s) => Some(s),
        Cell::Json(_) => None,
    }
}

fn is_null_cell(cell: &Cell, null_tokens: bool) -> bool {
    match cell {
        Cell::Text(s) => null_tokens && is_null_token(trim(s)),
        Cell::Json(v) => v.is_null(),
    }
}

/// A currency marker: (symbol or code as written, ISO code).
type Currency = (&'static str, &'static str);

/// A number in a column: plain, with a currency marker, or with `%`.
fn parse_numeric(t: &str, dec: char) -> Option<(Num, Option<Currency>, bool)> {
    if let Some(n) = parse_number(t, dec) {
        return Some((n, None, false));
    }
    if let Some((sym, code, neg, rest)) = currency_parts(t) {
        // `-$12` reads as the number `-12`, without building that text.
        let n = if neg {
            parse_unsigned(true, rest, dec)
        } else {
            parse_number(rest, dec)
        };
        return n.map(|n| (n, Some((sym, code)), false));
    }
    if let Some(rest) = split_percent(t) {
        return parse_number(rest, dec).map(|n| (n, None, true));
    }
    None
}

/// Decides a column's plan from its sample cells.
/// `null_tokens`: whether texts like `NA` or `""` mean "no value" (delimited text and
/// spreadsheets) or are values (JSON strings).
pub(crate) fn infer_plan(
    key: &str,
    cells: &[&Cell],
    opts: &IngestOptions,
    null_tokens: bool,
) -> Plan {
    let mut plan = Plan {
        ty: ColumnType::String,
        semantic: None,
        decimal: '.',
        date_order: opts.ambiguous_date_order,
        bool_digits: false,
        currency: None,
        format: ColumnFormat::default(),
        null_tokens,
    };
    let values: Vec<&Cell> = cells
        .iter()
        .copied()
        .filter(|c| !is_null_cell(c, null_tokens))
        .collect();
    if values.is_empty() {
        plan.ty = ColumnType::Empty;
        return plan;
    }
    let n = values.len();
    let texts: Vec<&str> = values.iter().filter_map(|c| text_of(c)).map(trim).collect();
    let json_count = |f: &dyn Fn(&Value) -> bool| {
        values
            .iter()
            .filter(|c| matches!(c, Cell::Json(v) if f(v)))
            .count()
    };

    // Nested JSON wins outright: objects and arrays are stored as they came.
    let nested = json_count(&|v| v.is_object() || v.is_array());
    if nested > 0 {
        plan.ty = if nested == n {
            ColumnType::Json
        } else {
            ColumnType::Mixed
        };
        return plan;
    }

    // Candidates, most specific first; each counts how many values it can store exactly.
    let mut candidates: Vec<(ColumnType, usize, Plan)> = Vec::new();

    // Boolean: words, and 1/0 only when the column is clearly boolean.
    let words = texts.iter().filter(|t| is_bool_word(t)).count();
    let json_bools = json_count(&|v| v.is_boolean());
    let digits = texts.iter().filter(|t| **t == "1" || **t == "0").count();
    let bool_digits = (words > 0 || json_bools > 0 || boolean_name(key)) && digits > 0;
    if words > 0 || json_bools > 0 || (bool_digits && digits == texts.len()) {
        let fits = words + json_bools + if bool_digits { digits } else { 0 };
        let mut p = plan.clone();
        p.ty = ColumnType::Boolean;
        p.bool_digits = bool_digits;
        p.format.boolean_digits = bool_digits;
        candidates.push((ColumnType::Boolean, fits, p));
    }

    // Numbers: pick the decimal convention the column's values agree with.
    let dot = texts
        .iter()
        .filter(|t| parse_numeric(t, '.').is_some())
        .count();
    let comma = texts
        .iter()
        .filter(|t| parse_numeric(t, ',').is_some())
        .count();
    let dec = if comma > dot { ',' } else { '.' };
    let parsed: Vec<_> = texts.iter().filter_map(|t| parse_numeric(t, dec)).collect();
    let leading_zero = parsed.iter().any(|(n, _, _)| n.leading_zero && n.is_int);
    let too_big = parsed.iter().any(|(n, _, _)| n.too_big);
    let json_ints = json_count(&|v| v.is_i64() || v.is_u64());
    let json_nums = json_count(&|v| v.is_number());
    if !leading_zero && !too_big && (!parsed.is_empty() || json_nums > 0) {
        let currencies: BTreeSet<&str> = parsed
            .iter()
            .filter_map(|(_, c, _)| c.map(|c| c.1))
            .collect();
        let percents = parsed.iter().filter(|(_, _, p)| *p).count();
        let plain_ints = parsed
            .iter()
            .filter(|(n, c, p)| n.is_int && c.is_none() && !p)
            .count();
        let plain = parsed.iter().filter(|(_, c, p)| c.is_none() && !p).count();
        let mut base = plan.clone();
        base.decimal = dec;
        base.format.decimal_separator = parsed.iter().any(|(n, _, _)| !n.is_int).then_some(dec);
        if parsed.iter().any(|(n, _, _)| n.grouped) {
            base.format.thousands_separator = texts.iter().flat_map(|t| t.chars()).find(|c| {
                if dec == '.' {
                    ",'\u{a0} ".contains(*c)
                } else {
                    ".'\u{a0} ".contains(*c)
                }
            });
        }
        let mut p = base.clone();
        p.ty = ColumnType::Integer;
        candidates.push((ColumnType::Integer, plain_ints + json_ints, p));
        let mut p = base.clone();
        p.ty = ColumnType::Number;
        candidates.push((ColumnType::Number, plain + json_nums, p));
        if currencies.len() == 1 {
            let marker = parsed.iter().find_map(|(_, c, _)| *c);
            let mut p = base.clone();
            p.ty = ColumnType::Number;
            p.semantic = Some(SemanticType::Currency);
            p.currency = marker;
            p.format.currency_symbol = marker.map(|m| m.0.to_string());
            p.format.currency_code = marker.map(|m| m.1.to_string());
            let with = parsed.iter().filter(|(_, c, p)| !p && c.is_some()).count();
            candidates.push((ColumnType::Number, plain + with + json_nums, p));
        }
        if percents > 0 {
            let mut p = base.clone();
            p.ty = ColumnType::Number;
            p.semantic = Some(SemanticType::Percent);
            candidates.push((ColumnType::Number, plain + percents + json_nums, p));
        }
    }

    // Dates: the order is decided by values that only one order can read.
    let parts: Vec<_> = texts
        .iter()
        .filter_map(|t| numeric_date_parts(t.split_whitespace().next().unwrap_or("")))
        .collect();
    if texts.iter().any(|t| {
        parse_date(t, DateOrder::Dmy).is_some()
            || parse_date(t, DateOrder::Mdy).is_some()
            || parse_datetime(t, DateOrder::Dmy).is_some()
            || parse_datetime(t, DateOrder::Mdy).is_some()
    }) {
        let dmy_evidence = parts
            .iter()
            .filter(|(a, b, _, _)| *a > 12 && *b <= 12)
            .count();
        let mdy_evidence = parts
            .iter()
            .filter(|(a, b, _, _)| *b > 12 && *a <= 12)
            .count();
        let mut base = plan.clone();
        if !parts.is_empty() {
            let (order, assumed) = if dmy_evidence > mdy_evidence {
                (DateOrder::Dmy, false)
            } else if mdy_evidence > dmy_evidence {
                (DateOrder::Mdy, false)
            } else if parts.iter().all(|p| p.3 == '.') {
                (DateOrder::Dmy, false) // d.m.Y is the only order anyone writes with dots
            } else {
                (opts.ambiguous_date_order, true)
            };
            base.date_order = order;
            base.format.date_order = Some(order);
            base.format.date_order_assumed = assumed;
        }
        let dates = texts
            .iter()
            .filter(|t| parse_date(t, base.date_order).is_some())
            .count();
        let datetimes = texts
            .iter()
            .filter(|t| parse_datetime(t, base.date_order).is_some())
            .count();
        let mut p = base.clone();
        p.ty = ColumnType::Date;
        candidates.push((ColumnType::Date, dates, p));
        let mut p = base;
        p.ty = ColumnType::Datetime;
        candidates.push((ColumnType::Datetime, dates + datetimes, p));
    }
    let times = texts.iter().filter(|t| parse_time(t).is_some()).count();
    if times > 0 {
        let mut p = plan.clone();
        p.ty = ColumnType::Time;
        candidates.push((ColumnType::Time, times, p));
    }

    // A full fit wins in the order above; else the best fit if at most 1 in 10 values is off.
    if let Some((_, _, p)) = candidates.iter().find(|(_, fits, _)| *fits == n) {
        return p.clone();
    }
    // `rev` so that among equal fits the most specific (earliest) candidate wins.
    if let Some((_, fits, p)) = candidates.iter().rev().max_by_key(|(_, fits, _)| *fits) {
        if n >= 10 && *fits * 10 >= n * 9 {
            return p.clone();
        }
    }

    // Text. Name what it is when nearly all values agree.
    let share = |f: fn(&str) -> bool| {
        texts.iter().filter(|t| f(t)).count() * 10 >= n * 9 && !texts.is_empty()
    };
    plan.semantic = if leading_zero
        && texts.iter().all(|t| {
            t.trim_start_matches(['-', '+'])
                .bytes()
                .all(|b| b.is_ascii_digit())
        }) {
        Some(SemanticType::Code)
    } else if too_big
        && texts.iter().all(|t| {
            t.trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
    {
        Some(SemanticType::BigInteger)
    } else if share(is_email) {
        Some(SemanticType::Email)
    } else if share(is_url) {
        Some(SemanticType::Url)
    } else if share(is_uuid) {
        Some(SemanticType::Uuid)
    } else if share(is_ipv4) {
        Some(SemanticType::Ipv4)
    } else if share(is_phone) {
        Some(SemanticType::Phone)
    } else {
        None
    };
    plan
}

impl Plan {
    pub(crate) fn string() -> Plan {
        Plan {
            ty: ColumnType::String,
            semantic: None,
            decimal: '.',
            date_order: DateOrder::Mdy,
            bool_digits: false,
            currency: None,
            format: ColumnFormat::default(),
            null_tokens: true,
        }
    }

    /// A stated percent or currency format names what a numeric column's values are.
    fn apply_number_style(&mut self, style: NumberStyle) {
        if !matches!(self.ty, ColumnType::Integer | ColumnType::Number) || self.semantic.is_some() {
            return;
        }
        match style {
            NumberStyle::Percent => self.semantic = Some(SemanticType::Percent),
            NumberStyle::Currency(symbol, code) => {
                self.semantic = Some(SemanticType::Currency);
                self.format.currency_symbol = Some(symbol.to_string());
                self.format.currency_code = Some(code.to_string());
            }
        }
    }

    /// What [`Observer::finish`] needs to know of this column.
    fn source_kind(&self) -> Kind<'_> {
        match self.ty {
            ColumnType::Boolean => Kind::Boolean,
            ColumnType::Integer | ColumnType::Number => Kind::Number {
                decimal: self.decimal,
                currency: self
                    .currency
                    .map(|c| c.0)
                    .or(self.format.currency_symbol.as_deref()),
                percent: self.semantic == Some(SemanticType::Percent),
            },
            ColumnType::Date | ColumnType::Datetime | ColumnType::Time => Kind::Temporal {
                day_first: self.date_order == DateOrder::Dmy,
            },
            _ => Kind::Text,
        }
    }

    fn source_kind_is_typed(&self) -> bool {
        !matches!(self.source_kind(), Kind::Text)
    }

    /// Cleans `cell` into the next cell of `row`. A JSON value is moved out of `cell`; a
    /// text is only read (a string is copied once, into the row's buffer).
    fn clean<'c>(&self, cell: &'c mut CellOf<'_>, row: &mut Row) -> Cleaned<'c> {
        let text: &'c str = match cell {
            CellOf::Json(Value::Null) => {
                row.push_null();
                return Cleaned::Null(None);
            }
            CellOf::Json(v) => {
                let fits = match self.ty {
                    ColumnType::Integer => v.is_i64() || v.is_u64(),
                    ColumnType::Number => v.is_number(),
                    ColumnType::Boolean => v.is_boolean(),
                    ColumnType::Json | ColumnType::Mixed => true,
                    _ => false,
                };
                row.push_value(std::mem::take(v));
                return if fits {
                    Cleaned::Fits
                } else {
                    Cleaned::Kept(format!(
                        "a JSON value in a {} column, kept as it came",
                        self.ty.as_str()
                    ))
                };
            }
            CellOf::Text(s) => s,
        };
        let t = trim(text);
        if self.null_tokens && is_null_token(t) {
            row.push_null();
            return Cleaned::Null(Some(t));
        }
        // A date already written as ISO `YYYY-MM-DD` is stored as its own text, not rebuilt.
        if self.ty == ColumnType::Date
            && t.len() == text.len()
            && is_iso_date_shape(t)
            && iso_ymd(t.as_bytes()).is_some()
        {
            row.push_text(text);
            return Cleaned::Fits;
        }
        let converted: Result<(), &str> = match self.ty {
            ColumnType::String | ColumnType::Empty | ColumnType::Mixed => {
                row.push_text(text);
                return Cleaned::Fits;
            }
            ColumnType::Json => Err("not JSON"),
            ColumnType::Boolean => parse_bool(t, self.bool_digits)
                .map(|b| row.push_bool(b))
                .ok_or("not a boolean"),
            // Fast path for the common case: plain digits that fit, which are already the JSON
            // text `Number::from(i64)` would write (no sign, no leading zero).
            ColumnType::Integer
                if t.len() < 16
                    && !t.is_empty()
                    && t.bytes().all(|b| b.is_ascii_digit())
                    && !(t.len() > 1 && t.starts_with('0')) =>
            {
                row.push_number(t);
                Ok(())
            }
            ColumnType::Integer => match parse_number(t, self.decimal) {
                Some(n) if n.leading_zero => Err("leading zeros would be lost"),
                Some(n) if n.too_big => Err("integer beyond ±2^53 would lose precision"),
                Some(n) if n.is_int => {
                    row.push_num(&n.value);
                    Ok(())
                }
                _ => Err("not an integer"),
            },
            ColumnType::Number => {
                let parsed = match (self.semantic, parse_numeric(t, self.decimal)) {
                    (_, Some((n, None, false))) => Some(n),
                    (Some(SemanticType::Currency), Some((n, Some(c), false)))
                        if Some(c.1) == self.currency.map(|c| c.1) =>
                    {
                        Some(n)
                    }
                    (Some(SemanticType::Percent), Some((n, None, true))) => Some(n),
                    _ => None,
                };
                match parsed {
                    Some(n) if n.leading_zero && n.is_int => Err("leading zeros would be lost"),
                    Some(n) if n.too_big => Err("integer beyond ±2^53 would lose precision"),
                    Some(n) => {
                        row.push_num(&n.value);
                        Ok(())
                    }
                    None if self.semantic == Some(SemanticType::Currency) => {
                        Err("not an amount in the column's currency")
                    }
                    None => Err("not a number (or not exactly representable)"),
                }
            }
            ColumnType::Date => parse_date(t, self.date_order)
                .map(|d| row.push_text(&iso_date(d)))
                .ok_or("not a date"),
            ColumnType::Datetime => parse_datetime(t, self.date_order)
                .or_else(|| parse_date(t, self.date_order).map(iso_date))
                .map(|d| row.push_text(&d))
                .ok_or("not a date-time"),
            ColumnType::Time => parse_time(t)
                .map(|d| row.push_text(&d))
                .ok_or("not a time of day"),
        };
        match converted {
            Ok(()) => Cleaned::Fits,
            Err(reason) => {
                row.push_text(text);
                Cleaned::Kept(reason.to_string())
            }
        }
    }
}

/// Keys a set by a `u64` that already is a seeded hash, as itself: hashing it again bought
/// nothing. (Other writes, which the set never makes, still mix every byte in.)
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Statistics of the values actually stored in one column.
#[derive(Debug, Clone, Default)]
struct Stats {
    null_count: u64,
    non_null: u64,
    nonconforming: u64,
    /// The 64-bit hashes of the distinct values' texts, not the texts: no copy per new value.
    /// Two of at most `distinct_cap` texts share a hash with odds of about cap² / 2^65
    /// (3·10^-12 at 10,000), and the seed is random, so an upload cannot aim for a collision.
    distinct: HashSet<u64, BuildHasherDefault<Prehashed>>,
    distinct_hasher: foldhash::fast::RandomState,
    distinct_overflow: bool,
    min: Option<Extreme>,
    max: Option<Extreme>,
    samples: Vec<Value>,
    null_tokens: BTreeSet<String>,
}

impl Stats {
    fn record(&mut self, v: CellRef<'_>, conforming: bool, cap: usize) {
        self.non_null += 1;
        if !conforming {
            self.nonconforming += 1;
        }
        // Past the cap the count is a floor; skip the per-value work.
        if !self.distinct_overflow {
            // The text a value is told apart by, borrowed; only its hash is kept.
            let owned;
            let key: &str = match v {
                CellRef::Text(s) | CellRef::Number(s) => s,
                CellRef::Bool(true) => "true",
                CellRef::Bool(false) => "false",
                other => {
                    owned = other.to_value().to_string();
                    &owned
                }
            };
            // The bytes alone (`str`'s `Hash` adds a terminator, which one value a hash does
            // not need).
            let mut hasher = self.distinct_hasher.build_hasher();
            hasher.write(key.as_bytes());
            let hash = hasher.finish();
            if self.distinct.len() < cap {
                if self.distinct.insert(hash) && self.samples.len() < 5 {
                    self.samples.push(v.to_value());
                }
            } else if !self.distinct.contains(&hash) {
                self.distinct_overflow = true;
            }
        }
        if !conforming {
            return;
        }
        // Numbers are ordered by value (their f64), strings by text; a number and a string are
        // unordered.
        match v {
            CellRef::Number(n) => {
                let vf = simple_f64(n).unwrap_or_else(|| {
                    // As `Number::as_f64` reads its text.
                    n.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .unwrap_or(0.0)
                });
                if self
                    .min
                    .as_ref()
                    .is_none_or(|m| m.f64.is_some_and(|m| vf < m))
                {
                    Extreme::set(&mut self.min, n, Some(vf));
                }
                if self
                    .max
                    .as_ref()
                    .is_none_or(|m| m.f64.is_some_and(|m| m < vf))
                {
                    Extreme::set(&mut self.max, n, Some(vf));
                }
            }
            CellRef::Text(t) => {
                if self
                    .min
                    .as_ref()
                    .is_none_or(|m| m.f64.is_none() && text_less(t, &m.text))
                {
                    Extreme::set(&mut self.min, t, None);
                }
                if self
                    .max
                    .as_ref()
                    .is_none_or(|m| m.f64.is_none() && text_less(&m.text, t))
                {
                    Extreme::set(&mut self.max, t, None);
                }
            }
            _ => {}
        }
    }
}

/// A column's least or greatest value so far, held as its text (a number's JSON text) so that
/// a new one, in a column of rising ids or dates nearly every row, reuses the buffer.
#[derive(Debug, Clone)]
struct Extreme {
    text: String,
    /// The number's f64, compared with the next ones; `None` for a string.
    f64: Option<f64>,
}

impl Extreme {
    fn set(slot: &mut Option<Extreme>, text: &str, f64: Option<f64>) {
        match slot {
            Some(e) => {
                text.clone_into(&mut e.text);
                e.f64 = f64;
            }
            None => {
                *slot = Some(Extreme {
                    text: text.to_owned(),
                    f64,
                })
            }
        }
    }

    /// The value again: a number's text read back is the same number (`arbitrary_precision`
    /// keeps every digit as written).
    fn into_value(self) -> Value {
        match self.f64 {
            Some(_) => match self.text.parse::<serde_json::Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(self.text),
            },
            None => Value::String(self.text),
        }
    }
}

/// `a < b`, decided by the first bytes when they differ (most pairs) without a `memcmp` call.
#[inline]
fn text_less(a: &str, b: &str) -> bool {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

fn column_key(columns: &[ColumnState], i: usize) -> String {
    columns
        .get(i)
        .map(|c| c.key.clone())
        .unwrap_or_else(|| format!("column_{}", i + 1))
}

/// Replaces U+0000 by U+FFFD in a cell (JSON: in every nested string and key); `true` if any.
fn replace_nul(cell: &mut CellOf<'_>) -> bool {
    fn in_value(v: &mut Value) -> bool {
        match v {
            Value::String(s) => in_text(s),
            Value::Array(items) => items.iter_mut().fold(false, |any, v| in_value(v) | any),
            Value::Object(map) => {
                let mut any = false;
                if map.keys().any(|k| k.contains('\0')) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (k.replace('\0', "\u{fffd}"), v))
                        .collect();
                    any = true;
                }
                map.values_mut().fold(any, |any, v| in_value(v) | any)
            }
            _ => false,
        }
    }
    fn in_text(s: &mut String) -> bool {
        if !s.as_bytes().contains(&0) {
            return false;
        }
        *s = s.replace('\0', "\u{fffd}");
        true
    }
    match cell {
        CellOf::Text(s) => {
            if !s.as_bytes().contains(&0) {
                return false;
            }
            *s = Cow::Owned(s.replace('\0', "\u{fffd}"));
            true
        }
        CellOf::Json(v) => in_value(v),
    }
}

struct ColumnState {
    key: String,
    name: String,
    plan: Option<Plan>,
    stats: Stats,
    /// The sample's cells while it is cleaned, then the format they were written in.
    source: Option<Observer>,
    source_format: Option<SourceFormat>,
}

struct Pending {
    row: u64,
    line: Option<u64>,
    cells: Vec<Cell>,
}

/// What a file states about a column itself, rather than what its texts show.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnHint {
    /// Its numbers are percent or currency: applied to a numeric plan.
    pub number_style: Option<NumberStyle>,
    /// How its values were shown: used instead of the format derived from its texts.
    pub source_format: Option<SourceFormat>,
}

/// Turns records into typed rows; shared by every format.
pub(crate) struct TableBuilder {
    opts: IngestOptions,
    columns: Vec<ColumnState>,
    /// Columns named by the header; rows are ragged when they differ from it.
    header_width: usize,
    sample: Vec<Pending>,
    typed: bool,
    pub(crate) issues: IssueLog,
    row_count: u64,
    null_tokens: bool,
    /// Per column, what the file itself stated about it ([`Self::hint_column`]).
    hints: Vec<ColumnHint>,
    /// `data_type` and its points, decided with the types from the sample (so a stream knows
    /// it before its last row, and the end agrees).
    classification: Option<Classification>,
    /// The keys the rows are built with, made again when a ragged row adds a column.
    keys: Keys,
    /// The text capacity a new row's buffer starts with: a bit more than the last row used.
    row_text: usize,
}

impl TableBuilder {
    pub(crate) fn new(
        mut names: Vec<String>,
        opts: &IngestOptions,
        mut issues: IssueLog,
        has_header: bool,
    ) -> Result<Self, IngestError> {
        for (i, name) in names.iter_mut().enumerate() {
            if name.contains('\0') {
                *name = name.replace('\0', "\u{fffd}");
                let mut is = Issue::new(
                    IssueKind::NulReplaced,
                    format!("the header of column {} held a NUL character (U+0000); it was replaced by U+FFFD", i + 1),
                );
                is.original = Some(name.replace('\u{fffd}', "\\u0000"));
                issues.push(is);
            }
        }
        if names.len() > opts.max_columns {
            return Err(IngestError::new(
                ErrorCode::TooManyColumns,
                format!("{} columns; the limit is {}", names.len(), opts.max_columns),
            ));
        }
        let keys = clean_keys(&names);
        let mut seen = HashSet::new();
        for (i, (name, key)) in names.iter().zip(&keys).enumerate() {
            if !has_header {
                continue;
            }
            if name.trim().is_empty() {
                let mut is = Issue::new(
                    IssueKind::EmptyHeader,
                    format!("column {} has no header; named {key}", i + 1),
                );
                is.column = Some(key.clone());
                issues.push(is);
            } else if !seen.insert(snake_case(name)) {
                let mut is = Issue::new(
                    IssueKind::DuplicateHeader,
                    format!("header {name:?} appears more than once; this one is {key}"),
                );
                is.column = Some(key.clone());
                is.original = Some(name.clone());
                issues.push(is);
            }
        }
        let keys_len = keys.len();
        let columns = names
            .into_iter()
            .zip(keys)
            .map(|(name, key)| ColumnState {
                key,
                name,
                plan: None,
                stats: Stats::default(),
                source: None,
                source_format: None,
            })
            .collect::<Vec<ColumnState>>();
        let keys = Keys::new(columns.iter().map(|c| c.key.clone()).collect());
        Ok(TableBuilder {
            keys,
            opts: opts.clone(),
            header_width: keys_len,
            columns,
            sample: Vec::new(),
            typed: false,
            issues,
            row_count: 0,
            null_tokens: true,
            hints: Vec::new(),
            classification: None,
            row_text: 0,
        })
    }

    /// What the source stated about column `col` (an XLSX cell style's number format).
    pub(crate) fn hint_column(&mut self, col: usize, hint: ColumnHint) {
        if self.hints.len() <= col {
            self.hints.resize_with(col + 1, ColumnHint::default);
        }
        self.hints[col] = hint;
    }

    /// Texts are values as written: no null spellings (JSON strings; `"NA"` is North America).
    pub(crate) fn without_null_tokens(mut self) -> Self {
        self.null_tokens = false;
        self
    }

    /// Column keys so far (extra columns from ragged rows are appended).
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// The header's width (or the sniffed width without a header).
    pub(crate) fn header_width(&self) -> usize {
        self.header_width
    }

    /// Whether column `col` holds numbers or dates (what `typed` reads): its plan once the
    /// types are fixed, else nine in ten of the sample's values.
    pub(crate) fn column_is_typed(&self, col: usize, typed: fn(&str) -> bool) -> bool {
        if let Some(plan) = self.columns.get(col).and_then(|c| c.plan.as_ref()) {
            return matches!(
                plan.ty,
                ColumnType::Integer | ColumnType::Number | ColumnType::Date | ColumnType::Datetime
            );
        }
        let (mut filled, mut hits) = (0usize, 0usize);
        for p in &self.sample {
            if let Some(Cell::Text(t)) = p.cells.get(col) {
                let t = trim(t);
                if t.is_empty() || is_null_token(t) {
                    continue;
                }
                filled += 1;
                hits += usize::from(typed(t));
            }
        }
        filled > 0 && hits * 10 >= filled * 9
    }

    /// Adds one record; rows that are ready (after the sample) are appended to `out`.
    pub(crate) fn push(
        &mut self,
        cells: Vec<Cell>,
        line: Option<u64>,
        out: &mut Vec<Row>,
    ) -> Result<(), IngestError> {
        let mut cells = cells;
        self.push_cells(&mut cells, line, true, out)
    }

    /// [`TableBuilder::push`] of cells that may borrow their record's text; `may_hold_nul`
    /// false when the caller checked the whole record for NUL at once (no cell holds one).
    /// `cells` is left empty, its capacity kept for the caller's next record.
    pub(crate) fn push_cells(
        &mut self,
        cells: &mut Vec<CellOf<'_>>,
        line: Option<u64>,
        may_hold_nul: bool,
        out: &mut Vec<Row>,
    ) -> Result<(), IngestError> {
        self.row_count += 1;
        let row = self.row_count;
        if row > self.opts.max_rows {
            return Err(IngestError::new(
                ErrorCode::TooManyRows,
                format!("more than {} data rows", self.opts.max_rows),
            )
            .at_row(row));
        }
        for (i, c) in cells.iter_mut().enumerate() {
            if may_hold_nul && replace_nul(c) {
                let mut is = Issue::new(
                    IssueKind::NulReplaced,
                    "a NUL character (U+0000) cannot be stored (PostgreSQL text and jsonb refuse it); it was replaced by U+FFFD",
                );
                is.row = Some(row);
                is.line = line;
                is.column = Some(column_key(&self.columns, i));
                is.original = Some(match c {
                    CellOf::Text(s) => s.replace('\u{fffd}', "\\u0000"),
                    CellOf::Json(v) => v.to_string().replace('\u{fffd}', "\\u0000"),
                });
                self.issues.push(is);
            }
            if let CellOf::Text(s) = c {
                if s.len() > self.opts.max_cell_bytes {
                    let col = column_key(&self.columns, i);
                    return Err(IngestError::new(
                        ErrorCode::CellTooLarge,
                        format!(
                            "a cell of {} bytes; the limit is {}",
                            s.len(),
                            self.opts.max_cell_bytes
                        ),
                    )
                    .at_row(row)
                    .at_column(col));
                }
            }
        }
        if cells.len() != self.header_width {
            let got = cells.len();
            let width = self.header_width;
            if got > width {
                while cells.len() > self.columns.len().max(width)
                    && matches!(cells.last(), Some(CellOf::Text(s)) if trim(s).is_empty())
                {
                    cells.pop();
                }
            }
            if cells.len() > self.columns.len() {
                for i in self.columns.len()..cells.len() {
                    if self.columns.len() >= self.opts.max_columns {
                        return Err(IngestError::new(
                            ErrorCode::TooManyColumns,
                            format!(
                                "row has {} fields; the limit is {} columns",
                                cells.len(),
                                self.opts.max_columns
                            ),
                        )
                        .at_row(row));
                    }
                    let mut key = format!("column_{}", i + 1);
                    while self.columns.iter().any(|c| c.key == key) {
                        key.push_str("_extra");
                    }
                    // Rows already seen had no value here: count them as nulls.
                    let stats = Stats {
                        null_count: self.row_count - 1 - self.sample.len() as u64,
                        ..Default::default()
                    };
                    let plan = self.typed.then(Plan::string);
                    self.columns.push(ColumnState {
                        key,
                        name: String::new(),
                        plan,
                        stats,
                        source: None,
                        source_format: None,
                    });
                }
            }
            let mut is = Issue::new(
                IssueKind::RaggedRow,
                if got < width {
                    format!("row has {got} fields, the header has {width}; the missing cells are stored as null")
                } else if cells.len() > width {
                    format!("row has {got} fields, the header has {width}; the extra values are kept in new columns")
                } else {
                    format!("row has {got} fields, the header has {width}; the extra fields were empty and are ignored")
                },
            );
            is.row = Some(row);
            is.line = line;
            self.issues.push(is);
        }
        if self.typed {
            let row = self.clean_row(row, line, cells.drain(..));
            out.push(row);
        } else {
            let cells = cells.drain(..).map(CellOf::into_owned).collect();
            self.sample.push(Pending { row, line, cells });
            if self.sample.len() >= self.opts.sample_rows {
                self.fix_types(out);
            }
        }
        Ok(())
    }

    /// Decides the column types from the rows held so far and releases them.
    pub(crate) fn fix_types(&mut self, out: &mut Vec<Row>) {
        if self.typed {
            return;
        }
        for (i, col) in self.columns.iter_mut().enumerate() {
            let cells: Vec<&Cell> = self.sample.iter().filter_map(|p| p.cells.get(i)).collect();
            let mut plan = infer_plan(&col.key, &cells, &self.opts, self.null_tokens);
            if let Some(style) = self.hints.get(i).and_then(|h| h.number_style) {
                plan.apply_number_style(style);
            }
            if plan.format.date_order_assumed {
                let mut is = Issue::new(
                    IssueKind::AmbiguousDateOrder,
                    format!(
                        "no date in {} decides day/month order; read as {:?}",
                        col.key, plan.date_order
                    ),
                );
                is.column = Some(col.key.clone());
                self.issues.push(is);
            }
            col.plan = Some(plan);
        }
        self.classification = Some(self.classify_sample());
        self.typed = true;
        for col in self.columns.iter_mut() {
            col.source = Some(Observer::default());
        }
        for p in std::mem::take(&mut self.sample) {
            let row = self.clean_row(p.row, p.line, p.cells.into_iter());
            out.push(row);
        }
        for (i, col) in self.columns.iter_mut().enumerate() {
            let kind = col.plan.as_ref().map_or(Kind::Text, Plan::source_kind);
            let derived = col.source.take().and_then(|o| o.finish(kind));
            col.source_format = self
                .hints
                .get_mut(i)
                .and_then(|h| h.source_format.take())
                .or(derived);
        }
    }

    fn clean_row<'a>(
        &mut self,
        row: u64,
        line: Option<u64>,
        mut cells: impl Iterator<Item = CellOf<'a>>,
    ) -> Row {
        if self.keys.len() != self.columns.len() {
            self.keys = Keys::new(self.columns.iter().map(|c| c.key.clone()).collect());
        }
        let mut out = Row::empty(self.keys.clone(), self.row_text);
        for col in self.columns.iter_mut() {
            // Not `unwrap_or`: that builds (and drops) the null for every cell.
            let mut cell = match cells.next() {
                Some(cell) => cell,
                None => CellOf::Json(Value::Null),
            };
            let plan = col.plan.get_or_insert_with(Plan::string);
            // The sample's typed texts, to find the format they were written in.
            let text = match (&col.source, &cell) {
                (Some(_), CellOf::Text(s)) if plan.source_kind_is_typed() => Some(s.to_string()),
                _ => None,
            };
            match plan.clean(&mut cell, &mut out) {
                Cleaned::Null(token) => {
                    if let (Some(o), Some(t)) = (col.source.as_mut(), token) {
                        o.null(t);
                    }
                    col.stats.null_count += 1;
                    if let Some(t) = token.filter(|t| !t.is_empty()) {
                        if col.stats.null_tokens.len() < 10 && !col.stats.null_tokens.contains(t) {
                            col.stats.null_tokens.insert(t.to_owned());
                        }
                    }
                }
                Cleaned::Fits => {
                    let v = out.last().expect("clean stores a cell");
                    if let (Some(o), Some(t)) = (col.source.as_mut(), text.as_deref()) {
                        o.value(t, &v.to_value());
                    }
                    col.stats.record(v, true, self.opts.distinct_cap);
                }
                Cleaned::Kept(reason) => {
                    let v = out.last().expect("clean stores a cell");
                    col.stats.record(v, false, self.opts.distinct_cap);
                    let mut is = Issue::new(
                        IssueKind::ValueNotConverted,
                        format!("{reason}; stored as the original value"),
                    );
                    is.row = Some(row);
                    is.line = line;
                    is.column = Some(col.key.clone());
                    is.original = Some(match v {
                        CellRef::Text(s) => s.to_owned(),
                        other => other.to_value().to_string(),
                    });
                    self.issues.push(is);
                }
            }
        }
        // The next row's buffer starts at about this one's size (most rows are alike).
        self.row_text = out.text_len() + out.text_len() / 4;
        out
    }

    /// `data_type` from the header, the plans and the sample's values (at most
    /// `MAX_VALUES` non-null texts a column).
    fn classify_sample(&self) -> Classification {
        let views: Vec<ColumnView> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let plan = c.plan.as_ref();
                let values = self
                    .sample
                    .iter()
                    .filter_map(|p| match p.cells.get(i) {
                        Some(Cell::Text(t)) => Some(trim(t)),
                        Some(Cell::Json(Value::String(t))) => Some(t.as_str()),
                        _ => None,
                    })
                    .filter(|t| !(t.is_empty() || self.null_tokens && is_null_token(t)))
                    .take(MAX_VALUES)
                    .collect();
                ColumnView {
                    key: &c.key,
                    name: &c.name,
                    ty: plan.map_or(ColumnType::String, |p| p.ty),
                    semantic: plan.and_then(|p| p.semantic),
                    values,
                }
            })
            .collect();
        classify_views(&views)
    }

    /// `(data_type, evidence)` once the sample has fixed the types; `None` before that. It is
    /// final: columns that ragged rows add later are not classified.
    pub(crate) fn data_type(&self) -> Option<(String, Vec<String>)> {
        self.classification
            .as_ref()
            .map(|c| (c.data_type.clone(), c.evidence.clone()))
    }

    /// Ends the table: types are fixed if the sample never filled, statistics become columns.
    pub(crate) fn finish(
        mut self,
        out: &mut Vec<Row>,
        format: Format,
        encoding: Option<TextEncoding>,
        dialect: Option<Dialect>,
        sheet: Option<String>,
    ) -> Table {
        self.fix_types(out);
        let columns: Vec<Column> = self
            .columns
            .into_iter()
            .enumerate()
            .map(|(position, c)| {
                let plan = c.plan.unwrap_or_else(Plan::string);
                let s = c.stats;
                let ty = if s.non_null == 0 {
                    ColumnType::Empty
                } else if s.nonconforming > 0 {
                    ColumnType::Mixed
                } else if plan.ty == ColumnType::Empty {
                    ColumnType::String
                } else {
                    plan.ty
                };
                let inferred_type = if plan.ty == ColumnType::Empty && s.non_null > 0 {
                    ColumnType::String
                } else {
                    plan.ty
                };
                Column {
                    key: c.key,
                    name: c.name,
                    position,
                    ty,
                    inferred_type,
                    semantic_type: plan.semantic,
                    nullable: s.null_count > 0,
                    null_count: s.null_count,
                    non_null_count: s.non_null,
                    nonconforming_count: s.nonconforming,
                    distinct_count: s.distinct.len() as u64,
                    distinct_exact: !s.distinct_overflow,
                    min: if matches!(
                        ty,
                        ColumnType::Boolean | ColumnType::Json | ColumnType::Empty
                    ) {
                        None
                    } else {
                        s.min.map(Extreme::into_value)
                    },
                    max: if matches!(
                        ty,
                        ColumnType::Boolean | ColumnType::Json | ColumnType::Empty
                    ) {
                        None
                    } else {
                        s.max.map(Extreme::into_value)
                    },
                    samples: s.samples,
                    null_tokens: s.null_tokens.into_iter().collect(),
                    format: plan.format,
                    source_format: c.source_format,
                }
            })
            .collect();
        let Classification {
            data_type,
            evidence: data_type_evidence,
            points: data_type_points,
        } = self
            .classification
            .take()
            .expect("fix_types classified the table");
        Table {
            sheet,
            format,
            encoding,
            dialect,
            columns,
            data_type,
            data_type_evidence,
            data_type_points,
            row_count: self.row_count,
            rows: Vec::new(),
            issue_counts: self
                .issues
                .counts
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            issues: self.issues.kept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extreme_gives_back_the_value_it_was_set_from() {
        let mut values: Vec<Value> = [1e20, -0.0, 1.5e-7, 1234.5, 0.1, -3.0, 1e300, 5e-324]
            .iter()
            .map(|f| Value::Number(serde_json::Number::from_f64(*f).unwrap()))
            .collect();
        values.extend([
            Value::from(0),
            Value::from(-42),
            Value::from(9_007_199_254_740_992u64),
        ]);
        values.push(serde_json::from_str("12.277999999999999").unwrap());
        values.push(serde_json::from_str("1.50").unwrap());
        values.push(Value::String("x".into()));
        for v in values {
            let mut slot = None;
            match &v {
                Value::Number(n) => Extreme::set(&mut slot, n.as_str(), n.as_f64()),
                Value::String(t) => Extreme::set(&mut slot, t, None),
                _ => unreachable!(),
            }
            assert_eq!(slot.unwrap().into_value(), v);
        }
    }

    #[test]
    fn keys_are_snake_case_unique_and_named_when_empty() {
        let names: Vec<String> = [
            "Order ID",
            "unitPrice",
            "",
            "Order ID",
            "Prix (€)",
            "Straße",
            "  ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            clean_keys(&names),
            [
                "order_id",
                "unit_price",
                "column_3",
                "order_id_2",
                "prix_eur",
                "strasse",
                "column_7"
            ]
        );
    }
}
