//! One error type for every command: a stable code (for scripts and bug reports) and a message
//! that tells a person what to do next.

use std::fmt;

#[derive(Debug)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// An I/O failure on `path`, with what we were doing.
    pub fn io(code: &'static str, doing: impl fmt::Display, err: std::io::Error) -> Self {
        Error::new(code, format!("{doing}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xtask error [{}]: {}", self.code, self.message)
    }
}
