//! The local stack's JWT secret and the two legacy API keys Supabase derives from it
//! (`anon` and `service_role` HS256 JWTs), generated once per stack and kept in its directory.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// Supabase's local keys say `supabase-demo`; ours say who issued them.
const ISSUER: &str = "supabase-local";
const TEN_YEARS_SECONDS: u64 = 10 * 365 * 24 * 60 * 60;

#[derive(Clone, Debug)]
pub struct Keys {
    pub jwt_secret: String,
    pub anon_key: String,
    pub service_role_key: String,
}

/// Loads the keys kept in `file`, or generates and keeps new ones on first use.
pub fn load_or_create(file: &Path) -> Result<Keys> {
    if let Ok(text) = fs::read_to_string(file) {
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        if let (Some(jwt_secret), Some(anon_key), Some(service_role_key)) = (
            value("JWT_SECRET"),
            value("ANON_KEY"),
            value("SERVICE_ROLE_KEY"),
        ) {
            return Ok(Keys {
                jwt_secret,
                anon_key,
                service_role_key,
            });
        }
    }
    let keys = generate()?;
    let text = format!(
        "JWT_SECRET={}\nANON_KEY={}\nSERVICE_ROLE_KEY={}\n",
        keys.jwt_secret, keys.anon_key, keys.service_role_key
    );
    fs::write(file, text).map_err(|e| {
        Error::io(
            "keys_write_failed",
            format!("writing {}", file.display()),
            e,
        )
    })?;
    Ok(keys)
}

fn generate() -> Result<Keys> {
    let mut random = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(|e| Error::io("random_failed", "reading /dev/urandom", e))?;
    // 64 hex characters: comfortably above the 32 characters Supabase requires.
    let jwt_secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let key = |role: &str| {
        sign_hs256(
            &jwt_secret,
            &serde_json::json!({
                "iss": ISSUER,
                "role": role,
                "iat": now,
                "exp": now + TEN_YEARS_SECONDS,
            })
            .to_string(),
        )
    };
    Ok(Keys {
        anon_key: key("anon"),
        service_role_key: key("service_role"),
        jwt_secret,
    })
}

/// A compact JWS: base64url(header).base64url(claims).base64url(HMAC-SHA256).
pub fn sign_hs256(secret: &str, claims_json: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims_json);
    let signing_input = format!("{header}.{payload}");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// jwt.io's well-known example token (secret "your-256-bit-secret"): if our signature
    /// matches it, the data API and the Worker will accept the keys we mint.
    #[test]
    fn signs_like_every_other_hs256_implementation() {
        let token = sign_hs256(
            "your-256-bit-secret",
            r#"{"sub":"1234567890","name":"John Doe","iat":1516239022}"#,
        );
        assert_eq!(
            token.rsplit('.').next(),
            Some("SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
        );
    }
}
