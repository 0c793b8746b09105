//! Problems the detector found, and who hears about them.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::{NotificationSettings, ProblemView};

/// The organization's problems (of one domain when given; with its clients' for an MSP):
/// open ones, and those resolved in the last 7 days.
#[server(prefix = "/api", endpoint = "problems/list")]
pub async fn list_problems(org: i64, domain: Option<String>) -> Result<Vec<ProblemView>, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{detect, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let domain = domain.filter(|d| !d.trim().is_empty());
    Ok(detect::problems(&ctx.svc, &scope, domain.as_deref()).await?)
}

/// Acknowledges an open problem: no more reminders until it escalates.
#[server(prefix = "/api", endpoint = "problems/acknowledge")]
pub async fn acknowledge_problem(org: i64, id: i64) -> Result<(), AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{detect, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(detect::acknowledge(&ctx.svc, &scope, id).await?)
}

/// The organization's notification settings and the viewer's own choice.
#[server(prefix = "/api", endpoint = "notifications/get")]
pub async fn get_notifications(org: i64) -> Result<NotificationSettings, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{notify, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(notify::settings_for(&ctx.svc, &scope).await?)
}

/// Saves the webhook, the repeat interval and the minimum severity (admins and owners).
#[server(prefix = "/api", endpoint = "notifications/save")]
pub async fn save_notifications(
    org: i64,
    webhook_url: Option<String>,
    repeat_hours: i64,
    min_severity: String,
    rotate: Option<String>,
) -> Result<NotificationSettings, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{notify, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(notify::save_settings(
        &ctx.svc,
        &scope,
        webhook_url.as_deref(),
        repeat_hours,
        &min_severity,
        rotate.is_some(),
    )
    .await?)
}

/// Sets the viewer's own e-mail choice: `immediate`, `digest` or `off`.
#[server(prefix = "/api", endpoint = "notifications/mine")]
pub async fn set_my_notifications(org: i64, email: String) -> Result<(), AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{notify, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(notify::set_my_email(&ctx.svc, &scope, &email).await?)
}
