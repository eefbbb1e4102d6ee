//! The checks of the targets that reach the Worker's own parsers (`multipart`, `jwt`, `query`,
//! `cursor`), written against `crate::fuzzing` so the same file compiles in `fuzz/` and, for the
//! stable replay of `fuzz/regressions/`, inside the Worker crate's tests.
//!
//! Design decision: each check also builds a well-formed input from the fuzzer's bytes (a
//! multipart body around them, a JWT whose payload or header they are, a percent-encoded query
//! string) and requires the parser to hand the bytes back, so the deep paths are reached and
//! checked rather than only the first `invalid_body`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::fuzzing::{boundary, jwt, query_pairs, Event, Multipart, MAX_FIELD_BYTES};

#[path = "chunks.rs"]
mod chunks;
#[path = "query_checks.rs"]
pub mod query_checks;

use chunks::pieces;

/// What a multipart parse produced: fields, file starts and each file's bytes joined.
#[derive(Debug, PartialEq)]
enum Part {
    Field(String, String),
    FileStart(String, Option<String>, Option<String>),
    File(Vec<u8>),
}

fn parse_multipart(boundary: &str, chunks: &[&[u8]]) -> Result<Vec<Part>, String> {
    let mut p = Multipart::new(boundary);
    let mut parts: Vec<Part> = Vec::new();
    for chunk in chunks {
        for event in p.feed(chunk).map_err(|e| e.code.as_str().to_string())? {
            match event {
                Event::Field { name, value } => parts.push(Part::Field(name, value)),
                Event::FileStart {
                    name,
                    filename,
                    content_type,
                } => {
                    parts.push(Part::FileStart(name, filename, content_type));
                    parts.push(Part::File(Vec::new()));
                }
                Event::FileData(d) => match parts.last_mut() {
                    Some(Part::File(bytes)) => bytes.extend_from_slice(&d),
                    other => panic!("file data after {other:?}"),
                },
                Event::FileEnd => {}
            }
        }
    }
    p.finish().map_err(|e| e.code.as_str().to_string())?;
    Ok(parts)
}

const BOUNDARIES: [&str; 4] = ["XyZ", "a", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "-"];

/// The body parsed in pieces gives what it gives in one piece; and fields plus a file built from
/// the input come back exactly.
pub fn multipart(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let b = BOUNDARIES[usize::from(selector >> 5) % BOUNDARIES.len()];
    let whole = parse_multipart(b, &[body]);
    let chunked = parse_multipart(b, &pieces(body, selector));
    match (&whole, &chunked) {
        (Ok(w), Ok(c)) => assert_eq!(w, c, "chunked multipart"),
        (Err(_), Err(_)) => {}
        // A header block over 16 KiB is refused when it has not ended within one chunk.
        _ if body.len() > 16 * 1024 => {}
        _ => panic!("whole {whole:?}, in pieces {chunked:?}"),
    }
    round_trip(body, selector);
}

fn round_trip(body: &[u8], selector: u8) {
    let b = "fuzz-boundary-7e1d";
    let mut segments: Vec<&[u8]> = body.split(|&x| x == 0xFF).collect();
    let file = segments.pop().unwrap_or_default();
    let delimiter = format!("\r\n--{b}");
    if body
        .windows(delimiter.len())
        .any(|w| w == delimiter.as_bytes())
    {
        return;
    }
    let mut expected = Vec::new();
    let mut out = b"preamble".to_vec();
    for (i, seg) in segments.iter().enumerate() {
        let name = format!("f{i}");
        let value = String::from_utf8_lossy(seg).into_owned();
        if value.len() > MAX_FIELD_BYTES {
            return;
        }
        out.extend_from_slice(
            format!("\r\n--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                .as_bytes(),
        );
        expected.push(Part::Field(name, value));
    }
    out.extend_from_slice(format!("\r\n--{b} \t\r\ncontent-type: text/csv\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.csv\"\r\n\r\n").as_bytes());
    out.extend_from_slice(file);
    out.extend_from_slice(format!("\r\n--{b}--\r\nepilogue").as_bytes());
    expected.push(Part::FileStart(
        "file".into(),
        Some("a b.csv".into()),
        Some("text/csv".into()),
    ));
    expected.push(Part::File(file.to_vec()));
    let content_type = format!("multipart/form-data; charset=utf-8; boundary=\"{b}\"");
    assert_eq!(boundary(&content_type).as_deref(), Some(b));
    let got = parse_multipart(b, &pieces(&out, selector));
    assert_eq!(got, Ok(expected), "multipart built from the input");
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whatever `jwt::parse` accepts is what it claims to be, and the claim checks never panic (at
/// the extremes of time too); tokens around the input reach the header and payload decoders.
pub fn jwt(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = jwt::bearer(Some(&text));
    check_token(&text);
    let sig = b64(b"signature");
    let payload_token = format!(
        "{}.{}.{sig}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(data)
    );
    let parsed = check_token(&payload_token);
    let object = serde_json::from_slice::<Value>(data).is_ok_and(|v| v.is_object());
    assert_eq!(parsed.is_some(), object, "payload {text:?}");
    let header_token = format!("{}.{}.{sig}", b64(data), b64(b"{}"));
    if let Some(claims) = check_token(&header_token) {
        assert_eq!(claims, serde_json::json!({}));
        // serde skips the strings of fields it ignores without checking their UTF-8.
        let header: Value = serde_json::from_str(&String::from_utf8_lossy(data))
            .expect("an accepted header is JSON");
        assert!(matches!(
            header["alg"].as_str(),
            Some("HS256" | "ES256" | "RS256")
        ));
    }
}

fn check_token(token: &str) -> Option<Value> {
    let t = jwt::parse(token).ok()?;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(t.signing_input, format!("{}.{}", parts[0], parts[1]));
    assert!(!t.signature.is_empty());
    assert_eq!(
        b64(&t.signature),
        parts[2].trim_end_matches('='),
        "canonical base64url"
    );
    assert!(t.claims.is_object());
    for now in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX] {
        for aud in ["authenticated", ""] {
            let _ = jwt::validate_claims(&t.claims, now, aud);
        }
    }
    let _ = jwt::principal(&t.claims, token);
    Some(t.claims)
}

/// Percent-encodes every byte but unreserved ones, as a careful client would.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url(pairs: &[(String, String)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("https://h.example/api/data/x?{}#frag", q.join("&"))
}

/// The `query` target: the input as the query string of a request URL, decoded by the Worker's
/// `query_pairs`; the pairs survive encoding and decoding, and the read and aggregate grammars
/// round-trip (`query_checks`), also through a percent-encoded URL.
pub fn query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs = query_pairs(&format!("https://h.example/p?{text}"));
    assert_eq!(
        query_pairs(&url(&pairs)),
        pairs,
        "pairs through a percent-encoded URL"
    );
    query_checks::query_pairs(&pairs);
    if let Ok(r) = query::parse_read(&pairs) {
        let back = query::parse_read(&query_pairs(&url(&query_checks::render_read(&r))))
            .expect("a rendered read parses from its URL");
        assert_eq!(back.plan(), r.plan());
    }
}

/// The `cursor` target (`query_checks::cursor`).
pub fn cursor(data: &[u8]) {
    query_checks::cursor(data);
}

#[cfg(test)]
mod replay {
    #[test]
    fn committed_fuzz_inputs_pass_the_worker_checks() {
        super::chunks::replay(&[
            ("multipart", super::multipart),
            ("jwt", super::jwt),
            ("query", super::query),
            ("cursor", super::cursor),
        ]);
    }
}
