//! Plain-words explanations of RFC 8460 §4.3 result types, for the UI.

use serde::Serialize;

use crate::model::ResultType;

/// What a [`ResultType`] means, in words a domain owner can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResultTypeInfo {
    /// Short human title, e.g. "Certificate expired".
    pub title: &'static str,
    /// What the sending server experienced.
    pub meaning: &'static str,
    /// The most common reason for it.
    pub likely_cause: &'static str,
    /// What the receiving domain's operator should do.
    pub fix: &'static str,
    /// Where RFC 8460 defines it, e.g. "RFC 8460 §4.3.1".
    pub rfc_section: &'static str,
}

const NEGOTIATION: &str = "RFC 8460 §4.3.1";
const DANE: &str = "RFC 8460 §4.3.2.1";
const STS: &str = "RFC 8460 §4.3.2.2";

/// Explanation for `result` (see [`ResultType::describe`]).
pub(crate) fn describe(result: &ResultType) -> ResultTypeInfo {
    match result {
        ResultType::StarttlsNotSupported => ResultTypeInfo {
            title: "STARTTLS not supported",
            meaning: "The receiving mail server did not offer STARTTLS, so the message could not be sent encrypted.",
            likely_cause: "STARTTLS is disabled or misconfigured on the MX, or something on the path (a firewall or \"SMTP fixup\" box) strips the STARTTLS capability.",
            fix: "Enable STARTTLS with a valid certificate on every MX host and check that no middlebox removes it from the EHLO response.",
            rfc_section: NEGOTIATION,
        },
        ResultType::CertificateHostMismatch => ResultTypeInfo {
            title: "Certificate name mismatch",
            meaning: "The MX presented a certificate that does not cover the MX host name the sender connected to.",
            likely_cause: "The certificate lists other names (e.g. only the web site), or a new MX host was added without reissuing the certificate.",
            fix: "Reissue the certificate so its subject alternative names include every MX host name listed in DNS and in the MTA-STS policy.",
            rfc_section: NEGOTIATION,
        },
        ResultType::CertificateExpired => ResultTypeInfo {
            title: "Certificate expired",
            meaning: "The MX presented a certificate whose validity period has ended.",
            likely_cause: "Automatic renewal failed, or the mail server was not reloaded after the certificate was renewed.",
            fix: "Renew the certificate, reload the mail server, and monitor expiry dates.",
            rfc_section: NEGOTIATION,
        },
        ResultType::CertificateNotTrusted => ResultTypeInfo {
            title: "Certificate not trusted",
            meaning: "The MX presented a certificate that does not chain to a certificate authority the sender trusts.",
            likely_cause: "A self-signed certificate, a private CA, or a missing intermediate certificate in the served chain.",
            fix: "Use a certificate from a public CA and configure the server to send the full chain including intermediates.",
            rfc_section: NEGOTIATION,
        },
        ResultType::ValidationFailure => ResultTypeInfo {
            title: "TLS validation failure",
            meaning: "The TLS session failed for a reason not covered by a more specific result type.",
            likely_cause: "Protocol or cipher incompatibility, a handshake error, or a certificate problem the sender could not classify; failure-reason-code often has the detail.",
            fix: "Check the failure-reason-code, test the MX with a TLS checker, and make sure modern TLS versions and ciphers are enabled.",
            rfc_section: "RFC 8460 §4.3.1, §4.3.3",
        },
        ResultType::TlsaInvalid => ResultTypeInfo {
            title: "TLSA record invalid",
            meaning: "The DANE TLSA records for the MX were malformed or did not match the certificate presented.",
            likely_cause: "The certificate or key was rotated without publishing new TLSA records first.",
            fix: "Publish TLSA records matching the current (and next) certificate or key, then rotate.",
            rfc_section: DANE,
        },
        ResultType::DnssecInvalid => ResultTypeInfo {
            title: "DNSSEC invalid",
            meaning: "The sender could not validate DNSSEC for the records it needed for DANE.",
            likely_cause: "Broken DNSSEC signatures, expired RRSIGs, or a DS record at the parent that no longer matches the zone's keys.",
            fix: "Repair the zone's DNSSEC signing and make sure the parent's DS record matches.",
            rfc_section: DANE,
        },
        ResultType::DaneRequired => ResultTypeInfo {
            title: "DANE required",
            meaning: "DANE was required for the destination, but the sender could not use it (for example no usable TLSA records).",
            likely_cause: "TLSA records are missing or unusable while the sender's policy requires DANE for this domain.",
            fix: "Publish valid, DNSSEC-signed TLSA records for every MX host.",
            rfc_section: DANE,
        },
        ResultType::StsPolicyFetchError => ResultTypeInfo {
            title: "MTA-STS policy fetch failed",
            meaning: "The sender found the _mta-sts TXT record but could not download https://mta-sts.<domain>/.well-known/mta-sts.txt.",
            likely_cause: "The mta-sts host does not resolve, is down, returns an HTTP error (e.g. 404) or redirects.",
            fix: "Make sure the policy URL answers 200 with the policy over HTTPS, without redirects.",
            rfc_section: STS,
        },
        ResultType::StsPolicyInvalid => ResultTypeInfo {
            title: "MTA-STS policy invalid",
            meaning: "The sender downloaded the MTA-STS policy but it did not validate, or the MX did not match it.",
            likely_cause: "A syntax error in the policy, a wrong Content-Type, or MX hosts that are not listed in the policy's mx: lines.",
            fix: "Fix the policy syntax, serve it as text/plain, and list every MX host (or a matching wildcard) in mx: lines.",
            rfc_section: STS,
        },
        ResultType::StsWebpkiInvalid => ResultTypeInfo {
            title: "MTA-STS policy host certificate invalid",
            meaning: "The HTTPS certificate of the mta-sts policy host failed validation.",
            likely_cause: "The certificate for mta-sts.<domain> is expired, untrusted, or does not cover that name.",
            fix: "Install a valid public certificate for mta-sts.<domain>.",
            rfc_section: STS,
        },
        ResultType::Unknown(_) => ResultTypeInfo {
            title: "Unrecognised result type",
            meaning: "The sender reported a result type RFC 8460 does not define.",
            likely_cause: "A sender-specific extension or a non-conforming report.",
            fix: "Look at the failure-reason-code and additional-information for details.",
            rfc_section: "RFC 8460 §4.3",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_type_has_a_distinct_title_and_section() {
        let mut titles = Vec::new();
        for rt in ResultType::KNOWN {
            let info = rt.describe();
            assert!(info.rfc_section.starts_with("RFC 8460 §4.3"));
            assert!(!titles.contains(&info.title), "{rt}");
            titles.push(info.title);
        }
        assert_eq!(
            ResultType::Unknown("x".into()).describe().title,
            "Unrecognised result type"
        );
    }
}
