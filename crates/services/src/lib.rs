//! Moat's use-cases. Every front door — server functions, the CLI, the SMTP and HTTP
//! listeners, background jobs — calls these functions and maps [`Error::kind`] to its own
//! protocol. Nothing here knows about HTTP, HTML or sessions.

pub mod accounts;
pub mod dashboard;
pub mod detect;
pub mod dns;
pub mod domains;
pub mod error;
pub mod intake;
pub mod invites;
pub mod mail;
pub mod net;
pub mod notify;
pub mod plans;
pub mod probe;
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
    /// Hosting: Moat's zone, report addresses, resolvers.
    pub hosting: HostingSettings,
    /// Webhooks may reach loopback/private addresses and plain http:// URLs.
    pub webhook_allow_private: bool,
    /// MX probes and the enforce-readiness checklist.
    pub probe: probe::ProbeSettings,
}

/// The hosting part of the configuration.
#[derive(Debug, Clone)]
pub struct HostingSettings {
    /// Moat's own DNS zone (`MOAT_ZONE`), lowercase, no trailing dot.
    pub zone: String,
    /// The mail domain of the per-domain report addresses (`tlsrpt+D@<this>`).
    pub reports_mail_domain: String,
    /// The HTTPS URL senders may POST reports to, advertised in `rua` when set.
    pub reports_https_url: Option<String>,
    /// Nameservers for checks (`MOAT_RESOLVERS`); empty = the system's.
    pub resolvers: Vec<std::net::SocketAddr>,
    /// Seconds between saving a policy (served over HTTPS at once) and publishing its id in
    /// DNS; longer than the listeners' refresh interval, so no sender sees the new id
    /// before the new body.
    pub publish_delay_secs: i64,
    /// Seconds between background re-checks of a domain's records.
    pub recheck_interval_secs: i64,
}

impl HostingSettings {
    /// Defaults for a zone (reports at `reports.<zone>`, no HTTPS report URL).
    pub fn for_zone(zone: &str) -> Self {
        Self {
            zone: zone.to_owned(),
            reports_mail_domain: format!("reports.{zone}"),
            reports_https_url: None,
            resolvers: Vec::new(),
            publish_delay_secs: 2,
            recheck_interval_secs: 600,
        }
    }

    /// The `rua` URIs advertised for `domain` in its `_smtp._tls` record.
    pub fn rua_for(&self, domain: &str) -> Vec<String> {
        let mut rua = vec![format!("mailto:tlsrpt+{domain}@{}", self.reports_mail_domain)];
        if let Some(url) = &self.reports_https_url {
            rua.push(url.clone());
        }
        rua
    }
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
    /// DNS lookups for record checks and MX discovery.
    pub dns: dns::Dns,
}

impl Services {
    /// Bundles the parts.
    pub fn new(db: Db, mailer: mail::Mailer, settings: Settings) -> Self {
        Self {
            db,
            mailer: Arc::new(mailer),
            dns: dns::Dns::new(&settings.hosting.resolvers),
            settings: Arc::new(settings),
        }
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
