//! The read routes `GET /api/data/{client_id}`, `/count` and `/schema`: query string →
//! validated RPC arguments (the parse stage), one database call, the page.
//!
//! Design decision: this module is the read side's one seam. [`DataQuery`] is today's language
//! (`limit`, `table`, `cursor`, field equality); the query-language crate replaces its `parse`
//! and `rows_args`/`count_args` without touching `app` or `db`. The cursor is base64url of
//! `[created_at, id]`, the keyset the database orders by (`created_at desc, id desc`); clients
//! must treat it as opaque so its encoding may change.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::api::Reply;
use crate::db::{self, DataRow, Rpc, Who};
use crate::error::{ApiError, ErrorCode};

/// `GET /api/data/{client_id}`: one page, newest first.
pub async fn rows(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let q = DataQuery::parse(pairs)?;
    let rows = db::data_page(rpc, who, &q.rows_args(client_id)).await?;
    // Only an empty page needs telling apart from "not your client".
    if rows.is_empty() {
        db::client_schemas(rpc, who, client_id).await?;
    }
    Ok(Reply::ok(render_page(rows, q.limit)))
}

/// `GET /api/data/{client_id}/count`.
pub async fn count(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let q = DataQuery::parse(pairs)?;
    if q.cursor.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "cursor does not apply to a count",
        ));
    }
    let count = db::data_count(rpc, who, &q.count_args(client_id)).await?;
    if count == 0 {
        db::client_schemas(rpc, who, client_id).await?;
    }
    Ok(Reply::ok(json!({ "count": count })))
}

/// `GET /api/data/{client_id}/schema`: the client's tables and their schemas.
pub async fn schema(rpc: &impl Rpc, who: Who<'_>, client_id: &str) -> Result<Reply, ApiError> {
    let tables = db::client_schemas(rpc, who, client_id).await?;
    Ok(Reply::ok(json!({"client_id": client_id, "tables": tables})))
}

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub created_at: String,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(json!([self.created_at, self.id]).to_string())
    }

    pub fn decode(s: &str) -> Result<Cursor, ApiError> {
        let invalid = || {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "cursor is not one this API returned",
            )
            .with_hint("pass next_cursor from a previous page unchanged")
        };
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        match v.as_array().map(Vec::as_slice) {
            Some([Value::String(ts), id]) => {
                let plausible_ts = ts.len() <= 40
                    && ts.starts_with(|c: char| c.is_ascii_digit())
                    && ts
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || " :.+-".contains(c));
                match id.as_i64() {
                    Some(id) if plausible_ts => Ok(Cursor {
                        created_at: ts.clone(),
                        id,
                    }),
                    _ => Err(invalid()),
                }
            }
            _ => Err(invalid()),
        }
    }
}

/// The decoded `key=value` pairs of a request URL's query string, in order.
///
/// Hand-written rather than `url::Url` because the `url` crate (IDNA, Unicode tables) would be
/// the largest single thing in the Worker's wasm. Invalid UTF-8 after decoding is replaced.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let Some((_, query)) = without_fragment.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What `GET /api/data/{id}` and `/count` were asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataQuery {
    pub limit: u32,
    pub table: Option<String>,
    pub cursor: Option<Cursor>,
    /// `{field: "text"}` → `p_filter`; empty means no filter.
    pub filter: Map<String, Value>,
}

impl DataQuery {
    /// `pairs` are the decoded query parameters in order. `limit`, `table` and `cursor` have
    /// their own meaning; every other parameter is a field filter.
    pub fn parse(pairs: &[(String, String)]) -> Result<DataQuery, ApiError> {
        let mut q = DataQuery {
            limit: DEFAULT_LIMIT,
            ..DataQuery::default()
        };
        let mut seen = std::collections::HashSet::new();
        for (key, value) in pairs {
            if !seen.insert(key.as_str()) {
                return Err(ApiError::new(
                    ErrorCode::DuplicateParameter,
                    format!("query parameter `{key}` is given more than once"),
                ));
            }
            match key.as_str() {
                "limit" => {
                    q.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::new(
                                ErrorCode::InvalidLimit,
                                format!(
                                    "limit must be an integer from 1 to {MAX_LIMIT}, got `{value}`"
                                ),
                            )
                        })?;
                }
                "table" => {
                    if value.is_empty() || value.len() > 63 {
                        return Err(ApiError::new(
                            ErrorCode::InvalidParameter,
                            "table must be a table name of 1 to 63 characters",
                        ));
                    }
                    q.table = Some(value.clone());
                }
                "cursor" => q.cursor = Some(Cursor::decode(value)?),
                "" => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "a filter needs a field name (`?field=value`)",
                    ))
                }
                field => {
                    q.filter
                        .insert(field.to_owned(), Value::String(value.clone()));
                }
            }
        }
        Ok(q)
    }

    /// Arguments of `get_client_data_filtered`.
    pub fn rows_args(&self, client_id: &str) -> Value {
        json!({
            "p_client_id": client_id,
            "p_table_name": self.table,
            "p_limit": self.limit,
            "p_filter": self.filter_arg(),
            "p_after_created_at": self.cursor.as_ref().map(|c| &c.created_at),
            "p_after_id": self.cursor.as_ref().map(|c| c.id),
        })
    }

    /// Arguments of `get_client_data_count` (limit and cursor do not apply to a count).
    pub fn count_args(&self, client_id: &str) -> Value {
        json!({
            "p_client_id": client_id,
            "p_table_name": self.table,
            "p_filter": self.filter_arg(),
        })
    }

    fn filter_arg(&self) -> Value {
        if self.filter.is_empty() {
            Value::Null
        } else {
            Value::Object(self.filter.clone())
        }
    }
}

/// Shapes RPC rows into the public page: `{data: [{id, table_name, created_at, data}], next_cursor}`.
/// A full page gets a cursor after its last row; a short page is the end.
pub fn render_page(rows: Vec<DataRow>, limit: u32) -> Value {
    let full = rows.len() as u64 >= u64::from(limit);
    let next_cursor = rows.last().filter(|_| full).map(|last| {
        Cursor {
            created_at: last.created_at.clone(),
            id: last.id,
        }
        .encode()
    });
    let data: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id,
                "table_name": row.table_name,
                "created_at": row.created_at,
                "data": row.data,
            })
        })
        .collect();
    json!({"data": data, "next_cursor": next_cursor})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_string_decoding() {
        assert_eq!(query_pairs("http://h/p"), vec![]);
        assert_eq!(
            query_pairs("http://h/p?limit=5&name=J%C3%BCrgen+M&empty=&flag&x=a%3Db#frag"),
            pairs(&[
                ("limit", "5"),
                ("name", "Jürgen M"),
                ("empty", ""),
                ("flag", ""),
                ("x", "a=b")
            ])
        );
        assert_eq!(
            query_pairs("http://h/?a=%zz&b=%4"),
            pairs(&[("a", "%zz"), ("b", "%4")])
        );
    }

    #[test]
    fn defaults() {
        let q = DataQuery::parse(&[]).unwrap();
        assert_eq!(q.limit, 100);
        assert_eq!(q.rows_args("c")["p_filter"], Value::Null);
        assert_eq!(q.rows_args("c")["p_after_id"], Value::Null);
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(
            DataQuery::parse(&pairs(&[("limit", "1000")]))
                .unwrap()
                .limit,
            1000
        );
        assert_eq!(
            DataQuery::parse(&pairs(&[("limit", "1")])).unwrap().limit,
            1
        );
        for bad in ["0", "1001", "-1", "ten", ""] {
            let e = DataQuery::parse(&pairs(&[("limit", bad)])).unwrap_err();
            assert_eq!(
                (e.status(), e.code),
                (400, ErrorCode::InvalidLimit),
                "{bad}"
            );
        }
    }

    #[test]
    fn filters_table_and_cursor() {
        let c = Cursor {
            created_at: "2025-01-02T03:04:05.123456+00:00".into(),
            id: 42,
        };
        let q = DataQuery::parse(&pairs(&[
            ("table", "client_ab12cd34_sales"),
            ("region", "north"),
            ("cursor", &c.encode()),
            ("status", "paid"),
        ]))
        .unwrap();
        let args = q.rows_args("cid");
        assert_eq!(args["p_table_name"], "client_ab12cd34_sales");
        assert_eq!(
            args["p_filter"],
            json!({"region": "north", "status": "paid"})
        );
        assert_eq!(args["p_after_created_at"], c.created_at.as_str());
        assert_eq!(args["p_after_id"], 42);
        let count = q.count_args("cid");
        assert_eq!(
            count["p_filter"],
            json!({"region": "north", "status": "paid"})
        );
        assert!(count.get("p_limit").is_none());
    }

    #[test]
    fn duplicate_parameters_are_rejected() {
        let e = DataQuery::parse(&pairs(&[("a", "1"), ("a", "2")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateParameter);
    }

    #[test]
    fn cursor_round_trip_and_tampering() {
        let c = Cursor {
            created_at: "2025-01-02T03:04:05+00:00".into(),
            id: 7,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let forged = URL_SAFE_NO_PAD.encode(r#"["'; drop table x",1]"#);
        for bad in ["", "!!!", "bm90IGpzb24", forged.as_str()] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().code,
                ErrorCode::InvalidCursor,
                "{bad}"
            );
        }
    }

    #[test]
    fn page_cursor_only_when_full() {
        let row = |id: i64| DataRow {
            id,
            table_name: "t".into(),
            data: json!({ "a": id }),
            created_at: "2025-01-01T00:00:00+00:00".into(),
        };
        let page = render_page(vec![row(3), row(2)], 2);
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        assert!(page["data"][0].get("client_id").is_none());
        let next = Cursor::decode(page["next_cursor"].as_str().unwrap()).unwrap();
        assert_eq!(next.id, 2);
        let last = render_page(vec![row(1)], 2);
        assert_eq!(last["next_cursor"], Value::Null);
        assert_eq!(
            render_page(vec![], 5),
            json!({"data": [], "next_cursor": null})
        );
    }
}
