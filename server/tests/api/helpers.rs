//! `spawn_app`: a real application on 127.0.0.1:0 with a fresh database, and a browser-like
//! HTTP client with its own cookie jar.

use moat_server::{config::RawConfig, startup::Application};
use moat_store::{Backend, testdb};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub url: String,
    pub dns_addr: std::net::SocketAddr,
    pub policy_addr: std::net::SocketAddr,
    pub smtp_addr: std::net::SocketAddr,
    pub db_url: String,
    pub data_dir: PathBuf,
    pub services: moat_services::Services,
    shutdown: CancellationToken,
    _db: testdb::TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts an app on `backend`; `None` when that backend is not configured (skipped).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = testdb::fresh(backend).await?;
    let data_dir = std::env::temp_dir().join(format!("moat-api-{}", rand_suffix()));
    let mut env = vec![
        ("MOAT_DATABASE_URL".to_string(), db.url.clone()),
        ("MOAT_DATA_DIR".to_string(), data_dir.display().to_string()),
        ("MOAT_WEB_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("MOAT_DNS_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("MOAT_POLICY_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("MOAT_SMTP_ADDR".to_string(), "127.0.0.1:0".to_string()),
        (
            "MOAT_SITE_ROOT".to_string(),
            data_dir.join("site").display().to_string(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = RawConfig::load(None, env.into_iter())
        .expect("config")
        .validate()
        .expect("valid config");
    let app = Application::build(config).await.expect("application builds");
    let url = format!("http://{}", app.web_addr());
    let (dns_addr, policy_addr, smtp_addr) = (app.dns_addr(), app.policy_addr(), app.smtp_addr());
    let services = app.services().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        url,
        dns_addr,
        policy_addr,
        smtp_addr,
        db_url: db.url.clone(),
        data_dir,
        services,
        shutdown,
        _db: db,
    })
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A signed-in (or anonymous) browser-like client.
pub struct User {
    pub client: Client,
    pub base: String,
    pub email: String,
}

impl TestApp {
    /// Runs the `moat` CLI on this app's database and data directory with the extra
    /// environment `env`, on a blocking thread so the app keeps serving meanwhile.
    pub fn cli(
        &self,
        env: &[(&str, String)],
        args: &[&str],
    ) -> impl std::future::Future<Output = std::process::Output> + use<> {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_moat"));
        command
            .args(args)
            .env("MOAT_DATABASE_URL", &self.db_url)
            .env("MOAT_DATA_DIR", &self.data_dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        async move {
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    }

    pub fn anonymous(&self) -> User {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        User {
            client,
            base: self.url.clone(),
            email: String::new(),
        }
    }

    /// Signs a new user up through the real endpoint.
    pub async fn sign_up(&self, email: &str) -> User {
        let mut user = self.anonymous();
        let resp = user
            .call(
                "sign_up",
                &[("email", email), ("password", "a long enough password")],
            )
            .await;
        assert!(
            resp.status().is_success() || resp.status().is_redirection(),
            "sign up: {}",
            resp.status()
        );
        user.email = email.into();
        user
    }

    /// Signs up and creates an organization; returns the user and the org id.
    pub async fn user_with_org(&self, email: &str, org: &str, msp: bool) -> (User, i64) {
        let user = self.sign_up(email).await;
        let mut form = vec![("name", org)];
        if msp {
            form.push(("msp", "on"));
        }
        let v = user.json("orgs/create", &form).await;
        (user, v["id"].as_i64().expect("org id"))
    }
}

impl User {
    /// Calls a server function the way the browser's JS does (form-encoded POST, JSON back).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Calls and expects success with a JSON body.
    pub async fn json(&self, endpoint: &str, form: &[(&str, &str)]) -> Value {
        let resp = self.call(endpoint, form).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            status.is_success() || status.is_redirection(),
            "{endpoint}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Calls and returns the status and the error `code`.
    pub async fn fails(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let resp = self.call(endpoint, form).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code, text)
    }

    /// GETs a page as a browser navigates: asking for HTML (Leptos answers a redirect with
    /// 302 only then).
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request")
    }
}

/// Runs a test body on both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(moat_store::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(moat_store::Backend::Postgres).await })*
        }
    };
}

/// A second Moat instance on the same database (several instances behind one name).
pub struct Instance {
    pub dns_addr: std::net::SocketAddr,
    pub policy_addr: std::net::SocketAddr,
    pub data_dir: PathBuf,
    shutdown: CancellationToken,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl TestApp {
    /// Starts another instance on this app's database.
    pub async fn spawn_instance(&self, extra: &[(&str, &str)]) -> Instance {
        let data_dir = std::env::temp_dir().join(format!("moat-api-{}", rand_suffix()));
        let mut env = vec![
            ("MOAT_DATABASE_URL".to_string(), self.db_url.clone()),
            ("MOAT_DATA_DIR".to_string(), data_dir.display().to_string()),
            ("MOAT_WEB_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("MOAT_DNS_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("MOAT_POLICY_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("MOAT_SMTP_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = RawConfig::load(None, env.into_iter())
            .unwrap()
            .validate()
            .unwrap();
        let app = Application::build(config).await.expect("second instance builds");
        let instance = Instance {
            dns_addr: app.dns_addr(),
            policy_addr: app.policy_addr(),
            data_dir,
            shutdown: app.shutdown_token(),
        };
        tokio::spawn(app.run_until_stopped());
        instance
    }
}
