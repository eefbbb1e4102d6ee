//! The read routes `GET /api/data/{client_id}`, `/count`, `/aggregate`, `/profile` and
//! `/schema`: the query string → a plan of `crates/query` (PostgREST's grammar) → one RPC → the
//! answer.
//!
//! Design decision: the Worker never interprets a field or a value. `crates/query` only shapes
//! the request; PostgreSQL resolves the names against the table's stored schema, types the
//! values and refuses what does not fit (`PT400`, mapped in `db`). Every read is one RPC: the
//! query functions raise `PT404` for a client the caller cannot see, so an empty page needs no
//! second call to tell "no rows" from "not yours". The cursor is the SQL answer's `next`,
//! base64url-encoded by `query::encode_cursor` and never looked into here. A page's rows are
//! passed on as the bytes the data API sent (`RawValue`): parsing them into a `Value` tree and
//! writing it out again was most of the Worker's own work on a read.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::api::Reply;
use crate::db::{self, QueryAnswer, Rpc, Who};
use crate::error::{ApiError, ErrorCode};

/// `GET /api/data/{client_id}`: one page, in file order unless `order=`, as JSON text.
pub async fn rows(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<String, ApiError> {
    let read = query::parse_read(pairs)?;
    if read.format.is_some() {
        return Err(not_here("format", "only the export has a format")
            .with_hint("GET /api/data/{client_id}/export?format=csv downloads the rows"));
    }
    let answer = db::query_data(rpc, who, client_id, &read.plan()).await?;
    Ok(render_page(answer))
}

/// `GET /api/data/{client_id}/count`: `{count}` of the rows the filters match, from the same
/// function as a page (`limit 0` and its count option): exact, or `count=estimated`.
pub async fn count(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let mut read = query::parse_read(pairs)?;
    for (given, name) in [
        (read.after.is_some(), "cursor"),
        (read.limit.is_some(), "limit"),
        (read.offset.is_some(), "offset"),
        (read.select.is_some(), "select"),
        (!read.order.is_empty(), "order"),
        (read.format.is_some(), "format"),
    ] {
        if given {
            return Err(not_here(name, "a count has no rows to page, pick or order"));
        }
    }
    read.limit = Some(0);
    read.count = Some(read.count.unwrap_or(query::CountKind::Exact));
    let answer: QueryAnswer<IgnoredAny> = db::query_data(rpc, who, client_id, &read.plan()).await?;
    let count = answer.total.ok_or_else(|| {
        ApiError::upstream_unavailable("query_client_data answered no total to a count")
    })?;
    Ok(Reply::ok(json!({ "count": count })))
}

/// `GET /api/data/{client_id}/aggregate`: groups and metrics over the rows the filters match.
pub async fn aggregate(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let request = query::parse_aggregate(pairs)?;
    let answer = db::aggregate_data(rpc, who, client_id, &request.plan()).await?;
    Ok(Reply::ok(answer))
}

/// `GET /api/data/{client_id}/profile?table=`: per column nulls, distinct estimate, min/max and
/// a histogram or top values, for charts. `table` may be left out when the client has one.
pub async fn profile(
    rpc: &impl Rpc,
    who: Who<'_>,
    client_id: &str,
    pairs: &[(String, String)],
) -> Result<Reply, ApiError> {
    let mut table = None;
    for (key, value) in pairs {
        match key.as_str() {
            "table" if table.is_some() => {
                return Err(ApiError::new(
                    ErrorCode::DuplicateParameter,
                    "query parameter `table` is given more than once",
                )
                .with_details(json!({"parameter": "table"})))
            }
            "table" if value.is_empty() || value.chars().count() > query::MAX_TABLE_LEN => {
                return Err(ApiError::new(
                    ErrorCode::InvalidTable,
                    format!(
                        "table must be a table name of 1 to {} characters",
                        query::MAX_TABLE_LEN
                    ),
                )
                .with_details(json!({"parameter": "table"})))
            }
            "table" => table = Some(value.as_str()),
            other => {
                let mut e = ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("`{other}` is not a parameter of the profile; it takes only `table`"),
                )
                .with_details(json!({"parameter": other, "parameters": ["table"]}));
                if query::closest(other, ["table"]).is_some() {
                    e = e.with_hint("did you mean `table`?");
                }
                return Err(e);
            }
        }
    }
    let answer = db::profile_table(rpc, who, client_id, table).await?;
    Ok(Reply::ok(answer))
}

/// `GET /api/data/{client_id}/schema`: the client's tables, their stored schemas, and each as a
/// JSON Schema (draft 2020-12) of one row's `data` (`json_schema`), for typed frontends.
pub async fn schema(rpc: &impl Rpc, who: Who<'_>, client_id: &str) -> Result<Reply, ApiError> {
    let tables = db::client_schemas(rpc, who, client_id).await?;
    let tables: Vec<Value> = tables
        .into_iter()
        .map(|t| {
            let json_schema = query::json_schema(&t.schema_def, &t.table_name);
            let mut v = json!(t);
            v["json_schema"] = json_schema;
            v
        })
        .collect();
    Ok(Reply::ok(json!({"client_id": client_id, "tables": tables})))
}

/// A read parameter that exists but does not apply to this route.
pub fn not_here(parameter: &str, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameter,
        format!("`{parameter}` does not apply here: {why}"),
    )
    .with_details(json!({ "parameter": parameter }))
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

/// Shapes `query_client_data`'s answer into the public page: `{data: [{id, table_name,
/// created_at, data}], next_cursor, table}`, plus `total` and `total_kind` when `count=` asked.
/// `next_cursor` is null on the last page. `data` is the answer's `rows` as they came (the SQL
/// builds exactly those four keys per row); only the small rest is built here.
pub fn render_page(answer: QueryAnswer<Box<RawValue>>) -> String {
    let next_cursor = answer.next.as_ref().map(query::encode_cursor);
    let mut rest = json!({"next_cursor": next_cursor, "table": answer.table});
    if let Some(kind) = answer.total_kind {
        rest["total"] = json!(answer.total);
        rest["total_kind"] = json!(kind);
    }
    // `rest` is an object with at least two keys: `{"next_cursor":…}` minus its `{`.
    let rest = rest.to_string();
    format!("{{\"data\":{},{}", answer.rows.get(), &rest[1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::{block_on, pg_error, FakeRpc};

    /// A page route's answer, parsed back.
    fn page_of(text: String) -> Value {
        serde_json::from_str(&text).expect("a page is JSON")
    }

    const CLIENT: &str = "0b6a4c1e-7f2d-4a9b-8c3e-1d2f3a4b5c6d";
    const WHO: Who<'static> = Who::Client { token: "t" };

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn page_answer(ids: &[i64], next: Option<Value>) -> Value {
        json!({
            "table": "client_0b6a4c1e_sales",
            "rows": ids.iter().map(|id| json!({"id": id, "table_name": "client_0b6a4c1e_sales",
                "created_at": "2025-01-01T00:00:00+00:00", "data": {"n": id}})).collect::<Vec<_>>(),
            "next": next, "total": null, "total_kind": null,
        })
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
    fn a_read_is_one_rpc_even_when_the_page_is_empty() {
        // Before: get_client_data_filtered, then get_client_schemas to tell an empty page from
        // "not your client". Now query_client_data raises PT404 itself.
        for ids in [&[1, 2][..], &[][..]] {
            let rpc =
                FakeRpc::new().on("query_client_data", move |_, _| Ok(page_answer(ids, None)));
            let q = pairs(&[("price", "gt.10"), ("order", "price.desc"), ("limit", "2")]);
            let page = page_of(block_on(rows(&rpc, WHO, CLIENT, &q)).unwrap());
            assert_eq!(rpc.names(), ["query_client_data"]);
            assert_eq!(page["data"].as_array().unwrap().len(), ids.len());
            let args = &rpc.calls.borrow()[0].args;
            assert_eq!(args["p_client_id"], CLIENT);
            assert_eq!(
                args["p_query"]["filter"],
                json!({"field": "price", "op": "gt", "value": "10"})
            );
            assert_eq!(
                args["p_query"]["order"],
                json!([{"field": "price", "dir": "desc"}])
            );
            assert_eq!(args["p_query"]["limit"], 2);
        }
        let rpc = FakeRpc::new().on("query_client_data", |_, _| {
            Err(pg_error(404, "PT404", "client x not found"))
        });
        let e = block_on(rows(&rpc, WHO, CLIENT, &[])).unwrap_err();
        assert_eq!((e.status(), e.code), (404, ErrorCode::ClientNotFound));
        assert_eq!(rpc.names().len(), 1);
    }

    #[test]
    fn the_cursor_is_the_answers_next_and_goes_back_unchanged() {
        let next = json!({"o": ["2025-01-01T00:00:00+00:00"], "id": 2, "k": "abc"});
        let answer = page_answer(&[1, 2], Some(next.clone()));
        let rpc = FakeRpc::new().on("query_client_data", move |_, _| Ok(answer.clone()));
        let page = page_of(block_on(rows(&rpc, WHO, CLIENT, &[])).unwrap());
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        assert_eq!(page["table"], "client_0b6a4c1e_sales");
        assert!(page.get("total").is_none(), "no total unless count= asks");
        block_on(rows(&rpc, WHO, CLIENT, &pairs(&[("cursor", &cursor)]))).unwrap();
        assert_eq!(rpc.calls.borrow()[1].args["p_query"]["after"], next);
        let last = block_on(rows(&rpc, WHO, CLIENT, &[]));
        assert!(last.is_ok());
    }

    #[test]
    fn a_page_passes_the_rows_on_as_they_came_and_adds_cursor_table_and_total() {
        // The bytes of the data API's rows, key order, spacing and numbers as written, are the
        // page's `data`; nothing of a row is re-serialised.
        let answer = r#"{"table": "t", "rows": [{"id": 7, "data": {"b": 1.50, "a": "x"}, "created_at": "2025-01-01T00:00:00+00:00", "table_name": "t"}], "next": {"o": [1], "id": 7, "k": "f"}, "total": 9, "total_kind": "exact"}"#;
        let rpc = FakeRpc::new().on("query_client_data", move |_, _| {
            Ok(serde_json::from_str::<Value>(answer).unwrap())
        });
        let text = block_on(rows(&rpc, WHO, CLIENT, &pairs(&[("count", "exact")]))).unwrap();
        // What the fake sent for `rows`, byte for byte, is the page's `data`.
        let sent = serde_json::from_str::<Value>(answer).unwrap()["rows"].to_string();
        assert!(text.starts_with(&format!("{{\"data\":{sent},")), "{text}");
        let page = page_of(text.clone());
        assert_eq!(page["data"][0]["data"]["a"], "x");
        assert_eq!(page["data"][0]["id"], 7);
        assert_eq!(page["table"], "t");
        assert_eq!(
            (page["total"].clone(), page["total_kind"].clone()),
            (json!(9), json!("exact"))
        );
        assert_eq!(
            query::decode_cursor(page["next_cursor"].as_str().unwrap()).unwrap(),
            json!({"o": [1], "id": 7, "k": "f"})
        );
        let keys: Vec<&String> = page.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["data", "next_cursor", "table", "total", "total_kind"]
        );
        let rpc = FakeRpc::new().on("query_client_data", |_, _| {
            Ok(json!({"table": null, "rows": [], "next": null, "total": null, "total_kind": null}))
        });
        let text = block_on(rows(&rpc, WHO, CLIENT, &[])).unwrap();
        assert_eq!(text, r#"{"data":[],"next_cursor":null,"table":null}"#);
    }

    #[test]
    fn count_is_the_totals_of_a_zero_row_page() {
        let rpc = FakeRpc::new().on("query_client_data", |args, _| {
            assert_eq!(args["p_query"]["limit"], 0);
            let kind = args["p_query"]["count"].clone();
            Ok(json!({"table": null, "rows": [], "next": null, "total": 7, "total_kind": kind}))
        });
        let reply = block_on(count(&rpc, WHO, CLIENT, &pairs(&[("status", "paid")]))).unwrap();
        assert_eq!(reply.body, json!({"count": 7}));
        assert_eq!(rpc.calls.borrow()[0].args["p_query"]["count"], "exact");
        block_on(count(&rpc, WHO, CLIENT, &pairs(&[("count", "estimated")]))).unwrap();
        assert_eq!(rpc.calls.borrow()[1].args["p_query"]["count"], "estimated");
        for p in ["cursor", "limit", "offset", "select", "order", "format"] {
            let value = if p == "cursor" {
                "eyJpZCI6MX0"
            } else if p == "format" {
                "csv"
            } else {
                "1"
            };
            let e = block_on(count(&rpc, WHO, CLIENT, &pairs(&[(p, value)]))).unwrap_err();
            assert_eq!(
                (e.status(), e.code),
                (400, ErrorCode::InvalidParameter),
                "{p}"
            );
        }
        assert_eq!(rpc.names().len(), 2, "refusals never reach the database");
    }

    #[test]
    fn parser_refusals_are_400_with_their_code_before_any_rpc() {
        let rpc = FakeRpc::new();
        for (q, code) in [
            (&[("limit", "1001")][..], ErrorCode::InvalidLimit),
            (&[("offset", "-1")][..], ErrorCode::InvalidOffset),
            (&[("price", "ilke.Ku*")][..], ErrorCode::InvalidOperator),
            (&[("or", "(a.eq.1")][..], ErrorCode::InvalidFilter),
            (&[("cursor", "!!!")][..], ErrorCode::InvalidCursor),
            (
                &[("limit", "1"), ("limit", "2")][..],
                ErrorCode::DuplicateParameter,
            ),
            (&[("format", "csv")][..], ErrorCode::InvalidParameter),
        ] {
            let e = block_on(rows(&rpc, WHO, CLIENT, &pairs(q))).unwrap_err();
            assert_eq!((e.status(), e.code), (400, code), "{q:?}: {e:?}");
        }
        assert!(rpc.names().is_empty());
    }

    #[test]
    fn aggregate_and_profile_are_one_rpc_each() {
        let rpc = FakeRpc::new()
            .on("aggregate_client_data", |args, _| {
                assert_eq!(
                    args["p_query"]["group_by"],
                    json!([{"field": "d", "bucket": "month"}])
                );
                Ok(json!({"table": "t", "groups": [], "group_count": 0}))
            })
            .on("profile_client_table", |args, _| {
                Ok(json!({"table": args["p_table_name"], "row_count": 0, "columns": []}))
            });
        let q = pairs(&[("group_by", "d:month"), ("metrics", "count,sum(price)")]);
        let reply = block_on(aggregate(&rpc, WHO, CLIENT, &q)).unwrap();
        assert_eq!(reply.body["group_count"], 0);
        let reply = block_on(profile(&rpc, WHO, CLIENT, &pairs(&[("table", "t")]))).unwrap();
        assert_eq!(reply.body["table"], "t");
        let reply = block_on(profile(&rpc, WHO, CLIENT, &[])).unwrap();
        assert_eq!(reply.body["table"], Value::Null);
        assert_eq!(
            rpc.names(),
            [
                "aggregate_client_data",
                "profile_client_table",
                "profile_client_table"
            ]
        );
        let e = block_on(profile(&rpc, WHO, CLIENT, &pairs(&[("tables", "t")]))).unwrap_err();
        assert_eq!(
            (e.code, e.hint.as_deref()),
            (ErrorCode::InvalidParameter, Some("did you mean `table`?"))
        );
        let e = block_on(aggregate(&rpc, WHO, CLIENT, &pairs(&[("select", "a")]))).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameter);
    }

    #[test]
    fn schema_adds_a_json_schema_per_table() {
        let rpc = FakeRpc::new().on("get_client_schemas", |_, _| {
            Ok(json!([{"table_name": "t", "data_type": "sales", "data_stored": true, "row_count": 1,
                "created_at": "c", "updated_at": "u",
                "schema_def": {"version": 1, "columns": [
                    {"key": "when", "name": "When", "type": "date"},
                    {"key": "price", "name": "Price", "type": "number"}]}}]))
        });
        let body = block_on(schema(&rpc, WHO, CLIENT)).unwrap().body;
        let js = &body["tables"][0]["json_schema"];
        assert_eq!(
            js["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(js["properties"]["when"]["format"], "date");
        assert_eq!(js["properties"]["price"]["type"], json!(["number", "null"]));
        assert_eq!(body["tables"][0]["schema_def"]["columns"][0]["key"], "when");
    }
}
