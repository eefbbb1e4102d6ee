//! Shared helpers: the stack's addresses and keys from the environment, token minting, and a
//! thin HTTP client for the Worker.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

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
            http: reqwest::Client::new(),
        };
        let health = stack
            .http
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
        let mut r = self.http.get(format!("{}{path}", self.worker_url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        Self::answer(r).await
    }

    /// `POST {worker}{path}` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut r = self
            .http
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
            .http
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

pub fn mint_hs256(secret: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length works for HMAC");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// An unsigned token (`alg: none`) over `claims`.
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
// Each test binary compiles this module on its own; binaries other than tests/jwks.rs don't sign.
#[allow(dead_code)]
pub struct SigningKey {
    pub alg: jsonwebtoken::Algorithm,
    pub kid: String,
    pub private_key_file: String,
    encoding: jsonwebtoken::EncodingKey,
}

#[allow(dead_code)]
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
