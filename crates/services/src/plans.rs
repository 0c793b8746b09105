//! The MX change planner (issue #7): when a domain's live MX set changes, or the user
//! proposes new `mx` patterns, Moat proposes the safe order of steps (add the new hosts to
//! the policy and publish, switch DNS, wait until every sender's cached policy can have
//! expired — the longest `max_age` served — then remove the old hosts) and tracks it: each
//! look re-checks the plan against the published policy and the live MX hosts
//! (`moat_domain::mta_sts::planner`, which is pure; this module persists it).

use crate::{Error, Result, Services, domains, probe, tenancy::OrgScope};
use moat_domain::{
    Action,
    hosting::DomainKind,
    mta_sts::{Mode, MxChangePlan, MxPattern, advance, plan_mx_change},
    views::{DomainDetail, DomainId},
};
use moat_store::plans::{self as store, PlanRow};
use serde::Serialize;

pub use moat_domain::views::MxPlanView;

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.into()))
}

/// What a look needs: the domain, its current patterns (none without a policy to plan
/// for), the longest max_age, the live MX hosts and the stored row.
struct Situation {
    id: DomainId,
    display: String,
    patterns: Option<Vec<MxPattern>>,
    longest: u32,
    live: Vec<String>,
    /// Why the MX lookup failed, when it did (then `live` is empty and means nothing).
    lookup_failed: Option<String>,
    row: Option<PlanRow>,
}

impl Situation {
    fn stored_plan(&self) -> Option<MxChangePlan> {
        self.row
            .as_ref()
            .and_then(|r| r.plan_json.as_deref())
            .and_then(|j| serde_json::from_str(j).ok())
    }

    fn stored_live(&self) -> Option<Vec<String>> {
        self.row
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.live_mx_json).ok())
    }

    fn view(&self, plan: Option<MxChangePlan>, updated_at: i64) -> MxPlanView {
        MxPlanView {
            plan,
            live_mx: self.live.clone(),
            patterns: self
                .patterns
                .iter()
                .flatten()
                .map(|p| p.as_str().to_owned())
                .collect(),
            longest_max_age: self.longest,
            updated_at,
            lookup_error: self.lookup_failed.clone(),
        }
    }
}

async fn situation(svc: &Services, scope: &OrgScope, name: &str) -> Result<Situation> {
    let detail: DomainDetail = domains::detail(svc, scope, name).await?;
    let domain = &detail.domain;
    if domain.kind == DomainKind::ReportingOnly {
        return Err(Error::invalid(
            "domain",
            "this domain is added for TLS reporting only: Moat does not host its policy",
        ));
    }
    let (live, note, failed) = probe::live_mx_checked(svc, &domain.name).await;
    // A failed lookup is not "every MX host is gone": nothing is planned on it.
    let lookup_failed = failed.then(|| note.unwrap_or_else(|| "the MX lookup failed".to_owned()));
    let patterns = domain
        .policy
        .as_ref()
        .filter(|p| p.mode != Mode::None)
        .map(|p| p.mx.clone());
    Ok(Situation {
        id: domain.id,
        display: domain.display_name.clone(),
        patterns,
        longest: u32::try_from(detail.longest_max_age.max(0)).unwrap_or(u32::MAX),
        live,
        lookup_failed,
        row: store::get(&svc.db, scope.org_id(), domain.id).await?,
    })
}

async fn save(
    svc: &Services,
    scope: &OrgScope,
    s: &Situation,
    plan: Option<&MxChangePlan>,
    now: i64,
) -> Result<()> {
    let plan_json = plan.map(to_json).transpose()?;
    store::upsert(
        &svc.db,
        scope.org_id(),
        s.id,
        plan_json.as_deref(),
        &to_json(&s.live)?,
        now,
    )
    .await?;
    Ok(())
}

/// The domain's MX change plan, brought up to date: a stored plan still in progress is
/// re-checked against the current policy and the live MX hosts (steps done are marked);
/// otherwise a change of the live MX set since the last look (or MX hosts the policy does
/// not cover) starts a new plan. The live MX set is stored for the next look. A domain
/// without a policy to change (none yet, or "Remove MTA-STS" under way) has no plan.
pub async fn mx_plan(svc: &Services, scope: &OrgScope, name: &str, now: i64) -> Result<MxPlanView> {
    if !scope.role().can(Action::Read) {
        return Err(Error::Forbidden);
    }
    let s = situation(svc, scope, name).await?;
    if s.lookup_failed.is_some() {
        // Show the plan as stored, unchanged, with the reason it is not brought up to date.
        let updated_at = s.row.as_ref().map_or(now, |r| r.updated_at);
        return Ok(s.view(s.stored_plan(), updated_at));
    }
    let plan = match &s.patterns {
        None => None,
        Some(patterns) => match s.stored_plan() {
            Some(mut stored) if !stored.complete => {
                // A policy served since with a longer max_age lengthens the wait.
                stored.wait_seconds = stored.wait_seconds.max(s.longest);
                Some(advance(&stored, patterns, &s.live, now))
            }
            _ => {
                let before = s.stored_live().unwrap_or_else(|| s.live.clone());
                let fresh = plan_mx_change(patterns, &before, &s.live, None, s.longest, now);
                (!fresh.steps.is_empty() && !fresh.complete).then_some(fresh)
            }
        },
    };
    save(svc, scope, &s, plan.as_ref(), now).await?;
    Ok(s.view(plan, now))
}

/// Plans a change to the `mx` patterns `desired` (replacing any plan under way).
pub async fn propose(
    svc: &Services,
    scope: &OrgScope,
    name: &str,
    desired: &[String],
    now: i64,
) -> Result<MxPlanView> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let desired = desired
        .iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| MxPattern::parse(d).map_err(|e| Error::invalid("mx", format!("{:?}: {e}", d.trim()))))
        .collect::<Result<Vec<_>>>()?;
    if desired.is_empty() {
        return Err(Error::invalid("mx", "give at least one mx pattern"));
    }
    let s = situation(svc, scope, name).await?;
    if let Some(why) = &s.lookup_failed {
        return Err(Error::invalid("mx", format!("{why}; try again once it answers")));
    }
    let Some(patterns) = &s.patterns else {
        return Err(Error::invalid(
            "mx",
            "the domain has no policy in testing or enforce mode to change",
        ));
    };
    let plan = plan_mx_change(patterns, &s.live, &s.live, Some(&desired), s.longest, now);
    save(svc, scope, &s, Some(&plan), now).await?;
    let wanted: Vec<&str> = desired.iter().map(MxPattern::as_str).collect();
    scope
        .audit(
            svc,
            "mx_plan.proposed",
            &format!(
                "{}: MX change plan to mx {} ({} steps)",
                s.display,
                wanted.join(", "),
                plan.steps.len()
            ),
        )
        .await?;
    Ok(s.view(Some(plan), now))
}

/// Drops the plan under way (the live MX set seen now becomes the reference for the next
/// look, which plans again only for a new change or MX hosts the policy does not cover).
pub async fn dismiss(svc: &Services, scope: &OrgScope, name: &str) -> Result<()> {
    let now = crate::now();
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let s = situation(svc, scope, name).await?;
    let had = s.stored_plan().is_some();
    save(svc, scope, &s, None, now).await?;
    scope
        .audit(
            svc,
            "mx_plan.dismissed",
            &format!(
                "{}: MX change plan dismissed{}",
                s.display,
                if had { "" } else { " (there was none)" }
            ),
        )
        .await
}
