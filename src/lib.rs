//! hybrid-store's Cloudflare Worker: a multi-tenant JSONB data API in front of Supabase PostgREST.
//!
//! Design decision: tenant isolation is the database's job. Client routes forward the caller's
//! own verified JWT to PostgREST so row-level security decides what is visible; the service key
//! is used only after the Worker has verified a superadmin. The layout follows one request:
//! `routes` (what was asked, who may ask) → `app` (the pipeline, enforced once) → `api/*` (one
//! module per resource: parse, execute, the answer) → `db` (typed database functions over the
//! `Rpc` trait) — with `auth` (tokens, passwords) and `error` (the one error enum) beside them.
//! Dependencies point one way: `api` never imports `app`, `db` never imports `api`.

// ApiError is ~128 bytes; an error ends the request, so boxing it would buy nothing measurable.
#![allow(clippy::result_large_err)]

mod api;
mod app;
mod auth;
mod body;
mod config;
mod db;
mod error;
mod openapi;
mod routes;
mod scheduled;

use worker::{event, web_sys, Context, Env, Response, ScheduleContext, ScheduledEvent};

/// The pure parsers a stranger's bytes reach, for `fuzz/` (cargo-fuzz links this crate natively
/// with `--features fuzzing`) and for the replay of its regressions in this crate's tests. Not
/// an API: nothing outside `fuzz/` uses it.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::api::data::query_pairs;
    pub use crate::api::uploads::multipart::{boundary, Event, Multipart, MAX_FIELD_BYTES};
    pub use crate::auth::jwt;
    pub use crate::error::ApiError;
}

/// `fuzz/src/worker_checks.rs` (the checks of the `multipart`, `jwt` and `query_pairs` fuzz
/// targets) replaying `fuzz/regressions/` and `fuzz/seeds/` on stable.
#[cfg(test)]
#[path = "../fuzz/src/worker_checks.rs"]
mod fuzz_checks;

// Panics are logged by the `worker` crate's own panic hook (console.error "Rust panic: …").
// The runtime's own Request, not workers-rs's: see `app::Incoming`.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(app::handle(req, &env).await)
}

/// The cron triggers of `wrangler.toml`: housekeeping that no request does.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    scheduled::run(&env).await;
}

/// The layout's one rule, checked: no module imports another that (transitively) imports it.
#[cfg(test)]
mod layout_tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Every file module (`api::uploads::fields`) with the modules its non-test code names
    /// through `crate::…` or `super::…` paths.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let module_of = |path: &Path| -> String {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| p != "mod" && p != "lib")
                .collect();
            parts.join("::")
        };
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
        let mut graph = BTreeMap::new();
        for file in &files {
            let me = module_of(file);
            if me.ends_with("tests") || me.is_empty() {
                continue;
            }
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let is_dir_module = file.ends_with("mod.rs");
            let parent = if is_dir_module {
                me.clone()
            } else {
                me.rsplit_once("::")
                    .map(|(p, _)| p.to_owned())
                    .unwrap_or_default()
            };
            let mut deps = BTreeSet::new();
            for (prefix, base) in [("crate::", String::new()), ("super::", parent.clone())] {
                for (i, _) in code.match_indices(prefix) {
                    if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &code[i + prefix.len()..];
                    let path: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut segments: Vec<&str> =
                        path.split("::").filter(|s| !s.is_empty()).collect();
                    // `super::` from a file module is its parent; from a mod.rs, the grandparent.
                    let mut base = base.clone();
                    if prefix == "super::" && is_dir_module {
                        base = base
                            .rsplit_once("::")
                            .map(|(p, _)| p.to_owned())
                            .unwrap_or_default();
                    }
                    // The longest prefix of base::segments that is a file module.
                    let mut target = None;
                    while !segments.is_empty() {
                        let candidate = if base.is_empty() {
                            segments.join("::")
                        } else {
                            format!("{base}::{}", segments.join("::"))
                        };
                        if modules.contains(&candidate) {
                            target = Some(candidate);
                            break;
                        }
                        segments.pop();
                    }
                    let target = target.unwrap_or(base.clone());
                    if !target.is_empty() && target != me {
                        deps.insert(target);
                    }
                }
            }
            graph.insert(me, deps);
        }
        graph
    }

    fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = stack.iter().position(|n| n == node) {
                return Some(stack[i..].to_vec());
            }
            if done.contains(node) {
                return None;
            }
            stack.push(node.to_owned());
            for dep in graph.get(node).into_iter().flatten() {
                if let Some(c) = visit(dep, graph, stack, done) {
                    return Some(c);
                }
            }
            stack.pop();
            done.insert(node.to_owned());
            None
        }
        let mut done = BTreeSet::new();
        graph
            .keys()
            .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
    }

    #[test]
    fn no_module_imports_a_module_that_imports_it() {
        let files = graph();
        assert!(files.contains_key("api::uploads::fields"), "{files:?}");
        assert!(files["app"].contains("api::data"), "{:?}", files["app"]);
        assert_eq!(cycle(&files), None, "import cycle between file modules");
        // The same at the top level (`api`, `db`, `auth`, …): dependencies point one way.
        let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let head = |m: &str| m.split("::").next().unwrap().to_owned();
        for (m, deps) in &files {
            let entry = top.entry(head(m)).or_default();
            entry.extend(deps.iter().map(|d| head(d)).filter(|d| *d != head(m)));
        }
        assert_eq!(
            cycle(&top),
            None,
            "import cycle between top-level modules: {top:?}"
        );
        assert!(
            !top["db"].contains("api") && !top["api"].contains("app"),
            "{top:?}"
        );
    }
}
