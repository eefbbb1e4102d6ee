//! The file back as written: how a column wrote its values in the source ([`SourceFormat`]:
//! the currency and where it stands, thousands and decimal separators, the decimals written,
//! date and time patterns, the boolean spellings, the null token, percent), found while the
//! column's sample is cleaned, and [`render`], which writes a stored value back that way.
//!
//! Design decision: nothing is assumed from a locale. A format is derived from the column's own
//! texts and each sampled value is then rendered back and compared with its text: date and time
//! patterns are enumerated from a text and its parsed value (every pattern that writes that value
//! as that text), and the candidate that writes back the most sampled values wins. `checked` and
//! `misses` say how many sampled cells were compared and how many did not come back byte for
//! byte, so a consumer knows when the round trip is exact.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one column wrote its values (the `source_format` of a schema_def column). Every field is
/// optional: an absent one means the plain form (`.` decimals, no grouping, `true`/`false`, an
/// empty field for null, the stored ISO text for dates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceFormat {
    /// How a missing value was written (`NA`, `-`, ``): the most common null spelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null: Option<String>,
    /// How `true` was written (`Yes`, `ja`, `1`).
    #[serde(rename = "true", skip_serializing_if = "Option::is_none")]
    pub true_text: Option<String>,
    /// How `false` was written (`No`, `nein`, `0`).
    #[serde(rename = "false", skip_serializing_if = "Option::is_none")]
    pub false_text: Option<String>,
    /// The decimal separator when it is not `.`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimal: Option<char>,
    /// The thousands separator, when the numbers were grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thousands: Option<char>,
    /// Fraction digits always written (`1.50`: 2); absent: as many as the value has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    /// The currency symbol or code as written (`$`, `€`, `EUR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The currency follows the number (`1.234,50 €`).
    #[serde(skip_serializing_if = "is_false")]
    pub currency_after: bool,
    /// What stands between the currency and the number (` `, a no-break space).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub currency_gap: String,
    /// The minus sign follows a leading currency (`$-5` rather than `-$5`).
    #[serde(skip_serializing_if = "is_false")]
    pub minus_after_currency: bool,
    /// The value is in percent points and was written with `%`.
    #[serde(skip_serializing_if = "is_false")]
    pub percent: bool,
    /// What stands between the number and `%`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub percent_gap: String,
    /// A date, time or date-time pattern: `%d/%m/%Y`, `%H:%M`, `%-I:%M %p` (see [`render`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Sampled cells rendered back and compared with their text.
    pub checked: u64,
    /// Of those, the ones whose rendering differs from the text.
    pub misses: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Writes a stored value as its column's source wrote it.
///
/// Null is the null token; booleans the true/false spellings; numbers with the currency,
/// separators, decimals and `%` of `format`; a string is a date, time or date-time in
/// `pattern` when it is one (the stored ISO text), else itself. Pattern specifiers: `%Y`
/// year, `%m`/`%-m` month (padded or not), `%d`/`%-d` day, `%b`/`%B` `Jan`/`January`,
/// `%H`/`%-H` hour, `%I`/`%-I` hour of 12, `%M` minute, `%S` second (with the fraction
/// written, if any), `%p`/`%P` `PM`/`pm`, `%:z` zone as stored (`+02:00`, `Z`), `%z` `+0200`,
/// `%%` a percent sign. Anything that cannot be written in the format comes out as stored.
///
/// ```
/// use ingest::{render, SourceFormat};
/// let us = SourceFormat { currency: Some("$".into()), thousands: Some(','), decimals: Some(2), ..Default::default() };
/// assert_eq!(render(&serde_json::json!(1234.5), &us), "$1,234.50");
/// let de = SourceFormat { pattern: Some("%d.%m.%Y".into()), ..Default::default() };
/// assert_eq!(render(&serde_json::json!("2018-01-28"), &de), "28.01.2018");
/// ```
pub fn render(value: &Value, format: &SourceFormat) -> String {
    match value {
        Value::Null => format.null.clone().unwrap_or_default(),
        Value::Bool(true) => format.true_text.as_deref().unwrap_or("true").to_string(),
        Value::Bool(false) => format.false_text.as_deref().unwrap_or("false").to_string(),
        Value::Number(n) => {
            let text = n.to_string();
            render_number(&text, format).unwrap_or(text)
        }
        Value::String(s) => format
            .pattern
            .as_deref()
            .and_then(|p| render_pattern(s, p))
            .unwrap_or_else(|| s.clone()),
        other => other.to_string(),
    }
}

/// (negative, integer digits without leading zeros or `0`, fraction digits without trailing
/// zeros) of a JSON number's text, exponent expanded.
fn decimal_parts(text: &str) -> Option<(bool, String, String)> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    if !(-400..=400).contains(&exp) {
        return None;
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) || int.len() + frac.len() == 0
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + i64::from(exp);
    let (mut i, mut f) = if point <= 0 {
        (String::new(), "0".repeat((-point) as usize) + &digits)
    } else if point as usize >= digits.len() {
        (
            digits.clone() + &"0".repeat(point as usize - digits.len()),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    i = i.trim_start_matches('0').to_string();
    if i.is_empty() {
        i.push('0');
    }
    f.truncate(f.trim_end_matches('0').len());
    let zero = i == "0" && f.is_empty();
    Some((neg && !zero, i, f))
}

fn group(int: &str, sep: char) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn render_number(text: &str, f: &SourceFormat) -> Option<String> {
    let (neg, int, mut frac) = decimal_parts(text)?;
    if let Some(k) = f.decimals {
        while frac.len() < k as usize {
            frac.push('0');
        }
    }
    let mut body = match f.thousands {
        Some(sep) => group(&int, sep),
        None => int,
    };
    if !frac.is_empty() {
        body.push(f.decimal.unwrap_or('.'));
        body.push_str(&frac);
    }
    if f.percent {
        body.push_str(&f.percent_gap);
        body.push('%');
    }
    let minus = if neg { "-" } else { "" };
    Some(match &f.currency {
        Some(c) if f.currency_after => format!("{minus}{body}{}{c}", f.currency_gap),
        Some(c) if f.minus_after_currency => format!("{c}{}{minus}{body}", f.currency_gap),
        Some(c) => format!("{minus}{c}{}{body}", f.currency_gap),
        None => format!("{minus}{body}"),
    })
}

/// The parts of a stored ISO date (`2018-01-28`), time (`09:05:30.25`) or date-time
/// (`2018-01-28T09:05:00+02:00`).
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    date: Option<(i32, u32, u32)>,
    /// (hour, minute, second, the fraction digits as written)
    time: Option<(u32, u32, u32, String)>,
    zone: Option<String>,
}

fn digits(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn iso_time(t: &str) -> Option<(u32, u32, u32, String)> {
    let mut it = t.splitn(3, ':');
    let (h, m, s) = (it.next()?, it.next()?, it.next()?);
    let (s, frac) = s.split_once('.').unwrap_or((s, ""));
    let (h, m, s) = (digits(h, 2)?, digits(m, 2)?, digits(s, 2)?);
    if h > 23 || m > 59 || s > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((h, m, s, frac.to_string()))
}

fn iso_parts(v: &str) -> Option<Parts> {
    if v.len() >= 8 && v.as_bytes().get(2) == Some(&b':') {
        return Some(Parts {
            date: None,
            time: Some(iso_time(v)?),
            zone: None,
        });
    }
    let date = v.get(..10)?;
    let (y, m, d) = crate::values::parse_date(date, crate::DateOrder::Dmy)?;
    if date.as_bytes()[4] != b'-' {
        return None;
    }
    let rest = &v[10..];
    if rest.is_empty() {
        return Some(Parts {
            date: Some((y, m, d)),
            time: None,
            zone: None,
        });
    }
    let rest = rest.strip_prefix('T')?;
    let split = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6 && digits(&zone[1..3], 2).is_some() && &zone[3..4] == ":");
    if !zone_ok {
        return None;
    }
    Some(Parts {
        date: Some((y, m, d)),
        time: Some(iso_time(clock)?),
        zone: (!zone.is_empty()).then(|| zone.to_string()),
    })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The specifiers a pattern may hold, each with the part of the value it writes (a pattern
/// writes each part at most once).
const SPECS: [(&str, u8); 17] = [
    ("Y", 0),
    ("d", 1),
    ("-d", 1),
    ("m", 2),
    ("-m", 2),
    ("b", 2),
    ("B", 2),
    ("H", 3),
    ("-H", 3),
    ("I", 3),
    ("-I", 3),
    ("M", 4),
    ("S", 5),
    ("p", 6),
    ("P", 6),
    (":z", 7),
    ("z", 7),
];

fn piece(spec: &str, p: &Parts) -> Option<String> {
    let date = p.date;
    let time = p.time.as_ref();
    let h12 = |h: u32| if h % 12 == 0 { 12 } else { h % 12 };
    Some(match spec {
        "Y" => format!("{:04}", date?.0),
        "m" => format!("{:02}", date?.1),
        "-m" => date?.1.to_string(),
        "b" => MONTHS[date?.1 as usize - 1][..3].to_string(),
        "B" => MONTHS[date?.1 as usize - 1].to_string(),
        "d" => format!("{:02}", date?.2),
        "-d" => date?.2.to_string(),
        "H" => format!("{:02}", time?.0),
        "-H" => time?.0.to_string(),
        "I" => format!("{:02}", h12(time?.0)),
        "-I" => h12(time?.0).to_string(),
        "M" => format!("{:02}", time?.1),
        "S" => {
            let t = time?;
            if t.3.is_empty() {
                format!("{:02}", t.2)
            } else {
                format!("{:02}.{}", t.2, t.3)
            }
        }
        "p" => (if time?.0 >= 12 { "PM" } else { "AM" }).to_string(),
        "P" => (if time?.0 >= 12 { "pm" } else { "am" }).to_string(),
        ":z" => p.zone.clone()?,
        "z" => match p.zone.as_deref()? {
            "Z" => "Z".to_string(),
            z => z.replace(':', ""),
        },
        "%" => "%".to_string(),
        _ => return None,
    })
}

/// `value` (stored ISO text) written in `pattern`; `None` when it is not such a value or the
/// pattern needs a part it lacks.
fn render_pattern(value: &str, pattern: &str) -> Option<String> {
    let parts = iso_parts(value)?;
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        for next in chars.by_ref() {
            spec.push(next);
            if next != '-' && next != ':' {
                break;
            }
        }
        out.push_str(&piece(&spec, &parts)?);
    }
    Some(out)
}

/// Every pattern (up to `limit`) that writes `parts` as exactly `text`, the preferred first:
/// specifiers before literals, in `specs` order. A digit is always a specifier's, and a number
/// is never cut (`%-m` does not take the `1` of `15`).
fn derive(text: &str, parts: &Parts, specs: &[(&str, u8)], limit: usize) -> Vec<String> {
    fn walk(
        t: &str,
        parts: &Parts,
        specs: &[(&str, u8)],
        used: u8,
        cur: &mut String,
        out: &mut Vec<String>,
        limit: usize,
    ) {
        if out.len() >= limit {
            return;
        }
        let Some(c) = t.chars().next() else {
            out.push(cur.clone());
            return;
        };
        let mark = cur.len();
        for (spec, part) in specs {
            if used & (1 << part) != 0 {
                continue;
            }
            let Some(r) = piece(spec, parts) else {
                continue;
            };
            let Some(rest) = t.strip_prefix(r.as_str()) else {
                continue;
            };
            let ends_digit = r.ends_with(|c: char| c.is_ascii_digit());
            if r.is_empty() || (ends_digit && rest.starts_with(|c: char| c.is_ascii_digit())) {
                continue;
            }
            cur.push('%');
            cur.push_str(spec);
            walk(rest, parts, specs, used | (1 << part), cur, out, limit);
            cur.truncate(mark);
        }
        if !c.is_ascii_digit() {
            if c == '%' {
                cur.push_str("%%");
            } else {
                cur.push(c);
            }
            walk(&t[c.len_utf8()..], parts, specs, used, cur, out, limit);
            cur.truncate(mark);
        }
    }
    let mut out = Vec::new();
    if text.len() <= 64 {
        walk(text, parts, specs, 0, &mut String::new(), &mut out, limit);
    }
    out
}

/// What kind of values a column stores, for [`Observer::finish`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    /// Strings as written: only the null token matters.
    Text,
    Boolean,
    Number {
        decimal: char,
        currency: Option<&'a str>,
        percent: bool,
    },
    /// Dates, times, date-times; `day_first` orders `%d` before `%m` among equal candidates.
    Temporal {
        day_first: bool,
    },
}

/// Collects a column's sampled cells (text and what was stored) to decide its format.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observer {
    nulls: Vec<(String, u64)>,
    values: Vec<(String, Value)>,
}

/// The most common item (the first seen among equals).
fn majority<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(x, _)| *x == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(x, _)| x)
}

/// What one number's text says about its column's format.
#[derive(Debug, Default)]
struct NumberText {
    currency_after: Option<bool>,
    currency_gap: String,
    minus_after_currency: Option<bool>,
    percent: bool,
    percent_gap: String,
    /// `Some(None)`: four or more integer digits, ungrouped.
    thousands: Option<Option<char>>,
    frac_len: usize,
    trailing_zero: bool,
}

fn split_gap_start(s: &str) -> (&str, &str) {
    let rest = s.trim_start();
    (&s[..s.len() - rest.len()], rest)
}

fn split_gap_end(s: &str) -> (&str, &str) {
    let rest = s.trim_end();
    (rest, &s[rest.len()..])
}

fn number_text(t: &str, decimal: char, currency: Option<&str>) -> NumberText {
    let mut n = NumberText::default();
    let (neg, mut s) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    if let Some(c) = currency {
        if let Some(rest) = s.strip_prefix(c) {
            let (gap, rest) = split_gap_start(rest);
            n.currency_after = Some(false);
            n.currency_gap = gap.to_string();
            s = rest;
            if let Some(rest) = s.strip_prefix('-') {
                n.minus_after_currency = Some(true);
                s = rest;
            } else if neg {
                n.minus_after_currency = Some(false);
            }
        } else if let Some(rest) = s.strip_suffix(c) {
            let (rest, gap) = split_gap_end(rest);
            n.currency_after = Some(true);
            n.currency_gap = gap.to_string();
            s = rest;
        }
    }
    if let Some(rest) = s.strip_suffix('%') {
        let (rest, gap) = split_gap_end(rest);
        n.percent = true;
        n.percent_gap = gap.to_string();
        s = rest;
    }
    let s = s.trim_start_matches(['+', '-']);
    let (int, frac) = s.split_once(decimal).unwrap_or((s, ""));
    n.thousands = match int.chars().find(|c| !c.is_ascii_digit()) {
        Some(sep) => Some(Some(sep)),
        None if int.len() >= 4 => Some(None),
        None => None,
    };
    n.frac_len = frac.len();
    n.trailing_zero = frac.ends_with('0');
    n
}

/// `yes` → `no`, `Ja` → `Nein`: the other spelling of a boolean pair, in the same case.
fn counterpart(seen: &str) -> Option<String> {
    const PAIRS: [(&str, &str); 10] = [
        ("true", "false"),
        ("yes", "no"),
        ("y", "n"),
        ("t", "f"),
        ("1", "0"),
        ("ja", "nein"),
        ("oui", "non"),
        ("si", "no"),
        ("sí", "no"),
        ("on", "off"),
    ];
    let lower = seen.to_lowercase();
    let other = PAIRS.iter().find_map(|(a, b)| {
        if lower == *a {
            Some(*b)
        } else if lower == *b {
            Some(*a)
        } else {
            None
        }
    })?;
    Some(
        if seen.chars().count() > 1 && seen.chars().all(|c| !c.is_lowercase()) {
            other.to_uppercase()
        } else if seen.starts_with(char::is_uppercase) {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        } else {
            other.to_string()
        },
    )
}

impl Observer {
    /// A cell read as null, with its (trimmed) spelling.
    pub(crate) fn null(&mut self, token: &str) {
        match self.nulls.iter_mut().find(|(t, _)| t == token) {
            Some((_, n)) => *n += 1,
            None => self.nulls.push((token.to_string(), 1)),
        }
    }

    /// A cell whose text (as written, spaces and all) was stored as `value` of the column's type.
    pub(crate) fn value(&mut self, text: &str, value: &Value) {
        self.values.push((text.to_string(), value.clone()));
    }

    /// The format that writes back the most sampled cells; `None` when nothing was sampled.
    pub(crate) fn finish(self, kind: Kind) -> Option<SourceFormat> {
        let mut f = SourceFormat::default();
        let null_cells: u64 = self.nulls.iter().map(|(_, n)| n).sum();
        if let Some(best) = self.nulls.iter().map(|(_, n)| *n).max() {
            let (token, n) = self.nulls.iter().find(|(_, n)| *n == best)?;
            if !token.is_empty() {
                f.null = Some(token.clone());
            }
            f.misses += null_cells - n;
        }
        let values = match kind {
            Kind::Text => &[][..],
            _ => &self.values[..],
        };
        match kind {
            Kind::Text => {}
            Kind::Boolean => {
                let spelled = |b: bool| {
                    majority(
                        values
                            .iter()
                            .filter(|(_, v)| *v == Value::Bool(b))
                            .map(|(t, _)| t.trim().to_string()),
                    )
                };
                f.true_text = spelled(true);
                f.false_text = spelled(false);
                if f.false_text.is_none() {
                    f.false_text = f.true_text.as_deref().and_then(counterpart);
                }
                if f.true_text.is_none() {
                    f.true_text = f.false_text.as_deref().and_then(counterpart);
                }
            }
            Kind::Number {
                decimal,
                currency,
                percent,
            } => {
                let texts: Vec<NumberText> = values
                    .iter()
                    .map(|(t, _)| number_text(t.trim(), decimal, currency))
                    .collect();
                f.decimal = (decimal != '.').then_some(decimal);
                f.currency = currency.map(str::to_string);
                f.currency_after =
                    majority(texts.iter().filter_map(|n| n.currency_after)).unwrap_or(false);
                f.currency_gap = majority(
                    texts
                        .iter()
                        .filter(|n| n.currency_after == Some(f.currency_after))
                        .map(|n| n.currency_gap.clone()),
                )
                .unwrap_or_default();
                f.minus_after_currency =
                    majority(texts.iter().filter_map(|n| n.minus_after_currency)).unwrap_or(false);
                f.percent = percent || texts.iter().any(|n| n.percent);
                f.percent_gap = majority(
                    texts
                        .iter()
                        .filter(|n| n.percent)
                        .map(|n| n.percent_gap.clone()),
                )
                .unwrap_or_default();
                f.thousands = majority(texts.iter().filter_map(|n| n.thousands)).flatten();
                let lens: Vec<usize> = texts.iter().map(|n| n.frac_len).collect();
                f.decimals = if lens.iter().all(|l| *l == lens[0]) {
                    lens.first().filter(|l| **l > 0).map(|l| *l as u32)
                } else if texts.iter().any(|n| n.trailing_zero) {
                    majority(lens.iter().copied()).map(|l| l as u32)
                } else {
                    None
                };
            }
            Kind::Temporal { day_first } => {
                let mut specs = SPECS.to_vec();
                if !day_first {
                    // `%m` before `%d` when the column reads month first.
                    specs.swap(1, 3);
                    specs.swap(2, 4);
                }
                let mut candidates: Vec<String> = Vec::new();
                let mut derived = 0;
                for (t, v) in values {
                    if derived >= 4 {
                        break;
                    }
                    let Some(s) = v.as_str() else { continue };
                    let t = t.trim();
                    if candidates
                        .iter()
                        .any(|p| render_pattern(s, p).as_deref() == Some(t))
                    {
                        continue;
                    }
                    if let Some(parts) = iso_parts(s) {
                        for p in derive(t, &parts, &specs, 32) {
                            if !candidates.contains(&p) {
                                candidates.push(p);
                            }
                        }
                        derived += 1;
                    }
                }
                let hits = |p: &String| {
                    values
                        .iter()
                        .filter(|(t, v)| {
                            v.as_str().and_then(|s| render_pattern(s, p)).as_deref()
                                == Some(t.trim())
                        })
                        .count()
                };
                let mut best: Option<(usize, String)> = None;
                for p in candidates {
                    let n = hits(&p);
                    if best.as_ref().is_none_or(|(b, _)| n > *b) {
                        best = Some((n, p));
                    }
                }
                f.pattern = best.map(|(_, p)| p);
            }
        }
        f.misses += values.iter().filter(|(t, v)| render(v, &f) != *t).count() as u64;
        f.checked = null_cells + values.len() as u64;
        (f.checked > 0).then_some(f)
    }
}

/// Whether text uses CRLF line ends: most of its line breaks are `\r\n`.
pub(crate) fn uses_crlf(text: &str) -> bool {
    let lf = text.bytes().filter(|b| *b == b'\n').count();
    let crlf = text.matches("\r\n").count();
    lf > 0 && crlf * 2 > lf
}

/// Writes a stored table back as delimited text in its source's layout: the original header
/// texts in the original column order, its delimiter and quote, CRLF when the source used it,
/// every value through [`render`]. Built from the table's `schema_def`; a schema without
/// `source_format` (stored before it existed, or JSON input) writes values in the plain form.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCsv {
    columns: Vec<(String, String, SourceFormat)>,
    delimiter: String,
    quote: char,
    escape: Option<char>,
    line_end: &'static str,
    header: bool,
    trailing_empty: usize,
}

impl SourceCsv {
    /// The layout of `schema_def` (version 1: `columns[]` with `key`, `name`, `position`,
    /// `source_format`; `dialect`).
    pub fn new(schema_def: &Value) -> SourceCsv {
        let dialect = schema_def.get("dialect").filter(|d| d.is_object());
        let text = |k: &str| {
            dialect
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .and_then(|s| s.chars().next())
        };
        let flag = |k: &str| dialect.and_then(|d| d.get(k)).and_then(Value::as_bool);
        let mut delimiter = text("delimiter").unwrap_or(',').to_string();
        if flag("skip_initial_space") == Some(true) {
            delimiter.push(' ');
        }
        let mut columns: Vec<(u64, (String, String, SourceFormat))> = schema_def
            .get("columns")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let key = c.get("key")?.as_str()?.to_string();
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&key)
                    .to_string();
                let format = c
                    .get("source_format")
                    .and_then(|f| serde_json::from_value(f.clone()).ok())
                    .unwrap_or_default();
                let position = c
                    .get("position")
                    .and_then(Value::as_u64)
                    .unwrap_or(i as u64);
                Some((position, (key, name, format)))
            })
            .collect();
        columns.sort_by_key(|(p, _)| *p);
        let mut out = SourceCsv {
            columns: Vec::with_capacity(columns.len()),
            delimiter,
            quote: text("quote").unwrap_or('"'),
            escape: text("escape"),
            line_end: if flag("crlf") == Some(true) {
                "\r\n"
            } else {
                "\n"
            },
            header: flag("has_header").unwrap_or(true),
            trailing_empty: dialect
                .and_then(|d| d.get("trailing_empty_columns"))
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize,
        };
        for (_, c) in columns {
            if !out.has_column(&c.0) {
                out.columns.push(c);
            }
        }
        out
    }

    pub fn has_column(&self, key: &str) -> bool {
        self.columns.iter().any(|(k, _, _)| k == key)
    }

    /// A key the schema does not name (rows appended without a schema update): its own column
    /// at the end, headed by the key, values in the plain form.
    pub fn add_column(&mut self, key: &str) {
        if !self.has_column(key) {
            self.columns
                .push((key.to_string(), key.to_string(), SourceFormat::default()));
        }
    }

    fn field(&self, text: &str, out: &mut String) {
        let delim = self.delimiter.chars().next().unwrap_or(',');
        if text.contains([delim, self.quote, '\r', '\n']) {
            out.push(self.quote);
            for c in text.chars() {
                if c == self.quote {
                    out.push(self.escape.unwrap_or(self.quote));
                }
                out.push(c);
            }
            out.push(self.quote);
        } else {
            out.push_str(text);
        }
    }

    fn line(&self, fields: impl Iterator<Item = String>) -> Vec<u8> {
        let mut out = String::new();
        for (i, f) in fields.enumerate() {
            if i > 0 {
                out.push_str(&self.delimiter);
            }
            self.field(&f, &mut out);
        }
        for _ in 0..self.trailing_empty {
            out.push_str(&self.delimiter);
        }
        out.push_str(self.line_end);
        out.into_bytes()
    }

    /// The header line (empty when the source had none).
    pub fn header(&self) -> Vec<u8> {
        if !self.header {
            return Vec::new();
        }
        self.line(self.columns.iter().map(|(_, name, _)| name.clone()))
    }

    /// One row's `data` as a line. `text` is applied to stored strings that [`render`] leaves
    /// as they are (the text cells, not dates), e.g. a guard against spreadsheet formulas.
    pub fn record(&self, data: &Value, text: &dyn Fn(&str) -> String) -> Vec<u8> {
        self.line(self.columns.iter().map(|(key, _, format)| {
            let value = data.get(key).unwrap_or(&Value::Null);
            let rendered = render(value, format);
            match value {
                Value::String(s) if *s == rendered => text(s),
                _ => rendered,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observe(kind: Kind, cells: &[(&str, Value)]) -> SourceFormat {
        let mut o = Observer::default();
        for (t, v) in cells {
            if v.is_null() {
                o.null(t);
            } else {
                o.value(t, v);
            }
        }
        o.finish(kind).expect("cells were sampled")
    }

    #[test]
    fn numbers_render_in_their_source_form() {
        let us = SourceFormat {
            currency: Some("$".into()),
            thousands: Some(','),
            decimals: Some(2),
            ..Default::default()
        };
        assert_eq!(render(&json!(1234.5), &us), "$1,234.50");
        assert_eq!(render(&json!(-3), &us), "-$3.00");
        assert_eq!(render(&json!(1234567.891), &us), "$1,234,567.891");
        let de = SourceFormat {
            currency: Some("€".into()),
            currency_after: true,
            currency_gap: " ".into(),
            decimal: Some(','),
            thousands: Some('.'),
            decimals: Some(2),
            ..Default::default()
        };
        assert_eq!(render(&json!(1234.5), &de), "1.234,50 €");
        let pct = SourceFormat {
            percent: true,
            ..Default::default()
        };
        assert_eq!(render(&json!(12.5), &pct), "12.5%");
        // Every written digit, exponents expanded.
        let plain = SourceFormat::default();
        let big: Value = serde_json::from_str("12.277999999999999").unwrap();
        assert_eq!(render(&big, &plain), "12.277999999999999");
        assert_eq!(render(&json!(1e21), &plain), "1000000000000000000000");
        assert_eq!(render(&json!(1.5e-7), &plain), "0.00000015");
        assert_eq!(render(&json!(1500.0), &plain), "1500");
        assert_eq!(render(&Value::Null, &plain), "");
    }

    #[test]
    fn dates_and_times_render_in_their_pattern() {
        for (value, pattern, text) in [
            ("2018-01-28", "%d/%m/%Y", "28/01/2018"),
            ("2018-01-28", "%m/%d/%Y", "01/28/2018"),
            ("2018-01-05", "%-d.%-m.%Y", "5.1.2018"),
            ("2024-01-15", "%b %-d, %Y", "Jan 15, 2024"),
            ("00:00:00", "%H:%M", "00:00"),
            ("21:05:00", "%-I:%M %p", "9:05 PM"),
            ("09:05:30.25", "%H:%M:%S", "09:05:30.25"),
            (
                "2024-01-15T10:30:00+02:00",
                "%Y-%m-%d %H:%M:%S%z",
                "2024-01-15 10:30:00+0200",
            ),
            ("2024-01-15T08:00:00", "%d.%m.%Y %H:%M", "15.01.2024 08:00"),
        ] {
            let f = SourceFormat {
                pattern: Some(pattern.into()),
                ..Default::default()
            };
            assert_eq!(render(&json!(value), &f), text, "{pattern}");
        }
        // Not a date: as stored.
        let f = SourceFormat {
            pattern: Some("%d/%m/%Y".into()),
            ..Default::default()
        };
        assert_eq!(render(&json!("soon"), &f), "soon");
        assert_eq!(render(&json!("2018-02-30"), &f), "2018-02-30");
    }

    #[test]
    fn patterns_are_found_from_texts_and_values() {
        let f = observe(
            Kind::Temporal { day_first: true },
            &[
                ("01/01/2018", json!("2018-01-01")),
                ("28/01/2018", json!("2018-01-28")),
                ("NA", Value::Null),
            ],
        );
        assert_eq!(f.pattern.as_deref(), Some("%d/%m/%Y"));
        assert_eq!((f.null.as_deref(), f.checked, f.misses), (Some("NA"), 3, 0));
        let f = observe(
            Kind::Temporal { day_first: false },
            &[
                ("1/5/2018", json!("2018-01-05")),
                ("12/25/2018", json!("2018-12-25")),
            ],
        );
        assert_eq!(f.pattern.as_deref(), Some("%-m/%-d/%Y"));
        let f = observe(
            Kind::Temporal { day_first: true },
            &[("00:00", json!("00:00:00")), ("13:45", json!("13:45:00"))],
        );
        assert_eq!((f.pattern.as_deref(), f.misses), (Some("%H:%M"), 0));
        // Two spellings in one column: the majority wins, the other is a miss.
        let f = observe(
            Kind::Temporal { day_first: true },
            &[
                ("28.01.2018", json!("2018-01-28")),
                ("29.01.2018", json!("2018-01-29")),
                ("2018-01-30", json!("2018-01-30")),
            ],
        );
        assert_eq!((f.pattern.as_deref(), f.misses), (Some("%d.%m.%Y"), 1));
    }

    #[test]
    fn number_formats_are_found_from_texts() {
        let f = observe(
            Kind::Number {
                decimal: '.',
                currency: Some("$"),
                percent: false,
            },
            &[
                ("$1,234.50", json!(1234.5)),
                ("$74.69", json!(74.69)),
                ("-$3.00", json!(-3.0)),
            ],
        );
        assert_eq!(
            (f.thousands, f.decimals, f.currency.as_deref(), f.misses),
            (Some(','), Some(2), Some("$"), 0)
        );
        let f = observe(
            Kind::Number {
                decimal: ',',
                currency: Some("€"),
                percent: false,
            },
            &[("1.234,50 €", json!(1234.5)), ("12,00 €", json!(12.0))],
        );
        assert_eq!(render(&json!(99.9), &f), "99,90 €");
        assert_eq!(f.misses, 0);
        let f = observe(
            Kind::Number {
                decimal: '.',
                currency: None,
                percent: true,
            },
            &[("12.5%", json!(12.5)), ("3%", json!(3))],
        );
        assert_eq!((f.percent, f.decimals, f.misses), (true, None, 0));
        // 5 and 5.50 cannot both come back: one miss, counted.
        let f = observe(
            Kind::Number {
                decimal: '.',
                currency: None,
                percent: false,
            },
            &[("5", json!(5)), ("5.50", json!(5.5)), ("7.25", json!(7.25))],
        );
        assert_eq!((f.decimals, f.misses), (Some(2), 1));
    }

    #[test]
    fn booleans_keep_their_spelling_and_guess_the_other_one() {
        let f = observe(
            Kind::Boolean,
            &[
                ("Yes", json!(true)),
                ("No", json!(false)),
                ("Yes", json!(true)),
            ],
        );
        assert_eq!(
            (f.true_text.as_deref(), f.false_text.as_deref()),
            (Some("Yes"), Some("No"))
        );
        let f = observe(Kind::Boolean, &[("ja", json!(true))]);
        assert_eq!(f.false_text.as_deref(), Some("nein"));
        let f = observe(Kind::Boolean, &[("TRUE", json!(true))]);
        assert_eq!(f.false_text.as_deref(), Some("FALSE"));
    }

    #[test]
    fn crlf_is_told_by_most_line_breaks() {
        assert!(uses_crlf("a,b\r\n1,2\r\n"));
        assert!(!uses_crlf("a,b\n1,2\n"));
        assert!(!uses_crlf("a,b"));
    }

    #[test]
    fn the_json_form_is_stable_and_old_tables_have_none() {
        let f = SourceFormat {
            null: Some("NA".into()),
            true_text: Some("ja".into()),
            false_text: Some("nein".into()),
            checked: 2,
            ..Default::default()
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            json!({"null": "NA", "true": "ja", "false": "nein", "checked": 2, "misses": 0})
        );
        assert_eq!(serde_json::from_value::<SourceFormat>(v).unwrap(), f);
        assert_eq!(
            serde_json::from_value::<SourceFormat>(json!({})).unwrap(),
            SourceFormat::default()
        );
    }
}
