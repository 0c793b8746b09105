//! The use-case error type and its protocol-independent classification.

use moat_store::StoreError;

/// How an adapter should present an error: the only thing adapters branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Input refused; the message says why (HTTP 400/422, SMTP 5xx).
    Invalid,
    /// Not signed in, or wrong credentials (HTTP 401).
    Unauthorized,
    /// Signed in but not allowed (HTTP 403).
    Forbidden,
    /// Absent, or belongs to another tenant (HTTP 404).
    NotFound,
    /// Clashes with existing state (HTTP 409).
    Conflict,
    /// Too many attempts (HTTP 429).
    Throttled,
    /// A dependency is down; retry later (HTTP 503, SMTP 451).
    Unavailable,
    /// A bug or unexpected failure (HTTP 500).
    Internal,
}

/// A use-case failure. Messages of the user-facing variants are safe to show; the
/// `Unavailable`/`Internal` causes are logged, never sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation.
    #[error("{message}")]
    Invalid {
        /// The form field it concerns (`email`, `password`, `name`, `role`, ...).
        field: &'static str,
        /// What is wrong, in plain words.
        message: String,
    },
    /// Sign-in required or failed.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The role does not allow this.
    #[error("your role in this organization does not allow this")]
    Forbidden,
    /// Nothing by that reference that this user may see.
    #[error("not found")]
    NotFound,
    /// Clashes with existing state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: i64,
    },
    /// A dependency (the database, the mail relay) is unavailable.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything unexpected.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    /// The classification adapters map to status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::Forbidden => ErrorKind::Forbidden,
            Error::NotFound => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A validation error on `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::Conflict) {
            Error::Conflict("already exists".into())
        } else if e.is_unavailable() {
            Error::Unavailable(anyhow::Error::new(e))
        } else {
            Error::Internal(anyhow::Error::new(e))
        }
    }
}

/// Result alias for use-cases.
pub type Result<T, E = Error> = std::result::Result<T, E>;
