//! `POST /v1/tlsrpt`: TLS reports delivered over HTTPS (RFC 8460 §5.4), on the web app and
//! on the reports host of the policy listener.
//!
//! The body (`application/tlsrpt+gzip`, or `application/tlsrpt+json`) is committed raw before
//! it is parsed. 201 means stored and parsed; 202 stored, parsing deferred; 400/422 stored
//! but not a usable report (the reason is in the body, and the input is kept); 413 too
//! large; 503 not stored — the sender should retry.

use axum::{
    Extension, Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use moat_services::{
    Services,
    intake::{Channel, Incoming, MAX_MESSAGE_BYTES, Outcome},
};
use std::{net::SocketAddr, sync::Arc};

/// Marks a request that arrived over TLS (set by the policy listener's reports host).
#[derive(Debug, Clone, Copy)]
pub struct ViaTls;

/// The path senders post to.
pub const PATH: &str = "/v1/tlsrpt";

/// A router serving only [`PATH`], with its own state.
pub fn router(services: Services) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(services)
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    r
}

async fn receive(
    State(services): State<Services>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    via_tls: Option<Extension<ViaTls>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.is_empty() {
        return reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "empty body: POST the report as application/tlsrpt+gzip or application/tlsrpt+json"}),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let incoming = Incoming {
        peer: peer.map(|Extension(ConnectInfo(p))| p.to_string()),
        tls: via_tls.is_some(),
        content_type,
        ..Incoming::new(Channel::Https, Vec::new())
    };
    let incoming = Incoming {
        bytes: Arc::new(body.to_vec()),
        ..incoming
    };
    let receipt = match services.receive_report(incoming).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot store a posted report; the sender will retry");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "storage is temporarily unavailable; retry later"}),
            );
        }
    };
    let id = receipt.raw_id;
    match receipt.outcome {
        Outcome::Stored {
            reports,
            unattributed,
        } => reply(
            StatusCode::CREATED,
            serde_json::json!({"id": id, "reports": reports, "unattributed": unattributed}),
        ),
        Outcome::Deferred => reply(
            StatusCode::ACCEPTED,
            serde_json::json!({"id": id, "status": "stored"}),
        ),
        Outcome::Rejected(reason) => reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"id": id, "error": format!("not a readable TLS report: {reason}")}),
        ),
        Outcome::Unattributed(reason) => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"id": id, "error": reason}),
        ),
        Outcome::Repeated { status, error } => match status.as_str() {
            "rejected" => reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"id": id, "error": format!("not a readable TLS report: {}", error.unwrap_or_default())}),
            ),
            "unattributed" => reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"id": id, "error": error.unwrap_or_default()}),
            ),
            _ => reply(
                StatusCode::CREATED,
                serde_json::json!({"id": id, "status": "already received"}),
            ),
        },
    }
}
