//! How a probe connects: port, timeouts, EHLO name and trust anchors.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

/// Settings for [`probe`](crate::probe) and [`probe_all`](crate::probe_all).
///
/// Each phase has its own timeout, so one slow step cannot use another's budget; the
/// longest possible probe is roughly the sum of them all.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The SMTP port; 25 for MX hosts (RFC 5321 §4.5.4).
    pub port: u16,
    /// Limit for the TCP connection.
    pub connect_timeout: Duration,
    /// Limit for the 220 greeting; RFC 5321 §4.5.3.2.1 suggests waiting 5 minutes, but
    /// a probe has other hosts to see.
    pub banner_timeout: Duration,
    /// Limit for each command and its reply (EHLO, STARTTLS, QUIT).
    pub command_timeout: Duration,
    /// Limit for the TLS handshake.
    pub tls_timeout: Duration,
    /// The name sent in EHLO. Deployments should use the probing host's own public name,
    /// since some servers reject an EHLO that does not resolve.
    pub helo_name: String,
    /// The trust anchors a sending MTA would use; by default the Mozilla roots
    /// (`webpki-roots`).
    pub roots: Arc<RootCertStore>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            port: 25,
            connect_timeout: Duration::from_secs(10),
            banner_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(30),
            tls_timeout: Duration::from_secs(30),
            helo_name: "localhost".to_owned(),
            roots: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
        }
    }
}
