//! Newtypes for every external string that enters the system ("parse, don't validate").

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a user-supplied value was refused. The message is shown next to the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The e-mail address is not of the form `local@domain.tld`.
    #[error("enter an e-mail address like name@example.com")]
    InvalidEmail,
    /// The organization name is empty or too long.
    #[error("an organization name has 1 to 100 characters")]
    InvalidOrgName,
    /// The password is too short or too long.
    #[error("a password has {min} to {max} characters", min = Password::MIN_LEN, max = Password::MAX_LEN)]
    InvalidPassword,
}

/// An e-mail address, trimmed and lower-cased (accounts are matched case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses a single address. Deliberately simple: one `@`, a non-empty local part without
    /// spaces, and a domain with at least one dot and no empty labels.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.trim().to_ascii_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(NameError::InvalidEmail);
        }
        let (local, domain) = s.split_once('@').ok_or(NameError::InvalidEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(NameError::InvalidEmail);
        }
        Ok(Self(s))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The display name of an organization: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName(String);

impl OrgName {
    /// Parses and normalises inner whitespace runs to single spaces.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
            return Err(NameError::InvalidOrgName);
        }
        Ok(Self(s))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OrgName> for String {
    fn from(value: OrgName) -> Self {
        value.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password as typed by the user. Never logged or serialised: `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Minimum length (NIST SP 800-63B recommends at least 8; we ask for 10).
    pub const MIN_LEN: usize = 10;
    /// Maximum length, bounding the hashing work an attacker can request.
    pub const MAX_LEN: usize = 256;

    /// Accepts any characters; only the length (in characters) is checked.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let n = input.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&n) {
            return Err(NameError::InvalidPassword);
        }
        Ok(Self(input.to_owned()))
    }

    /// The secret, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_or_refused() {
        for (input, expected) in [
            ("Alice@Example.COM", Some("alice@example.com")),
            ("  bob@sub.example.org ", Some("bob@sub.example.org")),
            ("no-at-sign.example", None),
            ("a@b", None),
            ("a b@example.com", None),
            ("@example.com", None),
            ("a@@example.com", None),
            ("a@example..com", None),
            ("a@-bad.example", None),
        ] {
            assert_eq!(
                EmailAddress::parse(input).ok().map(|e| e.as_str().to_owned()),
                expected.map(str::to_owned),
                "{input}"
            );
        }
    }

    #[test]
    fn org_names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme   MSP ").unwrap().as_str(), "Acme MSP");
        assert!(OrgName::parse("   ").is_err());
        assert!(OrgName::parse(&"x".repeat(101)).is_err());
        assert!(OrgName::parse("bad\u{7}name").is_err());
    }

    #[test]
    fn passwords_have_bounded_length_and_redacted_debug() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert!(Password::parse(&"x".repeat(257)).is_err());
    }
}
