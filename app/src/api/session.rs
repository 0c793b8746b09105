//! Accounts and sessions.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::UserView;

/// The signed-in user, or `None`.
#[server(prefix = "/api", endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    let ctx = super::ctx::ctx().await?;
    ctx.user().await
}

/// The signed-in user with the organizations they can open (for the top bar), or `None`.
#[server(prefix = "/api", endpoint = "session")]
pub async fn current_session() -> Result<Option<(UserView, Vec<moat_domain::views::OrgView>)>, AppError> {
    let ctx = super::ctx::ctx().await?;
    match ctx.user().await? {
        Some(user) => {
            let orgs = moat_services::tenancy::list_orgs(&ctx.svc, &user).await?;
            Ok(Some((user, orgs)))
        }
        None => Ok(None),
    }
}

/// Creates an account and signs it in.
#[server(prefix = "/api", endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let ctx = super::ctx::ctx().await?;
    let user = moat_services::accounts::sign_up(&ctx.svc, &email, &password).await?;
    ctx.start_session(&user).await?;
    leptos_axum::redirect(&safe_next(next));
    Ok(())
}

/// Signs in (throttled per account and per client address).
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let ctx = super::ctx::ctx().await?;
    let ip = super::ctx::client_ip().await;
    let user = moat_services::accounts::sign_in(&ctx.svc, &email, &password, &ip).await?;
    ctx.start_session(&user).await?;
    leptos_axum::redirect(&safe_next(next));
    Ok(())
}

/// Signs out.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let ctx = super::ctx::ctx().await?;
    ctx.end_session().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Sends a password-reset link (the answer is the same whether the address has an account).
#[server(prefix = "/api", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx().await?;
    Ok(moat_services::accounts::request_password_reset(&ctx.svc, &email).await?)
}

/// Sets a new password from a reset link and signs in.
#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx().await?;
    let user = moat_services::accounts::reset_password(&ctx.svc, &token, &password).await?;
    ctx.start_session(&user).await?;
    leptos_axum::redirect("/orgs");
    Ok(())
}

/// Only local paths are followed after sign-in (no open redirect).
#[cfg(feature = "ssr")]
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/orgs".into(),
    }
}
