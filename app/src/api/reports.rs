//! Received TLS reports: the list (of an organization, or of one domain) and one report.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::{OrgView, ReportDetail, ReportView};
use serde::{Deserialize, Serialize};

/// The reports page: the organization and its newest reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgReports {
    /// The organization, with the viewer's role.
    pub org: OrgView,
    /// Newest period first.
    pub reports: Vec<ReportView>,
}

/// An organization's reports, of one domain when `domain` is given.
#[server(prefix = "/api", endpoint = "reports/list")]
pub async fn list_reports(org: i64, domain: Option<String>) -> Result<OrgReports, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{intake, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let domain = domain.filter(|d| !d.trim().is_empty());
    let reports = intake::list(&ctx.svc, &scope, domain.as_deref(), 500).await?;
    Ok(OrgReports {
        org: scope.org().clone(),
        reports,
    })
}

/// One report with its policies, failure details, warnings and how it arrived.
#[server(prefix = "/api", endpoint = "reports/detail")]
pub async fn get_report(org: i64, id: i64) -> Result<ReportDetail, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{intake, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(intake::detail(&ctx.svc, &scope, id).await?)
}
