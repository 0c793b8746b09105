//! Organizations, MSP clients, members and the audit log.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::{AuditEntryView, OrgDetail, OrgRef, OrgView};

/// Every organization the signed-in user can open.
#[server(prefix = "/api", endpoint = "orgs/list")]
pub async fn list_orgs() -> Result<Vec<OrgView>, AppError> {
    let ctx = super::ctx::ctx().await?;
    let user = ctx.require_user().await?;
    Ok(moat_services::tenancy::list_orgs(&ctx.svc, &user).await?)
}

/// Creates an organization owned by the signed-in user and opens it.
#[server(prefix = "/api", endpoint = "orgs/create")]
pub async fn create_org(name: String, msp: Option<String>) -> Result<OrgView, AppError> {
    let ctx = super::ctx::ctx().await?;
    let user = ctx.require_user().await?;
    let org = moat_services::tenancy::create_org(&ctx.svc, &user, &name, msp.is_some()).await?;
    leptos_axum::redirect(&format!("/orgs/{}", org.id));
    Ok(org)
}

/// One organization with members, invitations and clients.
#[server(prefix = "/api", endpoint = "orgs/detail")]
pub async fn get_org(org: i64) -> Result<OrgDetail, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::tenancy;
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(tenancy::org_detail(&ctx.svc, &scope).await?)
}

/// Creates a client organization under an MSP.
#[server(prefix = "/api", endpoint = "orgs/create_client")]
pub async fn create_client(org: i64, name: String) -> Result<OrgRef, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::tenancy;
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageClients).await?;
    Ok(tenancy::create_client(&ctx.svc, &scope, &name).await?)
}

/// Changes a member's role.
#[server(prefix = "/api", endpoint = "orgs/change_role")]
pub async fn change_role(org: i64, user: i64, role: String) -> Result<(), AppError> {
    use moat_domain::{
        Action, Role,
        views::{OrgId, UserId},
    };
    use moat_services::tenancy;
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageMembers).await?;
    let role: Role = role.parse().map_err(|e: moat_domain::tenancy::UnknownRole| {
        moat_services::Error::invalid("role", e.to_string())
    })?;
    Ok(tenancy::change_role(&ctx.svc, &scope, UserId(user), role).await?)
}

/// Removes a member (or leaves the organization).
#[server(prefix = "/api", endpoint = "orgs/remove_member")]
pub async fn remove_member(org: i64, user: i64) -> Result<(), AppError> {
    use moat_domain::{
        Action,
        views::{OrgId, UserId},
    };
    use moat_services::tenancy;
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(tenancy::remove_member(&ctx.svc, &scope, UserId(user)).await?)
}

/// The organization's audit log (owners).
#[server(prefix = "/api", endpoint = "orgs/audit")]
pub async fn audit_log(org: i64) -> Result<Vec<AuditEntryView>, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::tenancy;
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ReadAudit).await?;
    Ok(tenancy::audit_log(&ctx.svc, &scope, 200).await?)
}
