//! One cleaned row: its values in column order, with the column keys held once per table.
//!
//! Design decision: a row is one text buffer holding its cells' texts (a string's characters
//! unescaped, a number's JSON digits) plus one small tagged slot per cell (null, boolean, or a
//! byte range of that buffer), with a shared pointer to its table's [`Keys`] (which also hold
//! each key's JSON text, `"key":`, made once). Building, dropping and writing a row then cost
//! two allocations, not one `serde_json::Value` (and with `arbitrary_precision` a `String`) per
//! cell, and [`Row::write_json`] escapes each text once, straight onto the output. Callers that
//! want `&Value`s (`get`, indexing, `values`) get them built once, on first use, and kept.
//! A row written as JSON has its keys in column order; as a JSON value, and in PostgreSQL's
//! `jsonb`, which does not keep key order, it is the same object.

use std::fmt;
use std::ops::Index;
use std::sync::{Arc, Mutex, OnceLock};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::values::NumValue;

/// The column keys of a table's rows, shared by every row built with them. Keys are unique.
#[derive(Clone)]
pub struct Keys(Arc<KeyList>);

impl PartialEq for Keys {
    fn eq(&self, other: &Keys) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.names == other.0.names
    }
}

struct KeyList {
    names: Vec<String>,
    /// `"name":` as JSON text, one per name.
    json: Vec<String>,
    /// The emptied buffers of dropped rows, for the next rows built with these keys: in the
    /// steady state of a stream (rows built, handed out, dropped) a row allocates nothing.
    spare: Mutex<Spare>,
}

#[derive(Default)]
struct Spare {
    buffers: Vec<(String, Vec<Slot>)>,
    /// Their capacity in bytes, kept under [`SPARE_BYTES`].
    bytes: usize,
}

/// At most this much capacity is held in spare row buffers per table (a stream's rows of one
/// 64 KiB chunk take about that much).
const SPARE_BYTES: usize = 1 << 20;

impl Keys {
    /// Keys from unique names (the caller keeps them unique, as a table's column keys are).
    pub fn new(names: Vec<String>) -> Keys {
        let json = names
            .iter()
            .map(|n| {
                let mut s = serde_json::to_string(n).unwrap_or_else(|_| "\"\"".to_owned());
                s.push(':');
                s
            })
            .collect();
        Keys(Arc::new(KeyList {
            names,
            json,
            spare: Mutex::new(Spare::default()),
        }))
    }

    pub fn len(&self) -> usize {
        self.0.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.names.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.names.iter().position(|n| n == key)
    }
}

/// One cleaned row: column key → typed JSON value (or the original text, or null), in column
/// order. Rows read before a column appeared (a ragged row added it) do not have its key.
#[derive(Clone)]
pub struct Row {
    keys: Keys,
    /// The texts of the `Number` and `Text` slots, back to back.
    text: String,
    slots: Vec<Slot>,
    /// Values no slot kind holds (JSON arrays and objects), in the order of their `Other` slots.
    others: Vec<Value>,
    /// The values as `serde_json::Value`s, built on first use by the `&Value` accessors.
    values: OnceLock<Vec<Value>>,
}

/// A cell: its kind and, for a number or text, where its text is in the row's buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Null,
    Bool(bool),
    /// A JSON number's text, every digit as stored.
    Number(u32, u32),
    /// A string, unescaped.
    Text(u32, u32),
    /// `others[i]`.
    Other(u32),
}

/// A borrowed view of one cell of a [`Row`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CellRef<'a> {
    Null,
    Bool(bool),
    /// A JSON number's text.
    Number(&'a str),
    Text(&'a str),
    /// An array or object.
    Other(&'a Value),
}

impl CellRef<'_> {
    /// The cell as a `serde_json::Value`; a number keeps its text (`arbitrary_precision`).
    pub(crate) fn to_value(self) -> Value {
        match self {
            CellRef::Null => Value::Null,
            CellRef::Bool(b) => Value::Bool(b),
            CellRef::Number(t) => t
                .parse::<serde_json::Number>()
                .map_or_else(|_| Value::String(t.to_owned()), Value::Number),
            CellRef::Text(t) => Value::String(t.to_owned()),
            CellRef::Other(v) => v.clone(),
        }
    }

    /// The cell as JSON text onto `out`: the bytes serde_json writes for its value.
    #[inline]
    fn write_json(self, out: &mut Vec<u8>) {
        match self {
            CellRef::Null => out.extend_from_slice(b"null"),
            CellRef::Bool(true) => out.extend_from_slice(b"true"),
            CellRef::Bool(false) => out.extend_from_slice(b"false"),
            CellRef::Number(t) => out.extend_from_slice(t.as_bytes()),
            CellRef::Text(t) => write_json_str(t, out),
            CellRef::Other(v) => {
                // A Value into a Vec cannot fail: no I/O, and its object keys are strings.
                let start = out.len();
                if serde_json::to_writer(&mut *out, v).is_err() {
                    out.truncate(start);
                    out.extend_from_slice(b"null");
                }
            }
        }
    }
}

/// `"…"` with serde_json's escapes (`\\"`, `\\\\`, `\\n`, `\\u0001`, …): its bytes for a string.
fn write_json_str(t: &str, out: &mut Vec<u8>) {
    // Most texts need no escape: one scan, one copy.
    if !needs_escape(t.as_bytes()) {
        out.reserve(t.len() + 2);
        out.push(b'"');
        out.extend_from_slice(t.as_bytes());
        out.push(b'"');
        return;
    }
    let start = out.len();
    if serde_json::to_writer(&mut *out, t).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// Whether `b` holds a byte JSON must escape (a control character, `"` or `\\`). Eight bytes at
/// a time: a false "yes" would only take serde_json's (exact) path, and there is no false "no".
#[inline]
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `v` below `n` (n ≤ 128) sets its high bit here.
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_le_bytes(w);
        if below(v, 0x20) | below(v ^ (ONES * 0x22), 1) | below(v ^ (ONES * 0x5c), 1) != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

impl Row {
    /// A row of `values`, one per key in order.
    ///
    /// # Panics
    /// When the counts differ.
    pub fn new(keys: Keys, values: Vec<Value>) -> Row {
        assert_eq!(keys.len(), values.len(), "one value per key");
        let mut row = Row::empty(keys, 0);
        for v in values {
            row.push_value(v);
        }
        row
    }

    /// A row with no cells yet, to be filled with `push_*` up to its keys' count; `text` is the
    /// buffer capacity to reserve.
    pub(crate) fn empty(keys: Keys, text: usize) -> Row {
        // A dropped row's buffers, emptied, when there are any (`try_lock`: never waits).
        let spare = keys.0.spare.try_lock().ok().and_then(|mut spare| {
            let (t, s) = spare.buffers.pop()?;
            spare.bytes -= buffer_bytes(&t, &s);
            Some((t, s))
        });
        if let Some((text, slots)) = spare {
            return Row {
                keys,
                text,
                slots,
                others: Vec::new(),
                values: OnceLock::new(),
            };
        }
        let slots = Vec::with_capacity(keys.len());
        Row {
            keys,
            text: String::with_capacity(text),
            slots,
            others: Vec::new(),
            values: OnceLock::new(),
        }
    }

    /// The bytes its texts take (to size the next row's buffer).
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The range of a text about to be appended, or `None` when the buffer would pass 4 GiB
    /// (the cell is then held as a `Value`).
    fn range(&self, len: usize) -> Option<(u32, u32)> {
        let start = u32::try_from(self.text.len()).ok()?;
        let end = u32::try_from(self.text.len() + len).ok()?;
        Some((start, end))
    }

    pub(crate) fn push_null(&mut self) {
        self.slots.push(Slot::Null);
    }

    pub(crate) fn push_bool(&mut self, b: bool) {
        self.slots.push(Slot::Bool(b));
    }

    /// A string cell.
    pub(crate) fn push_text(&mut self, t: &str) {
        match self.range(t.len()) {
            Some((s, e)) => {
                self.text.push_str(t);
                self.slots.push(Slot::Text(s, e));
            }
            None => self.push_other(Value::String(t.to_owned())),
        }
    }

    /// A number cell; `t` must be a JSON number's text (what `serde_json::Number` holds).
    pub(crate) fn push_number(&mut self, t: &str) {
        match self.range(t.len()) {
            Some((s, e)) => {
                self.text.push_str(t);
                self.slots.push(Slot::Number(s, e));
            }
            None => match t.parse::<serde_json::Number>() {
                Ok(n) => self.push_other(Value::Number(n)),
                Err(_) => self.push_other(Value::String(t.to_owned())),
            },
        }
    }

    /// A number cell of an integer, as `serde_json::Number::from(i64)` writes it.
    pub(crate) fn push_i64(&mut self, v: i64) {
        self.push_number(itoa::Buffer::new().format(v));
    }

    /// A number cell of a finite f64, as `serde_json::Number::from_f64` writes it (zmij, the
    /// formatter serde_json uses).
    pub(crate) fn push_f64(&mut self, f: f64) {
        self.push_number(zmij::Buffer::new().format_finite(f));
    }

    /// A recognised number's cell (null for one that is not stored as a number).
    pub(crate) fn push_num(&mut self, n: &NumValue) {
        match n {
            NumValue::None => self.push_null(),
            NumValue::Int(v) => self.push_i64(*v),
            NumValue::Float(f) => self.push_f64(*f),
            NumValue::Exact(n) => self.push_number(n.as_str()),
        }
    }

    /// Any value: strings, numbers, booleans and null into the buffer, the rest held whole.
    pub(crate) fn push_value(&mut self, v: Value) {
        match v {
            Value::Null => self.push_null(),
            Value::Bool(b) => self.push_bool(b),
            Value::Number(n) => self.push_number(n.as_str()),
            Value::String(s) => self.push_text(&s),
            other => self.push_other(other),
        }
    }

    fn push_other(&mut self, v: Value) {
        self.slots.push(Slot::Other(self.others.len() as u32));
        self.others.push(v);
    }

    /// The cell last pushed.
    pub(crate) fn last(&self) -> Option<CellRef<'_>> {
        self.slots.last().map(|s| self.view(*s))
    }

    #[inline]
    fn view(&self, slot: Slot) -> CellRef<'_> {
        match slot {
            Slot::Null => CellRef::Null,
            Slot::Bool(b) => CellRef::Bool(b),
            Slot::Number(s, e) => CellRef::Number(&self.text[s as usize..e as usize]),
            Slot::Text(s, e) => CellRef::Text(&self.text[s as usize..e as usize]),
            Slot::Other(i) => CellRef::Other(&self.others[i as usize]),
        }
    }

    fn cells(&self) -> impl ExactSizeIterator<Item = CellRef<'_>> + '_ {
        self.slots.iter().map(|s| self.view(*s))
    }

    /// A row with the keys and values of a JSON object, in its order.
    pub fn from_map(map: Map<String, Value>) -> Row {
        let (names, values) = map.into_iter().unzip();
        Row::new(Keys::new(names), values)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.position(key).map(|i| &self.values()[i])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.keys.position(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The keys, in column order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.keys.0.names.iter().map(String::as_str)
    }

    /// The values, in column order (built on the first call, then kept).
    pub fn values(&self) -> &[Value] {
        self.values
            .get_or_init(|| self.cells().map(CellRef::to_value).collect())
    }

    /// `(key, value)` pairs in column order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.keys().zip(self.values().iter())
    }

    /// The row as a JSON object.
    pub fn into_map(mut self) -> Map<String, Value> {
        let values = match self.values.take() {
            Some(v) => v,
            None => self.cells().map(CellRef::to_value).collect(),
        };
        self.keys.0.names.iter().cloned().zip(values).collect()
    }

    /// Appends the row as one JSON object to `out`: the same bytes as serializing it with
    /// serde_json, each key's text made once per table and each cell's text escaped here.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(self.text.len() + 8 * self.slots.len() + 2);
        out.push(b'{');
        for (i, (key, cell)) in self.keys.0.json.iter().zip(self.cells()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            cell.write_json(out);
        }
        out.push(b'}');
    }
}

fn buffer_bytes(text: &String, slots: &Vec<Slot>) -> usize {
    text.capacity() + slots.capacity() * std::mem::size_of::<Slot>()
}

/// A dropped row gives its buffers, emptied, to the next row of its table (up to
/// [`SPARE_BYTES`] of them; never waiting for the lock).
impl Drop for Row {
    fn drop(&mut self) {
        let bytes = buffer_bytes(&self.text, &self.slots);
        if self.slots.capacity() == 0 || bytes > SPARE_BYTES / 16 {
            return;
        }
        if let Ok(mut spare) = self.keys.0.spare.try_lock() {
            if spare.bytes + bytes <= SPARE_BYTES {
                let mut text = std::mem::take(&mut self.text);
                let mut slots = std::mem::take(&mut self.slots);
                text.clear();
                slots.clear();
                spare.bytes += bytes;
                spare.buffers.push((text, slots));
            }
        }
    }
}

impl From<Row> for Value {
    fn from(row: Row) -> Value {
        Value::Object(row.into_map())
    }
}

impl Index<&str> for Row {
    type Output = Value;

    /// The value of `key`.
    ///
    /// # Panics
    /// When the row has no such key (as indexing a `serde_json::Map` does).
    fn index(&self, key: &str) -> &Value {
        self.get(key)
            .unwrap_or_else(|| panic!("the row has no key {key:?}"))
    }
}

/// Rows are equal when they hold the same keys with the same values, in any order.
impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        if self.keys == other.keys {
            return self.len() == other.len()
                && self.cells().zip(other.cells()).all(|(a, b)| a == b);
        }
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// A row equals a JSON object with the same keys and values.
impl PartialEq<Map<String, Value>> for Row {
    fn eq(&self, other: &Map<String, Value>) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(pairs: &[(&str, Value)]) -> Row {
        Row::new(
            Keys::new(pairs.iter().map(|(k, _)| k.to_string()).collect()),
            pairs.iter().map(|(_, v)| v.clone()).collect(),
        )
    }

    #[test]
    fn written_json_is_serde_jsons_bytes_in_column_order() {
        let r = row(&[
            ("z\"q", json!("a\u{1}b\n")),
            ("a", Value::Null),
            ("ü", json!({"n": [1.5, true]})),
            ("n", serde_json::from_str("12.277999999999999").unwrap()),
        ]);
        let mut out = Vec::new();
        r.write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, serde_json::to_string(&r).unwrap());
        assert_eq!(
            text,
            r#"{"z\"q":"a\u0001b\n","a":null,"ü":{"n":[1.5,true]},"n":12.277999999999999}"#
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, Value::from(r));
    }

    #[test]
    fn equality_ignores_key_order_and_lookups_find_keys() {
        let a = row(&[("x", json!(1)), ("y", json!("t"))]);
        let b = row(&[("y", json!("t")), ("x", json!(1))]);
        assert_eq!(a, b);
        assert_ne!(a, row(&[("x", json!(1)), ("y", json!("u"))]));
        assert_ne!(a, row(&[("x", json!(1))]));
        assert_eq!(a, *json!({"y": "t", "x": 1}).as_object().unwrap());
        assert_ne!(a, *json!({"y": "t"}).as_object().unwrap());
        assert_eq!(a["y"], json!("t"));
        assert_eq!(a.get("nope"), None);
        assert_eq!(format!("{a:?}"), r#"{"x": Number(1), "y": String("t")}"#);
    }

    #[test]
    fn pushed_cells_write_serde_jsons_bytes_and_read_back_as_values() {
        let texts: Vec<String> = (0u32..0x80)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .chain(["", "plain", "é\u{2028}😀", "\"q\"", "\\"].map(String::from))
            .collect();
        let ints = [0i64, -1, 7, i64::MIN, i64::MAX, 9_007_199_254_740_992];
        let floats = [
            0.0f64,
            -0.0,
            1.5,
            -1e-7,
            1e20,
            1234.56,
            5e-324,
            1.7976931348623157e308,
        ];
        let keys = Keys::new(
            (0..texts.len() + ints.len() + floats.len() + 3)
                .map(|i| format!("k{i}"))
                .collect(),
        );
        let mut row = Row::empty(keys.clone(), 0);
        let mut want = Vec::new();
        for t in &texts {
            row.push_text(t);
            want.push(Value::String(t.clone()));
        }
        for i in ints {
            row.push_i64(i);
            want.push(Value::Number(i.into()));
        }
        for f in floats {
            row.push_f64(f);
            want.push(Value::Number(serde_json::Number::from_f64(f).unwrap()));
        }
        row.push_null();
        want.push(Value::Null);
        row.push_bool(false);
        want.push(Value::Bool(false));
        row.push_value(json!([1, {"a": "b"}]));
        want.push(json!([1, {"a": "b"}]));
        let mut out = Vec::new();
        row.write_json(&mut out);
        let from_values = Row::new(keys, want.clone());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&from_values).unwrap()
        );
        assert_eq!(row.values(), &want[..]);
        assert_eq!(row, from_values);
        assert_eq!(Value::from(row.clone()), Value::from(from_values));
    }

    #[test]
    fn the_escape_scan_finds_every_byte_json_escapes_at_every_position() {
        for len in 0..20 {
            let plain = vec![b'a'; len];
            assert!(!needs_escape(&plain));
            for at in 0..len {
                for b in 0u8..=255 {
                    let mut t = plain.clone();
                    t[at] = b;
                    let want = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escape(&t), want, "byte {b:#x} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn dropped_rows_lend_their_buffers_to_the_next_ones_up_to_a_bound() {
        let keys = Keys::new(vec!["a".into()]);
        let mut row = Row::empty(keys.clone(), 0);
        row.push_text(&"x".repeat(100));
        let ptr = row.text.as_ptr();
        drop(row);
        let again = Row::empty(keys.clone(), 0);
        assert_eq!(again.text.as_ptr(), ptr, "the spare buffer is reused");
        assert!(again.text.is_empty() && again.slots.is_empty());
        drop(again);
        // Many rows dropped at once: the spares stay under the bound.
        let rows: Vec<Row> = (0..5000)
            .map(|_| {
                let mut r = Row::empty(keys.clone(), 0);
                r.push_text(&"y".repeat(1000));
                r
            })
            .collect();
        drop(rows);
        let spare = keys.0.spare.lock().unwrap();
        assert!(spare.bytes <= SPARE_BYTES);
        assert_eq!(
            spare.bytes,
            spare
                .buffers
                .iter()
                .map(|(t, s)| buffer_bytes(t, s))
                .sum::<usize>()
        );
    }

    #[test]
    #[should_panic(expected = "no key")]
    fn indexing_a_missing_key_panics() {
        let _ = &row(&[("x", json!(1))])["y"];
    }
}
