//! Building and running the application: the same code serves `moat serve` and the tests
//! (which bind port 0 and read the real address back).

use crate::{
    config::Config,
    http::{self, AppState},
    metrics::Metrics,
};
use anyhow::Context;
use leptos::prelude::LeptosOptions;
use moat_services::{Services, Settings, mail::Mailer};
use moat_store::Db;
use std::{net::SocketAddr, time::Duration};
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
        },
    ))
}

/// A bound, ready-to-run Moat.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    services: Services,
    metrics: Metrics,
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
            router,
            services,
            metrics,
            shutdown: CancellationToken::new(),
        })
    }

    /// The web app's bound address.
    pub fn web_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
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
            router,
            services,
            metrics,
            shutdown,
        } = self;
        tracing::info!(web.addr = %listener.local_addr()?, "Moat is listening on http://{}", listener.local_addr()?);
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
        Ok(())
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
    }
}
