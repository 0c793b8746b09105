//! The fast path and the lenient walk agree: wherever the fast path answers, its report is the
//! lenient one, warnings included. Checked on every fixture and shared-corpus report, on
//! structural variants of each (every field removed, set to null, to a number, to an empty
//! string, duplicated; compact and pretty printing), and on every truncation of each.

use std::fs;
use std::path::{Path, PathBuf};

use moat_tlsrpt::paths::{fast, lenient};
use moat_tlsrpt::{Limits, ParseHint, Report, decompress};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Every JSON report we have: the crate's fixtures and the shared corpus (gzip unpacked).
fn reports() -> Vec<(String, Vec<u8>)> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
    match corpus() {
        Some(c) => dirs.push(c.join("tlsrpt-json")),
        None => eprintln!("NOTE: ../shared/corpus not found; checking the crate's own fixtures only"),
    }
    let mut out = Vec::new();
    for dir in dirs {
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let bytes = fs::read(&path).expect("read");
            if name.ends_with(".json") {
                out.push((name, bytes));
            } else if name.ends_with(".json.gz") {
                for payload in decompress(&bytes, &Limits::default()).expect("gunzip") {
                    out.push((name.clone(), payload.bytes));
                }
            }
        }
    }
    out
}

/// Asserts agreement; returns whether the fast path answered.
fn agree(label: &str, bytes: &[u8]) -> bool {
    let Some(quick) = fast(bytes) else {
        return false;
    };
    for hint in [
        ParseHint::default(),
        ParseHint::with_policy_domain("hint.example"),
    ] {
        match lenient(bytes, &hint) {
            Ok(slow) => assert_eq!(quick, slow, "{label}: the paths disagree"),
            Err(e) => panic!("{label}: the fast path accepted what the lenient walk rejects ({e})"),
        }
    }
    true
}

/// Paths to every object member in a JSON value.
fn member_paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(k.clone());
                out.push(at.clone());
                member_paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(format!("#{i}"));
                member_paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A change to one member of an object, given the object and the member's key.
type Edit = dyn Fn(&mut serde_json::Map<String, Value>, &str);

/// Apply `edit` to the member at `path` (its parent object and key).
fn edit(root: &Value, path: &[String], edit: &Edit) -> Value {
    let mut copy = root.clone();
    let mut node = &mut copy;
    for step in &path[..path.len() - 1] {
        node = match step.strip_prefix('#') {
            Some(i) => &mut node[i.parse::<usize>().expect("index")],
            None => &mut node[step.as_str()],
        };
    }
    if let Value::Object(map) = node {
        edit(map, &path[path.len() - 1]);
    }
    copy
}

/// One draft-era or otherwise non-standard spelling per field (see `parse.rs`).
const OTHER_SPELLINGS: &[(&str, &str)] = &[
    ("organization-name", "organization"),
    ("contact-info", "contact"),
    ("start-datetime", "start-date-time"),
    ("end-datetime", "end"),
    ("policy-type", "type"),
    ("policy-string", "policy-strings"),
    ("mx-host", "mx-hostname"),
    ("policy-domain", "domain"),
    ("failure-details", "failures"),
    ("total-successful-session-count", "successful-session-count"),
    ("total-failure-session-count", "failed-session-count"),
    ("result-type", "result"),
    ("sending-mta-ip", "source-ip"),
    ("receiving-ip", "receiving-address"),
    ("receiving-mx-hostname", "receiving-mx"),
    ("receiving-mx-helo", "mx-helo"),
    ("failed-session-count", "session-count"),
    ("additional-information", "additional-info"),
    ("failure-reason-code", "failure-error-code"),
];

#[test]
fn fast_path_agrees_with_the_lenient_walk() {
    let reports = reports();
    assert!(reports.len() >= 10, "too few reports found: {}", reports.len());
    let (mut checked, mut fast_answers) = (0usize, 0usize);
    let mut fast_files = Vec::new();
    for (name, bytes) in &reports {
        if agree(name, bytes) {
            fast_files.push(name.clone());
        }
        // Every truncation, and every single byte dropped (cheap: both paths are fast).
        for cut in 0..bytes.len() {
            checked += 1;
            fast_answers += usize::from(agree(&format!("{name} cut at {cut}"), &bytes[..cut]));
            let mut dropped = bytes.clone();
            dropped.remove(cut);
            checked += 1;
            fast_answers += usize::from(agree(&format!("{name} without byte {cut}"), &dropped));
        }
        let Ok(root) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        let mut variants = vec![
            ("compact".to_owned(), serde_json::to_vec(&root).expect("json")),
            (
                "pretty".to_owned(),
                serde_json::to_vec_pretty(&root).expect("json"),
            ),
        ];
        let mut paths = Vec::new();
        member_paths(&root, &mut Vec::new(), &mut paths);
        for path in &paths {
            let at = path.join(".");
            let edits: [(&str, &Edit); 7] = [
                ("removed", &|m, k| {
                    m.remove(k);
                }),
                ("null", &|m, k| {
                    m.insert(k.to_owned(), Value::Null);
                }),
                ("number", &|m, k| {
                    m.insert(k.to_owned(), Value::from(7));
                }),
                ("empty", &|m, k| {
                    m.insert(k.to_owned(), Value::from(""));
                }),
                ("padded", &|m, k| {
                    if let Some(Value::String(s)) = m.get(k) {
                        let padded = format!("  {s} ");
                        m.insert(k.to_owned(), Value::from(padded));
                    }
                }),
                ("string", &|m, k| {
                    m.insert(k.to_owned(), Value::from("2016-04-01T00:00:00Z"));
                }),
                ("renamed", &|m, k| {
                    if let Some(v) = m.remove(k) {
                        m.insert(k.replace('-', "_"), v);
                    }
                }),
            ];
            for (what, f) in edits {
                variants.push((
                    format!("{at} {what}"),
                    serde_json::to_vec(&edit(&root, path, f)).expect("json"),
                ));
            }
            // Another spelling the lenient walk reads (with a warning), instead of and beside
            // RFC 8460's.
            let key = path.last().map(String::as_str).unwrap_or_default();
            if let Some((_, other)) = OTHER_SPELLINGS.iter().find(|(k, _)| *k == key) {
                let instead = edit(&root, path, &|m, k| {
                    if let Some(v) = m.remove(k) {
                        m.insert((*other).to_owned(), v);
                    }
                });
                variants.push((
                    format!("{at} as {other}"),
                    serde_json::to_vec(&instead).expect("json"),
                ));
                let beside = edit(&root, path, &|m, k| {
                    if let Some(v) = m.get(k).cloned() {
                        m.insert((*other).to_owned(), v);
                    }
                });
                variants.push((
                    format!("{at} and {other}"),
                    serde_json::to_vec(&beside).expect("json"),
                ));
            }
        }
        // A key given twice: the lenient walk keeps the last, the fast path must defer or agree.
        let text = String::from_utf8_lossy(bytes).into_owned();
        if let Some(pos) = text.find("\"report-id\"") {
            variants.push((
                "report-id twice".into(),
                format!("{}\"report-id\": \"first\", {}", &text[..pos], &text[pos..]).into_bytes(),
            ));
        }
        // Escapes, which serde_json's printer never writes: in a key, a slash, a surrogate pair,
        // a lone surrogate and an invalid escape.
        for (what, from, to) in [
            ("escaped key", "\"report-id\"", "\"report\\u002did\""),
            (
                "escaped slash",
                "\"organization-name\": \"",
                "\"organization-name\": \"a\\/b ",
            ),
            (
                "surrogate pair",
                "\"organization-name\": \"",
                "\"organization-name\": \"\\ud83d\\ude00 ",
            ),
            (
                "lone surrogate",
                "\"organization-name\": \"",
                "\"organization-name\": \"\\ud83d ",
            ),
            (
                "bad escape",
                "\"organization-name\": \"",
                "\"organization-name\": \"\\x ",
            ),
            (
                "escaped quote and tab",
                "\"contact-info\": \"",
                "\"contact-info\": \"\\\"\\t",
            ),
        ] {
            if text.contains(from) {
                variants.push((what.to_owned(), text.replacen(from, to, 1).into_bytes()));
            }
        }
        for (what, variant) in variants {
            checked += 1;
            fast_answers += usize::from(agree(&format!("{name}: {what}"), &variant));
        }
    }
    println!(
        "{checked} variants checked, the fast path answered {fast_answers}; whole files: {} of {}: {fast_files:?}",
        fast_files.len(),
        reports.len()
    );
    // The point of the fast path: plain reports take it.
    for plain in [
        "clean.json",
        "microsoft_tlsa.json",
        "tlsrpt_processor__sample.json",
        "parsedmarc__smtp_tls.json",
        "parsedmarc__mail.ru.json",
        "stalwart-mail-auth__rpt01.json",
    ] {
        if plain == "clean.json" || corpus().is_some() {
            assert!(
                fast_files.iter().any(|f| f == plain),
                "{plain} did not take the fast path"
            );
        }
    }
    assert!(
        fast_answers > 100,
        "the fast path almost never answered ({fast_answers})"
    );
}

#[test]
fn fast_path_keeps_the_lenient_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, code) in [
        (
            "end_next_midnight.json",
            moat_tlsrpt::WarningCode::EndAtNextMidnight,
        ),
        ("counts_mismatch.json", moat_tlsrpt::WarningCode::CountMismatch),
        (
            "mx_host_string.json",
            moat_tlsrpt::WarningCode::StringInsteadOfArray,
        ),
        (
            "contact_info_null.json",
            moat_tlsrpt::WarningCode::MissingContactInfo,
        ),
    ] {
        let bytes = fs::read(dir.join(file)).expect("fixture");
        let report: Report = moat_tlsrpt::parse_json(&bytes).expect(file);
        assert!(
            report.has_warning(code),
            "{file}: {code:?} missing: {:?}",
            report.warnings
        );
        if let Some(quick) = fast(&bytes) {
            assert_eq!(quick, report, "{file}");
        }
    }
}

/// The values the fast path reads in place (addresses, dates) against the lenient walk, on the
/// near misses around each shape.
#[test]
fn values_read_in_place_agree() {
    let addresses = [
        "192.0.2.1",
        " 192.0.2.1",
        "192.0.2.1 ",
        "192.0.2.12",
        "192.0.2.1234",
        "192.0.2.256",
        "192.0.2",
        "192.0.2.1.",
        "192.0.02.1",
        "192.0.2.1x",
        "2001:db8::1",
        "::ffff:192.0.2.1",
        "1.2.3.4\\u0020",
        "not an address",
        "",
    ];
    let dates = [
        "2016-04-01T00:00:00Z",
        "2016-04-01T23:59:59Z",
        "2016-04-01T00:00:00z",
        "2016-04-01T00:00:00",
        "2016-04-01 00:00:00Z",
        "2016-04-01T00:00:00Z ",
        " 2016-04-01T00:00:00Z",
        "2016-04-31T00:00:00Z",
        "2016-04-01T24:00:00Z",
        "2016-04-01T00:00:00+00:00",
        "2016-04-01T00:00:0\\u0030Z",
        "2016-04-01",
    ];
    let report = |start: &str, end: &str, ip: &str| {
        format!(
            r#"{{"organization-name":"Org","date-range":{{"start-datetime":"{start}","end-datetime":"{end}"}},
"contact-info":"c@example.com","report-id":"r1","policies":[{{"policy":{{"policy-type":"sts",
"policy-string":["version: STSv1"],"policy-domain":"example.com","mx-host":["mx.example.com"]}},
"summary":{{"total-successful-session-count":1,"total-failure-session-count":2}},
"failure-details":[{{"result-type":"starttls-not-supported","sending-mta-ip":"{ip}",
"receiving-ip":"{ip}","receiving-mx-hostname":"mx.example.com","failed-session-count":2}}]}}]}}"#
        )
    };
    let mut fast_answers = 0;
    for ip in addresses {
        fast_answers += usize::from(agree(ip, report(dates[0], dates[1], ip).as_bytes()));
    }
    for date in dates {
        fast_answers += usize::from(agree(date, report(date, dates[1], addresses[0]).as_bytes()));
        fast_answers += usize::from(agree(date, report(dates[0], date, addresses[0]).as_bytes()));
    }
    // The plain shapes take the fast path (so the comparison above is not vacuous).
    assert!(fast(report(dates[0], dates[1], addresses[0]).as_bytes()).is_some());
    assert!(fast(report(dates[0], dates[1], "2001:db8::1").as_bytes()).is_some());
    assert!(
        fast_answers >= 10,
        "the fast path answered only {fast_answers} times"
    );
}
