//! One request: route → authorize (the route's [`Access`], enforced here once) → parse → execute
//! → render. Also the Worker's configuration (parsed once per isolate), CORS, and the only place
//! an answer or an error becomes a `worker::Response`.
//!
//! Design decision: the caller is verified before anything of the request is parsed or read, so
//! an anonymous caller cannot make the Worker parse parameters or buffer a body, and a handler in
//! `api` receives only the database identity it may use ([`Who`]). A client asking for someone
//! else's `client_id` gets 404 `client_not_found` from the database itself (RLS hides the other
//! tenant's rows and schemas), so ids cannot be probed.

use futures_util::StreamExt;
use serde_json::json;
use worker::{console_error, web_sys, ByteStream, Env, Headers, Method, Response};

use crate::api::{self, export, uploads, Reply};
use crate::auth::{self, jwt::Principal};
use crate::body::{self, SharedBody};
use crate::config::Config;
use crate::db::{fetch::FetchRpc, Who};
use crate::error::{ApiError, ErrorCode};
use crate::openapi;
use crate::routes::{self, Access, Route};

/// What a route answers: JSON, nothing (204), or a download streamed after its headers.
enum Answer {
    Json(Reply),
    /// JSON text served as is (the OpenAPI document: parsing it per request would be waste).
    Static(&'static str),
    /// JSON text made by the route, 200 (a page of rows: see `api::data::render_page`).
    Text(String),
    NoContent,
    Download(export::Download),
}

/// The parts of a request the pipeline reads, each taken from the runtime's `Request` once.
/// Not workers-rs's `Request`: building that reads `request.cf` (workerd makes the object from
/// JSON on first access: 3-7 % of a page read's CPU in a profile of plain workerd), the URL, the
/// method and the headers up front, and the Worker reads the URL twice through it; it uses no
/// `cf` at all (the client address is the `CF-Connecting-IP` header).
struct Incoming {
    /// As workers-rs named it: upper case, and an unknown method reads as `GET`.
    method: Method,
    url: String,
    headers: web_sys::Headers,
    body: Option<web_sys::ReadableStream>,
}

impl Incoming {
    fn new(raw: &web_sys::Request) -> Incoming {
        Incoming {
            method: Method::from(raw.method()),
            url: raw.url(),
            headers: raw.headers(),
            body: raw.body(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }
}

pub async fn handle(raw: web_sys::Request, env: &Env) -> Response {
    let req = Incoming::new(&raw);
    if req.method == Method::Options {
        return preflight();
    }
    let response = answer(req, env).await;
    if debug_memory(env) {
        // wasm memory grows and never shrinks: its size now is this isolate's peak so far.
        let bytes = wasm_memory_bytes().to_string();
        if response
            .headers()
            .set("x-wasm-memory-bytes", &bytes)
            .is_err()
        {
            console_error!("could not set X-Wasm-Memory-Bytes");
        }
    }
    response
}

/// `DEBUG_MEMORY=1` (set by `cargo xtask test` only): every answer tells the wasm memory size,
/// which the hardening tests hold under their budget per hostile input. Read once per isolate
/// (vars and secrets are fixed for its life): the binding lookups were 1.7 % of a CPU profile.
fn debug_memory(env: &Env) -> bool {
    thread_local! {
        static DEBUG_MEMORY: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
    }
    if let Some(on) = DEBUG_MEMORY.with(|d| d.get()) {
        return on;
    }
    let on = env
        .secret("DEBUG_MEMORY")
        .map(|v| v.to_string())
        .or_else(|_| env.var("DEBUG_MEMORY").map(|v| v.to_string()))
        .is_ok_and(|v| v == "1");
    DEBUG_MEMORY.with(|d| d.set(Some(on)));
    on
}

fn wasm_memory_bytes() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) * 65536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

async fn answer(req: Incoming, env: &Env) -> Response {
    match respond(req, env).await {
        Ok(Answer::Download(download)) => download_response(download),
        Ok(Answer::Static(body)) => render(
            200,
            body.to_owned(),
            ExtraHeaders {
                // The same document for everyone: the one answer a cache may keep.
                cacheable: true,
                ..ExtraHeaders::default()
            },
        ),
        Ok(Answer::Text(body)) => render(200, body, ExtraHeaders::default()),
        Ok(Answer::NoContent) => Response::builder()
            .with_status(204)
            .with_headers(no_store(cors_headers()))
            .empty(),
        Ok(Answer::Json(reply)) => {
            let response = render(
                reply.status,
                reply.body.to_string(),
                ExtraHeaders::default(),
            );
            if reply.replayed
                && response
                    .headers()
                    .set("idempotent-replayed", "true")
                    .is_err()
            {
                console_error!("could not set Idempotent-Replayed");
            }
            response
        }
        Err(e) => render_error(&e),
    }
}

thread_local! {
    /// The typed configuration, parsed once per isolate: vars and secrets are fixed for its life.
    static CONFIG: std::cell::RefCell<Option<Config>> = const { std::cell::RefCell::new(None) };
}

/// Configuration for everything past the public routes. `.dev.vars` and `wrangler secret`
/// values arrive as secrets, `[vars]` as vars. An invalid configuration is not cached, so
/// fixing it needs no restart.
pub fn load_config(env: &Env) -> Result<Config, ApiError> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let config = Config::from_lookup(|name| {
        env.secret(name)
            .or_else(|_| env.var(name))
            .ok()
            .map(|v| v.to_string())
    })?;
    CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}

async fn respond(mut req: Incoming, env: &Env) -> Result<Answer, ApiError> {
    // The body is taken first, so that every answer below, an early 404 or 401 included,
    // is sent only after what the route left unread was drained (see `body`).
    let body = SharedBody::new(body_stream(&mut req));
    let mut drain_limit = body::DRAIN_SLACK_BYTES;
    let answer = route_and_respond(&req, env, &body, &mut drain_limit).await;
    let declared = req.header("content-length");
    body.discard_rest(body::drain_budget(declared.as_deref(), drain_limit))
        .await;
    answer
}

/// Routes and answers; sets `drain_limit` to how much of an unread body is worth draining
/// once the route (and so its body limit) is known.
async fn route_and_respond(
    req: &Incoming,
    env: &Env,
    body: &SharedBody,
    drain_limit: &mut u64,
) -> Result<Answer, ApiError> {
    let route = routes::route(req.method.as_ref(), routes::path_of(&req.url))?;
    match route {
        Route::Health => return Ok(Answer::Json(Reply::ok(json!({"status": "ok"})))),
        Route::OpenApi => return Ok(Answer::Static(openapi::DOCUMENT)),
        _ => {}
    }
    let config = load_config(env)?;
    let body_limit = body::limit_for(&route, config.max_upload_bytes);
    if route.has_body() {
        // Known from the headers alone: answered before anything is read or verified. A body
        // declared just over the limit is still drained (the sender will send it all); one
        // declared far beyond is not waited for (see `body::drain_budget`).
        *drain_limit = body_limit.saturating_add(body::DRAIN_SLACK_BYTES);
        let declared = req.header("content-length");
        body::check_declared_length(declared.as_deref(), body_limit)?;
        *drain_limit = body::DRAIN_SLACK_BYTES;
    }
    let principal = authorize(route.access(), &config, req).await?;
    // Only a caller the route admits gets its body drained in full: a stranger's 401 reads
    // no more than the slack.
    *drain_limit = body_limit.saturating_add(body::DRAIN_SLACK_BYTES);
    respond_to(route, principal, req, env, &config, body, body_limit).await
}

async fn respond_to(
    route: Route,
    principal: Option<Principal>,
    req: &Incoming,
    env: &Env,
    config: &Config,
    body: &SharedBody,
    body_limit: u64,
) -> Result<Answer, ApiError> {
    let who = match &principal {
        Some(Principal::Client { token, .. }) => Who::Client { token },
        // Superadmins, and the one public route that reaches here (login, which reads
        // credentials as the service role).
        _ => Who::Service,
    };
    let header = |name: &str| req.header(name);
    let query = crate::api::data::query_pairs(&req.url);
    refuse_nul_bytes(&query)?;
    let rpc = FetchRpc { config };
    let upload = |query| uploads::UploadRequest {
        content_type: header("content-type"),
        idempotency_key: header("idempotency-key"),
        query,
        body: body.stream(),
    };
    let reply = match route {
        Route::Health | Route::OpenApi => unreachable!("answered before the configuration"),
        Route::Login => {
            let bytes = body.read_capped(body_limit).await?;
            let login = api::login::parse_login(&bytes)?;
            // Cloudflare sets CF-Connecting-IP on every request; a client cannot choose it.
            let address = header("cf-connecting-ip");
            api::login::throttle(&EnvLimiters(env), address.as_deref(), &login.email).await?;
            api::login::login(&rpc, config, login).await?
        }
        Route::DataRows { client_id } => {
            return Ok(Answer::Text(
                api::data::rows(&rpc, who, &client_id, &query).await?,
            ))
        }
        Route::DataCount { client_id } => api::data::count(&rpc, who, &client_id, &query).await?,
        Route::DataSchema { client_id } => api::data::schema(&rpc, who, &client_id).await?,
        Route::DataAggregate { client_id } => {
            api::data::aggregate(&rpc, who, &client_id, &query).await?
        }
        Route::DataProfile { client_id } => {
            api::data::profile(&rpc, who, &client_id, &query).await?
        }
        Route::DataExport { client_id } => {
            let q = export::ExportQuery::parse(&query)?;
            let caller = export::Caller::of(who);
            return Ok(Answer::Download(
                export::start(config.clone(), caller, client_id, q).await?,
            ));
        }
        Route::ListClients => api::clients::list(&rpc, &query).await?,
        Route::Inspect => {
            let content_type = header("content-type");
            api::inspect::inspect(content_type.as_deref(), &query, body.stream(), body_limit)
                .await?
        }
        Route::CreateClient => {
            let target = uploads::Target::Create;
            uploads::upload(&rpc, &auth::WebCrypto, body_limit, upload(query), target).await?
        }
        Route::AppendData { client_id } => {
            let target = uploads::Target::Append {
                client_id: &client_id,
                who,
            };
            uploads::upload(&rpc, &auth::WebCrypto, body_limit, upload(query), target).await?
        }
        Route::DeleteClient { client_id } => {
            api::clients::delete(&rpc, &client_id).await?;
            return Ok(Answer::NoContent);
        }
    };
    Ok(Answer::Json(reply))
}

/// The `[[ratelimits]]` bindings of wrangler.toml. A missing binding is a configuration error
/// (500 naming it): a login without its throttle must not go unnoticed.
struct EnvLimiters<'a>(&'a Env);

impl api::login::Limiter for EnvLimiters<'_> {
    async fn allow(&self, binding: &'static str, key: &str) -> Result<bool, ApiError> {
        let limiter = self.0.rate_limiter(binding).map_err(|_| {
            ApiError::config_missing(binding, "not bound (wrangler.toml [[ratelimits]])")
        })?;
        let outcome = limiter
            .limit(key.to_owned())
            .await
            .map_err(|e| ApiError::internal(format!("rate limiter {binding}: {e}")))?;
        Ok(outcome.success)
    }
}

/// PostgreSQL text cannot hold U+0000: a NUL in a query parameter would reach the database as a
/// 500. Refused here once, for every route, naming the parameter.
fn refuse_nul_bytes(query: &[(String, String)]) -> Result<(), ApiError> {
    for (name, value) in query {
        if name.contains('\0') || value.contains('\0') {
            let shown = name.replace('\0', "\\0");
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("query parameter `{shown}` contains a NUL byte (%00)"),
            )
            .with_details(json!({ "parameter": shown })));
        }
    }
    Ok(())
}

/// Enforces `access`: `None` for a public route, else the verified caller it allows.
async fn authorize(
    access: Access,
    config: &Config,
    req: &Incoming,
) -> Result<Option<Principal>, ApiError> {
    if access == Access::Public {
        return Ok(None);
    }
    let header = req.header("authorization");
    let token = auth::jwt::bearer(header.as_deref())?.ok_or_else(ApiError::missing_token)?;
    let principal = auth::verify(config, token).await?;
    match (&principal, access) {
        (Principal::Anonymous, _) => Err(ApiError::not_a_user()),
        (Principal::Client { .. }, Access::AdminOnly) => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a superadmin may use this route",
        )),
        _ => Ok(Some(principal)),
    }
}

/// The request body as chunks; no body at all reads as an empty one.
fn body_stream(req: &mut Incoming) -> uploads::BodyStream {
    match req.body.take() {
        Some(stream) => {
            Box::pin(ByteStream::from(stream).map(|chunk| chunk.map_err(|e| e.to_string())))
        }
        None => Box::pin(futures_util::stream::empty()),
    }
}

/// CORS: any origin may call the API. Credentials are bearer tokens, never cookies, so a foreign
/// page gains nothing it could not do with the token itself.
fn cors_headers() -> Headers {
    let headers = Headers::new();
    let ok = headers.set("access-control-allow-origin", "*").is_ok()
        // Every answer: a browser must never guess HTML out of a JSON error or a CSV export.
        && headers.set("x-content-type-options", "nosniff").is_ok()
        && headers
            .set(
                "access-control-expose-headers",
                "www-authenticate, idempotent-replayed, content-disposition, retry-after",
            )
            .is_ok();
    if !ok {
        console_error!("could not set CORS headers");
    }
    headers
}

fn preflight() -> Response {
    let headers = cors_headers();
    let ok = headers
        .set("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
        .is_ok()
        && headers
            .set(
                "access-control-allow-headers",
                "authorization, content-type, idempotency-key",
            )
            .is_ok()
        && headers.set("access-control-max-age", "86400").is_ok();
    if !ok {
        console_error!("could not set preflight headers");
    }
    Response::builder()
        .with_status(204)
        .with_headers(headers)
        .empty()
}

/// Headers now, rows as the export reads them.
fn download_response(download: export::Download) -> Response {
    let headers = cors_headers();
    let ok = headers.set("content-type", download.content_type).is_ok()
        && headers
            .set("content-disposition", &download.content_disposition)
            .is_ok()
        // Tenant data: no shared cache may keep a copy.
        && headers.set("cache-control", "no-store").is_ok();
    if !ok {
        console_error!("could not set download headers");
    }
    match Response::builder()
        .with_status(200)
        .with_headers(headers)
        .from_stream(download.body)
    {
        Ok(response) => response,
        Err(e) => render_error(&ApiError::internal(format!("streaming the export: {e}"))),
    }
}

/// Headers only some answers carry.
#[derive(Default)]
struct ExtraHeaders {
    www_authenticate: Option<String>,
    retry_after: Option<u32>,
    /// Only the OpenAPI document: everything else is tenant data, a token or an error about one.
    cacheable: bool,
}

/// `Cache-Control: no-store`: rows, counts, schemas, exports and tokens are one caller's; no
/// browser or shared cache may keep a copy.
fn no_store(headers: Headers) -> Headers {
    if headers.set("cache-control", "no-store").is_err() {
        console_error!("could not set Cache-Control");
    }
    headers
}

/// The headers every JSON answer starts with: CORS, `nosniff`, the content type and (unless
/// `cacheable`) `no-store`. Built once per isolate and copied per answer: one JS call instead of
/// five `set` calls that each carry two strings across.
fn json_headers(cacheable: bool) -> Headers {
    thread_local! {
        static TEMPLATES: std::cell::RefCell<Option<[Headers; 2]>> =
            const { std::cell::RefCell::new(None) };
    }
    let build = |cacheable: bool| {
        let headers = cors_headers();
        let headers = if cacheable {
            headers
        } else {
            no_store(headers)
        };
        if headers
            .set("content-type", "application/json; charset=utf-8")
            .is_err()
        {
            console_error!("could not set Content-Type");
        }
        headers
    };
    TEMPLATES.with(|t| {
        let mut t = t.borrow_mut();
        let [uncached, cached] = t.get_or_insert_with(|| [build(false), build(true)]);
        let template = if cacheable { cached } else { uncached };
        match web_sys::Headers::new_with_headers(&template.0) {
            Ok(copy) => Headers(copy),
            Err(_) => build(cacheable),
        }
    })
}

fn render(status: u16, body: String, extra: ExtraHeaders) -> Response {
    let headers = json_headers(extra.cacheable);
    let mut ok = true;
    if let Some(v) = extra.www_authenticate {
        ok &= headers.set("www-authenticate", &v).is_ok();
    }
    if let Some(seconds) = extra.retry_after {
        ok &= headers.set("retry-after", &seconds.to_string()).is_ok();
    }
    if !ok {
        console_error!("could not set response headers");
    }
    Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}

/// The single place an error becomes HTTP. 5xx causes are logged here and never sent.
pub fn render_error(e: &ApiError) -> Response {
    if e.status() >= 500 {
        console_error!(
            "{} {}: {}",
            e.status(),
            e.code.as_str(),
            e.internal.as_deref().unwrap_or(&e.message)
        );
    }
    render(
        e.status(),
        e.body().to_string(),
        ExtraHeaders {
            www_authenticate: e.www_authenticate(),
            retry_after: e.retry_after(),
            ..ExtraHeaders::default()
        },
    )
}
