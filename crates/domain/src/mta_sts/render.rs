//! Rendering the policy body served at `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//! (RFC 8461 §3.2, §3.3).

use super::policy::Policy;

/// The well-known path of the policy resource, served on `mta-sts.<domain>` over HTTPS
/// (RFC 8461 §3.2, §3.3).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// The media type the policy must be served with (RFC 8461 §3.2: "text/plain"; senders
/// may reject other types, §3.3).
pub const POLICY_MEDIA_TYPE: &str = "text/plain";

impl Policy {
    /// The exact policy body (RFC 8461 §3.2), with CRLF line endings and this field order:
    ///
    /// ```text
    /// version: STSv1\r\n
    /// mode: <mode>\r\n
    /// mx: <pattern>\r\n        (one line per pattern, in policy order; none for an mx-less
    ///                          `mode: none` policy)
    /// max_age: <seconds>\r\n
    /// ```
    ///
    /// CRLF is what the §3.2 prose ("CRLF-separated key/value pairs") specifies and what the
    /// strictest clients require; every line, including the last, is terminated, so even
    /// parsers that demand a final line ending accept it.
    pub fn render(&self) -> String {
        let mut out =
            String::with_capacity(64 + self.mx().iter().map(|p| p.as_str().len() + 6).sum::<usize>());
        out.push_str("version: STSv1\r\n");
        out.push_str("mode: ");
        out.push_str(self.mode().as_str());
        out.push_str("\r\n");
        for pattern in self.mx() {
            out.push_str("mx: ");
            out.push_str(pattern.as_str());
            out.push_str("\r\n");
        }
        out.push_str("max_age: ");
        out.push_str(&self.max_age().seconds().to_string());
        out.push_str("\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::mta_sts::{MaxAge, Mode, MxPattern, Policy, parse_policy};

    fn policy(mode: Mode, mx: &[&str], max_age: u64) -> Policy {
        let mx = mx.iter().map(|s| MxPattern::parse(s).unwrap()).collect();
        Policy::new(mode, mx, MaxAge::new(max_age).unwrap()).unwrap()
    }

    #[test]
    fn render_exact_bodies() {
        for (policy, expected) in [
            (
                policy(Mode::Enforce, &["mail.example.com", "*.example.net"], 604_800),
                "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
            ),
            (
                policy(Mode::Testing, &["MX.Example.com."], 86_400),
                "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n",
            ),
            (
                policy(Mode::None, &[], 0),
                "version: STSv1\r\nmode: none\r\nmax_age: 0\r\n",
            ),
            (
                policy(Mode::None, &["*.bücher.example"], 31_557_600),
                "version: STSv1\r\nmode: none\r\nmx: *.xn--bcher-kva.example\r\nmax_age: 31557600\r\n",
            ),
        ] {
            assert_eq!(policy.render(), expected);
        }
    }

    #[test]
    fn render_parse_round_trip() {
        for policy in [
            policy(Mode::Enforce, &["a.example", "*.b.example", "c.example"], 1),
            policy(Mode::Testing, &["*.mail.protection.outlook.com"], 86_400),
            policy(Mode::None, &[], 0),
        ] {
            let parsed = parse_policy(&policy.render()).unwrap();
            assert_eq!(parsed.policy, policy);
            assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
            assert!(parsed.extensions.is_empty());
        }
    }
}
