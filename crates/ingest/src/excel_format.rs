//! Excel number format codes (`"$"#,##0.00`, `0.0%`, `dd/mm/yyyy`, `h:mm AM/PM`) as the
//! [`SourceFormat`] the file-back export writes: an XLSX cell holds a bare number or serial, and
//! what the person saw is its style's format code applied to it.
//!
//! Design decision: a code becomes a format only when every part of its first section has a
//! place in [`SourceFormat`] and writing by it keeps the value whole; anything else (two-digit
//! years, weekday names, scaling commas, scientific or fraction forms, elapsed hours, fill
//! characters, conditions, a negative section other than a plain minus, free text around a
//! number) answers `None`, and the column keeps the plain form. Codes are read as Excel's en-US
//! display writes them: `,` groups and `.` marks decimals in every code (the file's own
//! notation), and the built-in ids 14 and 22 are `m/d/yyyy` and `m/d/yyyy h:mm`.

use crate::source_format::SourceFormat;
use crate::values::currency_of_marker;

/// What kind of value a format shows: dates and times take date codes, the rest number codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shows {
    Number,
    Date,
    Time,
    DateTime,
}

/// The code of a built-in format id that has a fixed en-US form (ids 5-8 are the reader's
/// locale's currency: none).
pub(crate) fn builtin_code(id: u32) -> Option<&'static str> {
    Some(match id {
        1 => "0",
        2 => "0.00",
        3 => "#,##0",
        4 => "#,##0.00",
        9 => "0%",
        10 => "0.00%",
        14 => "m/d/yyyy",
        18 => "h:mm AM/PM",
        19 => "h:mm:ss AM/PM",
        20 => "h:mm",
        21 => "h:mm:ss",
        22 => "m/d/yyyy h:mm",
        _ => return None,
    })
}

/// A piece of a code's first section.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// Text shown as it is (quoted, escaped, or a plain literal character).
    Literal(String),
    /// A currency from `[$€-407]`.
    Currency(String),
    /// A run of one letter (`yyyy`, `mm`, `d`), lowercased; `AM/PM` is `ampm`, `am/pm` `lower`.
    Run(char, usize),
    AmPm {
        upper: bool,
    },
    /// A digit placeholder or the characters of a number body (`0`, `#`, `?`, `,`, `.`).
    Number(char),
    Percent,
}

/// The tokens of `code`'s sections, `None` for a code that cannot be written back.
fn sections(code: &str) -> Option<Vec<Vec<Token>>> {
    let mut out = vec![Vec::new()];
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let section = out.last_mut()?;
        match c {
            ';' => out.push(Vec::new()),
            '"' => {
                let end = chars[i + 1..].iter().position(|&q| q == '"')? + i + 1;
                section.push(Token::Literal(chars[i + 1..end].iter().collect()));
                i = end;
            }
            '\\' => {
                section.push(Token::Literal(chars.get(i + 1)?.to_string()));
                i += 1;
            }
            '_' => {
                // `_x`: a space as wide as x. Saved as text, it is a space.
                chars.get(i + 1)?;
                section.push(Token::Literal(" ".into()));
                i += 1;
            }
            '[' => {
                let end = chars[i..].iter().position(|&b| b == ']')? + i;
                let inner: String = chars[i + 1..end].iter().collect();
                if let Some(cur) = inner.strip_prefix('$') {
                    let symbol = cur.split('-').next().unwrap_or("");
                    if !symbol.is_empty() {
                        section.push(Token::Currency(symbol.to_string()));
                    }
                } else if !inner.chars().all(|c| c.is_ascii_alphabetic()) {
                    // `[h]` elapsed time, `[>=100]` conditions.
                    return None;
                } else if matches!(
                    inner.to_ascii_lowercase().as_str(),
                    "h" | "hh" | "m" | "mm" | "s" | "ss"
                ) {
                    return None;
                }
                // Otherwise a colour: it does not change the text.
                i = end;
            }
            'A' | 'a'
                if chars[i..]
                    .iter()
                    .take(5)
                    .collect::<String>()
                    .eq_ignore_ascii_case("am/pm") =>
            {
                section.push(Token::AmPm { upper: c == 'A' });
                i += 4;
            }
            '0' | '#' | '?' | ',' | '.' => section.push(Token::Number(c)),
            '%' => section.push(Token::Percent),
            c if c.is_ascii_alphabetic() => {
                let lower = c.to_ascii_lowercase();
                let mut n = 1;
                while chars
                    .get(i + n)
                    .is_some_and(|d| d.to_ascii_lowercase() == lower)
                {
                    n += 1;
                }
                section.push(Token::Run(lower, n));
                i += n - 1;
            }
            '*' => return None,
            c => section.push(Token::Literal(c.to_string())),
        }
        i += 1;
    }
    Some(out)
}

/// The format `code` shows values of kind `shows` in; `None` when it is the plain form or
/// cannot be written back (see the module doc).
pub(crate) fn shown_format(code: &str, shows: Shows) -> Option<SourceFormat> {
    let sections = sections(code)?;
    let first = sections.first()?;
    let format = match shows {
        Shows::Number => {
            // A negative section is fine only as the first one with a leading minus, and a
            // zero section only as the first one.
            if let Some(neg) = sections.get(1) {
                let mut minus_first = vec![Token::Literal("-".into())];
                minus_first.extend(first.iter().cloned());
                if *neg != minus_first || sections[2..].iter().any(|z| z != first) {
                    return None;
                }
            }
            number_format(first)?
        }
        _ => {
            if sections.len() > 1 {
                return None;
            }
            SourceFormat {
                pattern: Some(date_pattern(first, shows)?),
                ..SourceFormat::default()
            }
        }
    };
    (format != SourceFormat::default()).then_some(format)
}

fn number_format(tokens: &[Token]) -> Option<SourceFormat> {
    let first_digit = tokens.iter().position(|t| matches!(t, Token::Number(_)))?;
    let last_digit = tokens.iter().rposition(|t| matches!(t, Token::Number(_)))?;
    let body: String = tokens[first_digit..=last_digit]
        .iter()
        .map(|t| match t {
            Token::Number(c) => Some(*c),
            _ => None,
        })
        .collect::<Option<String>>()?;
    let (int, frac) = body.split_once('.').unwrap_or((&body, ""));
    // A trailing comma divides by 1,000; a second point or a comma after it is not a number.
    if int.ends_with(',') || frac.contains([',', '.']) || !int.contains(['0', '#', '?']) {
        return None;
    }
    let mut f = SourceFormat {
        thousands: int.contains(',').then_some(','),
        decimals: Some(frac.chars().filter(|&c| c == '0').count() as u32).filter(|&n| n > 0),
        ..SourceFormat::default()
    };
    let mut after = &tokens[last_digit + 1..];
    if let Some(p) = after.iter().position(|t| *t == Token::Percent) {
        // `0.0%`, `0 %`: only spaces before the sign, nothing after it.
        f.percent = true;
        f.percent_gap = literal_text(&after[..p]).filter(|g| g.trim().is_empty())?;
        if p + 1 != after.len() {
            return None;
        }
        after = &[];
    }
    let before = currency_beside(&tokens[..first_digit], true)?;
    let after = currency_beside(after, false)?;
    match (before, after) {
        (Some(_), Some(_)) => return None,
        (Some((c, gap)), None) => (f.currency, f.currency_gap) = (Some(c), gap),
        (None, Some((c, gap))) => {
            (f.currency, f.currency_after, f.currency_gap) = (Some(c), true, gap)
        }
        (None, None) => {}
    }
    if f.percent && f.currency.is_some() {
        return None;
    }
    Some(f)
}

/// The text of `tokens` if all are literal.
fn literal_text(tokens: &[Token]) -> Option<String> {
    tokens
        .iter()
        .map(|t| match t {
            Token::Literal(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

/// What stands before (`leading`) or after the number: nothing (`Some(None)`), or a currency
/// and the spaces between it and the number (`Some(Some((currency, gap)))`). `None` for anything
/// else: other text, or spaces on the far side of the currency, which are not written back.
fn currency_beside(tokens: &[Token], leading: bool) -> Option<Option<(String, String)>> {
    let mut text = String::new();
    let mut bracket: Option<(String, usize)> = None;
    for t in tokens {
        match t {
            Token::Literal(s) => text.push_str(s),
            Token::Currency(c) if bracket.is_none() => bracket = Some((c.clone(), text.len())),
            _ => return None,
        }
    }
    let (currency, far, gap) = match bracket {
        Some((c, at)) => {
            let (pre, post) = text.split_at(at);
            let (far, gap) = if leading { (pre, post) } else { (post, pre) };
            (c, far.to_string(), gap.to_string())
        }
        None if text.is_empty() => return Some(None),
        None => {
            let marker = text.trim();
            currency_of_marker(marker)?;
            let at = text.find(marker)?;
            let (pre, post) = (&text[..at], &text[at + marker.len()..]);
            let (far, gap) = if leading { (pre, post) } else { (post, pre) };
            (marker.to_string(), far.to_string(), gap.to_string())
        }
    };
    (far.is_empty() && gap.chars().all(char::is_whitespace)).then_some(Some((currency, gap)))
}

/// The `%`-pattern of a date or time code, `None` if a part has no specifier or the pattern
/// would not hold the whole value (a date needs year, month and day; a time hours and minutes).
fn date_pattern(tokens: &[Token], shows: Shows) -> Option<String> {
    let twelve = tokens.iter().any(|t| matches!(t, Token::AmPm { .. }));
    let runs: Vec<usize> = (0..tokens.len())
        .filter(|&i| matches!(tokens[i], Token::Run(..)))
        .collect();
    let mut out = String::new();
    let (mut year, mut month, mut day, mut hour, mut minute) = (false, false, false, false, false);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Literal(s) => out.push_str(&s.replace('%', "%%")),
            Token::Number('.') | Token::Number(',') => {
                out.push(if *t == Token::Number('.') { '.' } else { ',' })
            }
            Token::AmPm { upper } => out.push_str(if *upper { "%p" } else { "%P" }),
            Token::Run(c, n) => {
                // `m` is minutes right after an hour or right before seconds.
                let pos = runs.iter().position(|&r| r == i)?;
                let prev = pos.checked_sub(1).map(|p| &tokens[runs[p]]);
                let next = runs.get(pos + 1).map(|&r| &tokens[r]);
                let minutes = *c == 'm'
                    && (matches!(prev, Some(Token::Run('h', _)))
                        || matches!(next, Some(Token::Run('s', _))));
                let spec = match (c, n) {
                    ('y', 3 | 4) => {
                        year = true;
                        "%Y"
                    }
                    ('m', 1 | 2) if minutes => {
                        minute = true;
                        if *n == 2 {
                            "%M"
                        } else {
                            return None;
                        }
                    }
                    ('m', 1) => "%-m",
                    ('m', 2) => "%m",
                    ('m', 3) => "%b",
                    ('m', 4) => "%B",
                    ('d', 1) => "%-d",
                    ('d', 2) => "%d",
                    ('h', 1) if twelve => "%-I",
                    ('h', 2) if twelve => "%I",
                    ('h', 1) => "%-H",
                    ('h', 2) => "%H",
                    ('s', 2) => "%S",
                    _ => return None,
                };
                match c {
                    'm' if !minutes => month = true,
                    'd' => day = true,
                    'h' => hour = true,
                    _ => {}
                }
                out.push_str(spec);
            }
            _ => return None,
        }
    }
    let date = year && month && day;
    let time = hour && minute;
    let whole = match shows {
        Shows::Date => date && !hour,
        Shows::Time => time && !(year || month || day),
        Shows::DateTime => date && time,
        Shows::Number => false,
    };
    whole.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(code: &str) -> Option<SourceFormat> {
        shown_format(code, Shows::Number)
    }

    fn pattern(code: &str, shows: Shows) -> Option<String> {
        shown_format(code, shows).and_then(|f| f.pattern)
    }

    #[test]
    fn number_codes_become_currency_grouping_decimals_and_percent() {
        let us = number(r##""$"#,##0.00"##).unwrap();
        assert_eq!(
            (us.currency.as_deref(), us.thousands, us.decimals),
            (Some("$"), Some(','), Some(2))
        );
        assert!(!us.currency_after);
        let eur = number(r##"#,##0.00\ "€""##).unwrap();
        assert_eq!(
            (
                eur.currency.as_deref(),
                eur.currency_after,
                eur.currency_gap.as_str()
            ),
            (Some("€"), true, " ")
        );
        let bracket = number("[$€-407] #,##0").unwrap();
        assert_eq!(
            (
                bracket.currency.as_deref(),
                bracket.currency_gap.as_str(),
                bracket.decimals
            ),
            (Some("€"), " ", None)
        );
        assert_eq!(number("£#,##0").unwrap().currency.as_deref(), Some("£"));
        let pct = number("0.0%").unwrap();
        assert_eq!((pct.percent, pct.decimals), (true, Some(1)));
        assert_eq!(number("#,##0").unwrap().thousands, Some(','));
        assert_eq!(number("0.00").unwrap().decimals, Some(2));
        assert_eq!(
            number("#,##0;-#,##0").unwrap().thousands,
            Some(','),
            "a plain minus section"
        );
        assert_eq!(
            number("[Red]0.00").unwrap().decimals,
            Some(2),
            "a colour changes no text"
        );
    }

    #[test]
    fn number_codes_that_cannot_be_written_back_are_none() {
        for code in [
            "General",
            "0",
            "@",
            "0.00E+00",
            "#,##0,",
            "# ?/?",
            r##"0.00" kg""##,
            "[>=100]0",
            "_(* #,##0_)",
            r##""$"#,##0.00;("$"#,##0.00)"##,
            "#,##0.00;[Red]#,##0.00",
            r##""$"0%"##,
        ] {
            assert_eq!(number(code), None, "{code}");
        }
    }

    #[test]
    fn date_codes_become_patterns_that_hold_the_whole_value() {
        assert_eq!(
            pattern("dd/mm/yyyy", Shows::Date).as_deref(),
            Some("%d/%m/%Y")
        );
        assert_eq!(
            pattern("m/d/yyyy", Shows::Date).as_deref(),
            Some("%-m/%-d/%Y")
        );
        assert_eq!(
            pattern("yyyy-mm-dd", Shows::Date).as_deref(),
            Some("%Y-%m-%d")
        );
        assert_eq!(
            pattern("mmm d, yyyy", Shows::Date).as_deref(),
            Some("%b %-d, %Y")
        );
        assert_eq!(
            pattern("d. mmmm yyyy", Shows::Date).as_deref(),
            Some("%-d. %B %Y")
        );
        assert_eq!(
            pattern("[$-409]h:mm AM/PM", Shows::Time).as_deref(),
            Some("%-I:%M %p")
        );
        assert_eq!(
            pattern("hh:mm:ss", Shows::Time).as_deref(),
            Some("%H:%M:%S")
        );
        assert_eq!(pattern("h:mm", Shows::Time).as_deref(), Some("%-H:%M"));
        assert_eq!(
            pattern("m/d/yyyy h:mm", Shows::DateTime).as_deref(),
            Some("%-m/%-d/%Y %-H:%M")
        );
        assert_eq!(
            pattern(r##"yyyy-mm-dd"T"hh:mm:ss"##, Shows::DateTime).as_deref(),
            Some("%Y-%m-%dT%H:%M:%S")
        );
        for (code, shows) in [
            ("d-mmm-yy", Shows::Date),
            ("mmm-yyyy", Shows::Date),
            ("dddd, mmmm d, yyyy", Shows::Date),
            ("[h]:mm:ss", Shows::Time),
            ("mm:ss", Shows::Time),
            ("h:m", Shows::Time),
            ("hh:mm:ss.000", Shows::Time),
            ("dd/mm/yyyy", Shows::DateTime),
        ] {
            assert_eq!(pattern(code, shows), None, "{code}");
        }
    }

    #[test]
    fn builtin_ids_have_their_en_us_codes() {
        assert_eq!(
            builtin_code(14)
                .and_then(|c| pattern(c, Shows::Date))
                .as_deref(),
            Some("%-m/%-d/%Y")
        );
        assert_eq!(
            builtin_code(22)
                .and_then(|c| pattern(c, Shows::DateTime))
                .as_deref(),
            Some("%-m/%-d/%Y %-H:%M")
        );
        assert_eq!(
            builtin_code(10)
                .and_then(number)
                .map(|f| (f.percent, f.decimals)),
            Some((true, Some(2)))
        );
        assert_eq!(
            builtin_code(1).and_then(number),
            None,
            "0 is the plain form"
        );
        assert_eq!(builtin_code(7), None, "locale currency");
    }
}
