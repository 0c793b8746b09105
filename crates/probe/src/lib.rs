//! Moat's MX TLS probe: connect to one MX address as a sending MTA would, and record what
//! it would have reported under MTA-STS (RFC 8461) in RFC 8460 result types.
//!
//! The session is: TCP connect, 220 greeting, EHLO, STARTTLS, TLS handshake with the MX
//! host as SNI, EHLO over TLS, QUIT. The probe never sends `MAIL FROM`. Certificate
//! problems do not abort the handshake: they are recorded and the session goes on, so one
//! probe shows every problem. Replies are bounded (512-byte lines, 100 lines per reply).
//!
//! ```no_run
//! # async fn run() {
//! let opts = moat_probe::ProbeOptions::default();
//! let probe = moat_probe::probe("mx.example.com", "192.0.2.25".parse().unwrap(), &opts).await;
//! println!("{}: {}", probe.verdict, probe.detail);
//! # }
//! ```
#![warn(missing_docs)]

mod cert;
mod model;
mod options;
mod session;
mod smtp;
mod verifier;

pub use model::{CertInfo, Phase, Probe, TlsInfo, Verdict};
pub use options::ProbeOptions;
pub use session::{probe, probe_all};
