//! The probe against a real SMTP + STARTTLS server on loopback, with rcgen certificates.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use moat_probe::{Phase, Probe, ProbeOptions, Verdict, probe, probe_all};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{RootCertStore, ServerConfig};
use time::OffsetDateTime;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const MX: &str = "mx.test.example";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

// ---------------------------------------------------------------- certificates

/// A test CA: the only trust anchor the probe gets.
struct TestCa {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "Moat Test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap().der().clone();
        Self {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        Arc::new(roots)
    }

    /// A leaf for `name` signed by this CA, valid between the two day offsets from now.
    fn leaf(&self, name: &str, valid: (i64, i64)) -> Identity {
        let (params, key) = leaf_params(name, valid);
        let leaf = params.signed_by(&key, &self.issuer).unwrap().der().clone();
        Identity {
            chain: vec![leaf, self.cert.clone()],
            key,
        }
    }
}

/// A certificate chain and its private key, as a server presents them.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

fn leaf_params(name: &str, (from_days, to_days): (i64, i64)) -> (CertificateParams, KeyPair) {
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let now = OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from_days);
    params.not_after = now + time::Duration::days(to_days);
    (params, KeyPair::generate().unwrap())
}

const VALID: (i64, i64) = (-1, 30);
const EXPIRED: (i64, i64) = (-30, -1);

fn self_signed(name: &str) -> Identity {
    let (params, key) = leaf_params(name, VALID);
    let cert = params.self_signed(&key).unwrap().der().clone();
    Identity {
        chain: vec![cert],
        key,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn server_config(identity: &Identity) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), private_key(&identity.key))
        .unwrap();
    Arc::new(config)
}

fn server_config_tls12_only(identity: &Identity) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), private_key(&identity.key))
        .unwrap();
    Arc::new(config)
}

/// Presents `identity`'s certificate but signs the handshake with another key, so the
/// server cannot prove it owns the certificate.
fn server_config_with_wrong_key(identity: &Identity) -> Arc<ServerConfig> {
    let other = KeyPair::generate().unwrap();
    let signer = rustls::crypto::ring::sign::any_supported_type(&private_key(&other)).unwrap();
    let certified = CertifiedKey::new(identity.chain.clone(), signer);
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Arc::new(config)
}

// ---------------------------------------------------------------- test SMTP server

/// How the test server behaves.
#[derive(Clone)]
enum Server {
    /// Speaks SMTP; offers STARTTLS (and does it with this config) when `tls` is set.
    Smtp { tls: Option<Arc<ServerConfig>> },
    /// Speaks SMTP and offers STARTTLS, but answers it with 454.
    RefusesStartTls,
    /// Accepts, then never says anything.
    Silent,
    /// Sends a greeting line that never ends.
    EndlessLine,
}

impl Server {
    /// Listens on 127.0.0.1, serves one connection, and reports the commands it received.
    async fn spawn(self) -> (SocketAddr, JoinHandle<Vec<String>>) {
        let (addr, all) = self.spawn_many(1).await;
        let one = tokio::spawn(async move { all.await.unwrap().pop().unwrap() });
        (addr, one)
    }

    /// Listens on 127.0.0.1, serves `n` connections at once, and reports the commands
    /// each received (in no particular order).
    async fn spawn_many(self, n: usize) -> (SocketAddr, JoinHandle<Vec<Vec<String>>>) {
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut sessions = Vec::new();
            for _ in 0..n {
                let (tcp, _) = listener.accept().await.unwrap();
                sessions.push(tokio::spawn(self.clone().serve(tcp)));
            }
            let mut commands = Vec::new();
            for session in sessions {
                commands.push(session.await.unwrap());
            }
            commands
        });
        (addr, handle)
    }

    async fn serve(self, tcp: TcpStream) -> Vec<String> {
        let mut commands = Vec::new();
        match self {
            Server::Smtp { tls } => {
                let mut plain = BufReader::new(tcp);
                plain
                    .write_all(b"220-mx.test.example ESMTP test server\r\n220 no UCE\r\n")
                    .await
                    .unwrap();
                let starttls = if tls.is_some() {
                    StartTls::Accepted
                } else {
                    StartTls::NotOffered
                };
                let upgrade = dialogue(&mut plain, starttls, &mut commands).await;
                if let (true, Some(config)) = (upgrade, tls) {
                    // The client waits for our 220, so nothing is left in `plain`'s buffer.
                    if let Ok(stream) = TlsAcceptor::from(config).accept(plain.into_inner()).await {
                        let mut tls = BufReader::new(stream);
                        dialogue(&mut tls, StartTls::NotOffered, &mut commands).await;
                    }
                }
            }
            Server::RefusesStartTls => {
                let mut plain = BufReader::new(tcp);
                plain.write_all(b"220 mx.test.example ESMTP\r\n").await.unwrap();
                dialogue(&mut plain, StartTls::Refused, &mut commands).await;
            }
            Server::Silent => {
                let mut tcp = tcp;
                let mut sink = Vec::new();
                let _ = tcp.read_to_end(&mut sink).await;
            }
            Server::EndlessLine => {
                let mut tcp = tcp;
                let _ = tcp.write_all(b"220 ").await;
                let chunk = vec![b'A'; 64 * 1024];
                let mut sent = 0usize;
                // Until the client hangs up; the cap only keeps a broken client from
                // making the test hang.
                while sent < 512 * 1024 * 1024 && tcp.write_all(&chunk).await.is_ok() {
                    sent += chunk.len();
                }
            }
        }
        commands
    }
}

/// What the server does about STARTTLS.
#[derive(Clone, Copy, PartialEq)]
enum StartTls {
    NotOffered,
    Refused,
    Accepted,
}

/// Answers commands until QUIT or EOF; `true` when STARTTLS was accepted.
async fn dialogue<S>(stream: &mut S, starttls: StartTls, commands: &mut Vec<String>) -> bool
where
    S: AsyncBufRead + AsyncRead + AsyncWrite + Unpin,
{
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return false;
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        commands.push(command);
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if starttls != StartTls::NotOffered => {
                b"250-mx.test.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            }
            "EHLO" => b"250-mx.test.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            "STARTTLS" if starttls == StartTls::Accepted => b"220 2.0.0 Ready to start TLS\r\n",
            "STARTTLS" if starttls == StartTls::Refused => b"454 4.7.0 TLS not available\r\n",
            "QUIT" => b"221 2.0.0 Bye\r\n",
            _ => b"502 5.5.1 Not expected from a probe\r\n",
        };
        if stream.write_all(reply).await.is_err() {
            return false;
        }
        match verb.as_str() {
            "STARTTLS" if starttls == StartTls::Accepted => return true,
            "QUIT" => return false,
            _ => {}
        }
    }
}

// ---------------------------------------------------------------- helpers

fn options(ca: &TestCa, port: u16) -> ProbeOptions {
    ProbeOptions {
        port,
        connect_timeout: Duration::from_secs(5),
        banner_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(5),
        tls_timeout: Duration::from_secs(5),
        helo_name: "probe.moat.test".to_owned(),
        roots: ca.roots(),
    }
}

/// Probes a fresh one-connection server presenting `identity` over STARTTLS.
async fn probe_tls_server(ca: &TestCa, config: Arc<ServerConfig>) -> (Probe, Vec<String>) {
    let (addr, server) = Server::Smtp { tls: Some(config) }.spawn().await;
    let probe = probe(MX, LOCALHOST, &options(ca, addr.port())).await;
    let commands = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    (probe, commands)
}

/// The full session happened, and no mail transaction was started.
fn assert_full_session(commands: &[String]) {
    assert_eq!(
        commands,
        ["EHLO probe.moat.test", "STARTTLS", "EHLO probe.moat.test", "QUIT"]
    );
    assert_no_mail(commands);
}

fn assert_no_mail(commands: &[String]) {
    assert!(
        !commands
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("MAIL")),
        "the probe must never send MAIL FROM: {commands:?}"
    );
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_valid_certificate_from_a_trusted_ca_is_ok_and_fully_recorded() {
    let ca = TestCa::new();
    let identity = ca.leaf(MX, VALID);
    let (probe, commands) = probe_tls_server(&ca, server_config(&identity)).await;

    assert_eq!(probe.verdict, Verdict::Ok, "{}", probe.detail);
    assert!(!probe.verdict.is_failure());
    assert_eq!(probe.phase_failed, None);
    assert!(probe.cert_problems.is_empty());
    assert_eq!(probe.mx_host, MX);
    assert_eq!(probe.addr, LOCALHOST);
    assert_eq!(
        probe.banner.as_deref(),
        Some("220-mx.test.example ESMTP test server\n220 no UCE")
    );
    assert!(probe.starttls_offered);
    assert!(probe.started_at > 1_700_000_000);

    let tls = probe.tls.as_ref().expect("TLS info is recorded");
    assert_eq!(tls.version, "TLSv1.3");
    assert!(tls.cipher.starts_with("TLS13_"), "{}", tls.cipher);
    assert_eq!(tls.chain.len(), 2);
    let leaf = &tls.chain[0];
    assert_eq!(leaf.subject, "CN=mx.test.example");
    assert_eq!(leaf.issuer, "CN=Moat Test CA");
    assert_eq!(leaf.dns_names, [MX]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!(leaf.not_before < now && now < leaf.not_after);
    assert!((leaf.not_after - (now + 30 * 86_400)).abs() < 120);
    assert_eq!(leaf.sha256.len(), 64);
    assert!(leaf.der_base64.is_some(), "the leaf DER is kept");
    assert!(tls.chain[1].der_base64.is_none(), "only the leaf DER is kept");
    assert_eq!(tls.chain[1].subject, "CN=Moat Test CA");

    assert_full_session(&commands);
}

#[tokio::test]
async fn a_tls_1_2_session_records_its_version_and_cipher() {
    let ca = TestCa::new();
    let config = server_config_tls12_only(&ca.leaf(MX, VALID));
    let (probe, commands) = probe_tls_server(&ca, config).await;

    assert_eq!(probe.verdict, Verdict::Ok, "{}", probe.detail);
    let tls = probe.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1.2");
    assert!(tls.cipher.starts_with("TLS_ECDHE_ECDSA_WITH_"), "{}", tls.cipher);
    assert_full_session(&commands);
}

#[tokio::test]
async fn an_expired_certificate_from_a_trusted_ca_is_certificate_expired() {
    let ca = TestCa::new();
    let (probe, commands) = probe_tls_server(&ca, server_config(&ca.leaf(MX, EXPIRED))).await;

    assert_eq!(probe.verdict, Verdict::CertificateExpired, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::Handshake));
    assert_eq!(probe.cert_problems, [Verdict::CertificateExpired]);
    assert!(probe.detail.contains("expired"), "{}", probe.detail);
    let leaf = &probe.tls.as_ref().expect("the handshake still completes").chain[0];
    assert!(leaf.not_after < OffsetDateTime::now_utc().unix_timestamp());
    assert_full_session(&commands);
}

#[tokio::test]
async fn a_trusted_certificate_for_another_name_is_certificate_host_mismatch() {
    let ca = TestCa::new();
    let identity = ca.leaf("other.example", VALID);
    let (probe, commands) = probe_tls_server(&ca, server_config(&identity)).await;

    assert_eq!(
        probe.verdict,
        Verdict::CertificateHostMismatch,
        "{}",
        probe.detail
    );
    assert_eq!(probe.verdict.as_str(), "certificate-host-mismatch");
    assert_eq!(probe.phase_failed, Some(Phase::Handshake));
    assert_eq!(probe.cert_problems, [Verdict::CertificateHostMismatch]);
    assert_eq!(probe.tls.as_ref().unwrap().chain[0].dns_names, ["other.example"]);
    assert_full_session(&commands);
}

#[tokio::test]
async fn a_self_signed_certificate_is_certificate_not_trusted() {
    let ca = TestCa::new();
    let (probe, commands) = probe_tls_server(&ca, server_config(&self_signed(MX))).await;

    assert_eq!(probe.verdict, Verdict::CertificateNotTrusted, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::Handshake));
    assert_eq!(probe.cert_problems, [Verdict::CertificateNotTrusted]);
    assert_eq!(probe.tls.as_ref().unwrap().chain.len(), 1);
    assert_full_session(&commands);
}

#[tokio::test]
async fn a_self_signed_certificate_for_another_name_reports_the_mismatch_first() {
    let ca = TestCa::new();
    let identity = self_signed("localhost.localdomain");
    let (probe, commands) = probe_tls_server(&ca, server_config(&identity)).await;

    assert_eq!(
        probe.verdict,
        Verdict::CertificateHostMismatch,
        "{}",
        probe.detail
    );
    assert_eq!(
        probe.cert_problems,
        [Verdict::CertificateHostMismatch, Verdict::CertificateNotTrusted]
    );
    assert_full_session(&commands);
}

#[tokio::test]
async fn a_server_that_cannot_sign_with_its_certificate_key_fails_validation() {
    let ca = TestCa::new();
    let identity = ca.leaf(MX, VALID);
    let (probe, commands) = probe_tls_server(&ca, server_config_with_wrong_key(&identity)).await;

    assert_eq!(probe.verdict, Verdict::ValidationFailure, "{}", probe.detail);
    assert!(probe.detail.contains("BadSignature"), "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::Handshake));
    assert!(probe.cert_problems.is_empty(), "the certificate itself is fine");
    assert!(probe.tls.is_none(), "the handshake did not complete");
    assert_eq!(commands, ["EHLO probe.moat.test", "STARTTLS"]);
}

#[tokio::test]
async fn a_server_without_starttls_is_starttls_not_supported() {
    let ca = TestCa::new();
    let (addr, server) = Server::Smtp { tls: None }.spawn().await;
    let probe = probe(MX, LOCALHOST, &options(&ca, addr.port())).await;
    let commands = server.await.unwrap();

    assert_eq!(probe.verdict, Verdict::StarttlsNotSupported, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::StartTls));
    assert!(!probe.starttls_offered);
    assert!(probe.tls.is_none());
    assert!(probe.banner.is_some());
    assert_eq!(commands, ["EHLO probe.moat.test", "QUIT"]);
    assert_no_mail(&commands);
}

#[tokio::test]
async fn a_refused_starttls_is_starttls_not_supported() {
    let ca = TestCa::new();
    let (addr, server) = Server::RefusesStartTls.spawn().await;
    let probe = probe(MX, LOCALHOST, &options(&ca, addr.port())).await;
    let commands = server.await.unwrap();

    assert_eq!(probe.verdict, Verdict::StarttlsNotSupported, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::StartTls));
    assert!(probe.starttls_offered);
    assert!(probe.detail.contains("454 4.7.0"), "{}", probe.detail);
    assert!(probe.tls.is_none());
    assert_eq!(commands, ["EHLO probe.moat.test", "STARTTLS", "QUIT"]);
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let ca = TestCa::new();
    let port = {
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let probe = probe(MX, LOCALHOST, &options(&ca, port)).await;

    assert_eq!(probe.verdict, Verdict::Unreachable, "{}", probe.detail);
    assert_eq!(probe.verdict.as_str(), "unreachable");
    assert_eq!(probe.phase_failed, Some(Phase::Connect));
    assert!(probe.banner.is_none());
}

#[tokio::test]
async fn a_server_that_never_greets_is_unreachable_at_the_banner() {
    let ca = TestCa::new();
    let (addr, server) = Server::Silent.spawn().await;
    let opts = ProbeOptions {
        banner_timeout: Duration::from_millis(200),
        ..options(&ca, addr.port())
    };
    let probe = probe(MX, LOCALHOST, &opts).await;

    assert_eq!(probe.verdict, Verdict::Unreachable, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::Banner));
    assert!(probe.detail.contains("no reply"), "{}", probe.detail);
    assert!(probe.duration_ms < 5_000);
    // The probe hung up, so the server sees EOF and stops.
    assert!(server.await.unwrap().is_empty());
}

#[tokio::test]
async fn an_endless_greeting_line_is_refused_without_buffering_it() {
    let ca = TestCa::new();
    let (addr, server) = Server::EndlessLine.spawn().await;
    let probe = probe(MX, LOCALHOST, &options(&ca, addr.port())).await;

    assert_eq!(probe.verdict, Verdict::Unreachable, "{}", probe.detail);
    assert_eq!(probe.phase_failed, Some(Phase::Banner));
    assert!(probe.detail.contains("longer than 512 bytes"), "{}", probe.detail);
    assert!(probe.banner.is_none());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn probe_all_probes_every_target_and_keeps_their_order() {
    let ca = TestCa::new();
    let config = server_config(&ca.leaf(MX, VALID));
    let (addr, server) = Server::Smtp { tls: Some(config) }.spawn_many(3).await;
    let targets = vec![
        ("wrong.test.example".to_owned(), LOCALHOST),
        (MX.to_owned(), LOCALHOST),
        // MX records are often written with the root dot.
        (format!("{MX}."), LOCALHOST),
    ];
    let probes = probe_all(targets, &options(&ca, addr.port()), 2).await;

    let verdicts: Vec<Verdict> = probes.iter().map(|p| p.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::CertificateHostMismatch, Verdict::Ok, Verdict::Ok],
        "{probes:#?}"
    );
    assert_eq!(probes[0].mx_host, "wrong.test.example");
    assert_eq!(probes[2].mx_host, "mx.test.example.");
    let sessions = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sessions.len(), 3);
    for commands in &sessions {
        assert_full_session(commands);
    }
}

#[tokio::test]
async fn a_probe_round_trips_through_json_with_rfc_8460_names() {
    let ca = TestCa::new();
    let (probe, _) = probe_tls_server(&ca, server_config(&ca.leaf(MX, EXPIRED))).await;

    let json = serde_json::to_value(&probe).unwrap();
    assert_eq!(json["verdict"], "certificate-expired");
    assert_eq!(json["phase_failed"], "handshake");
    assert_eq!(json["cert_problems"][0], "certificate-expired");
    let back: Probe = serde_json::from_value(json).unwrap();
    assert_eq!(back, probe);
}
