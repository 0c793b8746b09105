//! Moat's receive-only SMTP listener: TLS reports (RFC 8460 §5.3) mailed to
//! `tlsrpt+<domain>@<reports domain>`.
//!
//! Commands are parsed by `smtp-proto` (a sans-IO parser) inside our own tokio loop. The
//! listener offers SIZE, PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES and STARTTLS; it has no
//! AUTH and relays nothing: a recipient that is not one of Moat's report addresses gets
//! 550. The reply to DATA is 250 only once the raw message is committed to the database; if
//! that fails the sender gets 451 and retries.

use moat_services::{
    Services,
    intake::{Channel, Incoming, Outcome, Recipient},
};
use smtp_proto::{
    Error as ProtoError, Request, request::receiver::DataReceiver, request::receiver::RequestReceiver,
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Longest command line accepted, bytes (RFC 5321 §4.5.3.1.4 allows 512; extensions add
/// parameters, so be generous like smtp-proto's own limit).
const MAX_COMMAND_LINE: usize = smtp_proto::request::receiver::MAX_LINE_LENGTH;

/// Listener settings.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The name in the greeting and EHLO reply (the reports host).
    pub hostname: String,
    /// Largest message accepted (advertised as SIZE).
    pub max_message_bytes: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most connections at once; further ones get 421.
    pub max_connections: usize,
    /// Idle time allowed while waiting for a command (RFC 5321 §4.5.3.2: 5 minutes).
    pub command_timeout: Duration,
    /// Idle time allowed while receiving message data (RFC 5321: 3 minutes per block).
    pub data_timeout: Duration,
    /// Bad commands tolerated before the connection is closed.
    pub max_errors: usize,
    /// STARTTLS, when a certificate configuration is available.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("hostname", &self.hostname)
            .field("starttls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// Production defaults for `hostname`, without TLS.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            max_message_bytes: moat_services::intake::MAX_MESSAGE_BYTES,
            max_recipients: 50,
            max_connections: 1_000,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            max_errors: 10,
            tls: None,
        }
    }
}

/// Accepts connections until `token` is cancelled; each runs in its own task.
pub async fn serve(listener: TcpListener, cfg: Arc<SmtpConfig>, svc: Services, token: CancellationToken) {
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    loop {
        let (mut stream, peer) = tokio::select! {
            _ = token.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics::counter!("moat_smtp_connections_refused_total").increment(1);
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    stream.write_all(b"421 4.3.2 Too many connections, try again later\r\n"),
                )
                .await;
            });
            continue;
        };
        let cfg = cfg.clone();
        let svc = svc.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                r = connection(stream, peer, &cfg, &svc) => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "SMTP connection ended with an error");
                    }
                }
                _ = token.cancelled() => {}
            }
        });
    }
}

/// How a session over one transport ended.
enum End {
    /// QUIT, EOF, timeout or too many errors.
    Closed,
    /// The client asked for STARTTLS and got 220: upgrade and start over.
    StartTls,
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    cfg: &SmtpConfig,
    svc: &Services,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    metrics::counter!("moat_smtp_connections_total").increment(1);
    stream
        .write_all(format!("220 {} ESMTP Moat TLS report receiver\r\n", cfg.hostname).as_bytes())
        .await?;
    let mut session = Session::new(peer, false);
    match session.run(&mut stream, cfg, svc).await? {
        End::Closed => Ok(()),
        End::StartTls => {
            let Some(tls) = cfg.tls.clone() else {
                return Ok(());
            };
            // Whatever the client pipelined after STARTTLS was in `run`'s buffer and is gone
            // with it: nothing sent in plaintext is ever read as a command under TLS.
            let mut tls_stream =
                match tokio::time::timeout(Duration::from_secs(30), TlsAcceptor::from(tls).accept(stream))
                    .await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        metrics::counter!("moat_smtp_tls_failures_total").increment(1);
                        tracing::debug!(%peer, error = %e, "STARTTLS handshake failed");
                        return Ok(());
                    }
                    Err(_) => return Ok(()),
                };
            // RFC 3207 §4.2: the server forgets everything it knew from the client.
            let mut session = Session::new(peer, true);
            session.run(&mut tls_stream, cfg, svc).await?;
            let _ = tls_stream.shutdown().await;
            Ok(())
        }
    }
}

/// One SMTP session over one transport (plaintext, or after STARTTLS).
struct Session {
    peer: SocketAddr,
    tls: bool,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    errors: usize,
}

/// What the command loop does next.
enum Next {
    Continue,
    Data,
    StartTls,
    Quit,
}

impl Session {
    fn new(peer: SocketAddr, tls: bool) -> Self {
        Self {
            peer,
            tls,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            errors: 0,
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        cfg: &SmtpConfig,
        svc: &Services,
    ) -> std::io::Result<End> {
        let mut receiver = RequestReceiver::default();
        let mut buf = vec![0u8; 16 * 1024];
        let mut out: Vec<u8> = Vec::with_capacity(512);
        // Bytes read but not yet consumed (pipelined commands, or the start of the data).
        let mut pending: Vec<u8> = Vec::new();
        loop {
            if pending.is_empty() {
                if !out.is_empty() {
                    stream.write_all(&out).await?;
                    out.clear();
                }
                let n = match tokio::time::timeout(cfg.command_timeout, stream.read(&mut buf)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        let _ = stream
                            .write_all(b"421 4.4.2 Idle too long, closing connection\r\n")
                            .await;
                        return Ok(End::Closed);
                    }
                };
                if n == 0 {
                    return Ok(End::Closed);
                }
                pending.extend_from_slice(&buf[..n]);
            }
            let mut iter = pending.iter();
            let mut next = Next::Continue;
            loop {
                // A complete command line longer than the limit (smtp-proto checks only
                // lines split across reads): refuse it and go on with the next one.
                let rest = iter.as_slice();
                if let Some(nl) = rest.iter().position(|&b| b == b'\n')
                    && nl > MAX_COMMAND_LINE
                {
                    iter = rest[nl + 1..].iter();
                    self.errors += 1;
                    out.extend_from_slice(protocol_error(&ProtoError::ResponseTooLong).as_bytes());
                    if self.errors >= cfg.max_errors {
                        out.extend_from_slice(b"421 4.7.0 Too many errors, closing connection\r\n");
                        stream.write_all(&out).await?;
                        return Ok(End::Closed);
                    }
                    continue;
                }
                let request = match receiver.ingest(&mut iter) {
                    Ok(r) => r.into_owned(),
                    Err(ProtoError::NeedsMoreData { .. }) => break,
                    Err(e) => {
                        self.errors += 1;
                        out.extend_from_slice(protocol_error(&e).as_bytes());
                        if self.errors >= cfg.max_errors {
                            out.extend_from_slice(b"421 4.7.0 Too many errors, closing connection\r\n");
                            stream.write_all(&out).await?;
                            return Ok(End::Closed);
                        }
                        continue;
                    }
                };
                next = self.command(request, cfg, svc, &mut out).await;
                if !matches!(next, Next::Continue) {
                    break;
                }
            }
            let rest = iter.as_slice().to_vec();
            pending = rest;
            match next {
                Next::Continue => {}
                Next::Quit => {
                    stream.write_all(&out).await?;
                    return Ok(End::Closed);
                }
                Next::StartTls => {
                    stream.write_all(&out).await?;
                    stream.flush().await?;
                    // `pending` (anything pipelined after STARTTLS) is dropped here.
                    return Ok(End::StartTls);
                }
                Next::Data => {
                    stream.write_all(&out).await?;
                    out.clear();
                    let message = match self.read_data(stream, cfg, &mut pending, &mut buf).await? {
                        Some(m) => m,
                        None => return Ok(End::Closed),
                    };
                    let reply = match message {
                        Data::TooBig => format!(
                            "552 5.3.4 Message exceeds the size limit of {} bytes\r\n",
                            cfg.max_message_bytes
                        ),
                        Data::Message(bytes) => self.deliver(bytes, svc).await,
                    };
                    self.reset();
                    out.extend_from_slice(reply.as_bytes());
                }
            }
        }
    }

    async fn command(
        &mut self,
        request: Request<String>,
        cfg: &SmtpConfig,
        svc: &Services,
        out: &mut Vec<u8>,
    ) -> Next {
        let reply: String = match request {
            Request::Ehlo { host } => {
                self.reset();
                self.helo = Some(host);
                let mut lines = vec![
                    format!("{} Hello", cfg.hostname),
                    format!("SIZE {}", cfg.max_message_bytes),
                    "PIPELINING".into(),
                    "8BITMIME".into(),
                    "ENHANCEDSTATUSCODES".into(),
                ];
                if cfg.tls.is_some() && !self.tls {
                    lines.push("STARTTLS".into());
                }
                let last = lines.len() - 1;
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
                    .collect()
            }
            Request::Helo { host } => {
                self.reset();
                self.helo = Some(host);
                format!("250 {}\r\n", cfg.hostname)
            }
            Request::Lhlo { .. } => "500 5.5.1 This is SMTP, not LMTP\r\n".into(),
            Request::Mail { from } => {
                if self.helo.is_none() {
                    "503 5.5.1 Say EHLO first\r\n".into()
                } else if self.mail_from.is_some() {
                    "503 5.5.1 Sender already given\r\n".into()
                } else if from.size > cfg.max_message_bytes {
                    format!(
                        "552 5.3.4 Message size exceeds the limit of {} bytes\r\n",
                        cfg.max_message_bytes
                    )
                } else {
                    self.mail_from = Some(from.address);
                    "250 2.1.0 Sender OK\r\n".into()
                }
            }
            Request::Rcpt { to } => {
                if self.mail_from.is_none() {
                    "503 5.5.1 Need MAIL first\r\n".into()
                } else if self.rcpt_to.len() >= cfg.max_recipients {
                    "452 4.5.3 Too many recipients\r\n".into()
                } else {
                    match svc.report_recipient(&to.address).await {
                        Ok(Recipient::Accept(_)) => {
                            self.rcpt_to.push(to.address);
                            "250 2.1.5 Recipient OK\r\n".into()
                        }
                        Ok(Recipient::NotOurs) => {
                            metrics::counter!("moat_smtp_rcpt_refused_total").increment(1);
                            format!(
                                "550 5.7.1 Relaying denied: this server only accepts TLS reports for @{}\r\n",
                                svc.settings.hosting.reports_mail_domain
                            )
                        }
                        Ok(Recipient::UnknownDomain(d)) => {
                            format!("550 5.1.1 No TLS reports are accepted for {d} here\r\n")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot check an SMTP recipient");
                            "451 4.3.0 Temporary failure, try again later\r\n".into()
                        }
                    }
                }
            }
            Request::Data => {
                if self.mail_from.is_none() {
                    "503 5.5.1 Need MAIL first\r\n".into()
                } else if self.rcpt_to.is_empty() {
                    "554 5.5.1 No valid recipients\r\n".into()
                } else {
                    out.extend_from_slice(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n");
                    return Next::Data;
                }
            }
            Request::Bdat { .. } => "502 5.5.1 BDAT is not supported here\r\n".into(),
            Request::Auth { .. } => {
                "502 5.7.0 Authentication is not available: this server only receives\r\n".into()
            }
            Request::StartTls => {
                if self.tls {
                    "503 5.5.1 TLS is already active\r\n".into()
                } else if cfg.tls.is_none() {
                    "502 5.5.1 STARTTLS is not available\r\n".into()
                } else {
                    out.extend_from_slice(b"220 2.0.0 Ready to start TLS\r\n");
                    return Next::StartTls;
                }
            }
            Request::Noop { .. } => "250 2.0.0 OK\r\n".into(),
            Request::Rset => {
                self.reset();
                "250 2.0.0 OK\r\n".into()
            }
            Request::Vrfy { .. } => "252 2.5.0 Cannot verify, but will accept report addresses\r\n".into(),
            Request::Quit => {
                out.extend_from_slice(b"221 2.0.0 Bye\r\n");
                return Next::Quit;
            }
            Request::Expn { .. }
            | Request::Help { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => "502 5.5.1 Command not implemented\r\n".into(),
        };
        out.extend_from_slice(reply.as_bytes());
        Next::Continue
    }

    /// Reads the message after 354 up to the terminating `.`; `None` when the client went
    /// away (or idled out) first.
    async fn read_data<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        cfg: &SmtpConfig,
        pending: &mut Vec<u8>,
        buf: &mut [u8],
    ) -> std::io::Result<Option<Data>> {
        let mut data = DataReceiver::new();
        let mut message: Vec<u8> = Vec::new();
        // smtp-proto only recognises the terminator after a CRLF; prime it with one so an
        // empty message (a lone "." line) ends too, and drop those two bytes afterwards.
        let mut iter = b"\r\n".iter();
        data.ingest(&mut iter, &mut message);
        let mut too_big = false;
        loop {
            if !pending.is_empty() {
                let mut iter = pending.iter();
                let done = data.ingest(&mut iter, &mut message);
                let rest = iter.as_slice().to_vec();
                *pending = rest;
                if message.len() > cfg.max_message_bytes + 2 {
                    // Keep reading to the end, but hold nothing more.
                    too_big = true;
                    message.clear();
                }
                if done {
                    if too_big {
                        return Ok(Some(Data::TooBig));
                    }
                    message.drain(..2.min(message.len()));
                    return Ok(Some(Data::Message(message)));
                }
            }
            let n = match tokio::time::timeout(cfg.data_timeout, stream.read(buf)).await {
                Ok(r) => r?,
                Err(_) => {
                    let _ = stream
                        .write_all(b"421 4.4.2 Timeout while receiving data\r\n")
                        .await;
                    return Ok(None);
                }
            };
            if n == 0 {
                return Ok(None);
            }
            pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Stores the message and answers: 250 once committed, 451 when it could not be.
    async fn deliver(&mut self, bytes: Vec<u8>, svc: &Services) -> String {
        let incoming = Incoming {
            channel: Channel::Smtp,
            peer: Some(self.peer.to_string()),
            helo: self.helo.clone(),
            mail_from: self.mail_from.clone(),
            rcpt_to: self.rcpt_to.clone(),
            tls: self.tls,
            content_type: None,
            file_name: None,
            org_hint: None,
            bytes: Arc::new(bytes),
        };
        match svc.receive_report(incoming).await {
            Ok(receipt) => {
                metrics::counter!("moat_smtp_messages_total", "result" => "stored").increment(1);
                let what = match &receipt.outcome {
                    Outcome::Stored { reports, .. } if receipt.outcome.is_duplicate() => {
                        format!("{} report(s) already received", reports.len())
                    }
                    Outcome::Stored { reports, .. } => format!("{} report(s)", reports.len()),
                    Outcome::Repeated { .. } => "already received".into(),
                    Outcome::Rejected(_) => "kept, but it is not a readable TLS report".into(),
                    Outcome::Unattributed(_) => "kept, but for no domain here".into(),
                    Outcome::Deferred => "kept".into(),
                };
                format!("250 2.0.0 Stored as #{} ({what})\r\n", receipt.raw_id)
            }
            Err(e) => {
                metrics::counter!("moat_smtp_messages_total", "result" => "deferred").increment(1);
                tracing::warn!(peer = %self.peer, error = %e, "cannot store a report message; the sender will retry");
                "451 4.3.0 Temporary storage failure, try again later\r\n".into()
            }
        }
    }
}

enum Data {
    Message(Vec<u8>),
    TooBig,
}

fn protocol_error(e: &ProtoError) -> String {
    match e {
        ProtoError::UnknownCommand => "500 5.5.2 Command not recognized\r\n".into(),
        ProtoError::ResponseTooLong => "500 5.5.6 Line too long\r\n".into(),
        ProtoError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax\r\n".into(),
        ProtoError::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax\r\n".into(),
        ProtoError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}\r\n"),
        ProtoError::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}\r\n"),
        ProtoError::UnsupportedParameter { param } => format!("555 5.5.4 Unsupported parameter {param}\r\n"),
        _ => "500 5.5.2 Syntax error\r\n".into(),
    }
}
