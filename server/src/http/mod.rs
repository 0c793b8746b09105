//! The web app's HTTP side: Leptos pages and server functions, health, metrics, and the
//! middleware every request passes (sessions, CSRF, security headers, compression, metrics).

pub mod csrf;
pub mod export;
pub mod session_store;
pub mod tlsrpt;

use crate::metrics::Metrics;
use app::{App, shell};
use axum::{
    Router,
    body::Body,
    extract::{FromRef, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use moat_services::Services;
use std::time::{Duration, Instant};
use tower_http::{compression::CompressionLayer, set_header::SetResponseHeaderLayer};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// Shared state of the web app.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos settings (site root, output name).
    pub leptos_options: LeptosOptions,
    /// Use-cases.
    pub services: Services,
    /// Prometheus metrics.
    pub metrics: Metrics,
}

/// Content-Security-Policy: everything from our own origin. Inline scripts are needed by
/// Leptos' hydration loader; `wasm-unsafe-eval` lets the browser compile our WASM.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/// The web app's router.
pub fn router(state: AppState, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let services = state.services.clone();
    let context = move || provide_context(services.clone());
    let sessions = SessionManagerLayer::new(session_store::DbSessionStore::new(state.services.db.clone()))
        .with_name("moat_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(14),
        ));

    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/{*fn_name}", get(server_fn).post(server_fn))
        .route("/orgs/{org}/domains/{name}/failures.csv", get(export::csv))
        .route("/orgs/{org}/domains/{name}/failures.json", get(export::json))
        .route("/orgs/{org}/reports/{id}/report.json", get(export::report_json))
        .route("/orgs/{org}/reports/{id}/raw", get(export::report_raw))
        .route_service(tlsrpt::PATH, tlsrpt::router(state.services.clone()))
        .leptos_routes_with_context(&state, routes, context, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(middleware::from_fn(csrf::protect))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

async fn server_fn(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    let services = state.services.clone();
    handle_server_fns_with_context(move || provide_context(services.clone()), req).await
}

/// 200 when the database answers within two seconds, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.services.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unreachable: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out\n").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts requests and their latency by method and status class.
async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    state
        .metrics
        .http_request(&method, response.status().as_u16(), started.elapsed());
    response
}
