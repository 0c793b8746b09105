//! The MTA-STS policy model: RFC 8461 §3.2 (policy fields) and §4.1 (MX host matching).

use std::fmt;
use std::str::FromStr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Deserializer, Serialize};

use super::excerpt;

/// The `mode` field of a policy (RFC 8461 §3.2; semantics in §5).
///
/// Serialised in lowercase (`"none"`, `"testing"`, `"enforce"`), exactly as it appears in
/// the policy body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `none`: the domain has no active policy; senders treat it as if there were no
    /// MTA-STS (RFC 8461 §5). Used to withdraw a policy.
    None,
    /// `testing`: senders report failures via TLS-RPT but still deliver (RFC 8461 §5).
    Testing,
    /// `enforce`: senders must not deliver to MX hosts that fail validation (RFC 8461 §5).
    Enforce,
}

impl Mode {
    /// All modes, in the order of increasing strictness.
    pub const ALL: [Mode; 3] = [Mode::None, Mode::Testing, Mode::Enforce];

    /// The exact token used in the policy body (RFC 8461 §3.2 `sts-policy-mode-value`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Testing => "testing",
            Mode::Enforce => "enforce",
        }
    }

    /// Whether this mode requires at least one `mx` line (RFC 8461 §3.2: `mx` is
    /// "required at least once, except when mode is none").
    pub const fn requires_mx(self) -> bool {
        !matches!(self, Mode::None)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = PolicyError;

    /// Parses the exact, case-sensitive token (`%s"enforce"` etc. in the RFC 8461 §3.2
    /// ABNF). `Enforce` or ` enforce` are rejected; trim user input before calling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Mode::None),
            "testing" => Ok(Mode::Testing),
            "enforce" => Ok(Mode::Enforce),
            other => Err(PolicyError::InvalidMode(excerpt(other, 64))),
        }
    }
}

/// Errors building a [`Policy`] or one of its parts (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The mode is not one of the three RFC 8461 §3.2 values.
    #[error("invalid mode {0:?}: expected \"enforce\", \"testing\" or \"none\" (RFC 8461 §3.2)")]
    InvalidMode(String),
    /// An MX pattern was empty (or only whitespace).
    #[error("MX pattern is empty")]
    EmptyMxPattern,
    /// An MX pattern is not `hostname` or `*.` + hostname (RFC 8461 §3.2, §4.1).
    #[error("invalid MX pattern {pattern:?}: {reason}")]
    InvalidMxPattern {
        /// The offending input (shortened if very long).
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
    /// `max_age` is above the RFC 8461 §3.2 maximum.
    #[error("max_age {0} is above the maximum of 31557600 seconds (one year, RFC 8461 §3.2)")]
    MaxAgeTooLarge(u64),
    /// A mode other than `none` needs at least one `mx` pattern.
    #[error("mode \"{0}\" requires at least one mx pattern (RFC 8461 §3.2)")]
    MissingMx(Mode),
    /// The same MX pattern was listed twice.
    #[error("duplicate mx pattern {0:?}")]
    DuplicateMx(String),
}

/// Maximum length of a domain name in presentation form without the root dot (RFC 1035).
const MAX_NAME_LEN: usize = 253;
/// Maximum length of a DNS label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// An allowed-MX pattern from a policy's `mx` field (RFC 8461 §3.2 `sts-policy-mx-value =
/// ["*."] Domain`; matching in §4.1).
///
/// Either an exact hostname (`mail.example.com`) or a wildcard (`*.example.net`) whose `*`
/// stands for exactly one leftmost label.
///
/// The stored form is canonical: lowercase, A-labels only (U-labels are converted with
/// IDNA/UTS #46, since RFC 8461 §3.2 requires A-labels in the policy), no trailing dot.
/// [`MxPattern::parse`] is forgiving about *input* (surrounding whitespace, letter case,
/// U-labels, one trailing root dot are accepted and normalised); the policy-body parser
/// ([`crate::mta_sts::parse_policy`]) is stricter and rejects U-labels and trailing dots on
/// the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct MxPattern(String);

impl MxPattern {
    /// Parses and normalises an MX pattern (RFC 8461 §3.2, §4.1).
    ///
    /// Accepted: `host.example` or `*.suffix.example`. Rules:
    /// - surrounding whitespace is trimmed; ASCII letters are lowercased;
    /// - non-ASCII (U-label) input is converted to A-labels (`xn--…`) with IDNA;
    ///   `xn--` labels in the input must be valid Punycode;
    /// - one trailing dot (the DNS root) is **stripped**, so `mx.example.com.` and
    ///   `mx.example.com` are the same pattern; two trailing dots are an empty label;
    /// - every label is 1–63 characters of letters, digits and hyphens (LDH), not starting
    ///   or ending with a hyphen; the whole pattern is at most 253 characters;
    /// - `*` is only allowed as the entire leftmost label, followed by a suffix of at least
    ///   two labels (`*.com` and `*` are rejected: no policy may cover a whole TLD).
    pub fn parse(input: &str) -> Result<MxPattern, PolicyError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PolicyError::EmptyMxPattern);
        }
        let invalid = |reason: &str| PolicyError::InvalidMxPattern {
            pattern: excerpt(trimmed, 80),
            reason: reason.to_owned(),
        };
        let (wildcard, rest) = match trimmed.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if rest.contains('*') {
            return Err(invalid(
                "'*' is only allowed as the whole leftmost label, as in *.example.com (RFC 8461 §4.1)",
            ));
        }
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        let ascii = to_a_labels(rest).map_err(|reason| invalid(&reason))?;
        let label_count = check_ldh_name(&ascii).map_err(|reason| invalid(&reason))?;
        if wildcard && label_count < 2 {
            return Err(invalid(
                "a wildcard needs at least two labels after \"*.\" (e.g. *.example.com)",
            ));
        }
        let pattern = if wildcard { format!("*.{ascii}") } else { ascii };
        if pattern.len() > MAX_NAME_LEN {
            return Err(invalid("longer than 253 characters"));
        }
        Ok(MxPattern(pattern))
    }

    /// The canonical pattern text, as written in the policy body.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a `*.` wildcard pattern.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// For a wildcard, the part after `*.`; for an exact pattern, the whole hostname.
    pub fn base_domain(&self) -> &str {
        self.0.strip_prefix("*.").unwrap_or(&self.0)
    }

    /// Whether `mx_host` is allowed by this pattern (RFC 8461 §4.1).
    ///
    /// Comparison is case-insensitive and ignores one trailing dot on the host; a U-label
    /// host is compared in its A-label form. An exact pattern matches only that hostname.
    /// A wildcard `*.example.com` matches a host with exactly one extra leftmost label
    /// (`mx1.example.com`), but neither `example.com` nor `a.b.example.com`.
    pub fn matches(&self, mx_host: &str) -> bool {
        let Some(host) = normalize_host(mx_host) else {
            return false;
        };
        match self.0.strip_prefix("*.") {
            Some(suffix) => match host.split_once('.') {
                Some((first, rest)) => !first.is_empty() && !first.contains('*') && rest == suffix,
                None => false,
            },
            None => host == self.0,
        }
    }
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MxPattern {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MxPattern::parse(s)
    }
}

impl AsRef<str> for MxPattern {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<MxPattern> for String {
    fn from(p: MxPattern) -> String {
        p.0
    }
}

impl TryFrom<String> for MxPattern {
    type Error = PolicyError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        MxPattern::parse(&s)
    }
}

impl<'de> Deserialize<'de> for MxPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MxPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Lowercases ASCII input (validating any `xn--` labels) or converts non-ASCII input to
/// A-labels. The result still needs [`check_ldh_name`].
pub(crate) fn to_a_labels(name: &str) -> Result<String, String> {
    if name.is_ascii() {
        let lower = name.to_ascii_lowercase();
        let has_a_label = lower.split('.').any(|l| l.starts_with("xn--"));
        // Validate Punycode only once the plain LDH shape is right, so the LDH error
        // (which names the label) wins for e.g. "xn--a-.example".
        if has_a_label && check_ldh_name(&lower).is_ok() && idna_to_ascii(&lower).is_none() {
            return Err("contains an xn-- label that is not valid Punycode/IDNA".to_owned());
        }
        Ok(lower)
    } else {
        idna_to_ascii(name)
            .ok_or_else(|| "not a valid internationalised domain name (IDNA conversion failed)".to_owned())
    }
}

/// UTS #46 ToASCII with STD3 (LDH) rules; hyphens are only checked at label edges so
/// names like `r3--sn-abc.example` stay valid.
fn idna_to_ascii(name: &str) -> Option<String> {
    Uts46::new()
        .to_ascii(
            name.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Ignore,
        )
        .ok()
        .map(|c| c.into_owned())
}

/// Checks an ASCII, lowercase hostname: LDH labels of 1–63 characters, no hyphen at either
/// end of a label, at most 253 characters. Returns the number of labels.
pub(crate) fn check_ldh_name(name: &str) -> Result<usize, String> {
    if name.is_empty() {
        return Err("empty hostname".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Err("longer than 253 characters".to_owned());
    }
    let mut count = 0;
    for label in name.split('.') {
        count += 1;
        if label.is_empty() {
            return Err("empty label (leading, doubled or extra trailing dot)".to_owned());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "label {:?} is longer than 63 characters",
                excerpt(label, 20)
            ));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!(
                "label {:?} contains {c:?}; only letters, digits and '-' are allowed",
                excerpt(label, 63)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
    }
    Ok(count)
}

/// Normalises a live MX hostname for comparison: trims whitespace, strips one trailing
/// dot, lowercases, converts U-labels to A-labels. `None` if IDNA conversion fails.
/// The null MX `.` (RFC 7505) normalises to the empty string.
pub(crate) fn normalize_host(host: &str) -> Option<String> {
    let h = host.trim();
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.is_ascii() {
        Some(h.to_ascii_lowercase())
    } else {
        idna_to_ascii(h)
    }
}

/// The `max_age` field: how long, in seconds, senders may cache the policy
/// (RFC 8461 §3.2: a non-negative integer, at most 31557600, about one year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "u64")]
pub struct MaxAge(u32);

impl MaxAge {
    /// The largest allowed value, 31557600 seconds (RFC 8461 §3.2).
    pub const MAX_SECONDS: u32 = 31_557_600;
    /// `max_age` = 31557600 (RFC 8461 §3.2 maximum).
    pub const MAX: MaxAge = MaxAge(Self::MAX_SECONDS);
    /// One day (86400 s), a common value while in `testing` mode.
    pub const ONE_DAY: MaxAge = MaxAge(86_400);
    /// One week (604800 s); RFC 8461 §3.2 recommends values of weeks or more in
    /// production.
    pub const ONE_WEEK: MaxAge = MaxAge(604_800);

    /// Validates `0..=31557600` (RFC 8461 §3.2).
    pub fn new(seconds: u64) -> Result<MaxAge, PolicyError> {
        match u32::try_from(seconds) {
            Ok(s) if s <= Self::MAX_SECONDS => Ok(MaxAge(s)),
            _ => Err(PolicyError::MaxAgeTooLarge(seconds)),
        }
    }

    /// The value in seconds.
    pub const fn seconds(self) -> u32 {
        self.0
    }
}

impl fmt::Display for MaxAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u64> for MaxAge {
    type Error = PolicyError;

    fn try_from(seconds: u64) -> Result<Self, Self::Error> {
        MaxAge::new(seconds)
    }
}

impl From<MaxAge> for u64 {
    fn from(m: MaxAge) -> u64 {
        u64::from(m.0)
    }
}

impl<'de> Deserialize<'de> for MaxAge {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        MaxAge::new(n).map_err(serde::de::Error::custom)
    }
}

/// A validated MTA-STS policy (RFC 8461 §3.2).
///
/// Invariants (checked by [`Policy::new`], also on deserialisation): at least one `mx`
/// pattern unless the mode is [`Mode::None`], and no pattern listed twice. The `mx`
/// order is kept as given (it is the order rendered in the policy body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    mode: Mode,
    mx: Vec<MxPattern>,
    max_age: MaxAge,
}

impl Policy {
    /// Builds a policy, enforcing the RFC 8461 §3.2 rules: `mx` is required at least once
    /// except when `mode` is `none`; patterns must be unique.
    pub fn new(mode: Mode, mx: Vec<MxPattern>, max_age: MaxAge) -> Result<Policy, PolicyError> {
        if mode.requires_mx() && mx.is_empty() {
            return Err(PolicyError::MissingMx(mode));
        }
        for (i, p) in mx.iter().enumerate() {
            if mx[..i].contains(p) {
                return Err(PolicyError::DuplicateMx(p.as_str().to_owned()));
            }
        }
        Ok(Policy { mode, mx, max_age })
    }

    /// The `mode` field.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The `mx` patterns, in policy order.
    pub fn mx(&self) -> &[MxPattern] {
        &self.mx
    }

    /// The `max_age` field.
    pub fn max_age(&self) -> MaxAge {
        self.max_age
    }

    /// Whether some `mx` pattern matches `mx_host` (RFC 8461 §4.1).
    pub fn allows_mx(&self, mx_host: &str) -> bool {
        self.mx.iter().any(|p| p.matches(mx_host))
    }
}

#[derive(Deserialize)]
struct PolicyFields {
    mode: Mode,
    #[serde(default)]
    mx: Vec<MxPattern>,
    max_age: MaxAge,
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = PolicyFields::deserialize(d)?;
        Policy::new(f.mode, f.mx, f.max_age).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> MxPattern {
        MxPattern::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn mode_tokens() {
        for (input, expected) in [
            ("none", Some(Mode::None)),
            ("testing", Some(Mode::Testing)),
            ("enforce", Some(Mode::Enforce)),
            ("Enforce", None),
            ("enforced", None),
            (" enforce", None),
            ("", None),
            ("pretend", None),
        ] {
            assert_eq!(input.parse::<Mode>().ok(), expected, "{input:?}");
            if let Some(m) = expected {
                assert_eq!(m.as_str(), input);
                assert_eq!(m.to_string(), input);
            }
        }
    }

    #[test]
    fn mode_requires_mx() {
        for (mode, expected) in [(Mode::None, false), (Mode::Testing, true), (Mode::Enforce, true)] {
            assert_eq!(mode.requires_mx(), expected, "{mode}");
        }
    }

    #[test]
    fn mx_pattern_parse() {
        for (input, expected) in [
            ("mail.example.com", Some("mail.example.com")),
            ("MAIL.Example.COM", Some("mail.example.com")),
            ("  mail.example.com\t", Some("mail.example.com")),
            ("mail.example.com.", Some("mail.example.com")),
            ("*.example.com", Some("*.example.com")),
            ("*.EXAMPLE.com.", Some("*.example.com")),
            (
                "*.mail.protection.outlook.com",
                Some("*.mail.protection.outlook.com"),
            ),
            ("localhost", Some("localhost")),
            ("mail.loc", Some("mail.loc")),
            ("r3--sn-abc.example", Some("r3--sn-abc.example")),
            ("mx.bücher.example", Some("mx.xn--bcher-kva.example")),
            ("*.bücher.example", Some("*.xn--bcher-kva.example")),
            ("MX.BÜCHER.EXAMPLE", Some("mx.xn--bcher-kva.example")),
            ("mx.xn--bcher-kva.example", Some("mx.xn--bcher-kva.example")),
            ("mx.xn--bcher-kva.example.", Some("mx.xn--bcher-kva.example")),
            ("", None),
            ("   ", None),
            (".", None),
            ("mail.example.com..", None),
            (".example.com", None),
            ("mail..example.com", None),
            ("*", None),
            ("*.", None),
            ("*.com", None),
            ("*.com.", None),
            ("*.*.example", None),
            ("**.example", None),
            ("**.example-", None),
            ("test.example-", None),
            ("-test.example", None),
            ("service-alpha-inbound-*.mimecast.com", None),
            ("mail.*.example.com", None),
            ("mail_1.example.com", None),
            ("mail example.com", None),
            ("mail.example.com:25", None),
            ("mx.xn--a.example", None),
            ("https://mail.example.com", None),
            ("[192.0.2.1]", None),
        ] {
            let got = MxPattern::parse(input);
            assert_eq!(
                got.as_ref().ok().map(MxPattern::as_str),
                expected,
                "{input:?} -> {got:?}"
            );
        }
    }

    #[test]
    fn mx_pattern_lengths() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        // 4 labels of 63 + 3 dots = 255 > 253; 3 labels of 63 + "b" = 63*3+3+1 = 193.
        let long_ok = format!("{label63}.{label63}.{label63}.b");
        let too_long = format!("{label63}.{label63}.{label63}.{label63}");
        let wildcard_too_long = format!("*.{label63}.{label63}.{label63}.{}", "a".repeat(60));
        for (input, ok) in [
            (format!("{label63}.example"), true),
            (format!("{label64}.example"), false),
            (long_ok, true),
            (too_long, false),
            (wildcard_too_long, false),
        ] {
            assert_eq!(MxPattern::parse(&input).is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn mx_pattern_error_messages_name_the_value() {
        for (input, needle) in [
            ("test.example-", "test.example-"),
            ("*.com", "*.com"),
            ("mail_1.example.com", "mail_1"),
            ("a.*.b", "leftmost label"),
        ] {
            let msg = MxPattern::parse(input).unwrap_err().to_string();
            assert!(msg.contains(needle), "{input:?}: {msg}");
        }
        assert_eq!(MxPattern::parse(" ").unwrap_err(), PolicyError::EmptyMxPattern);
    }

    #[test]
    fn mx_pattern_matching() {
        for (pattern, host, expected) in [
            ("mail.example.com", "mail.example.com", true),
            ("mail.example.com", "MAIL.EXAMPLE.COM", true),
            ("mail.example.com", "mail.example.com.", true),
            ("mail.example.com", " mail.example.com ", true),
            ("mail.example.com", "mail.example.com..", false),
            ("mail.example.com", "mx.example.com", false),
            ("mail.example.com", "example.com", false),
            ("mail.example.com", "a.mail.example.com", false),
            ("*.example.com", "mail.example.com", true),
            ("*.example.com", "MX1.Example.Com.", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "mail.example.org", false),
            ("*.example.com", "mailexample.com", false),
            ("*.example.com", "*.example.com", false),
            ("*.example.com", "", false),
            ("*.example.com", ".", false),
            ("*.aspmx.l.google.com", "alt1.aspmx.l.google.com", true),
            ("*.aspmx.l.google.com", "aspmx.l.google.com", false),
            ("*.xn--bcher-kva.example", "mx.bücher.example", true),
            ("mx.xn--bcher-kva.example", "MX.BÜCHER.example.", true),
        ] {
            assert_eq!(p(pattern).matches(host), expected, "{pattern} vs {host:?}");
        }
    }

    #[test]
    fn mx_pattern_accessors() {
        for (input, wildcard, base) in [
            ("*.example.com", true, "example.com"),
            ("mx.example.com", false, "mx.example.com"),
        ] {
            let pat = p(input);
            assert_eq!(pat.is_wildcard(), wildcard);
            assert_eq!(pat.base_domain(), base);
            assert_eq!(pat.to_string(), input);
        }
    }

    #[test]
    fn max_age_bounds() {
        for (input, ok) in [
            (0u64, true),
            (1, true),
            (86_400, true),
            (31_557_600, true),
            (31_557_601, false),
            (u64::from(u32::MAX), false),
            (u64::MAX, false),
        ] {
            let got = MaxAge::new(input);
            assert_eq!(got.is_ok(), ok, "{input}");
            if let Ok(m) = got {
                assert_eq!(u64::from(m.seconds()), input);
            }
        }
        assert!(
            MaxAge::new(31_557_601)
                .unwrap_err()
                .to_string()
                .contains("31557601")
        );
    }

    #[test]
    fn policy_new_rules() {
        let age = MaxAge::ONE_DAY;
        for (mode, mx, expected) in [
            (Mode::Enforce, vec!["mx.example.com"], Ok(())),
            (Mode::Testing, vec!["mx.example.com", "*.example.net"], Ok(())),
            (Mode::None, vec![], Ok(())),
            (Mode::None, vec!["mx.example.com"], Ok(())),
            (Mode::Enforce, vec![], Err(PolicyError::MissingMx(Mode::Enforce))),
            (Mode::Testing, vec![], Err(PolicyError::MissingMx(Mode::Testing))),
            (
                Mode::Enforce,
                vec!["mx.example.com", "MX.example.com."],
                Err(PolicyError::DuplicateMx("mx.example.com".into())),
            ),
        ] {
            let mx: Vec<MxPattern> = mx.into_iter().map(p).collect();
            let got = Policy::new(mode, mx.clone(), age);
            assert_eq!(got.as_ref().map(|_| ()).map_err(Clone::clone), expected);
            if let Ok(policy) = got {
                assert_eq!(policy.mode(), mode);
                assert_eq!(policy.mx(), &mx[..]);
                assert_eq!(policy.max_age(), age);
            }
        }
    }

    #[test]
    fn policy_allows_mx() {
        let policy = Policy::new(
            Mode::Enforce,
            vec![p("mail.example.com"), p("*.example.net")],
            MaxAge::ONE_WEEK,
        )
        .unwrap();
        for (host, expected) in [
            ("mail.example.com", true),
            ("mx1.example.net", true),
            ("example.net", false),
            ("other.example.com", false),
        ] {
            assert_eq!(policy.allows_mx(host), expected, "{host}");
        }
    }

    #[test]
    fn serde_validates() {
        use serde::de::IntoDeserializer;
        use serde::de::value::Error as DeError;

        for (input, expected) in [
            ("MX.example.com.", Some("mx.example.com")),
            ("*.example.com", Some("*.example.com")),
            ("*.com", None),
            ("", None),
        ] {
            let got: Result<MxPattern, DeError> = MxPattern::deserialize(input.into_deserializer());
            assert_eq!(got.ok().as_ref().map(MxPattern::as_str), expected, "{input:?}");
        }
        for (input, ok) in [(0u64, true), (31_557_600, true), (31_557_601, false)] {
            let got: Result<MaxAge, DeError> = MaxAge::deserialize(input.into_deserializer());
            assert_eq!(got.is_ok(), ok, "{input}");
        }
        for (input, expected) in [
            ("enforce", Some(Mode::Enforce)),
            ("testing", Some(Mode::Testing)),
            ("none", Some(Mode::None)),
            ("Enforce", None),
        ] {
            let got: Result<Mode, DeError> = Mode::deserialize(input.into_deserializer());
            assert_eq!(got.ok(), expected, "{input:?}");
        }
    }

    #[test]
    fn error_messages() {
        for (err, needle) in [
            (PolicyError::InvalidMode("pretend".into()), "\"pretend\""),
            (PolicyError::MissingMx(Mode::Enforce), "\"enforce\""),
            (PolicyError::DuplicateMx("mx.example".into()), "mx.example"),
        ] {
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
