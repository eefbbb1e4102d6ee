//! The digest of what an upload asks for, stored with a committed Idempotency-Key so that a
//! retry with the same key but another request is told apart from a true retry (422
//! `idempotency_key_reused`) instead of being answered with the first request's result.
//!
//! Design decision: the digest covers the request's meaning, not its bytes: the query fields
//! (sorted), the multipart fields in order and the file's bytes, or the JSON body as sent; never
//! the multipart boundary, which a client library picks anew for every retry. It is computed as
//! the body streams (SHA-256, one running state), so nothing is held for it.

use std::cell::RefCell;
use std::rc::Rc;

use sha2::{Digest, Sha256};

/// A running SHA-256 shared by the parts of the upload that read the body.
#[derive(Clone, Default)]
pub struct RequestDigest(Rc<RefCell<Sha256>>);

impl RequestDigest {
    /// Starts with the query's fields, in name order.
    pub fn of_query(query: &[(String, String)]) -> RequestDigest {
        let digest = RequestDigest::default();
        let mut sorted: Vec<&(String, String)> = query.iter().collect();
        sorted.sort();
        for (name, value) in sorted {
            digest.field("query", name, value);
        }
        digest
    }

    /// A named value, length-framed so that no two different lists hash alike.
    pub fn field(&self, section: &str, name: &str, value: &str) {
        let mut h = self.0.borrow_mut();
        for part in [section.as_bytes(), name.as_bytes(), value.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }

    /// Bytes of the file (or the JSON body), in the order they arrive.
    pub fn bytes(&self, bytes: &[u8]) {
        self.0.borrow_mut().update(bytes);
    }

    /// `sha256:<hex>` of everything so far (the state goes on).
    pub fn hex(&self) -> String {
        let sum = self.0.borrow().clone().finalize();
        let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_same_request_in_another_order_or_chunking_hashes_alike() {
        let a = RequestDigest::of_query(&q(&[("table", "t"), ("sheet", "s")]));
        a.bytes(b"id\n1\n");
        let b = RequestDigest::of_query(&q(&[("sheet", "s"), ("table", "t")]));
        b.bytes(b"id\n");
        b.bytes(b"1\n");
        assert_eq!(a.hex(), b.hex());
        assert!(a.hex().starts_with("sha256:") && a.hex().len() == 7 + 64);
    }

    #[test]
    fn other_fields_or_another_file_hash_differently() {
        let base = || RequestDigest::of_query(&q(&[("table", "t")]));
        let (a, b, c) = (
            base(),
            base(),
            RequestDigest::of_query(&q(&[("table", "u")])),
        );
        a.bytes(b"id\n1\n");
        b.bytes(b"id\n2\n");
        c.bytes(b"id\n1\n");
        assert_ne!(a.hex(), b.hex());
        assert_ne!(a.hex(), c.hex());
        let (x, y) = (RequestDigest::default(), RequestDigest::default());
        x.field("field", "ab", "c");
        y.field("field", "a", "bc");
        assert_ne!(x.hex(), y.hex());
    }
}
