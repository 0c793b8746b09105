//! What a probe records: the [`Probe`] result, its [`Verdict`] and the TLS details.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The outcome of one probe of one MX address, as a sending MTA would have seen it.
///
/// A probe never fails as a whole: every problem is recorded here, in
/// [`verdict`](Self::verdict), [`detail`](Self::detail) and
/// [`phase_failed`](Self::phase_failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// The MX host name as given by the caller. Without its trailing dot, it is the SNI
    /// sent and the name the certificate must match.
    pub mx_host: String,
    /// The address that was connected to.
    pub addr: IpAddr,
    /// The TCP port that was connected to.
    pub port: u16,
    /// When the probe started, in seconds since the Unix epoch.
    pub started_at: i64,
    /// How long the whole probe took, in milliseconds.
    pub duration_ms: u64,
    /// The server's greeting (all lines of the 220 reply, joined by `\n`), if one was read.
    pub banner: Option<String>,
    /// Whether the (plain-text) EHLO reply advertised STARTTLS.
    pub starttls_offered: bool,
    /// The TLS session, present only when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// Every certificate problem found, most important first (see [`Verdict`] for the
    /// order). Empty when the certificate is valid or was never seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cert_problems: Vec<Verdict>,
    /// The single result a sending MTA would report.
    pub verdict: Verdict,
    /// A human-readable reason for the verdict (or a summary of the session when `Ok`).
    pub detail: String,
    /// The phase that failed, if any.
    pub phase_failed: Option<Phase>,
}

/// The negotiated TLS session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// The protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// The cipher suite, in rustls's naming, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The certificates the server presented, leaf first, in the order sent.
    pub chain: Vec<CertInfo>,
}

/// One certificate of the presented chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// The subject distinguished name, e.g. `CN=mx.example.com`.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// The subjectAltName dNSName entries; the subject CN only when there is no SAN
    /// extension (WebPKI itself never looks at the CN).
    pub dns_names: Vec<String>,
    /// Start of validity, in seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, in seconds since the Unix epoch.
    pub not_after: i64,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub sha256: String,
    /// The DER encoding in standard base64; kept for the leaf (and for any certificate
    /// that could not be parsed) so it can be stored and re-examined later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub der_base64: Option<String>,
    /// Why the certificate could not be parsed; the fields above are then empty or zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// The result of a probe, in RFC 8460 §4.3 result types plus [`Verdict::Unreachable`].
///
/// When a certificate has several problems, a sending MTA reports one. The order used is
/// expired, then host mismatch, then not trusted (then any other validation failure):
/// an expired certificate is usually the one thing an operator must fix, and a name
/// mismatch is reported even on an untrusted certificate so that a self-signed
/// "localhost" certificate is not mistaken for a trust-store problem. WebPKI checks a
/// certificate's validity period before looking for its issuer, so the trust of an
/// expired certificate is never evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// STARTTLS was negotiated and the certificate validated for the MX host name.
    Ok,
    /// RFC 8460 §4.3.1 `starttls-not-supported`: STARTTLS was not advertised, or was refused.
    StarttlsNotSupported,
    /// RFC 8460 §4.3.1 `certificate-host-mismatch`: no name in the certificate matches
    /// the MX host.
    CertificateHostMismatch,
    /// RFC 8460 §4.3.1 `certificate-expired`.
    CertificateExpired,
    /// RFC 8460 §4.3.1 `certificate-not-trusted`: no trust anchor validates the chain.
    CertificateNotTrusted,
    /// RFC 8460 §4.3.1 `validation-failure`: any other failure, e.g. a failed handshake,
    /// a bad signature, a certificate not yet valid or a protocol error after STARTTLS.
    ValidationFailure,
    /// Not an RFC 8460 type: the probe could not get far enough to test TLS (connection
    /// refused, timeout, no or bad greeting, EHLO refused).
    Unreachable,
}

impl Verdict {
    /// The RFC 8460 result-type string (`"ok"` and `"unreachable"` are Moat's own).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::StarttlsNotSupported => "starttls-not-supported",
            Verdict::CertificateHostMismatch => "certificate-host-mismatch",
            Verdict::CertificateExpired => "certificate-expired",
            Verdict::CertificateNotTrusted => "certificate-not-trusted",
            Verdict::ValidationFailure => "validation-failure",
            Verdict::Unreachable => "unreachable",
        }
    }

    /// Whether this verdict is anything but [`Verdict::Ok`].
    pub fn is_failure(self) -> bool {
        self != Verdict::Ok
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step of the SMTP/TLS session in which a probe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The TCP connection.
    Connect,
    /// Reading the 220 greeting.
    Banner,
    /// The plain-text EHLO.
    Ehlo,
    /// STARTTLS: not advertised, refused or no reply.
    StartTls,
    /// The TLS handshake, including certificate validation.
    Handshake,
    /// The EHLO sent over TLS.
    EhloAfterTls,
}
