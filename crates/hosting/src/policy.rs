//! The MTA-STS policy HTTPS server (RFC 8461 §3.3): `GET /.well-known/mta-sts.txt` on
//! `mta-sts.<domain>`, TLS 1.2+ only, the certificate chosen by SNI from memory, 200 with the
//! exact body or 404 — never a redirect.

use crate::certs::{CertStore, SniResolver};
use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::{
    Method, Request, Response, StatusCode,
    body::Incoming,
    header::{self, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use moat_domain::mta_sts::POLICY_PATH;
use rustls::ServerConfig;
use std::{
    collections::HashMap, convert::Infallible, future::Future, net::SocketAddr, pin::Pin, sync::Arc,
    time::Duration,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// A response body of any kind (the policy's fixed bytes, or another service's stream).
pub type AnyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Answers the requests for one more host on this listener (the reports host, where
/// senders `POST /v1/tlsrpt`): given the request and the peer address.
pub type HostHandler = Arc<
    dyn Fn(Request<Incoming>, SocketAddr) -> Pin<Box<dyn Future<Output = Response<AnyBody>> + Send>>
        + Send
        + Sync,
>;

/// Another host served on the policy listener besides the `mta-sts.*` hosts.
#[derive(Clone)]
pub struct ExtraHost {
    /// Its name (SNI), lowercase.
    pub host: String,
    /// Its request handler.
    pub handler: HostHandler,
}

impl std::fmt::Debug for ExtraHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraHost")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

fn boxed(r: Response<Full<Bytes>>) -> Response<AnyBody> {
    r.map(|b| b.map_err(|never| match never {}).boxed_unsync())
}

/// Policy bodies by policy host (`mta-sts.example.com`).
pub type PolicyMap = Arc<ArcSwap<HashMap<String, Bytes>>>;

/// Most connections served at once; further ones are closed at accept.
pub const MAX_CONNECTIONS: usize = 20_000;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The STARTTLS configuration of the SMTP listener: TLS 1.3 and 1.2, the certificate for
/// the SNI name when Moat has one, else the reports host's.
pub fn smtp_tls_config(certs: Arc<CertStore>, default_host: &str) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(crate::certs::FallbackResolver {
            store: certs,
            default_host: default_host.to_ascii_lowercase(),
        }));
    Ok(Arc::new(cfg))
}

/// The TLS configuration: TLS 1.3 and 1.2 (nothing older), ring, certificates by SNI.
pub fn tls_config(certs: Arc<CertStore>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(certs)));
    // HTTP/1.0 too: simple policy fetchers offer only that, and a client whose ALPN list
    // has no overlap would be cut off (RFC 7301 §3.2).
    cfg.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    cfg.session_storage = rustls::server::ServerSessionMemoryCache::new(16_384);
    cfg.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(cfg))
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// Answers one request on a connection whose SNI was `sni`.
pub fn respond<B>(req: &Request<B>, sni: &str, policies: &HashMap<String, Bytes>) -> Response<Full<Bytes>> {
    let host_ok = match req.headers().get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(h) => {
            let h = h
                .rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(h, _)| h);
            h.trim_end_matches('.').eq_ignore_ascii_case(sni)
        }
        None => true,
    };
    let body = policies.get(sni);
    match (host_ok, req.uri().path() == POLICY_PATH, body) {
        (true, true, Some(body)) => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return r;
            }
            let mut r = Response::new(Full::new(body.clone()));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Accepts connections until `token` is cancelled; each connection runs in its own task
/// (handshake included, with a timeout), so a slow client never stalls the others.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    policies: PolicyMap,
    extra: Option<ExtraHost>,
    token: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            _ = token.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "policy listener accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics::counter!("moat_policy_connections_refused_total").increment(1);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let policies = policies.clone();
        let extra = extra.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(_)) | Err(_) => {
                    metrics::counter!("moat_policy_handshake_failures_total").increment(1);
                    return;
                }
            };
            let Some(sni) = tls
                .get_ref()
                .1
                .server_name()
                .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
            else {
                return;
            };
            let handler = extra.filter(|e| e.host == sni).map(|e| e.handler);
            let svc = service_fn(move |req: Request<Incoming>| {
                let fut: Pin<Box<dyn Future<Output = Result<Response<AnyBody>, Infallible>> + Send>> =
                    match &handler {
                        Some(h) => {
                            let f = h(req, peer);
                            Box::pin(async move { Ok(f.await) })
                        }
                        None => {
                            let r = respond(&req, &sni, &policies.load());
                            metrics::counter!("moat_policy_requests_total", "status" => status_label(r.status()))
                                .increment(1);
                            Box::pin(std::future::ready(Ok(boxed(r))))
                        }
                    };
                fut
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = token.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}

fn status_label(s: StatusCode) -> &'static str {
    match s.as_u16() {
        200 => "200",
        404 => "404",
        405 => "405",
        _ => "other",
    }
}
