//! Dashboards: a domain's TLS reports over a range of days, and the overview of an
//! organization's domains (with its clients' for an MSP).

use crate::error::AppError;
use leptos::prelude::*;
use moat_domain::views::{DomainDashboard, Overview};
use serde::{Deserialize, Serialize};

/// What the dashboards are asked for, as it appears in their URLs' query strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardQuery {
    /// Last 7, 30 or 90 days (default 30), unless `from` and `to` are given.
    pub days: Option<i64>,
    /// Custom range start, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Custom range end, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// Only this sending organization.
    pub sender: Option<String>,
    /// Only this result type.
    pub result: Option<String>,
}

impl DashboardQuery {
    /// From a route's query map.
    pub fn from_query(q: &leptos_router::params::ParamsMap) -> Self {
        let text = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Self {
            days: q.get("days").and_then(|d| d.parse().ok()),
            from: text("from"),
            to: text("to"),
            sender: text("sender"),
            result: text("result"),
        }
    }

    /// The query string (without `?`), values percent-encoded.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.days {
            parts.push(format!("days={d}"));
        }
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("sender", &self.sender),
            ("result", &self.result),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.join("&")
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The filter a query asks for (the range relative to now).
#[cfg(feature = "ssr")]
pub fn filter_of(q: &DashboardQuery) -> Result<moat_domain::views::DashboardFilter, AppError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let range = moat_domain::calendar::DayRange::parse(q.days, q.from.as_deref(), q.to.as_deref(), now)
        .map_err(|message| {
            AppError::Invalid {
                field: "range".into(),
                message,
            }
            .with_status()
        })?;
    Ok(moat_domain::views::DashboardFilter {
        range,
        sending_org: q.sender.clone(),
        result_type: q.result.clone(),
    })
}

/// A domain's dashboard.
#[server(prefix = "/api", endpoint = "dashboard/domain")]
pub async fn get_domain_dashboard(
    org: i64,
    name: String,
    #[server(default)] query: DashboardQuery,
) -> Result<DomainDashboard, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{dashboard, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let filter = filter_of(&query)?;
    Ok(dashboard::domain_dashboard(&ctx.svc, &scope, &name, filter).await?)
}

/// The overview of the organization's domains (and its clients' for an MSP).
#[server(prefix = "/api", endpoint = "dashboard/overview")]
pub async fn get_overview(org: i64, #[server(default)] query: DashboardQuery) -> Result<Overview, AppError> {
    use moat_domain::{Action, views::OrgId};
    use moat_services::{dashboard, tenancy};
    let ctx = super::ctx::ctx().await?;
    let scope = tenancy::authorize(&ctx.svc, &ctx.actor().await?, OrgId(org), Action::Read).await?;
    let filter = filter_of(&query)?;
    Ok(dashboard::overview(&ctx.svc, &scope, filter.range).await?)
}
