//! Building and running the application: the same code serves `moat serve` and the tests
//! (which bind port 0 and read the real address back).

use crate::{
    config::Config,
    http::{self, AppState},
    metrics::Metrics,
};
use anyhow::Context;
use leptos::prelude::LeptosOptions;
use moat_hosting::{
    DnsSockets, Hosting,
    acme::{Acme, AcmeSettings},
    dns::ZoneConfig,
    secret::MasterKey,
};
use moat_services::{HostingSettings, Services, Settings, mail::Mailer};
use moat_store::Db;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connects to the database (creating the data directory for SQLite) and migrates it.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create MOAT_DATA_DIR {}", config.data_dir.display()))?;
    let db = Db::connect(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database (MOAT_DATABASE_URL {})",
            redact(&config.database_url)
        )
    })?;
    db.migrate().await.context("database migration failed")?;
    Ok(db)
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The use-cases over an open database.
pub fn services(config: &Config, db: Db) -> anyhow::Result<Services> {
    let mailer = match &config.smtp_relay {
        Some(url) => Mailer::relay(url).context("invalid MOAT_SMTP_RELAY")?,
        None => Mailer::Outbox(config.data_dir.join("outbox")),
    };
    Ok(Services::new(
        db,
        mailer,
        Settings {
            public_url: config.public_base(),
            mail_from: config.mail_from.clone(),
            webhook_allow_private: config.webhook_allow_private,
            hosting: hosting_settings(config),
            probe: moat_services::probe::ProbeSettings {
                port: config.probe_port,
                allow_private: config.probe_allow_private,
                ca_file: config.probe_ca.clone(),
                interval_hours: config.probe_interval,
                readiness_days: config.readiness_days,
                ..Default::default()
            },
        },
    ))
}

/// The hosting part of the use-case settings.
pub fn hosting_settings(config: &Config) -> HostingSettings {
    HostingSettings {
        reports_mail_domain: config.reports_mail_domain.clone(),
        reports_https_url: config.reports_url.clone(),
        resolvers: config.resolvers.clone(),
        ..HostingSettings::for_zone(&config.zone)
    }
}

/// The master key: `MOAT_MASTER_KEY`, else `<data dir>/master.key` (created on first use).
pub fn master_key(config: &Config) -> anyhow::Result<Arc<MasterKey>> {
    let key = match &config.master_key {
        Some(hex) => MasterKey::from_hex(&hex.0)?,
        None => {
            if config.database_url.starts_with("postgres") {
                tracing::warn!(
                    "MOAT_MASTER_KEY is not set: the key in the data directory is used, so other instances on this \
                     database cannot open the certificates this one obtains"
                );
            }
            MasterKey::load_or_create(&config.data_dir.join("master.key"))?
        }
    };
    Ok(Arc::new(key))
}

/// This instance's name in job leases: host name, process id and a random tag.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{}:{}:{nanos:09}", host.trim(), std::process::id())
}

/// The ACME client and its HTTP-01 listener.
struct AcmeParts {
    client: Arc<Acme>,
    http: TcpListener,
}

/// A bound, ready-to-run Moat.
pub struct Application {
    listener: TcpListener,
    dns: DnsSockets,
    policy_listener: TcpListener,
    smtp_listener: TcpListener,
    hosting: Arc<Hosting>,
    acme: Option<AcmeParts>,
    router: axum::Router,
    services: Services,
    metrics: Metrics,
    detect_interval: u64,
    shutdown: CancellationToken,
}

impl Application {
    /// Opens the database, migrates it and binds every listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = open_db(&config).await?;
        let services = services(&config, db)?;
        let listener = TcpListener::bind(config.web_addr)
            .await
            .with_context(|| format!("cannot listen on MOAT_WEB_ADDR {}", config.web_addr))?;
        let addr = listener.local_addr()?;
        let dns = DnsSockets::bind(config.dns_addr)
            .await
            .with_context(|| format!("cannot listen on MOAT_DNS_ADDR {}", config.dns_addr))?;
        let policy_listener = TcpListener::bind(config.policy_addr)
            .await
            .with_context(|| format!("cannot listen on MOAT_POLICY_ADDR {}", config.policy_addr))?;
        let smtp_listener = TcpListener::bind(config.smtp_addr)
            .await
            .with_context(|| format!("cannot listen on MOAT_SMTP_ADDR {}", config.smtp_addr))?;
        let zone_cfg = ZoneConfig {
            zone: config.zone.clone(),
            ns_names: config.dns_ns.clone(),
            ns_ips: Some(config.dns_addr.ip())
                .filter(|ip| !ip.is_unspecified())
                .into_iter()
                .collect(),
            policy_ips: config.policy_ips.clone(),
            reports_host: Some(config.reports_mail_domain.clone()),
        };
        let key = match &config.acme {
            Some(_) => Some(master_key(&config)?),
            None => None,
        };
        let acme = match (&config.acme, &key) {
            (Some(a), Some(key)) => {
                let http = TcpListener::bind(a.http_addr)
                    .await
                    .with_context(|| format!("cannot listen on MOAT_ACME_HTTP_ADDR {}", a.http_addr))?;
                let settings = AcmeSettings {
                    directory: a.directory.clone(),
                    ca_roots: a.ca_roots.clone(),
                    contact: a.contact.clone(),
                };
                let client = Acme::new(services.db.clone(), settings, key.clone(), instance_name());
                Some(AcmeParts {
                    client: Arc::new(client),
                    http,
                })
            }
            _ => None,
        };
        let hosting = Hosting::start(
            &services.db,
            zone_cfg,
            services.settings.hosting.clone(),
            &config.data_dir.join("local-ca.pem"),
            key,
        )
        .await
        .context("cannot start the hosting listeners")?;
        let leptos_options = LeptosOptions::builder()
            .output_name("moat")
            .site_root(config.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let metrics = Metrics::install();
        let state = AppState {
            leptos_options,
            services: services.clone(),
            metrics: metrics.clone(),
        };
        let router = http::router(state, config.public_url.scheme() == "https");
        if !config.site_root.join("pkg").exists() {
            tracing::warn!(
                site_root = %config.site_root.display(),
                "no built browser assets in {}: pages render but do not hydrate (run scripts/build.sh)",
                config.site_root.display()
            );
        }
        Ok(Self {
            listener,
            dns,
            policy_listener,
            smtp_listener,
            hosting,
            acme,
            router,
            services,
            metrics,
            detect_interval: config.detect_interval,
            shutdown: CancellationToken::new(),
        })
    }

    /// The web app's bound address.
    pub fn web_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The DNS listener's bound address (UDP and TCP).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The policy HTTPS listener's bound address.
    pub fn policy_addr(&self) -> SocketAddr {
        self.policy_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The SMTP listener's bound address.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The hosting state (tests read the local CA from it).
    pub fn hosting(&self) -> &Arc<Hosting> {
        &self.hosting
    }

    /// The use-cases (tests use them to arrange data).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// A token that stops the application when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then drains connections.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            dns,
            policy_listener,
            smtp_listener,
            hosting,
            acme,
            router,
            services,
            metrics,
            detect_interval,
            shutdown,
        } = self;
        tracing::info!(web.addr = %listener.local_addr()?, "Moat is listening on http://{}", listener.local_addr()?);
        tracing::info!(dns.addr = %dns.local_addr()?, policy.addr = %policy_listener.local_addr()?, "DNS and policy HTTPS listeners are up");
        let refresher = hosting.spawn_refresher(services.db.clone(), shutdown.clone());
        let dns_task = tokio::spawn(dns.serve(hosting.zone.clone(), shutdown.clone()));
        let tls = moat_hosting::policy::tls_config(hosting.certs.clone())?;
        let reports_host = services.settings.hosting.reports_mail_domain.clone();
        let policy_task = tokio::spawn(moat_hosting::policy::serve(
            policy_listener,
            tls,
            hosting.policies.clone(),
            Some(reports_host_handler(&services, &reports_host)),
            shutdown.clone(),
        ));
        let mut smtp_cfg = moat_smtp::SmtpConfig::new(reports_host.clone());
        smtp_cfg.tls = Some(moat_hosting::policy::smtp_tls_config(
            hosting.certs.clone(),
            &reports_host,
        )?);
        tracing::info!(smtp.addr = %smtp_listener.local_addr()?, "SMTP report listener is up");
        let smtp_task = tokio::spawn(moat_smtp::serve(
            smtp_listener,
            Arc::new(smtp_cfg),
            services.clone(),
            shutdown.clone(),
        ));
        let acme_tasks = acme.map(|AcmeParts { client, http }| {
            if let Ok(a) = http.local_addr() {
                tracing::info!(acme.http_addr = %a, "ACME HTTP-01 listener is up");
            }
            let served = hosting.clone();
            let worker = client.spawn(move || served.served_hosts(), shutdown.clone());
            let http = tokio::spawn(moat_hosting::acme::serve_http01(
                http,
                services.db.clone(),
                shutdown.clone(),
            ));
            (worker, http)
        });
        let sweeper = tokio::spawn(pending_reports(services.clone(), shutdown.clone()));
        let checker = tokio::spawn(domain_checks(services.clone(), shutdown.clone()));
        let detector = (detect_interval > 0).then(|| {
            tokio::spawn(problems(
                services.clone(),
                Duration::from_secs(detect_interval),
                shutdown.clone(),
            ))
        });
        let prober = tokio::spawn(mx_probes(services.clone(), shutdown.clone()));
        let housekeeping = tokio::spawn(housekeeping(services, metrics, shutdown.clone()));
        let token = shutdown.clone();
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await?;
        shutdown.cancel();
        let _ = housekeeping.await;
        let _ = prober.await;
        let _ = checker.await;
        if let Some(detector) = detector {
            let _ = detector.await;
        }
        let _ = refresher.await;
        let _ = policy_task.await;
        let _ = smtp_task.await;
        let _ = sweeper.await;
        if let Some((worker, http)) = acme_tasks {
            let _ = worker.await;
            let _ = http.await;
        }
        if let Ok(Err(e)) = dns_task.await {
            tracing::warn!(error = %e, "DNS server shut down with an error");
        }
        Ok(())
    }
}

/// The reports host on the policy listener: `POST /v1/tlsrpt` over TLS.
fn reports_host_handler(services: &Services, host: &str) -> moat_hosting::policy::ExtraHost {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let router = http::tlsrpt::router(services.clone());
    let handler: moat_hosting::policy::HostHandler = Arc::new(move |req, peer| {
        let router = router.clone();
        Box::pin(async move {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req.extensions_mut().insert(http::tlsrpt::ViaTls);
            let response = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            response.map(|b| b.map_err(Into::into).boxed_unsync())
        })
    });
    moat_hosting::policy::ExtraHost {
        host: host.to_ascii_lowercase(),
        handler,
    }
}

/// Finishes report messages that were stored raw but whose parsing failed (the database
/// went away in between): every 10 seconds, those stored more than 15 seconds ago (a
/// parse in progress finishes well within that).
async fn pending_reports(services: Services, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match services.process_pending(15).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "parsed deferred report messages"),
            Err(e) => tracing::warn!(error = %e, "cannot parse deferred report messages: {e}"),
        }
    }
}

/// Background re-checks of every domain's delegating records.
async fn domain_checks(services: Services, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let run = moat_services::domains::recheck_due(&services, 100);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = run => if let Err(e) = r {
                tracing::warn!(error = %e, "background domain checks failed: {e}");
            }
        }
    }
}

/// Problem detection and notifications: every few seconds for the domains that received
/// reports since the last run, every hour for every domain (rules that fire without new
/// reports: silent reporters, records, certificates); then whatever notifications and daily
/// digests are due.
async fn problems(services: Services, every: Duration, shutdown: CancellationToken) {
    const SWEEP_SECS: i64 = 3600;
    let mut tick = tokio::time::interval(every);
    let mut last_sweep: Option<i64> = None;
    let mut since = moat_services::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = moat_services::now();
        let (scope, next_since) = if last_sweep.is_none_or(|t| now - t >= SWEEP_SECS) {
            last_sweep = Some(now);
            (None, now)
        } else {
            // Overlap by a few seconds: a report committed during the last run is not missed.
            (Some(since - 10), now)
        };
        // Detection may stop at shutdown (each domain is its own transaction); notifying is
        // left to finish (webhooks time out after 10 s), so a problem claimed for sending is
        // also sent.
        let detection = moat_services::detect::detect(&services, scope, now);
        let detected = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = detection => r,
        };
        match detected {
            Ok(changed) => {
                if changed > 0 {
                    tracing::info!(changed, "problems opened, escalated or resolved");
                }
                since = next_since;
            }
            Err(e) => tracing::warn!(error = %e, "problem detection failed: {e}"),
        }
        if let Err(e) = moat_services::notify::notify_due(&services, now).await {
            tracing::warn!(error = %e, "notifications failed: {e}");
        }
        if let Err(e) = moat_services::notify::send_digests(&services, now).await {
            tracing::warn!(error = %e, "daily digests failed: {e}");
        }
    }
}

/// Background MX probes: every few minutes, the serving hosted domains whose latest probe
/// is older than `MOAT_PROBE_INTERVAL` hours (off when 0).
async fn mx_probes(services: Services, shutdown: CancellationToken) {
    if services.settings.probe.interval_hours == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let run = moat_services::probe::probe_due(&services, moat_services::now(), 20);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = run => match r {
                Ok(n) if n > 0 => tracing::info!(domains = n, "MX hosts probed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "background MX probes failed: {e}"),
            }
        }
    }
}

/// Periodic clean-up: expired sessions, old throttling records, metrics upkeep.
async fn housekeeping(services: Services, metrics: Metrics, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        metrics.upkeep();
        let now = moat_services::now();
        if let Err(e) = moat_store::sessions::delete_expired(&services.db, now).await {
            tracing::warn!(error = %e, "session clean-up failed: {e}");
        }
        let window = moat_services::accounts::THROTTLE_WINDOW_SECS;
        if let Err(e) = moat_store::throttle::purge(&services.db, now - window).await {
            tracing::warn!(error = %e, "throttle clean-up failed: {e}");
        }
        let keep = moat_store::probes::RETENTION_SECS;
        if let Err(e) = moat_store::probes::purge(&services.db, now - keep).await {
            tracing::warn!(error = %e, "MX probe history clean-up failed: {e}");
        }
    }
}
