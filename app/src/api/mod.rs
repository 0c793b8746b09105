//! Server functions: thin adapters that authenticate, call one use-case and map its error.
//! Each is also a plain HTTP endpoint under `/api/` (form-encoded POST, JSON answer).

#[cfg(feature = "ssr")]
mod ctx;

/// The session key holding the signed-in user's id (also read by the server's download
/// routes, which are plain axum handlers).
#[cfg(feature = "ssr")]
pub const SESSION_USER_KEY: &str = "uid";
pub mod dashboard;
pub mod domains;
pub mod invites;
pub mod orgs;
pub mod plans;
pub mod problems;
pub mod readiness;
pub mod reports;
pub mod session;
