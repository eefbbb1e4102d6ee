//! The superadmin's clients: `GET /api/superadmin/clients` (the console's client list: paging,
//! search by company name or email, tables, rows, last upload) and
//! `DELETE /api/superadmin/clients/{client_id}` (a client and all its data go). Superadmin only,
//! enforced by `app`. Creating a client is an upload (`api::uploads`).
//!
//! Design decision: the database pages, searches and counts in one function call
//! (`list_clients`) and the database deletes in one (`delete_client`), so each route is one RPC;
//! the Worker only checks the query parameters, so a typo answers 400 here instead of being
//! ignored. An unknown id on delete is its PT404, answered 404 `client_not_found`.

use crate::api::Reply;
use crate::db::{self, ListClients, Rpc};
use crate::error::{ApiError, ErrorCode};

/// Clients per page unless `?limit=` says otherwise, and the most a page may hold.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;
const LIST_PARAMS: &str = "search, limit and offset";

pub async fn list(rpc: &impl Rpc, query: &[(String, String)]) -> Result<Reply, ApiError> {
    let args = parse_list(query)?;
    let mut page = db::list_clients(rpc, &args).await?;
    page["limit"] = args.p_limit.into();
    page["offset"] = args.p_offset.into();
    Ok(Reply::ok(page))
}

pub async fn delete(rpc: &impl Rpc, client_id: &str) -> Result<(), ApiError> {
    db::delete_client(rpc, client_id).await
}

/// `?search=&limit=&offset=`; anything else, or a parameter twice, is a 400.
pub fn parse_list(query: &[(String, String)]) -> Result<ListClients, ApiError> {
    let mut args = ListClients {
        p_search: None,
        p_limit: DEFAULT_LIMIT,
        p_offset: 0,
    };
    let mut seen = Vec::new();
    for (k, v) in query {
        if seen.contains(&k.as_str()) {
            return Err(ApiError::new(
                ErrorCode::DuplicateParameter,
                format!("`{k}` is given twice"),
            ));
        }
        seen.push(k.as_str());
        match k.as_str() {
            "search" => args.p_search = Some(v.trim().to_owned()).filter(|s| !s.is_empty()),
            "limit" => {
                args.p_limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::InvalidLimit,
                            format!("limit `{v}` must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?
            }
            "offset" => {
                args.p_offset = v.parse().map_err(|_| {
                    ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!("offset `{v}` must be a non-negative integer"),
                    )
                })?
            }
            other => {
                let message = format!("unknown parameter `{other}`; the list takes {LIST_PARAMS}");
                return Err(ApiError::new(ErrorCode::InvalidParameter, message));
            }
        }
    }
    if args
        .p_search
        .as_ref()
        .is_some_and(|s| s.chars().count() > 320)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "search has more than 320 characters (an email's maximum)",
        ));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::{block_on, FakeRpc};
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_parameters() {
        let a = parse_list(&q(&[
            ("search", " Acme "),
            ("limit", "10"),
            ("offset", "20"),
        ]))
        .unwrap();
        assert_eq!(
            (a.p_search.as_deref(), a.p_limit, a.p_offset),
            (Some("Acme"), 10, 20)
        );
        let a = parse_list(&q(&[("search", "  ")])).unwrap();
        assert_eq!((a.p_search, a.p_limit, a.p_offset), (None, 50, 0));
        let code = |p: &[(&str, &str)]| parse_list(&q(p)).unwrap_err().code;
        assert_eq!(code(&[("limit", "0")]), ErrorCode::InvalidLimit);
        assert_eq!(code(&[("limit", "501")]), ErrorCode::InvalidLimit);
        assert_eq!(code(&[("offset", "-1")]), ErrorCode::InvalidParameter);
        assert_eq!(code(&[("page", "2")]), ErrorCode::InvalidParameter);
        assert_eq!(
            code(&[("limit", "5"), ("limit", "6")]),
            ErrorCode::DuplicateParameter
        );
    }

    #[test]
    fn the_list_is_one_call_as_the_service_role() {
        let rpc = FakeRpc::new().on("list_clients", |_, _| {
            Ok(json!({"clients": [{"client_id": "c1"}], "total": 7}))
        });
        let reply = block_on(list(&rpc, &q(&[("search", "ac"), ("limit", "1")]))).unwrap();
        assert_eq!(reply.body["total"], 7);
        assert_eq!(reply.body["limit"], 1);
        let calls = rpc.calls.borrow();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].as_service);
        assert_eq!(
            calls[0].args,
            json!({"p_search": "ac", "p_limit": 1, "p_offset": 0})
        );
    }
}
