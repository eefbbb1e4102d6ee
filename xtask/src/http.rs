//! HTTP for xtask: readiness checks (`get_status`), the benchmarks' kept-alive client
//! ([`Client`]), and TCP probes for ports.
//!
//! Design decision: ureq (blocking, no TLS, no async runtime) instead of a hand-written
//! HTTP/1.1 client: xtask talks to local services only, and ureq adds seconds, not a runtime,
//! to xtask's compile while handling keep-alive, chunked answers and streamed bodies for us.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::{Error, Result};

const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// An agent that hands back every status as an answer (a 500 is data here, not an error), with
/// `timeout` on each phase of a call. Not `timeout_global`: with it ureq resolves the host on a
/// new thread for every request, even `127.0.0.1` on a kept-alive connection, and the thread
/// spawn (tens of µs, milliseconds when both cores are busy) landed in every HTTP column of the
/// benchmarks (strace: one clone3 per request; without it none).
fn agent(timeout: Duration) -> ureq::Agent {
    let limit = Some(timeout);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(limit)
        .timeout_send_request(limit)
        .timeout_send_body(limit)
        .timeout_recv_response(limit)
        .timeout_recv_body(limit)
        .build()
        .into()
}

/// The HTTP status of `GET url`, or None when nothing answered or the answer was not HTTP.
pub fn get_status(url: &str) -> Option<u16> {
    let response = agent(READY_TIMEOUT).get(url).call().ok()?;
    Some(response.status().as_u16())
}

/// A client of one local service (`http://127.0.0.1:port`) that keeps its connection alive
/// between requests, as the benchmarks measure per-request cost over one connection.
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

fn http_err(e: ureq::Error) -> Error {
    Error::new("bench_http_failed", format!("HTTP request: {e}"))
}

impl Client {
    /// A client of 127.0.0.1:`port`; each request may take up to `timeout`.
    pub fn local(port: u16, timeout: Duration) -> Client {
        Client {
            agent: agent(timeout),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Sends `method path` with `headers` and a `Content-Length: body_len` body read from `body`
    /// (GET sends none); returns the status and the whole answer body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body_len: u64,
        body: &mut dyn Read,
    ) -> Result<(u16, Vec<u8>)> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let built = |e: ureq::http::Error| {
            Error::new(
                "bench_http_failed",
                format!("building {method} {path}: {e}"),
            )
        };
        let mut response = if method == "GET" {
            self.agent.run(request.body(()).map_err(built)?)
        } else {
            // A length up front, as a browser sends a file: no chunked encoding.
            let request = request
                .header("Content-Length", body_len.to_string())
                .body(ureq::SendBody::from_reader(body))
                .map_err(built)?;
            self.agent.run(request)
        }
        .map_err(http_err)?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(http_err)?;
        Ok((status, answer))
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// A port on 127.0.0.1 that is free right now (the OS picks it).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
