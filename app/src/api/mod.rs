//! Server functions: thin adapters that authenticate, call one use-case and map its error.
//! Each is also a plain HTTP endpoint under `/api/` (form-encoded POST, JSON answer).

#[cfg(feature = "ssr")]
mod ctx;
pub mod domains;
pub mod invites;
pub mod orgs;
pub mod reports;
pub mod session;
