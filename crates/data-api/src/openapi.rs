//! PostgREST's OpenAPI root (`GET /rest/v1/`): a Swagger 2.0 document of the exposed tables,
//! views and functions, with one definition per relation and the arguments of each function.
//!
//! Design decision: the shapes come from the schema cache, the list from a privilege query in
//! the caller's own transaction, so each role sees what it may use (PostgREST's default
//! `openapi-mode = follow-privileges`). Only what this local API serves is described: reads of
//! relations (`get`) and function calls (`get`, `post`); table writes, which answer 501 here,
//! are left out.

use serde_json::{json, Map, Value};

use crate::schema::{Function, Returns, SchemaCache};

/// The relations the current role may select from and the functions it may execute, in `$1`.
pub const PRIVILEGES_QUERY: &str = "
select array(select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')
                and has_table_privilege(c.oid, 'select') order by 1),
       array(select distinct p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname = $1 and p.prokind = 'f' and has_function_privilege(p.oid, 'execute')
              order by 1)
";

const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/vnd.pgrst.object+json",
    "text/csv",
];

/// Swagger's `type`/`format` for a PostgreSQL type, as PostgREST maps them.
fn property(type_name: &str, description: Option<&str>) -> Value {
    let swagger_type = match type_name {
        t if t.ends_with("[]") => "array",
        "smallint" | "integer" | "bigint" => "integer",
        "numeric" | "real" | "double precision" => "number",
        t if t.starts_with("numeric(") => "number",
        "boolean" => "boolean",
        "json" | "jsonb" => "",
        _ => "string",
    };
    let mut property = Map::new();
    property.insert("format".into(), json!(type_name));
    if !swagger_type.is_empty() {
        property.insert("type".into(), json!(swagger_type));
    }
    if swagger_type == "array" {
        property.insert(
            "items".into(),
            property_of_element(type_name.trim_end_matches("[]")),
        );
    }
    if let Some(description) = description {
        property.insert("description".into(), json!(description));
    }
    Value::Object(property)
}

fn property_of_element(type_name: &str) -> Value {
    property(type_name, None)
}

fn function_operation(function: &Function, post: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in function.params.iter().filter(|p| !p.name.is_empty()) {
        properties.insert(p.name.clone(), property(&p.type_name, None));
        if !p.has_default {
            required.push(json!(p.name));
        }
    }
    let parameters = if post {
        json!([{
            "in": "body",
            "name": "args",
            "required": true,
            "schema": {"type": "object", "properties": properties, "required": required}
        }])
    } else {
        Value::Array(
            function
                .params
                .iter()
                .filter(|p| !p.name.is_empty())
                .map(|p| {
                    let mut parameter = property(&p.type_name, None);
                    if let Value::Object(map) = &mut parameter {
                        map.insert("in".into(), json!("query"));
                        map.insert("name".into(), json!(p.name));
                        map.insert("required".into(), json!(!p.has_default));
                        map.entry("type").or_insert(json!("string"));
                    }
                    parameter
                })
                .collect(),
        )
    };
    let returns = match (function.returns, function.returns_set) {
        (Returns::Void, _) => "no content (204)",
        (_, true) => "an array",
        (Returns::Composite, false) => "an object",
        (Returns::Scalar, false) => "a JSON value",
    };
    json!({
        "tags": [format!("(rpc) {}", function.name)],
        "produces": MEDIA_TYPES,
        "parameters": parameters,
        "responses": {"200": {"description": format!("OK: {returns}")}}
    })
}

/// The document for the relations and functions (by name) the caller may use.
pub fn document(
    schema: &SchemaCache,
    relations: &[String],
    functions: &[String],
    host: &str,
) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    paths.insert(
        "/".into(),
        json!({"get": {
            "tags": ["Introspection"],
            "summary": "OpenAPI description (this document)",
            "produces": ["application/openapi+json", "application/json"],
            "responses": {"200": {"description": "OK"}}
        }}),
    );
    for relation in schema
        .relations()
        .into_iter()
        .filter(|r| relations.contains(&r.name))
    {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for column in &relation.columns {
            properties.insert(
                column.name.clone(),
                property(&column.type_name, column.description.as_deref()),
            );
            if column.not_null {
                required.push(json!(column.name));
            }
        }
        let mut definition =
            json!({"type": "object", "properties": properties, "required": required});
        if let Some(description) = &relation.description {
            definition["description"] = json!(description);
        }
        definitions.insert(relation.name.clone(), definition);
        paths.insert(
            format!("/{}", relation.name),
            json!({"get": {
                "tags": [relation.name],
                "produces": MEDIA_TYPES,
                "parameters": [
                    {"$ref": "#/parameters/select"}, {"$ref": "#/parameters/order"},
                    {"$ref": "#/parameters/range"}, {"$ref": "#/parameters/rangeUnit"},
                    {"$ref": "#/parameters/offset"}, {"$ref": "#/parameters/limit"},
                    {"$ref": "#/parameters/preferCount"}
                ],
                "responses": {
                    "200": {"description": "OK", "schema": {"type": "array", "items": {"$ref": format!("#/definitions/{}", relation.name)}}},
                    "206": {"description": "Partial Content"}
                }
            }}),
        );
    }
    for function in schema
        .functions()
        .into_iter()
        .filter(|f| functions.contains(&f.name))
    {
        let path = format!("/rpc/{}", function.name);
        if paths.contains_key(&path) {
            continue; // overloads share one path, as in PostgREST
        }
        paths.insert(
            path,
            json!({"get": function_operation(function, false), "post": function_operation(function, true)}),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {
            "title": "standard public schema",
            "description": "The local data API (crates/data-api), a stand-in for Supabase's PostgREST",
            "version": env!("CARGO_PKG_VERSION")
        },
        "host": host,
        "basePath": "/rest/v1/",
        "schemes": ["http"],
        "consumes": ["application/json"],
        "produces": MEDIA_TYPES,
        "paths": paths,
        "definitions": definitions,
        "parameters": {
            "select": {"name": "select", "in": "query", "required": false, "type": "string", "description": "Filtering Columns"},
            "order": {"name": "order", "in": "query", "required": false, "type": "string", "description": "Ordering"},
            "range": {"name": "Range", "in": "header", "required": false, "type": "string", "description": "Limiting and Pagination"},
            "rangeUnit": {"name": "Range-Unit", "in": "header", "required": false, "type": "string", "default": "items", "description": "Limiting and Pagination"},
            "offset": {"name": "offset", "in": "query", "required": false, "type": "string", "description": "Limiting and Pagination"},
            "limit": {"name": "limit", "in": "query", "required": false, "type": "string", "description": "Limiting and Pagination"},
            "preferCount": {"name": "Prefer", "in": "header", "required": false, "type": "string", "enum": ["count=none", "count=exact", "count=planned", "count=estimated"], "description": "Get the total size of the table"}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_like_postgrest() {
        assert_eq!(
            property("integer", None),
            json!({"type": "integer", "format": "integer"})
        );
        assert_eq!(property("jsonb", None), json!({"format": "jsonb"}));
        assert_eq!(
            property("text[]", Some("tags")),
            json!({"type": "array", "format": "text[]", "items": {"type": "string", "format": "text"}, "description": "tags"})
        );
        assert_eq!(property("timestamp with time zone", None)["type"], "string");
    }
}
