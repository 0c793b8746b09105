//! Invitations.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::InvitePreview;

/// Invites an e-mail address to an organization with a role; the link goes out by mail.
#[server(prefix = "/api", endpoint = "invites/create")]
pub async fn invite_member(org: i64, email: String, role: String) -> Result<(), AppError> {
    use moat_domain::{Action, Role, views::OrgId};
    use moat_services::{invites, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::InviteMembers).await?;
    let role: Role = role.parse().map_err(|e: moat_domain::tenancy::UnknownRole| {
        moat_services::Error::invalid("role", e.to_string())
    })?;
    invites::invite(&ctx.svc, &scope, &email, role).await?;
    Ok(())
}

/// Revokes a pending invitation.
#[server(prefix = "/api", endpoint = "invites/revoke")]
pub async fn revoke_invite(org: i64, invite: i64) -> Result<(), AppError> {
    use moat_domain::{
        Action,
        views::{InviteId, OrgId},
    };
    use moat_services::{invites, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::InviteMembers).await?;
    Ok(invites::revoke(&ctx.svc, &scope, InviteId(invite)).await?)
}

/// What an invitation link offers.
#[server(prefix = "/api", endpoint = "invites/preview")]
pub async fn preview_invite(token: String) -> Result<InvitePreview, AppError> {
    let ctx = super::ctx::ctx().await?;
    Ok(moat_services::invites::preview(&ctx.svc, &token).await?)
}

/// Accepts an invitation: as the signed-in user, or with a new account (then `password`).
#[server(prefix = "/api", endpoint = "invites/accept")]
pub async fn accept_invite(token: String, password: Option<String>) -> Result<(), AppError> {
    use moat_services::invites;
    let ctx = super::ctx::ctx().await?;
    let org = match (ctx.user().await?, password) {
        (Some(user), _) => invites::accept_as(&ctx.svc, &user, &token).await?,
        (None, Some(password)) => {
            let (user, org) = invites::accept_with_new_account(&ctx.svc, &token, &password).await?;
            ctx.start_session(&user).await?;
            org
        }
        (None, None) => return Err(AppError::sign_in_required()),
    };
    leptos_axum::redirect(&format!("/orgs/{org}"));
    Ok(())
}
