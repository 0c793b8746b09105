//! TLS report intake end to end on loopback: the SMTP listener (plain, pipelined, STARTTLS),
//! `POST /v1/tlsrpt` on the web app and on the reports host over HTTPS, attribution to the
//! right tenant, duplicates, re-parsing, rollups, bad input, and storage failures.

use crate::{
    both_backends,
    helpers::{TestApp, spawn_app},
};
use base64::Engine;
use moat_domain::{Action, hosting::DomainKind, views::ReportView};
use moat_services::{
    Services, domains,
    intake::{self, Channel, Incoming, Outcome},
    tenancy::{self, Actor, OrgScope},
};
use moat_store::Backend;
use std::{io::Write, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::TcpStream,
};

const ZONE: &str = "sts.moat.localhost";
const REPORTS: &str = "reports.sts.moat.localhost";

async fn org_with_domain(svc: &Services, org: &str, domain: &str) -> OrgScope {
    let id = tenancy::operator_create_org(svc, org, false, None).await.unwrap();
    let scope = tenancy::authorize(svc, &Actor::Operator, id, Action::ManageDomains)
        .await
        .unwrap();
    domains::add(svc, &scope, domain, DomainKind::ReportingOnly)
        .await
        .unwrap();
    scope
}

fn report_json(domain: &str, report_id: &str, ok: u64, failed: u64) -> String {
    serde_json::json!({
        "organization-name": "Sender Org",
        "date-range": {"start-datetime": "2026-11-26T00:00:00Z", "end-datetime": "2026-11-26T23:59:59Z"},
        "contact-info": "tlsrpt@sender.test",
        "report-id": report_id,
        "policies": [{
            "policy": {"policy-type": "sts", "policy-domain": domain,
                       "policy-string": ["version: STSv1", "mode: testing", "mx: mx.example", "max_age: 86400"],
                       "mx-host": ["mx.example"]},
            "summary": {"total-successful-session-count": ok, "total-failure-session-count": failed},
            "failure-details": if failed > 0 {
                serde_json::json!([{"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1",
                                    "receiving-mx-hostname": "mx.example", "failed-session-count": failed}])
            } else { serde_json::json!([]) }
        }]
    })
    .to_string()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An RFC 8460 §5.3 report mail, CRLF line ends.
fn report_mail(to: &str, domain: &str, report_id: &str, ok: u64, failed: u64) -> String {
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(gz(report_json(domain, report_id, ok, failed).as_bytes()));
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: tlsrpt@sender.test\r\nTo: {to}\r\nSubject: Report Domain: {domain} Submitter: sender.test Report-ID: <{report_id}>\r\n\
         TLS-Report-Domain: {domain}\r\nTLS-Report-Submitter: sender.test\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate TLS report.\r\n\
         --b1\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"sender.test!{domain}!1795651200!1795737599.json.gz\"\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
}

/// A line-level SMTP client.
struct Smtp<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Smtp<S> {
    /// Reads one (possibly multi-line) reply: (code, full text).
    async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(20), self.io.read_line(&mut line))
                .await
                .expect("reply in time")
                .unwrap();
            assert!(n > 0, "connection closed; got so far: {text:?}");
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return (line[..3].parse().unwrap(), text);
            }
        }
    }

    async fn send(&mut self, raw: &str) {
        self.io.get_mut().write_all(raw.as_bytes()).await.unwrap();
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    /// MAIL, RCPT, DATA and the message; the final reply.
    async fn deliver(&mut self, to: &str, message: &str) -> (u16, String) {
        assert_eq!(self.cmd("MAIL FROM:<tlsrpt@sender.test>").await.0, 250);
        let rcpt = self.cmd(&format!("RCPT TO:<{to}>")).await;
        assert_eq!(rcpt.0, 250, "{rcpt:?}");
        assert_eq!(self.cmd("DATA").await.0, 354);
        // Dot-stuffing (RFC 5321 §4.5.2).
        let stuffed = message.replace("\r\n.", "\r\n..");
        self.send(&format!("{stuffed}.\r\n")).await;
        self.reply().await
    }
}

async fn connect(app: &TestApp) -> Smtp<TcpStream> {
    let stream = TcpStream::connect(app.smtp_addr).await.unwrap();
    let mut s = Smtp {
        io: BufReader::new(stream),
    };
    let (code, text) = s.reply().await;
    assert_eq!(code, 220, "{text}");
    assert!(text.contains(REPORTS), "greeting names the reports host: {text}");
    s
}

async fn reports_of(svc: &Services, scope: &OrgScope) -> Vec<ReportView> {
    intake::list(svc, scope, None, 1000).await.unwrap()
}

async fn smtp_plain_pipelined_and_starttls(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let acme = org_with_domain(svc, "Acme", "customer.test").await;
    let other = org_with_domain(svc, "Other", "other.test").await;
    let to = format!("tlsrpt+customer.test@{REPORTS}");

    let mut s = connect(&app).await;
    let (code, ehlo) = s.cmd("EHLO sender.test").await;
    assert_eq!(code, 250);
    for cap in [
        "SIZE 10485760",
        "PIPELINING",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
    ] {
        assert!(ehlo.contains(cap), "EHLO offers {cap}: {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "no AUTH: {ehlo}");
    assert_eq!(s.cmd("AUTH PLAIN AGJvYgBzZWNyZXQ=").await.0, 502);
    // No relaying, no reports for domains Moat does not have.
    assert_eq!(s.cmd("MAIL FROM:<a@sender.test>").await.0, 250);
    let relay = s.cmd("RCPT TO:<someone@example.org>").await;
    assert_eq!(relay.0, 550, "{relay:?}");
    assert!(relay.1.contains("5.7.1"), "{relay:?}");
    let unknown = s.cmd(&format!("RCPT TO:<tlsrpt+unknown.test@{REPORTS}>")).await;
    assert_eq!(unknown.0, 550, "{unknown:?}");
    assert_eq!(s.cmd("DATA").await.0, 554, "DATA without a valid recipient");
    assert_eq!(s.cmd("RSET").await.0, 250);

    // A plain delivery.
    let (code, text) = s
        .deliver(&to, &report_mail(&to, "customer.test", "plain-1", 10, 2))
        .await;
    assert_eq!(code, 250, "{text}");
    assert!(text.contains("1 report"), "{text}");

    // Pipelining (RFC 2920): the whole transaction in one write, replies in order.
    let mail = report_mail(&to, "customer.test", "pipelined-1", 7, 0).replace("\r\n.", "\r\n..");
    s.send(&format!(
        "MAIL FROM:<tlsrpt@sender.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n"
    ))
    .await;
    assert_eq!(s.reply().await.0, 250);
    assert_eq!(s.reply().await.0, 250);
    assert_eq!(s.reply().await.0, 354);
    s.send(&format!("{mail}.\r\n")).await;
    assert_eq!(s.reply().await.0, 250);

    // STARTTLS with a command injected behind it in the same packet: it must be discarded.
    s.send("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n").await;
    let (code, text) = s.reply().await;
    assert_eq!(code, 220, "{text}");
    let ca = std::fs::read(app.data_dir.join("local-ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&ca) {
        let c: rustls::pki_types::CertificateDer = c.unwrap();
        roots.add(c).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let stream = s.io.into_inner();
    let tls_stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(REPORTS.try_into().unwrap(), stream)
        .await
        .expect("STARTTLS handshake with a certificate for the reports host, signed by Moat's CA");
    let mut s = Smtp {
        io: BufReader::new(tls_stream),
    };
    let (code, ehlo) = s.cmd("EHLO sender.test").await;
    assert_eq!(code, 250);
    assert!(!ehlo.contains("STARTTLS"), "no second STARTTLS: {ehlo}");
    let rcpt = s.cmd(&format!("RCPT TO:<{to}>")).await;
    assert_eq!(rcpt.0, 503, "the injected MAIL FROM was not executed: {rcpt:?}");
    let (code, text) = s
        .deliver(&to, &report_mail(&to, "customer.test", "tls-1", 5, 1))
        .await;
    assert_eq!(code, 250, "{text}");
    // The same report again (a sender retrying): counted, not stored twice.
    let (code, text) = s
        .deliver(&to, &report_mail(&to, "customer.test", "tls-1", 5, 1))
        .await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(s.cmd("QUIT").await.0, 221);

    let list = reports_of(svc, &acme).await;
    let ids: Vec<&str> = list.iter().map(|r| r.report_id.as_str()).collect();
    assert_eq!(list.len(), 3, "{ids:?}");
    for id in ["plain-1", "pipelined-1", "tls-1"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let tls1 = list.iter().find(|r| r.report_id == "tls-1").unwrap();
    assert_eq!(tls1.duplicates, 1);
    assert_eq!(
        (
            tls1.total_successful_session_count,
            tls1.total_failure_session_count
        ),
        (5, 1)
    );
    assert_eq!(tls1.channel, "smtp");
    let detail = intake::detail(svc, &acme, tls1.id).await.unwrap();
    assert!(detail.raw.tls, "stored as received over TLS");
    assert_eq!(detail.raw.rcpt_to, std::slice::from_ref(&to));
    assert_eq!(detail.raw.mail_from.as_deref(), Some("tlsrpt@sender.test"));
    assert_eq!(
        detail.policies[0].failure_details[0].result_type,
        "certificate-expired"
    );
    let plain = list.iter().find(|r| r.report_id == "plain-1").unwrap();
    assert!(!intake::detail(svc, &acme, plain.id).await.unwrap().raw.tls);
    // The other tenant sees nothing, and cannot open Acme's report by id.
    assert!(reports_of(svc, &other).await.is_empty());
    assert!(intake::detail(svc, &other, tls1.id).await.is_err());
    // Rollups: 10+7+5 successes and 2+1 expired-certificate failures that day.
    let rollups = moat_store::reports::rollups(&svc.db, acme.org_id(), None, 0)
        .await
        .unwrap();
    let sum = |kind: &str| {
        rollups
            .iter()
            .filter(|r| r.result_type == kind)
            .map(|r| r.sessions)
            .sum::<i64>()
    };
    assert_eq!(sum("success"), 22);
    assert_eq!(sum("certificate-expired"), 3);
}

async fn smtp_bad_input(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let acme = org_with_domain(svc, "Acme", "customer.test").await;
    let to = format!("tlsrpt+customer.test@{REPORTS}");
    let mut s = connect(&app).await;
    assert_eq!(s.cmd("MAIL FROM:<a@b.test>").await.0, 503, "EHLO first");
    assert_eq!(s.cmd("EHLO sender.test").await.0, 250);
    assert_eq!(s.cmd("RCPT TO:<x@y.test>").await.0, 503, "MAIL first");
    assert_eq!(s.cmd("BOGUS").await.0, 500);
    let long = s.cmd(&format!("NOOP {}", "x".repeat(5000))).await;
    assert_eq!(long.0, 500, "{long:?}");
    assert_eq!(s.cmd("NOOP").await.0, 250, "the session survives a bad line");
    // Announced size over the limit.
    assert_eq!(s.cmd("MAIL FROM:<a@b.test> SIZE=99999999").await.0, 552);
    // Garbage and an empty message are kept (250) and flagged, never dropped.
    let (code, text) = s.deliver(&to, "Subject: hello\r\n\r\nnot a report\r\n").await;
    assert_eq!(code, 250, "{text}");
    assert!(text.contains("not a readable TLS report"), "{text}");
    assert_eq!(s.cmd("MAIL FROM:<a@b.test>").await.0, 250);
    assert_eq!(s.cmd(&format!("RCPT TO:<{to}>")).await.0, 250);
    assert_eq!(s.cmd("DATA").await.0, 354);
    s.send(".\r\n").await;
    assert_eq!(s.reply().await.0, 250, "an empty message ends at once");
    // A truncated gzip attachment.
    let mail = report_mail(&to, "customer.test", "trunc", 1, 0);
    let cut = mail.find("\r\n--b1--").unwrap() - 40;
    let (code, _) = s.deliver(&to, &format!("{}\r\n--b1--\r\n", &mail[..cut])).await;
    assert_eq!(code, 250);
    // Too big: read to the end, then refused.
    assert_eq!(s.cmd("MAIL FROM:<a@b.test>").await.0, 250);
    assert_eq!(s.cmd(&format!("RCPT TO:<{to}>")).await.0, 250);
    assert_eq!(s.cmd("DATA").await.0, 354);
    let line = format!("{}\r\n", "y".repeat(998));
    let chunk = line.repeat(1024);
    for _ in 0..11 {
        s.send(&chunk).await;
    }
    s.send(".\r\n").await;
    assert_eq!(s.reply().await.0, 552);
    assert_eq!(s.cmd("QUIT").await.0, 221);

    let counts = moat_store::reports::raw_status_counts(&svc.db).await.unwrap();
    assert_eq!(
        counts,
        [("rejected".to_string(), 3)],
        "garbage, empty and truncated kept as rejected"
    );
    assert!(reports_of(svc, &acme).await.is_empty());
}

async fn https_post(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let acme = org_with_domain(svc, "Acme", "customer.test").await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/tlsrpt", app.url);
    let post = |ct: &'static str, body: Vec<u8>| http.post(&url).header("content-type", ct).body(body).send();
    let body = gz(report_json("customer.test", "https-1", 40, 0).as_bytes());
    let r = post("application/tlsrpt+gzip", body.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["reports"][0]["report_id"], "https-1");
    // The same body again: accepted, not stored twice.
    assert_eq!(post("application/tlsrpt+gzip", body).await.unwrap().status(), 201);
    let r = post(
        "application/tlsrpt+json",
        report_json("customer.test", "https-2", 1, 1).into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    // Garbage: 400 with a reason; a report for a domain nobody has: 422.
    let r = post("application/tlsrpt+gzip", vec![0x1f, 0x8b, 8, 0, 1, 2, 3])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not a readable TLS report"));
    let r = post(
        "application/tlsrpt+json",
        report_json("nobody.test", "x", 1, 0).into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("nobody.test"));
    assert_eq!(
        post("application/tlsrpt+json", Vec::new())
            .await
            .unwrap()
            .status(),
        400
    );
    // A gzip bomb: rejected with a clear reason, memory bounded.
    let bomb = gz(&vec![b' '; 64 << 20]);
    let r = post("application/tlsrpt+gzip", bomb).await.unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("limit") || text.contains("large"), "{text}");

    // The reports host on the policy listener, over HTTPS with Moat's CA.
    let ca = std::fs::read(app.data_dir.join("local-ca.pem")).unwrap();
    let https = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .resolve(REPORTS, app.policy_addr)
        .build()
        .unwrap();
    let r = https
        .post(format!("https://{REPORTS}:{}/v1/tlsrpt", app.policy_addr.port()))
        .header("content-type", "application/tlsrpt+gzip")
        .body(gz(report_json("customer.test", "https-3", 3, 0).as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let list = reports_of(svc, &acme).await;
    let mut ids: Vec<&str> = list.iter().map(|r| r.report_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["https-1", "https-2", "https-3"]);
    assert!(list.iter().all(|r| r.channel == "https"));
    assert_eq!(
        list.iter().find(|r| r.report_id == "https-1").unwrap().duplicates,
        1
    );
    let h3 = list.iter().find(|r| r.report_id == "https-3").unwrap();
    assert!(intake::detail(svc, &acme, h3.id).await.unwrap().raw.tls);
    // The rua advertised for the domain includes both addresses.
    assert_eq!(
        svc.settings.hosting.rua_for("customer.test"),
        [
            format!("mailto:tlsrpt+customer.test@{REPORTS}"),
            format!("https://{REPORTS}/v1/tlsrpt")
        ]
    );
    let _ = ZONE;
}

async fn reparse_after_domain_added(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let acme = org_with_domain(svc, "Acme", "customer.test").await;
    // A report for a domain not added yet: kept, flagged unattributed.
    let r = svc
        .receive_report(Incoming::new(
            Channel::Https,
            report_json("later.test", "later-1", 8, 2).into_bytes(),
        ))
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Unattributed(_)), "{:?}", r.outcome);
    domains::add(svc, &acme, "later.test", DomainKind::ReportingOnly)
        .await
        .unwrap();
    let done = svc.reparse(&["unattributed"], None).await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(matches!(done[0].1, Outcome::Stored { .. }), "{:?}", done[0].1);
    // Re-parsing everything again changes nothing (rollups are replaced, not added).
    let before = moat_store::reports::rollups(&svc.db, acme.org_id(), None, 0)
        .await
        .unwrap();
    svc.reparse(&[], None).await.unwrap();
    svc.reparse(&[], None).await.unwrap();
    let after = moat_store::reports::rollups(&svc.db, acme.org_id(), None, 0)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(after.iter().map(|r| r.sessions).sum::<i64>(), 10);
    let list = reports_of(svc, &acme).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].domain, "later.test");
    assert_eq!(list[0].duplicates, 0);
}

async fn storage_down_means_retry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    org_with_domain(svc, "Acme", "customer.test").await;
    let to = format!("tlsrpt+customer.test@{REPORTS}");
    let mut s = connect(&app).await;
    assert_eq!(s.cmd("EHLO sender.test").await.0, 250);
    assert_eq!(s.cmd("MAIL FROM:<a@sender.test>").await.0, 250);
    assert_eq!(s.cmd(&format!("RCPT TO:<{to}>")).await.0, 250);
    assert_eq!(s.cmd("DATA").await.0, 354);
    // The database goes away between RCPT and the end of DATA.
    svc.db.close().await;
    s.send(&format!(
        "{}.\r\n",
        report_mail(&to, "customer.test", "down-1", 1, 0)
    ))
    .await;
    let (code, text) = s.reply().await;
    assert_eq!(code, 451, "{text}");
    let r = reqwest::Client::new()
        .post(format!("{}/v1/tlsrpt", app.url))
        .header("content-type", "application/tlsrpt+json")
        .body(report_json("customer.test", "down-2", 1, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
}

/// Every report in the shared corpus and the crate's own fixtures imports, with the counts
/// SOURCES.md gives; the negative example is rejected with a reason.
async fn corpus_imports(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let id = tenancy::operator_create_org(svc, "Corpus", false, None)
        .await
        .unwrap();
    let scope = tenancy::authorize(svc, &Actor::Operator, id, Action::Read)
        .await
        .unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/tlsrpt/tests/fixtures");
    let mut dirs = vec![fixtures];
    if root.exists() {
        dirs.push(root.join("tlsrpt-json"));
        dirs.push(root.join("tlsrpt-eml"));
    } else {
        eprintln!("SKIPPED the shared corpus: {} is absent", root.display());
    }
    // The crate's fixtures one by one (what the listeners do), the shared corpus as one
    // batch (what `moat import` does).
    let mut outcomes = std::collections::BTreeMap::new();
    for (n, dir) in dirs.iter().enumerate() {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let items: Vec<Incoming> = files
            .iter()
            .zip(&names)
            .map(|(f, name)| Incoming {
                org_hint: Some(id),
                file_name: Some(name.clone()),
                ..Incoming::new(Channel::Import, std::fs::read(f).unwrap())
            })
            .collect();
        if n == 0 {
            for (item, name) in items.into_iter().zip(names) {
                outcomes.insert(name, svc.receive_report(item).await.unwrap().outcome);
            }
        } else {
            let receipts = svc.receive_batch(items).await.unwrap();
            for (r, name) in receipts.into_iter().zip(names) {
                outcomes.insert(name, r.outcome);
            }
        }
    }
    let stored = |name: &str| match outcomes.get(name) {
        Some(Outcome::Stored { reports, .. }) => reports.clone(),
        other => panic!("{name}: {other:?}"),
    };
    if root.exists() {
        match &outcomes["tlsrpt-rs__empty.eml"] {
            Outcome::Rejected(reason) => assert!(reason.contains("no TLS report"), "{reason}"),
            other => panic!("the negative example must be rejected: {other:?}"),
        }
        let r = &stored("parsedmarc__mail.ru.json")[0];
        assert_eq!(
            (
                r.total_successful_session_count,
                r.total_failure_session_count,
                r.failure_details
            ),
            (0, 1, 2)
        );
        let r = &stored("stalwart-mail-auth__rpt01.eml")[0];
        assert_eq!(
            (
                r.total_successful_session_count,
                r.total_failure_session_count,
                r.failure_details
            ),
            (5326, 303, 3)
        );
        let r = &stored("tls-rpt-monitor__microsoft-report.json.gz")[0];
        assert_eq!(r.policy_domain, "josh.scot");
        // The RFC 8460 example arrives from four sources: stored once, counted as duplicates.
        let company_x: Vec<_> = reports_of(svc, &scope)
            .await
            .into_iter()
            .filter(|r| r.report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
            .collect();
        assert_eq!(company_x.len(), 1);
        assert!(company_x[0].duplicates >= 3, "{}", company_x[0].duplicates);
        // Reports without policy-domain cannot be attributed by an import without --domain.
        assert!(matches!(
            outcomes["DomainDetective__tlsrpt.json"],
            Outcome::Unattributed(_)
        ));
    }
    // Every other input was stored, and the warnings survive into the stored reports.
    let list = reports_of(svc, &scope).await;
    let at_least = if root.exists() { 15 } else { 2 };
    assert!(list.len() >= at_least, "{} reports stored", list.len());
    assert!(list.iter().any(|r| !r.warnings.is_empty()));
    // Rollups equal the sum of the stored reports' sessions.
    let rollups = moat_store::reports::rollups(&svc.db, id, None, i64::MIN)
        .await
        .unwrap();
    let ok: i64 = rollups
        .iter()
        .filter(|r| r.result_type == "success")
        .map(|r| r.sessions)
        .sum();
    assert_eq!(
        ok,
        list.iter().map(|r| r.total_successful_session_count).sum::<i64>()
    );
    let failed: i64 = rollups
        .iter()
        .filter(|r| r.result_type != "success")
        .map(|r| r.sessions)
        .sum();
    assert!(failed >= list.iter().map(|r| r.total_failure_session_count).sum::<i64>());
}

/// One import batch (what `moat import` stores in one transaction) with the same bytes twice,
/// the same report in other bytes, a report of another organization, a rejected and an
/// unattributed message: each stored once, duplicates counted, rollups adding up per
/// organization.
async fn batch_with_repeats_and_two_orgs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let svc = &app.services;
    let a = org_with_domain(svc, "Org A", "a.test").await;
    let b = org_with_domain(svc, "Org B", "b.test").await;
    let inputs: Vec<Vec<u8>> = vec![
        report_json("a.test", "x1", 10, 2).into_bytes(),
        report_json("a.test", "x1", 10, 2).into_bytes(),
        report_json("b.test", "x1", 20, 0).into_bytes(),
        report_json("a.test", "x1", 11, 0).into_bytes(),
        b"not a report".to_vec(),
        report_json("a.test", "x2", 5, 1).into_bytes(),
        report_json("nobody.test", "x3", 1, 0).into_bytes(),
        b"not a report".to_vec(),
    ];
    let items = inputs
        .into_iter()
        .map(|bytes| Incoming::new(Channel::Import, bytes))
        .collect();
    let receipts = svc.receive_batch(items).await.unwrap();
    let outcomes: Vec<&Outcome> = receipts.iter().map(|r| &r.outcome).collect();
    let stored = |k: usize| match outcomes[k] {
        Outcome::Stored { reports, .. } => reports.iter().map(|r| r.duplicate).collect::<Vec<_>>(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(stored(0), [false]);
    assert!(matches!(outcomes[1], Outcome::Repeated { status, .. } if status == "parsed"));
    assert_eq!(receipts[1].raw_id, receipts[0].raw_id);
    assert_eq!(stored(2), [false]);
    assert_eq!(stored(3), [true]);
    assert!(outcomes[3].is_duplicate());
    assert!(matches!(outcomes[4], Outcome::Rejected(_)));
    assert_eq!(stored(5), [false]);
    assert!(matches!(outcomes[6], Outcome::Unattributed(_)));
    match outcomes[7] {
        Outcome::Repeated { status, error } => {
            assert_eq!(status, "rejected");
            assert!(error.is_some());
        }
        other => panic!("{other:?}"),
    }
    for (scope, expected) in [(&a, vec![("x1", 10, 2), ("x2", 5, 0)]), (&b, vec![("x1", 20, 0)])] {
        let mut list: Vec<_> = reports_of(svc, scope)
            .await
            .into_iter()
            .map(|r| (r.report_id, r.total_successful_session_count, r.duplicates))
            .collect();
        list.sort();
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(id, ok, dups)| (id.to_owned(), ok, dups))
            .collect();
        assert_eq!(list, expected);
        let reports = reports_of(svc, scope).await;
        let rollups = moat_store::reports::rollups(&svc.db, scope.org_id(), None, i64::MIN)
            .await
            .unwrap();
        let sum = |ok: bool| -> i64 {
            rollups
                .iter()
                .filter(|r| (r.result_type == "success") == ok)
                .map(|r| r.sessions)
                .sum()
        };
        assert_eq!(
            sum(true),
            reports
                .iter()
                .map(|r| r.total_successful_session_count)
                .sum::<i64>()
        );
        assert_eq!(
            sum(false),
            reports.iter().map(|r| r.total_failure_session_count).sum::<i64>()
        );
    }
}

both_backends!(
    smtp_plain_pipelined_and_starttls,
    smtp_bad_input,
    https_post,
    reparse_after_domain_added,
    storage_down_means_retry,
    corpus_imports,
    batch_with_repeats_and_two_orgs,
);
