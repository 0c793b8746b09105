//! MX TLS probes, the enforce-readiness gate and the policy linter end to end: a customer
//! zone whose two MX hosts are loopback SMTP servers (one with a certificate from a test CA,
//! one self-signed), probed by the real application.

use crate::{
    both_backends,
    customer_dns::{CustomerDns, a, delegation, mx},
    helpers::spawn_app_with,
};
use moat_domain::{
    Action,
    hosting::{DomainKind, DomainState},
    mta_sts::ReadinessCode,
};
use moat_services::{
    Services, domains, probe,
    tenancy::{self, Actor, OrgScope},
};
use moat_store::Backend;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};
use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

const ZONE: &str = "sts.moat.test";
const D: &str = "probes.test";
const MX1: &str = "mx1.probes.test";
const MX2: &str = "mx2.probes.test";
const MX1_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);
const MX2_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 21);

// ---------------------------------------------------------------- customer DNS

/// The customer's authoritative DNS for `probes.test`: two MX hosts on loopback addresses
/// and the three CNAMEs delegating to Moat.
async fn customer_dns() -> CustomerDns {
    let dns = CustomerDns::start(D).await;
    let mut records = delegation(D, ZONE);
    records.extend([mx(D, 10, MX1), mx(D, 20, MX2), a(MX1, MX1_IP), a(MX2, MX2_IP)]);
    dns.publish(records);
    dns
}

/// The audit entry of the latest switch to enforce that overrode the readiness checks.
async fn override_audit_entry(svc: &Services, scope: &OrgScope) -> moat_domain::views::AuditEntryView {
    let audit = moat_store::audit::list(&svc.db, scope.org_id(), 50)
        .await
        .unwrap();
    audit
        .into_iter()
        .find(|e| e.action == "policy.enforce_override")
        .unwrap_or_else(|| panic!("no policy.enforce_override in the audit log"))
}

// ---------------------------------------------------------------- certificates

struct TestCa {
    pem: String,
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Moat Probe Test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server config presenting a leaf for `host` signed by this CA.
    fn server(&self, host: &str) -> Arc<ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let leaf = leaf_params(host).signed_by(&key, &self.issuer).unwrap();
        server_config(vec![leaf.der().clone(), self.cert.clone()], &key)
    }
}

fn leaf_params(host: &str) -> CertificateParams {
    let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, host);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    params
}

/// A server config presenting a self-signed certificate for `host`.
fn self_signed(host: &str) -> Arc<ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(host).self_signed(&key).unwrap();
    server_config(vec![cert.der().clone()], &key)
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

// ---------------------------------------------------------------- loopback MX servers

/// An SMTP server on one loopback address whose STARTTLS certificate can be swapped.
struct MxServer {
    tls: Arc<Mutex<Option<Arc<ServerConfig>>>>,
    task: JoinHandle<()>,
}

impl Drop for MxServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MxServer {
    fn start(listener: TcpListener, tls: Option<Arc<ServerConfig>>) -> MxServer {
        let tls = Arc::new(Mutex::new(tls));
        let current = tls.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let config = current.lock().unwrap().clone();
                tokio::spawn(async move {
                    let _ = session(tcp, config).await;
                });
            }
        });
        MxServer { tls, task }
    }

    fn set_tls(&self, tls: Option<Arc<ServerConfig>>) {
        *self.tls.lock().unwrap() = tls;
    }
}

/// Reads commands until QUIT or STARTTLS; returns whether STARTTLS was accepted.
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    offer_tls: bool,
) -> std::io::Result<bool> {
    loop {
        let mut line = String::new();
        if s.read_line(&mut line).await? == 0 {
            return Ok(false);
        }
        let cmd = line.trim().to_ascii_uppercase();
        if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            let reply: &[u8] = if offer_tls {
                b"250-mx.probes.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
            } else {
                b"250-mx.probes.test\r\n250 PIPELINING\r\n"
            };
            s.get_mut().write_all(reply).await?;
        } else if cmd == "STARTTLS" && offer_tls {
            s.get_mut().write_all(b"220 2.0.0 go ahead\r\n").await?;
            return Ok(true);
        } else if cmd == "QUIT" {
            s.get_mut().write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(false);
        } else {
            s.get_mut().write_all(b"502 5.5.1 not here\r\n").await?;
        }
    }
}

async fn session(tcp: TcpStream, tls: Option<Arc<ServerConfig>>) -> std::io::Result<()> {
    let mut plain = BufReader::new(tcp);
    plain
        .get_mut()
        .write_all(b"220 mx.probes.test ESMTP test\r\n")
        .await?;
    if dialogue(&mut plain, tls.is_some()).await?
        && let Some(config) = tls
    {
        let stream = TlsAcceptor::from(config).accept(plain.into_inner()).await?;
        let mut secure = BufReader::new(stream);
        dialogue(&mut secure, false).await?;
    }
    Ok(())
}

/// Binds 127.0.0.20:0, then 127.0.0.21 on the same port (retrying on a clash).
async fn bind_pair() -> (TcpListener, TcpListener, u16) {
    for _ in 0..50 {
        let first = TcpListener::bind((IpAddr::V4(MX1_IP), 0)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        if let Ok(second) = TcpListener::bind((IpAddr::V4(MX2_IP), port)).await {
            return (first, second, port);
        }
    }
    panic!("no port free on both 127.0.0.20 and 127.0.0.21");
}

// ---------------------------------------------------------------- fixture

struct Fixture {
    app: crate::helpers::TestApp,
    ca: TestCa,
    _mx1: MxServer,
    mx2: MxServer,
    dns: CustomerDns,
    port: u16,
    ca_file: tempfile::NamedTempFile,
}

/// The app, the customer DNS, mx1 with a valid certificate and mx2 with a self-signed one.
async fn fixture(backend: Backend) -> Option<Fixture> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dns = customer_dns().await;
    let ca = TestCa::new();
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut ca_file, ca.pem.as_bytes()).unwrap();
    let (l1, l2, port) = bind_pair().await;
    let mx1 = MxServer::start(l1, Some(ca.server(MX1)));
    let mx2 = MxServer::start(l2, Some(self_signed(MX2)));
    let resolvers = dns.addr.to_string();
    let port_text = port.to_string();
    let ca_path = ca_file.path().display().to_string();
    let app = spawn_app_with(
        backend,
        &[
            ("MOAT_ZONE", ZONE),
            ("MOAT_RESOLVERS", &resolvers),
            ("MOAT_PROBE_PORT", &port_text),
            ("MOAT_PROBE_ALLOW_PRIVATE", "true"),
            ("MOAT_PROBE_CA", &ca_path),
            ("MOAT_PROBE_INTERVAL", "0"),
        ],
    )
    .await?;
    Some(Fixture {
        app,
        ca,
        _mx1: mx1,
        mx2,
        dns,
        port,
        ca_file,
    })
}

async fn operator_scope(svc: &Services, org: &str) -> OrgScope {
    let id = tenancy::operator_create_org(svc, org, false, None).await.unwrap();
    tenancy::authorize(svc, &Actor::Operator, id, Action::ManageDomains)
        .await
        .unwrap()
}

fn enforce(override_readiness: bool) -> domains::PolicyInput {
    domains::PolicyInput {
        mode: "enforce".into(),
        mx: vec![MX1.into(), MX2.into()],
        max_age: 86_400,
        confirm_enforce: true,
        override_readiness,
    }
}

both_backends!(
    probes_are_stored_and_gate_enforce,
    the_cli_probes_checks_readiness_and_overrides,
);

async fn probes_are_stored_and_gate_enforce(backend: Backend) {
    let Some(fx) = fixture(backend).await else {
        return;
    };
    let svc = &fx.app.services;
    let scope = operator_scope(svc, "Probers").await;
    let added = domains::add(svc, &scope, D, DomainKind::Hosted).await.unwrap();
    assert_eq!(added.policy.as_ref().unwrap().mx.len(), 2, "{added:?}");
    let d = domains::check(svc, &scope, D).await.unwrap();
    assert_eq!(d.state, DomainState::Active);

    // Nothing probed yet: the mx-probes check says so.
    let r = probe::readiness(svc, &scope, D).await.unwrap();
    let mx = r.check(ReadinessCode::MxProbes).unwrap();
    assert!(!mx.passed && mx.detail.contains("not probed yet"), "{mx:?}");

    // Probe: both addresses, one verdict each, stored.
    let report = probe::probe_domain(svc, &scope, D).await.unwrap();
    assert_eq!(report.live_mx, vec![MX1.to_owned(), MX2.to_owned()]);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let verdicts = |probes: &[moat_domain::views::MxProbeView]| {
        let mut v: Vec<(String, String, String)> = probes
            .iter()
            .map(|p| (p.mx_host.clone(), p.addr.clone(), p.verdict.clone()))
            .collect();
        v.sort();
        v
    };
    let expected_bad = vec![
        (MX1.to_owned(), MX1_IP.to_string(), "ok".to_owned()),
        (
            MX2.to_owned(),
            MX2_IP.to_string(),
            "certificate-not-trusted".to_owned(),
        ),
    ];
    assert_eq!(verdicts(&report.probes), expected_bad, "{:#?}", report.probes);
    let stored = probe::latest(svc, &scope, D).await.unwrap();
    assert_eq!(verdicts(&stored), expected_bad);
    let good = stored.iter().find(|p| p.mx_host == MX1).unwrap();
    assert_eq!(good.port, fx.port);
    assert!(good.starttls_offered && good.tls_version.is_some() && good.cipher.is_some());
    assert_eq!(good.cert_names, vec![MX1.to_owned()]);
    assert!(good.not_after.is_some());
    assert_eq!(probe::history(svc, &scope, D, 50).await.unwrap().len(), 2);

    // "Probe now" from the UI waits a little between probes of one domain.
    let now = moat_services::now();
    let err = probe::probe_on_demand(svc, &scope, D, now).await.unwrap_err();
    assert!(err.to_string().contains("probe again in"), "{err}");
    // Without MOAT_PROBE_ALLOW_PRIVATE, loopback MX addresses are not probed at all.
    let mut public_only = svc.clone();
    let mut settings = (*svc.settings).clone();
    settings.probe.allow_private = false;
    public_only.settings = std::sync::Arc::new(settings);
    let refused = probe::probe_on_demand(&public_only, &scope, D, now + 3600)
        .await
        .unwrap();
    assert!(refused.probes.is_empty(), "{:?}", refused.probes);
    assert_eq!(refused.notes.len(), 2, "{:?}", refused.notes);
    assert!(
        refused
            .notes
            .iter()
            .all(|n| n.contains("is not a public address: not probed"))
    );
    assert_eq!(probe::history(svc, &scope, D, 50).await.unwrap().len(), 2);

    // Readiness fails on mx-probes, naming the bad MX only.
    let r = probe::readiness(svc, &scope, D).await.unwrap();
    assert!(!r.ready);
    let mx = r.check(ReadinessCode::MxProbes).unwrap();
    assert!(!mx.passed, "{mx:?}");
    assert!(
        mx.detail.contains(MX2) && mx.detail.contains("certificate-not-trusted"),
        "{mx:?}"
    );
    assert!(!mx.detail.contains(MX1), "{mx:?}");
    assert!(r.check(ReadinessCode::Coverage).unwrap().passed, "{r:?}");
    assert!(r.check(ReadinessCode::Records).unwrap().passed, "{r:?}");
    // No ACME certificate (local CA) and no reports in these tests.
    assert!(!r.check(ReadinessCode::Certificate).unwrap().passed);
    assert!(!r.check(ReadinessCode::Reports).unwrap().passed);
    let view = probe::readiness_view(svc, &scope, D).await.unwrap();
    assert_eq!(view.probes.len(), 2);
    assert_eq!(view.window_days, 14);

    // The gate: enforce without the override is a field error on `mode`.
    match domains::set_policy(svc, &scope, D, &enforce(false)).await {
        Err(moat_services::Error::Invalid { field, message }) => {
            assert_eq!(field, "mode");
            assert!(
                message.contains("mx-probes") && message.contains(MX2),
                "{message}"
            );
            assert!(!message.contains('\n'), "one line: {message}");
        }
        other => panic!("expected the readiness gate, got {other:?}"),
    }
    let policy = domains::get(svc, &scope, D).await.unwrap().policy.unwrap();
    assert_eq!(policy.mode.as_str(), "testing", "nothing saved");

    // With the override it is saved, and the audit log says what failed.
    let (d, _) = domains::set_policy(svc, &scope, D, &enforce(true)).await.unwrap();
    assert_eq!(d.policy.unwrap().mode.as_str(), "enforce");
    let entry = override_audit_entry(svc, &scope).await;
    assert!(
        entry.detail.contains("mx-probes")
            && entry.detail.contains("certificate")
            && entry.detail.contains(MX2),
        "{entry:?}"
    );
    // Enforce → enforce is not gated again.
    domains::set_policy(svc, &scope, D, &enforce(false))
        .await
        .unwrap();

    // Fix mx2 and probe again: the mx-probes check passes.
    fx.mx2.set_tls(Some(fx.ca.server(MX2)));
    let report = probe::probe_domain(svc, &scope, D).await.unwrap();
    assert!(
        report.probes.iter().all(|p| p.verdict == "ok"),
        "{:#?}",
        report.probes
    );
    let r = probe::readiness(svc, &scope, D).await.unwrap();
    let mx = r.check(ReadinessCode::MxProbes).unwrap();
    assert!(mx.passed, "{mx:?}");
    assert_eq!(
        probe::history(svc, &scope, D, 50).await.unwrap().len(),
        4,
        "history is kept"
    );
    assert_eq!(probe::latest(svc, &scope, D).await.unwrap().len(), 2);

    // The linter sees the live MX and the certificate names: nothing wrong with them.
    let findings = probe::lint(svc, &scope, D).await.unwrap();
    assert!(findings.iter().all(|f| f.mx.is_none()), "{findings:#?}");

    // Tenancy: another organization sees nothing of it.
    let other = operator_scope(svc, "Others").await;
    for r in [
        probe::latest(svc, &other, D).await.map(|_| ()),
        probe::history(svc, &other, D, 10).await.map(|_| ()),
        probe::readiness(svc, &other, D).await.map(|_| ()),
        probe::lint(svc, &other, D).await.map(|_| ()),
        probe::probe_domain(svc, &other, D).await.map(|_| ()),
    ] {
        assert!(matches!(r, Err(moat_services::Error::NotFound)), "{r:?}");
    }
    let domain_id = d.id;
    assert!(
        moat_store::probes::latest(&svc.db, other.org_id(), domain_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        moat_store::probes::history(&svc.db, other.org_id(), domain_id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        moat_store::probes::insert_many(&svc.db, other.org_id(), domain_id, &[])
            .await
            .unwrap(),
        0
    );

    // Housekeeping's purge removes old history only.
    assert_eq!(moat_store::probes::purge(&svc.db, 0).await.unwrap(), 0);
    assert_eq!(
        moat_store::probes::purge(&svc.db, moat_services::now() + 60)
            .await
            .unwrap(),
        4
    );
}

async fn the_cli_probes_checks_readiness_and_overrides(backend: Backend) {
    let Some(fx) = fixture(backend).await else {
        return;
    };
    let svc = &fx.app.services;
    let scope = operator_scope(svc, "Cli").await;
    domains::add(svc, &scope, D, DomainKind::Hosted).await.unwrap();
    domains::check(svc, &scope, D).await.unwrap();
    let env = [
        ("MOAT_ZONE", ZONE.to_owned()),
        ("MOAT_RESOLVERS", fx.dns.addr.to_string()),
        ("MOAT_PROBE_PORT", fx.port.to_string()),
        ("MOAT_PROBE_ALLOW_PRIVATE", "true".to_owned()),
        ("MOAT_PROBE_CA", fx.ca_file.path().display().to_string()),
    ];
    let run = |args: &[&str]| fx.app.cli(&env, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let out = run(&["probe", D, "--org", "Cli", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["probes"].as_array().unwrap().len(), 2, "{v}");
    let table = run(&["probe", D, "--org", "Cli"]).await;
    assert!(table.status.success());
    assert!(
        text(&table.stdout).contains("certificate-not-trusted") && text(&table.stdout).contains(MX1),
        "{}",
        text(&table.stdout)
    );

    // Not ready: exit status 3, the checklist as JSON or text.
    let out = run(&["readiness", D, "--org", "Cli", "--json"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ready"], false);
    let mx = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "mx-probes")
        .unwrap();
    assert_eq!(mx["passed"], false);
    let out = run(&["readiness", D, "--org", "Cli"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stdout).contains("[FAIL] MX hosts accept TLS"),
        "{}",
        text(&out.stdout)
    );
    // Another organization does not see the domain.
    tenancy::operator_create_org(svc, "Elsewhere", false, None)
        .await
        .unwrap();
    let out = run(&["readiness", D, "--org", "Elsewhere"]).await;
    assert_eq!(out.status.code(), Some(1));

    let out = run(&["lint", D, "--org", "Cli", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .is_array()
    );

    // The gate from the CLI, then the override.
    let set = [
        "policy",
        "set",
        D,
        "--mode",
        "enforce",
        "--mx",
        MX1,
        "--mx",
        MX2,
        "--max-age",
        "86400",
    ];
    let out = run(&set).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not ready for enforce") && text(&out.stderr).contains("mx-probes"),
        "{}",
        text(&out.stderr)
    );
    let mut overridden = set.to_vec();
    overridden.push("--override-readiness");
    let out = run(&overridden).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let entry = override_audit_entry(svc, &scope).await;
    assert_eq!(entry.actor, "cli");
}
