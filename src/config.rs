//! The Worker's configuration, read from `Env` into one typed value (cached per isolate by
//! `handlers`: vars and secrets cannot change while an isolate lives).
//!
//! Parsing takes a lookup function, not `Env`, so it is tested natively; a missing or invalid
//! variable is a `config_missing` error naming it, never a panic.

use crate::error::ApiError;

/// A key sent upstream as `apikey`. Legacy keys are JWTs and double as the bearer token;
/// Supabase's new `sb_publishable_…`/`sb_secret_…` keys are opaque and are sent as `apikey` only.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiKey {
    LegacyJwt(String),
    Opaque(String),
}

impl ApiKey {
    fn parse(value: String) -> ApiKey {
        if value.starts_with("sb_") || value.split('.').count() != 3 {
            ApiKey::Opaque(value)
        } else {
            ApiKey::LegacyJwt(value)
        }
    }

    pub fn value(&self) -> &str {
        match self {
            ApiKey::LegacyJwt(v) | ApiKey::Opaque(v) => v,
        }
    }

    /// The bearer token this key can act as, if it is a JWT.
    pub fn as_bearer(&self) -> Option<&str> {
        match self {
            ApiKey::LegacyJwt(v) => Some(v),
            ApiKey::Opaque(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// PostgREST root, e.g. `http://127.0.0.1:54321/rest/v1` (no trailing slash).
    pub rest_url: String,
    pub anon_key: ApiKey,
    pub service_key: ApiKey,
    pub jwt_secret: String,
    pub jwks_url: Option<String>,
    pub jwt_aud: String,
    pub token_ttl_seconds: u64,
    /// Largest upload body accepted, counted as bytes arrive (413 beyond it).
    pub max_upload_bytes: u64,
}

/// `MAX_UPLOAD_BYTES` default: a 100 MiB file plus room for multipart framing and fields.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 101 * 1024 * 1024;

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ApiError> {
        let required = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ApiError::config_missing(name, "not set"))
        };
        let optional = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let supabase_url = required("SUPABASE_URL")?;
        if !(supabase_url.starts_with("http://") || supabase_url.starts_with("https://")) {
            return Err(ApiError::config_missing(
                "SUPABASE_URL",
                "not an http(s) URL",
            ));
        }
        let jwt_secret = required("SUPABASE_JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(ApiError::config_missing(
                "SUPABASE_JWT_SECRET",
                "shorter than 32 characters",
            ));
        }
        let token_ttl_seconds = match optional("TOKEN_TTL_SECONDS") {
            None => 3600,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (60..=604_800).contains(n))
                .ok_or_else(|| {
                    ApiError::config_missing(
                        "TOKEN_TTL_SECONDS",
                        "not a number of seconds in 60..=604800",
                    )
                })?,
        };
        let max_upload_bytes = match optional("MAX_UPLOAD_BYTES") {
            None => DEFAULT_MAX_UPLOAD_BYTES,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    ApiError::config_missing(
                        "MAX_UPLOAD_BYTES",
                        "not a number of bytes of at least 1024",
                    )
                })?,
        };
        Ok(Config {
            rest_url: format!("{}/rest/v1", supabase_url.trim_end_matches('/')),
            anon_key: ApiKey::parse(required("SUPABASE_ANON_KEY")?),
            service_key: ApiKey::parse(required("SUPABASE_SERVICE_ROLE_KEY")?),
            jwt_secret,
            jwks_url: optional("SUPABASE_JWKS_URL"),
            jwt_aud: optional("JWT_AUD").unwrap_or_else(|| "authenticated".to_owned()),
            token_ttl_seconds,
            max_upload_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("SUPABASE_URL", "http://127.0.0.1:54321/"),
            ("SUPABASE_ANON_KEY", "a.b.c"),
            ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_xyz"),
            (
                "SUPABASE_JWT_SECRET",
                "0123456789abcdef0123456789abcdef0123",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.to_string());
        }
        m
    }

    fn load(m: &HashMap<String, String>) -> Result<Config, ApiError> {
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_key_kinds() {
        let c = load(&vars(&[])).unwrap();
        assert_eq!(c.rest_url, "http://127.0.0.1:54321/rest/v1");
        assert_eq!(c.jwt_aud, "authenticated");
        assert_eq!(c.token_ttl_seconds, 3600);
        assert_eq!(c.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
        let small = load(&vars(&[("MAX_UPLOAD_BYTES", "2048")])).unwrap();
        assert_eq!(small.max_upload_bytes, 2048);
        let e = load(&vars(&[("MAX_UPLOAD_BYTES", "lots")])).unwrap_err();
        assert!(e.message.contains("MAX_UPLOAD_BYTES"));
        assert_eq!(c.anon_key.as_bearer(), Some("a.b.c"));
        assert_eq!(c.service_key.as_bearer(), None);
        assert_eq!(c.service_key.value(), "sb_secret_xyz");
    }

    #[test]
    fn missing_variable_is_named() {
        let mut m = vars(&[]);
        m.remove("SUPABASE_JWT_SECRET");
        let e = load(&m).unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigMissing);
        assert!(e.message.contains("SUPABASE_JWT_SECRET"), "{}", e.message);
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert!(load(&vars(&[("SUPABASE_URL", "localhost:1")])).is_err());
        assert!(load(&vars(&[("TOKEN_TTL_SECONDS", "forever")])).is_err());
        assert!(load(&vars(&[("SUPABASE_JWT_SECRET", "short")])).is_err());
        assert_eq!(
            load(&vars(&[("TOKEN_TTL_SECONDS", "600")]))
                .unwrap()
                .token_ttl_seconds,
            600
        );
    }
}
