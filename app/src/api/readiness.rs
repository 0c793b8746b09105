//! The safe path to enforce: MX probes, the policy lint and the readiness checklist.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::ReadinessView;

/// The domain's testing → enforce checklist with its latest MX probes and the policy lint.
#[server(prefix = "/api", endpoint = "readiness/get")]
pub async fn get_readiness(org: i64, name: String) -> Result<ReadinessView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{probe, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(probe::readiness_view(&ctx.svc, &scope, &name).await?)
}

/// Probes every address of every MX of the domain now (at most every 30 s), then answers the
/// checklist again.
#[server(prefix = "/api", endpoint = "readiness/probe")]
pub async fn probe_now(org: i64, name: String) -> Result<ReadinessView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{probe, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    probe::probe_on_demand(&ctx.svc, &scope, &name, moat_services::now()).await?;
    Ok(probe::readiness_view(&ctx.svc, &scope, &name).await?)
}
