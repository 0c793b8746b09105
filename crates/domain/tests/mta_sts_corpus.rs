//! Corpus tests for the MTA-STS rules against the shared, third-party test corpus
//! (`/work/shared/corpus`, described in its SOURCES.md):
//!
//! - every policy body in `mta-sts-policy/` is parsed with `parse_policy` and checked against
//!   the table below (valid: mode / mx / max_age / warning kinds; invalid: error kind);
//! - every vector in `txt-records/*.txt` is parsed with `parse_sts_txt` / `parse_tlsrpt_txt`
//!   (single records) or `find_sts_record` / `find_tlsrpt_record` (whole RRsets).
//!
//! The expectations are RFC 8461 / RFC 8460 ones. Where a source's own test suite expects
//! something else, the entry says so in a `DISAGREES` comment.
//!
//! If the corpus is not present, each test prints "SKIPPED" and passes.

use std::fs;
use std::path::PathBuf;

use moat_domain::mta_sts::{
    Mode, PolicyParseError, find_sts_record, find_tlsrpt_record, parse_policy, parse_sts_txt,
    parse_tlsrpt_txt,
};

fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        let msg = format!(
            "SKIPPED: corpus directory {} not found; corpus tests did not run",
            dir.display()
        );
        println!("{msg}");
        eprintln!("{msg}");
        None
    }
}

// ---------------------------------------------------------------------------------------
// Policy bodies
// ---------------------------------------------------------------------------------------

type ErrCheck = fn(&PolicyParseError) -> bool;

enum Expect {
    Valid {
        mode: Mode,
        mx: &'static [&'static str],
        max_age: u32,
        /// Warning variant names, in order.
        warnings: &'static [&'static str],
    },
    Invalid(ErrCheck),
}

use Expect::{Invalid, Valid};
use PolicyParseError as E;

macro_rules! invalid {
    ($pat:pat) => {
        Invalid(|e| matches!(e, $pat))
    };
}

const LF: &str = "LfLineEndings";
const NOEOL: &str = "NoFinalLineEnding";
const DUP: &str = "DuplicateField";

const POLICIES: &[(&str, Expect)] = &[
    // --- DomainDetective ---
    // DISAGREES: DomainDetective marks duplicate fields invalid (checkdmarc too). RFC 8461
    // §3.2: duplicated non-mx fields -> "all entries except for the first SHOULD be
    // ignored", so the policy is valid (mox/mimecast agree); we warn.
    (
        "DomainDetective__DuplicateFieldsInvalidatePolicy.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.example.com"],
            max_age: 86400,
            warnings: &[LF, NOEOL, DUP],
        },
    ),
    (
        "DomainDetective__InvalidMaxAgeInvalidatesPolicy.txt",
        invalid!(E::InvalidMaxAge { line: 4, .. }),
    ),
    (
        "DomainDetective__MissingFieldsInvalidatePolicy.txt",
        invalid!(E::MissingMaxAge),
    ),
    (
        "DomainDetective__MissingVersionInvalidatesPolicy.txt",
        invalid!(E::MissingVersion),
    ),
    (
        "DomainDetective__ParseValidPolicy.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.example.com"],
            max_age: 86400,
            warnings: &[LF, NOEOL],
        },
    ),
    // --- chasquid ---
    // DISAGREES: chasquid trims lines and accepts this (leading blank line, every line
    // indented). The RFC 8461 §3.2 ABNF has no blank lines and no whitespace before a
    // field name, so it is invalid here (as SOURCES.md notes for a strict parser).
    ("chasquid__domain.com.txt", invalid!(E::BlankLine { line: 1 })),
    // Invalid for chasquid because of STSv99; here already because of the blank first line.
    ("chasquid__version99.txt", invalid!(E::BlankLine { line: 1 })),
    // --- checkdmarc ---
    (
        "checkdmarc__testParseMtaStsPolicy.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.example.com"],
            max_age: 86400,
            warnings: &[],
        },
    ),
    (
        "checkdmarc__testParseMtaStsPolicyBadKeyValue.txt",
        invalid!(E::MalformedLine { line: 2, .. }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyDecimalMaxAge.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    // DISAGREES: checkdmarc rejects the duplicate `mode`; RFC 8461 §3.2 says the first
    // wins (mode enforce), with a warning here.
    (
        "checkdmarc__testParseMtaStsPolicyDuplicateKey.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.example.com"],
            max_age: 86400,
            warnings: &[DUP],
        },
    ),
    (
        "checkdmarc__testParseMtaStsPolicyEnforceModeNoMx.txt",
        invalid!(E::MissingMx { mode: Mode::Enforce }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyInvalidMaxAge.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyInvalidMode.txt",
        invalid!(E::InvalidMode { line: 2, .. }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyInvalidVersion.txt",
        invalid!(E::InvalidVersion { line: 1, .. }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyMissingKey.txt",
        invalid!(E::MissingMaxAge),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyNonIntegerMaxAge.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    (
        "checkdmarc__testParseMtaStsPolicyTooLargeMaxAge.txt",
        invalid!(E::MaxAgeTooLarge {
            line: 3,
            value: 99_999_999
        }),
    ),
    // DISAGREES: checkdmarc rejects unknown keys; RFC 8461 §3.2 says unknown fields SHOULD
    // be ignored (mox agrees). Valid, with an UnknownField warning.
    (
        "checkdmarc__testParseMtaStsPolicyUnexpectedKey.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.example.com"],
            max_age: 86400,
            warnings: &["UnknownField"],
        },
    ),
    (
        "checkdmarc__testParseMtaStsPolicyUnixLineEndings.txt",
        Valid {
            mode: Mode::Testing,
            mx: &["*.example.com"],
            max_age: 3600,
            warnings: &[LF],
        },
    ),
    // --- mimecast ---
    // Bare CR line endings: valid for mimecast only in its relaxed mode; not an
    // RFC 8461 §3.2 line terminator (LF / CRLF).
    ("mimecast__configRelaxed.txt", invalid!(E::BareCr { line: 1 })),
    // mimecast agrees (first mode wins, with a warning).
    (
        "mimecast__duplicateMode1.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["gmail-smtp-in.l.google.com", "*.gmail-smtp-in.l.google.com"],
            max_age: 604800,
            warnings: &[DUP, DUP],
        },
    ),
    // mimecast: invalid (because mode none is not enforceable). Here: invalid because the
    // ignored duplicate `mode: enforced` is still a malformed registered field (as in mox).
    (
        "mimecast__duplicateMode3.txt",
        invalid!(E::InvalidMode { line: 4, .. }),
    ),
    // Trailing blank line: invalid per the ABNF; mimecast and mox agree.
    ("mimecast__emptyLine.txt", invalid!(E::BlankLine { line: 6 })),
    // DISAGREES: mimecast with requireCRLF rejects LF-only bodies. RFC 8461 §3.2
    // (sts-policy-term = LF / CRLF), mox, checkdmarc and postfix-mta-sts-resolver accept
    // them; valid here with an LfLineEndings warning.
    (
        "mimecast__invalidLF.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &[
                "service-alpha-inbound-a.mimecast.com",
                "service-alpha-inbound-b.mimecast.com",
            ],
            max_age: 604800,
            warnings: &[LF],
        },
    ),
    (
        "mimecast__invalidMalformed.txt",
        invalid!(E::MalformedLine { line: 2, .. }),
    ),
    (
        "mimecast__invalidMode.txt",
        invalid!(E::InvalidMode { line: 2, .. }),
    ),
    ("mimecast__invalidModeNone.txt", invalid!(E::MissingMode)),
    (
        "mimecast__invalidMxNone.txt",
        invalid!(E::MissingMx { mode: Mode::Enforce }),
    ),
    // DISAGREES: mimecast reads an empty max_age as 0 (valid + warning); RFC 8461 §3.2
    // requires 1*10DIGIT.
    (
        "mimecast__invalidValue.txt",
        invalid!(E::InvalidMaxAge { line: 4, .. }),
    ),
    (
        "mimecast__matchMxFalse.txt",
        invalid!(E::InvalidMx { line: 3, .. }),
    ),
    (
        "mimecast__nonNumericMaxAge.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    // DISAGREES (semantics only): mimecast reports isValid=false because mode none is not
    // enforceable; syntactically it is a valid RFC 8461 policy (mx allowed with mode none).
    (
        "mimecast__noneMode.txt",
        Valid {
            mode: Mode::None,
            mx: &["*.mimecast.com"],
            max_age: 604800,
            warnings: &[],
        },
    ),
    // mimecast: invalid (no final CRLF + max_age over the limit). Here: max_age 31557601
    // is over the RFC 8461 §3.2 maximum; the missing final line ending alone would only
    // be a warning.
    (
        "mimecast__overMax.txt",
        invalid!(E::MaxAgeTooLarge {
            line: 5,
            value: 31_557_601
        }),
    ),
    (
        "mimecast__valid.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &[
                "service-alpha-inbound-a.mimecast.com",
                "service-alpha-inbound-b.mimecast.com",
            ],
            max_age: 604800,
            warnings: &[],
        },
    ),
    // --- mox (all agree) ---
    ("mox__policy-bad01.txt", invalid!(E::Empty)),
    (
        "mox__policy-bad02.txt",
        invalid!(E::InvalidVersion { line: 1, .. }),
    ),
    (
        "mox__policy-bad03.txt",
        invalid!(E::InvalidVersion { line: 1, .. }),
    ),
    (
        "mox__policy-bad04.txt",
        invalid!(E::InvalidVersion { line: 1, .. }),
    ),
    ("mox__policy-bad05.txt", invalid!(E::MissingMode)),
    ("mox__policy-bad06.txt", invalid!(E::MissingMaxAge)),
    (
        "mox__policy-bad07.txt",
        invalid!(E::MissingMx { mode: Mode::Enforce }),
    ),
    (
        "mox__policy-bad08.txt",
        invalid!(E::MissingMx { mode: Mode::Testing }),
    ),
    ("mox__policy-bad09.txt", invalid!(E::MissingVersion)),
    (
        "mox__policy-bad10.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    ("mox__policy-bad11.txt", invalid!(E::InvalidMode { line: 2, .. })),
    (
        "mox__policy-bad12.txt",
        invalid!(E::InvalidMaxAge { line: 3, .. }),
    ),
    ("mox__policy-bad13.txt", invalid!(E::InvalidMx { line: 4, .. })),
    ("mox__policy-bad14.txt", invalid!(E::InvalidMx { line: 4, .. })),
    ("mox__policy-bad15.txt", invalid!(E::InvalidMx { line: 4, .. })),
    ("mox__policy-bad16.txt", invalid!(E::InvalidMx { line: 4, .. })),
    ("mox__policy-bad17.txt", invalid!(E::InvalidMx { line: 4, .. })),
    (
        "mox__policy-bad18.txt",
        invalid!(E::InvalidExtensionValue { line: 4, .. }),
    ),
    (
        "mox__policy-bad19.txt",
        invalid!(E::InvalidFieldName { line: 4, .. }),
    ),
    (
        "mox__policy-bad20.txt",
        invalid!(E::InvalidFieldName { line: 4, .. }),
    ),
    ("mox__policy-bad21.txt", invalid!(E::InvalidMx { line: 4, .. })),
    (
        "mox__policy-good01.txt",
        Valid {
            mode: Mode::Testing,
            mx: &["mx1.example.com", "mx2.example.com", "mx.backup-example.com"],
            max_age: 1_296_000,
            warnings: &[LF],
        },
    ),
    (
        "mox__policy-good02.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["*.example.com"],
            max_age: 0,
            warnings: &[LF],
        },
    ),
    (
        "mox__policy-good03.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["*.example.com"],
            max_age: 1,
            warnings: &["MixedLineEndings", NOEOL, "UnknownField"],
        },
    ),
    // --- postfix-mta-sts-resolver ---
    (
        "postfix-mta-sts-resolver__bad-policy1.loc.txt",
        invalid!(E::MalformedLine { line: 1, .. }),
    ),
    (
        "postfix-mta-sts-resolver__bad-policy2.loc.txt",
        invalid!(E::MissingMx { mode: Mode::Enforce }),
    ),
    // The body is fine; the resolver rejects it because it is *served* as text/html
    // (RFC 8461 §3.3), which parse_policy cannot see.
    (
        "postfix-mta-sts-resolver__bad-policy3.loc.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.loc"],
            max_age: 86400,
            warnings: &[LF, NOEOL],
        },
    ),
    (
        "postfix-mta-sts-resolver__bad-policy5.loc.txt",
        invalid!(E::InvalidMaxAge { line: 4, .. }),
    ),
    (
        "postfix-mta-sts-resolver__bad-policy6.loc.txt",
        invalid!(E::MaxAgeTooLarge {
            line: 4,
            value: 31_557_601
        }),
    ),
    (
        "postfix-mta-sts-resolver__bad-policy7.loc.txt",
        invalid!(E::MissingMode),
    ),
    (
        "postfix-mta-sts-resolver__bad-policy8.loc.txt",
        invalid!(E::InvalidMode { line: 2, .. }),
    ),
    (
        "postfix-mta-sts-resolver__fast-expire.loc.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.loc"],
            max_age: 1,
            warnings: &[LF],
        },
    ),
    (
        "postfix-mta-sts-resolver__good.loc.txt",
        Valid {
            mode: Mode::Enforce,
            mx: &["mail.loc"],
            max_age: 86400,
            warnings: &[LF, NOEOL],
        },
    ),
    // Over the 64 KiB limit (131193 bytes).
    (
        "postfix-mta-sts-resolver__static-overlength.loc.txt",
        invalid!(E::TooLarge { len: 131_193 }),
    ),
    (
        "postfix-mta-sts-resolver__testing.loc.txt",
        Valid {
            mode: Mode::Testing,
            mx: &["mail.loc"],
            max_age: 86400,
            warnings: &[LF],
        },
    ),
    // postfix-mta-sts-resolver: mode none without mx is valid (RFC 8461 §3.2 agrees).
    (
        "postfix-mta-sts-resolver__valid-none.loc.txt",
        Valid {
            mode: Mode::None,
            mx: &[],
            max_age: 86400,
            warnings: &[LF, NOEOL],
        },
    ),
];

fn variant_name<T: std::fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

#[test]
fn policy_corpus() {
    let Some(dir) = corpus_dir("mta-sts-policy") else {
        return;
    };
    let mut files: Vec<String> = fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut table: Vec<&str> = POLICIES.iter().map(|(f, _)| *f).collect();
    table.sort();
    assert_eq!(
        files, table,
        "the expectation table must list exactly the corpus files"
    );
    assert_eq!(files.len(), 71);

    let mut failures = Vec::new();
    for (file, expect) in POLICIES {
        let bytes = fs::read(dir.join(file)).expect("read policy file");
        let text = String::from_utf8(bytes).expect("corpus policies are UTF-8");
        let got = parse_policy(&text);
        match (expect, &got) {
            (
                Valid {
                    mode,
                    mx,
                    max_age,
                    warnings,
                },
                Ok(p),
            ) => {
                let got_mx: Vec<&str> = p.policy.mx().iter().map(|m| m.as_str()).collect();
                let got_warnings: Vec<String> = p.warnings.iter().map(variant_name).collect();
                if p.policy.mode() != *mode
                    || got_mx != *mx
                    || p.policy.max_age().seconds() != *max_age
                    || got_warnings != *warnings
                {
                    failures.push(format!("{file}: got {p:?}"));
                }
            }
            (Invalid(check), Err(e)) => {
                if !check(e) {
                    failures.push(format!("{file}: wrong error {e:?} ({e})"));
                }
            }
            (Valid { .. }, Err(e)) => failures.push(format!("{file}: expected valid, got {e}")),
            (Invalid(_), Ok(p)) => failures.push(format!("{file}: expected invalid, got {p:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// TXT record vectors
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Valid,
    Invalid,
    NoRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    One(String),
    Set(Vec<String>),
}

impl Record {
    /// Key used in the tables below: the string itself, or `{:?}` of the RRset.
    fn key(&self) -> String {
        match self {
            Record::One(s) => s.clone(),
            Record::Set(v) => format!("{v:?}"),
        }
    }
}

/// Vectors where the source's own expectation (EXPECT column) is not RFC behaviour.
/// (file, record key, our outcome)
const TXT_OVERRIDES: &[(&str, &str, Outcome)] = &[
    // checkdmarc rejects a duplicate `id`. RFC 8461 §3.2's duplicate rule covers "TXT
    // records and policy files": the first value wins (mox does the same).
    (
        "checkdmarc__records.txt",
        "v=STSv1; id=foo; id=bar",
        Outcome::Valid,
    ),
    // checkdmarc rejects two `rua` fields. RFC 8460 §3's ABNF allows repeated fields and
    // has no rule against it; mox accepts (URIs merged here, with a warning).
    (
        "checkdmarc__records.txt",
        "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
        Outcome::Valid,
    ),
    // mimecast accepts record text still wrapped in presentation-format quotes. The quotes
    // are not part of the TXT data, and the data must start with "v=STSv1" (RFC 8461 §3.1).
    (
        "mimecast__records.txt",
        "\"v=STSv1; id=19840507T234501;\"",
        Outcome::Invalid,
    ),
    // DomainDetective accepts the record and flags the URI. RFC 8460 §3 only defines
    // mailto: and https: reporting URIs, so the record has no usable rua: invalid.
    (
        "DomainDetective__records.txt",
        "v=TLSRPTv1;rua=ftp://reports.example.com",
        Outcome::Invalid,
    ),
    // DomainDetective ignores the valueless token "test"; the RFC 8460 §3 ABNF requires
    // name=value for every field (mox rejects such records too).
    (
        "DomainDetective__records.txt",
        "v=TLSRPTv1;rua=mailto:a@example.com;foo=bar;test",
        Outcome::Invalid,
    ),
    // DomainDetective accepts two TLSRPT records; RFC 8460 §3: "If the number of resulting
    // records is not one, senders MUST assume the recipient domain does not implement
    // TLSRPT" (mox: ErrMultipleRecords).
    (
        "DomainDetective__records.txt",
        r#"["v=TLSRPTv1;rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:b@example.com"]"#,
        Outcome::Invalid,
    ),
];

/// Content of every valid vector: the `id` for MTA-STS records, the `rua` URIs for TLS-RPT.
const TXT_CONTENT: &[(&str, &[&str])] = &[
    ("v=STSv1; id=abc", &["abc"]),
    ("v=STSv1; id=123", &["123"]),
    ("v=STSv1; id=20240101T010101", &["20240101T010101"]),
    ("v=STSv1; id=foo; id=bar", &["foo"]),
    ("v=STSv1; id=19840507T234501;", &["19840507T234501"]),
    ("v=STSv1; id=20160831085700Z;", &["20160831085700Z"]),
    ("v=STSv1; \t id=20160831085700Z  \t;", &["20160831085700Z"]),
    ("v=STSv1; id=a", &["a"]),
    ("v=STSv1; id=a; more=a; ext=2", &["a"]),
    ("v=STSv1;id=20180907T090909;", &["20180907T090909"]),
    ("v=STSv1; id=20190429T010101", &["20190429T010101"]),
    (r#"["abc", "v=STSv1; id=blah;"]"#, &["blah"]),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com",
        &["mailto:reports@example.com"],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports%2Btls@example.com",
        &["mailto:reports%2Btls@example.com"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
        &["mailto:tlsrpt@example.com"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
        &["mailto:a@example.com", "mailto:b@example.com"],
    ),
    (
        "v=TLSRPTv1; rua=https://tlsrpt.example.com/report",
        &["https://tlsrpt.example.com/report"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:rua@example.com",
        &["mailto:rua@example.com"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:tlsrpt@mox.example;",
        &["mailto:tlsrpt@mox.example"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:tlsrpt@mox.example , \t\t https://mox.example/tlsrpt  ",
        &["mailto:tlsrpt@mox.example", "https://mox.example/tlsrpt"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:tlsrpt@mox.example; ext=yes",
        &["mailto:tlsrpt@mox.example"],
    ),
    (
        "v=TLSRPTv1 ; rua=mailto:x@x.example; rua=mailto:y@x.example",
        &["mailto:x@x.example", "mailto:y@x.example"],
    ),
    (
        r#"["v=TLSRPTv1; rua=mailto:tlsrpt@basic.example", "other"]"#,
        &["mailto:tlsrpt@basic.example"],
    ),
    (
        "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
        &["https://reporting.example.com/v1/tlsrpt"],
    ),
    (
        "v=TLSRPTv1; rua=mailto:tlsrpt@mydomain.com,https://tlsrpt.mydomain.com/v1",
        &["mailto:tlsrpt@mydomain.com", "https://tlsrpt.mydomain.com/v1"],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com;",
        &["mailto:reports@example.com"],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com,mailto:hostmaster@example.com",
        &["mailto:reports@example.com", "mailto:hostmaster@example.com"],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com,mailto:hostmaster@example.com,https://reportbot.example.com:12345/tlsrpt",
        &[
            "mailto:reports@example.com",
            "mailto:hostmaster@example.com",
            "https://reportbot.example.com:12345/tlsrpt",
        ],
    ),
    (
        "v=TLSRPTv1; rua=mailto:reports@example.com,mailto:hostmaster@example.com,https://reportbot.example.com:12345/tlsrpt",
        &[
            "mailto:reports@example.com",
            "mailto:hostmaster@example.com",
            "https://reportbot.example.com:12345/tlsrpt",
        ],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com,mailto:hostmaster@example.com,https://reportbot.example.com:12345/tlsrpt;",
        &[
            "mailto:reports@example.com",
            "mailto:hostmaster@example.com",
            "https://reportbot.example.com:12345/tlsrpt",
        ],
    ),
    (
        "v=TLSRPTv1; rua=mailto:reports@example.com",
        &["mailto:reports@example.com"],
    ),
    (
        "v=TLSRPTv1;rua=mailto:reports@example.com,mailto:postmaster@example.com",
        &["mailto:reports@example.com", "mailto:postmaster@example.com"],
    ),
    (
        "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt; ext=extvalue",
        &["https://reporting.example.com/v1/tlsrpt"],
    ),
    (
        r#"["CNAME alias.example.com", "v=TLSRPTv1;rua=mailto:reports@example.com"]"#,
        &["mailto:reports@example.com"],
    ),
];

/// Minimal JSON decoder for the RECORD column: a string or an array of strings.
fn decode_json(s: &str) -> Result<Record, String> {
    let mut chars = s.trim().chars().peekable();
    let rec = match chars.peek() {
        Some('"') => Record::One(json_string(&mut chars)?),
        Some('[') => {
            chars.next();
            let mut items = Vec::new();
            loop {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                match chars.peek() {
                    Some(']') => {
                        chars.next();
                        break;
                    }
                    Some(',') if !items.is_empty() => {
                        chars.next();
                    }
                    Some('"') => items.push(json_string(&mut chars)?),
                    other => return Err(format!("unexpected {other:?} in array")),
                }
            }
            Record::Set(items)
        }
        other => return Err(format!("unexpected {other:?}")),
    };
    if chars.any(|c| !c.is_whitespace()) {
        return Err("trailing characters".into());
    }
    Ok(rec)
}

fn json_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    if chars.next() != Some('"') {
        return Err("expected '\"'".into());
    }
    let mut out = String::new();
    loop {
        match chars.next().ok_or("unterminated string")? {
            '"' => return Ok(out),
            '\\' => match chars.next().ok_or("bad escape")? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    out.push(char::from_u32(code).ok_or("surrogate escapes unsupported")?);
                }
                c => return Err(format!("bad escape \\{c}")),
            },
            c => out.push(c),
        }
    }
}

#[test]
fn json_decoder_self_check() {
    for (input, expected) in [
        (r#""a""#, Record::One("a".into())),
        (r#""a\tb\"c\\""#, Record::One("a\tb\"c\\".into())),
        (r#""\u00e9""#, Record::One("é".into())),
        ("[]", Record::Set(vec![])),
        (r#"["a", "b"]"#, Record::Set(vec!["a".into(), "b".into()])),
    ] {
        assert_eq!(decode_json(input), Ok(expected), "{input}");
    }
}

#[test]
fn txt_corpus() {
    let Some(dir) = corpus_dir("txt-records") else {
        return;
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 9);

    let mut total = 0;
    let mut overrides_used = vec![false; TXT_OVERRIDES.len()];
    let mut failures = Vec::new();
    for path in &files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(path).expect("read vectors");
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            total += 1;
            let cols: Vec<&str> = line.splitn(4, '\t').collect();
            assert!(cols.len() >= 3, "{file}: bad line {line:?}");
            let (expect_col, kind) = (cols[0], cols[1]);
            let record = decode_json(cols[2]).unwrap_or_else(|e| panic!("{file}: {e}: {line}"));
            let key = record.key();

            let source_expect = if expect_col.starts_with("VALID") {
                Outcome::Valid
            } else if expect_col.starts_with("INVALID") {
                Outcome::Invalid
            } else if expect_col.starts_with("NO RECORD") {
                Outcome::NoRecord
            } else {
                panic!("{file}: unknown EXPECT {expect_col:?}");
            };
            let expected = match TXT_OVERRIDES.iter().position(|(f, k, _)| *f == file && *k == key) {
                Some(i) => {
                    overrides_used[i] = true;
                    TXT_OVERRIDES[i].2
                }
                None => source_expect,
            };

            let tlsrpt = kind.starts_with("tlsrpt");
            assert!(tlsrpt || kind.starts_with("mta-sts"), "{file}: kind {kind}");
            // (outcome, content): id for MTA-STS, rua URIs for TLS-RPT.
            let (outcome, content, detail): (Outcome, Vec<String>, String) = match (&record, tlsrpt) {
                (Record::One(s), false) => match parse_sts_txt(s) {
                    Ok(r) => (Outcome::Valid, vec![r.id.to_string()], format!("{r:?}")),
                    Err(e) => (Outcome::Invalid, vec![], e.to_string()),
                },
                (Record::One(s), true) => match parse_tlsrpt_txt(s) {
                    Ok(r) => (Outcome::Valid, r.rua.clone(), format!("{r:?}")),
                    Err(e) => (Outcome::Invalid, vec![], e.to_string()),
                },
                (Record::Set(v), false) => match find_sts_record(v) {
                    Ok(Some(r)) => (Outcome::Valid, vec![r.id.to_string()], format!("{r:?}")),
                    Ok(None) => (Outcome::NoRecord, vec![], String::new()),
                    Err(e) => (Outcome::Invalid, vec![], e.to_string()),
                },
                (Record::Set(v), true) => match find_tlsrpt_record(v) {
                    Ok(Some(r)) => (Outcome::Valid, r.rua.clone(), format!("{r:?}")),
                    Ok(None) => (Outcome::NoRecord, vec![], String::new()),
                    Err(e) => (Outcome::Invalid, vec![], e.to_string()),
                },
            };
            if outcome != expected {
                failures.push(format!(
                    "{file}: {key:?}: expected {expected:?}, got {outcome:?} ({detail})"
                ));
                continue;
            }
            if outcome == Outcome::Valid {
                match TXT_CONTENT.iter().find(|(k, _)| *k == key) {
                    Some((_, want)) if content == *want => {}
                    Some((_, want)) => {
                        failures.push(format!("{file}: {key:?}: content {content:?}, expected {want:?}"))
                    }
                    None => failures.push(format!(
                        "{file}: {key:?}: valid vector missing from TXT_CONTENT ({content:?})"
                    )),
                }
            }
        }
    }
    assert_eq!(total, 101, "vector count (SOURCES.md says 101)");
    for (used, (f, k, _)) in overrides_used.iter().zip(TXT_OVERRIDES) {
        if !used {
            failures.push(format!("override not matched: {f}: {k:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
