//! One probe session, from TCP connect to QUIT, and a bounded batch of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::cert;
use crate::model::{Phase, Probe, TlsInfo, Verdict};
use crate::options::ProbeOptions;
use crate::smtp::{Reply, SmtpConn};
use crate::verifier::{CertRecord, RecordingVerifier};

/// The longest wait for the reply to QUIT.
const QUIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Probes one MX address and records what a sending MTA would have seen.
///
/// `mx_host` is the MX name (a trailing dot is ignored); it is sent as SNI and the
/// certificate must be valid for it. This never fails and never panics: connection
/// problems, timeouts, refusals and certificate problems all end up in the returned
/// [`Probe`].
pub async fn probe(mx_host: &str, addr: IpAddr, opts: &ProbeOptions) -> Probe {
    let started_at = OffsetDateTime::now_utc().unix_timestamp();
    let clock = Instant::now();
    let mut seen = Seen::default();
    let outcome = session(mx_host, SocketAddr::new(addr, opts.port), opts, &mut seen).await;

    let (verdict, detail, phase_failed) = match outcome {
        Ok(summary) => (Verdict::Ok, summary, None),
        Err(failure) => (failure.verdict, failure.detail, Some(failure.phase)),
    };
    let probe = Probe {
        mx_host: mx_host.to_owned(),
        addr,
        port: opts.port,
        started_at,
        duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        banner: seen.banner,
        starttls_offered: seen.starttls_offered,
        tls: seen.tls,
        cert_problems: seen.cert_problems,
        verdict,
        detail,
        phase_failed,
    };
    tracing::debug!(
        mx.host = %probe.mx_host,
        mx.addr = %probe.addr,
        verdict = probe.verdict.as_str(),
        duration_ms = probe.duration_ms,
        "probed {}: {}",
        probe.mx_host,
        probe.detail,
    );
    probe
}

/// Probes every `(mx_host, addr)` with at most `concurrency` sessions open at once
/// (0 is treated as 1). The results are in the order of `targets`.
pub async fn probe_all(
    targets: Vec<(String, IpAddr)>,
    opts: &ProbeOptions,
    concurrency: usize,
) -> Vec<Probe> {
    let mut probes: Vec<(usize, Probe)> = futures::stream::iter(targets.into_iter().enumerate())
        .map(|(index, (mx_host, addr))| async move { (index, probe(&mx_host, addr, opts).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    probes.sort_by_key(|(index, _)| *index);
    probes.into_iter().map(|(_, probe)| probe).collect()
}

/// What the session learned on the way, kept even when a later phase fails.
#[derive(Default)]
struct Seen {
    banner: Option<String>,
    starttls_offered: bool,
    tls: Option<TlsInfo>,
    cert_problems: Vec<Verdict>,
}

/// Why a session ended early.
struct Failure {
    verdict: Verdict,
    phase: Phase,
    detail: String,
}

impl Failure {
    fn new(verdict: Verdict, phase: Phase, detail: impl Into<String>) -> Self {
        Self {
            verdict,
            phase,
            detail: detail.into(),
        }
    }

    fn unreachable(phase: Phase, detail: impl Into<String>) -> Self {
        Self::new(Verdict::Unreachable, phase, detail)
    }

    /// A sending MTA that cannot start TLS reports starttls-not-supported, whether the
    /// server did not offer it, refused it or did not answer.
    fn no_starttls(detail: impl Into<String>) -> Self {
        Self::new(Verdict::StarttlsNotSupported, Phase::StartTls, detail)
    }
}

/// The whole session; `Ok` carries a one-line summary of a clean result.
async fn session(
    mx_host: &str,
    target: SocketAddr,
    opts: &ProbeOptions,
    seen: &mut Seen,
) -> Result<String, Failure> {
    if !is_valid_ehlo_argument(&opts.helo_name) {
        let detail = format!("helo_name {:?} is not a valid EHLO argument", opts.helo_name);
        return Err(Failure::unreachable(Phase::Ehlo, detail));
    }
    let ehlo = format!("EHLO {}", opts.helo_name);

    let tcp = tokio::time::timeout(opts.connect_timeout, TcpStream::connect(target))
        .await
        .map_err(|_| {
            let secs = opts.connect_timeout.as_secs_f32();
            Failure::unreachable(
                Phase::Connect,
                format!("no connection to {target} within {secs} s"),
            )
        })?
        .map_err(|e| Failure::unreachable(Phase::Connect, format!("connect to {target}: {e}")))?;
    let mut smtp = SmtpConn::new(tcp);
    plain_text(&mut smtp, &ehlo, opts, seen).await?;

    let (tls, cert_failure) = handshake(mx_host, smtp.into_inner(), opts, seen).await?;

    // Certificate problems were found during the handshake, but the session goes on so
    // the EHLO over TLS is observed too.
    let mut smtp = SmtpConn::new(tls);
    let ehlo_after_tls = smtp.command(&ehlo, opts.command_timeout).await;
    quit(&mut smtp, opts).await;
    // close_notify, best effort.
    let _ = tokio::time::timeout(quit_timeout(opts), smtp.into_inner().shutdown()).await;

    if let Some(failure) = cert_failure {
        return Err(failure);
    }
    let fail = |detail| Failure::new(Verdict::ValidationFailure, Phase::EhloAfterTls, detail);
    match ehlo_after_tls {
        Ok(reply) if reply.is_positive() => {}
        Ok(reply) => return Err(fail(format!("EHLO over TLS refused: {}", first_line(&reply)))),
        Err(e) => return Err(fail(format!("EHLO over TLS: {e}"))),
    }
    let (version, cipher) = seen
        .tls
        .as_ref()
        .map(|tls| (tls.version.as_str(), tls.cipher.as_str()))
        .unwrap_or_default();
    Ok(format!(
        "{version} {cipher}; certificate valid for {}",
        sni_name(mx_host)
    ))
}

/// The plain-text part: greeting, EHLO and STARTTLS, up to the server's 220 to STARTTLS.
/// A refusal is answered with QUIT; a broken or silent connection is just dropped.
async fn plain_text(
    smtp: &mut SmtpConn<TcpStream>,
    ehlo: &str,
    opts: &ProbeOptions,
    seen: &mut Seen,
) -> Result<(), Failure> {
    let banner = smtp
        .reply(opts.banner_timeout)
        .await
        .map_err(|e| Failure::unreachable(Phase::Banner, format!("greeting: {e}")))?;
    seen.banner = Some(banner.text());
    if banner.code != 220 {
        let detail = format!("greeting refused: {}", first_line(&banner));
        quit(smtp, opts).await;
        return Err(Failure::unreachable(Phase::Banner, detail));
    }

    let reply = smtp
        .command(ehlo, opts.command_timeout)
        .await
        .map_err(|e| Failure::unreachable(Phase::Ehlo, format!("EHLO: {e}")))?;
    if !reply.is_positive() {
        let detail = format!("EHLO refused: {}", first_line(&reply));
        quit(smtp, opts).await;
        return Err(Failure::unreachable(Phase::Ehlo, detail));
    }

    // RFC 3207 §4: STARTTLS may only be sent when EHLO advertised it.
    seen.starttls_offered = reply.advertises("STARTTLS");
    if !seen.starttls_offered {
        quit(smtp, opts).await;
        return Err(Failure::no_starttls(
            "STARTTLS is not advertised in the EHLO reply",
        ));
    }
    let reply = smtp
        .command("STARTTLS", opts.command_timeout)
        .await
        .map_err(|e| Failure::no_starttls(format!("STARTTLS: {e}")))?;
    if reply.code != 220 {
        let detail = format!("STARTTLS refused: {}", first_line(&reply));
        quit(smtp, opts).await;
        return Err(Failure::no_starttls(detail));
    }
    Ok(())
}

/// Upgrades `stream` to TLS with the MX host as SNI, recording the session and the
/// certificate in `seen`.
///
/// A certificate problem does not stop the handshake: it is returned as the failure to
/// report once the session is over. A handshake that fails anyway is reported with the
/// certificate problem if there is one (a sending MTA would have stopped there), else as
/// a validation failure.
async fn handshake<S>(
    mx_host: &str,
    stream: S,
    opts: &ProbeOptions,
    seen: &mut Seen,
) -> Result<(TlsStream<S>, Option<Failure>), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let fail = |detail: String| Failure::new(Verdict::ValidationFailure, Phase::Handshake, detail);
    let server_name = ServerName::try_from(sni_name(mx_host).to_owned())
        .map_err(|e| fail(format!("{mx_host:?} is not a valid TLS server name: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::clone(&opts.roots), Arc::clone(&provider))
        .build()
        .map_err(|e| fail(format!("no usable trust anchors: {e}")))?;
    let verifier = Arc::new(RecordingVerifier::new(webpki));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    // Always a full handshake: a resumed session would not show the certificate.
    config.resumption = Resumption::disabled();

    let connector = TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(opts.tls_timeout, connector.connect(server_name, stream)).await;

    let record = verifier.record();
    let problems = record.as_ref().map(CertRecord::problems).unwrap_or_default();
    seen.cert_problems = problems.iter().map(|(verdict, _)| *verdict).collect();
    let cert_failure = problems.first().map(|(verdict, _)| {
        let messages: Vec<&str> = problems.iter().map(|(_, message)| message.as_str()).collect();
        Failure::new(*verdict, Phase::Handshake, messages.join("; "))
    });

    let error = match result {
        Ok(Ok(tls)) => {
            seen.tls = Some(tls_info(tls.get_ref().1, record));
            return Ok((tls, cert_failure));
        }
        Ok(Err(e)) => format!("TLS handshake: {e}"),
        Err(_) => format!("no TLS handshake within {} s", opts.tls_timeout.as_secs_f32()),
    };
    Err(match cert_failure {
        Some(mut failure) => {
            failure.detail = format!("{}; then {error}", failure.detail);
            failure
        }
        None => fail(error),
    })
}

/// The negotiated session and the presented chain (leaf first).
fn tls_info(conn: &ClientConnection, record: Option<CertRecord>) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher = match conn.negotiated_cipher_suite().map(|suite| suite.suite()) {
        Some(suite) => suite.as_str().map_or_else(|| format!("{suite:?}"), str::to_owned),
        None => "unknown".to_owned(),
    };
    let chain = match record {
        Some(record) => record.chain,
        None => conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default(),
    };
    let chain = chain
        .iter()
        .enumerate()
        .map(|(index, der)| cert::describe(der, index == 0))
        .collect();
    TlsInfo {
        version,
        cipher,
        chain,
    }
}

/// Says goodbye, without caring about the answer.
async fn quit<S: AsyncRead + AsyncWrite + Unpin>(smtp: &mut SmtpConn<S>, opts: &ProbeOptions) {
    let _ = smtp.command("QUIT", quit_timeout(opts)).await;
}

/// QUIT is a courtesy: never wait long for its reply.
fn quit_timeout(opts: &ProbeOptions) -> Duration {
    opts.command_timeout.min(QUIT_TIMEOUT)
}

fn first_line(reply: &Reply) -> &str {
    reply.lines.first().map_or("", String::as_str)
}

/// The MX name without its trailing root dot, as SNI and certificates spell it.
fn sni_name(mx_host: &str) -> &str {
    mx_host.strip_suffix('.').unwrap_or(mx_host)
}

/// RFC 5321 §4.1.1.1: EHLO takes a domain or an address literal; above all the name must
/// not smuggle a CRLF and a second command.
fn is_valid_ehlo_argument(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}
