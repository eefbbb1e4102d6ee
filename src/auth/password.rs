//! PBKDF2-SHA256 password hashes in PHC string format: `$pbkdf2-sha256$i=100000$<salt>$<hash>`.
//!
//! Salt and hash are base64 without padding; passlib's variant (`.` for `+`, bare iteration
//! count) is read too, so hashes made by common Python tooling verify. The derivation itself
//! is WebCrypto's (see [`super::crypto::pbkdf2_sha256`]); this module is the pure format.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Iterations for new hashes (OWASP's floor for PBKDF2-SHA256 is 600k; 100k keeps login under
/// ~25 ms of Worker CPU while still costing an offline attacker 100k HMACs per guess).
pub const NEW_HASH_ITERATIONS: u32 = 100_000;
pub const SALT_BYTES: usize = 16;
pub const HASH_BYTES: usize = 32;
/// Refuse absurd parameters from the database rather than burning the CPU budget.
const MAX_ITERATIONS: u32 = 2_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PhcHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=').replace('.', "+");
    STANDARD_NO_PAD
        .decode(&s)
        .or_else(|_| URL_SAFE_NO_PAD.decode(&s))
        .ok()
}

impl PhcHash {
    pub fn parse(phc: &str) -> Option<PhcHash> {
        let mut parts = phc.split('$');
        if parts.next() != Some("") || parts.next() != Some("pbkdf2-sha256") {
            return None;
        }
        let params = parts.next()?;
        let iterations: u32 = params
            .split(',')
            .find_map(|p| p.strip_prefix("i="))
            .unwrap_or(params)
            .parse()
            .ok()?;
        let salt = decode_b64(parts.next()?)?;
        let hash = decode_b64(parts.next()?)?;
        if parts.next().is_some()
            || !(1..=MAX_ITERATIONS).contains(&iterations)
            || salt.is_empty()
            || hash.len() < 16
        {
            return None;
        }
        Some(PhcHash {
            iterations,
            salt,
            hash,
        })
    }

    pub fn format(&self) -> String {
        format!(
            "$pbkdf2-sha256$i={}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(&self.hash)
        )
    }
}

/// Equality whose running time depends only on the lengths, not on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = PhcHash {
            iterations: 100_000,
            salt: vec![1; 16],
            hash: vec![2; 32],
        };
        let s = h.format();
        assert!(s.starts_with("$pbkdf2-sha256$i=100000$"));
        assert!(
            !s.split('$').skip(3).any(|part| part.contains('=')),
            "no base64 padding"
        );
        assert_eq!(PhcHash::parse(&s), Some(h));
    }

    #[test]
    fn reads_passlib_variant() {
        // passlib: bare rounds, adapted base64 with '.' instead of '+'
        let s = "$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk";
        let h = PhcHash::parse(s).unwrap();
        assert_eq!(h.iterations, 29000);
        assert_eq!(h.salt.len(), 16);
        assert_eq!(h.hash.len(), 32);
    }

    #[test]
    fn rejects_other_formats() {
        for s in [
            "",
            "plaintext",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$pbkdf2-sha512$i=1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=0$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=99999999$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=1000$$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA$extra",
            "$pbkdf2-sha256$i=ten$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert_eq!(PhcHash::parse(s), None, "{s}");
        }
    }

    #[test]
    fn constant_time_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
