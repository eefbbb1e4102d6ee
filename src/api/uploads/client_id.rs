//! The id of a client a create makes: random, or derived from its Idempotency-Key.
//!
//! Why derive: the Worker picks a new client's id before the database sees it, and the tables
//! of a multi-sheet XLSX are named from it (`client_{uuid8}_{data_type}_{sheet}`). A retried
//! create with a fresh random id would name other tables, and the database refuses a committed
//! key for another table (409 `idempotency_conflict`) instead of replaying. Deriving the id from
//! (key, email) — the same scope the database gives a create's key — makes a retry name the same
//! tables, so every sheet replays. SHA-256 comes from the `sha2` crate rather than
//! from WebCrypto (async) so the derivation is pure and unit-tested natively.

use sha2::{Digest, Sha256};

/// A UUID v4 from 16 random bytes, for a create without an Idempotency-Key.
pub fn random_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    format_uuid(b)
}

/// The client id for a create with Idempotency-Key `key` for `email`: a UUID v8 (RFC 9562's
/// version for custom, here SHA-256 name-based, ids) from the first 16 bytes of
/// SHA-256(domain ‖ len(key) ‖ key ‖ lower(email)). The length prefix keeps ("ab", "c@x") and
/// ("a", "bc@x") apart; the email is lowercased as the database compares emails.
pub fn derived(key: &str, email: &str) -> String {
    let mut input = b"hybrid-store client id v1\0".to_vec();
    input.extend_from_slice(&(key.len() as u64).to_be_bytes());
    input.extend_from_slice(key.as_bytes());
    input.extend_from_slice(email.trim().to_lowercase().as_bytes());
    let digest = Sha256::digest(&input);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    format_uuid(b)
}

/// Lowercase hyphenated form, with the RFC 9562 variant bits set (the version is the caller's).
fn format_uuid(mut b: [u8; 16]) -> String {
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_create_gets_the_same_client_id_and_other_creates_do_not() {
        let id = derived("import-2024-06", "ops@acme.io");
        // Pinned (computed independently with Python's hashlib): a retry after a deploy must
        // still derive the same id, so the derivation may never change.
        assert_eq!(id, "74351fe4-ecf4-85c9-812f-53fab06c3c31");
        assert_eq!(id, derived("import-2024-06", "ops@acme.io"), "a retry");
        assert_eq!(
            id,
            derived("import-2024-06", " OPS@Acme.io "),
            "emails compare as the database compares them"
        );
        assert_ne!(id, derived("import-2024-07", "ops@acme.io"), "another key");
        assert_ne!(
            id,
            derived("import-2024-06", "ops@acme.com"),
            "another email"
        );
        assert_ne!(derived("ab", "c@x.io"), derived("a", "bc@x.io"));

        // A valid UUID (version 8, RFC 9562 variant) that routes accept as a client id.
        assert!(crate::routes::is_uuid(&id), "{id}");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "8");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
