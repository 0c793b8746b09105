//! The problem detector and notifications, rule by rule, with crafted report sequences going
//! through the real intake: each rule opens its problem with evidence, escalates, resolves;
//! e-mail goes to members who want it, the webhook arrives signed (verified by a receiver
//! on loopback), nothing is repeated before its interval or after acknowledgement, and the
//! daily digest goes out once a day.

use crate::{
    both_backends,
    helpers::{TestApp, spawn_app_with},
};
use moat_domain::{
    Action,
    calendar::format_day,
    hosting::DomainKind,
    views::{DomainId, OrgId, ProblemView},
};
use moat_services::{
    Services, detect, domains,
    intake::{Channel, Incoming, Outcome},
    notify,
    tenancy::{self, Actor, OrgScope},
};
use moat_store::{Backend, problems::Change};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DAY: i64 = 86_400;

struct R<'a> {
    sender: &'a str,
    day: i64,
    policy_type: &'a str,
    mode: &'a str,
    success: i64,
    /// (result type, MX, sessions)
    failures: &'a [(&'a str, &'a str, i64)],
}

impl R<'_> {
    fn ok(sender: &str, day: i64, success: i64) -> R<'_> {
        R {
            sender,
            day,
            policy_type: "sts",
            mode: "testing",
            success,
            failures: &[],
        }
    }
}

async fn send(svc: &Services, domain: &str, n: &mut u32, r: &R<'_>) {
    *n += 1;
    let failed = r.failures.iter().map(|f| f.2).fold(0i64, i64::saturating_add);
    let body = serde_json::json!({
        "organization-name": r.sender,
        "date-range": {"start-datetime": format!("{}T00:00:00Z", format_day(r.day)),
                       "end-datetime": format!("{}T23:59:59Z", format_day(r.day))},
        "contact-info": "tlsrpt@sender.test",
        "report-id": format!("{domain}-{n}"),
        "policies": [{
            "policy": {"policy-type": r.policy_type, "policy-domain": domain,
                       "policy-string": ["version: STSv1", format!("mode: {}", r.mode), "mx: *.shop.test", "max_age: 86400"],
                       "mx-host": ["*.shop.test"]},
            "summary": {"total-successful-session-count": r.success, "total-failure-session-count": failed},
            "failure-details": r.failures.iter().map(|(rt, mx, c)| serde_json::json!({
                "result-type": rt, "sending-mta-ip": "192.0.2.10", "receiving-mx-hostname": mx,
                "failed-session-count": c})).collect::<Vec<_>>()
        }]
    });
    let receipt = svc
        .receive_report(Incoming::new(Channel::Https, body.to_string().into_bytes()))
        .await
        .unwrap();
    assert!(
        matches!(receipt.outcome, Outcome::Stored { .. }),
        "{:?}",
        receipt.outcome
    );
}

async fn open(svc: &Services, scope: &OrgScope, domain: &str) -> Vec<ProblemView> {
    detect::problems(svc, scope, Some(domain))
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.status == "open")
        .collect()
}

fn find<'a>(list: &'a [ProblemView], rule: &str, subject: &str) -> Option<&'a ProblemView> {
    list.iter().find(|p| p.rule == rule && p.subject == subject)
}

fn rules(list: &[ProblemView]) -> Vec<String> {
    let mut r: Vec<String> = list.iter().map(|p| format!("{}:{}", p.rule, p.subject)).collect();
    r.sort();
    r
}

/// A test webhook receiver: keeps every request's headers and body.
async fn receiver() -> (String, Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let headers: Vec<(String, String)> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    store.lock().unwrap().push((headers, body));
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
            });
        }
    });
    (url, got)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

async fn rules_fire_escalate_and_resolve(backend: Backend) {
    // A resolver on a closed loopback port: MX lookups fail fast, nothing leaves the machine.
    // The webhook receiver is on loopback, which only this setting allows.
    // The test runs the detector itself, at chosen times: the background one is off.
    let env = [
        ("MOAT_RESOLVERS", "127.0.0.1:9"),
        ("MOAT_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("MOAT_DETECT_INTERVAL", "0"),
    ];
    let Some(app) = spawn_app_with(backend, &env).await else {
        return;
    };
    let svc = &app.services;
    let (owner, org) = app.user_with_org("owner@shop.test", "Shop", false).await;
    let org = OrgId(org);
    let scope = tenancy::authorize(svc, &Actor::Operator, org, Action::ManageDomains)
        .await
        .unwrap();
    domains::add(svc, &scope, "shop.test", DomainKind::Hosted)
        .await
        .unwrap();
    let id: DomainId = domains::get(svc, &scope, "shop.test").await.unwrap().id;
    // The records were seen pointing at Moat: the domain is active (served).
    moat_store::domains::record_check(&svc.db, id, "active", "[]", moat_services::now())
        .await
        .unwrap();
    domains::set_policy(
        svc,
        &scope,
        "shop.test",
        &domains::PolicyInput {
            mode: "testing".into(),
            mx: vec!["*.shop.test".into()],
            max_age: 86_400,
            confirm_enforce: false,
            override_readiness: true,
        },
    )
    .await
    .unwrap();

    let now = moat_services::now();
    let today = now - now.rem_euclid(DAY);
    let mut n = 0;
    // 20 quiet days from two regular senders; "Regular" stops 5 days ago.
    for i in 3..23 {
        send(
            svc,
            "shop.test",
            &mut n,
            &R::ok("Big Sender", today - i * DAY, 1000),
        )
        .await;
        if i >= 5 {
            send(svc, "shop.test", &mut n, &R::ok("Regular", today - i * DAY, 50)).await;
        }
    }
    let changes = detect::detect_domain(svc, org, id, now).await.unwrap();
    let first = open(svc, &scope, "shop.test").await;
    assert_eq!(rules(&first), ["reporter-silent:Regular"], "{changes:?}");
    let silent = &first[0];
    assert_eq!(silent.severity, "info");
    // Regular reported days -5 … -17 of which 13 fall into the 14 days before the gap.
    assert!(
        silent.detail.starts_with("Regular reported on 13 of the 14 days"),
        "{}",
        silent.detail
    );

    // Recent days: an expired certificate on mx1, policy fetch errors, a sender without a policy.
    let yesterday = today - DAY;
    send(
        svc,
        "shop.test",
        &mut n,
        &R {
            sender: "Big Sender",
            day: yesterday,
            policy_type: "sts",
            mode: "testing",
            success: 900,
            failures: &[
                ("certificate-expired", "mx1.shop.test", 80),
                ("sts-policy-fetch-error", "mx2.shop.test", 5),
            ],
        },
    )
    .await;
    send(svc, "shop.test", &mut n, &R::ok("Regular", yesterday, 50)).await;
    let changes = detect::detect_domain(svc, org, id, now).await.unwrap();
    let list = open(svc, &scope, "shop.test").await;
    assert_eq!(
        rules(&list),
        [
            "failure-rate:",
            "mx-tls:mx1.shop.test",
            "sts-hosting:sts-policy-fetch-error"
        ],
        "{changes:?}"
    );
    assert!(
        changes.contains(&Change::Resolved(silent.id)),
        "Regular reported again: {changes:?}"
    );
    let mx = find(&list, "mx-tls", "mx1.shop.test").unwrap();
    assert_eq!(mx.severity, "warning");
    assert!(
        mx.title.contains("Certificate expired on mx1.shop.test"),
        "{}",
        mx.title
    );
    assert_eq!(mx.evidence.len(), 1);
    assert_eq!(mx.evidence[0].sender, "Big Sender");
    assert!(mx.evidence[0].report.is_some());
    assert!(
        mx.evidence[0]
            .text
            .contains("80 failed session(s): certificate-expired, MX mx1.shop.test")
    );
    assert_eq!(
        find(&list, "sts-hosting", "sts-policy-fetch-error")
            .unwrap()
            .severity,
        "critical"
    );
    let rate = find(&list, "failure-rate", "").unwrap();
    assert_eq!(rate.severity, "warning", "85 of 1045 is 8.1 %: {}", rate.title);

    // Notifications: the owner is mailed at once; the webhook arrives signed.
    let (hook, got) = receiver().await;
    let owner_scope = tenancy::authorize(svc, &Actor::Operator, org, Action::ManageDomains)
        .await
        .unwrap();
    let settings = notify::save_settings(svc, &owner_scope, Some(&hook), 24, "warning", false)
        .await
        .unwrap();
    let secret = settings.webhook_secret.clone().unwrap();
    assert!(secret.starts_with("whsec_"));
    let sent = notify::notify_due(svc, now).await.unwrap();
    assert_eq!(
        sent, 3,
        "the two warnings and the critical one; the info was resolved"
    );
    let hooks = got.lock().unwrap().clone();
    assert_eq!(hooks.len(), 3);
    for (h, body) in &hooks {
        let ts: i64 = header(h, notify::TIMESTAMP_HEADER).parse().unwrap();
        assert!(
            notify::verify(&secret, ts, body, header(h, notify::SIGNATURE_HEADER)),
            "signature"
        );
        assert!(!notify::verify(
            "whsec_wrong",
            ts,
            body,
            header(h, notify::SIGNATURE_HEADER)
        ));
        let ev: notify::WebhookEvent = serde_json::from_slice(body).unwrap();
        assert_eq!(ev.event, "problem.opened");
        assert_eq!(header(h, notify::EVENT_HEADER), "problem.opened");
        assert!(ev.url.ends_with("/domains/shop.test/dashboard"));
    }
    let mails = std::fs::read_dir(app.data_dir.join("outbox")).unwrap().count();
    assert!(mails >= 3, "{mails} mails");
    let all_mail: String = std::fs::read_dir(app.data_dir.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(all_mail.contains("owner@shop.test"));
    assert!(all_mail.contains("Certificate expired on mx1.shop.test"));
    // Nothing is repeated before the interval.
    assert_eq!(notify::notify_due(svc, now + 3600).await.unwrap(), 0);

    // Acknowledged: not repeated after the interval; the others are (as reminders).
    detect::acknowledge(svc, &owner_scope, mx.id).await.unwrap();
    let other = app.sign_up("eve@else.test").await;
    let _ = other;
    let later = now + 25 * 3600;
    got.lock().unwrap().clear();
    assert_eq!(notify::notify_due(svc, later).await.unwrap(), 2);
    let events: Vec<notify::WebhookEvent> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e.event == "problem.reminder" && e.problem.id != mx.id)
    );

    // Enforce: the MX problem escalates to critical (acknowledgement cleared), and enforce
    // failures are their own critical problem.
    domains::set_policy(
        svc,
        &scope,
        "shop.test",
        &domains::PolicyInput {
            mode: "enforce".into(),
            mx: vec!["*.shop.test".into()],
            max_age: 86_400,
            confirm_enforce: true,
            override_readiness: true,
        },
    )
    .await
    .unwrap();
    let t = moat_services::now() + 5;
    let changes = detect::detect_domain(svc, org, id, t).await.unwrap();
    assert!(changes.contains(&Change::Escalated(mx.id)), "{changes:?}");
    let list = open(svc, &scope, "shop.test").await;
    let mx_now = find(&list, "mx-tls", "mx1.shop.test").unwrap();
    assert_eq!(
        (mx_now.severity.as_str(), mx_now.acknowledged_at),
        ("critical", None)
    );
    assert!(mx_now.fix.contains("enforce mode"));
    assert_eq!(find(&list, "enforce-failures", "").unwrap().severity, "critical");
    // The escalated problem is announced again although it was acknowledged at warning.
    got.lock().unwrap().clear();
    assert_eq!(notify::notify_due(svc, t).await.unwrap(), 2);
    let events: Vec<notify::WebhookEvent> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert!(
        events.iter().all(|e| e.problem.severity == "critical"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.problem.id == mx.id && e.event == "problem.escalated"),
        "{events:?}"
    );

    // Two days later, a sender still applies the old testing policy (the previous max_age
    // of one day has passed): stale; another found no policy although one is served (and was
    // before its report period began); the failures are older than the recent window:
    // resolved.
    let future = t + 2 * DAY;
    let fday = future - future.rem_euclid(DAY);
    send(
        svc,
        "shop.test",
        &mut n,
        &R {
            sender: "Stale Sender",
            day: fday,
            policy_type: "sts",
            mode: "testing",
            success: 100,
            failures: &[],
        },
    )
    .await;
    send(
        svc,
        "shop.test",
        &mut n,
        &R {
            sender: "Big Sender",
            day: fday,
            policy_type: "sts",
            mode: "enforce",
            success: 1000,
            failures: &[],
        },
    )
    .await;
    send(
        svc,
        "shop.test",
        &mut n,
        &R {
            mode: "enforce",
            ..R::ok("Regular", fday, 50)
        },
    )
    .await;
    send(
        svc,
        "shop.test",
        &mut n,
        &R {
            sender: "Lazy Sender",
            day: fday,
            policy_type: "no-policy-found",
            mode: "testing",
            success: 10,
            failures: &[],
        },
    )
    .await;
    detect::detect_domain(svc, org, id, future).await.unwrap();
    let list = open(svc, &scope, "shop.test").await;
    assert_eq!(
        rules(&list),
        ["no-policy:Lazy Sender", "stale-policy:Stale Sender"]
    );
    let stale = find(&list, "stale-policy", "Stale Sender").unwrap();
    assert!(
        stale.evidence[0]
            .text
            .contains("applied mode testing; Moat serves mode enforce")
    );
    assert_eq!(
        find(&list, "no-policy", "Lazy Sender").unwrap().severity,
        "warning"
    );
    // Resolutions are announced once, to the webhook too.
    got.lock().unwrap().clear();
    let sent = notify::notify_due(svc, future).await.unwrap();
    let events: Vec<notify::WebhookEvent> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    // Resolved: failure-rate, mx-tls, sts-hosting, enforce-failures; opened: no-policy.
    assert_eq!(sent, 5, "{events:?}");
    assert_eq!(
        events.iter().filter(|e| e.event == "problem.resolved").count(),
        4,
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| e.event == "problem.opened").count(),
        1,
        "{events:?}"
    );
    got.lock().unwrap().clear();
    assert_eq!(notify::notify_due(svc, future + 60).await.unwrap(), 0);

    // Records going bad at Moat's end.
    moat_store::domains::record_check(&svc.db, id, "degraded", "[]", future)
        .await
        .unwrap();
    detect::detect_domain(svc, org, id, future).await.unwrap();
    let list = open(svc, &scope, "shop.test").await;
    assert_eq!(find(&list, "records", "").unwrap().severity, "critical");

    // The report document compares the applied policy with the version Moat served then,
    // explains the result types, and offers the JSON as sent.
    let reports = moat_services::intake::list(svc, &scope, Some("shop.test"), 500)
        .await
        .unwrap();
    let id_of = |sender: &str, day: i64| {
        reports
            .iter()
            .find(|r| r.organization_name == sender && r.start_at == day)
            .unwrap()
            .id
    };
    let stale_doc = moat_services::intake::detail(svc, &scope, id_of("Stale Sender", fday))
        .await
        .unwrap();
    let cmp = stale_doc.policies[0].served.clone().unwrap();
    assert!(!cmp.matches);
    assert!(
        cmp.text.contains("mode testing instead of enforce"),
        "{}",
        cmp.text
    );
    let fresh = moat_services::intake::detail(svc, &scope, id_of("Big Sender", fday))
        .await
        .unwrap();
    let cmp = fresh.policies[0].served.clone().unwrap();
    assert!(cmp.matches, "{}", cmp.text);
    assert!(cmp.text.starts_with("Matches version"), "{}", cmp.text);
    let failing = moat_services::intake::detail(svc, &scope, id_of("Big Sender", yesterday))
        .await
        .unwrap();
    let kinds: Vec<&str> = failing
        .explanations
        .iter()
        .map(|e| e.result_type.as_str())
        .collect();
    assert_eq!(kinds, ["certificate-expired", "sts-policy-fetch-error"]);
    assert!(failing.explanations[0].fix.starts_with("Renew the certificate"));
    assert_eq!(failing.explanations[1].rfc_section, "RFC 8460 §4.3.2.2");
    let doc = owner
        .get(&format!(
            "/orgs/{}/reports/{}/report.json",
            org.0,
            id_of("Big Sender", yesterday)
        ))
        .await;
    assert_eq!(doc.status(), 200);
    assert!(
        doc.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".json\"")
    );
    let v: serde_json::Value = doc.json().await.unwrap();
    assert_eq!(v["organization-name"], "Big Sender");
    assert_eq!(v["policies"][0]["failure-details"][0]["failed-session-count"], 80);
    let raw = owner
        .get(&format!(
            "/orgs/{}/reports/{}/raw",
            org.0,
            id_of("Big Sender", yesterday)
        ))
        .await;
    assert_eq!(raw.status(), 200);
    assert!(raw.text().await.unwrap().contains("\"report-id\""));
    let stranger = app.sign_up("nosy@else.test").await;
    let r = stranger
        .get(&format!(
            "/orgs/{}/reports/{}/report.json",
            org.0,
            id_of("Big Sender", yesterday)
        ))
        .await;
    assert_eq!(r.status(), 404);

    // The daily digest: once per day for members who chose it.
    let owner_user = tenancy::authorize(svc, &owner_actor(svc, "owner@shop.test").await, org, Action::Read)
        .await
        .unwrap();
    notify::set_my_email(svc, &owner_user, "digest").await.unwrap();
    assert_eq!(notify::send_digests(svc, future).await.unwrap(), 1);
    assert_eq!(notify::send_digests(svc, future + 60).await.unwrap(), 0);
    assert_eq!(notify::send_digests(svc, future + DAY).await.unwrap(), 1);

    // Tenancy: another organization sees none of it and cannot acknowledge.
    let (_, other_org) = app.user_with_org("mallory@else.test", "Else", false).await;
    let other_scope = tenancy::authorize(svc, &Actor::Operator, OrgId(other_org), Action::ManageDomains)
        .await
        .unwrap();
    assert!(
        detect::problems(svc, &other_scope, None)
            .await
            .unwrap()
            .is_empty()
    );
    let some = find(&list, "records", "").unwrap().id;
    assert!(detect::acknowledge(svc, &other_scope, some).await.is_err());

    // Through HTTP: the owner lists and acknowledges; the overview counts open problems.
    let v = owner
        .json(
            "problems/list",
            &[("org", &org.0.to_string()), ("domain", "shop.test")],
        )
        .await;
    assert!(v.as_array().unwrap().iter().any(|p| p["rule"] == "records"));
    owner
        .json(
            "problems/acknowledge",
            &[("org", &org.0.to_string()), ("id", &some.to_string())],
        )
        .await;
    let acked = detect::problems(svc, &scope, Some("shop.test")).await.unwrap();
    assert!(
        acked
            .iter()
            .find(|p| p.id == some)
            .unwrap()
            .acknowledged_at
            .is_some()
    );

    // A viewer sees where the webhook goes, not its path (often a credential) or secret.
    let inviter = tenancy::authorize(svc, &Actor::Operator, org, Action::InviteMembers)
        .await
        .unwrap();
    moat_services::invites::operator_create_user(
        svc,
        &inviter,
        "viewer@shop.test",
        "viewer's long password",
        moat_domain::Role::Viewer,
    )
    .await
    .unwrap();
    let viewer = owner_actor(svc, "viewer@shop.test").await;
    let viewer_scope = tenancy::authorize(svc, &viewer, org, Action::Read).await.unwrap();
    let seen = notify::settings_for(svc, &viewer_scope).await.unwrap();
    assert!(!seen.can_manage);
    assert_eq!(seen.webhook_secret, None);
    let origin = hook.trim_end_matches("/hook");
    assert_eq!(seen.webhook_url, Some(format!("{origin}/…")));
}

async fn owner_actor(svc: &Services, email: &str) -> Actor {
    let user = moat_store::users::find_by_email(&svc.db, email)
        .await
        .unwrap()
        .unwrap();
    let view = moat_services::accounts::current_user(svc, user.id)
        .await
        .unwrap()
        .unwrap();
    Actor::User(view)
}

/// An app that detects only when asked, with organization `org` and its reporting-only domain
/// `domain`.
async fn reporting_domain(
    backend: Backend,
    org: &str,
    domain: &str,
) -> Option<(TestApp, OrgId, OrgScope, DomainId)> {
    let app = spawn_app_with(
        backend,
        &[("MOAT_RESOLVERS", "127.0.0.1:9"), ("MOAT_DETECT_INTERVAL", "0")],
    )
    .await?;
    let svc = &app.services;
    let org = tenancy::operator_create_org(svc, org, false, None).await.unwrap();
    let scope = tenancy::authorize(svc, &Actor::Operator, org, Action::ManageDomains)
        .await
        .unwrap();
    domains::add(svc, &scope, domain, DomainKind::ReportingOnly)
        .await
        .unwrap();
    let id = domains::get(svc, &scope, domain).await.unwrap().id;
    Some((app, org, scope, id))
}

async fn baseline_jump(backend: Backend) {
    let Some((app, org, scope, id)) = reporting_domain(backend, "Jump", "jump.test").await else {
        return;
    };
    let svc = &app.services;
    let now = moat_services::now();
    let today = now - now.rem_euclid(DAY);
    let mut n = 0;
    // 28 days at 0.2 % failures, then 3 % (under the 5 % threshold, but 15 times the usual).
    for i in 3..31 {
        send(
            svc,
            "jump.test",
            &mut n,
            &R {
                sender: "S",
                day: today - i * DAY,
                policy_type: "sts",
                mode: "testing",
                success: 998,
                failures: &[("validation-failure", "mx.jump.test", 2)],
            },
        )
        .await;
    }
    detect::detect_domain(svc, org, id, now).await.unwrap();
    assert!(
        open(svc, &scope, "jump.test")
            .await
            .iter()
            .all(|p| p.rule != "failure-rate")
    );
    send(
        svc,
        "jump.test",
        &mut n,
        &R {
            sender: "S",
            day: today - DAY,
            policy_type: "sts",
            mode: "testing",
            success: 970,
            failures: &[("validation-failure", "mx.jump.test", 30)],
        },
    )
    .await;
    detect::detect_domain(svc, org, id, now).await.unwrap();
    let list = open(svc, &scope, "jump.test").await;
    let jump = find(&list, "failure-rate", "").expect("a jump against the baseline");
    assert_eq!(jump.severity, "warning");
    assert!(
        jump.title.contains("jumped to 3.0 % (usually 0.2 %)"),
        "{}",
        jump.title
    );
    // A reporting-only domain's MX problem is a warning (no enforce here).
    assert_eq!(find(&list, "mx-tls", "mx.jump.test").unwrap().severity, "warning");
    // Two instances reading the same due notification: only one claims it.
    let due = moat_store::problems::due(&svc.db, now, 100).await.unwrap();
    assert_eq!(due.len(), 2);
    let (a, b) = tokio::join!(
        moat_store::problems::claim_notification(&svc.db, &due[0], now),
        moat_store::problems::claim_notification(&svc.db, &due[0], now + 1)
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one claim wins");
    assert_eq!(
        moat_store::problems::due(&svc.db, now, 100).await.unwrap().len(),
        1
    );
}

/// Anyone can send a report: a forged one naming many MX hosts with line breaks and huge
/// counts opens a bounded number of problems, with clean one-line text, and the dashboard
/// still sums.
async fn forged_reports_are_bounded(backend: Backend) {
    let Some((app, org, scope, id)) = reporting_domain(backend, "Forged", "forged.test").await else {
        return;
    };
    let svc = &app.services;
    let now = moat_services::now();
    let today = now - now.rem_euclid(DAY);
    let names: Vec<String> = (0..30)
        .map(|i| format!("mx{i:02}.forged.test\r\nBcc: victim@example.com"))
        .collect();
    let failures: Vec<(&str, &str, i64)> = names
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                "certificate-expired",
                m.as_str(),
                if i == 0 { i64::MAX } else { 100 + i as i64 },
            )
        })
        .collect();
    let mut n = 0;
    for day in [today - DAY, today - 2 * DAY] {
        send(
            svc,
            "forged.test",
            &mut n,
            &R {
                sender: "Evil\nSender",
                day,
                policy_type: "sts",
                mode: "testing",
                success: i64::MAX,
                failures: &failures,
            },
        )
        .await;
    }
    detect::detect_domain(svc, org, id, now).await.unwrap();
    let list = open(svc, &scope, "forged.test").await;
    let mx: Vec<&ProblemView> = list.iter().filter(|p| p.rule == "mx-tls").collect();
    assert_eq!(mx.len(), detect::MAX_KEYED, "{:?}", rules(&list));
    // The one with the (capped) huge count comes first, the rest by count.
    assert!(mx.iter().any(|p| p.subject.starts_with("mx00.forged.test")));
    assert!(
        mx.iter().any(|p| p.detail.contains("20 more MX host(s)")),
        "{mx:?}"
    );
    for p in &list {
        for text in [&p.title, &p.subject, &p.detail] {
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        for e in &p.evidence {
            assert!(!e.sender.chars().any(char::is_control) && !e.text.chars().any(char::is_control));
        }
    }
    // Counts were capped at ingest (with a warning), so the dashboard's sums work.
    let reports = moat_services::intake::list(svc, &scope, Some("forged.test"), 10)
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert!(
        reports[0].warnings.iter().any(|w| w.code == "count-capped"),
        "{:?}",
        reports[0].warnings
    );
    let filter = moat_domain::views::DashboardFilter {
        range: moat_domain::calendar::DayRange::last(7, now),
        sending_org: None,
        result_type: None,
    };
    let dash = moat_services::dashboard::domain_dashboard(svc, &scope, "forged.test", filter)
        .await
        .unwrap();
    assert_eq!(dash.success, 2 * moat_services::intake::MAX_STORED_COUNT);
}

/// A problem announced at one severity, escalated, then resolved before the escalation was
/// sent: the escalation and the resolution are still announced (once each).
async fn escalation_then_resolution(backend: Backend) {
    let Some((app, org, _scope, id)) = reporting_domain(backend, "Esc", "esc.test").await else {
        return;
    };
    let svc = &app.services;
    let finding = |severity: &str| moat_store::problems::Finding {
        rule: "mx-tls".into(),
        subject: "mx.esc.test".into(),
        severity: severity.into(),
        title: "t".into(),
        detail: "d".into(),
        fix: "f".into(),
        evidence_json: "[]".into(),
    };
    let now = moat_services::now();
    use moat_store::problems::{due, reconcile};
    let opened = reconcile(&svc.db, org, id, &[finding("warning")], now)
        .await
        .unwrap();
    assert!(matches!(opened[..], [Change::Opened(_)]));
    assert_eq!(notify::notify_due(svc, now).await.unwrap(), 1);
    assert!(due(&svc.db, now + 1, 10).await.unwrap().is_empty());
    let esc = reconcile(&svc.db, org, id, &[finding("critical")], now + 10)
        .await
        .unwrap();
    assert!(matches!(esc[..], [Change::Escalated(_)]));
    let d = due(&svc.db, now + 10, 10).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].notified_at, Some(moat_store::problems::ESCALATED));
    // Resolved before anyone sent the escalation.
    let res = reconcile(&svc.db, org, id, &[], now + 20).await.unwrap();
    assert!(matches!(res[..], [Change::Resolved(_)]));
    let d = due(&svc.db, now + 20, 10).await.unwrap();
    assert_eq!((d.len(), d[0].status.as_str()), (1, "resolved"));
    // A stale copy of the open row cannot be claimed once the problem is resolved.
    let mut stale = d[0].clone();
    stale.status = "open".into();
    assert!(
        !moat_store::problems::claim_notification(&svc.db, &stale, now + 21)
            .await
            .unwrap()
    );
    assert_eq!(notify::notify_due(svc, now + 21).await.unwrap(), 1);
    assert!(due(&svc.db, now + 22, 10).await.unwrap().is_empty());
}

both_backends!(
    rules_fire_escalate_and_resolve,
    baseline_jump,
    forged_reports_are_bounded,
    escalation_then_resolution
);
