//! One cleaned row: its values in column order, with the column keys held once per table.
//!
//! Design decision: a row is a `Vec` of values plus a shared pointer to its table's [`Keys`]
//! (which also hold each key's JSON text, `"key":`, made once), not a map with a copy of every
//! key: building, dropping and writing a row then cost one allocation for the values instead of
//! a B-tree node walk and a key copy per cell. A row written as JSON has its keys in column
//! order (a map written by serde_json had them sorted); as a JSON value, and in PostgreSQL's
//! `jsonb`, which does not keep key order, it is the same object.

use std::fmt;
use std::ops::Index;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The column keys of a table's rows, shared by every row built with them. Keys are unique.
#[derive(Clone, PartialEq)]
pub struct Keys(Arc<KeyList>);

#[derive(PartialEq)]
struct KeyList {
    names: Vec<String>,
    /// `"name":` as JSON text, one per name.
    json: Vec<String>,
}

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
        Keys(Arc::new(KeyList { names, json }))
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
    values: Vec<Value>,
}

impl Row {
    /// A row of `values`, one per key in order.
    ///
    /// # Panics
    /// When the counts differ.
    pub fn new(keys: Keys, values: Vec<Value>) -> Row {
        assert_eq!(keys.len(), values.len(), "one value per key");
        Row { keys, values }
    }

    /// A row with the keys and values of a JSON object, in its order.
    pub fn from_map(map: Map<String, Value>) -> Row {
        let (names, values) = map.into_iter().unzip();
        Row::new(Keys::new(names), values)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.position(key).map(|i| &self.values[i])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.keys.position(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The keys, in column order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.keys.0.names.iter().map(String::as_str)
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// `(key, value)` pairs in column order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.keys().zip(self.values.iter())
    }

    /// The row as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.keys.0.names.iter().cloned().zip(self.values).collect()
    }

    /// Appends the row as one JSON object to `out`: the same bytes as serializing it with
    /// serde_json, without escaping the keys again.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (key, value)) in self.keys.0.json.iter().zip(&self.values).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            // A Value into a Vec cannot fail: no I/O, and its object keys are strings.
            let start = out.len();
            if serde_json::to_writer(&mut *out, value).is_err() {
                out.truncate(start);
                out.extend_from_slice(b"null");
            }
        }
        out.push(b'}');
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
            return self.values == other.values;
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
    #[should_panic(expected = "no key")]
    fn indexing_a_missing_key_panics() {
        let _ = &row(&[("x", json!(1))])["y"];
    }
}
