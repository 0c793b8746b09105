//! Certificates from an ACME CA (RFC 8555) for every host Moat serves, shared by all instances
//! through the database.
//!
//! * Every instance runs [`Acme::spawn`]: each tick it makes sure a job exists for each served
//!   host that has no certificate or whose renewal time has come, then claims due jobs with a
//!   lease, so of several instances exactly one orders a given certificate.
//! * Only hosts in the served snapshot are ever ordered, and a domain is served only once its
//!   CNAMEs point to Moat — no certificate for a name not delegated to Moat.
//! * HTTP-01 answers are stored in the database and served by [`serve_http01`] on every
//!   instance, so whichever instance the CA reaches can answer.
//! * The certificate and its sealed key go to the database; storing bumps the hosting
//!   generation, so every instance loads the new certificate without a restart.
//! * A failed order is retried with exponential back-off (1 minute doubling to a day), so a
//!   broken domain never burns the CA's rate limits. Renewal starts when a third of the
//!   lifetime is left, at most 30 days before expiry.

use crate::secret::MasterKey;
use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode, body::Incoming, header, server::conn::http1, service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use moat_store::{Db, acme as store};
use std::{convert::Infallible, path::PathBuf, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The job kind of certificate orders.
pub const ORDER_JOB: &str = store::ORDER_JOB;
/// How long a claimed order may take before another instance may try.
const LEASE_SECONDS: i64 = 600;
/// How often each instance looks for work.
pub const TICK: Duration = Duration::from_secs(2);
/// How long the CA gets to validate and to issue.
const CA_TIMEOUT: Duration = Duration::from_secs(120);
/// Renewal starts at most this long before expiry.
const RENEW_BEFORE_MAX: i64 = 30 * 86_400;
/// A certificate this close to expiry is an alert.
pub const ALERT_BEFORE: i64 = 14 * 86_400;

/// Where and how to get certificates.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The CA's directory URL.
    pub directory: String,
    /// A PEM file whose first certificate is trusted for the CA's own HTTPS (for a private
    /// or test CA); the system's roots otherwise.
    pub ca_roots: Option<PathBuf>,
    /// Contact e-mail for the account.
    pub contact: Option<String>,
}

/// When to start renewing a certificate valid from `not_before` to `not_after`: when a third
/// of its lifetime is left, but at most 30 days before it expires.
pub fn renew_at(not_before: i64, not_after: i64) -> i64 {
    let lifetime = (not_after - not_before).max(0);
    not_after - (lifetime / 3).min(RENEW_BEFORE_MAX)
}

/// How long to wait after the `attempts`-th failure in a row: 1 minute, doubling, at most a
/// day.
pub fn backoff(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    60i64.saturating_mul(1i64 << exp).min(86_400)
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The ACME client of one instance.
pub struct Acme {
    db: Db,
    settings: AcmeSettings,
    key: Arc<MasterKey>,
    /// This instance, as lease owner.
    owner: String,
    account: tokio::sync::Mutex<Option<Account>>,
    /// When the expiry warning was last logged, per host.
    warned: tokio::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("directory", &self.settings.directory)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Acme {
    /// A client for `settings`; `owner` names this instance in job leases.
    pub fn new(db: Db, settings: AcmeSettings, key: Arc<MasterKey>, owner: String) -> Self {
        Self {
            db,
            settings,
            key,
            owner,
            account: tokio::sync::Mutex::new(None),
            warned: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Runs [`Self::tick`] every [`TICK`] over the hosts `hosts()` returns, until `token` is
    /// cancelled. An order in progress at shutdown is abandoned and its lease given back.
    pub fn spawn(
        self: Arc<Self>,
        hosts: impl Fn() -> Vec<String> + Send + 'static,
        token: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = self.tick(&hosts(), &token).await {
                            tracing::warn!(error = %format!("{e:#}"), "certificate scheduling failed; retrying");
                        }
                    }
                }
            }
        })
    }

    /// Schedules orders for `hosts` (no certificate yet, or renewal due), forgets hosts no
    /// longer served, and runs the due orders this instance can claim. Returns how many ran.
    pub async fn tick(&self, hosts: &[String], token: &CancellationToken) -> anyhow::Result<usize> {
        let now = unix_now();
        let renewals = store::renewal_times(&self.db).await?;
        for host in hosts {
            let due = renewals
                .iter()
                .find(|(h, _, _)| h == host)
                .is_none_or(|(_, at, _)| *at <= now);
            if due && store::ensure_job(&self.db, ORDER_JOB, host, now).await? {
                tracing::info!(%host, "certificate order scheduled");
            }
        }
        store::delete_jobs_except(&self.db, ORDER_JOB, hosts).await?;
        self.warn_expiring(hosts, &renewals, now).await?;
        let mut ran = 0;
        while !token.is_cancelled() {
            let now = unix_now();
            let Some(job) =
                store::claim_job(&self.db, ORDER_JOB, &self.owner, now, now + LEASE_SECONDS).await?
            else {
                break;
            };
            let host = job.subject.clone();
            // Another instance may have stored a certificate between our look at the renewal
            // times and this claim: then there is nothing to order.
            if let Some(c) = store::certificate(&self.db, &host).await?
                && c.renew_at > now
            {
                store::finish_job(&self.db, ORDER_JOB, &host, &self.owner).await?;
                continue;
            }
            ran += 1;
            tracing::info!(%host, attempt = job.attempts + 1, "ordering a certificate");
            let outcome = tokio::select! {
                r = self.order(&host) => Some(r),
                _ = token.cancelled() => None,
            };
            match outcome {
                None => store::release_job(&self.db, ORDER_JOB, &host, &self.owner).await?,
                Some(Ok(row)) => {
                    store::put_certificate(&self.db, &row).await?;
                    store::finish_job(&self.db, ORDER_JOB, &host, &self.owner).await?;
                    metrics::counter!("moat_acme_orders_total", "result" => "ok").increment(1);
                    tracing::info!(%host, issuer = %row.issuer, serial = %row.serial, not_after = row.not_after,
                        "certificate obtained");
                }
                Some(Err(e)) => {
                    let attempts = job.attempts + 1;
                    let retry_at = unix_now() + backoff(attempts);
                    let error = format!("{e:#}");
                    store::fail_job(&self.db, ORDER_JOB, &host, &self.owner, &error, retry_at).await?;
                    metrics::counter!("moat_acme_orders_total", "result" => "error").increment(1);
                    tracing::warn!(%host, attempts, retry_at, %error, "certificate order failed");
                }
            }
        }
        Ok(ran)
    }

    /// Logs (at most hourly per host) the served certificates within [`ALERT_BEFORE`] of
    /// expiry: renewal has been failing for two weeks.
    async fn warn_expiring(
        &self,
        hosts: &[String],
        stored: &[(String, i64, i64)],
        now: i64,
    ) -> anyhow::Result<()> {
        let mut warned = self.warned.lock().await;
        for (host, _, not_after) in stored {
            if !hosts.contains(host) || not_after - now > ALERT_BEFORE {
                continue;
            }
            if warned.get(host).is_some_and(|at| now - at < 3_600) {
                continue;
            }
            warned.insert(host.clone(), now);
            let job = store::job(&self.db, ORDER_JOB, host).await?;
            let last_error = job
                .and_then(|j| j.last_error)
                .unwrap_or_else(|| "none recorded".into());
            metrics::counter!("moat_acme_expiry_alerts_total").increment(1);
            tracing::warn!(%host, not_after, days_left = (not_after - now) / 86_400,
                %last_error, "certificate expires soon and has not been renewed");
        }
        Ok(())
    }

    /// The account at the CA: from the database, or created (once for all instances).
    async fn account(&self) -> anyhow::Result<Account> {
        let mut cached = self.account.lock().await;
        if let Some(a) = cached.as_ref() {
            return Ok(a.clone());
        }
        let purpose = format!("acme-account {}", self.settings.directory);
        let sealed = match store::account(&self.db, &self.settings.directory).await? {
            Some(s) => s,
            None => {
                let contact = self.settings.contact.as_ref().map(|c| format!("mailto:{c}"));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let (_, credentials) = self
                    .builder()?
                    .create(
                        &NewAccount {
                            contact: &contacts,
                            terms_of_service_agreed: true,
                            only_return_existing: false,
                        },
                        self.settings.directory.clone(),
                        None,
                    )
                    .await
                    .context("cannot create an account at the ACME CA")?;
                let json = serde_json::to_vec(&credentials)?;
                let sealed = self.key.seal(&json, &purpose)?;
                tracing::info!(directory = %self.settings.directory, "ACME account created");
                // If another instance stored one first, use that one.
                store::init_account(&self.db, &self.settings.directory, &sealed, unix_now()).await?
            }
        };
        let json = self.key.open(&sealed, &purpose)?;
        let credentials: AccountCredentials = serde_json::from_slice(&json)?;
        let account = self
            .builder()?
            .from_credentials(credentials)
            .await
            .context("cannot reach the ACME CA")?;
        *cached = Some(account.clone());
        Ok(account)
    }

    fn builder(&self) -> anyhow::Result<instant_acme::AccountBuilder> {
        Ok(match &self.settings.ca_roots {
            Some(path) => Account::builder_with_root(path)
                .with_context(|| format!("cannot use the CA roots in {}", path.display()))?,
            None => Account::builder()?,
        })
    }

    /// Orders, validates (HTTP-01) and downloads a certificate for `host`.
    async fn order(&self, host: &str) -> anyhow::Result<store::CertRow> {
        let account = self.account().await?;
        let identifiers = [Identifier::Dns(host.to_owned())];
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .context("the CA refused the order")?;
        let expires_at = unix_now() + 3_600;
        {
            let mut authorizations = order.authorizations();
            while let Some(authz) = authorizations.next().await {
                let mut authz = authz?;
                match authz.status {
                    AuthorizationStatus::Pending => {}
                    AuthorizationStatus::Valid => continue,
                    other => bail!("the CA's authorization for {host} is {other:?}"),
                }
                let mut challenge = authz
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| anyhow!("the CA offers no http-01 challenge for {host}"))?;
                let key_authorization = challenge.key_authorization();
                store::put_challenge(
                    &self.db,
                    &challenge.token,
                    key_authorization.as_str(),
                    host,
                    expires_at,
                )
                .await?;
                challenge.set_ready().await?;
            }
        }
        let status = order
            .poll_ready(&RetryPolicy::new().timeout(CA_TIMEOUT))
            .await
            .context("waiting for the CA to validate")?;
        if status != OrderStatus::Ready {
            let why = validation_errors(&mut order).await;
            bail!("the CA could not validate {host} ({status:?}){why}");
        }
        let key_pem = order.finalize().await.context("finalizing the order")?;
        let chain_pem = order
            .poll_certificate(&RetryPolicy::new().timeout(CA_TIMEOUT))
            .await
            .context("downloading the certificate")?;
        store::clear_challenges(&self.db, host, unix_now()).await?;
        let leaf = leaf_info(&chain_pem, host)?;
        Ok(store::CertRow {
            host: host.to_owned(),
            key_sealed: self.key.seal(key_pem.as_bytes(), host)?,
            chain_pem,
            issuer: leaf.issuer,
            serial: leaf.serial,
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            renew_at: renew_at(leaf.not_before, leaf.not_after),
            obtained_at: unix_now(),
        })
    }
}

/// The CA's reasons, from the challenges of the order's authorizations.
async fn validation_errors(order: &mut instant_acme::Order) -> String {
    let mut out = String::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        for c in &authz.challenges {
            if let Some(problem) = &c.error {
                out.push_str(&format!(": {problem}"));
            }
        }
    }
    out
}

/// What Moat shows about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The serial number, hex.
    pub serial: String,
    /// Validity, unix seconds.
    pub not_before: i64,
    /// Validity, unix seconds.
    pub not_after: i64,
}

/// Reads the leaf of `chain_pem` and checks it names `host`.
pub fn leaf_info(chain_pem: &str, host: &str) -> anyhow::Result<LeafInfo> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes()).context("the chain is not PEM")?;
    let cert = pem.parse_x509().context("the leaf certificate cannot be read")?;
    let names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !names.iter().any(|n| n == host) {
        bail!("the CA's certificate is for {names:?}, not {host}");
    }
    Ok(LeafInfo {
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The HTTP-01 listener (`MOAT_ACME_HTTP_ADDR`, port 80 in production): answers
/// `GET /.well-known/acme-challenge/<token>` from the database; 404 for anything else.
pub async fn serve_http01(listener: TcpListener, db: Db, token: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(1_000));
    loop {
        let (stream, _) = tokio::select! {
            _ = token.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "ACME HTTP listener accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let db = db.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req: Request<Incoming>| {
                let db = db.clone();
                async move { Ok::<_, Infallible>(answer(&db, &req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = token.cancelled() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

async fn answer<B>(db: &Db, req: &Request<B>) -> Response<Full<Bytes>> {
    let token = req
        .uri()
        .path()
        .strip_prefix("/.well-known/acme-challenge/")
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let found = match (req.method() == Method::GET || req.method() == Method::HEAD, token) {
        (true, Some(t)) => match store::challenge(db, t, unix_now()).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an ACME challenge");
                return plain(StatusCode::SERVICE_UNAVAILABLE, "try again\n".into());
            }
        },
        _ => None,
    };
    match found {
        Some(key_authorization) => plain(StatusCode::OK, key_authorization),
        None => plain(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_a_third_of_the_lifetime_or_30_days() {
        let day = 86_400;
        assert_eq!(renew_at(0, 90 * day), 60 * day);
        assert_eq!(renew_at(0, 365 * day), 335 * day);
        assert_eq!(renew_at(1_000, 1_120), 1_080);
    }

    #[test]
    fn backs_off_exponentially_up_to_a_day() {
        assert_eq!(backoff(1), 60);
        assert_eq!(backoff(2), 120);
        assert_eq!(backoff(5), 960);
        assert_eq!(backoff(20), 86_400);
        assert_eq!(backoff(1_000), 86_400);
        assert_eq!(backoff(0), 60);
    }
}
