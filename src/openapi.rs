//! The OpenAPI 3.1 document served at `GET /api/openapi.json`.
//!
//! It is a static file compiled in (`openapi.json`), not built with `json!`: building it in code
//! cost ~100 KB of wasm. Tests hold it equal to the router's [`crate::routes::ROUTES`] and to the
//! limits the code enforces.

/// The document, served as is.
pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::data::{DEFAULT_LIMIT, MAX_LIMIT};
    use crate::routes::ROUTES;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn doc() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    #[test]
    fn documents_exactly_the_routed_routes() {
        let doc = doc();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, routed);
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn both_upload_routes_document_every_body_form_the_worker_accepts() {
        let doc = doc();
        for (path, method) in [
            ("/api/superadmin/clients", "post"),
            ("/api/data/{client_id}", "post"),
        ] {
            let content = doc["paths"][path][method]["requestBody"]["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} has a request body"));
            assert!(content.contains_key("multipart/form-data"), "{path}");
            for media in content.keys() {
                let with_boundary = format!("{media}; boundary=x");
                let form = crate::api::uploads::fields::body_form(Some(&with_boundary));
                assert!(form.is_ok(), "{path}: documented {media} is refused");
            }
            for (_, raw) in [
                ("csv", "text/csv"),
                ("xlsx", crate::api::uploads::fields::XLSX_TYPE),
            ] {
                assert!(content.contains_key(raw), "{path} documents {raw}");
            }
        }
    }

    #[test]
    fn documents_the_enforced_limits() {
        let params = doc()["paths"]["/api/data/{client_id}"]["get"]["parameters"].clone();
        let limit = params
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .expect("limit is documented")["schema"]
            .clone();
        assert_eq!(limit["default"], DEFAULT_LIMIT);
        assert_eq!(limit["maximum"], MAX_LIMIT);
    }
}
