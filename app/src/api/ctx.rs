//! The request context of a server function: the services, the session, the signed-in user.

use crate::error::AppError;
use moat_domain::views::{UserId, UserView};
use moat_services::{Services, tenancy::Actor};
use tower_sessions::Session;

use super::SESSION_USER_KEY as USER_KEY;

pub(crate) struct Ctx {
    pub svc: Services,
    session: Session,
}

pub(crate) async fn ctx() -> Result<Ctx, AppError> {
    let svc = leptos::prelude::use_context::<Services>().ok_or(AppError::Internal)?;
    let session = leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!("session layer missing: {e}");
        AppError::Internal
    })?;
    Ok(Ctx { svc, session })
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store failed: {e}");
    AppError::Unavailable
}

impl Ctx {
    /// The signed-in user, if any (and if the account still exists).
    pub async fn user(&self) -> Result<Option<UserView>, AppError> {
        let id: Option<i64> = self.session.get(USER_KEY).await.map_err(session_error)?;
        match id {
            Some(id) => Ok(moat_services::accounts::current_user(&self.svc, UserId(id)).await?),
            None => Ok(None),
        }
    }

    /// The signed-in user, or 401.
    pub async fn require_user(&self) -> Result<UserView, AppError> {
        self.user().await?.ok_or_else(AppError::sign_in_required)
    }

    /// The signed-in user as an actor for tenant-scoped use-cases.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        Ok(Actor::User(self.require_user().await?))
    }

    /// Starts an authenticated session with a fresh id (no session fixation).
    pub async fn start_session(&self, user: &UserView) -> Result<(), AppError> {
        self.session.cycle_id().await.map_err(session_error)?;
        self.session
            .insert(USER_KEY, user.id.0)
            .await
            .map_err(session_error)
    }

    /// Ends the session and deletes it from the store.
    pub async fn end_session(&self) -> Result<(), AppError> {
        self.session.flush().await.map_err(session_error)
    }
}

/// The client's address, for throttling.
pub(crate) async fn client_ip() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        Ok(ConnectInfo(addr)) => addr.ip().to_string(),
        Err(_) => "unknown".into(),
    }
}
