//! Harness for the integration tests: a fresh database per test (bootstrap + fixtures) on the
//! PostgreSQL named by `DATA_API_TEST_DB_URL`, and the real server on an ephemeral port in the
//! test's runtime. Dropping the [`Stack`] stops the server and drops the database.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use data_api::Config;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_postgres::NoTls;

pub const JWT_SECRET: &str = "integration-test-secret-with-more-than-32-chars";
pub const PUBLISHABLE_KEY: &str = "sb_publishable_test_0123456789";
pub const SECRET_KEY: &str = "sb_secret_test_0123456789";

/// The fixture schema: generic functions and tables exercising PostgREST behaviours (not the
/// project's migrations).
pub const FIXTURES: &str = include_str!("fixtures.sql");

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);
/// Roles are cluster-wide: applying the bootstrap from parallel tests at once could race.
static BOOTSTRAP_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn sign_hs256(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("HS256 signing with a secret cannot fail")
}

pub fn fixture_path(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(name)
}

fn crate_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Signs with a test private key from tests/fixtures, naming `kid`.
pub fn sign_with_fixture_key(alg: Algorithm, pem_file: &str, kid: &str, claims: Value) -> String {
    let pem = std::fs::read(fixture_path(pem_file)).expect("fixture key file is committed");
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .expect("fixture key is a valid PEM");
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    encode(&header, &claims, &key).expect("signing with a fixture key")
}

fn admin_url() -> String {
    std::env::var("DATA_API_TEST_DB_URL").unwrap_or_else(|_| {
        panic!(
            "DATA_API_TEST_DB_URL is not set: these tests need a running PostgreSQL 15 superuser URL \
             with dev/supabase-bootstrap.sql applied (cargo xtask test provides one), e.g. \
             DATA_API_TEST_DB_URL=postgresql://postgres@127.0.0.1:54322/postgres"
        )
    })
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(NoTls).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to the test PostgreSQL ({:?}): {e}",
            config.get_dbname()
        )
    });
    tokio::spawn(connection);
    client
}

/// A running server over a fresh database.
pub struct Stack {
    pub base: String,
    pub anon_key: String,
    pub service_role_key: String,
    pub http: reqwest::Client,
    admin: tokio_postgres::Config,
    db_name: String,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Changes to the server configuration a test needs.
pub type Customize = fn(&mut Config);

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(|_| {}).await
    }

    pub async fn start_with(customize: Customize) -> Stack {
        let admin = tokio_postgres::Config::from_str(&admin_url())
            .expect("DATA_API_TEST_DB_URL must be a PostgreSQL URL");
        let db_name = format!(
            "data_api_test_{}_{}_{}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::SeqCst),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin_client = connect(&admin).await;
        admin_client
            .batch_execute(&format!("create database \"{db_name}\""))
            .await
            .unwrap_or_else(|e| panic!("create database {db_name}: {e}"));
        let mut db_admin = admin.clone();
        db_admin.dbname(&db_name);
        let db = connect(&db_admin).await;
        let bootstrap =
            std::fs::read_to_string(crate_dir().join("../../dev/supabase-bootstrap.sql"))
                .expect("dev/supabase-bootstrap.sql is in the repository");
        {
            let _guard = BOOTSTRAP_LOCK.lock().await;
            db.batch_execute(&bootstrap)
                .await
                .unwrap_or_else(|e| panic!("bootstrap: {e}"));
        }
        db.batch_execute(FIXTURES)
            .await
            .unwrap_or_else(|e| panic!("fixtures: {e}"));

        let mut server_db = db_admin.clone();
        server_db.user("authenticator");
        let anon_key =
            sign_hs256(json!({"role": "anon", "iss": "supabase-local", "exp": now() + 3600}));
        let service_role_key = sign_hs256(
            json!({"role": "service_role", "iss": "supabase-local", "exp": now() + 3600}),
        );
        let mut config = Config {
            db: server_db,
            listen: "127.0.0.1:0".into(),
            jwt_secret: JWT_SECRET.into(),
            anon_key: anon_key.clone(),
            service_role_key: service_role_key.clone(),
            publishable_key: Some(PUBLISHABLE_KEY.into()),
            secret_key: Some(SECRET_KEY.into()),
            jwks: Some(
                data_api::config::load_jwks(&fixture_path("jwks.json").to_string_lossy())
                    .expect("fixture JWKS"),
            ),
            jwt_aud: None,
            pool_size: 4,
            max_body_bytes: data_api::config::DEFAULT_MAX_BODY_BYTES,
            max_rows: data_api::config::DEFAULT_MAX_ROWS as i64,
        };
        customize(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let base = format!("http://{}", listener.local_addr().expect("bound address"));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            if let Err(e) = data_api::serve(config, listener, async move {
                let _ = rx.await;
            })
            .await
            {
                panic!("server failed: {e}");
            }
        });
        let stack = Stack {
            base,
            anon_key,
            service_role_key,
            http: reqwest::Client::new(),
            admin,
            db_name,
            shutdown: Some(tx),
        };
        stack.wait_ready().await;
        stack
    }

    /// Polls `GET /` (the readiness endpoint) until 200, for at most 15 s.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = self.http.get(format!("{}/", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the data API did not become ready within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A superuser connection to this test's database (to prepare or inspect data).
    pub async fn db(&self) -> tokio_postgres::Client {
        let mut config = self.admin.clone();
        config.dbname(&self.db_name);
        connect(&config).await
    }

    /// POST /rest/v1/rpc/{function} with the service-role key as apikey and `auth` as bearer.
    pub fn post(&self, function: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/rest/v1/rpc/{function}", self.base))
            .header("apikey", &self.anon_key)
    }

    pub fn get(&self, function_and_query: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/rest/v1/rpc/{function_and_query}", self.base))
            .header("apikey", &self.anon_key)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let admin = self.admin.clone();
        let db_name = self.db_name.clone();
        // Drop runs inside the test's runtime; a separate thread with its own runtime can block.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) =
                    admin.connect(NoTls).await.map_err(std::io::Error::other)?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!(
                        "drop database if exists \"{db_name}\" with (force)"
                    ))
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: could not drop test database {}: {dropped:?}",
                self.db_name
            );
        }
    }
}

/// Status, headers and JSON body (Null when empty) of a response.
pub async fn parts(response: reqwest::Response) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    (status, headers, body)
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
