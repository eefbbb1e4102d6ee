//! The local stack's JWT secret and the two legacy API keys Supabase derives from it
//! (`anon` and `service_role` HS256 JWTs), and its asymmetric signing keys (an ES256 and an
//! RS256 key pair, as Supabase's new JWT signing keys), generated once per stack and kept in its
//! directory.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::{proc, Error, Result};

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

/// The stack's asymmetric signing keys: private keys (PKCS#8 PEM) for whoever mints tokens
/// (the e2e tests), and their public JWKS, which the data API serves at
/// `/auth/v1/.well-known/jwks.json` and the Worker fetches from there.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    pub es256_private_key: PathBuf,
    pub es256_kid: String,
    pub rs256_private_key: PathBuf,
    pub rs256_kid: String,
    /// `{"keys": [...]}`, public members only.
    pub jwks_file: PathBuf,
}

const ES256_PEM: &str = "jwt-es256.pem";
const RS256_PEM: &str = "jwt-rs256.pem";
const JWKS_JSON: &str = "jwks.json";
/// DER SubjectPublicKeyInfo of a P-256 key up to the uncompressed point (RFC 5480): what
/// follows is 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Loads the signing keys kept in `dir`, or generates and keeps new ones (with the `openssl`
/// CLI) on first use. The JWKS is written last, so its presence means the set is complete.
pub fn load_or_create_signing_keys(dir: &Path) -> Result<SigningKeys> {
    let es256_private_key = dir.join(ES256_PEM);
    let rs256_private_key = dir.join(RS256_PEM);
    let jwks_file = dir.join(JWKS_JSON);
    let kept = fs::read_to_string(&jwks_file)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|jwks| Some((kid_of(&jwks, "ES256")?, kid_of(&jwks, "RS256")?)))
        .filter(|_| es256_private_key.exists() && rs256_private_key.exists());
    let (es256_kid, rs256_kid) = match kept {
        Some(kids) => kids,
        None => {
            println!("keys: generating the stack's ES256 and RS256 signing keys (openssl)");
            let ec = generate_key_pair(
                &es256_private_key,
                &["EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            )?;
            let rsa = generate_key_pair(
                &rs256_private_key,
                &[
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-pkeyopt",
                    "rsa_keygen_pubexp:65537",
                ],
            )?;
            let es256 = ec_public_jwk(&ec)?;
            let rs256 = rsa_public_jwk(&rsa)?;
            let kids = (thumbprint(&es256), thumbprint(&rs256));
            let with_use = |mut jwk: serde_json::Value, alg: &str, kid: &str| {
                jwk["kid"] = kid.into();
                jwk["alg"] = alg.into();
                jwk["use"] = "sig".into();
                jwk
            };
            let jwks = serde_json::json!({"keys": [
                with_use(es256, "ES256", &kids.0),
                with_use(rs256, "RS256", &kids.1),
            ]});
            let text = serde_json::to_string_pretty(&jwks).unwrap_or_default();
            fs::write(&jwks_file, text + "\n").map_err(|e| {
                Error::io(
                    "keys_write_failed",
                    format!("writing {}", jwks_file.display()),
                    e,
                )
            })?;
            kids
        }
    };
    Ok(SigningKeys {
        es256_private_key,
        es256_kid,
        rs256_private_key,
        rs256_kid,
        jwks_file,
    })
}

fn kid_of(jwks: &serde_json::Value, alg: &str) -> Option<String> {
    jwks["keys"]
        .as_array()?
        .iter()
        .find(|k| k["alg"] == alg)
        .and_then(|k| k["kid"].as_str())
        .map(str::to_string)
}

/// `openssl genpkey -algorithm …` into `pem` (readable by its owner only); returns the public
/// key as DER SubjectPublicKeyInfo.
fn generate_key_pair(pem: &Path, algorithm: &[&str]) -> Result<Vec<u8>> {
    let mut genpkey = Command::new("openssl");
    genpkey
        .args(["genpkey", "-algorithm"])
        .args(algorithm)
        .arg("-out")
        .arg(pem);
    proc::output(&mut genpkey, "openssl_failed").map_err(|e| {
        Error::new(
            e.code,
            format!(
                "{} (openssl is installed by `cargo xtask setup`)",
                e.message
            ),
        )
    })?;
    fs::set_permissions(pem, fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("chmod_failed", format!("chmod 600 {}", pem.display()), e))?;
    let mut pubout = Command::new("openssl");
    pubout
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(pem);
    let out = pubout.stdin(Stdio::null()).output().map_err(|e| {
        Error::io(
            "openssl_failed",
            format!("running `{}`", proc::describe(&pubout)),
            e,
        )
    })?;
    if !out.status.success() {
        return Err(Error::new(
            "openssl_failed",
            format!(
                "`{}` failed: {}",
                proc::describe(&pubout),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(out.stdout)
}

fn ec_public_jwk(spki: &[u8]) -> Result<serde_json::Value> {
    let point = spki
        .strip_prefix(&P256_SPKI_PREFIX[..])
        .filter(|p| p.len() == 65 && p[0] == 0x04)
        .ok_or_else(|| {
            Error::new(
                "openssl_unexpected",
                "openssl did not produce a P-256 public key",
            )
        })?;
    Ok(serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    }))
}

/// `n` and `e` from the DER SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING {
/// SEQUENCE { INTEGER n, INTEGER e } } }.
fn rsa_public_jwk(spki: &[u8]) -> Result<serde_json::Value> {
    let unexpected = || {
        Error::new(
            "openssl_unexpected",
            "openssl did not produce an RSA public key",
        )
    };
    let (outer, _) = der(spki, 0x30).ok_or_else(unexpected)?;
    let (_algorithm, rest) = der(outer, 0x30).ok_or_else(unexpected)?;
    let (bits, _) = der(rest, 0x03).ok_or_else(unexpected)?;
    let (key, _) = bits
        .split_first()
        .filter(|(unused_bits, _)| **unused_bits == 0)
        .and_then(|(_, key)| der(key, 0x30))
        .ok_or_else(unexpected)?;
    let (n, rest) = der(key, 0x02).ok_or_else(unexpected)?;
    let (e, _) = der(rest, 0x02).ok_or_else(unexpected)?;
    // DER integers carry a leading zero when the top bit is set; JWK wants the bare magnitude.
    let magnitude =
        |int: &[u8]| -> Vec<u8> { int.iter().copied().skip_while(|b| *b == 0).collect() };
    Ok(serde_json::json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(magnitude(n)),
        "e": URL_SAFE_NO_PAD.encode(magnitude(e)),
    }))
}

/// One DER element with `tag` at the start of `input`: (its contents, what follows it).
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, rest) = rest.split_first()?;
    let (len, rest) = if len_byte < 0x80 {
        (usize::from(len_byte), rest)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The RFC 7638 JWK thumbprint (SHA-256 over the required members in lexicographic order): a
/// key id that changes exactly when the key does.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            jwk["crv"], jwk["x"], jwk["y"]
        ),
        _ => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, jwk["e"], jwk["n"]),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
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

    /// RFC 7638 §3.1's worked example: its RSA key must give exactly this thumbprint.
    #[test]
    fn thumbprint_matches_rfc_7638() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB"});
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// The generated keys are real key pairs: openssl signs with the private PEM and verifies
    /// with a public key rebuilt from nothing but the JWKS members we extracted.
    #[test]
    fn generated_jwks_holds_the_public_halves_of_the_private_keys() {
        let dir = std::env::temp_dir().join(format!("xtask-keys-{}", std::process::id()));
        proc::mkdir(&dir).expect("temp dir");
        let keys = load_or_create_signing_keys(&dir).expect("openssl generates keys");
        let again = load_or_create_signing_keys(&dir).expect("kept keys load");
        assert_eq!(
            (&keys.es256_kid, &keys.rs256_kid),
            (&again.es256_kid, &again.rs256_kid)
        );
        let jwks: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&keys.jwks_file).expect("jwks"))
                .expect("JSON");
        for key in jwks["keys"].as_array().expect("keys") {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "{private} in {key}");
            }
            assert_eq!(key["use"], "sig");
        }
        let ec = &jwks["keys"][0];
        assert_eq!(
            (&ec["kty"], &ec["alg"], &ec["kid"]),
            (
                &"EC".into(),
                &"ES256".into(),
                &keys.es256_kid.clone().into()
            )
        );
        // Rebuild the EC public key's DER from x and y and compare with openssl's.
        let decode = |v: &serde_json::Value| {
            URL_SAFE_NO_PAD
                .decode(v.as_str().expect("base64url"))
                .expect("base64url")
        };
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.push(0x04);
        spki.extend(decode(&ec["x"]));
        spki.extend(decode(&ec["y"]));
        let mut pubout = Command::new("openssl");
        pubout
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&keys.es256_private_key);
        assert_eq!(pubout.output().expect("openssl").stdout, spki);
        let rsa = &jwks["keys"][1];
        assert_eq!(
            (&rsa["kty"], &rsa["alg"], &rsa["e"]),
            (&"RSA".into(), &"RS256".into(), &"AQAB".into())
        );
        assert_eq!(decode(&rsa["n"]).len(), 256, "a 2048-bit modulus");
        let modulus = proc::output(
            Command::new("openssl")
                .args(["rsa", "-noout", "-modulus", "-in"])
                .arg(&keys.rs256_private_key),
            "openssl_failed",
        )
        .expect("openssl rsa");
        let hex: String = decode(&rsa["n"])
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(modulus.trim(), format!("Modulus={hex}"));
        let mode = fs::metadata(&keys.es256_private_key)
            .expect("pem")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "private keys are readable by their owner only"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
