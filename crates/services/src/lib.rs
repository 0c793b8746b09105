//! Moat's use-cases. Every front door — server functions, the CLI, the SMTP and HTTP
//! listeners, background jobs — calls these functions and maps [`Error::kind`] to its own
//! protocol. Nothing here knows about HTTP, HTML or sessions.

pub mod accounts;
pub mod error;
pub mod invites;
pub mod mail;
pub mod tenancy;
mod tokens;

pub use error::{Error, ErrorKind, Result};
pub use moat_store::Db;

use std::sync::Arc;

/// Settings the use-cases need (a slice of the server's configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL users reach the web app at, for links in e-mails (no trailing slash).
    pub public_url: String,
    /// The `From:` address of mail Moat sends.
    pub mail_from: String,
}

/// The handle every adapter holds: database, mailer and settings.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: Db,
    /// Outbound mail.
    pub mailer: Arc<mail::Mailer>,
    /// Settings.
    pub settings: Arc<Settings>,
}

impl Services {
    /// Bundles the parts.
    pub fn new(db: Db, mailer: mail::Mailer, settings: Settings) -> Self {
        Self {
            db,
            mailer: Arc::new(mailer),
            settings: Arc::new(settings),
        }
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
