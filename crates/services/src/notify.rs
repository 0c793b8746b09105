//! Telling people about problems: e-mail to the organization's members (at once, in a daily
//! digest, or not at all, each member's choice) and a signed webhook per organization. An
//! open problem is repeated no more often than the organization's interval, never once it is
//! acknowledged (until it escalates), and its resolution is announced once.
//!
//! Webhook requests are `POST` with a JSON body and
//! `X-Moat-Signature: sha256=<hex HMAC-SHA256(secret, "<X-Moat-Timestamp>.<body>")>`.

use crate::{Error, Result, Services, detect::view, mail::OutgoingMail, net::is_public, tenancy::OrgScope};
use moat_domain::{
    Action,
    calendar::format_utc,
    views::{NotificationSettings, ProblemView},
};
use moat_store::problems::{self as store, ProblemRow, Settings};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-moat-signature";
/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-moat-timestamp";
/// The header naming the event.
pub const EVENT_HEADER: &str = "x-moat-event";

/// What a webhook receives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `problem.opened`, `problem.escalated`, `problem.reminder` or `problem.resolved`.
    pub event: String,
    /// The problem.
    pub problem: ProblemView,
    /// Where to see it.
    pub url: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// `sha256=<hex>` of `timestamp.body` under `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// Whether `signature` is `sign(secret, timestamp, body)` (constant time).
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = timestamp.to_string().into_bytes();
    msg.push(b'.');
    msg.extend_from_slice(body);
    ring::hmac::verify(&key, &msg, &sig).is_ok()
}

/// Checks a webhook URL as the organization enters it.
pub fn check_webhook_url(url: &str, allow_private: bool) -> Result<url::Url> {
    let parsed =
        url::Url::parse(url.trim()).map_err(|e| Error::invalid("webhook_url", format!("not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(Error::invalid("webhook_url", "must be an https:// URL")),
    }
    let Some(host) = parsed.host_str() else {
        return Err(Error::invalid("webhook_url", "has no host"));
    };
    if !allow_private
        && let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
        && !is_public(ip)
    {
        return Err(Error::invalid(
            "webhook_url",
            "must not point to a private or loopback address",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "webhook_url",
            "must not contain credentials; use the signature to authenticate Moat",
        ));
    }
    Ok(parsed)
}

/// POSTs `event` to `url`, resolving the host once and refusing private addresses unless
/// allowed (so a DNS answer cannot redirect the request inside the network).
async fn deliver(
    url: &str,
    secret: &str,
    event: &WebhookEvent,
    allow_private: bool,
) -> std::result::Result<(), String> {
    let parsed = check_webhook_url(url, allow_private).map_err(|e| e.to_string())?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let Some(addr) = addrs.iter().copied().find(|a| allow_private || is_public(a.ip())) else {
        return Err(format!("{host} resolves only to private addresses"));
    };
    let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    let ts = event.sent_at;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(&host, addr)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(parsed)
        .header("content-type", "application/json")
        .header("user-agent", "Moat webhook")
        .header(EVENT_HEADER, &event.event)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, sign(secret, ts, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("webhook request failed: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", resp.status()))
    }
}

fn link(svc: &Services, p: &ProblemRow) -> String {
    format!(
        "{}/orgs/{}/domains/{}/dashboard",
        svc.settings.public_url, p.org_id.0, p.domain
    )
}

fn mail_for(p: &ProblemView, event: &str, url: &str) -> (String, String) {
    let subject = match event {
        "problem.resolved" => format!("[Moat] Resolved: {}", p.title),
        "problem.escalated" => format!("[Moat] Now {}: {}", p.severity, p.title),
        _ => format!("[Moat] {}: {}", p.severity, p.title),
    };
    let mut body = format!(
        "{}\n\nDomain: {}\nSeverity: {}\nOpened: {}\n\n{}\n\nWhat to do: {}\n",
        p.title,
        p.display_domain,
        p.severity,
        format_utc(p.opened_at),
        p.detail,
        p.fix
    );
    if event == "problem.resolved" {
        body = format!("This problem no longer occurs.\n\n{body}");
    }
    if !p.evidence.is_empty() {
        body.push_str("\nEvidence:\n");
        for e in &p.evidence {
            body.push_str(&format!("- {} {}: {}\n", format_utc(e.at), e.sender, e.text));
        }
    }
    body.push_str(&format!("\nSee it in Moat: {url}\n"));
    (subject, body)
}

/// How many problems are notified at once, so one slow webhook does not hold up the others.
const CONCURRENCY: usize = 8;

/// Sends what is due now; returns how many problems were notified.
pub async fn notify_due(svc: &Services, now: i64) -> Result<usize> {
    use futures::StreamExt as _;
    let due = store::due(&svc.db, now, 200).await?;
    let outcomes: Vec<Result<bool>> = futures::stream::iter(due)
        .map(|p| notify_one(svc, p, now))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut done = 0;
    for outcome in outcomes {
        match outcome {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "notifying a problem failed: {e}"),
        }
    }
    Ok(done)
}

/// Claims and sends one due problem; `false` when another instance claimed it first.
async fn notify_one(svc: &Services, p: ProblemRow, now: i64) -> Result<bool> {
    // Several instances may run this at once: whoever records it first sends it.
    if !store::claim_notification(&svc.db, &p, now).await? {
        return Ok(false);
    }
    let event = if p.status == "resolved" {
        "problem.resolved"
    } else if p.notified_at == Some(store::ESCALATED) {
        "problem.escalated"
    } else if p.notified_at.is_some() {
        "problem.reminder"
    } else {
        "problem.opened"
    };
    let url = link(svc, &p);
    let settings = store::settings(&svc.db, p.org_id).await?;
    let problem_id = p.id;
    let org = p.org_id;
    let pv = view(p);
    let (subject, body) = mail_for(&pv, event, &url);
    for r in store::recipients(&svc.db, org).await? {
        if r.mode != "immediate" {
            continue;
        }
        let mail = OutgoingMail {
            to: r.email.clone(),
            subject: subject.clone(),
            body: body.clone(),
        };
        if let Err(e) = svc.mailer.send(&svc.settings.mail_from, &mail).await {
            tracing::warn!(problem = problem_id, error = %e, "problem e-mail failed: {e}");
        }
    }
    if let (Some(hook), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) {
        let ev = WebhookEvent {
            event: event.into(),
            problem: pv,
            url,
            sent_at: now,
        };
        if let Err(e) = deliver(hook, secret, &ev, svc.settings.webhook_allow_private).await {
            metrics::counter!("moat_webhook_failures_total").increment(1);
            tracing::warn!(problem = problem_id, org = org.0, "webhook delivery failed: {e}");
        }
    }
    Ok(true)
}

/// Sends the daily digest to members who chose it, once per UTC day, when their
/// organization has open problems of at least its minimum severity.
pub async fn send_digests(svc: &Services, now: i64) -> Result<usize> {
    let today = now - now.rem_euclid(86_400);
    let mut sent = 0;
    for org in store::digest_orgs(&svc.db).await? {
        let settings = store::settings(&svc.db, org).await?;
        let min = store::rank(&settings.min_severity);
        let open: Vec<ProblemRow> = store::list(&svc.db, &[org], None, now)
            .await?
            .into_iter()
            .filter(|p| p.status == "open" && store::rank(&p.severity) >= min)
            .collect();
        for r in store::recipients(&svc.db, org).await? {
            if r.mode != "digest" || r.last_digest.is_some_and(|d| d >= today) {
                continue;
            }
            if !open.is_empty() {
                let mut body = format!("{} open problem(s) with your domains:\n\n", open.len());
                for p in &open {
                    body.push_str(&format!(
                        "- [{}] {} — {}\n  What to do: {}\n  {}\n\n",
                        p.severity,
                        p.title,
                        moat_domain::hosting::to_unicode(&p.domain),
                        p.fix,
                        link(svc, p)
                    ));
                }
                let mail = OutgoingMail {
                    to: r.email.clone(),
                    subject: format!("[Moat] Daily digest: {} open problem(s)", open.len()),
                    body,
                };
                // One failing recipient must not stop the others' digests; this one is
                // tried again at the next run.
                if let Err(e) = svc.mailer.send(&svc.settings.mail_from, &mail).await {
                    tracing::warn!(org = org.0, error = %e, "digest e-mail failed: {e}");
                    continue;
                }
                sent += 1;
            }
            store::set_last_digest(&svc.db, org, r.user_id, today).await?;
        }
    }
    Ok(sent)
}

/// `https://host/…`: the URL without its path and query.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
        Err(_) => "(set)".into(),
    }
}

fn new_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("whsec_{}", hex::encode(b))
}

/// The organization's settings and the viewer's preference.
pub async fn settings_for(svc: &Services, scope: &OrgScope) -> Result<NotificationSettings> {
    let s = store::settings(&svc.db, scope.org_id()).await?;
    let can_manage = scope.role().can(Action::ManageDomains);
    let me = scope.actor().user_id();
    let my_email = match me {
        Some(uid) => store::recipients(&svc.db, scope.org_id())
            .await?
            .into_iter()
            .find(|r| r.user_id == uid)
            .map_or_else(|| "immediate".to_owned(), |r| r.mode),
        None => "immediate".into(),
    };
    Ok(NotificationSettings {
        // Webhook URLs often carry a credential in their path (Slack, Teams): members who
        // cannot change the settings see only where it goes.
        webhook_url: if can_manage {
            s.webhook_url
        } else {
            s.webhook_url.map(|u| redact_url(&u))
        },
        webhook_secret: if can_manage { s.webhook_secret } else { None },
        repeat_hours: s.repeat_hours,
        min_severity: s.min_severity,
        my_email,
        can_manage,
    })
}

/// Saves the organization's webhook, repeat interval and minimum severity (admins). A new
/// webhook URL gets a fresh secret; `rotate` issues a new one for the same URL.
pub async fn save_settings(
    svc: &Services,
    scope: &OrgScope,
    webhook_url: Option<&str>,
    repeat_hours: i64,
    min_severity: &str,
    rotate: bool,
) -> Result<NotificationSettings> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    if !(1..=24 * 30).contains(&repeat_hours) {
        return Err(Error::invalid(
            "repeat_hours",
            "between 1 hour and 30 days (720 hours)",
        ));
    }
    if !matches!(min_severity, "info" | "warning" | "critical") {
        return Err(Error::invalid("min_severity", "info, warning or critical"));
    }
    let url = match webhook_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(check_webhook_url(u, svc.settings.webhook_allow_private)?.to_string()),
        None => None,
    };
    let old: Settings = store::settings(&svc.db, scope.org_id()).await?;
    let secret = match &url {
        None => None,
        Some(u) if !rotate && old.webhook_url.as_deref() == Some(u.as_str()) => old.webhook_secret.clone(),
        Some(_) => Some(new_secret()),
    };
    store::save_settings(
        &svc.db,
        scope.org_id(),
        &Settings {
            webhook_url: url.clone(),
            webhook_secret: secret,
            repeat_hours,
            min_severity: min_severity.into(),
        },
        crate::now(),
    )
    .await?;
    scope
        .audit(
            svc,
            "notifications.changed",
            &format!(
                "notifications: webhook {}, repeat every {repeat_hours} h, from {min_severity}{}",
                url.as_deref().unwrap_or("none"),
                if rotate { ", secret rotated" } else { "" }
            ),
        )
        .await?;
    settings_for(svc, scope).await
}

/// Sets the viewer's own e-mail choice: `immediate`, `digest` or `off`.
pub async fn set_my_email(svc: &Services, scope: &OrgScope, mode: &str) -> Result<()> {
    if !matches!(mode, "immediate" | "digest" | "off") {
        return Err(Error::invalid("email", "immediate, digest or off"));
    }
    let Some(uid) = scope.actor().user_id() else {
        return Err(Error::invalid("email", "only members have e-mail preferences"));
    };
    store::set_pref(&svc.db, scope.org_id(), uid, mode).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let sig = sign("s3cret", 1_800_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify("s3cret", 1_800_000_000, b"{\"a\":1}", &sig));
        assert!(!verify("s3cret", 1_800_000_001, b"{\"a\":1}", &sig));
        assert!(!verify("s3cret", 1_800_000_000, b"{\"a\":2}", &sig));
        assert!(!verify("other", 1_800_000_000, b"{\"a\":1}", &sig));
        assert!(!verify("s3cret", 1_800_000_000, b"{\"a\":1}", "sha256=zz"));
    }

    #[test]
    fn webhook_urls() {
        assert!(check_webhook_url("https://hooks.example.com/moat", false).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "https://user:pw@hooks.example.com/",
            "ftp://x.example/",
            "nonsense",
            "https://0.1.2.3/",
            "https://100.64.0.1/",
            "https://198.18.0.1/",
            "https://224.0.0.1/",
            "https://240.0.0.1/",
            "https://255.255.255.255/",
            "https://[64:ff9b::a00:1]/",
            "https://[2002:a00:1::]/",
            "https://[2001:0:a00:1::]/",
            "https://[ff02::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:8.8.8.8]/",
            "https://[::10.0.0.1]/",
        ] {
            assert!(check_webhook_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "https://8.8.8.8/hook",
            "https://[2606:4700::1111]/hook",
            "https://203.0.114.1/",
        ] {
            assert!(check_webhook_url(good, false).is_ok(), "{good}");
        }
        assert!(check_webhook_url("http://127.0.0.1:9/x", true).is_ok());
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/secret"),
            "https://hooks.slack.com/…"
        );
    }
}
