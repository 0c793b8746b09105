//! One test per real-world quirk, on the synthetic fixtures in
//! `tests/fixtures/` (written for this crate; see each file).

use std::net::IpAddr;
use std::path::Path;

use moat_tlsrpt::{
    Error, Limits, Packing, ParseError, ParseHint, PolicyType, Report, ResultType, WarningCode, decompress,
    extract_from_message, parse_any, parse_json, parse_json_with_hint, parse_message,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn one(name: &str) -> Report<'static> {
    let bytes = fixture(name);
    let reports = parse_any(&bytes, &Limits::default(), &ParseHint::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(reports.len(), 1, "{name}");
    reports
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!())
        .into_owned()
}

fn codes(report: &Report) -> Vec<WarningCode> {
    report.warnings.iter().map(|w| w.code).collect()
}

/// The values every variant of the synthetic report shares.
fn assert_synthetic_basics(r: &Report) {
    assert_eq!(r.organization_name, "Synthetic Sender Ltd");
    assert_eq!(r.report_id, "synthetic-0001");
    assert_eq!(r.date_range.start, 1_709_251_200);
    assert_eq!(r.policies.len(), 1);
}

#[test]
fn r_clean_report_has_no_warnings() {
    let r = one("clean.json");
    assert_synthetic_basics(&r);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.date_range.end, 1_709_337_599);
    assert_eq!(r.contact_info.as_deref(), Some("tlsrpt@sender.example"));
    let p = &r.policies[0];
    assert_eq!(p.policy.policy_type, PolicyType::Sts);
    assert_eq!(p.policy.policy_string.len(), 4);
    assert_eq!(p.policy.mx_host, ["*.mail.example.org"]);
    assert_eq!(p.summary.total_successful_session_count, 40);
    assert_eq!(p.summary.total_failure_session_count, 5);
    let d = &p.failure_details[1];
    assert_eq!(d.result_type, ResultType::StarttlsNotSupported);
    assert_eq!(d.sending_mta_ip, "2001:db8::25".parse::<IpAddr>().ok());
    assert_eq!(d.receiving_mx_helo.as_deref(), Some("mx2"));
    assert_eq!(d.failure_reason_code.as_deref(), Some("NO_STARTTLS"));
    assert_eq!(
        d.additional_information.as_deref(),
        Some("https://sender.example/info/1")
    );
    assert_eq!(r.policy_domains(), ["example.org"]);
}

#[test]
fn r_dates_without_timezone_are_read_as_utc() {
    let r = one("no_timezone.json");
    assert_synthetic_basics(&r);
    assert_eq!(r.date_range.end, 1_709_337_599);
    assert_eq!(r.date_range.start_datetime, "2024-03-01T00:00:00");
    assert_eq!(
        codes(&r),
        [WarningCode::DateWithoutTimezone, WarningCode::DateWithoutTimezone]
    );
}

#[test]
fn r_end_at_next_day_midnight_is_kept_and_noted() {
    let r = one("end_next_midnight.json");
    assert_eq!(r.date_range.end, 1_709_337_600);
    assert_eq!(codes(&r), [WarningCode::EndAtNextMidnight]);
}

#[test]
fn r_contact_info_null_is_accepted() {
    let r = one("contact_info_null.json");
    assert_eq!(r.contact_info, None);
    assert_eq!(codes(&r), [WarningCode::MissingContactInfo]);
}

#[test]
fn r_mx_host_as_plain_string() {
    let r = one("mx_host_string.json");
    assert_eq!(r.policies[0].policy.mx_host, ["*.mail.example.org"]);
    assert_eq!(codes(&r), [WarningCode::StringInsteadOfArray]);
}

#[test]
fn r_microsoft_tlsa_policy_string_is_one_json_array() {
    let r = one("microsoft_tlsa.json");
    let policy = &r.policies[0].policy;
    assert_eq!(policy.policy_type, PolicyType::Tlsa);
    assert_eq!(policy.policy_string.len(), 2);
    assert!(policy.policy_string[0].starts_with("3 1 1 6007EEE5"));
    assert!(policy.policy_string[1].starts_with("3 1 1 837C773D"));
    assert!(policy.mx_host.is_empty());
    assert_eq!(codes(&r), [WarningCode::PolicyStringJsonEncoded]);
    assert_eq!(
        r.warnings[0].message,
        "policies[0].policy.policy-string is one JSON-encoded array; split into 2 entries"
    );
}

#[test]
fn r_counts_as_numeric_strings_and_integral_floats() {
    let r = one("numeric_string_counts.json");
    let p = &r.policies[0];
    assert_eq!(p.summary.total_successful_session_count, 40);
    assert_eq!(p.summary.total_failure_session_count, 5);
    assert_eq!(p.failure_details[0].failed_session_count, 3);
    assert_eq!(p.failure_details[1].failed_session_count, 2);
    assert_eq!(
        codes(&r)
            .iter()
            .filter(|c| **c == WarningCode::CountNotInteger)
            .count(),
        4
    );
}

#[test]
fn r_missing_total_failure_is_derived_from_details() {
    let r = one("missing_total_failure.json");
    assert_eq!(r.policies[0].summary.total_failure_session_count, 5);
    assert_eq!(codes(&r), [WarningCode::MissingFailureTotal]);
}

#[test]
fn r_totals_that_do_not_add_up_are_kept() {
    let r = one("counts_mismatch.json");
    assert_eq!(r.policies[0].summary.total_failure_session_count, 7);
    assert_eq!(r.policies[0].failure_details_sum(), 5);
    assert_eq!(codes(&r), [WarningCode::CountMismatch]);
    assert_eq!(
        r.warnings[0].message,
        "policies[0].summary.total-failure-session-count is 7 but the failure-details add up to 5; both kept"
    );
}

#[test]
fn r_unknown_result_and_policy_types_keep_the_original_string() {
    let r = one("unknown_types.json");
    let p = &r.policies[0];
    assert_eq!(p.policy.policy_type, PolicyType::Unknown("tls".into()));
    assert_eq!(
        p.failure_details[0].result_type,
        ResultType::Unknown("tls-version-invalid".into())
    );
    assert_eq!(p.failure_details[0].result_type.as_str(), "tls-version-invalid");
    assert!(r.has_warning(WarningCode::UnknownPolicyType));
    assert!(r.has_warning(WarningCode::UnknownResultType));
    let json = serde_json::to_value(&r).unwrap_or_default();
    assert_eq!(
        json["policies"][0]["failure-details"][0]["result-type"],
        "tls-version-invalid"
    );
}

#[test]
fn r_draft_era_key_names_are_understood() {
    let r = one("draft_keys.json");
    assert_eq!(r.date_range.start_datetime, "2017-06-01T00:00:00Z");
    let p = &r.policies[0];
    assert_eq!(p.policy.mx_host, ["mx.draft.example"]);
    let d = &p.failure_details[0];
    assert_eq!(d.result_type, ResultType::ValidationFailure);
    assert_eq!(d.failed_session_count, 4);
    assert_eq!(
        d.failure_reason_code.as_deref(),
        Some("X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT")
    );
    let non_standard = r
        .warnings
        .iter()
        .filter(|w| w.code == WarningCode::NonStandardKey)
        .count();
    assert_eq!(non_standard, 6, "{:?}", r.warnings);
    assert_eq!(codes(&r).len(), 6);
}

#[test]
fn r_missing_policy_domain_mx_host_policy_string_and_ips() {
    let r = one("missing_policy_domain.json");
    let p = &r.policies[0];
    assert_eq!(p.policy.policy_domain, None);
    assert!(p.policy.mx_host.is_empty() && p.policy.policy_string.is_empty());
    assert_eq!(p.failure_details[0].sending_mta_ip, None);
    assert_eq!(p.failure_details[0].sending_mta_ip_raw, None);
    assert_eq!(codes(&r), [WarningCode::MissingPolicyDomain]);
    assert!(r.policy_domains().is_empty());
}

#[test]
fn r_missing_policy_domain_is_filled_from_a_hint() {
    let hint = ParseHint::with_policy_domain("example.org");
    let bytes = fixture("missing_policy_domain.json");
    let r = parse_json_with_hint(&bytes, &hint).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.policies[0].policy.policy_domain.as_deref(), Some("example.org"));
    assert_eq!(codes(&r), [WarningCode::PolicyDomainFromHint]);
    // A present policy-domain always wins over the hint.
    let hint = ParseHint::with_policy_domain("other.example");
    let bytes = fixture("clean.json");
    let r = parse_json_with_hint(&bytes, &hint).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.policy_domains(), ["example.org"]);
}

#[test]
fn r_gzip_payload() {
    let bytes = fixture("clean.json.gz");
    let payloads = decompress(&bytes, &Limits::default()).unwrap_or_default();
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].packing, Packing::Gzip);
    let r = one("clean.json.gz");
    assert_synthetic_basics(&r);
    assert!(r.warnings.is_empty());
}

#[test]
fn r_zip_payload_skips_non_report_entries() {
    let payloads = decompress(&fixture("clean.zip"), &Limits::default()).unwrap_or_default();
    assert_eq!(payloads.len(), 1, "readme.txt must be skipped");
    assert_eq!(payloads[0].packing, Packing::Zip);
    assert_synthetic_basics(&one("clean.zip"));
}

#[test]
fn r_gzip_inside_zip() {
    let payloads = decompress(&fixture("gz_in_zip.zip"), &Limits::default()).unwrap_or_default();
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].packing, Packing::GzipInZip);
    assert_synthetic_basics(&one("gz_in_zip.zip"));
}

#[test]
fn r_eml_multipart_report_with_tlsrpt_gzip_base64_part() {
    let raw = fixture("multipart_report.eml");
    let extracted = extract_from_message(&raw, &Limits::default()).unwrap_or_default();
    assert_eq!(extracted.parts.len(), 1);
    assert_eq!(extracted.parts[0].content_type, "application/tlsrpt+gzip");
    assert_eq!(
        extracted.parts[0].filename.as_deref(),
        Some("sender.example!example.org!1709251200!1709337599.json.gz")
    );
    let h = &extracted.headers;
    assert_eq!(h.tls_report_domain.as_deref(), Some("example.org"));
    assert_eq!(h.tls_report_submitter.as_deref(), Some("sender.example"));
    assert_eq!(h.message_id.as_deref(), Some("synthetic-0001@sender.example"));
    assert_eq!(h.from.as_deref(), Some("tlsrpt@sender.example"));
    assert_eq!(h.date, Some(1_709_359_200));
    assert!(
        h.subject
            .as_deref()
            .is_some_and(|s| s.starts_with("Report Domain: example.org"))
    );
    let r = one("multipart_report.eml");
    assert_synthetic_basics(&r);
    assert!(r.warnings.is_empty());
}

#[test]
fn r_eml_octet_stream_json_gz_gets_domain_from_subject() {
    let raw = fixture("octet_stream.eml");
    let extracted = extract_from_message(&raw, &Limits::default()).unwrap_or_default();
    assert_eq!(extracted.parts.len(), 1);
    assert_eq!(extracted.parts[0].content_type, "application/octet-stream");
    assert_eq!(extracted.headers.tls_report_domain, None);
    assert_eq!(extracted.headers.report_domain().as_deref(), Some("example.org"));
    let reports = parse_message(&raw, &Limits::default(), Some("recipient.example")).unwrap_or_default();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].policy_domains(), ["example.org"]);
    assert!(reports[0].has_warning(WarningCode::PolicyDomainFromHint));
}

#[test]
fn r_recipient_hint_is_the_last_resort() {
    let raw = String::from_utf8(fixture("octet_stream.eml")).unwrap_or_default();
    let raw = raw.replace("Subject: Report Domain: example.org", "Subject: TLS report");
    let reports =
        parse_message(raw.as_bytes(), &Limits::default(), Some("recipient.example")).unwrap_or_default();
    assert_eq!(reports[0].policy_domains(), ["recipient.example"]);
}

#[test]
fn r_forwarded_report_inside_message_rfc822() {
    let inner = String::from_utf8(fixture("multipart_report.eml")).unwrap_or_default();
    let outer = format!(
        "From: admin@example.org\r\nTo: reports@moat.example\r\nSubject: Fwd: TLS report\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n\
         --fwd\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --fwd\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--fwd--\r\n"
    );
    let extracted = extract_from_message(outer.as_bytes(), &Limits::default()).unwrap_or_default();
    assert_eq!(extracted.parts.len(), 1);
    // The outer message has no TLS-Report-Domain; the forwarded one does.
    assert_eq!(
        extracted.headers.tls_report_domain.as_deref(),
        Some("example.org")
    );
    assert_eq!(extracted.headers.from.as_deref(), Some("admin@example.org"));
}

#[test]
fn r_single_part_message_with_json_body() {
    let json = String::from_utf8(fixture("clean.json")).unwrap_or_default();
    let raw = format!(
        "From: a@sender.example\r\nSubject: report\r\nContent-Type: application/tlsrpt+json\r\n\r\n{json}"
    );
    let reports = parse_any(raw.as_bytes(), &Limits::default(), &ParseHint::default()).unwrap_or_default();
    assert_eq!(reports.len(), 1);
    assert_synthetic_basics(&reports[0]);
}

#[test]
fn r_flattened_policy_and_summary_fields() {
    let json = br#"{"organization-name":"Flat","report-id":"f1",
        "date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},
        "contact-info":"x@flat.example",
        "policies":[{"policy-type":"sts","policy-domain":"flat.example",
                     "total-successful-session-count":3,"total-failure-session-count":0}]}"#;
    let r = parse_json(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.policies[0].policy.policy_type, PolicyType::Sts);
    assert_eq!(r.policies[0].summary.total_successful_session_count, 3);
    assert_eq!(
        codes(&r),
        [WarningCode::FlattenedPolicy, WarningCode::FlattenedPolicy]
    );
}

#[test]
fn r_unparseable_ip_is_kept_as_text() {
    let json = br#"{"organization-name":"O","report-id":"i",
        "date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"},
        "contact-info":"x@o.example",
        "policies":[{"policy":{"policy-type":"sts","policy-domain":"o.example"},
          "summary":{"total-successful-session-count":0,"total-failure-session-count":1},
          "failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"010.1.2.3",
             "receiving-ip":"[2001:db8::1]","failed-session-count":1}]}]}"#;
    let r = parse_json(json).unwrap_or_else(|e| panic!("{e}"));
    let d = &r.policies[0].failure_details[0];
    assert_eq!(d.sending_mta_ip, None);
    assert_eq!(d.sending_mta_ip_raw.as_deref(), Some("010.1.2.3"));
    assert_eq!(d.receiving_ip, "2001:db8::1".parse::<IpAddr>().ok());
    assert_eq!(codes(&r), [WarningCode::InvalidIp]);
}

// ---------------------------------------------------------------------------
// strict where it matters

fn report_with(fragment: &str) -> String {
    format!(
        r#"{{"organization-name":"O","report-id":"x","contact-info":"c@o.example",
            "date-range":{{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"}},
            "policies":[{{"policy":{{"policy-type":"sts","policy-domain":"o.example"}},{fragment}}}]}}"#
    )
}

#[test]
fn reject_negative_counts() {
    let json =
        report_with(r#""summary":{"total-successful-session-count":-1,"total-failure-session-count":0}"#);
    let err = parse_json(json.as_bytes());
    assert!(matches!(err, Err(ParseError::NegativeCount { .. })), "{err:?}");
    let json =
        report_with(r#""summary":{"total-successful-session-count":"-4","total-failure-session-count":0}"#);
    let err = parse_json(json.as_bytes());
    assert!(matches!(err, Err(ParseError::NegativeCount { .. })), "{err:?}");
}

#[test]
fn reject_non_numeric_and_fractional_counts() {
    for bad in [r#""lots""#, "1.5", "true", "[]"] {
        let json = report_with(&format!(
            r#""summary":{{"total-successful-session-count":{bad},"total-failure-session-count":0}}"#
        ));
        let err = parse_json(json.as_bytes());
        assert!(
            matches!(err, Err(ParseError::InvalidCount { .. })),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn reject_count_overflow() {
    let json = report_with(&format!(
        r#""summary":{{"total-successful-session-count":0}},
           "failure-details":[{{"result-type":"dane-required","failed-session-count":{max}}},
                              {{"result-type":"dane-required","failed-session-count":1}}]"#,
        max = u64::MAX
    ));
    let err = parse_json(json.as_bytes());
    assert!(matches!(err, Err(ParseError::CountOverflow { .. })), "{err:?}");
}

#[test]
fn reject_unreadable_or_missing_dates_without_inventing_epoch_zero() {
    let bad = br#"{"organization-name":"O","report-id":"x",
        "date-range":{"start-datetime":"last tuesday","end-datetime":"2024-01-01T23:59:59Z"}}"#;
    let err = parse_json(bad);
    assert!(matches!(err, Err(ParseError::InvalidDate { .. })), "{err:?}");
    let err = parse_json(br#"{"organization-name":"O","report-id":"x"}"#);
    assert_eq!(err, Err(ParseError::MissingDate("date-range")));
    let err =
        parse_json(br#"{"organization-name":"O","date-range":{"start-datetime":"2024-01-01T00:00:00Z"}}"#);
    assert_eq!(err, Err(ParseError::MissingDate("end-datetime")));
}

#[test]
fn reject_documents_that_are_not_reports() {
    assert_eq!(
        parse_json(br#"{"feedback":{"report_metadata":{}}}"#),
        Err(ParseError::MissingIdentity)
    );
    assert_eq!(
        parse_json(b"[1,2]"),
        Err(ParseError::NotAnObject { found: "an array" })
    );
    assert!(matches!(parse_json(b"{"), Err(ParseError::InvalidJson(_))));
    let err = parse_json(
        br#"{"organization-name":"O","report-id":"x","policies":"none",
        "date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"}}"#,
    );
    assert!(matches!(err, Err(ParseError::WrongType { .. })), "{err:?}");
}

#[test]
fn one_identity_field_is_enough() {
    let r = parse_json(
        br#"{"report-id":"only-id",
        "date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-01T23:59:59Z"}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.organization_name, "");
    assert!(r.has_warning(WarningCode::MissingOrganizationName));
    assert!(r.has_warning(WarningCode::NoPolicies));
}

#[test]
fn errors_name_the_problem() {
    let json = report_with(r#""summary":{"total-successful-session-count":-1}"#);
    let msg = parse_json(json.as_bytes())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        msg,
        "policies[0].summary.total-successful-session-count is negative (-1); session counts cannot be negative"
    );
    let raw = "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
               --x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: image/png\r\n\r\nPNG\r\n--x--\r\n";
    let msg = parse_any(raw.as_bytes(), &Limits::default(), &ParseHint::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(msg, "no TLS report part found (parts: text/plain, image/png)");
}

#[test]
fn a_bad_part_does_not_hide_a_good_one() {
    let clean = String::from_utf8(fixture("clean.json")).unwrap_or_default();
    let raw = format!(
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
         --x\r\nContent-Type: application/json\r\n\r\n{{\"hello\":1}}\r\n\
         --x\r\nContent-Type: application/json\r\n\r\n{clean}\r\n--x--\r\n"
    );
    let reports = parse_message(raw.as_bytes(), &Limits::default(), None).unwrap_or_default();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].has_warning(WarningCode::OtherPartRejected));
    // When every part is bad, the error says which part and why.
    let raw = "From: a@b.example\r\nContent-Type: application/json\r\n\r\n{\"hello\":1}";
    let err = parse_message(raw.as_bytes(), &Limits::default(), None);
    assert!(
        matches!(&err, Err(Error::Report { part, source: ParseError::MissingIdentity }) if part == "application/json"),
        "{err:?}"
    );
}

#[test]
fn describe_gives_plain_words_for_every_result_type() {
    for rt in ResultType::KNOWN {
        let info = rt.describe();
        assert!(!info.meaning.is_empty() && !info.fix.is_empty() && !info.likely_cause.is_empty());
    }
    assert_eq!(
        ResultType::StsPolicyFetchError.describe().rfc_section,
        "RFC 8460 §4.3.2.2"
    );
}
