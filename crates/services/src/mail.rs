//! Outbound mail: through an SMTP relay when one is configured, otherwise written as `.eml`
//! files to the outbox folder so a newcomer sees invitations without any mail server.

use crate::{Error, Result};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use std::path::PathBuf;

/// Where mail goes.
pub enum Mailer {
    /// `.eml` files in this folder.
    Outbox(PathBuf),
    /// An SMTP relay (`smtp://` with STARTTLS or `smtps://`).
    Relay(AsyncSmtpTransport<Tokio1Executor>),
}

/// A plain-text message to one recipient.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

impl Mailer {
    /// A relay from a URL such as `smtp://user:pass@host:587` or `smtps://host`.
    pub fn relay(url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        Ok(Mailer::Relay(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
        ))
    }

    /// Sends one message. Returns where it went (the outbox file or `relay`).
    pub async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| Error::Internal(anyhow::anyhow!("invalid sender address {from:?}: {e}")))?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| Error::invalid("email", "invalid recipient address"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        match self {
            Mailer::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| Error::Unavailable(anyhow::Error::new(e)))?;
                let name = format!("{}-{}.eml", crate::now(), &crate::tokens::generate()[..10]);
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| Error::Unavailable(anyhow::Error::new(e)))?;
                tracing::info!(mail.to = %mail.to, path = %path.display(), "mail written to outbox {}", path.display());
                Ok(path.display().to_string())
            }
            Mailer::Relay(transport) => {
                transport
                    .send(message)
                    .await
                    .map_err(|e| Error::Unavailable(anyhow::Error::new(e)))?;
                tracing::info!(mail.to = %mail.to, "mail sent through relay");
                Ok("relay".into())
            }
        }
    }
}
