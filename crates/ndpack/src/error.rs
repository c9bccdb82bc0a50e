//! The one public error type of ndpack, [`Error`], with its [`ErrorKind`].
//!
//! Every fallible function returns [`Result`]. Decoders never panic on bad input: they return
//! [`ErrorKind::Corrupt`], [`ErrorKind::Truncated`] or [`ErrorKind::TooLarge`], and memory they
//! cannot get is [`ErrorKind::OutOfMemory`], never an abort.

use std::fmt;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The largest output a decoder allocates from a size declared in its input when the caller gives
/// no `out` buffer: 16 GiB. Declared sizes above this are [`ErrorKind::TooLarge`].
pub const MAX_DECODED_SIZE: usize = 1 << 34;

/// What went wrong, without the message. Front ends map kinds to their own errors
/// (Python: `ValueError`, `TypeError`, `KeyError`, `OSError`, `MemoryError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A codec id that no registered codec has.
    UnknownCodec,
    /// A codec configuration with an unknown key or a bad value.
    InvalidConfig,
    /// An argument that is not valid for the call (wrong size, wrong shape, ...).
    InvalidArgument,
    /// A data type that the operation does not support, or a dtype string that does not parse.
    UnsupportedDtype,
    /// Something the format allows that ndpack does not implement.
    Unsupported,
    /// Input that is not valid data of the expected format.
    Corrupt,
    /// Input that ends before the format says it should.
    Truncated,
    /// A declared size over the real size of the input or over the allowed limit.
    TooLarge,
    /// A stored checksum that does not match the data.
    ChecksumMismatch,
    /// A failure of the operating system (files, memory maps).
    Io,
    /// A failure reported by a compression back-end library.
    Backend,
    /// Memory for a size the input or the caller asked for could not be allocated.
    OutOfMemory,
}

impl ErrorKind {
    /// A short lower-case name of the kind, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnknownCodec => "unknown codec",
            ErrorKind::InvalidConfig => "invalid codec configuration",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::UnsupportedDtype => "unsupported data type",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corrupt => "corrupt input",
            ErrorKind::Truncated => "truncated input",
            ErrorKind::TooLarge => "declared size too large",
            ErrorKind::ChecksumMismatch => "checksum mismatch",
            ErrorKind::Io => "I/O error",
            ErrorKind::Backend => "back-end error",
            ErrorKind::OutOfMemory => "out of memory",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The error of every ndpack operation: a kind and a message (one pointer wide).
pub struct Error(Box<Inner>);

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            source: None,
        }))
    }

    /// A new error of `kind` with `message`, caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Shorthand for `Error::new(ErrorKind::Corrupt, message)`.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Truncated, message)`.
    pub fn truncated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Truncated, message)
    }

    /// Shorthand for `Error::new(ErrorKind::TooLarge, message)`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }

    /// Shorthand for `Error::new(ErrorKind::OutOfMemory, message)`.
    pub fn out_of_memory(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfMemory, message)
    }

    /// An [`ErrorKind::OutOfMemory`] error for a block of `bytes` bytes that `what` needed.
    pub fn alloc_failed(what: &str, bytes: usize) -> Self {
        Self::out_of_memory(format!("{what}: cannot allocate {bytes} bytes"))
    }

    /// Shorthand for `Error::new(ErrorKind::InvalidConfig, message)`.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    /// Shorthand for `Error::new(ErrorKind::InvalidArgument, message)`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.kind, self.0.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let msg = e.to_string();
        Error::with_source(ErrorKind::Io, msg, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_and_displays_kind() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        let e = Error::truncated("need 8 bytes, got 3");
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert_eq!(e.to_string(), "truncated input: need 8 bytes, got 3");
    }

    #[test]
    fn failed_allocations_have_their_own_kind() {
        let e = Error::alloc_failed("zstd", 1 << 40);
        assert_eq!(e.kind(), ErrorKind::OutOfMemory);
        assert_eq!(
            e.to_string(),
            "out of memory: zstd: cannot allocate 1099511627776 bytes"
        );
    }
}
