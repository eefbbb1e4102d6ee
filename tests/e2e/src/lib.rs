//! End-to-end tests of hybrid-store against a running stack: the Worker in workerd, the data API
//! and PostgreSQL. The tests live in `tests/`; run them with `cargo test -p e2e` after
//! `cargo xtask up` (they read `.local/stack.env`'s variables from the environment), or let
//! `cargo xtask test` run them against a throwaway stack.
//!
//! This library is what every test file shares: the stack's addresses and keys ([`Stack`]), the
//! one HTTP client builder they all use ([`http_client`], held by [`Stack::http`]), token signing with
//! `jsonwebtoken` ([`mint_hs256`], [`SigningKey`]), CSV with the csv crate ([`csv_bytes`]), multipart bodies
//! with reqwest's ([`multipart`]) and small
//! helpers for names and pages.
//!
//! Design decision: the tests talk HTTP to the Worker only, except where they must prove the
//! database holds on its own (the data API directly) or that nothing was left behind (SQL), and
//! they FAIL, never skip, when the stack is not there.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// Longer than any single request of the suite takes (a 100 MB upload on a busy machine), so a
/// hung Worker fails the test instead of hanging the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The one way the tests build an HTTP client (each [`Stack`] holds one, see [`Stack::http`]).
/// Not a process-wide static: each `#[tokio::test]` has its own runtime, and a pooled connection
/// must not outlive the runtime that drives it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client with a timeout")
}

const VARS: [&str; 6] = [
    "WORKER_URL",
    "API_URL",
    "DB_URL",
    "JWT_SECRET",
    "ANON_KEY",
    "SERVICE_ROLE_KEY",
];

pub struct Stack {
    pub worker_url: String,
    pub api_url: String,
    pub db_url: String,
    pub jwt_secret: String,
    pub anon_key: String,
    pub service_role_key: String,
    http: reqwest::Client,
}

/// An HTTP answer, body decoded as JSON (Null when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

impl Stack {
    /// Reads the stack's variables and checks the Worker answers; panics with what to do if not.
    pub async fn connect() -> Stack {
        let missing: Vec<&str> = VARS
            .iter()
            .copied()
            .filter(|v| std::env::var(v).map_or(true, |s| s.is_empty()))
            .collect();
        assert!(
            missing.is_empty(),
            "e2e tests need a running stack; missing env: {}.\n\
             Start one with `cargo xtask up`, then `set -a; . .local/stack.env; set +a; cargo test -p e2e` \
             (or run everything with `cargo xtask test`).",
            missing.join(", ")
        );
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let stack = Stack {
            worker_url: var("WORKER_URL").trim_end_matches('/').to_owned(),
            api_url: var("API_URL").trim_end_matches('/').to_owned(),
            db_url: var("DB_URL"),
            jwt_secret: var("JWT_SECRET"),
            anon_key: var("ANON_KEY"),
            service_role_key: var("SERVICE_ROLE_KEY"),
            http: http_client(),
        };
        let health = stack
            .http()
            .get(format!("{}/health", stack.worker_url))
            .send()
            .await;
        match health {
            Ok(r) if r.status() == 200 => {}
            Ok(r) => panic!(
                "Worker at {} answered {} on /health; is the stack up (`cargo xtask up`)?",
                stack.worker_url,
                r.status()
            ),
            Err(e) => panic!(
                "Worker at {} is unreachable ({e}); start the stack with `cargo xtask up`",
                stack.worker_url
            ),
        }
        stack
    }

    /// This stack's HTTP client (built by [`http_client`]), for requests the helpers below do
    /// not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request to the stack failed");
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("reading the body");
        Answer {
            status,
            www_authenticate,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// `GET {worker}{path}` with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut r = self.http().get(format!("{}{path}", self.worker_url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Self::answer(r).await
    }

    /// `POST {worker}{path}` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut r = self
            .http()
            .post(format!("{}{path}", self.worker_url))
            .json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Self::answer(r).await
    }

    /// Calls an RPC on the data API directly (not through the Worker) as `token`.
    pub async fn rpc_direct(&self, function: &str, token: &str, args: &Value) -> Answer {
        let r = self
            .http()
            .post(format!("{}/rest/v1/rpc/{function}", self.api_url))
            .header("apikey", &self.anon_key)
            .bearer_auth(token)
            .json(args);
        Self::answer(r).await
    }

    /// Creates a client through the Worker as superadmin; panics unless 201.
    pub async fn create_client(&self, body: &Value) -> Value {
        let a = self
            .post(
                "/api/superadmin/clients",
                Some(&self.service_role_key),
                body,
            )
            .await;
        assert_eq!(a.status, 201, "create client: {:?}", a.body);
        a.body
    }

    /// Logs in through the Worker; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let a = self
            .post(
                "/api/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(a.status, 200, "login {email}: {:?}", a.body);
        assert_eq!(a.body["token_type"], "bearer");
        assert!(a.body["expires_in"].as_u64().unwrap_or(0) > 0);
        a.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// An HS256 token over `claims` signed with the stack's JWT secret.
    pub fn mint(&self, claims: &Value) -> String {
        mint_hs256(self.jwt_secret.as_bytes(), claims)
    }

    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.db_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DB_URL {}: {e}", self.db_url));
        tokio::spawn(connection);
        client
    }
}

/// An HS256 token over `claims` signed with `secret` (the stack's, or a wrong one on purpose).
pub fn mint_hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing")
}

/// An unsigned token (`alg: none`) over `claims`: written by hand, as no JWT library makes one.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A value unique to this test process and call, for emails and company names.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// CSV (LF line ends) of `records`, header first if there is one, as the csv crate writes it:
/// fields with commas, quotes or line breaks are quoted, everything else goes out as written.
pub fn csv_bytes<R, F>(records: impl IntoIterator<Item = R>) -> Vec<u8>
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for record in records {
        writer.write_record(record).expect("writing CSV to memory");
    }
    writer.into_inner().expect("flushing CSV to memory")
}

/// A `multipart/form-data` body as reqwest writes it: text fields, then optionally the part
/// named `file` as (file name, content type, bytes). Returns (content type, body), so a test can
/// also send the bytes cut short.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    use reqwest::blocking::multipart::{Form, Part};
    use std::io::Read;
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((filename, content_type, bytes)) = file {
        let part = Part::bytes(bytes.to_vec())
            .file_name(filename.to_owned())
            .mime_str(content_type)
            .expect("a valid content type");
        form = form.part("file", part);
    }
    let content_type = format!("multipart/form-data; boundary={}", form.boundary());
    let mut body = Vec::new();
    form.into_reader()
        .read_to_end(&mut body)
        .expect("an in-memory form reads");
    (content_type, body)
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `data` objects of a page, in order.
pub fn rows(page: &Value) -> Vec<Value> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|r| r["data"].clone())
        .collect()
}

/// One of the stack's asymmetric signing keys (`cargo xtask up` writes their files and kids to
/// `.local/stack.env`): `alg` is `ES256` or `RS256`.
pub struct SigningKey {
    pub alg: jsonwebtoken::Algorithm,
    pub kid: String,
    pub private_key_file: String,
    encoding: jsonwebtoken::EncodingKey,
}

impl SigningKey {
    /// The stack's ES256 key (`JWT_ES256_PRIVATE_KEY_FILE`, `JWT_ES256_KID`).
    pub fn es256() -> SigningKey {
        Self::from_env(jsonwebtoken::Algorithm::ES256, "ES256")
    }

    /// The stack's RS256 key (`JWT_RS256_PRIVATE_KEY_FILE`, `JWT_RS256_KID`).
    pub fn rs256() -> SigningKey {
        Self::from_env(jsonwebtoken::Algorithm::RS256, "RS256")
    }

    fn from_env(alg: jsonwebtoken::Algorithm, name: &str) -> SigningKey {
        let var = |suffix: &str| {
            let key = format!("JWT_{name}_{suffix}");
            std::env::var(&key).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
                panic!(
                    "e2e tests need the stack's signing keys; missing env: {key}.\n\
                     Start the stack with `cargo xtask up`, then `set -a; . .local/stack.env; set +a` \
                     (or run everything with `cargo xtask test`)."
                )
            })
        };
        let private_key_file = var("PRIVATE_KEY_FILE");
        let pem = std::fs::read(&private_key_file)
            .unwrap_or_else(|e| panic!("cannot read {private_key_file}: {e}"));
        let encoding = match alg {
            jsonwebtoken::Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(&pem),
            _ => jsonwebtoken::EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap_or_else(|e| panic!("{private_key_file} is not a {name} private key (PEM): {e}"));
        SigningKey {
            alg,
            kid: var("KID"),
            private_key_file,
            encoding,
        }
    }

    /// A token over `claims` signed with this key, naming its own kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// A token over `claims` signed with this key but naming `kid` in its header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .unwrap_or_else(|e| panic!("signing with {}: {e}", self.private_key_file))
    }
}
