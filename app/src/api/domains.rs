//! Customer domains: the list, adding one, the domain page, "check now", the policy editor,
//! "Remove MTA-STS" and deleting.

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::{CertificateView, DomainDetail, DomainView, MxReport, OrgView};
use serde::{Deserialize, Serialize};

/// The domains page: the organization (for the viewer's role) and its domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDomains {
    /// The organization, with the viewer's role.
    pub org: OrgView,
    /// Its domains.
    pub domains: Vec<DomainView>,
}

/// The domain page: the organization (for the viewer's role) and the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainOverview {
    /// The organization, with the viewer's role.
    pub org: OrgView,
    /// The domain, its history and zone snippet.
    pub detail: DomainDetail,
    /// The policy host's certificate (hosted domains only).
    pub certificate: Option<CertificateView>,
}

/// What saving a policy answers: the domain and the warnings against the live MX hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySaved {
    /// The domain with its new current policy.
    pub domain: DomainView,
    /// Warnings against the live MX hosts.
    pub warnings: Vec<String>,
}

/// The organization's domains.
#[server(prefix = "/api", endpoint = "domains/list")]
pub async fn list_domains(org: i64) -> Result<OrgDomains, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let list = domains::list(&ctx.svc, &scope).await?;
    Ok(OrgDomains {
        org: scope.org().clone(),
        domains: list,
    })
}

/// Adds a domain (hosted MTA-STS, or TLS reporting only) and opens its page.
#[server(prefix = "/api", endpoint = "domains/add")]
pub async fn add_domain(
    org: i64,
    domain: String,
    reporting_only: Option<String>,
) -> Result<DomainView, AppError> {
    use moat_domain::{Action, hosting::DomainKind, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    let kind = if reporting_only.is_some() {
        DomainKind::ReportingOnly
    } else {
        DomainKind::Hosted
    };
    let d = domains::add(&ctx.svc, &scope, &domain, kind).await?;
    leptos_axum::redirect(&format!("/orgs/{org}/domains/{}", d.name));
    Ok(d)
}

/// One domain with its policy history, zone snippet and policy host certificate.
#[server(prefix = "/api", endpoint = "domains/detail")]
pub async fn get_domain(org: i64, name: String) -> Result<DomainOverview, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let detail = domains::detail(&ctx.svc, &scope, &name).await?;
    let certificate = domains::certificate(&ctx.svc, &scope, &name).await?;
    Ok(DomainOverview {
        org: scope.org().clone(),
        detail,
        certificate,
    })
}

/// The live MX hosts against the current policy: proposals and warnings.
#[server(prefix = "/api", endpoint = "domains/mx")]
pub async fn get_mx_report(org: i64, name: String) -> Result<MxReport, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    Ok(domains::mx_report(&ctx.svc, &scope, &name).await?)
}

/// Looks the delegating records up now and updates the domain's state.
#[server(prefix = "/api", endpoint = "domains/check")]
pub async fn check_domain(org: i64, name: String) -> Result<DomainView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    Ok(domains::check(&ctx.svc, &scope, &name).await?)
}

/// Saves a new policy version. Switching to enforce needs `confirm_enforce`: in enforce
/// mode senders refuse delivery to MX hosts the patterns do not cover; and, while a readiness
/// check fails, `override_readiness` (written to the audit log).
#[server(prefix = "/api", endpoint = "domains/set_policy")]
pub async fn set_policy(
    org: i64,
    name: String,
    mode: String,
    mx: String,
    max_age: String,
    confirm_enforce: Option<String>,
    override_readiness: Option<String>,
) -> Result<PolicySaved, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{Error, domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    let max_age: u64 = max_age.trim().parse().map_err(|_| {
        Error::invalid(
            "max_age",
            "max_age is a number of seconds, such as 86400 (one day)",
        )
    })?;
    let input = domains::PolicyInput {
        mode,
        mx: mx.lines().map(str::to_owned).collect(),
        max_age,
        confirm_enforce: confirm_enforce.is_some(),
        override_readiness: override_readiness.is_some(),
    };
    let (domain, warnings) = domains::set_policy(&ctx.svc, &scope, &name, &input).await?;
    Ok(PolicySaved { domain, warnings })
}

/// "Remove MTA-STS": publishes mode none until every cached policy has expired.
#[server(prefix = "/api", endpoint = "domains/remove_mta_sts")]
pub async fn remove_mta_sts(org: i64, name: String) -> Result<DomainView, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    Ok(domains::remove_mta_sts(&ctx.svc, &scope, &name).await?)
}

/// Deletes a domain (refused while senders may still hold its policy) and returns to the list.
#[server(prefix = "/api", endpoint = "domains/delete")]
pub async fn delete_domain(org: i64, name: String) -> Result<(), AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{domains, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::ManageDomains).await?;
    domains::delete(&ctx.svc, &scope, &name).await?;
    leptos_axum::redirect(&format!("/orgs/{org}/domains"));
    Ok(())
}
