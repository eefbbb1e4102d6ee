//! The per-isolate cache of bearer tokens whose signature verified: the exact token string →
//! its claims, so a client's next request with the same token skips the WebCrypto `verify`
//! (a promise round trip through the runtime on every read).
//!
//! Design decision, and why it is safe: only the signature's verdict is remembered, never the
//! rest of the check. Every use re-runs the claim checks (`exp`, `nbf`, `aud`) against the
//! clock of that request and derives the principal afresh, so an expired token is refused on
//! its first request past `exp` exactly as without the cache. The key is the whole token, so a
//! hit needs the very bytes that verified: a changed claim or signature is another key and goes
//! through the full check. Only successes are stored (a stranger's junk tokens cannot fill it),
//! at most [`CAPACITY`] of them, the oldest dropped first. What the signature was checked
//! against is bound to the entry: HS256 tokens to the project secret (fixed for an isolate's
//! life; the cache is emptied if the configuration ever names another), ES256/RS256 tokens for
//! [`PUBLIC_KEY_TTL_MS`] only, so a key taken out of the JWKS stops admitting its tokens no later
//! than it does through the JWKS cache itself (`jwks`, 10 minutes). Client routes are checked
//! once more where it matters: the data API verifies the forwarded token itself and RLS decides
//! what it sees.
//!
//! Pure (time is a parameter), so it is tested natively; `auth::verify` holds it per isolate.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use serde_json::Value;

/// Tokens remembered per isolate: a few hundred KiB at most (a token and its claims are well
/// under 1 KiB), more than the callers one isolate serves at a time.
pub const CAPACITY: usize = 256;
/// How long an ES256/RS256 token's verdict is kept: below the JWKS cache's 10 minutes.
pub const PUBLIC_KEY_TTL_MS: f64 = 60_000.0;

struct Entry {
    claims: Rc<Value>,
    /// Past this (ms since the epoch) the entry is not used: its key may have left the JWKS.
    good_until_ms: f64,
}

/// Verified tokens, oldest first in `order`.
#[derive(Default)]
pub struct Verified {
    /// The HS256 secret the entries were verified with.
    secret: String,
    entries: HashMap<Rc<str>, Entry>,
    order: VecDeque<Rc<str>>,
}

impl Verified {
    /// The claims of `token` if its signature verified under `secret` and the entry is still
    /// good at `now_ms`. The caller still checks the claims.
    pub fn get(&self, secret: &str, token: &str, now_ms: f64) -> Option<Rc<Value>> {
        if self.secret != secret {
            return None;
        }
        self.entries
            .get(token)
            .filter(|e| now_ms < e.good_until_ms)
            .map(|e| Rc::clone(&e.claims))
    }

    /// Remembers that `token`'s signature verified under `secret`, until `good_until_ms`
    /// (`f64::INFINITY` for HS256: its claims' `exp` still ends it at every use).
    pub fn insert(&mut self, secret: &str, token: &str, claims: Value, good_until_ms: f64) {
        if self.secret != secret {
            self.entries.clear();
            self.order.clear();
            self.secret = secret.to_owned();
        }
        // Bounded by `order`, which may hold a key twice (re-stored after its entry went
        // stale): dropping the older copy then drops the newer entry early, which is harmless.
        while self.order.len() >= CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
        let key: Rc<str> = Rc::from(token);
        let entry = Entry {
            claims: Rc::new(claims),
            good_until_ms,
        };
        if self.entries.insert(Rc::clone(&key), entry).is_none() {
            self.order.push_back(key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "s";

    #[test]
    fn a_hit_needs_the_exact_token_the_same_secret_and_a_live_entry() {
        let mut v = Verified::default();
        v.insert(SECRET, "a.b.c", json!({"sub": "u"}), 1_000.0);
        assert_eq!(v.get(SECRET, "a.b.c", 999.0).unwrap()["sub"], "u");
        assert!(v.get(SECRET, "a.b.c", 1_000.0).is_none(), "stale");
        assert!(v.get(SECRET, "a.b.d", 0.0).is_none(), "another signature");
        assert!(v.get(SECRET, "a.b.c ", 0.0).is_none());
        assert!(v.get("other", "a.b.c", 0.0).is_none(), "another secret");
    }

    #[test]
    fn another_secret_empties_it() {
        let mut v = Verified::default();
        v.insert(SECRET, "t1", json!({}), f64::INFINITY);
        v.insert("other", "t2", json!({}), f64::INFINITY);
        assert_eq!(v.len(), 1);
        assert!(v.get(SECRET, "t1", 0.0).is_none());
        assert!(v.get("other", "t2", 0.0).is_some());
    }

    #[test]
    fn it_holds_at_most_capacity_dropping_the_oldest() {
        let mut v = Verified::default();
        for i in 0..CAPACITY + 10 {
            v.insert(SECRET, &format!("t{i}"), json!({ "i": i }), f64::INFINITY);
        }
        assert_eq!(v.len(), CAPACITY);
        assert!(v.get(SECRET, "t0", 0.0).is_none());
        assert!(v.get(SECRET, "t9", 0.0).is_none());
        assert!(v.get(SECRET, "t10", 0.0).is_some());
        let last = format!("t{}", CAPACITY + 9);
        assert!(v.get(SECRET, &last, 0.0).is_some());
        // Re-storing the same tokens (stale entries refreshed) keeps it bounded too.
        for _ in 0..3 {
            for i in 0..CAPACITY {
                v.insert(SECRET, &format!("r{}", i % 7), json!({}), 5.0);
            }
        }
        assert!(v.len() <= CAPACITY && v.order.len() <= CAPACITY);
    }
}
