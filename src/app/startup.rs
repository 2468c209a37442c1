//! Why the server did not start, as a type. `main` tells the socket
//! ("cannot listen", with a hint to pick another port) from everything else
//! ("cannot start"); each message already says what to do.

use crate::backplane::redis::LinkError;
use crate::storage::{KeepingError, OpenError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The address could not be bound (often: the port is taken).
    #[error(transparent)]
    Listen(std::io::Error),
    #[error("the listener has no address")]
    NoAddress,
    /// `--redis-url`: Redis could not be reached or used.
    #[error(transparent)]
    Redis(#[from] LinkError),
    /// The flags name no place to keep progress.
    #[error(transparent)]
    Keeping(#[from] KeepingError),
    /// The progress file cannot be opened.
    #[error(transparent)]
    Storage(#[from] OpenError),
    /// `--tls`: the certificate could not be read, made or used.
    #[error(transparent)]
    Tls(#[from] crate::app::tls::TlsError),
    #[error("--http1-port is the HTTP/1.1-only HTTPS port for comparing protocols: it needs --tls")]
    Http1PortWithoutTls,
    /// The embedded lessons do not load (a broken build).
    #[error("{0}")]
    Lessons(String),
}
