//! A certificate verifier that records what WebPKI thinks instead of aborting the handshake.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

use crate::model::Verdict;

/// What the verifier saw during one handshake.
#[derive(Debug, Clone, Default)]
pub(crate) struct CertRecord {
    /// The presented chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The full WebPKI verdict (validity, path to a trust anchor, then name).
    pub chain_error: Option<Error>,
    /// The name check alone, so a mismatch is seen even on an untrusted chain.
    pub name_error: Option<Error>,
}

impl CertRecord {
    /// The distinct certificate problems, in [`Verdict`]'s order of precedence, each with
    /// the message that explains it.
    pub fn problems(&self) -> Vec<(Verdict, String)> {
        let mut problems: Vec<(Verdict, String)> = Vec::new();
        for error in [&self.chain_error, &self.name_error].into_iter().flatten() {
            let verdict = classify(error);
            if !problems.iter().any(|(seen, _)| *seen == verdict) {
                problems.push((verdict, error.to_string()));
            }
        }
        problems.sort_by_key(|(verdict, _)| precedence(*verdict));
        problems
    }
}

/// Maps a rustls certificate error to its RFC 8460 §4.3.1 result type.
fn classify(error: &Error) -> Verdict {
    match error {
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            Verdict::CertificateExpired
        }
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Verdict::CertificateHostMismatch,
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => Verdict::CertificateNotTrusted,
        // Not yet valid, revoked, bad signature in the chain, bad encoding, wrong EKU...
        _ => Verdict::ValidationFailure,
    }
}

/// Lower is reported first; see [`Verdict`].
fn precedence(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::CertificateExpired => 0,
        Verdict::CertificateHostMismatch => 1,
        Verdict::CertificateNotTrusted => 2,
        _ => 3,
    }
}

/// Runs the real WebPKI verification, records its outcome and the chain, and lets the
/// handshake go on so the rest of the session can be observed.
///
/// Handshake signatures are still verified for real: a server that cannot prove it holds
/// the certificate's key fails the handshake.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    record: Arc<Mutex<Option<CertRecord>>>,
}

impl RecordingVerifier {
    pub fn new(inner: Arc<WebPkiServerVerifier>) -> Self {
        Self {
            inner,
            record: Arc::default(),
        }
    }

    /// The record of the first certificate verification, if one happened.
    pub fn record(&self) -> Option<CertRecord> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let chain_error = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .err();
        let name_error = ParsedCertificate::try_from(end_entity)
            .and_then(|leaf| verify_server_name(&leaf, server_name))
            .err();
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|cert| cert.clone().into_owned())
            .collect();

        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        record.get_or_insert(CertRecord {
            chain,
            chain_error,
            name_error,
        });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(chain_error: Option<CertificateError>, name_error: Option<CertificateError>) -> CertRecord {
        CertRecord {
            chain: Vec::new(),
            chain_error: chain_error.map(Error::InvalidCertificate),
            name_error: name_error.map(Error::InvalidCertificate),
        }
    }

    fn verdicts(record: &CertRecord) -> Vec<Verdict> {
        record.problems().into_iter().map(|(v, _)| v).collect()
    }

    #[test]
    fn problems_are_deduplicated_and_ordered_by_precedence() {
        use CertificateError::*;
        for (chain, name, expected) in [
            (None, None, vec![]),
            (
                Some(NotValidForName),
                Some(NotValidForName),
                vec![Verdict::CertificateHostMismatch],
            ),
            (
                Some(UnknownIssuer),
                Some(NotValidForName),
                vec![Verdict::CertificateHostMismatch, Verdict::CertificateNotTrusted],
            ),
            (
                Some(Expired),
                Some(NotValidForName),
                vec![Verdict::CertificateExpired, Verdict::CertificateHostMismatch],
            ),
            (Some(NotValidYet), None, vec![Verdict::ValidationFailure]),
            (Some(BadSignature), None, vec![Verdict::ValidationFailure]),
        ] {
            let record = record(chain.clone(), name.clone());
            assert_eq!(verdicts(&record), expected, "{chain:?} / {name:?}");
        }
    }
}
