//! Hosted MTA-STS end to end on loopback: a customer zone served by a real DNS server, Moat
//! checking its CNAMEs, Moat's authoritative DNS answers, and the policy HTTPS server.

use crate::{
    both_backends,
    customer_dns::{CustomerDns, a, cname, delegation, mx, name, rec},
    helpers::spawn_app_with,
};
use hickory_server::proto::{
    op::{Message, Query, ResponseCode},
    rr::{RData, Record, RecordType, rdata::TXT},
};
use moat_domain::{
    Action,
    hosting::{DomainKind, DomainState, RecordKind, RecordStatus},
};
use moat_services::{
    Services, domains,
    tenancy::{self, Actor, OrgScope},
};
use moat_store::Backend;
use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

const ZONE: &str = "sts.moat.test";
const CUSTOMER: &str = "customer.test";

/// The customer's zone as the tests start it: its MX host `mx1.customer.test` (127.0.0.20) and
/// `records`.
fn publish(customer: &CustomerDns, mut records: Vec<Record>) {
    records.push(mx(CUSTOMER, 10, "mx1.customer.test"));
    records.push(a("mx1.customer.test", Ipv4Addr::new(127, 0, 0, 20)));
    customer.publish(records);
}

/// The customer publishes the three CNAMEs Moat asks for.
fn delegate_all(customer: &CustomerDns) {
    publish(customer, delegation(CUSTOMER, ZONE));
}

/// One UDP query, no recursion, as a resolver asks an authoritative server.
async fn ask(server: SocketAddr, qname: &str, rtype: RecordType) -> Message {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut m = Message::query();
    m.add_query(Query::query(name(qname), rtype));
    m.metadata.recursion_desired = false;
    sock.send_to(&m.to_vec().unwrap(), server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf))
        .await
        .expect("DNS answer within 3 s")
        .unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

fn txts(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(TXT { txt_data, .. }) => Some(
                txt_data
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

fn addresses(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

async fn operator_scope(svc: &Services, org: &str) -> OrgScope {
    let id = tenancy::operator_create_org(svc, org, false, None).await.unwrap();
    tenancy::authorize(svc, &Actor::Operator, id, Action::ManageDomains)
        .await
        .unwrap()
}

/// An HTTPS client that trusts only `ca_pem` and sends `host` to `addr`.
fn https_client(ca_pem: Option<&[u8]>, host: &str, addr: SocketAddr) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, addr)
        .timeout(Duration::from_secs(5));
    if let Some(pem) = ca_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
    }
    b.build().unwrap()
}

fn policy_url(host: &str, addr: SocketAddr) -> String {
    format!("https://{host}:{}/.well-known/mta-sts.txt", addr.port())
}

/// Polls `f` every 50 ms for up to 5 s until it returns `Some`.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

both_backends!(
    a_delegated_domain_is_served_by_dns_and_https,
    policy_changes_serve_the_body_before_publishing_the_id,
    broken_records_degrade_the_domain_and_alert,
    several_instances_serve_the_same_view,
    domains_are_scoped_to_their_organization,
);

async fn a_delegated_domain_is_served_by_dns_and_https(backend: Backend) {
    let customer = CustomerDns::start(CUSTOMER).await;
    // The owner starts with an old self-hosted TXT at _mta-sts: a conflict to resolve.
    publish(
        &customer,
        vec![
            cname(
                &RecordKind::PolicyHost.name(CUSTOMER),
                &RecordKind::PolicyHost.target(CUSTOMER, ZONE),
            ),
            rec(
                "_mta-sts.customer.test",
                RData::TXT(TXT::new(vec!["v=STSv1; id=old1;".into()])),
            ),
            cname(
                "_smtp._tls.customer.test",
                "_smtp._tls.customer.test.elsewhere.test",
            ),
        ],
    );
    let resolvers = customer.addr.to_string();
    let Some(app) = spawn_app_with(backend, &[("MOAT_ZONE", ZONE), ("MOAT_RESOLVERS", &resolvers)]).await
    else {
        return;
    };
    let svc = &app.services;
    let scope = operator_scope(svc, "Customer").await;
    let d = domains::add(svc, &scope, "Customer.Test.", DomainKind::Hosted)
        .await
        .unwrap();
    assert_eq!(d.name, CUSTOMER);
    assert_eq!(d.state, DomainState::Pending);
    let p = d.policy.clone().expect("a first policy version");
    assert_eq!(p.mode.as_str(), "testing", "new domains start in testing");
    assert_eq!(p.max_age.seconds(), 86_400);
    assert_eq!(
        p.mx.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["mx1.customer.test"],
        "the live MX is proposed"
    );

    // Pending: only the TLS-RPT record is served; no policy, no certificate.
    let tlsrpt = eventually("the _smtp._tls TXT", || async {
        let m = ask(
            app.dns_addr,
            "_smtp._tls.customer.test.sts.moat.test",
            RecordType::TXT,
        )
        .await;
        Some(txts(&m)).filter(|t| !t.is_empty())
    })
    .await;
    assert_eq!(
        tlsrpt,
        [
            "v=TLSRPTv1; rua=mailto:tlsrpt+customer.test@reports.sts.moat.test,https://reports.sts.moat.test/v1/tlsrpt"
        ]
    );
    let m = ask(
        app.dns_addr,
        "_mta-sts.customer.test.sts.moat.test",
        RecordType::TXT,
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let host = "mta-sts.customer.test";
    let ca = std::fs::read(app.data_dir.join("local-ca.pem")).expect("local CA root written");
    let client = https_client(Some(&ca), host, app.policy_addr);
    assert!(
        client
            .get(policy_url(host, app.policy_addr))
            .send()
            .await
            .is_err(),
        "no certificate for a pending domain"
    );

    // The first check names each problem.
    let d = domains::check(svc, &scope, CUSTOMER).await.unwrap();
    assert_eq!(d.state, DomainState::Pending);
    let status = |d: &moat_domain::views::DomainView, k: RecordKind| {
        d.records
            .iter()
            .find(|r| r.kind == k)
            .unwrap()
            .status
            .clone()
            .unwrap()
    };
    assert_eq!(status(&d, RecordKind::PolicyHost), RecordStatus::Ok);
    assert!(
        matches!(status(&d, RecordKind::StsTxt), RecordStatus::Conflicting { found } if found[0].contains("v=STSv1; id=old1;")),
        "{:?}",
        status(&d, RecordKind::StsTxt)
    );
    assert_eq!(
        status(&d, RecordKind::TlsRpt),
        RecordStatus::WrongTarget {
            found: "_smtp._tls.customer.test.elsewhere.test".into()
        }
    );

    // The owner fixes the records; the next check activates the domain.
    delegate_all(&customer);
    let d = domains::check(svc, &scope, CUSTOMER).await.unwrap();
    assert_eq!(d.state, DomainState::Active, "{:?}", d.records);
    let id = d.policy.as_ref().unwrap().policy_id.clone();

    // Moat's zone: A for the policy host, the STS TXT with the id, SOA/NS at the apex.
    let a = eventually("the policy host address", || async {
        let m = ask(app.dns_addr, "mta-sts.customer.test.sts.moat.test", RecordType::A).await;
        Some(addresses(&m)).filter(|a| !a.is_empty())
    })
    .await;
    assert_eq!(a, ["127.0.0.1"]);
    // The id is published once the body has been served for the publication delay.
    let m = eventually("the _mta-sts TXT", || async {
        let m = ask(
            app.dns_addr,
            "_mta-sts.customer.test.sts.moat.test",
            RecordType::TXT,
        )
        .await;
        (!m.answers.is_empty()).then_some(m)
    })
    .await;
    assert!(m.metadata.authoritative);
    assert_eq!(txts(&m), [format!("v=STSv1; id={id};")]);
    let soa = ask(app.dns_addr, ZONE, RecordType::SOA).await;
    assert!(
        matches!(soa.answers.first().map(|r| &r.data), Some(RData::SOA(s)) if s.mname == name("ns1.sts.moat.test"))
    );
    let ns = ask(app.dns_addr, ZONE, RecordType::NS).await;
    assert_eq!(ns.answers.len(), 1);
    // Unknown names in the zone: NXDOMAIN with the SOA for negative caching.
    let nx = ask(
        app.dns_addr,
        "_mta-sts.nosuch.test.sts.moat.test",
        RecordType::TXT,
    )
    .await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(matches!(
        nx.authorities.first().map(|r| &r.data),
        Some(RData::SOA(_))
    ));
    // A name that exists with another type: NODATA.
    let nodata = ask(
        app.dns_addr,
        "mta-sts.customer.test.sts.moat.test",
        RecordType::TXT,
    )
    .await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    // Other zones: refused, never recursed.
    let other = ask(app.dns_addr, "example.com", RecordType::A).await;
    assert_eq!(other.metadata.response_code, ResponseCode::Refused);
    assert!(other.answers.is_empty());

    // The policy over HTTPS: exact bytes and headers.
    let resp = eventually("the policy over HTTPS", || async {
        client.get(policy_url(host, app.policy_addr)).send().await.ok()
    })
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    let body = resp.bytes().await.unwrap();
    assert_eq!(
        &body[..],
        b"version: STSv1\r\nmode: testing\r\nmx: mx1.customer.test\r\nmax_age: 86400\r\n"
    );
    // Anything else is 404 (or 405 for a non-GET on the policy path), never a redirect.
    for path in [
        "/",
        "/.well-known/mta-sts.txt/",
        "/.well-known/mta-sts",
        "/favicon.ico",
    ] {
        let r = client
            .get(format!("https://{host}:{}{path}", app.policy_addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = client
        .post(policy_url(host, app.policy_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = client
        .get(policy_url(host, app.policy_addr))
        .header("host", "mta-sts.other.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the Host must match the SNI name");
    let head = client
        .head(policy_url(host, app.policy_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    // Unknown SNI: the handshake is aborted, no other certificate is presented.
    let unknown = "mta-sts.unknown.test";
    let err = https_client(Some(&ca), unknown, app.policy_addr)
        .get(policy_url(unknown, app.policy_addr))
        .send()
        .await
        .expect_err("no certificate for an unknown name");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // And the certificate is really checked: without the local CA the client refuses.
    assert!(
        https_client(None, host, app.policy_addr)
            .get(policy_url(host, app.policy_addr))
            .send()
            .await
            .is_err()
    );
}

async fn policy_changes_serve_the_body_before_publishing_the_id(backend: Backend) {
    let customer = CustomerDns::start(CUSTOMER).await;
    delegate_all(&customer);
    let resolvers = customer.addr.to_string();
    let Some(app) = spawn_app_with(backend, &[("MOAT_ZONE", ZONE), ("MOAT_RESOLVERS", &resolvers)]).await
    else {
        return;
    };
    let svc = &app.services;
    let scope = operator_scope(svc, "Customer").await;
    domains::add(svc, &scope, CUSTOMER, DomainKind::Hosted)
        .await
        .unwrap();
    let d = domains::check(svc, &scope, CUSTOMER).await.unwrap();
    assert_eq!(d.state, DomainState::Active);
    let old_id = d.policy.unwrap().policy_id;
    let host = "mta-sts.customer.test";
    let ca = std::fs::read(app.data_dir.join("local-ca.pem")).unwrap();
    let client = https_client(Some(&ca), host, app.policy_addr);
    let txt_name = "_mta-sts.customer.test.sts.moat.test";
    eventually("the first id in DNS", || async {
        let t = txts(&ask(app.dns_addr, txt_name, RecordType::TXT).await);
        (t == [format!("v=STSv1; id={old_id};")]).then_some(())
    })
    .await;

    let input = domains::PolicyInput {
        mode: "enforce".into(),
        mx: vec!["mx1.customer.test".into(), "*.backup.customer.test".into()],
        max_age: 604_800,
        confirm_enforce: true,
        override_readiness: true,
    };
    // Switching to enforce needs the user's confirmation.
    let unconfirmed = domains::PolicyInput {
        confirm_enforce: false,
        ..input.clone()
    };
    match domains::set_policy(svc, &scope, CUSTOMER, &unconfirmed).await {
        Err(moat_services::Error::Invalid { field, .. }) => assert_eq!(field, "confirm_enforce"),
        other => panic!("expected a confirmation request, got {other:?}"),
    }
    let (d, warnings) = domains::set_policy(svc, &scope, CUSTOMER, &input).await.unwrap();
    let new = d.policy.clone().unwrap();
    assert_ne!(new.policy_id, old_id, "every change gets a new id");
    assert_eq!(new.version, 2);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("*.backup.customer.test") && w.contains("matches none")),
        "{warnings:?}"
    );
    let want_body = "version: STSv1\r\nmode: enforce\r\nmx: mx1.customer.test\r\nmx: *.backup.customer.test\r\nmax_age: 604800\r\n";
    // Watch both: the new body must be served no later than the new id is published.
    let (mut body_at, mut id_at) = (None, None);
    for i in 0..200u32 {
        if body_at.is_none() {
            let body = client
                .get(policy_url(host, app.policy_addr))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if body == want_body {
                body_at = Some(i);
            }
        }
        if id_at.is_none() {
            let t = txts(&ask(app.dns_addr, txt_name, RecordType::TXT).await);
            if t == [format!("v=STSv1; id={};", new.policy_id)] {
                id_at = Some(i);
            } else {
                assert_eq!(
                    t,
                    [format!("v=STSv1; id={old_id};")],
                    "only the old or the new id"
                );
            }
        }
        if body_at.is_some() && id_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (body_at, id_at) = (
        body_at.expect("new body served"),
        id_at.expect("new id published"),
    );
    assert!(
        body_at < id_at,
        "body served at poll {body_at}, id published at poll {id_at}"
    );

    let detail = domains::detail(svc, &scope, CUSTOMER).await.unwrap();
    assert_eq!(detail.history.len(), 2);
    assert!(
        detail.history[0]
            .changes
            .contains(&"mode testing → enforce".to_owned())
    );
    assert_eq!(
        detail.domain.published_policy_id.as_deref(),
        Some(new.policy_id.as_str())
    );

    // Invalid policies are refused with the field named.
    for (mode, mx, max_age, field) in [
        ("enforce", vec![], 86_400, "mx"),
        ("strict", vec!["mx1.customer.test"], 86_400, "mode"),
        ("testing", vec!["mx*.customer.test"], 86_400, "mx"),
        ("testing", vec!["mx1.customer.test"], 31_557_601, "max_age"),
    ] {
        let input = domains::PolicyInput {
            mode: mode.into(),
            mx: mx.into_iter().map(String::from).collect(),
            max_age,
            confirm_enforce: true,
            override_readiness: true,
        };
        match domains::set_policy(svc, &scope, CUSTOMER, &input).await {
            Err(moat_services::Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{mode} {max_age}"),
            other => panic!("{mode}: expected an invalid {field}, got {other:?}"),
        }
    }

    // Remove MTA-STS: mode none, a new id, and the records may go after the longest max_age.
    let d = domains::remove_mta_sts(svc, &scope, CUSTOMER).await.unwrap();
    let p = d.policy.clone().unwrap();
    assert_eq!(p.mode.as_str(), "none");
    assert_eq!(
        d.records_deletable_at,
        Some(d.removal_requested_at.unwrap() + 604_800)
    );
    let body = eventually("the mode none body", || async {
        let b = client
            .get(policy_url(host, app.policy_addr))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        b.contains("mode: none").then_some(b)
    })
    .await;
    assert!(body.starts_with("version: STSv1\r\nmode: none\r\n"), "{body}");
    let err = domains::delete(svc, &scope, CUSTOMER).await.unwrap_err();
    assert!(err.to_string().contains("after"), "{err}");
}

async fn broken_records_degrade_the_domain_and_alert(backend: Backend) {
    let customer = CustomerDns::start(CUSTOMER).await;
    delegate_all(&customer);
    let resolvers = customer.addr.to_string();
    let Some(app) = spawn_app_with(backend, &[("MOAT_ZONE", ZONE), ("MOAT_RESOLVERS", &resolvers)]).await
    else {
        return;
    };
    let svc = &app.services;
    let (_owner, org) = app.user_with_org("owner@customer.test", "Customer", false).await;
    let scope = tenancy::authorize(
        svc,
        &Actor::Operator,
        moat_domain::views::OrgId(org),
        Action::ManageDomains,
    )
    .await
    .unwrap();
    domains::add(svc, &scope, CUSTOMER, DomainKind::Hosted)
        .await
        .unwrap();
    assert_eq!(
        domains::check(svc, &scope, CUSTOMER).await.unwrap().state,
        DomainState::Active
    );

    // The owner deletes one CNAME by mistake.
    publish(
        &customer,
        vec![
            cname("mta-sts.customer.test", "mta-sts.customer.test.sts.moat.test"),
            cname(
                "_smtp._tls.customer.test",
                "_smtp._tls.customer.test.sts.moat.test",
            ),
        ],
    );
    let d = domains::check(svc, &scope, CUSTOMER).await.unwrap();
    assert_eq!(d.state, DomainState::Degraded);
    let sts = d.records.iter().find(|r| r.kind == RecordKind::StsTxt).unwrap();
    assert_eq!(sts.status, Some(RecordStatus::Missing));
    // Moat keeps serving while degraded.
    eventually("the _mta-sts TXT while degraded", || async {
        let m = ask(
            app.dns_addr,
            "_mta-sts.customer.test.sts.moat.test",
            RecordType::TXT,
        )
        .await;
        (txts(&m).len() == 1).then_some(())
    })
    .await;
    let audit = tenancy::audit_log(svc, &scope, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "domain.degraded"), "{audit:?}");
    let outbox: Vec<String> = std::fs::read_dir(app.data_dir.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        outbox
            .iter()
            .any(|m| m.contains("To: owner@customer.test") && m.contains("customer.test records broke")),
        "an alert mail to the owner"
    );

    // Fixed again: active, with an audit entry.
    delegate_all(&customer);
    assert_eq!(
        domains::check(svc, &scope, CUSTOMER).await.unwrap().state,
        DomainState::Active
    );
    let audit = tenancy::audit_log(svc, &scope, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.detail.contains("correct again")));

    // Reporting only: one record required, nothing but the TLS-RPT TXT served.
    let d = domains::add(svc, &scope, "reports-only.test", DomainKind::ReportingOnly)
        .await
        .unwrap();
    assert!(d.policy.is_none());
    assert_eq!(d.records.iter().filter(|r| r.required).count(), 1);
    let err = domains::set_policy(
        svc,
        &scope,
        "reports-only.test",
        &domains::PolicyInput {
            mode: "testing".into(),
            mx: vec!["mx.reports-only.test".into()],
            max_age: 86400,
            confirm_enforce: true,
            override_readiness: true,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("reporting only"), "{err}");
}

async fn several_instances_serve_the_same_view(backend: Backend) {
    let customer = CustomerDns::start(CUSTOMER).await;
    delegate_all(&customer);
    let resolvers = customer.addr.to_string();
    let env = [("MOAT_ZONE", ZONE), ("MOAT_RESOLVERS", resolvers.as_str())];
    let Some(app) = spawn_app_with(backend, &env).await else {
        return;
    };
    let second = app.spawn_instance(&env).await;
    let svc = &app.services;
    let scope = operator_scope(svc, "Customer").await;
    domains::add(svc, &scope, CUSTOMER, DomainKind::Hosted)
        .await
        .unwrap();
    domains::check(svc, &scope, CUSTOMER).await.unwrap();
    let input = domains::PolicyInput {
        mode: "enforce".into(),
        mx: vec!["mx1.customer.test".into()],
        max_age: 86_400,
        confirm_enforce: true,
        override_readiness: true,
    };
    let (d, _) = domains::set_policy(svc, &scope, CUSTOMER, &input).await.unwrap();
    let want = format!("v=STSv1; id={};", d.policy.unwrap().policy_id);
    // Both instances share one CA, so either certificate validates with the same root.
    let ca1 = std::fs::read(app.data_dir.join("local-ca.pem")).unwrap();
    let ca2 = std::fs::read(second.data_dir.join("local-ca.pem")).unwrap();
    assert_eq!(ca1, ca2);
    for (dns, policy) in [
        (app.dns_addr, app.policy_addr),
        (second.dns_addr, second.policy_addr),
    ] {
        eventually("the new id on every instance", || async {
            let t = txts(&ask(dns, "_mta-sts.customer.test.sts.moat.test", RecordType::TXT).await);
            (t == [want.clone()]).then_some(())
        })
        .await;
        let body = https_client(Some(&ca1), "mta-sts.customer.test", policy)
            .get(policy_url("mta-sts.customer.test", policy))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("mode: enforce"), "{body}");
    }
}

async fn domains_are_scoped_to_their_organization(backend: Backend) {
    // A resolver that refuses everything (the customer zone is not published).
    let refusing = CustomerDns::start(CUSTOMER).await;
    let resolvers = refusing.addr.to_string();
    let Some(app) = spawn_app_with(backend, &[("MOAT_ZONE", ZONE), ("MOAT_RESOLVERS", &resolvers)]).await
    else {
        return;
    };
    let svc = &app.services;
    let a = operator_scope(svc, "A").await;
    let b = operator_scope(svc, "B").await;
    domains::add(svc, &a, "a.test", DomainKind::Hosted).await.unwrap();
    // The MX lookup failed: mode none until mx are set.
    let d = domains::get(svc, &a, "a.test").await.unwrap();
    assert_eq!(d.policy.unwrap().mode.as_str(), "none");
    assert!(matches!(
        domains::get(svc, &b, "a.test").await,
        Err(moat_services::Error::NotFound)
    ));
    assert!(matches!(
        domains::check(svc, &b, "a.test").await,
        Err(moat_services::Error::NotFound)
    ));
    assert!(domains::list(svc, &b).await.unwrap().is_empty());
    let err = domains::add(svc, &b, "A.TEST", DomainKind::Hosted)
        .await
        .unwrap_err();
    assert!(
        matches!(err, moat_services::Error::Conflict(ref m) if m.contains("already added")),
        "{err:?}"
    );
    for bad in [
        "sts.moat.test",
        "x.sts.moat.test",
        "not a domain",
        "https://a.test/",
    ] {
        assert!(
            matches!(
                domains::add(svc, &a, bad, DomainKind::Hosted).await,
                Err(moat_services::Error::Invalid { .. })
            ),
            "{bad}"
        );
    }
    // Reading needs only Action::Read.
    let viewer = tenancy::authorize(svc, &Actor::Operator, a.org_id(), Action::Read)
        .await
        .unwrap();
    assert_eq!(domains::list(svc, &viewer).await.unwrap().len(), 1);
}
