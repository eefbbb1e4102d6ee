//! JWT parsing, claim validation and minting — everything about tokens except the signature math.
//!
//! Pure so it is tested natively; [`super::crypto`] checks signatures with WebCrypto. The algorithm
//! allow-list is closed (`HS256`, `ES256`, `RS256`): `none` and anything else fail at parse time,
//! and each algorithm is bound to one key source, which is what defeats HS/ES confusion.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;

/// Clock skew tolerated on `exp` and `nbf`.
pub const SKEW_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// Verified with the project's JWT secret only.
    Hs256,
    /// Verified with an EC P-256 key from the JWKS only.
    Es256,
    /// Verified with an RSA key from the JWKS only.
    Rs256,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// A token split and decoded, signature not yet checked.
#[derive(Debug)]
pub struct UnverifiedJwt {
    pub alg: Alg,
    pub kid: Option<String>,
    pub claims: Value,
    /// `base64(header).base64(payload)`: the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

pub fn parse(token: &str) -> Result<UnverifiedJwt, ApiError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::invalid_token(
            "not a JWT (expected three dot-separated parts)",
        ));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| ApiError::invalid_token(format!("JWT {what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&decode(h, "header")?)
        .map_err(|_| ApiError::invalid_token("JWT header is not a JSON object with `alg`"))?;
    let alg = match header.alg.as_str() {
        "HS256" => Alg::Hs256,
        "ES256" => Alg::Es256,
        "RS256" => Alg::Rs256,
        other => {
            return Err(ApiError::invalid_token(format!(
                "JWT algorithm `{other}` is not accepted (HS256, ES256, RS256 are)"
            )))
        }
    };
    let claims: Value = serde_json::from_slice(&decode(p, "payload")?)
        .map_err(|_| ApiError::invalid_token("JWT payload is not JSON"))?;
    if !claims.is_object() {
        return Err(ApiError::invalid_token("JWT payload is not a JSON object"));
    }
    let signature = decode(s, "signature")?;
    if signature.is_empty() {
        return Err(ApiError::invalid_token("JWT has no signature"));
    }
    Ok(UnverifiedJwt {
        alg,
        kid: header.kid,
        claims,
        signing_input: format!("{h}.{p}"),
        signature,
    })
}

fn numeric(claims: &Value, name: &str) -> Result<Option<i64>, ApiError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| ApiError::invalid_token(format!("JWT `{name}` is not a number"))),
    }
}

/// Time and audience checks on already-verified claims. `exp` is required. `aud` must contain
/// `expected_aud`, except for the project's API-key tokens (`role` anon/service_role), which
/// Supabase issues without `aud`.
pub fn validate_claims(claims: &Value, now: i64, expected_aud: &str) -> Result<(), ApiError> {
    let exp = numeric(claims, "exp")?.ok_or_else(|| ApiError::invalid_token("JWT has no `exp`"))?;
    if now > exp.saturating_add(SKEW_SECONDS) {
        return Err(ApiError::invalid_token("JWT has expired"));
    }
    if let Some(nbf) = numeric(claims, "nbf")? {
        if now.saturating_add(SKEW_SECONDS) < nbf {
            return Err(ApiError::invalid_token("JWT is not valid yet (`nbf`)"));
        }
    }
    let role = claims.get("role").and_then(Value::as_str);
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected_aud,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected_aud)),
        None => matches!(role, Some("anon") | Some("service_role")),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(ApiError::invalid_token(format!(
            "JWT audience does not include `{expected_aud}`"
        )));
    }
    Ok(())
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// `role = service_role`, or `app_metadata.role = superadmin`.
    Superadmin,
    /// A signed-in user; `sub` is matched to `clients.auth_user_id` by RLS. `token` is forwarded.
    Client { sub: String, token: String },
    /// The anon key or any token without a user.
    Anonymous,
}

pub fn principal(claims: &Value, token: &str) -> Principal {
    let role = claims.get("role").and_then(Value::as_str);
    let app_role = claims.pointer("/app_metadata/role").and_then(Value::as_str);
    if role == Some("service_role")
        || (role == Some("authenticated") && app_role == Some("superadmin"))
    {
        return Principal::Superadmin;
    }
    match (role, claims.get("sub").and_then(Value::as_str)) {
        (Some("authenticated"), Some(sub)) if !sub.is_empty() => Principal::Client {
            sub: sub.to_owned(),
            token: token.to_owned(),
        },
        _ => Principal::Anonymous,
    }
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: Option<&str>) -> Result<Option<&str>, ApiError> {
    match header.map(str::trim) {
        None | Some("") => Ok(None),
        Some(h) => {
            let (scheme, token) = h.split_once(' ').unwrap_or((h, ""));
            let token = token.trim();
            if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
                return Err(ApiError::invalid_token(
                    "Authorization must be `Bearer <jwt>`",
                ));
            }
            Ok(Some(token))
        }
    }
}

/// Who a login token is for: a client (its `client_id` goes in the claims) or a superadmin
/// account (`app_metadata.role = superadmin`, as Supabase Auth carries it in production).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject<'a> {
    Client { client_id: &'a str },
    Superadmin,
}

/// Header and claims of a login token; the caller appends the HS256 signature.
pub fn login_signing_input(
    auth_user_id: &str,
    subject: LoginSubject<'_>,
    aud: &str,
    now: i64,
    ttl: u64,
) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let mut claims = json!({
        "sub": auth_user_id,
        "role": "authenticated",
        "aud": aud,
        "iat": now,
        "exp": now + ttl as i64,
        "iss": "hybrid-store",
    });
    match subject {
        LoginSubject::Client { client_id } => claims["client_id"] = json!(client_id),
        LoginSubject::Superadmin => claims["app_metadata"] = json!({"role": "superadmin"}),
    }
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub fn encode_signature(sig: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn parses_the_three_algorithms() {
        for (name, alg) in [
            ("HS256", Alg::Hs256),
            ("ES256", Alg::Es256),
            ("RS256", Alg::Rs256),
        ] {
            let t = token(json!({"alg": name, "kid": "k1"}), json!({"sub": "u"}));
            let p = parse(&t).unwrap();
            assert_eq!(p.alg, alg);
            assert_eq!(p.kid.as_deref(), Some("k1"));
            assert_eq!(p.signature, b"sig");
            assert!(t.starts_with(&p.signing_input));
        }
    }

    #[test]
    fn rejects_none_and_other_algorithms() {
        for alg in ["none", "None", "HS512", "PS256", "EdDSA"] {
            let t = token(json!({"alg": alg}), json!({}));
            let e = parse(&t).unwrap_err();
            assert_eq!(
                (e.status(), e.code),
                (401, ErrorCode::InvalidToken),
                "{alg}"
            );
        }
        // alg none usually comes with an empty signature
        let t = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg":"HS256"}).to_string()),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(parse(&t).is_err());
    }

    #[test]
    fn rejects_malformed_tokens() {
        for t in ["", "abc", "a.b", "a.b.c.d", "!!.??.##"] {
            assert!(parse(t).is_err(), "{t}");
        }
        let not_object = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode("[1]"),
            URL_SAFE_NO_PAD.encode("s")
        );
        assert!(parse(&not_object).is_err());
    }

    #[test]
    fn expiry_and_not_before_with_skew() {
        let now = 1_000_000;
        let c = |exp: i64| json!({"exp": exp, "aud": "authenticated"});
        assert!(validate_claims(&c(now + 10), now, "authenticated").is_ok());
        assert!(validate_claims(&c(now - SKEW_SECONDS), now, "authenticated").is_ok());
        assert!(validate_claims(&c(now - SKEW_SECONDS - 1), now, "authenticated").is_err());
        assert!(validate_claims(&json!({"aud":"authenticated"}), now, "authenticated").is_err());
        let nbf = |nbf: i64| json!({"exp": now + 100, "nbf": nbf, "aud": "authenticated"});
        assert!(validate_claims(&nbf(now + SKEW_SECONDS), now, "authenticated").is_ok());
        assert!(validate_claims(&nbf(now + SKEW_SECONDS + 1), now, "authenticated").is_err());
        assert!(validate_claims(
            &json!({"exp":"soon","aud":"authenticated"}),
            now,
            "authenticated"
        )
        .is_err());
    }

    #[test]
    fn audience_is_required_for_user_tokens() {
        let now = 0;
        assert!(validate_claims(
            &json!({"exp":99,"aud":["x","authenticated"]}),
            now,
            "authenticated"
        )
        .is_ok());
        assert!(validate_claims(&json!({"exp":99,"aud":"other"}), now, "authenticated").is_err());
        assert!(validate_claims(
            &json!({"exp":99,"role":"authenticated"}),
            now,
            "authenticated"
        )
        .is_err());
        // Supabase's legacy API-key JWTs carry no aud.
        assert!(validate_claims(
            &json!({"exp":99,"role":"service_role"}),
            now,
            "authenticated"
        )
        .is_ok());
    }

    #[test]
    fn principals() {
        assert_eq!(
            principal(&json!({"role":"service_role"}), "t"),
            Principal::Superadmin
        );
        assert_eq!(
            principal(
                &json!({"role":"authenticated","sub":"u1","app_metadata":{"role":"superadmin"}}),
                "t"
            ),
            Principal::Superadmin
        );
        assert_eq!(
            principal(&json!({"role":"authenticated","sub":"u1"}), "t"),
            Principal::Client {
                sub: "u1".into(),
                token: "t".into()
            }
        );
        // user_metadata is user-editable in Supabase: it must not grant anything.
        assert_eq!(
            principal(
                &json!({"role":"authenticated","sub":"u1","user_metadata":{"role":"superadmin"}}),
                "t"
            ),
            Principal::Client {
                sub: "u1".into(),
                token: "t".into()
            }
        );
        assert_eq!(
            principal(&json!({"role":"anon"}), "t"),
            Principal::Anonymous
        );
        assert_eq!(
            principal(&json!({"role":"authenticated"}), "t"),
            Principal::Anonymous
        );
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer(None).unwrap(), None);
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")).unwrap(), Some("abc"));
        assert!(bearer(Some("Basic dXNlcg==")).is_err());
        assert!(bearer(Some("Bearer")).is_err());
    }

    #[test]
    fn login_token_claims() {
        let client = LoginSubject::Client { client_id: "c1" };
        let input = login_signing_input("u1", client, "authenticated", 100, 3600);
        let t = format!("{input}.{}", encode_signature(b"x"));
        let p = parse(&t).unwrap();
        assert_eq!(p.alg, Alg::Hs256);
        assert_eq!(p.claims["sub"], "u1");
        assert_eq!(p.claims["role"], "authenticated");
        assert_eq!(p.claims["exp"], 3700);
        assert_eq!(p.claims["client_id"], "c1");
        assert!(validate_claims(&p.claims, 200, "authenticated").is_ok());
        assert!(matches!(principal(&p.claims, &t), Principal::Client { .. }));
    }

    #[test]
    fn admin_login_token_is_a_superadmin_without_a_client() {
        let input = login_signing_input("a1", LoginSubject::Superadmin, "authenticated", 100, 60);
        let t = format!("{input}.{}", encode_signature(b"x"));
        let p = parse(&t).unwrap();
        assert_eq!(p.claims["app_metadata"]["role"], "superadmin");
        assert!(p.claims.get("client_id").is_none());
        assert_eq!(principal(&p.claims, &t), Principal::Superadmin);
    }
}
