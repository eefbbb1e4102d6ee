//! Request bodies as `app` hands them to routes: a stream of chunks that `app` can still read to
//! its end after the route has answered, a capped whole-body read for small JSON bodies, and the
//! body limit of each route.
//!
//! Design decision (issue 9, the 503 after a rejected upload): under `wrangler dev` every request
//! passes through wrangler's ProxyWorker, which forwards the body to our Worker with `fetch()`.
//! When the Worker answers before it has read the body (a 413, a 422 on the first rows, a
//! replay), workerd closes the connection once more than 64 KiB stays unread for about a second;
//! the forward fails ("Network connection lost"), the proxy takes the Worker for restarted and
//! answers 503 "Your worker restarted mid-request" or stalls the requests queued behind it
//! (workers-sdk issues 15203 and 15447; PR 15448 keeps the proxy alive). In production there is
//! no proxy, but the client still sees its connection reset before it reads the answer. So
//! `app` takes the body before routing and reads the rest of it, unparsed, before every answer
//! ([`SharedBody::discard_rest`]), up to the route's limit plus [`DRAIN_SLACK_BYTES`]; a sender
//! going on past that is not waited for and gets the reset it asked for.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use crate::api::uploads::BodyStream;
use crate::error::{ApiError, ErrorCode};
use crate::routes::Route;

/// A login body: an email and a password of at most 1 KiB each, with room to spare.
pub const LOGIN_BODY_BYTES: u64 = 16 * 1024;

/// What is drained beyond a route's limit before the Worker gives up on a body: a 413 is still
/// read by a client that sent a little too much, never by one streaming without end.
pub const DRAIN_SLACK_BYTES: u64 = 1024 * 1024;

/// How much of an unread body to drain before answering: `drain_limit`, or nothing when the
/// declared length is beyond it. Such a body would not be read to its end anyway, and a sender
/// that announced more than it will send (or sends slowly) must not hold the answer back.
pub fn drain_budget(declared_length: Option<&str>, drain_limit: u64) -> u64 {
    match declared_length.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(n)) if n > drain_limit => 0,
        _ => drain_limit,
    }
}

/// The body limit of `route`, counted as the bytes arrive: a login is small, an upload is
/// `MAX_UPLOAD_BYTES` (formats parsed whole have a lower limit of their own, see `uploads`), and
/// a route without a body takes none.
pub fn limit_for(route: &Route, max_upload_bytes: u64) -> u64 {
    match route {
        Route::Login => LOGIN_BODY_BYTES,
        // Uploads and the inspect preview: a file.
        r if r.has_body() => max_upload_bytes,
        _ => 0,
    }
}

/// The body of one request, shared between the route (which reads what it needs) and `app`
/// (which discards what is left once the route has answered).
#[derive(Clone)]
pub struct SharedBody(Rc<RefCell<BodyStream>>);

impl SharedBody {
    pub fn new(stream: BodyStream) -> SharedBody {
        SharedBody(Rc::new(RefCell::new(stream)))
    }

    /// The body as a stream for a route; chunks it reads are gone for [`Self::discard_rest`].
    pub fn stream(&self) -> BodyStream {
        Box::pin(self.clone())
    }

    /// Reads and drops the rest of the body, up to `max_bytes` (a sender streaming forever is
    /// not waited for), stopping at its end or at a read error.
    pub async fn discard_rest(&self, max_bytes: u64) {
        let mut read = 0u64;
        let mut stream = self.clone();
        while read <= max_bytes {
            match stream.next().await {
                Some(Ok(chunk)) => read += chunk.len() as u64,
                Some(Err(_)) | None => return,
            }
        }
    }

    /// The whole body, refused with 413 as soon as it grows past `limit`.
    pub async fn read_capped(&self, limit: u64) -> Result<Vec<u8>, ApiError> {
        let mut all = Vec::new();
        let mut stream = self.clone();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidBody,
                    format!("the body could not be read to its end: {e}"),
                )
            })?;
            if (all.len() + chunk.len()) as u64 > limit {
                return Err(too_large(limit));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }
}

impl Stream for SharedBody {
    type Item = Result<Vec<u8>, String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // The borrow lasts for this poll only; nothing else polls the body meanwhile.
        self.0.borrow_mut().as_mut().poll_next(cx)
    }
}

/// The body limit as an answer.
pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than the limit of {limit} bytes for this route"),
    )
}

/// Checks a `Content-Length` header before any of the body is read: not a number → 400, more
/// than `limit` → 413 (the answer is known without reading the body).
pub fn check_declared_length(header: Option<&str>, limit: u64) -> Result<(), ApiError> {
    let Some(value) = header else {
        return Ok(());
    };
    let declared: u64 = value.trim().parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidBody,
            format!("Content-Length `{value}` is not a number of bytes"),
        )
    })?;
    if declared > limit {
        return Err(too_large(limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::block_on;
    use futures_util::stream;

    fn body(chunks: &[&[u8]]) -> SharedBody {
        let chunks: Vec<Result<Vec<u8>, String>> = chunks.iter().map(|c| Ok(c.to_vec())).collect();
        SharedBody::new(Box::pin(stream::iter(chunks)))
    }

    #[test]
    fn what_a_route_leaves_unread_is_discarded_afterwards() {
        let shared = body(&[b"ab", b"cd", b"ef"]);
        let mut route = shared.stream();
        assert_eq!(block_on(route.next()), Some(Ok(b"ab".to_vec())));
        drop(route); // the route answered early
        block_on(shared.discard_rest(1 << 20));
        assert_eq!(block_on(shared.stream().next()), None, "read to its end");
    }

    #[test]
    fn discarding_stops_at_its_cap() {
        let shared = body(&[b"aaaa", b"bbbb", b"cccc"]);
        block_on(shared.discard_rest(3));
        assert_eq!(block_on(shared.stream().next()), Some(Ok(b"bbbb".to_vec())));
    }

    #[test]
    fn a_capped_read_refuses_as_the_bytes_arrive() {
        assert_eq!(block_on(body(&[b"{}"]).read_capped(2)).unwrap(), b"{}");
        let e = block_on(body(&[b"ab", b"c"]).read_capped(2)).unwrap_err();
        assert_eq!((e.status(), e.code), (413, ErrorCode::PayloadTooLarge));
    }

    #[test]
    fn a_body_declared_beyond_the_drain_limit_is_not_waited_for() {
        assert_eq!(
            drain_budget(None, 100),
            100,
            "chunked: drained up to the limit"
        );
        assert_eq!(drain_budget(Some("100"), 100), 100);
        assert_eq!(drain_budget(Some("101"), 100), 0);
        assert_eq!(drain_budget(Some("999999999999"), 100), 0);
    }

    #[test]
    fn route_limits() {
        assert_eq!(limit_for(&Route::Login, 1 << 30), LOGIN_BODY_BYTES);
        assert_eq!(limit_for(&Route::CreateClient, 1 << 30), 1 << 30);
        assert_eq!(limit_for(&Route::Inspect, 1 << 30), 1 << 30);
        assert_eq!(limit_for(&Route::Health, 1 << 30), 0);
    }

    #[test]
    fn declared_lengths() {
        assert!(check_declared_length(None, 10).is_ok());
        assert!(check_declared_length(Some("10"), 10).is_ok());
        let e = check_declared_length(Some("11"), 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::PayloadTooLarge);
        for bad in ["ten", "-1", "1e3", ""] {
            let e = check_declared_length(Some(bad), 10).unwrap_err();
            assert_eq!((e.status(), e.code), (400, ErrorCode::InvalidBody), "{bad}");
        }
    }
}
