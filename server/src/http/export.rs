//! Downloads of a domain dashboard's failure details, as CSV or JSON, with the same period
//! and filters as the page (`/orgs/{org}/domains/{name}/failures.csv?days=30&sender=…`).
//! Plain axum handlers: a download is a whole-page navigation, not a server function.

use super::AppState;
use app::api::{SESSION_USER_KEY, dashboard::DashboardQuery};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use moat_domain::{
    Action,
    calendar::format_day,
    views::{OrgId, UserId},
};
use moat_services::{ErrorKind, accounts, dashboard, tenancy};
use tower_sessions::Session;

/// The file formats.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    let mut body = text.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn failed(e: &moat_services::Error) -> Response {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Forbidden => plain(StatusCode::NOT_FOUND, "not found"),
        ErrorKind::Unauthorized => plain(StatusCode::UNAUTHORIZED, "sign in first"),
        ErrorKind::Invalid => plain(StatusCode::BAD_REQUEST, e.to_string()),
        ErrorKind::Unavailable => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage is unavailable; try again shortly",
        ),
        _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// `GET /orgs/{org}/domains/{name}/failures.csv`
pub async fn csv(
    state: State<AppState>,
    session: Session,
    path: Path<(i64, String)>,
    q: Query<DashboardQuery>,
) -> Response {
    failures(state, session, path, q, Format::Csv).await
}

/// `GET /orgs/{org}/domains/{name}/failures.json`
pub async fn json(
    state: State<AppState>,
    session: Session,
    path: Path<(i64, String)>,
    q: Query<DashboardQuery>,
) -> Response {
    failures(state, session, path, q, Format::Json).await
}

async fn failures(
    State(state): State<AppState>,
    session: Session,
    Path((org, name)): Path<(i64, String)>,
    Query(q): Query<DashboardQuery>,
    format: Format,
) -> Response {
    let svc = &state.services;
    let user = match session.get::<i64>(SESSION_USER_KEY).await {
        Ok(Some(id)) => match accounts::current_user(svc, UserId(id)).await {
            Ok(Some(u)) => u,
            Ok(None) => return plain(StatusCode::UNAUTHORIZED, "sign in first"),
            Err(e) => return failed(&e),
        },
        Ok(None) => return plain(StatusCode::UNAUTHORIZED, "sign in first"),
        Err(e) => {
            tracing::error!(error = %e, "session store failed: {e}");
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "sessions are unavailable; try again shortly",
            );
        }
    };
    let filter = match app::api::dashboard::filter_of(&q) {
        Ok(f) => f,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let scope = match tenancy::authorize(svc, &tenancy::Actor::User(user), OrgId(org), Action::Read).await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let rows = match dashboard::export_failures(svc, &scope, &name, &filter).await {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let stem = format!(
        "tlsrpt-failures-{}-{}-{}",
        name.replace(
            |c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "_"
        ),
        format_day(filter.range.from),
        format_day(filter.range.to)
    );
    let (content_type, body, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", dashboard::to_csv(&rows), "csv"),
        Format::Json => match serde_json::to_string_pretty(&rows) {
            Ok(s) => ("application/json", s, "json"),
            Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        },
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{ext}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response()
}
