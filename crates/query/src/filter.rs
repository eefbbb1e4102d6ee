//! Horizontal filters: `?field=[not.]op.value`, a bare `?field=value` (equality), and the logic
//! trees of `or=(…)`, `and=(…)`, `not.or=(…)`, `not.and=(…)` with nested `or(…)`/`and(…)`.
//!
//! Design decision: a hand-written recursive descent over the parameter's bytes (every delimiter
//! is ASCII, so slicing at them keeps UTF-8 intact), bounded by [`MAX_DEPTH`] so no input can
//! exhaust the stack; errors carry the 0-based character position in the parameter value.

use serde_json::{json, Value};

use crate::error::{at, QueryError};
use crate::hint::closest;

/// The operators a filter may use, as written in the query string.
pub const OPERATORS: [&str; 10] = [
    "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is",
];

/// PostgREST operators this API does not offer: named so that using one is an error, never a
/// silent equality with the text `fts.word`.
const UNSUPPORTED_OPERATORS: [&str; 15] = [
    "cs",
    "cd",
    "ov",
    "sl",
    "sr",
    "nxr",
    "nxl",
    "adj",
    "fts",
    "plfts",
    "phfts",
    "wfts",
    "match",
    "imatch",
    "isdistinct",
];

/// The values `is.` takes.
pub const IS_VALUES: [&str; 4] = ["null", "true", "false", "unknown"];

/// Nesting bound of `or(…)`/`and(…)` inside a logic tree (the tree itself is depth 1).
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    In,
    Is,
}

impl Op {
    pub fn parse(word: &str) -> Option<Op> {
        Some(match word {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "like" => Op::Like,
            "ilike" => Op::Ilike,
            "in" => Op::In,
            "is" => Op::Is,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        OPERATORS[self as usize]
    }
}

/// A condition's value: text as the user wrote it, or the texts of `in.(…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    List(Vec<String>),
}

/// The plan's `NODE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Condition {
        /// As the user wrote it: the SQL resolves it against keys, then header names.
        field: String,
        op: Op,
        value: FilterValue,
    },
}

impl Filter {
    /// `NODE` of docs/QUERY.md.
    pub fn to_json(&self) -> Value {
        match self {
            Filter::And(nodes) => {
                json!({"and": nodes.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Or(nodes) => {
                json!({"or": nodes.iter().map(Filter::to_json).collect::<Vec<_>>()})
            }
            Filter::Not(node) => json!({"not": node.to_json()}),
            Filter::Condition { field, op, value } => {
                let value = match value {
                    FilterValue::Text(t) => json!(t),
                    FilterValue::List(l) => json!(l),
                };
                json!({"field": field, "op": op.as_str(), "value": value})
            }
        }
    }

    /// Several top-level filters are all required: one node, or their `and`.
    pub(crate) fn all(mut nodes: Vec<Filter>) -> Option<Filter> {
        match nodes.len() {
            0 => None,
            1 => nodes.pop(),
            _ => Some(Filter::And(nodes)),
        }
    }
}

fn invalid_filter(param: &str, value: &str, byte: usize, message: impl Into<String>) -> QueryError {
    QueryError::new("invalid_filter", message).with_details(at(param, value, byte))
}

fn unknown_operator(param: &str, value: &str, byte: usize, word: &str) -> QueryError {
    let mut e = QueryError::new(
        "invalid_operator",
        format!(
            "`{word}` is not an operator; the operators are {}",
            OPERATORS.join(", ")
        ),
    )
    .with_details(json!({
        "parameter": param,
        "position": crate::error::char_position(value, byte),
        "op": word,
        "operators": OPERATORS,
    }));
    e.hint = Some(match closest(word, OPERATORS.iter().copied()) {
        Some(op) => format!(
            "did you mean `{op}`? (a value that contains a dot can be written `eq.<value>`)"
        ),
        None => {
            "write field=op.value, e.g. price=gte.10, or eq.<value> for a value that contains a dot"
                .into()
        }
    });
    e
}

/// An operator-looking typo (`gtt`, `ilke`, `new`) rather than a value: three or more lowercase
/// letters one edit away from an operator of three or more letters.
fn near_operator(word: &str) -> bool {
    word.len() >= 3
        && word.bytes().all(|b| b.is_ascii_lowercase())
        && OPERATORS
            .iter()
            .any(|op| op.len() >= 3 && strsim::levenshtein(word, op) == 1)
}

/// `?field=value`: `[not.]op.value`, or a bare value that means `eq`.
pub(crate) fn parse_field_filter(key: &str, value: &str) -> Result<Filter, QueryError> {
    // PostgREST's way to name a field that contains `.,:()`: `?"information.cpe"=like.*MS*`.
    let unquoted = crate::read::unquote(key, key, 0, key)?;
    let field = unquoted.as_str();
    if field.is_empty() {
        return Err(invalid_filter(
            field,
            value,
            0,
            "a filter parameter needs a field name before `=`",
        ));
    }
    let negated = value.starts_with("not.");
    let start = if negated { 4 } else { 0 };
    let rest = &value[start..];
    let word = rest.split_once('.').map(|(w, _)| w);
    let op = match word.map(|w| (w, Op::parse(w))) {
        Some((_, Some(op))) => op,
        Some((w, None)) if negated || UNSUPPORTED_OPERATORS.contains(&w) || near_operator(w) => {
            return Err(unknown_operator(field, value, start, w));
        }
        None if negated => return Err(unknown_operator(field, value, start, rest)),
        _ => {
            return Ok(Filter::Condition {
                field: field.to_string(),
                op: Op::Eq,
                value: FilterValue::Text(value.to_string()),
            })
        }
    };
    let value_start = start + op.as_str().len() + 1;
    let mut p = Parser::new(field, value, value_start);
    let parsed = match op {
        Op::In => {
            let list = p.list()?;
            if p.i < value.len() {
                return Err(p.error("unexpected text after the `)` that closes the `in` list"));
            }
            FilterValue::List(list)
        }
        Op::Is => FilterValue::Text(p.is_value(&value[value_start..])?),
        _ => FilterValue::Text(value[value_start..].to_string()),
    };
    let condition = Filter::Condition {
        field: field.to_string(),
        op,
        value: parsed,
    };
    Ok(if negated {
        Filter::Not(Box::new(condition))
    } else {
        condition
    })
}

/// `or=(…)`, `and=(…)`, `not.or=(…)`, `not.and=(…)`: `param` is the key as written.
pub(crate) fn parse_logic_param(param: &str, value: &str) -> Result<Filter, QueryError> {
    let (negated, kind) = match param {
        "or" => (false, "or"),
        "and" => (false, "and"),
        "not.or" => (true, "or"),
        "not.and" => (true, "and"),
        _ => unreachable!("only called for logic parameters"),
    };
    let mut p = Parser::new(param, value, 0);
    let node = p.tree(kind, 1)?;
    if p.i < value.len() {
        return Err(p.error(format!(
            "unexpected text after the `)` that closes `{param}`"
        )));
    }
    Ok(if negated {
        Filter::Not(Box::new(node))
    } else {
        node
    })
}

/// Is a parameter key one of the logic-tree parameters?
pub(crate) fn is_logic_param(key: &str) -> bool {
    matches!(key, "or" | "and" | "not.or" | "not.and")
}

struct Parser<'a> {
    param: &'a str,
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn new(param: &'a str, s: &'a str, i: usize) -> Self {
        Parser { param, s, i }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        self.error_at(self.i, message)
    }

    fn error_at(&self, byte: usize, message: impl Into<String>) -> QueryError {
        let message = format!(
            "{} (parameter `{}`, position {})",
            message.into(),
            self.param,
            crate::error::char_position(self.s, byte)
        );
        invalid_filter(self.param, self.s, byte, message)
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), QueryError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected {what}")))
        }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    /// `"…"` with `\` escaping the next character; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += k + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(self.error_at(open, "a double quote is not closed"))
    }

    /// Text up to the next `,` or `)`; `(` and `"` inside it must be quoted.
    fn unquoted(&mut self, what: &str) -> Result<String, QueryError> {
        let start = self.i;
        while let Some(b) = self.peek() {
            match b {
                b',' | b')' => break,
                b'(' | b'"' => {
                    return Err(self.error(format!(
                        "`{}` inside {what} must be within double quotes",
                        b as char
                    )))
                }
                _ => self.i += 1,
            }
        }
        Ok(self.s[start..self.i].to_string())
    }

    fn element(&mut self, what: &str) -> Result<String, QueryError> {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            self.unquoted(what)
        }
    }

    /// `(a,"b,c",d)`: the texts of an `in` list; `()` is the empty list.
    fn list(&mut self) -> Result<Vec<String>, QueryError> {
        let open = self.i;
        self.expect(b'(', "`(` to open the `in` list, as in in.(a,b)")?;
        let mut items = Vec::new();
        if self.peek() == Some(b')') {
            self.i += 1;
            return Ok(items);
        }
        loop {
            items.push(self.element("an `in` list value")?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(items);
                }
                None => return Err(self.error_at(open, "the `in` list's `(` is not closed")),
                Some(_) => return Err(self.error("expected `,` or `)` after an `in` list value")),
            }
        }
    }

    fn is_value(&self, word: &str) -> Result<String, QueryError> {
        let lower = word.to_ascii_lowercase();
        if IS_VALUES.contains(&lower.as_str()) {
            Ok(lower)
        } else {
            Err(QueryError::new(
                "invalid_filter",
                format!("`is` takes null, true, false or unknown, not `{word}`"),
            )
            .with_details(at(self.param, self.s, self.i)))
        }
    }

    /// `(item,item,…)` of an `or`/`and`; the cursor is on `(`.
    fn tree(&mut self, kind: &str, depth: usize) -> Result<Filter, QueryError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("logic trees nest at most {MAX_DEPTH} deep")));
        }
        let open = self.i;
        self.expect(
            b'(',
            &format!("`(` to open the `{kind}` list, as in {kind}=(a.eq.1,b.gt.2)"),
        )?;
        if self.peek() == Some(b')') {
            return Err(self.error(format!("`{kind}()` needs at least one condition")));
        }
        let mut nodes = Vec::new();
        loop {
            nodes.push(self.item(depth)?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    break;
                }
                None => {
                    return Err(self.error_at(open, format!("the `(` of `{kind}` is not closed")))
                }
                Some(_) => return Err(self.error("expected `,` or `)` after a condition")),
            }
        }
        Ok(if kind == "or" {
            Filter::Or(nodes)
        } else {
            Filter::And(nodes)
        })
    }

    /// A condition or a nested `[not.]or(…)` / `[not.]and(…)`.
    fn item(&mut self, depth: usize) -> Result<Filter, QueryError> {
        let rest = self.rest();
        let (negated, body) = match rest.strip_prefix("not.") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let nested = ["or", "and"]
            .into_iter()
            .find(|k| body.starts_with(k) && body.as_bytes().get(k.len()) == Some(&b'('));
        if let Some(kind) = nested {
            self.i += if negated { 4 } else { 0 } + kind.len();
            let node = self.tree(kind, depth + 1)?;
            return Ok(if negated {
                Filter::Not(Box::new(node))
            } else {
                node
            });
        }
        self.condition()
    }

    /// `field.[not.]op.value` inside a logic tree.
    fn condition(&mut self) -> Result<Filter, QueryError> {
        let start = self.i;
        let field = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            while let Some(b) = self.peek() {
                match b {
                    b'.' => break,
                    b',' | b')' | b'(' | b'"' => return Err(self.error(
                        "expected field.operator.value (quote a field name that contains `.,()`)",
                    )),
                    _ => self.i += 1,
                }
            }
            self.s[start..self.i].to_string()
        };
        if field.is_empty() {
            return Err(self.error_at(start, "a condition needs a field name, as in price.gt.10"));
        }
        self.expect(
            b'.',
            "`.` and an operator after the field name, as in price.gt.10",
        )?;
        let mut negated = false;
        let op = loop {
            let word_start = self.i;
            while matches!(self.peek(), Some(b) if b != b'.' && b != b',' && b != b')') {
                self.i += 1;
            }
            let word = &self.s[word_start..self.i];
            if word == "not" && !negated && self.peek() == Some(b'.') {
                negated = true;
                self.i += 1;
                continue;
            }
            match Op::parse(word) {
                Some(op) => break op,
                None => return Err(unknown_operator(self.param, self.s, word_start, word)),
            }
        };
        self.expect(b'.', &format!("`.` and a value after `{}`", op.as_str()))?;
        let value = match op {
            Op::In => FilterValue::List(self.list()?),
            Op::Is => {
                let word_start = self.i;
                let word = self.element("a value")?;
                let p = Parser::new(self.param, self.s, word_start);
                FilterValue::Text(p.is_value(&word)?)
            }
            _ => FilterValue::Text(self.element("a value")?),
        };
        let condition = Filter::Condition { field, op, value };
        Ok(if negated {
            Filter::Not(Box::new(condition))
        } else {
            condition
        })
    }
}
