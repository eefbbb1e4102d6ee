//! An incremental `multipart/form-data` parser (RFC 7578) for uploads read from `req.stream()`.
//!
//! Design decision: it is a push parser that never holds more than one chunk plus a delimiter's
//! length of a file part, so a 100 MB file streams through; text fields are small and are
//! collected whole (up to [`MAX_FIELD_BYTES`]). Chunk boundaries may fall anywhere, including
//! inside the delimiter or a header block; the tests feed every split point.

use crate::error::{ApiError, ErrorCode};

/// A form field larger than this is refused; fields are names and emails, not data.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What the parser found, in body order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Field {
        name: String,
        value: String,
    },
    FileStart {
        name: String,
        filename: Option<String>,
        content_type: Option<String>,
    },
    /// Bytes of the current file part, in order.
    FileData(Vec<u8>),
    FileEnd,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Before the first delimiter (a preamble may precede it and is ignored).
    Preamble,
    /// Right after a delimiter: `--` ends the body, otherwise headers follow the line break.
    AfterDelimiter,
    Headers,
    FieldBody,
    FileBody,
    Done,
}

pub struct Multipart {
    /// `\r\n--boundary`: every delimiter is preceded by a line break (the first one gets a
    /// virtual one, see `new`).
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    state: State,
    field_name: String,
    field_value: Vec<u8>,
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidBody, message).with_hint(
        "send multipart/form-data with the fields first and the file in the part named `file`",
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(i) = haystack[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        if haystack.len() - at < needle.len() {
            return None;
        }
        from = at + 1;
    }
    None
}

/// The boundary parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// A parameter (`name`, `filename`) of a `Content-Disposition` value.
fn disposition_param(value: &str, param: &str) -> Option<String> {
    let mut rest = value;
    while let Some(i) = rest.find(';') {
        rest = rest[i + 1..].trim_start();
        let Some((k, v)) = rest.split_once('=') else {
            break;
        };
        let v = v.trim_start();
        let (value, after) = if let Some(quoted) = v.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            let end = v.find(';').unwrap_or(v.len());
            (v[..end].trim(), &v[end..])
        };
        if k.trim().eq_ignore_ascii_case(param) {
            return Some(value.to_owned());
        }
        rest = after;
    }
    None
}

impl Multipart {
    pub fn new(boundary: &str) -> Multipart {
        Multipart {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            // The virtual line break lets the first delimiter match like every later one.
            buf: b"\r\n".to_vec(),
            state: State::Preamble,
            field_name: String::new(),
            field_value: Vec::new(),
        }
    }

    /// Adds a chunk of the body; returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, ApiError> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut at = 0;
        loop {
            let rest = &self.buf[at..];
            match self.state {
                State::Done => {
                    at = self.buf.len(); // the epilogue is ignored
                    break;
                }
                State::Preamble => match find(rest, &self.delimiter) {
                    Some(i) => {
                        at += i + self.delimiter.len();
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        // Keep what could be the start of a delimiter.
                        at += rest.len().saturating_sub(self.delimiter.len() - 1);
                        break;
                    }
                },
                State::AfterDelimiter => {
                    // Transport padding (spaces, tabs) may follow a delimiter.
                    let pad = rest
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t'))
                        .count();
                    let rest = &rest[pad..];
                    if rest.len() < 2 {
                        at += pad;
                        break;
                    }
                    if rest.starts_with(b"--") {
                        self.state = State::Done;
                    } else if rest.starts_with(b"\r\n") {
                        at += pad + 2;
                        self.state = State::Headers;
                    } else {
                        return Err(malformed(
                            "a multipart delimiter is not followed by a line break",
                        ));
                    }
                }
                State::Headers => match find(rest, b"\r\n\r\n") {
                    Some(i) => {
                        let head = String::from_utf8_lossy(&rest[..i]).into_owned();
                        at += i + 4;
                        events.extend(self.start_part(&head)?);
                    }
                    None if rest.len() > MAX_HEADER_BYTES => {
                        return Err(malformed("a multipart part's headers exceed 16 KiB"));
                    }
                    None => break,
                },
                State::FieldBody | State::FileBody => {
                    let (data, found) = match find(rest, &self.delimiter) {
                        Some(i) => (&rest[..i], true),
                        None => (
                            &rest[..rest.len().saturating_sub(self.delimiter.len() - 1)],
                            false,
                        ),
                    };
                    let taken = data.len();
                    if self.state == State::FileBody {
                        if !data.is_empty() {
                            events.push(Event::FileData(data.to_vec()));
                        }
                    } else {
                        if self.field_value.len() + data.len() > MAX_FIELD_BYTES {
                            return Err(malformed(format!(
                                "form field `{}` is larger than {MAX_FIELD_BYTES} bytes",
                                self.field_name
                            )));
                        }
                        self.field_value.extend_from_slice(data);
                    }
                    at += taken;
                    if !found {
                        break;
                    }
                    at += self.delimiter.len();
                    events.push(self.end_part()?);
                    self.state = State::AfterDelimiter;
                }
            }
        }
        self.buf.drain(..at);
        Ok(events)
    }

    fn start_part(&mut self, head: &str) -> Result<Option<Event>, ApiError> {
        let mut disposition = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                disposition = Some(v.trim().to_owned());
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
        let disposition = disposition
            .ok_or_else(|| malformed("a multipart part has no Content-Disposition header"))?;
        let name = disposition_param(&disposition, "name")
            .ok_or_else(|| malformed("a multipart part has no name"))?;
        let filename = disposition_param(&disposition, "filename");
        if name == "file" || filename.is_some() {
            self.state = State::FileBody;
            Ok(Some(Event::FileStart {
                name,
                filename,
                content_type,
            }))
        } else {
            self.state = State::FieldBody;
            self.field_name = name;
            self.field_value.clear();
            Ok(None)
        }
    }

    fn end_part(&mut self) -> Result<Event, ApiError> {
        if self.state == State::FileBody {
            return Ok(Event::FileEnd);
        }
        let value = String::from_utf8(std::mem::take(&mut self.field_value)).map_err(|_| {
            malformed(format!(
                "form field `{}` is not UTF-8 text",
                self.field_name
            ))
        })?;
        Ok(Event::Field {
            name: std::mem::take(&mut self.field_name),
            value,
        })
    }

    /// Ends the body: an error unless the closing delimiter was seen.
    pub fn finish(&self) -> Result<(), ApiError> {
        match self.state {
            State::Done => Ok(()),
            State::Preamble => Err(malformed(
                "the body holds no multipart part with the boundary its Content-Type names",
            )),
            _ => Err(malformed(
                "the multipart body ended before its closing delimiter (was the upload cut off?)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble to ignore\r\n--XyZ\r\nContent-Disposition: form-data; name=\"company_name\"\r\n\r\nAcme; \"Co\"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nops@acme.example\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sales.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--X not the end\r\n--XyZ--\r\nepilogue";

    fn parse(body: &[u8], chunk: usize) -> Result<(Vec<Event>, Vec<u8>), ApiError> {
        let mut p = Multipart::new("XyZ");
        let mut events = Vec::new();
        for part in body.chunks(chunk.max(1)) {
            events.extend(p.feed(part)?);
        }
        p.finish()?;
        // Merge the file data so different splits compare equal.
        let mut file = Vec::new();
        let events = events
            .into_iter()
            .filter(|e| match e {
                Event::FileData(d) => {
                    file.extend_from_slice(d);
                    false
                }
                _ => true,
            })
            .collect();
        Ok((events, file))
    }

    #[test]
    fn fields_and_file_survive_every_split() {
        let expected_events = vec![
            Event::Field {
                name: "company_name".into(),
                value: "Acme; \"Co\"".into(),
            },
            Event::Field {
                name: "email".into(),
                value: "ops@acme.example".into(),
            },
            Event::FileStart {
                name: "file".into(),
                filename: Some("sales.csv".into()),
                content_type: Some("text/csv".into()),
            },
            Event::FileEnd,
        ];
        for chunk in 1..=BODY.len() {
            let (events, file) =
                parse(BODY, chunk).unwrap_or_else(|e| panic!("chunk {chunk}: {e:?}"));
            assert_eq!(events, expected_events, "chunk {chunk}");
            assert_eq!(file, b"a,b\r\n1,2\r\n--X not the end", "chunk {chunk}");
        }
    }

    #[test]
    fn a_file_part_is_streamed_not_held() {
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'x', 1 << 20));
        body.extend_from_slice(b"\r\n--b--\r\n");
        let mut p = Multipart::new("b");
        let mut streamed = 0;
        for part in body.chunks(64 * 1024) {
            for e in p.feed(part).unwrap() {
                if let Event::FileData(d) = e {
                    streamed += d.len();
                }
            }
            assert!(
                p.buf.len() < 64,
                "the parser keeps only a delimiter's worth"
            );
        }
        p.finish().unwrap();
        assert_eq!(streamed, 1 << 20);
    }

    #[test]
    fn broken_bodies_are_400() {
        let cut = &BODY[..BODY.len() - 20];
        assert_eq!(parse(cut, 7).unwrap_err().code, ErrorCode::InvalidBody);
        let e = parse(b"no parts at all", 4).unwrap_err();
        assert!(e.message.contains("boundary"), "{}", e.message);
        let e = parse(b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", 5).unwrap_err();
        assert!(e.message.contains("Content-Disposition"), "{}", e.message);
        let mut big = b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_FIELD_BYTES + 1));
        big.extend_from_slice(b"\r\n--XyZ--");
        assert!(parse(&big, 4096).unwrap_err().message.contains("email"));
    }

    #[test]
    fn boundary_and_disposition_parameters() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"abc def\"").as_deref(),
            Some("abc def")
        );
        assert_eq!(
            boundary("multipart/form-data;charset=utf-8;BOUNDARY=x1").as_deref(),
            Some("x1")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        let d = "form-data; name=\"file\"; filename=\"a;b.csv\"";
        assert_eq!(disposition_param(d, "filename").as_deref(), Some("a;b.csv"));
        assert_eq!(disposition_param(d, "name").as_deref(), Some("file"));
        assert_eq!(
            disposition_param("form-data; name=plain", "name").as_deref(),
            Some("plain")
        );
    }
}
