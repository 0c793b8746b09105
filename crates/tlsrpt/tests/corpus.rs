//! Parse every real report in the shared corpus (`shared/corpus`, see its
//! SOURCES.md) and check the values SOURCES.md lists for each file.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use moat_tlsrpt::{Error, Limits, MimeError, ParseHint, Report, WarningCode, parse_any};

/// Expected per-policy numbers: (policy-type, policy-domain, successes,
/// failures, failure-detail count, sum of failed-session-count).
type PolicyExpect = (&'static str, Option<&'static str>, u64, u64, usize, u64);

struct Expect {
    file: &'static str,
    org: &'static str,
    report_id: &'static str,
    start: &'static str,
    end: &'static str,
    policies: &'static [PolicyExpect],
    /// Warnings that must be present (quirks SOURCES.md describes).
    warnings: &'static [WarningCode],
}

const COMPANY_X_ID: &str = "5065427c-23d3-47ca-b6e0-946ea0e8c4be";
const COMPANY_X: &[PolicyExpect] = &[("sts", Some("company-y.example"), 5326, 303, 3, 303)];

const EXPECTED: &[Expect] = &[
    Expect {
        file: "tlsrpt-json/parsedmarc__mail.ru.json",
        org: "Mail.ru",
        report_id: "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru",
        start: "2024-02-22T00:00:00Z",
        end: "2024-02-23T00:00:00Z",
        policies: &[("sts", Some("example.com"), 0, 1, 2, 2)],
        warnings: &[WarningCode::CountMismatch, WarningCode::EndAtNextMidnight],
    },
    Expect {
        file: "tlsrpt-json/parsedmarc__rfc8460.json",
        org: "Company-X",
        report_id: COMPANY_X_ID,
        start: "2016-04-01T00:00:00Z",
        end: "2016-04-01T23:59:59Z",
        policies: COMPANY_X,
        warnings: &[WarningCode::StringInsteadOfArray],
    },
    Expect {
        file: "tlsrpt-json/parsedmarc__smtp_tls.json",
        org: "Example Inc.",
        report_id: "2024-01-09T00:00:00Z_example.com",
        start: "2024-01-09T00:00:00Z",
        end: "2024-01-09T23:59:59Z",
        policies: &[("sts", Some("example.com"), 0, 3, 2, 3)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/stalwart-mail-auth__rpt01.json",
        org: "Company-X",
        report_id: COMPANY_X_ID,
        start: "2016-04-01T00:00:00Z",
        end: "2016-04-01T23:59:59Z",
        policies: COMPANY_X,
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/stalwart-mail-auth__rpt02.json",
        org: "Google Inc.",
        report_id: "2020-01-01T00:00:00Z_example.com",
        start: "2020-01-01T00:00:00Z",
        end: "2020-01-07T23:59:59Z",
        policies: &[("sts", Some("example.com"), 23, 1, 1, 1)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/dmarc-report-viewer__google.json",
        org: "Google Inc.",
        report_id: "2025-05-22T00:00:00Z_foo-bar.io",
        start: "2025-05-22T00:00:00Z",
        end: "2025-05-22T23:59:59Z",
        policies: &[("sts", Some("foo-bar.io"), 1, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/dmarc-report-viewer__microsoft.json",
        org: "Microsoft Corporation",
        report_id: "133925885310113267+random.net",
        start: "2025-05-23T00:00:00Z",
        end: "2025-05-23T23:59:59Z",
        policies: &[
            ("sts", Some("random.net"), 2, 0, 0, 0),
            ("tlsa", Some("random.net"), 2, 0, 0, 0),
        ],
        warnings: &[WarningCode::PolicyStringJsonEncoded],
    },
    Expect {
        file: "tlsrpt-json/dmarc-report-viewer__no-policy.json",
        org: "Google Inc.",
        report_id: "2025-03-27T00:00:00Z_foo-bar.io",
        start: "2025-03-27T00:00:00Z",
        end: "2025-03-27T23:59:59Z",
        policies: &[("no-policy-found", Some("foo-bar.io"), 1, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/dmarc-report-viewer__google.bbd2196.json",
        org: "Google Inc.",
        report_id: "2025-04-12T00:00:00Z_domain.de",
        start: "2025-04-12T00:00:00Z",
        end: "2025-04-12T23:59:59Z",
        policies: &[("no-policy-found", Some("domain.de"), 2, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/tlsrpt-be__report.json",
        org: "Example Inc.",
        report_id: "report-id-from-report.json",
        start: "2025-08-04T00:00:00Z",
        end: "2025-08-04T23:59:59Z",
        policies: &[("no-policy-found", Some("xn--gpher-jua.test"), 99, 102, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/tls-rpt-monitor__microsoft-report.json.gz",
        org: "Microsoft Corporation",
        report_id: "133988091029006454+josh.scot",
        start: "2025-08-03T00:00:00Z",
        end: "2025-08-03T23:59:59Z",
        policies: &[("sts", Some("josh.scot"), 2, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/mail-tls-rpt__report.json",
        org: "Google Inc.",
        report_id: "2020-03-02T00:00:00Z_fastmaildmarc.com",
        start: "2020-03-02T00:00:00Z",
        end: "2020-03-02T23:59:59Z",
        policies: &[("no-policy-found", Some("fastmaildmarc.com"), 343, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-json/tlsrpt_processor__sample.json",
        org: "Company-X",
        report_id: COMPANY_X_ID,
        start: "2016-04-01T00:00:00Z",
        end: "2016-04-01T23:59:59Z",
        policies: COMPANY_X,
        warnings: &[WarningCode::NonStandardKey],
    },
    Expect {
        file: "tlsrpt-json/DomainDetective__tlsrpt.json",
        org: "Example Corp",
        report_id: "2024-06-01/2024-06-02",
        start: "2024-06-01T00:00:00Z",
        end: "2024-06-02T00:00:00Z",
        policies: &[("tls", None, 90, 10, 0, 0)],
        warnings: &[
            WarningCode::UnknownPolicyType,
            WarningCode::MissingPolicyDomain,
            WarningCode::EndAtNextMidnight,
        ],
    },
    // DomainDetective's own test expects this one to throw; our lenient
    // parser reads it and flags every problem instead.
    Expect {
        file: "tlsrpt-json/DomainDetective__tlsrpt-invalid.json",
        org: "Example Corp",
        report_id: "2024-06-01/2024-06-02",
        start: "2024-06-01T00:00:00Z",
        end: "2024-06-02T00:00:00Z",
        policies: &[("tls", None, 90, 0, 0, 0)],
        warnings: &[
            WarningCode::UnknownPolicyType,
            WarningCode::MissingPolicyDomain,
            WarningCode::MissingFailureTotal,
            WarningCode::MissingContactInfo,
        ],
    },
    Expect {
        file: "tlsrpt-eml/stalwart-mail-auth__rpt01.eml",
        org: "Company-X",
        report_id: COMPANY_X_ID,
        start: "2016-04-01T00:00:00Z",
        end: "2016-04-01T23:59:59Z",
        policies: COMPANY_X,
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-digest__tlsrpt_failure.eml",
        org: "Google Inc.",
        report_id: "2026-02-08T00:00:00Z_example.com",
        start: "2026-02-08T00:00:00Z",
        end: "2026-02-09T00:00:00Z",
        policies: &[("sts", Some("example.com"), 4523, 2, 1, 2)],
        warnings: &[WarningCode::EndAtNextMidnight],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-digest__tlsrpt_success_google_1.eml",
        org: "Google Inc.",
        report_id: "2026-05-11T00:00:00Z_example.com",
        start: "2026-05-11T00:00:00Z",
        end: "2026-05-11T23:59:59Z",
        policies: &[("sts", Some("example.com"), 1, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-digest__tlsrpt_success_google_2.eml",
        org: "Google Inc.",
        report_id: "2026-05-12T00:00:00Z_example.com",
        start: "2026-05-12T00:00:00Z",
        end: "2026-05-12T23:59:59Z",
        policies: &[("sts", Some("example.com"), 4, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-digest__tlsrpt_success_microsoft.eml",
        org: "Microsoft Corporation",
        report_id: "134232617934286362+example.com",
        start: "2026-05-13T00:00:00Z",
        end: "2026-05-13T23:59:59Z",
        policies: &[("sts", Some("example.com"), 2, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-rs__google1.eml",
        org: "Google Inc.",
        report_id: "2024-09-15T00:00:00Z_krvtz.net",
        start: "2024-09-15T00:00:00Z",
        end: "2024-09-15T23:59:59Z",
        policies: &[("sts", Some("krvtz.net"), 1, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-rs__google2.eml",
        org: "Google Inc.",
        report_id: "2024-09-18T00:00:00Z_krvtz.net",
        start: "2024-09-18T00:00:00Z",
        end: "2024-09-18T23:59:59Z",
        policies: &[("sts", Some("krvtz.net"), 2, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/mox__example.eml",
        org: "Google Inc.",
        report_id: "2022-09-15T00:00:00Z_test.xmox.nl",
        start: "2022-09-15T00:00:00Z",
        end: "2022-09-15T23:59:59Z",
        policies: &[("sts", Some("test.xmox.nl"), 3, 0, 0, 0)],
        warnings: &[],
    },
    Expect {
        file: "tlsrpt-eml/tlsrpt-be__test.eml",
        org: "Company-X",
        report_id: COMPANY_X_ID,
        start: "2016-04-01T00:00:00Z",
        end: "2016-04-01T23:59:59Z",
        policies: COMPANY_X,
        warnings: &[WarningCode::StringInsteadOfArray],
    },
    Expect {
        file: "tlsrpt-eml/mail-tls-rpt__email.eml",
        org: "Google Inc.",
        report_id: "2020-03-02T00:00:00Z_fastmaildmarc.com",
        start: "2020-03-02T00:00:00Z",
        end: "2020-03-02T23:59:59Z",
        policies: &[("no-policy-found", Some("fastmaildmarc.com"), 343, 0, 0, 0)],
        warnings: &[],
    },
];

/// The corpus's one negative example: a cron mail, not a report.
const NOT_A_REPORT: &str = "tlsrpt-eml/tlsrpt-rs__empty.eml";

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("SKIPPED: ../shared not found (looked for {})", dir.display());
        eprintln!("SKIPPED: ../shared not found (looked for {})", dir.display());
        None
    }
}

fn corpus_files(dir: &Path) -> Vec<String> {
    let mut files = BTreeSet::new();
    for sub in ["tlsrpt-json", "tlsrpt-eml"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.insert(format!("{sub}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    files.into_iter().collect()
}

fn parse_file(dir: &Path, file: &str) -> Result<Vec<Report<'static>>, Error> {
    let bytes = fs::read(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    parse_any(&bytes, &Limits::default(), &ParseHint::default())
        .map(|reports| reports.into_iter().map(Report::into_owned).collect())
}

#[test]
fn every_corpus_file_parses_except_the_negative_example() {
    let Some(dir) = corpus_dir() else { return };
    let files = corpus_files(&dir);
    assert!(files.len() >= 26, "corpus looks incomplete: {files:?}");
    for file in &files {
        let result = parse_file(&dir, file);
        if file == NOT_A_REPORT {
            let err = result.expect_err("a cron mail must not parse as a report");
            assert!(
                matches!(err, Error::Mime(MimeError::NoReportPart { .. })),
                "{file}: {err:?}"
            );
            assert!(
                err.to_string()
                    .starts_with("no TLS report part found (parts: text/plain"),
                "{err}"
            );
            continue;
        }
        let reports = result.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(reports.len(), 1, "{file}");
        if !EXPECTED.iter().any(|e| e.file == file) {
            println!("{file}: parsed, no per-file expectations in the table");
        }
    }
}

#[test]
fn corpus_files_match_sources_md() {
    let Some(dir) = corpus_dir() else { return };
    for expect in EXPECTED {
        let reports = parse_file(&dir, expect.file).unwrap_or_else(|e| panic!("{}: {e}", expect.file));
        let [report] = reports.as_slice() else {
            panic!("{}: expected one report, got {}", expect.file, reports.len());
        };
        check(expect, report);
    }
}

fn check(expect: &Expect, report: &Report) {
    let file = expect.file;
    assert_eq!(report.organization_name, expect.org, "{file}");
    assert_eq!(report.report_id, expect.report_id, "{file}");
    assert_eq!(report.date_range.start_datetime, expect.start, "{file}");
    assert_eq!(report.date_range.end_datetime, expect.end, "{file}");
    assert!(report.date_range.start > 0 && report.date_range.end > report.date_range.start);
    assert_eq!(report.policies.len(), expect.policies.len(), "{file}");
    for (i, (policy, want)) in report.policies.iter().zip(expect.policies).enumerate() {
        let (ptype, domain, ok, failed, detail_count, detail_sum) = *want;
        assert_eq!(policy.policy.policy_type.as_str(), ptype, "{file} policy {i}");
        assert_eq!(
            policy.policy.policy_domain.as_deref(),
            domain,
            "{file} policy {i}"
        );
        assert_eq!(
            policy.summary.total_successful_session_count, ok,
            "{file} policy {i}"
        );
        assert_eq!(
            policy.summary.total_failure_session_count, failed,
            "{file} policy {i}"
        );
        assert_eq!(policy.failure_details.len(), detail_count, "{file} policy {i}");
        assert_eq!(policy.failure_details_sum(), detail_sum, "{file} policy {i}");
    }
    for code in expect.warnings {
        assert!(
            report.has_warning(*code),
            "{file}: expected warning {code}, got {:?}",
            report.warnings
        );
    }
}

#[test]
fn corpus_specific_details() {
    let Some(dir) = corpus_dir() else { return };
    let one = |file: &str| {
        parse_file(&dir, file)
            .ok()
            .and_then(|mut r| r.pop())
            .unwrap_or_else(|| panic!("{file} did not parse"))
    };

    // Microsoft: the TLSA policy-string is one JSON-encoded array.
    let ms = one("tlsrpt-json/dmarc-report-viewer__microsoft.json");
    let tlsa = &ms.policies[1].policy;
    assert_eq!(tlsa.policy_string.len(), 2);
    assert!(tlsa.policy_string.iter().all(|s| s.starts_with("3 1 1 ")));
    assert!(ms.policies[0].policy.mx_host.is_empty());

    // RFC example: mx-host string, IPv6 with a leading-zero group.
    let rfc = one("tlsrpt-json/parsedmarc__rfc8460.json");
    assert_eq!(rfc.policies[0].policy.mx_host, ["*.mail.company-y.example"]);
    let first = &rfc.policies[0].failure_details[0];
    assert_eq!(first.sending_mta_ip, "2001:db8:abcd:12::1".parse().ok());
    assert_eq!(
        rfc.policies[0].failure_details[2].failure_reason_code.as_deref(),
        Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
    );

    // Draft-era failure-error-code lands in failure_reason_code.
    let draft = one("tlsrpt-json/tlsrpt_processor__sample.json");
    assert_eq!(
        draft.policies[0].failure_details[2]
            .failure_reason_code
            .as_deref(),
        Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
    );

    // mail.ru: details without IPs or host names, free-text reason code.
    let mailru = one("tlsrpt-json/parsedmarc__mail.ru.json");
    let d = &mailru.policies[0].failure_details[0];
    assert_eq!(d.sending_mta_ip, None);
    assert_eq!(d.receiving_mx_hostname, None);
    assert_eq!(
        d.failure_reason_code.as_deref(),
        Some("bad https response code: 404")
    );
    assert_eq!(d.result_type.as_str(), "sts-policy-fetch-error");

    // Clean reports carry no warnings at all.
    for clean in [
        "tlsrpt-json/stalwart-mail-auth__rpt02.json",
        "tlsrpt-json/dmarc-report-viewer__google.json",
        "tlsrpt-eml/mox__example.eml",
    ] {
        let r = one(clean);
        assert!(r.warnings.is_empty(), "{clean}: {:?}", r.warnings);
    }
}
