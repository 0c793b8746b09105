//! Cross-site request forgery protection for every state-changing request.
//!
//! Browsers label each request with `Sec-Fetch-Site` (and `Origin` on POST). A request that a
//! browser sends on behalf of another site is refused; requests without either header do not
//! come from a browser (curl, API clients, report senders) and cannot carry a victim's
//! cookies, so they pass. Together with `SameSite=Lax` session cookies this closes CSRF
//! without tokens (the scheme of Go 1.25's `CrossOriginProtection`).

use axum::{
    extract::Request,
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Whether the request may change state.
pub fn allowed(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
    }
}

/// The middleware.
pub async fn protect(req: Request, next: Next) -> Response {
    if allowed(req.method(), req.headers()) {
        next.run(req).await
    } else {
        tracing::warn!(http.method = %req.method(), http.path = req.uri().path(), "cross-site request refused");
        (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_posts_are_refused_and_same_site_ones_pass() {
        for (pairs, method, ok) in [
            (vec![], Method::POST, true),
            (vec![("sec-fetch-site", "same-origin")], Method::POST, true),
            (vec![("sec-fetch-site", "none")], Method::POST, true),
            (vec![("sec-fetch-site", "cross-site")], Method::POST, false),
            (vec![("sec-fetch-site", "same-site")], Method::POST, false),
            (vec![("sec-fetch-site", "cross-site")], Method::GET, true),
            (
                vec![("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")],
                Method::POST,
                true,
            ),
            (
                vec![("origin", "https://evil.example"), ("host", "127.0.0.1:3000")],
                Method::POST,
                false,
            ),
            (
                vec![("origin", "null"), ("host", "127.0.0.1:3000")],
                Method::POST,
                false,
            ),
        ] {
            assert_eq!(allowed(&method, &headers(&pairs)), ok, "{pairs:?} {method}");
        }
    }
}
