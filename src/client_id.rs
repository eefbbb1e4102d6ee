//! The id of a client a create makes: random, or derived from its Idempotency-Key.
//!
//! Why derive: the Worker picks a new client's id before the database sees it, and the tables
//! of a multi-sheet XLSX are named from it (`client_{uuid8}_{data_type}_{sheet}`). A retried
//! create with a fresh random id would name other tables, and the database refuses a committed
//! key for another table (409 `idempotency_conflict`) instead of replaying. Deriving the id from
//! (key, email) — the same scope the database gives a create's key — makes a retry name the same
//! tables, so every sheet replays. SHA-256 is written out here (about forty lines) rather than
//! taken from WebCrypto so the derivation is pure and unit-tested natively.

use crate::crypto;
use crate::error::ApiError;

/// A random UUID v4 for a create without an Idempotency-Key.
pub fn random() -> Result<String, ApiError> {
    let bytes = crypto::random_bytes(16)?;
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    Ok(format_uuid(b))
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
    let digest = sha256(&input);
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

/// SHA-256 (FIPS 180-4).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_fips_vectors() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Two blocks (56 bytes: the padding spills into a second block).
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn a_retried_create_gets_the_same_client_id_and_other_creates_do_not() {
        let id = derived("import-2024-06", "ops@acme.io");
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
