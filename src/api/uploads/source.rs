//! Reading an upload's body: the byte stream with its limit counted as bytes arrive
//! ([`Source`]), and the file inside it ([`FileReader`]: the whole body, or the `file` part of a
//! multipart body, with the fields before it).
//!
//! Design decision: the body is a boxed `Stream` of chunks rather than `worker::ByteStream`, so
//! the whole upload path runs natively in tests with a scripted body.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};

use super::digest::RequestDigest;
use super::fields::{payload_too_large, whole_file_too_large, UploadFields};
use super::multipart::{Event, Multipart};
use crate::error::{ApiError, ErrorCode};

/// A request body as chunks; an error is the runtime's reason the body could not be read.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, String>>>>;

/// The request body, read chunk by chunk with the byte limit enforced as bytes arrive.
pub struct Source {
    stream: BodyStream,
    read: u64,
    limit: u64,
    /// The limit was lowered for a format parsed whole ([`Source::cap_whole`]).
    whole: bool,
}

impl Source {
    pub fn new(stream: BodyStream, limit: u64) -> Source {
        Source {
            stream,
            read: 0,
            limit,
            whole: false,
        }
    }

    /// Lowers the limit to `limit` for a body parsed whole; what was read already counts.
    pub fn cap_whole(&mut self, limit: u64) {
        if limit < self.limit {
            self.limit = limit;
            self.whole = true;
        }
    }

    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        match self.stream.next().await {
            // A limit lowered after bytes were read (`cap_whole`) may already be passed.
            None if self.read > self.limit => Err(self.too_large()),
            None => Ok(None),
            Some(Err(e)) => Err(ApiError::new(
                ErrorCode::InvalidBody,
                format!("the upload could not be read to its end: {e}"),
            )),
            Some(Ok(chunk)) => {
                self.read += chunk.len() as u64;
                if self.read > self.limit {
                    return Err(self.too_large());
                }
                Ok(Some(chunk))
            }
        }
    }

    fn too_large(&self) -> ApiError {
        if self.whole {
            whole_file_too_large(self.limit)
        } else {
            payload_too_large(self.limit)
        }
    }

    pub async fn read_all(&mut self) -> Result<Vec<u8>, ApiError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }
}

/// The file inside the body: the whole body for raw uploads, the `file` part for multipart.
pub struct FileReader {
    source: Source,
    multipart: Option<Multipart>,
    queued: std::collections::VecDeque<Event>,
    ended: bool,
    /// Fed with the fields and the file's bytes as they are read.
    digest: RequestDigest,
}

impl FileReader {
    /// Reads multipart fields up to the file part, adding them to `fields`.
    pub async fn open(
        source: Source,
        boundary: Option<&str>,
        fields: &mut UploadFields,
        digest: &RequestDigest,
    ) -> Result<(FileReader, Option<String>), ApiError> {
        let mut reader = FileReader {
            source,
            multipart: boundary.map(Multipart::new),
            queued: Default::default(),
            ended: false,
            digest: digest.clone(),
        };
        if reader.multipart.is_none() {
            return Ok((reader, None));
        }
        loop {
            match reader.event().await? {
                Some(Event::Field { name, value }) => {
                    reader.digest.field("field", &name, &value);
                    fields.set(&name, value)?
                }
                Some(Event::FileStart {
                    filename,
                    content_type,
                    ..
                }) => return Ok((reader, filename.or(content_type))),
                Some(_) => {}
                None => return Err(ApiError::new(
                    ErrorCode::InvalidBody,
                    "the multipart body has no file part; send the data in the part named `file`",
                )),
            }
        }
    }

    /// See [`Source::cap_whole`]; the limit counts the whole body, fields and framing too.
    pub fn cap_whole(&mut self, limit: u64) {
        self.source.cap_whole(limit);
    }

    async fn event(&mut self) -> Result<Option<Event>, ApiError> {
        loop {
            if let Some(e) = self.queued.pop_front() {
                return Ok(Some(e));
            }
            let Some(parser) = self.multipart.as_mut() else {
                return Ok(None);
            };
            match self.source.next().await? {
                Some(chunk) => self.queued.extend(parser.feed(&chunk)?),
                None => {
                    parser.finish()?;
                    return Ok(None);
                }
            }
        }
    }

    /// The next bytes of the file; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        if self.ended {
            return Ok(None);
        }
        if self.multipart.is_none() {
            let c = self.source.next().await?;
            self.ended = c.is_none();
            if let Some(bytes) = &c {
                self.digest.bytes(bytes);
            }
            return Ok(c);
        }
        loop {
            match self.event().await? {
                Some(Event::FileData(d)) => {
                    self.digest.bytes(&d);
                    return Ok(Some(d));
                }
                Some(Event::FileEnd) => {
                    self.ended = true;
                    // The rest of the body may only close it: a late field would be ignored.
                    return match self.event().await? {
                        None => Ok(None),
                        Some(Event::Field { name, .. }) => Err(ApiError::new(ErrorCode::InvalidBody,
                            format!("form field `{name}` comes after the file; fields must precede the `file` part"),
                        )),
                        Some(_) => Err(ApiError::new(ErrorCode::InvalidBody,
                            "send one file per request (one part named `file`)",
                        )),
                    };
                }
                Some(_) => {}
                None => {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
    }
}
