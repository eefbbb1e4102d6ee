//! Routing: method + path → [`Route`], as a pure function over strings, and who may call each
//! route ([`Route::access`]).
//!
//! Design decision: access is a property of the route, declared here next to it and enforced
//! once, in `app`, before any route's code runs; a route's handler receives the verified caller
//! and cannot forget the check. [`ROUTES`] lists every (method, path template) the router
//! accepts; the OpenAPI document is checked against it in tests, so a route cannot be added
//! without documenting it.

use crate::error::{ApiError, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    Login,
    DataRows { client_id: String },
    DataCount { client_id: String },
    DataSchema { client_id: String },
    DataExport { client_id: String },
    DataAggregate { client_id: String },
    DataProfile { client_id: String },
    ListClients,
    CreateClient,
    Inspect,
    AppendData { client_id: String },
    DeleteClient { client_id: String },
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (health, the OpenAPI document, login).
    Public,
    /// A client's own token (RLS decides what it sees) or a superadmin's.
    ClientOrAdmin,
    /// A superadmin only.
    AdminOnly,
}

impl Route {
    /// Whether the route reads a request body (its `Content-Length` is checked up front).
    pub fn has_body(&self) -> bool {
        matches!(
            self,
            Route::Login | Route::CreateClient | Route::Inspect | Route::AppendData { .. }
        )
    }

    pub fn access(&self) -> Access {
        match self {
            Route::Health | Route::OpenApi | Route::Login => Access::Public,
            Route::DataRows { .. }
            | Route::DataCount { .. }
            | Route::DataSchema { .. }
            | Route::DataExport { .. }
            | Route::DataAggregate { .. }
            | Route::DataProfile { .. }
            | Route::AppendData { .. } => Access::ClientOrAdmin,
            Route::ListClients
            | Route::CreateClient
            | Route::Inspect
            | Route::DeleteClient { .. } => Access::AdminOnly,
        }
    }
}

/// Every route as (method, OpenAPI path template).
pub const ROUTES: [(&str, &str); 14] = [
    ("GET", "/health"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/auth/login"),
    ("GET", "/api/data/{client_id}"),
    ("GET", "/api/data/{client_id}/count"),
    ("GET", "/api/data/{client_id}/schema"),
    ("GET", "/api/data/{client_id}/export"),
    ("GET", "/api/data/{client_id}/aggregate"),
    ("GET", "/api/data/{client_id}/profile"),
    ("GET", "/api/superadmin/clients"),
    ("POST", "/api/superadmin/clients"),
    ("POST", "/api/inspect"),
    ("POST", "/api/data/{client_id}"),
    ("DELETE", "/api/superadmin/clients/{client_id}"),
];

/// Client ids are UUIDs; checking here turns a typo into a 400 instead of a database error.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn client_id(id: &str) -> Result<String, ApiError> {
    if !is_uuid(id) {
        return Err(ApiError::new(
            ErrorCode::InvalidClientId,
            format!("client id `{id}` is not a UUID"),
        ));
    }
    Ok(id.to_ascii_lowercase())
}

/// The path of a request URL as the runtime serializes it (`http://host:port/p?q#f` → `/p`),
/// not decoded: what workers-rs's `Request::path` gave. A serialized http(s) URL always has a
/// path, and `?` and `#` inside it are percent-encoded, so the first `/` after the host starts
/// it and the first `?` or `#` ends it.
pub fn path_of(url: &str) -> &str {
    let Some(host_start) = url.find("://").map(|i| i + 3) else {
        return if url.starts_with('/') { url } else { "/" };
    };
    match url[host_start..].find('/') {
        Some(i) => {
            let path = &url[host_start + i..];
            &path[..path.find(['?', '#']).unwrap_or(path.len())]
        }
        None => "/",
    }
}

pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    // Every (method, route) a path allows.
    let candidates: Vec<(&str, Route)> = match segments.as_slice() {
        ["health"] => vec![("GET", Route::Health)],
        ["api", "openapi.json"] => vec![("GET", Route::OpenApi)],
        ["api", "auth", "login"] => vec![("POST", Route::Login)],
        ["api", "superadmin", "clients"] => {
            vec![("GET", Route::ListClients), ("POST", Route::CreateClient)]
        }
        ["api", "inspect"] => vec![("POST", Route::Inspect)],
        ["api", "superadmin", "clients", id] => {
            let client_id = client_id(id)?;
            vec![("DELETE", Route::DeleteClient { client_id })]
        }
        ["api", "data", id, rest @ ..] => {
            let client_id = client_id(id)?;
            match rest {
                [] => vec![
                    (
                        "GET",
                        Route::DataRows {
                            client_id: client_id.clone(),
                        },
                    ),
                    ("POST", Route::AppendData { client_id }),
                ],
                ["count"] => vec![("GET", Route::DataCount { client_id })],
                ["schema"] => vec![("GET", Route::DataSchema { client_id })],
                ["export"] => vec![("GET", Route::DataExport { client_id })],
                ["aggregate"] => vec![("GET", Route::DataAggregate { client_id })],
                ["profile"] => vec![("GET", Route::DataProfile { client_id })],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let allowed: Vec<&str> = candidates.iter().map(|(m, _)| *m).collect();
    match candidates.into_iter().find(|(m, _)| *m == method) {
        Some((_, r)) => Ok(r),
        None if !allowed.is_empty() => Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{method} is not allowed on {path}; use {}",
                allowed.join(" or ")
            ),
        )),
        None => Err(ApiError::new(
            ErrorCode::RouteNotFound,
            format!("no route {method} {path}"),
        )
        .with_details(ROUTES.iter().map(|(m, p)| format!("{m} {p}")).collect())
        .with_hint("GET /api/openapi.json describes every route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b6a4c1e-7f2d-4a9b-8c3e-1d2f3a4b5c6d";

    #[test]
    fn only_superadmin_routes_are_admin_only() {
        let access = |m: &str, p: &str| route(m, &p.replace("{client_id}", ID)).unwrap().access();
        assert_eq!(access("POST", "/api/superadmin/clients"), Access::AdminOnly);
        assert_eq!(access("GET", "/api/superadmin/clients"), Access::AdminOnly);
        assert_eq!(access("POST", "/api/inspect"), Access::AdminOnly);
        assert_eq!(
            access("DELETE", "/api/superadmin/clients/{client_id}"),
            Access::AdminOnly
        );
        for (m, p) in ROUTES {
            let expected = if p.starts_with("/api/superadmin/") || p == "/api/inspect" {
                Access::AdminOnly
            } else if p.starts_with("/api/data/") {
                Access::ClientOrAdmin
            } else {
                Access::Public
            };
            assert_eq!(access(m, p), expected, "{m} {p}");
        }
    }

    #[test]
    fn every_listed_route_is_routed() {
        for (method, template) in ROUTES {
            let path = template.replace("{client_id}", ID);
            assert!(route(method, &path).is_ok(), "{method} {template}");
        }
    }

    #[test]
    fn data_routes_carry_the_client_id() {
        assert_eq!(
            route("GET", &format!("/api/data/{ID}")).unwrap(),
            Route::DataRows {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("GET", &format!("/api/data/{}/count/", ID.to_uppercase())).unwrap(),
            Route::DataCount {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("GET", &format!("/api/data/{ID}/schema")).unwrap(),
            Route::DataSchema {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("GET", &format!("/api/data/{ID}/export")).unwrap(),
            Route::DataExport {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("GET", &format!("/api/data/{ID}/aggregate")).unwrap(),
            Route::DataAggregate {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("GET", &format!("/api/data/{ID}/profile")).unwrap(),
            Route::DataProfile {
                client_id: ID.into()
            }
        );
    }

    #[test]
    fn errors() {
        let e = route("GET", "/api/data/not-a-uuid").unwrap_err();
        assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidClientId));
        let e = route("DELETE", "/health").unwrap_err();
        assert_eq!((e.status(), e.code), (405, ErrorCode::MethodNotAllowed));
        let e = route("GET", "/api/auth/login").unwrap_err();
        assert_eq!(e.status(), 405);
        let e = route("GET", "/nope").unwrap_err();
        assert_eq!((e.status(), e.code), (404, ErrorCode::RouteNotFound));
        assert!(e
            .details
            .unwrap()
            .to_string()
            .contains("GET /api/data/{client_id}/count"));
        assert_eq!(
            route("GET", &format!("/api/data/{ID}/other"))
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn uploads_and_delete_share_paths_with_other_methods() {
        assert_eq!(
            route("POST", &format!("/api/data/{ID}")).unwrap(),
            Route::AppendData {
                client_id: ID.into()
            }
        );
        assert_eq!(
            route("DELETE", &format!("/api/superadmin/clients/{ID}")).unwrap(),
            Route::DeleteClient {
                client_id: ID.into()
            }
        );
        let e = route("PUT", &format!("/api/data/{ID}")).unwrap_err();
        assert!(e.message.contains("GET or POST"), "{}", e.message);
        let e = route("DELETE", "/api/superadmin/clients/nope").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClientId);
    }

    #[test]
    fn the_path_is_the_urls_path_without_query_or_fragment() {
        for (url, path) in [
            ("http://127.0.0.1:8787/api/data/x?limit=50", "/api/data/x"),
            ("https://h.example/health", "/health"),
            ("https://h.example/a/b/#top", "/a/b/"),
            ("https://h.example/a%3Fb?c=d", "/a%3Fb"),
            ("https://h.example", "/"),
            ("/already/a/path", "/already/a/path"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn uuid_check() {
        assert!(is_uuid(ID));
        assert!(!is_uuid("0b6a4c1e-7f2d-4a9b-8c3e-1d2f3a4b5c6"));
        assert!(!is_uuid("0b6a4c1e07f2d-4a9b-8c3e-1d2f3a4b5c6d"));
    }
}
