//! The client half of just enough SMTP: commands out, bounded multi-line replies in.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the CRLF.
/// Longer lines are refused rather than buffered, so a hostile server cannot grow memory.
pub(crate) const MAX_LINE: usize = 512;

/// The most lines accepted in one reply (a long EHLO has ~15).
pub(crate) const MAX_LINES: usize = 100;

/// Why an exchange with the server did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmtpError {
    #[error("no reply within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("connection closed by the server")]
    Closed,
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("reply longer than {MAX_LINES} lines")]
    TooManyLines,
    #[error("malformed reply line {0:?}")]
    Malformed(String),
}

/// A complete SMTP reply.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The three-digit reply code, shared by every line.
    pub code: u16,
    /// Every line as received, code included, CRLF and control characters removed.
    pub lines: Vec<String>,
}

impl Reply {
    /// All lines, joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// RFC 5321 §4.2.1: 2yz is a positive completion.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// RFC 5321 §4.1.1.1: the EHLO keywords, i.e. the first word of every line but the first.
    pub fn ehlo_keywords(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .skip(1)
            .filter_map(|line| line.get(4..))
            .filter_map(|rest| rest.split_whitespace().next())
    }

    /// Whether an EHLO reply advertises the given extension (case-insensitive).
    pub fn advertises(&self, keyword: &str) -> bool {
        self.ehlo_keywords().any(|k| k.eq_ignore_ascii_case(keyword))
    }
}

/// An SMTP client connection over any byte stream (plain TCP, then TLS).
pub(crate) struct SmtpConn<S> {
    stream: S,
    /// Bytes read but not yet consumed; never more than `MAX_LINE + READ_CHUNK`.
    buf: Vec<u8>,
}

const READ_CHUNK: usize = 512;

impl<S: AsyncRead + AsyncWrite + Unpin> SmtpConn<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(MAX_LINE + READ_CHUNK),
        }
    }

    /// Give back the stream, dropping anything buffered: RFC 3207 §4.2 says nothing the
    /// server sent before TLS may be trusted, and it must not be read as TLS either.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Read one reply (e.g. the greeting) within `limit`.
    pub async fn reply(&mut self, limit: Duration) -> Result<Reply, SmtpError> {
        tokio::time::timeout(limit, self.read_reply())
            .await
            .map_err(|_| SmtpError::Timeout(limit))?
    }

    /// Send `command` (without CRLF) and read its reply, both within `limit`.
    pub async fn command(&mut self, command: &str, limit: Duration) -> Result<Reply, SmtpError> {
        let exchange = async {
            self.stream.write_all(command.as_bytes()).await?;
            self.stream.write_all(b"\r\n").await?;
            self.stream.flush().await?;
            self.read_reply().await
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| SmtpError::Timeout(limit))?
    }

    async fn read_reply(&mut self) -> Result<Reply, SmtpError> {
        let mut lines: Vec<String> = Vec::new();
        let mut code = None;
        loop {
            if lines.len() == MAX_LINES {
                return Err(SmtpError::TooManyLines);
            }
            let line = self.read_line().await?;
            let (line_code, last) = parse_reply_line(&line)?;
            // RFC 5321 §4.2.1: every line of a multi-line reply carries the same code.
            if *code.get_or_insert(line_code) != line_code {
                return Err(SmtpError::Malformed(line));
            }
            lines.push(line);
            if last {
                return Ok(Reply {
                    code: line_code,
                    lines,
                });
            }
        }
    }

    async fn read_line(&mut self) -> Result<String, SmtpError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                if end >= MAX_LINE {
                    return Err(SmtpError::LineTooLong);
                }
                let raw: Vec<u8> = self.buf.drain(..=end).collect();
                return Ok(clean_line(&raw));
            }
            if self.buf.len() >= MAX_LINE {
                return Err(SmtpError::LineTooLong);
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(SmtpError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `"250-SIZE"` → `(250, false)`, `"250 OK"` / `"250"` → `(250, true)`.
fn parse_reply_line(line: &str) -> Result<(u16, bool), SmtpError> {
    let malformed = || SmtpError::Malformed(line.to_owned());
    let digits = line.get(..3).ok_or_else(malformed)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let code = digits.parse().map_err(|_| malformed())?;
    match line.as_bytes().get(3) {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err(malformed()),
    }
}

/// Strip the line ending; keep the text printable (banners end up in logs and in the UI).
fn clean_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_parse_to_code_and_continuation() {
        for (line, expected) in [
            ("220 mx.example ESMTP", Some((220, true))),
            ("250-STARTTLS", Some((250, false))),
            ("250", Some((250, true))),
            ("25", None),
            ("2x0 nope", None),
            ("250_odd", None),
        ] {
            assert_eq!(parse_reply_line(line).ok(), expected, "{line}");
        }
    }

    #[tokio::test]
    async fn multi_line_ehlo_reply_lists_its_keywords() {
        let (client, mut server) = tokio::io::duplex(4096);
        server
            .write_all(b"250-mx.example hello\r\n250-SIZE 1000\r\n250-starttls\r\n250 8BITMIME\r\n")
            .await
            .unwrap();
        let mut conn = SmtpConn::new(client);
        let reply = conn.reply(Duration::from_secs(1)).await.unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(
            reply.ehlo_keywords().collect::<Vec<_>>(),
            ["SIZE", "starttls", "8BITMIME"]
        );
        assert!(reply.advertises("STARTTLS"));
    }

    #[tokio::test]
    async fn a_reply_whose_lines_change_code_is_malformed() {
        let (client, mut server) = tokio::io::duplex(4096);
        server.write_all(b"250-a\r\n550 b\r\n").await.unwrap();
        let mut conn = SmtpConn::new(client);
        let err = conn.reply(Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, SmtpError::Malformed(_)), "{err}");
    }

    #[tokio::test]
    async fn too_many_lines_are_refused() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let flood = "250-x\r\n".repeat(MAX_LINES + 1);
        server.write_all(flood.as_bytes()).await.unwrap();
        let mut conn = SmtpConn::new(client);
        let err = conn.reply(Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, SmtpError::TooManyLines), "{err}");
    }

    #[tokio::test]
    async fn an_endless_line_is_refused_with_a_bounded_buffer() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        server.write_all(&[b'A'; 32 * 1024]).await.unwrap();
        let mut conn = SmtpConn::new(client);
        let err = conn.reply(Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, SmtpError::LineTooLong), "{err}");
        assert!(conn.buf.len() < MAX_LINE + READ_CHUNK);
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(clean_line(b"220 a\x1b[31mb\r\n"), "220 a\u{fffd}[31mb");
    }
}
