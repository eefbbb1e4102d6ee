//! Configuration from the environment, exactly the variables of the "data API configuration"
//! table in docs/ARCHITECTURE.md.

use std::str::FromStr;

use jsonwebtoken::jwk::JwkSet;

/// Everything the server needs to run; built by [`Config::from_env`] or directly by tests.
#[derive(Clone)]
pub struct Config {
    /// Where to connect; the server logs in as `authenticator` and switches role per request.
    pub db: tokio_postgres::Config,
    /// `host:port` to listen on.
    pub listen: String,
    /// HS256 secret (Supabase's legacy JWT secret).
    pub jwt_secret: String,
    /// The legacy anon key (an HS256 JWT), accepted in `apikey`.
    pub anon_key: String,
    /// The legacy service-role key (an HS256 JWT), accepted in `apikey`.
    pub service_role_key: String,
    /// New-style `sb_publishable_…` key: acts as `anon`.
    pub publishable_key: Option<String>,
    /// New-style `sb_secret_…` key: acts as `service_role`.
    pub secret_key: Option<String>,
    /// Public keys for ES256/RS256 tokens (Supabase's asymmetric signing keys).
    pub jwks: Option<JwkSet>,
    /// When set, a token's `aud` must contain it.
    pub jwt_aud: Option<String>,
    /// Maximum pooled connections.
    pub pool_size: usize,
    /// Request bodies above this many bytes get 413.
    pub max_body_bytes: usize,
    /// Rows a read or a set-returning call answers at most (Supabase's `db-max-rows`).
    pub max_rows: i64,
}

/// A configuration problem: `code` is stable, `message` says what to set.
#[derive(Debug)]
pub struct ConfigError {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:54321";
pub const DEFAULT_POOL_SIZE: usize = 10;
pub const DEFAULT_MAX_BODY_BYTES: usize = 104_857_600;
/// Supabase's default "Max rows" (PostgREST `db-max-rows`).
pub const DEFAULT_MAX_ROWS: usize = 1000;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| {
            lookup(name).ok_or_else(|| ConfigError {
                code: "config_missing",
                message: format!(
                    "{name} is required (see docs/ARCHITECTURE.md, data API configuration)"
                ),
            })
        };
        let db_url = required("DATA_API_DB_URL")?;
        let db = tokio_postgres::Config::from_str(&db_url).map_err(|e| ConfigError {
            code: "config_invalid",
            message: format!("DATA_API_DB_URL is not a PostgreSQL URL: {e}"),
        })?;
        let number = |name: &str, default: usize| -> Result<usize, ConfigError> {
            match lookup(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError {
                        code: "config_invalid",
                        message: format!("{name} must be a positive integer, got {v:?}"),
                    }),
            }
        };
        let jwks = match lookup("DATA_API_JWKS_FILE") {
            None => None,
            Some(path) => Some(load_jwks(&path)?),
        };
        Ok(Config {
            db,
            listen: lookup("DATA_API_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            jwt_secret: required("JWT_SECRET")?,
            anon_key: required("ANON_KEY")?,
            service_role_key: required("SERVICE_ROLE_KEY")?,
            publishable_key: lookup("DATA_API_PUBLISHABLE_KEY"),
            secret_key: lookup("DATA_API_SECRET_KEY"),
            jwks,
            jwt_aud: lookup("DATA_API_JWT_AUD"),
            pool_size: number("DATA_API_POOL_SIZE", DEFAULT_POOL_SIZE)?,
            max_body_bytes: number("DATA_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            max_rows: number("DATA_API_MAX_ROWS", DEFAULT_MAX_ROWS)? as i64,
        })
    }
}

/// Reads a JWKS document (`{"keys": [...]}`) from a file.
pub fn load_jwks(path: &str) -> Result<JwkSet, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        code: "config_invalid",
        message: format!("DATA_API_JWKS_FILE {path}: cannot read: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| ConfigError {
        code: "config_invalid",
        message: format!(
            "DATA_API_JWKS_FILE {path}: not a JWKS document ({{\"keys\": [...]}}): {e}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const MINIMAL: &[(&str, &str)] = &[
        (
            "DATA_API_DB_URL",
            "postgresql://authenticator@127.0.0.1:54322/postgres",
        ),
        ("JWT_SECRET", "a-secret-of-at-least-thirty-two-characters"),
        ("ANON_KEY", "anon.jwt.key"),
        ("SERVICE_ROLE_KEY", "service.jwt.key"),
    ];

    #[test]
    fn defaults_match_the_architecture_table() {
        let config = Config::from_lookup(lookup(MINIMAL)).expect("minimal config is valid");
        assert_eq!(config.listen, "127.0.0.1:54321");
        assert_eq!(config.pool_size, 10);
        assert_eq!(config.max_body_bytes, 104_857_600);
        assert_eq!(config.max_rows, 1000);
        assert!(config.jwks.is_none() && config.jwt_aud.is_none());
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let pairs: Vec<_> = MINIMAL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "JWT_SECRET")
            .collect();
        let err = Config::from_lookup(lookup(&pairs))
            .err()
            .expect("must fail");
        assert_eq!(err.code, "config_missing");
        assert!(err.message.contains("JWT_SECRET"));
    }

    #[test]
    fn pool_size_must_be_positive() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("DATA_API_POOL_SIZE", "0"));
        let err = Config::from_lookup(lookup(&pairs))
            .err()
            .expect("must fail");
        assert!(err.message.contains("DATA_API_POOL_SIZE"));
    }
}
