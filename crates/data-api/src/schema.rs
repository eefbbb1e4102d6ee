//! The schema cache: the functions of the exposed schema as PostgREST sees them (names, input
//! parameters with types and defaults, return shape, volatility) and its relations (tables,
//! views, materialized views, foreign tables, with their columns), read from `pg_catalog`, and
//! PostgREST's overload resolution by argument names.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;

use crate::error::ApiError;

/// The only exposed schema (Supabase's default `db-schemas`).
pub const EXPOSED_SCHEMA: &str = "public";

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Empty for an unnamed parameter.
    pub name: String,
    /// `format_type` of the parameter type, usable in a column definition list.
    pub type_name: String,
    pub has_default: bool,
}

/// What a function's result looks like in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// `void`: 204 with no body.
    Void,
    /// A base/domain/enum/range type: JSON scalar (or array of scalars when `setof`).
    Scalar,
    /// A row type or OUT/TABLE columns: JSON object (or array of objects when `setof`).
    Composite,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub params: Vec<Param>,
    pub returns: Returns,
    pub returns_set: bool,
    /// `volatile` functions may write: POST runs them in a read-write transaction.
    pub volatile: bool,
}

impl Function {
    /// PostgREST passes the whole request body to a function whose only parameter is an unnamed
    /// `json` or `jsonb`.
    pub fn takes_whole_body(&self) -> bool {
        matches!(self.params.as_slice(), [p] if p.name.is_empty() && (p.type_name == "json" || p.type_name == "jsonb"))
    }

    fn accepts(&self, keys: &BTreeSet<String>) -> bool {
        let named = self.params.iter().all(|p| !p.name.is_empty());
        named
            && keys
                .iter()
                .all(|k| self.params.iter().any(|p| &p.name == k))
            && self
                .params
                .iter()
                .all(|p| p.has_default || keys.contains(&p.name))
    }

    fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{} => {}", p.name, p.type_name))
            .collect();
        format!("{EXPOSED_SCHEMA}.{}({})", self.name, params.join(", "))
    }
}

/// A column of a relation, for the OpenAPI description.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub not_null: bool,
    pub description: Option<String>,
}

/// A table, view, materialized view or foreign table of the exposed schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub name: String,
    /// A table (or partitioned/foreign table) can be written to; a view is read here only.
    pub is_table: bool,
    pub columns: Vec<Column>,
    pub description: Option<String>,
}

/// Functions of the exposed schema by name (overloads share a name), and its relations.
#[derive(Debug, Default, Clone)]
pub struct SchemaCache {
    functions: HashMap<String, Vec<Function>>,
    relations: HashMap<String, Relation>,
}

/// One row per column of every relation of the exposed schema, in column order.
const RELATIONS_QUERY: &str = "
select c.relname::text,
       c.relkind in ('r', 'p', 'f'),
       obj_description(c.oid, 'pg_class'),
       a.attname::text,
       format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       col_description(c.oid, a.attnum)
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
 where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')
 order by c.relname, a.attnum
";

/// One row per function; parameter names and modes are aligned with all arguments, the types
/// with the input arguments only, so the pairing is done in [`SchemaCache::from_rows`].
const FUNCTIONS_QUERY: &str = "
select p.proname::text,
       coalesce(p.proargnames, '{}')::text[],
       coalesce(p.proargmodes::text[], '{}')::text[],
       array(select format_type(t.oid, null)
               from unnest(p.proargtypes::oid[]) with ordinality as a(oid, i)
               join pg_type t on t.oid = a.oid
              order by a.i),
       p.pronargdefaults::int4,
       p.proretset,
       p.provolatile = 'v',
       rt.oid = 'void'::regtype,
       (rt.typtype = 'c'
         or (rt.oid = 'record'::regtype and p.proargmodes is not null
             and ('o' = any(p.proargmodes) or 't' = any(p.proargmodes))))
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type rt on rt.oid = p.prorettype
 where n.nspname = $1 and p.prokind = 'f'
";

impl SchemaCache {
    /// Reads the cache over `client`.
    pub async fn load(client: &tokio_postgres::Client) -> Result<Self, tokio_postgres::Error> {
        let rows = client.query(FUNCTIONS_QUERY, &[&EXPOSED_SCHEMA]).await?;
        let mut functions: Vec<Function> = Vec::with_capacity(rows.len());
        for row in rows {
            let names: Vec<String> = row.try_get(1)?;
            let modes: Vec<String> = row.try_get(2)?;
            let types: Vec<String> = row.try_get(3)?;
            let n_defaults: i32 = row.try_get(4)?;
            let returns = if row.try_get::<_, bool>(7)? {
                Returns::Void
            } else if row.try_get::<_, bool>(8)? {
                Returns::Composite
            } else {
                Returns::Scalar
            };
            functions.push(Function {
                name: row.try_get(0)?,
                params: input_params(&names, &modes, &types, n_defaults.max(0) as usize),
                returns,
                returns_set: row.try_get(5)?,
                volatile: row.try_get(6)?,
            });
        }
        let mut cache = SchemaCache::from_functions(functions);
        for row in client.query(RELATIONS_QUERY, &[&EXPOSED_SCHEMA]).await? {
            let name: String = row.try_get(0)?;
            let relation = cache
                .relations
                .entry(name.clone())
                .or_insert_with(|| Relation {
                    name,
                    is_table: false,
                    columns: Vec::new(),
                    description: None,
                });
            relation.is_table = row.try_get(1)?;
            relation.description = row.try_get(2)?;
            if let Some(column) = row.try_get::<_, Option<String>>(3)? {
                relation.columns.push(Column {
                    name: column,
                    type_name: row.try_get(4)?,
                    not_null: row.try_get(5)?,
                    description: row.try_get(6)?,
                });
            }
        }
        Ok(cache)
    }

    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.get(name)
    }

    /// Relations sorted by name.
    pub fn relations(&self) -> Vec<&Relation> {
        let mut list: Vec<&Relation> = self.relations.values().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// Functions sorted by name (overloads in catalog order).
    pub fn functions(&self) -> Vec<&Function> {
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        names
            .into_iter()
            .flat_map(|name| self.functions[name].iter())
            .collect()
    }

    /// On GET, PostgREST takes as arguments the query keys that name a parameter of the
    /// function (of any overload); the other keys are filters on its result.
    pub fn argument_keys(&self, name: &str, keys: &[String]) -> BTreeSet<String> {
        let overloads = self.functions.get(name).map(Vec::as_slice).unwrap_or(&[]);
        keys.iter()
            .filter(|k| {
                overloads
                    .iter()
                    .any(|f| f.params.iter().any(|p| &p.name == *k))
            })
            .cloned()
            .collect()
    }

    /// `Prefer: params=single-object`: the overload with exactly one json/jsonb parameter
    /// (named or not) receives the whole body.
    pub fn resolve_single_object(&self, name: &str) -> Result<&Function, ApiError> {
        let overloads = self.functions.get(name).map(Vec::as_slice).unwrap_or(&[]);
        overloads
            .iter()
            .find(|f| matches!(f.params.as_slice(), [p] if p.type_name == "json" || p.type_name == "jsonb"))
            .ok_or_else(|| not_found(name, &BTreeSet::new(), overloads))
    }

    pub fn from_functions(functions: Vec<Function>) -> Self {
        let mut by_name: HashMap<String, Vec<Function>> = HashMap::new();
        for f in functions {
            by_name.entry(f.name.clone()).or_default().push(f);
        }
        SchemaCache {
            functions: by_name,
            relations: HashMap::new(),
        }
    }

    pub fn function_count(&self) -> usize {
        self.functions.values().map(Vec::len).sum()
    }

    /// PostgREST's resolution: a function whose parameters include every supplied key and whose
    /// parameters without defaults are all supplied; otherwise (with a body) one taking the whole
    /// body as its single unnamed json parameter. More than one → PGRST203; none → PGRST202.
    pub fn resolve(
        &self,
        name: &str,
        keys: &BTreeSet<String>,
        has_body: bool,
    ) -> Result<&Function, ApiError> {
        let overloads = self.functions.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let by_name: Vec<&Function> = overloads.iter().filter(|f| f.accepts(keys)).collect();
        match by_name.as_slice() {
            [one] => return Ok(one),
            [] => {}
            many => {
                let list: Vec<String> = many.iter().map(|f| f.signature()).collect();
                return Err(ApiError::postgrest(
                    StatusCode::MULTIPLE_CHOICES,
                    "PGRST203",
                    format!("Could not choose the best candidate function between: {}", list.join(", ")),
                )
                .with_hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved"));
            }
        }
        if has_body {
            if let Some(f) = overloads.iter().find(|f| f.takes_whole_body()) {
                return Ok(f);
            }
        }
        Err(not_found(name, keys, overloads))
    }
}

fn input_params(
    names: &[String],
    modes: &[String],
    types: &[String],
    n_defaults: usize,
) -> Vec<Param> {
    let input_names: Vec<&str> = if modes.is_empty() {
        (0..types.len())
            .map(|i| names.get(i).map(String::as_str).unwrap_or(""))
            .collect()
    } else {
        modes
            .iter()
            .enumerate()
            .filter(|(_, m)| matches!(m.as_str(), "i" | "b" | "v"))
            .map(|(i, _)| names.get(i).map(String::as_str).unwrap_or(""))
            .collect()
    };
    let first_default = types.len().saturating_sub(n_defaults);
    types
        .iter()
        .enumerate()
        .map(|(i, t)| Param {
            name: input_names.get(i).copied().unwrap_or("").to_string(),
            type_name: t.clone(),
            has_default: i >= first_default,
        })
        .collect()
}

/// PostgREST's PGRST202 body. The keys are listed sorted, as PostgREST lists them.
fn not_found(name: &str, keys: &BTreeSet<String>, overloads: &[Function]) -> ApiError {
    let qualified = format!("{EXPOSED_SCHEMA}.{name}");
    let list: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (message, searched) = if list.is_empty() {
        (
            format!("Could not find the function {qualified} without parameters in the schema cache"),
            format!("Searched for the function {qualified} without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."),
        )
    } else {
        let noun = if list.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        (
            format!("Could not find the function {qualified}({}) in the schema cache", list.join(", ")),
            format!("Searched for the function {qualified} with {noun} {} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.", list.join(", ")),
        )
    };
    let err =
        ApiError::postgrest(StatusCode::NOT_FOUND, "PGRST202", message).with_details(searched);
    match overloads.first() {
        Some(f) => {
            let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
            err.with_hint(format!(
                "Perhaps you meant to call the function {qualified}({})",
                params.join(", ")
            ))
        }
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorBody;

    fn param(name: &str, type_name: &str, has_default: bool) -> Param {
        Param {
            name: name.into(),
            type_name: type_name.into(),
            has_default,
        }
    }

    fn function(name: &str, params: Vec<Param>) -> Function {
        Function {
            name: name.into(),
            params,
            returns: Returns::Scalar,
            returns_set: false,
            volatile: true,
        }
    }

    fn keys(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn input_params_skip_out_columns_and_mark_trailing_defaults() {
        let names = ["a", "b", "id", "c"].map(String::from);
        let modes = ["i", "i", "t", "i"].map(String::from);
        let types = ["integer", "text", "uuid"].map(String::from);
        let params = input_params(&names, &modes, &types, 1);
        assert_eq!(
            params,
            vec![
                param("a", "integer", false),
                param("b", "text", false),
                param("c", "uuid", true)
            ]
        );
    }

    #[test]
    fn overloads_are_chosen_by_argument_names() {
        let cache = SchemaCache::from_functions(vec![
            function("f", vec![param("a", "integer", false)]),
            function(
                "f",
                vec![param("b", "text", false), param("c", "text", true)],
            ),
        ]);
        assert_eq!(
            cache.resolve("f", &keys(&["a"]), true).expect("a").params[0].name,
            "a"
        );
        assert_eq!(
            cache.resolve("f", &keys(&["b"]), true).expect("b").params[0].name,
            "b"
        );
        assert_eq!(
            cache
                .resolve("f", &keys(&["b", "c"]), true)
                .expect("b,c")
                .params[0]
                .name,
            "b"
        );
        let err = cache
            .resolve("f", &keys(&["a", "b"]), true)
            .expect_err("no overload takes a and b");
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn ambiguous_overloads_are_pgrst203() {
        let cache = SchemaCache::from_functions(vec![
            function("g", vec![param("a", "integer", false)]),
            function("g", vec![param("a", "text", false)]),
        ]);
        let err = cache
            .resolve("g", &keys(&["a"]), true)
            .expect_err("ambiguous");
        assert_eq!((err.status.as_u16(), err.code()), (300, "PGRST203"));
    }

    #[test]
    fn single_unnamed_json_param_takes_any_body() {
        let cache =
            SchemaCache::from_functions(vec![function("h", vec![param("", "jsonb", false)])]);
        assert!(cache
            .resolve("h", &keys(&["x", "y"]), true)
            .expect("whole body")
            .takes_whole_body());
        assert!(cache.resolve("h", &keys(&[]), false).is_err());
    }

    #[test]
    fn unknown_function_has_postgrest_pgrst202_body() {
        let cache = SchemaCache::default();
        let err = cache
            .resolve("nope", &keys(&["p_b", "p_a"]), true)
            .expect_err("unknown");
        match *err.body {
            ErrorBody::Postgrest {
                code,
                message,
                details,
                hint,
            } => {
                assert_eq!(code, "PGRST202");
                assert_eq!(
                    message,
                    "Could not find the function public.nope(p_a, p_b) in the schema cache"
                );
                assert_eq!(details.as_deref(), Some("Searched for the function public.nope with parameters p_a, p_b or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."));
                assert_eq!(hint, None);
            }
            other => panic!("expected a PostgREST body, got {other:?}"),
        }
    }
}
