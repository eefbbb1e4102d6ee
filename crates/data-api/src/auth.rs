//! Authentication as Supabase layers it: the gateway checks the `apikey` header, then PostgREST
//! verifies the bearer JWT and takes the database role from its `role` claim.
//!
//! Signatures are checked by `jsonwebtoken`; the time and audience claims are checked here so
//! the skew (30 s, PostgREST's) and the error messages match PostgREST exactly.

use axum::http::StatusCode;
use base64_url::decode_segment;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::ApiError;

/// PostgREST's allowed clock skew for `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW_SECONDS: i64 = 30;

/// Who a request runs as.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The database role (`SET LOCAL ROLE`).
    pub role: String,
    /// What `request.jwt.claims` holds.
    pub claims: Value,
}

impl Identity {
    /// PostgREST answers 42501 with 401 for the anonymous role and 403 for everyone else.
    pub fn is_anonymous(&self) -> bool {
        self.role == ANON_ROLE
    }
}

pub const ANON_ROLE: &str = "anon";
pub const SERVICE_ROLE: &str = "service_role";

/// The verifier, built once from [`Config`].
pub struct Authenticator {
    hs_key: DecodingKey,
    jwks: Option<JwkSet>,
    aud: Option<String>,
    anon_key: String,
    service_role_key: String,
    publishable_key: Option<String>,
    secret_key: Option<String>,
}

/// Which accepted API key a request presented.
enum ApiKey<'a> {
    /// A legacy key: a JWT whose claims apply when there is no `Authorization`.
    Legacy(&'a str),
    /// An `sb_publishable_`/`sb_secret_` key: stands for a fixed role.
    Opaque(&'static str),
}

impl Authenticator {
    pub fn new(config: &Config) -> Self {
        Authenticator {
            hs_key: DecodingKey::from_secret(config.jwt_secret.as_bytes()),
            jwks: config.jwks.clone(),
            aud: config.jwt_aud.clone(),
            anon_key: config.anon_key.clone(),
            service_role_key: config.service_role_key.clone(),
            publishable_key: config.publishable_key.clone(),
            secret_key: config.secret_key.clone(),
        }
    }

    /// Decides the identity of a request from its `apikey` and `Authorization` values.
    /// `now` is the Unix time in seconds.
    pub fn authenticate(
        &self,
        apikey: Option<&str>,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Identity, ApiError> {
        let apikey = apikey.ok_or_else(|| {
            ApiError::gateway(StatusCode::UNAUTHORIZED, "No API key found in request")
                .with_hint("No `apikey` request header or url param was found.")
        })?;
        let key = self
            .classify_key(apikey)
            .ok_or_else(|| ApiError::gateway(StatusCode::UNAUTHORIZED, "Invalid API key"))?;

        if let Some(token) = authorization.and_then(bearer_token) {
            // Supabase's clients send an opaque key as the bearer too; the gateway swaps it for
            // the role it stands for.
            return match self.opaque_role(token) {
                Some(role) => Ok(role_identity(role)),
                None => self.identity_from_jwt(token, now),
            };
        }
        match key {
            ApiKey::Legacy(jwt) => self.identity_from_jwt(jwt, now),
            ApiKey::Opaque(role) => Ok(role_identity(role)),
        }
    }

    fn classify_key<'a>(&self, apikey: &'a str) -> Option<ApiKey<'a>> {
        // Both compared, always: which one matched must not show in the time taken either.
        let is_anon = keys_equal(apikey, &self.anon_key);
        let is_service_role = keys_equal(apikey, &self.service_role_key);
        if is_anon | is_service_role {
            Some(ApiKey::Legacy(apikey))
        } else {
            self.opaque_role(apikey).map(ApiKey::Opaque)
        }
    }

    fn opaque_role(&self, key: &str) -> Option<&'static str> {
        let matches = |configured: &Option<String>| {
            configured
                .as_deref()
                .is_some_and(|configured| keys_equal(key, configured))
        };
        let (is_publishable, is_secret) =
            (matches(&self.publishable_key), matches(&self.secret_key));
        if is_publishable {
            Some(ANON_ROLE)
        } else if is_secret {
            Some(SERVICE_ROLE)
        } else {
            None
        }
    }

    fn identity_from_jwt(&self, token: &str, now: i64) -> Result<Identity, ApiError> {
        let claims = self.verify(token, now)?;
        let role = match claims.get("role") {
            None | Some(Value::Null) => ANON_ROLE.to_string(),
            Some(Value::String(role)) => role.clone(),
            Some(_) => return Err(claims_error("Parsing claims failed")),
        };
        Ok(Identity { role, claims })
    }

    /// Verifies signature and claims; returns the claims object.
    pub fn verify(&self, token: &str, now: i64) -> Result<Value, ApiError> {
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(decode_error(&format!(
                "Expected 3 parts in JWT; got {parts}"
            )));
        }
        let header = token.split('.').next().and_then(decode_segment);
        let header: Value = header
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| decode_error("JWT cryptographic operation failed"))?;
        let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("none");
        let alg: Algorithm = serde_json::from_value(json!(alg_name))
            .map_err(|_| decode_error("Wrong or unsupported encoding algorithm"))?;
        let kid = header.get("kid").and_then(Value::as_str);

        let keys = self.candidate_keys(alg, kid)?;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = keys
            .iter()
            .find_map(|key| jsonwebtoken::decode::<Value>(token, key, &validation).ok())
            .map(|data| data.claims)
            .ok_or_else(|| decode_error("JWT cryptographic operation failed"))?;
        if !claims.is_object() {
            return Err(claims_error("Parsing claims failed"));
        }
        validate_claims(&claims, self.aud.as_deref(), now)?;
        Ok(claims)
    }

    /// HS* tokens use the secret; asymmetric ones the JWKS key named by `kid`, or, without a
    /// `kid`, every JWKS key of the right type.
    fn candidate_keys(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Vec<DecodingKey>, ApiError> {
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Ok(vec![self.hs_key.clone()]);
        }
        let no_key = || decode_error("No suitable key or wrong key type");
        let jwks = self.jwks.as_ref().ok_or_else(no_key)?;
        let matching: Vec<&Jwk> = match kid {
            Some(kid) => jwks.find(kid).into_iter().collect(),
            None => jwks.keys.iter().collect(),
        };
        let keys: Vec<DecodingKey> = matching
            .into_iter()
            .filter(|jwk| {
                jwk.common
                    .key_algorithm
                    .is_none_or(|a| a.to_string() == format!("{alg:?}"))
            })
            .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
            .filter(|key| key.family() == alg.family())
            .collect();
        if keys.is_empty() {
            return Err(no_key());
        }
        Ok(keys)
    }
}

fn role_identity(role: &str) -> Identity {
    Identity {
        role: role.to_string(),
        claims: json!({ "role": role }),
    }
}

fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `exp`/`nbf`/`iat` with PostgREST's skew, and `aud` when one is configured (a token without
/// `aud` passes, as in PostgREST; Supabase's anon key has none).
pub fn validate_claims(claims: &Value, aud: Option<&str>, now: i64) -> Result<(), ApiError> {
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(|f| Some(f as i64))
                .ok_or_else(|| claims_error(&format!("The JWT '{name}' claim must be a number"))),
        }
    };
    if let Some(exp) = time("exp")? {
        if now - CLOCK_SKEW_SECONDS > exp {
            return Err(claims_error("JWT expired"));
        }
    }
    if let Some(nbf) = time("nbf")? {
        if now + CLOCK_SKEW_SECONDS < nbf {
            return Err(claims_error("JWT not yet valid"));
        }
    }
    if let Some(iat) = time("iat")? {
        if now + CLOCK_SKEW_SECONDS < iat {
            return Err(claims_error("JWT issued at future"));
        }
    }
    if let Some(expected) = aud {
        let ok = match claims.get("aud") {
            None | Some(Value::Null) => true,
            Some(Value::String(a)) => a == expected,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
            Some(_) => {
                return Err(claims_error(
                    "The JWT 'aud' claim must be a string or an array of strings",
                ))
            }
        };
        if !ok {
            return Err(claims_error("JWT not in audience"));
        }
    }
    Ok(())
}

fn invalid_token(code: &str, message: &str) -> ApiError {
    let mut err = ApiError::postgrest(StatusCode::UNAUTHORIZED, code, message);
    err.www_authenticate = Some(format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        message.replace('"', "'")
    ));
    err
}

/// PGRST301: the token cannot be decoded or its signature does not verify.
fn decode_error(message: &str) -> ApiError {
    invalid_token("PGRST301", message)
}

/// PGRST303: the token verifies but its claims are not acceptable.
fn claims_error(message: &str) -> ApiError {
    invalid_token("PGRST303", message)
}

/// Base64url without padding, as JWT segments are encoded.
mod base64_url {
    pub fn decode_segment(segment: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(segment.len() * 3 / 4);
        let mut buffer = 0u32;
        let mut bits = 0;
        for byte in segment.bytes() {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                b'=' => break,
                _ => return None,
            };
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Some(out)
    }
}

/// Compares a presented key with a configured one in time that depends on their lengths only,
/// not on how many leading bytes match, so response times cannot be used to guess a key byte by
/// byte. (`==` on strings stops at the first difference.)
fn keys_equal(presented: &str, configured: &str) -> bool {
    let (presented, configured) = (presented.as_bytes(), configured.as_bytes());
    if presented.len() != configured.len() {
        return false;
    }
    let difference = presented
        .iter()
        .zip(configured)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorBody;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const SECRET: &str = "unit-test-secret-with-at-least-32-characters";
    const NOW: i64 = 1_700_000_000;

    fn sign(claims: Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signing with a secret cannot fail")
    }

    fn authenticator(aud: Option<&str>) -> Authenticator {
        Authenticator {
            hs_key: DecodingKey::from_secret(SECRET.as_bytes()),
            jwks: None,
            aud: aud.map(str::to_string),
            anon_key: sign(json!({"role": "anon"})),
            service_role_key: sign(json!({"role": "service_role"})),
            publishable_key: Some("sb_publishable_abc".into()),
            secret_key: Some("sb_secret_xyz".into()),
        }
    }

    fn code(err: &ApiError) -> &str {
        match err.body.as_ref() {
            ErrorBody::Postgrest { code, .. } => code,
            ErrorBody::Gateway { .. } => "gateway",
        }
    }

    fn message(err: &ApiError) -> &str {
        match err.body.as_ref() {
            ErrorBody::Postgrest { message, .. } | ErrorBody::Gateway { message, .. } => message,
        }
    }

    #[test]
    fn keys_are_equal_only_when_every_byte_matches() {
        assert!(keys_equal("sb_secret_xyz", "sb_secret_xyz"));
        assert!(
            !keys_equal("sb_secret_xyZ", "sb_secret_xyz"),
            "last byte differs"
        );
        assert!(
            !keys_equal("Sb_secret_xyz", "sb_secret_xyz"),
            "first byte differs"
        );
        assert!(
            !keys_equal("sb_secret_xy", "sb_secret_xyz"),
            "a prefix is not the key"
        );
        assert!(!keys_equal("", "sb_secret_xyz"));
        assert!(keys_equal("", ""));
    }

    #[test]
    fn a_key_differing_in_one_byte_is_rejected() {
        let auth = authenticator(None);
        let near_miss = auth
            .authenticate(Some("sb_secret_xyZ"), None, NOW)
            .expect_err("one byte off");
        assert_eq!(
            (near_miss.status.as_u16(), message(&near_miss)),
            (401, "Invalid API key")
        );
        let identity = auth
            .authenticate(Some("sb_secret_xyz"), None, NOW)
            .expect("the configured secret key");
        assert_eq!(identity.role, SERVICE_ROLE);
    }

    #[test]
    fn missing_and_unknown_apikeys_are_rejected_like_the_gateway() {
        let auth = authenticator(None);
        let missing = auth.authenticate(None, None, NOW).expect_err("no apikey");
        assert_eq!(
            (missing.status.as_u16(), message(&missing)),
            (401, "No API key found in request")
        );
        let unknown = auth
            .authenticate(Some("nope"), None, NOW)
            .expect_err("bad apikey");
        assert_eq!(
            (unknown.status.as_u16(), message(&unknown)),
            (401, "Invalid API key")
        );
    }

    #[test]
    fn without_bearer_the_apikey_decides_the_role() {
        let auth = authenticator(None);
        let legacy = auth.service_role_key.clone();
        assert_eq!(
            auth.authenticate(Some(&legacy), None, NOW)
                .expect("valid")
                .role,
            "service_role"
        );
        assert_eq!(
            auth.authenticate(Some("sb_publishable_abc"), None, NOW)
                .expect("valid")
                .role,
            "anon"
        );
        assert_eq!(
            auth.authenticate(Some("sb_secret_xyz"), None, NOW)
                .expect("valid")
                .role,
            "service_role"
        );
        let bearer_opaque =
            auth.authenticate(Some("sb_secret_xyz"), Some("Bearer sb_secret_xyz"), NOW);
        assert_eq!(bearer_opaque.expect("valid").role, "service_role");
    }

    #[test]
    fn bearer_claims_are_passed_through() {
        let auth = authenticator(None);
        let anon = auth.anon_key.clone();
        let token = sign(json!({"role": "authenticated", "sub": "u1", "exp": NOW + 60}));
        let id = auth
            .authenticate(Some(&anon), Some(&format!("Bearer {token}")), NOW)
            .expect("valid");
        assert_eq!(id.role, "authenticated");
        assert_eq!(id.claims["sub"], "u1");
        let no_role = sign(json!({"sub": "u1"}));
        assert_eq!(auth.verify(&no_role, NOW).map(|_| ()), Ok(()));
        assert_eq!(
            auth.identity_from_jwt(&no_role, NOW).expect("valid").role,
            "anon"
        );
    }

    #[test]
    fn expiry_allows_thirty_seconds_of_skew() {
        let auth = authenticator(None);
        assert!(auth.verify(&sign(json!({"exp": NOW - 29})), NOW).is_ok());
        let err = auth
            .verify(&sign(json!({"exp": NOW - 31})), NOW)
            .expect_err("expired");
        assert_eq!((code(&err), message(&err)), ("PGRST303", "JWT expired"));
        assert_eq!(
            err.www_authenticate.as_deref(),
            Some("Bearer error=\"invalid_token\", error_description=\"JWT expired\"")
        );
        let early = auth
            .verify(&sign(json!({"nbf": NOW + 31})), NOW)
            .expect_err("not yet valid");
        assert_eq!(message(&early), "JWT not yet valid");
        assert!(auth.verify(&sign(json!({"nbf": NOW + 29})), NOW).is_ok());
    }

    #[test]
    fn audience_is_checked_only_when_configured() {
        let auth = authenticator(Some("authenticated"));
        assert!(auth
            .verify(&sign(json!({"aud": "authenticated"})), NOW)
            .is_ok());
        assert!(auth
            .verify(&sign(json!({"aud": ["x", "authenticated"]})), NOW)
            .is_ok());
        assert!(auth.verify(&sign(json!({})), NOW).is_ok());
        let err = auth
            .verify(&sign(json!({"aud": "other"})), NOW)
            .expect_err("wrong aud");
        assert_eq!(
            (code(&err), message(&err)),
            ("PGRST303", "JWT not in audience")
        );
        assert!(authenticator(None)
            .verify(&sign(json!({"aud": "other"})), NOW)
            .is_ok());
    }

    #[test]
    fn malformed_forged_and_unsigned_tokens_are_pgrst301() {
        let auth = authenticator(None);
        let two_parts = auth.verify("abc.def", NOW).expect_err("two parts");
        assert_eq!(
            (code(&two_parts), message(&two_parts)),
            ("PGRST301", "Expected 3 parts in JWT; got 2")
        );
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &json!({"role": "service_role"}),
            &EncodingKey::from_secret(b"another-secret-another-secret-another"),
        )
        .expect("signing with a secret cannot fail");
        assert_eq!(
            code(&auth.verify(&forged, NOW).expect_err("forged")),
            "PGRST301"
        );
        // {"alg":"none","typ":"JWT"} . {"role":"service_role"} . (no signature)
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.";
        let err = auth.verify(unsigned, NOW).expect_err("alg none");
        assert_eq!((err.status.as_u16(), code(&err)), (401, "PGRST301"));
    }

    #[test]
    fn asymmetric_token_without_jwks_has_no_suitable_key() {
        let auth = authenticator(None);
        // {"alg":"ES256","kid":"k"} . {} . x
        let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.eA";
        let err = auth.verify(token, NOW).expect_err("no jwks");
        assert_eq!(message(&err), "No suitable key or wrong key type");
    }
}
