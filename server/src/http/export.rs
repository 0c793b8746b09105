//! Downloads: a domain dashboard's failure details, as CSV or JSON, with the same period and
//! filters as the page (`/orgs/{org}/domains/{name}/failures.csv?days=30&sender=…`), and a
//! report as sent (`/orgs/{org}/reports/{id}/report.json` and `…/raw`). Plain axum handlers:
//! a download is a whole-page navigation, not a server function.

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
use moat_services::{ErrorKind, accounts, dashboard, intake, tenancy};
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

/// The signed-in user's scope in `org`, or the response to give instead.
async fn user_scope(state: &AppState, session: &Session, org: i64) -> Result<tenancy::OrgScope, Response> {
    let svc = &state.services;
    let user = match session.get::<i64>(SESSION_USER_KEY).await {
        Ok(Some(id)) => match accounts::current_user(svc, UserId(id)).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(plain(StatusCode::UNAUTHORIZED, "sign in first")),
            Err(e) => return Err(failed(&e)),
        },
        Ok(None) => return Err(plain(StatusCode::UNAUTHORIZED, "sign in first")),
        Err(e) => {
            tracing::error!(error = %e, "session store failed: {e}");
            return Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "sessions are unavailable; try again shortly",
            ));
        }
    };
    tenancy::authorize(svc, &tenancy::Actor::User(user), OrgId(org), Action::Read)
        .await
        .map_err(|e| failed(&e))
}

fn attachment(content_type: &'static str, file: &str, body: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
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

/// `GET /orgs/{org}/reports/{id}/report.json`: the report's JSON as the sender wrote it
/// (decompressed, taken out of its e-mail).
pub async fn report_json(
    State(state): State<AppState>,
    session: Session,
    Path((org, id)): Path<(i64, i64)>,
) -> Response {
    let scope = match user_scope(&state, &session, org).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match intake::report_files(&state.services, &scope, id).await {
        Ok((name, _, Some(json))) => {
            let stem = name.split('.').next().unwrap_or("tlsrpt").to_owned();
            attachment("application/json", &format!("{stem}.json"), json)
        }
        Ok((_, _, None)) => plain(
            StatusCode::NOT_FOUND,
            "the stored message holds no readable report document",
        ),
        Err(e) => failed(&e),
    }
}

/// `GET /orgs/{org}/reports/{id}/raw`: the message (or POST body) exactly as received.
pub async fn report_raw(
    State(state): State<AppState>,
    session: Session,
    Path((org, id)): Path<(i64, i64)>,
) -> Response {
    let scope = match user_scope(&state, &session, org).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match intake::report_files(&state.services, &scope, id).await {
        Ok((name, Some(message), _)) => attachment("application/octet-stream", &name, message),
        Ok((_, None, _)) => plain(
            StatusCode::FORBIDDEN,
            "this message also carries reports of other organizations; download the report JSON instead",
        ),
        Err(e) => failed(&e),
    }
}

async fn failures(
    State(state): State<AppState>,
    session: Session,
    Path((org, name)): Path<(i64, String)>,
    Query(q): Query<DashboardQuery>,
    format: Format,
) -> Response {
    let filter = match app::api::dashboard::filter_of(&q) {
        Ok(f) => f,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let scope = match user_scope(&state, &session, org).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let svc = &state.services;
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
    attachment(content_type, &format!("{stem}.{ext}"), body.into_bytes())
}
