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
    use crate::routes::ROUTES;
    use query::{DEFAULT_LIMIT, MAX_LIMIT};
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

    /// A route's query parameters with `$ref`s resolved: name → parameter object.
    fn query_parameters(doc: &Value, path: &str) -> Vec<Value> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => {
                    let name = r.strip_prefix("#/components/parameters/").expect(r);
                    let resolved = doc["components"]["parameters"][name].clone();
                    assert!(resolved.is_object(), "{path}: {r} resolves");
                    resolved
                }
                None => p.clone(),
            })
            .filter(|p| p["in"] == "query")
            .collect()
    }

    fn names(params: &[Value]) -> BTreeSet<String> {
        params
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn query_parameters_are_the_query_crates() {
        let doc = doc();
        assert_eq!(
            doc["components"]["parameters"],
            query::openapi_parameters(),
            "regenerate components.parameters from query::openapi_parameters()"
        );
        let set = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let with_filter = |list: &[&str]| {
            let mut s = set(list);
            s.insert("filter".into());
            s
        };
        let read: Vec<&str> = query::READ_PARAMETERS
            .iter()
            .copied()
            .filter(|p| *p != "format")
            .collect();
        let path = "/api/data/{client_id}";
        assert_eq!(names(&query_parameters(&doc, path)), with_filter(&read));
        let aggregate = format!("{path}/aggregate");
        assert_eq!(
            names(&query_parameters(&doc, &aggregate)),
            with_filter(query::AGGREGATE_PARAMETERS)
        );
        let export = names(&query_parameters(&doc, &format!("{path}/export")));
        for refused in ["limit", "offset", "cursor", "count"] {
            assert!(!export.contains(refused), "export documents {refused}");
        }
        assert!(export.contains("format") && export.contains("as") && export.contains("filter"));
        let profile = names(&query_parameters(&doc, &format!("{path}/profile")));
        assert_eq!(profile, set(&["table"]));
        // Every operator is named where a generator (and a person) reads it.
        let filter = &doc["components"]["parameters"]["filter"];
        for op in query::OPERATORS {
            assert!(filter["description"].as_str().unwrap().contains(op), "{op}");
        }
    }

    #[test]
    fn documents_the_enforced_limits() {
        let params = query_parameters(&doc(), "/api/data/{client_id}");
        let limit = params
            .iter()
            .find(|p| p["name"] == "limit")
            .expect("limit is documented")["schema"]
            .clone();
        assert_eq!(limit["default"], DEFAULT_LIMIT);
        assert_eq!(limit["maximum"], MAX_LIMIT);
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .unwrap_or_else(|| panic!("an object: {v}"))
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_inspection_schema_names_every_field_of_the_report_and_of_data_type_points() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let csv = b"SKU,Stock Level,Warehouse\nMUG-101,120,North\nCAP-202,0,South\n";
        let got = ingest::ingest(csv, &ingest::IngestOptions::new()).unwrap();
        let report = ingest::inspect::report(&got, Default::default());
        let table = &report["tables"][0];
        assert_eq!(
            keys(&schemas["Inspection"]["properties"]["tables"]["items"]["properties"]),
            keys(table)
        );
        let points = &table["data_type_points"][0];
        let documented = &schemas["DataTypePoints"];
        assert_eq!(keys(&documented["properties"]), keys(points));
        assert_eq!(
            keys(&documented["properties"]["reasons"]["items"]["properties"]),
            keys(&points["reasons"][0])
        );
        // The stored schema_def carries the same points.
        assert_eq!(
            ingest::schema_def(&got.tables[0])["data_type_points"],
            table["data_type_points"]
        );
    }
}
