//! Recognisers for single cell texts: null tokens, numbers in both decimal conventions,
//! currency, percent, booleans, dates, date-times and times.
//!
//! Every recogniser answers "what exact typed value is this text?" or "none". A number is
//! numerically identical to the text: the f64 when its shortest digits equal the written ones
//! (checked by comparing canonical decimal digits), else the written decimal digits themselves
//! (serde_json `arbitrary_precision`), so no conversion ever rounds.

use crate::options::DateOrder;

/// Texts that mean "no value" (compared after trimming, case-insensitively).
const NULL_TOKENS: [&str; 14] = [
    "", "na", "n/a", "n.a.", "null", "nil", "none", "-", "--", "nan", "#n/a", "(null)", "(blank)",
    "missing",
];

/// Whether `t` (trimmed) is a null spelling. Runs on every cell: compares in place, ASCII
/// case-insensitively, instead of allocating a lower-cased copy.
#[inline]
pub(crate) fn is_null_token(t: &str) -> bool {
    // Every token starts with one of `n m - # (` (any case), or is empty: most cells are
    // answered by their first byte.
    let first = match t.as_bytes().first() {
        Some(b) => b.to_ascii_lowercase(),
        None => return true,
    };
    t.len() <= 9
        && matches!(first, b'n' | b'm' | b'-' | b'#' | b'(')
        && NULL_TOKENS
            .iter()
            .any(|n| n.len() == t.len() && n.as_bytes().eq_ignore_ascii_case(t.as_bytes()))
}

/// `s.trim()`, answered without decoding characters when both ends are visible ASCII (what
/// nearly every cell is): such a byte is never whitespace, nor part of a multi-byte character.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [a, .., b] if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        [a] if a.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// A number recognised in a text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Num {
    pub value: NumValue,
    pub is_int: bool,
    /// `007`, `00.5`: converting would change what the text says.
    pub leading_zero: bool,
    /// The integer is beyond ±2^53 (exact in PostgreSQL, not in JavaScript): kept as text.
    pub too_big: bool,
    pub grouped: bool,
}

/// A recognised number's value, held as what its JSON text is made from, so a row writes the
/// text straight into its buffer (no `serde_json::Number`, a `String` under
/// `arbitrary_precision`, per cell).
#[derive(Debug, Clone)]
pub(crate) enum NumValue {
    /// An integer beyond ±2^53 (`too_big`): not stored as a number.
    None,
    /// Written as `Number::from(i64)` writes it.
    Int(i64),
    /// A finite f64 that is exactly the written decimal, written as `Number::from_f64` does.
    Float(f64),
    /// More digits than an f64 holds: the written decimal itself.
    Exact(serde_json::Number),
}

impl PartialEq for NumValue {
    /// Floats by their bits, so `-0.0` and `0.0` differ as their texts do.
    fn eq(&self, other: &NumValue) -> bool {
        match (self, other) {
            (NumValue::None, NumValue::None) => true,
            (NumValue::Int(a), NumValue::Int(b)) => a == b,
            (NumValue::Float(a), NumValue::Float(b)) => a.to_bits() == b.to_bits(),
            (NumValue::Exact(a), NumValue::Exact(b)) => a == b,
            _ => false,
        }
    }
}

impl Num {
    /// The value as serde_json holds it.
    #[cfg(test)]
    pub(crate) fn json(&self) -> serde_json::Value {
        match &self.value {
            NumValue::None => serde_json::Value::Null,
            NumValue::Int(v) => (*v).into(),
            NumValue::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            NumValue::Exact(n) => serde_json::Value::Number(n.clone()),
        }
    }
}

const MAX_SAFE_INT: i64 = 9_007_199_254_740_992; // 2^53

/// Parses a plain number with `dec` as decimal separator (`.` or `,`). Thousands separators are
/// accepted only in well-formed groups of three.
pub(crate) fn parse_number(t: &str, dec: char) -> Option<Num> {
    let t = trim(t);
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    parse_unsigned(neg, body, dec)
}

/// [`parse_number`] of `-{body}` (`neg`) or `{body}`, where `body` is trimmed and its sign, if
/// any, was already taken off: a currency amount's number after its marker, without building
/// the signed text.
pub(crate) fn parse_unsigned(neg: bool, body: &str, dec: char) -> Option<Num> {
    if body.is_empty() {
        return None;
    }
    // Every number starts with a digit or the decimal separator: anything else (a currency
    // symbol, a word) is answered before any work.
    let first = body.as_bytes()[0];
    if !first.is_ascii_digit() && (!dec.is_ascii() || first != dec as u8) {
        return None;
    }
    plain_number(neg, body.as_bytes(), dec).or_else(|| general_number(neg, body, dec))
}

/// Every number shape [`parse_number`] reads (exponents, Unicode group separators, more digits
/// than an f64 holds); [`plain_number`] answers the common shapes first.
fn general_number(neg: bool, body: &str, dec: char) -> Option<Num> {
    // Exponent form (Excel writes 1.2E+20): only with the dot convention and no grouping.
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) if dec == '.' => (&body[..i], Some(body[i + 1..].parse::<i32>().ok()?)),
        Some(_) => return None,
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find(dec) {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + dec.len_utf8()..])),
        None => (mantissa, None),
    };
    let group_seps: &[char] = if dec == '.' {
        &[',', ' ', '\u{a0}', '\u{202f}', '\'']
    } else {
        &['.', ' ', '\u{a0}', '\u{202f}', '\'']
    };
    let mut int_digits = String::with_capacity(int_part.len());
    let grouped = int_part.contains(group_seps);
    if grouped {
        if exp.is_some() {
            return None;
        }
        let sep = int_part.chars().find(|c| group_seps.contains(c))?;
        let groups: Vec<&str> = int_part.split(sep).collect();
        if groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
        for g in &groups {
            if !g.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            int_digits.push_str(g);
        }
    } else {
        if !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        int_digits.push_str(int_part);
    }
    let frac = frac_part.unwrap_or("");
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (int_digits.is_empty() && frac.is_empty()) {
        return None;
    }
    if frac_part.is_some() && frac.is_empty() && exp.is_none() {
        return None; // "12." is more likely a typo or an abbreviation than a number
    }
    let leading_zero = int_digits.len() > 1 && int_digits.starts_with('0');
    let is_int = frac_part.is_none() && exp.is_none();
    if is_int {
        let digits = int_digits.trim_start_matches('0');
        let too_big = !digits.is_empty()
            && (digits.len() > 16
                || digits
                    .parse::<i64>()
                    .map(|v| v > MAX_SAFE_INT)
                    .unwrap_or(true));
        if too_big {
            return Some(Num {
                value: NumValue::None,
                is_int,
                leading_zero,
                too_big,
                grouped,
            });
        }
        let v: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let v = if neg { -v } else { v };
        return Some(Num {
            value: NumValue::Int(v),
            is_int,
            leading_zero,
            too_big: false,
            grouped,
        });
    }
    // Decimal: canonical digits/exponent of the text must equal those of the f64.
    let canon_in = canonical(&int_digits, frac, exp.unwrap_or(0));
    let plain = format!(
        "{}{}.{}e{}",
        if neg { "-" } else { "" },
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac.is_empty() { "0" } else { frac },
        exp.unwrap_or(0)
    );
    let f: f64 = plain.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let shown = format!("{:e}", f.abs()); // shortest round-trip digits, e.g. 1.2345e3
    let (m, e) = shown.split_once('e')?;
    let (mi, mf) = m.split_once('.').unwrap_or((m, ""));
    let canon_f = canonical(mi, mf, e.parse().ok()?);
    let value = if canon_in == canon_f {
        NumValue::Float(f)
    } else {
        // More digits than an f64 holds (`12.277999999999999`): the written decimal itself,
        // which serde_json (arbitrary_precision) and jsonb (`numeric`) keep digit for digit.
        let digits = int_digits.trim_start_matches('0');
        let text = format!(
            "{}{}{}{}",
            if neg { "-" } else { "" },
            if digits.is_empty() { "0" } else { digits },
            if frac.is_empty() {
                String::new()
            } else {
                format!(".{frac}")
            },
            exp.map_or(String::new(), |e| format!("e{e}"))
        );
        NumValue::Exact(text.parse::<serde_json::Number>().ok()?)
    };
    Some(Num {
        value,
        is_int: false,
        leading_zero,
        too_big: false,
        grouped,
    })
}

/// The fast path of [`parse_number`] for what most cells hold: ASCII digits, at most one
/// decimal separator, optionally thousands groups of an ASCII separator (`1,234.5`), no exponent,
/// and at most 15 digits. `None` means "not this shape": the general path then decides.
///
/// Why this is exact: with at most 15 digits the digits form an integer below 2^53 and the
/// scale a power of ten up to 10^15, both exact in an f64, so one IEEE division is the correctly
/// rounded value the general path's `str::parse` gets; and every decimal of at most 15
/// significant digits survives the trip through an f64 (`DBL_DIG`), so the general path's
/// digit comparison always finds the f64 exact and stores it. Tested against the general path.
fn plain_number(neg: bool, b: &[u8], dec: char) -> Option<Num> {
    let dec = u8::try_from(dec).ok().filter(u8::is_ascii)?;
    let (mut mantissa, mut digits, mut i) = (0u64, 0usize, 0usize);
    let mut grouped = false;
    let mut sep = None;
    // The integer part: the first group, then `sep` + three digits each.
    let mut run = 0usize;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            mantissa = mantissa * 10 + u64::from(c - b'0');
            digits += 1;
            run += 1;
            if digits > 15 {
                return None;
            }
        } else if c == dec {
            break;
        } else if matches!(c, b',' | b'.' | b' ' | b'\'') {
            let first_group = sep.is_none();
            if (first_group && !(1..=3).contains(&run)) || (!first_group && run != 3) {
                return None;
            }
            if *sep.get_or_insert(c) != c {
                return None;
            }
            grouped = true;
            run = 0;
        } else {
            return None;
        }
        i += 1;
    }
    if grouped && run != 3 {
        return None;
    }
    let int_digits = digits;
    let leading_zero = int_digits > 1 && b[0] == b'0';
    if i == b.len() {
        // An integer of at most 15 digits: never beyond 2^53.
        if int_digits == 0 {
            return None;
        }
        let v = mantissa as i64;
        return Some(Num {
            value: NumValue::Int(if neg { -v } else { v }),
            is_int: true,
            leading_zero,
            too_big: false,
            grouped,
        });
    }
    i += 1; // the decimal separator
    let frac_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        mantissa = mantissa * 10 + u64::from(b[i] - b'0');
        digits += 1;
        if digits > 15 {
            return None;
        }
        i += 1;
    }
    let frac_len = i - frac_start;
    if i != b.len() || frac_len == 0 {
        return None;
    }
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let f = mantissa as f64 / POW10[frac_len];
    let f = if neg { -f } else { f };
    Some(Num {
        // Finite: at most 15 digits over a power of ten.
        value: NumValue::Float(f),
        is_int: false,
        leading_zero,
        too_big: false,
        grouped,
    })
}

/// The f64 of a JSON number's text, as `str::parse::<f64>` reads it, for the texts the cleaning
/// writes most (`-123`, `4.5`: at most 15 digits, no exponent) without the general parser:
/// exact for the reason [`plain_number`] is. `None` for any other text.
pub(crate) fn simple_f64(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let (mut mantissa, mut digits, mut frac) = (0u64, 0usize, None);
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            // More than 15 digits is not this path's (and 20 would overflow the u64).
            if digits == 15 {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(c - b'0');
            digits += 1;
        } else if c == b'.' && frac.is_none() && i > 0 {
            frac = Some(b.len() - i - 1);
        } else {
            return None;
        }
    }
    let frac = frac.unwrap_or(0);
    if digits == 0 || digits > 15 || (frac == 0 && b.last() == Some(&b'.')) {
        return None;
    }
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let f = mantissa as f64 / POW10[frac];
    Some(if neg { -f } else { f })
}

/// (significant digits, exponent of the first digit); zero is ("", 0).
fn canonical(int: &str, frac: &str, exp: i32) -> (String, i32) {
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let sig = all
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string();
    if sig.is_empty() {
        return (sig, 0);
    }
    (sig, int.len() as i32 - lead as i32 + exp)
}

/// Currency symbols and the ISO code each usually means.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("R$", "BRL"),
    ("C$", "CAD"),
    ("A$", "AUD"),
    ("$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₺", "TRY"),
    ("₪", "ILS"),
];
const CODES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "CNY", "INR", "BRL", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "MXN", "ZAR", "SGD", "HKD", "KRW", "RUB", "TRY", "ILS", "AED",
];

/// What a spreadsheet's number format says a number is, beyond a plain number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumberStyle {
    /// Shown with `%`: the stored value is in percent points, as for delimited text.
    Percent,
    /// Shown with a currency: (symbol or code as written, ISO code).
    Currency(&'static str, &'static str),
}

/// The currency a symbol or ISO code alone names (`€`, `US$`, `CHF`).
pub(crate) fn currency_of_marker(marker: &str) -> Option<(&'static str, &'static str)> {
    SYMBOLS
        .iter()
        .find(|(sym, _)| *sym == marker)
        .copied()
        .or_else(|| CODES.iter().find(|c| **c == marker).map(|c| (*c, *c)))
}

/// The currency marker of a text and the number text left when it is removed.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn split_currency(t: &str) -> Option<(&'static str, &'static str, String)> {
    let (sym, code, neg, rest) = currency_parts(t)?;
    Some((sym, code, format!("{}{rest}", if neg { "-" } else { "" })))
}

/// [`split_currency`] without building the number text: (marker, ISO code, whether a `-`
/// came before the marker, the trimmed rest). Runs on every cell of a currency column.
pub(crate) fn currency_parts(t: &str) -> Option<(&'static str, &'static str, bool, &str)> {
    let t = trim(t);
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let (Some(&first), Some(&last)) = (body.as_bytes().first(), body.as_bytes().last()) else {
        return None;
    };
    for (sym, code) in SYMBOLS {
        // A symbol's first (last) byte is compared before the whole symbol is.
        let s = sym.as_bytes();
        if s[0] == first {
            if let Some(rest) = body.strip_prefix(sym) {
                return Some((sym, code, neg, trim(rest)));
            }
        }
        if s[s.len() - 1] == last {
            if let Some(rest) = body.strip_suffix(sym) {
                return Some((sym, code, neg, trim(rest)));
            }
        }
    }
    // An ISO code is three ASCII capitals at either end.
    let b = body.as_bytes();
    let capitals = |s: &[u8]| s.len() >= 3 && s[..3].iter().all(u8::is_ascii_uppercase);
    if !capitals(b) && !capitals(&b[b.len().saturating_sub(3)..]) {
        return None;
    }
    for code in CODES {
        if let Some(rest) = body.strip_prefix(code) {
            if rest.starts_with([' ', '\u{a0}'])
                || rest.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            {
                return Some((code, code, neg, rest.trim()));
            }
        }
        if let Some(rest) = body.strip_suffix(code) {
            if rest.ends_with([' ', '\u{a0}']) || rest.ends_with(|c: char| c.is_ascii_digit()) {
                return Some((code, code, neg, rest.trim()));
            }
        }
    }
    None
}

pub(crate) fn split_percent(t: &str) -> Option<&str> {
    let t = trim(t);
    t.strip_suffix('%').map(|r| r.trim_end())
}

/// `Some(true|false)` for boolean words in English, German, French and Spanish (`ja`/`nein`,
/// `wahr`/`falsch`, `oui`/`non`, `vrai`/`faux`, `sí`/`no`, `verdadero`/`falso`), any case;
/// `1`/`0` only when `allow_digits`. The stored value is the boolean; the cell's spelling is
/// the source's, so an export as written can give it back.
/// Compares in place, ASCII case-insensitively (it runs on every cell of a boolean column); only
/// `sí` needs a Unicode lowercase, and only a short non-ASCII cell pays for it.
pub(crate) fn parse_bool(t: &str, allow_digits: bool) -> Option<bool> {
    const TRUE: [&str; 11] = [
        "true",
        "yes",
        "y",
        "t",
        "ja",
        "wahr",
        "oui",
        "vrai",
        "sí",
        "si",
        "verdadero",
    ];
    const FALSE: [&str; 9] = [
        "false", "no", "n", "f", "nein", "falsch", "non", "faux", "falso",
    ];
    let t = trim(t);
    if t.len() > 9 {
        return None;
    }
    let is = |word: &&str| t.as_bytes().eq_ignore_ascii_case(word.as_bytes());
    if TRUE.iter().any(is) {
        Some(true)
    } else if FALSE.iter().any(is) {
        Some(false)
    } else if allow_digits && t == "1" {
        Some(true)
    } else if allow_digits && t == "0" {
        Some(false)
    } else if !t.is_ascii() && t.to_lowercase() == "sí" {
        Some(true)
    } else {
        None
    }
}

pub(crate) fn is_bool_word(t: &str) -> bool {
    parse_bool(t, false).is_some()
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_from_name(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    for (i, m) in MONTHS.iter().enumerate() {
        if w == *m || w == full[i] || (w == "sept" && i == 8) {
            return Some(i as u32 + 1);
        }
    }
    None
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn valid_ymd(y: i32, m: u32, d: u32) -> Option<(i32, u32, u32)> {
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m) && (1000..=9999).contains(&y))
        .then_some((y, m, d))
}

fn num(s: &str, min_len: usize, max_len: usize) -> Option<u32> {
    (s.len() >= min_len && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())?
}

/// A numeric date whose order is not written in it: `a{sep}b{sep}yyyy`.
pub(crate) fn numeric_date_parts(t: &str) -> Option<(u32, u32, i32, char)> {
    let t = trim(t);
    let sep = t.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3 || parts[0].len() > 2 {
        return None;
    }
    Some((
        num(parts[0], 1, 2)?,
        num(parts[1], 1, 2)?,
        num(parts[2], 4, 4)? as i32,
        sep,
    ))
}

/// `YYYY-MM-DD` with ASCII digits: the shape ISO dates are written and stored in.
pub(crate) fn is_iso_date_shape(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The date of a text of [`is_iso_date_shape`] (`YYYY-MM-DD`), if it is a real one: what
/// [`parse_date`] answers for it, without its trimming and other spellings.
#[inline]
pub(crate) fn iso_ymd(b: &[u8]) -> Option<(i32, u32, u32)> {
    let n = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    valid_ymd(n(0..4) as i32, n(5..7), n(8..10))
}

/// A calendar date in any supported spelling; `order` resolves `a/b/yyyy`.
pub(crate) fn parse_date(t: &str, order: DateOrder) -> Option<(i32, u32, u32)> {
    let t = trim(t);
    if t.len() < 8 || t.len() > 30 {
        return None;
    }
    let b = t.as_bytes();
    if is_iso_date_shape(t) {
        return iso_ymd(b);
    }
    if b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'-' | b'/' | b'.') {
        let parts: Vec<&str> = t.split(b[4] as char).collect();
        if parts.len() != 3 {
            return None;
        }
        return valid_ymd(
            num(parts[0], 4, 4)? as i32,
            num(parts[1], 1, 2)?,
            num(parts[2], 1, 2)?,
        );
    }
    if let Some((a, bb, y, _)) = numeric_date_parts(t) {
        let (d, m) = match order {
            DateOrder::Dmy => (a, bb),
            DateOrder::Mdy => (bb, a),
        };
        return valid_ymd(y, m, d);
    }
    // Month names: 15 Jan 2024, 15-Jan-2024, Jan 15, 2024, January 15 2024.
    let words: Vec<&str> = t
        .split([' ', ',', '-', '/'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() != 3 {
        return None;
    }
    let y = num(words[2], 4, 4)? as i32;
    if let Some(m) = month_from_name(words[1]) {
        return valid_ymd(y, m, num(words[0].trim_end_matches('.'), 1, 2)?);
    }
    let m = month_from_name(words[0])?;
    valid_ymd(y, m, num(words[1], 1, 2)?)
}

/// A time of day as `HH:MM:SS[.fff]`; accepts `9:05`, `09:05:30.25`, `9:05 PM`.
pub(crate) fn parse_time(t: &str) -> Option<String> {
    let t = trim(t);
    let lower = t.to_ascii_lowercase();
    let (clock, pm) = if let Some(r) = lower.strip_suffix("pm") {
        (r.trim_end().to_string(), Some(true))
    } else if let Some(r) = lower.strip_suffix("am") {
        (r.trim_end().to_string(), Some(false))
    } else {
        (lower, None)
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let mut h = num(parts[0], 1, 2)?;
    let m = num(parts[1], 2, 2)?;
    let (s, frac) = match parts.get(2) {
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            if !frac.bytes().all(|b| b.is_ascii_digit()) || (sec.contains('.') && frac.is_empty()) {
                return None;
            }
            (num(whole, 2, 2)?, frac)
        }
        None => (0, ""),
    };
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return None;
        }
        h = match (pm, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!("{h:02}:{m:02}:{s:02}{frac}"))
}

/// A time zone suffix: `Z`, `UTC`, `+02:00`, `+0200`, `+02`.
fn split_zone(t: &str) -> (&str, Option<String>) {
    let t = t.trim_end();
    if let Some(r) = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix(" UTC"))
        .or_else(|| t.strip_suffix(" GMT"))
    {
        return (r.trim_end(), Some("Z".into()));
    }
    if let Some(i) = t.rfind(['+', '-']) {
        let (clock, zone) = (&t[..i], &t[i + 1..]);
        if clock.contains(':') && !clock.trim().is_empty() {
            let digits: String = zone.chars().filter(|c| *c != ':').collect();
            if digits.len() == 4 || digits.len() == 2 {
                if let (Some(h), Some(m)) = (
                    num(&digits[..2], 2, 2),
                    num(
                        if digits.len() == 4 {
                            &digits[2..]
                        } else {
                            "00"
                        },
                        2,
                        2,
                    ),
                ) {
                    if h <= 14 && m <= 59 {
                        return (
                            clock.trim_end(),
                            Some(format!("{}{h:02}:{m:02}", &t[i..=i])),
                        );
                    }
                }
            }
        }
    }
    (t, None)
}

/// A date with a time of day, rendered as ISO 8601 (`2024-01-15T10:30:00`, zone kept if given).
pub(crate) fn parse_datetime(t: &str, order: DateOrder) -> Option<String> {
    let t = trim(t);
    let (date_part, time_part) = if t.len() > 11 && t.as_bytes().get(10) == Some(&b'T') {
        (&t[..10], &t[11..])
    } else {
        // The time is the last word (or the last two with AM/PM, or three with a zone name).
        let words: Vec<&str> = t.split_whitespace().collect();
        if words.len() < 2 {
            return None;
        }
        let mut take = 1;
        let last = words[words.len() - 1].to_ascii_lowercase();
        if (last == "am" || last == "pm" || last == "utc" || last == "gmt") && words.len() >= 3 {
            take = 2;
            let before = words[words.len() - 2].to_ascii_lowercase();
            if (last == "utc" || last == "gmt")
                && (before == "am" || before == "pm")
                && words.len() >= 4
            {
                take = 3;
            }
        }
        let split_at = t.len() - words[words.len() - take..].join(" ").len();
        let date_part = t[..split_at].trim_end().trim_end_matches(',');
        let time_start = t.len() - (t.len() - split_at);
        (date_part, t[time_start..].trim())
    };
    let (y, m, d) = parse_date(date_part, order)?;
    let (clock, zone) = split_zone(time_part);
    let time = parse_time(clock)?;
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{time}{}",
        zone.unwrap_or_default()
    ))
}

pub(crate) fn iso_date((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn is_email(t: &str) -> bool {
    let t = trim(t);
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !t.contains(char::is_whitespace)
        && !domain.contains('@')
}

pub(crate) fn is_url(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .or_else(|| t.strip_prefix("www."));
    matches!(rest, Some(r) if r.contains('.') && !r.contains(char::is_whitespace) && r.len() > 3)
}

pub(crate) fn is_uuid(t: &str) -> bool {
    let t = trim(t);
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

pub(crate) fn is_phone(t: &str) -> bool {
    let t = trim(t);
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c) || c == 'x');
    let has_shape = t.starts_with('+') || t.contains([' ', '-', '(', '.']);
    ok_chars && has_shape && (7..=15).contains(&digits) && !t.contains("..")
}

pub(crate) fn is_ipv4(t: &str) -> bool {
    let parts: Vec<&str> = t.trim().split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.parse::<u8>().is_ok()
                && !(p.len() > 1 && p.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_in_four_languages() {
        for (yes, no) in [
            ("true", "false"),
            ("Ja", "Nein"),
            ("wahr", "falsch"),
            ("oui", "non"),
            ("VRAI", "FAUX"),
            ("sí", "no"),
            ("SÍ", "No"),
            ("si", "no"),
            ("verdadero", "falso"),
        ] {
            assert_eq!(parse_bool(yes, false), Some(true), "{yes}");
            assert_eq!(parse_bool(no, false), Some(false), "{no}");
        }
        for other in ["jein", "oui!", "s", "1", "verdaderos", ""] {
            assert_eq!(parse_bool(other, false), None, "{other}");
        }
    }

    #[test]
    fn numbers_convert_only_when_exact() {
        assert_eq!(
            parse_number("1,234.56", '.').unwrap().json(),
            json!(1234.56)
        );
        assert_eq!(
            parse_number("1.234,56", ',').unwrap().json(),
            json!(1234.56)
        );
        assert_eq!(parse_number("1 234,5", ',').unwrap().json(), json!(1234.5));
        assert!(parse_number("1,23,4", '.').is_none());
        assert_eq!(parse_number("-42", '.').unwrap().json(), json!(-42));
        assert!(parse_number("007", '.').unwrap().leading_zero);
        assert!(parse_number("9007199254740993", '.').unwrap().too_big);
        assert_eq!(parse_number("1.5E+3", '.').unwrap().json(), json!(1500.0));
        // More significant digits than an f64 holds: every written digit is kept.
        for written in [
            "0.12345678901234567891",
            "12.277999999999999",
            "8.3945900000000009",
        ] {
            assert_eq!(
                parse_number(written, '.').unwrap().json().to_string(),
                written
            );
        }
        assert_eq!(
            parse_number("-1.234.567,1234567890123456789", ',')
                .unwrap()
                .json()
                .to_string(),
            "-1234567.1234567890123456789"
        );
        assert!(parse_number("12abc", '.').is_none());
    }

    /// A small deterministic generator for the fast-path-equals-slow-path tests.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn simple_f64_reads_as_str_parse_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for t in [
            "0",
            "-0",
            "0.0",
            "-0.5",
            "123456789012345",
            "99999999999999.9",
            "-1.25",
            "0.5",
        ] {
            let want = t.parse::<f64>().unwrap().to_bits();
            assert_eq!(simple_f64(t).map(f64::to_bits), Some(want), "{t}");
        }
        for t in [
            "",
            "-",
            "1e5",
            "1.",
            ".5",
            "1.2.3",
            "12a",
            "1234567890123456",
            "12.277999999999999",
            // 20 digits and more: past u64 (a debug build panicked on the overflow; fuzz ndjson).
            "99999999999999999999",
            "-123456789012345678901234567890",
            "1.00000000000000000000001",
        ] {
            assert_eq!(simple_f64(t), None, "{t}");
        }
        for _ in 0..100_000 {
            let r = next();
            let digits = 1 + (r % 15) as usize;
            let mantissa = next() % 10u64.pow(digits as u32);
            let frac = (next() % (digits as u64 + 1)) as usize;
            let mut t = format!("{mantissa:0digits$}");
            if frac > 0 {
                t.insert(digits - frac, '.');
            }
            if t.starts_with('.') {
                t.insert(0, '0');
            }
            if r & 1 == 1 {
                t.insert(0, '-');
            }
            let want = t.parse::<f64>().unwrap();
            let got = simple_f64(&t);
            if t.matches(|c: char| c.is_ascii_digit()).count() <= 15 {
                assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "{t}");
            } else {
                assert_eq!(got, None, "{t}");
            }
        }
    }

    #[test]
    fn the_plain_number_fast_path_answers_as_the_general_path() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut fast, mut total) = (0usize, 0usize);
        for _ in 0..200_000 {
            let dec = if r.below(2) == 0 { '.' } else { ',' };
            let mut body = String::new();
            let int_len = r.below(19) as usize;
            let grouped = r.below(3) == 0;
            let sep = [',', '.', ' ', '\''][r.below(4) as usize];
            for i in 0..int_len {
                if grouped && i > 0 && (int_len - i).is_multiple_of(3) {
                    body.push(sep);
                }
                // Zeros often, for leading and trailing zeros.
                let d = if r.below(4) == 0 { 0 } else { r.below(10) };
                body.push(char::from(b'0' + d as u8));
            }
            if r.below(3) != 0 {
                body.push(dec);
                for _ in 0..r.below(19) {
                    let d = if r.below(4) == 0 { 0 } else { r.below(10) };
                    body.push(char::from(b'0' + d as u8));
                }
            }
            if r.below(20) == 0 {
                body.push(['x', 'e', ',', '.'][r.below(4) as usize]); // a broken shape
            }
            let neg = r.below(2) == 0;
            total += 1;
            if let Some(n) = plain_number(neg, body.as_bytes(), dec) {
                fast += 1;
                assert_eq!(
                    Some(n),
                    general_number(neg, &body, dec),
                    "{}{body} with {dec:?}",
                    if neg { "-" } else { "" }
                );
            }
        }
        // The generator must exercise the fast path, not only the fallback.
        assert!(fast * 4 > total, "{fast} of {total} on the fast path");
        for (written, value) in [("1,406.78", "1406.78"), ("-0.0", "-0.0"), ("007", "7")] {
            assert_eq!(
                parse_number(written, '.').unwrap().json().to_string(),
                value
            );
        }
    }

    #[test]
    fn booleans_compare_ascii_case_insensitively() {
        let old = |t: &str, digits: bool| match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "t" => Some(true),
            "false" | "no" | "n" | "f" => Some(false),
            "1" if digits => Some(true),
            "0" if digits => Some(false),
            _ => None,
        };
        for t in [
            "TRUE", "Yes", " y ", "T", "fAlse", "NO", "n", "F", "1", "0", "2", "yes!", "ÿ", "",
        ] {
            for digits in [false, true] {
                assert_eq!(parse_bool(t, digits), old(t, digits), "{t:?}");
            }
        }
    }

    #[test]
    fn null_tokens_compare_ascii_case_insensitively() {
        let old = |t: &str| t.len() <= 9 && NULL_TOKENS.contains(&t.to_ascii_lowercase().as_str());
        for t in [
            "", "NA", "nA", "N/a", "NULL", "Null", "nil", "NONE", "-", "--", "NaN", "#N/A",
            "(NULL)", "(Blank)", "MISSING", "missing!", "ná", "NÁ", "n/a ", "0", "none1", "Ñ",
            "nul",
        ] {
            assert_eq!(is_null_token(t), old(t), "{t:?}");
        }
        // The first-byte check lets every token through, in any case.
        for n in NULL_TOKENS {
            assert!(
                is_null_token(n) && is_null_token(&n.to_ascii_uppercase()),
                "{n:?}"
            );
        }
    }

    #[test]
    fn iso_dates_take_the_fast_path_with_the_same_answer() {
        for y in [999, 1000, 1900, 2000, 2023, 2024, 9999] {
            for m in 0..=13 {
                for d in 0..=32 {
                    let iso = format!("{y:04}-{m:02}-{d:02}");
                    let slashed = iso.replace('-', "/"); // the general path
                    assert!(is_iso_date_shape(&iso) || y < 1000);
                    assert_eq!(
                        parse_date(&iso, DateOrder::Dmy),
                        parse_date(&slashed, DateOrder::Dmy),
                        "{iso}"
                    );
                }
            }
        }
    }

    #[test]
    fn dates_times_and_zones() {
        assert_eq!(
            parse_date("2024-02-29", DateOrder::Mdy),
            Some((2024, 2, 29))
        );
        assert_eq!(parse_date("2023-02-29", DateOrder::Mdy), None);
        assert_eq!(parse_date("03/04/2024", DateOrder::Dmy), Some((2024, 4, 3)));
        assert_eq!(parse_date("03/04/2024", DateOrder::Mdy), Some((2024, 3, 4)));
        assert_eq!(
            parse_date("Jan 15, 2024", DateOrder::Mdy),
            Some((2024, 1, 15))
        );
        assert_eq!(
            parse_date("15-Sep-2024", DateOrder::Mdy),
            Some((2024, 9, 15))
        );
        assert_eq!(parse_time("9:05 PM").as_deref(), Some("21:05:00"));
        assert_eq!(
            parse_datetime("2024-01-15T10:30:00Z", DateOrder::Mdy).as_deref(),
            Some("2024-01-15T10:30:00Z")
        );
        assert_eq!(
            parse_datetime("2024-01-15 10:30:00+0200", DateOrder::Mdy).as_deref(),
            Some("2024-01-15T10:30:00+02:00")
        );
        assert_eq!(
            parse_datetime("15.01.2024 08:00", DateOrder::Dmy).as_deref(),
            Some("2024-01-15T08:00:00")
        );
    }

    #[test]
    fn currency_and_semantic_shapes() {
        assert_eq!(
            split_currency("$1,234.50").map(|c| (c.1, c.2)),
            Some(("USD", "1,234.50".to_string()))
        );
        assert_eq!(
            split_currency("12 EUR").map(|c| (c.1, c.2)),
            Some(("EUR", "12".to_string()))
        );
        assert_eq!(split_currency("-€12").map(|c| c.2), Some("-12".to_string()));
        assert!(split_currency("DEUTSCHLAND").is_none());
        assert!(is_email("a.b@example.co.uk") && !is_email("a@b"));
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_phone("+1 (555) 010-9999") && !is_phone("12345"));
    }
}
