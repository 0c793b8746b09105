//! The MX change planner: the safe order of steps when a domain's MX hosts change.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::MxPlanView;

/// The domain's MX change plan, advanced against the live MX hosts and the policy.
#[server(prefix = "/api", endpoint = "mx_plan/get")]
pub async fn get_mx_plan(org: i64, name: String) -> Result<MxPlanView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{plans, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(plans::mx_plan(&ctx.svc, &scope, &name, moat_services::now()).await?)
}

/// Plans the move to these `mx` patterns (one per line).
#[server(prefix = "/api", endpoint = "mx_plan/propose")]
pub async fn propose_mx_plan(org: i64, name: String, mx: String) -> Result<MxPlanView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{plans, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    let desired: Vec<String> = mx.lines().map(str::to_owned).collect();
    Ok(plans::propose(&ctx.svc, &scope, &name, &desired, moat_services::now()).await?)
}

/// Drops the current plan.
#[server(prefix = "/api", endpoint = "mx_plan/dismiss")]
pub async fn dismiss_mx_plan(org: i64, name: String) -> Result<MxPlanView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{plans, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    plans::dismiss(&ctx.svc, &scope, &name).await?;
    Ok(plans::mx_plan(&ctx.svc, &scope, &name, moat_services::now()).await?)
}
