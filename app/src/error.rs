//! The error type every server function returns: stable `code`s on the wire, messages that
//! are safe to show, and the HTTP status that goes with each.

use http::StatusCode;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What went wrong, as the browser (or any API client) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// A form field was refused.
    #[error("{message}")]
    Invalid {
        /// The field's `name`.
        field: String,
        /// Why, in plain words.
        message: String,
    },
    /// Not signed in, or wrong credentials.
    #[error("{message}")]
    Unauthorized {
        /// What to do.
        message: String,
    },
    /// The role does not allow it.
    #[error("your role in this organization does not allow this")]
    Forbidden,
    /// Does not exist, or belongs to someone else.
    #[error("not found")]
    NotFound,
    /// Clashes with existing state.
    #[error("{message}")]
    Conflict {
        /// What clashes.
        message: String,
    },
    /// Too many attempts.
    #[error("{message}")]
    Throttled {
        /// When to retry.
        message: String,
    },
    /// A dependency is down.
    #[error("Moat is temporarily unavailable; try again in a moment")]
    Unavailable,
    /// A bug on our side (logged with details on the server).
    #[error("something went wrong on our side; it has been logged")]
    Internal,
    /// The request itself failed (network, encoding).
    #[error("{message}")]
    Request {
        /// Transport-level detail.
        message: String,
    },
}

impl AppError {
    /// The error for a page that needs a signed-in user.
    pub fn sign_in_required() -> Self {
        AppError::Unauthorized {
            message: "sign in to continue".into(),
        }
        .with_status()
    }

    /// Sets this error's status on the HTTP response of the server function being served,
    /// so API clients get 404/401/422… rather than a generic 500.
    pub fn with_status(self) -> Self {
        #[cfg(feature = "ssr")]
        if let Some(resp) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(self.status());
        }
        self
    }

    /// The message for `field`, if this error is about that form field.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request {
            message: value.to_string(),
        }
    }
}

impl AppError {
    /// The HTTP status that goes with this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Request { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<moat_services::Error> for AppError {
    fn from(e: moat_services::Error) -> Self {
        use moat_services::Error as E;
        let mapped = match e {
            E::Invalid { field, message } => AppError::Invalid {
                field: field.into(),
                message,
            },
            E::Unauthorized(m) => AppError::Unauthorized { message: m.into() },
            E::Forbidden => AppError::Forbidden,
            E::NotFound => AppError::NotFound,
            E::Conflict(message) => AppError::Conflict { message },
            e @ E::Throttled { .. } => AppError::Throttled {
                message: e.to_string(),
            },
            E::Unavailable(cause) => {
                tracing::error!(error = ?cause, "dependency unavailable: {cause:#}");
                AppError::Unavailable
            }
            E::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error: {cause:#}");
                AppError::Internal
            }
        };
        mapped.with_status()
    }
}
