//! Health, metrics, sessions, CSRF and sign-in throttling over real HTTP.

use crate::{
    both_backends,
    helpers::{spawn_app, spawn_app_with},
};
use moat_store::Backend;
use reqwest::StatusCode;

both_backends!(
    health_and_metrics_answer,
    session_cookies_are_http_only_and_same_site,
    cross_site_requests_are_refused,
    sign_in_is_throttled_per_account,
    sign_out_ends_the_session,
);

async fn health_and_metrics_answer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let anon = app.anonymous();
    let health = anon.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let metrics = anon.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("moat_http_requests_total{method=\"GET\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("moat_http_request_duration_seconds"),
        "{metrics}"
    );
}

async fn session_cookies_are_http_only_and_same_site(backend: Backend) {
    for (public_url, secure) in [(None, false), (Some("https://moat.example.test"), true)] {
        let extra: Vec<(&str, &str)> = public_url.map(|u| ("MOAT_PUBLIC_URL", u)).into_iter().collect();
        let Some(app) = spawn_app_with(backend, &extra).await else {
            return;
        };
        let anon = app.anonymous();
        let resp = anon
            .call(
                "sign_up",
                &[("email", "c@cookie.test"), ("password", "a long enough password")],
            )
            .await;
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("moat_session="))
            .expect("session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
    }
}

async fn cross_site_requests_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (user, _) = app.user_with_org("csrf@x.test", "Org", false).await;
    for (header, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let resp = user
            .client
            .post(format!("{}/api/orgs/create", app.url))
            .header(header, value)
            .form(&[("name", "Forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{header}");
    }
    // The same request from our own origin works.
    let host = app.url.trim_start_matches("http://").to_owned();
    let resp = user
        .client
        .post(format!("{}/api/orgs/create", app.url))
        .header("Origin", format!("http://{host}"))
        .header("Accept", "application/json")
        .form(&[("name", "Legit")])
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );
    let names: Vec<String> = user
        .json("orgs/list", &[])
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["Legit".to_string(), "Org".to_string()]);
}

async fn sign_in_is_throttled_per_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up("t@throttle.test").await;
    let attacker = app.anonymous();
    for _ in 0..5 {
        let (status, code, _) = attacker
            .fails(
                "sign_in",
                &[("email", "t@throttle.test"), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
    }
    // Now even the right password is refused for a while.
    let (status, code, body) = attacker
        .fails(
            "sign_in",
            &[
                ("email", "t@throttle.test"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        "{body}"
    );
    // An unknown address says the same as a known one with a wrong password.
    let (_, _, unknown) = app
        .anonymous()
        .fails(
            "sign_in",
            &[("email", "nobody@x.test"), ("password", "whatever password")],
        )
        .await;
    let (_, _, known) = app
        .anonymous()
        .fails(
            "sign_in",
            &[("email", "t2@x.test"), ("password", "whatever password")],
        )
        .await;
    assert_eq!(unknown, known);
}

async fn sign_out_ends_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app.sign_up("bye@x.test").await;
    assert_eq!(user.json("me", &[]).await["email"], "bye@x.test");
    user.json("sign_out", &[]).await;
    assert!(user.json("me", &[]).await.is_null());
    let (status, _, _) = user.fails("orgs/list", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_503_when_postgres_goes_away() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.anonymous().get("/healthz").await.status(), StatusCode::OK);
    let admin = std::env::var("MOAT_TEST_POSTGRES_URL").unwrap();
    let name = app.db_url.rsplit('/').next().unwrap().to_owned();
    let admin_db = moat_store::Db::connect(&admin).await.unwrap();
    moat_store::testdb::drop_database(&admin_db, &name).await;
    let status = app.anonymous().get("/healthz").await.status();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
