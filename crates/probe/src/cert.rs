//! Turning a presented certificate into a storable [`CertInfo`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::model::CertInfo;

/// Describes one DER certificate; `keep_der` stores the encoding too (done for the leaf).
pub(crate) fn describe(der: &[u8], keep_der: bool) -> CertInfo {
    let sha256 = hex::encode(Sha256::digest(der));
    let base64 = || STANDARD.encode(der);
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            dns_names: dns_names(&cert),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            sha256,
            der_base64: keep_der.then(base64),
            parse_error: None,
        },
        Err(error) => CertInfo {
            subject: String::new(),
            issuer: String::new(),
            dns_names: Vec::new(),
            not_before: 0,
            not_after: 0,
            sha256,
            der_base64: Some(base64()),
            parse_error: Some(error.to_string()),
        },
    }
}

/// The SAN dNSNames; the subject CNs only when there is no SAN extension at all
/// (RFC 6125 §6.4.4, which WebPKI does not implement: a CN-only certificate fails there).
fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
            .collect(),
        Ok(None) => cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .map(str::to_owned)
            .collect(),
        Err(_) => Vec::new(),
    }
}
