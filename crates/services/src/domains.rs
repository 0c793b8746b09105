//! Customer domains: adding them, checking the delegating CNAMEs, the policy editor with
//! its history, MX discovery, and "Remove MTA-STS".

use crate::{
    Error, Result, Services,
    dns::Answer,
    now,
    tenancy::{Actor, OrgScope, authorize},
};
use moat_domain::{
    Action,
    hosting::{
        DomainKind, DomainName, DomainState, RecordCheck, RecordKind, RecordStatus, initial_policy,
        policy_diff, zone_snippet,
    },
    mta_sts::{MaxAge, Mode, MxPattern, Policy, PolicyId, check_coverage, find_sts_record, propose_patterns},
    views::{
        AcmeCertificateView, CertOrderView, CertificateView, DomainDetail, DomainView, MxReport, OrgId,
        PolicyVersionView,
    },
};
use moat_store::{
    acme,
    domains::{self as store, DomainRow, NewPolicy, PolicyRow},
};

fn parse_domain(svc: &Services, input: &str) -> Result<DomainName> {
    let name = DomainName::parse(input).map_err(|e| Error::invalid("domain", e.to_string()))?;
    if name.is_within(&svc.settings.hosting.zone) {
        return Err(Error::invalid("domain", "that name is inside Moat's own zone"));
    }
    Ok(name)
}

fn version_view(p: &PolicyRow, before: Option<&PolicyRow>) -> PolicyVersionView {
    let (mode, mx, max_age) = (p.mode(), p.patterns(), p.max_age());
    let prev = before.map(|b| (b.mode(), b.patterns(), b.max_age()));
    let changes = policy_diff(
        prev.as_ref().map(|(m, x, a)| (*m, x.as_slice(), *a)),
        (mode, &mx, max_age),
    );
    PolicyVersionView {
        version: p.version,
        policy_id: p.policy_id.clone(),
        mode,
        mx,
        max_age,
        created_at: p.created_at,
        publish_at: p.publish_at,
        created_by: p.created_by.clone(),
        changes,
    }
}

fn kind_of(row: &DomainRow) -> DomainKind {
    DomainKind::parse(&row.kind).unwrap_or(DomainKind::Hosted)
}

fn state_of(row: &DomainRow) -> DomainState {
    DomainState::parse(&row.state).unwrap_or(DomainState::Pending)
}

fn records_of(svc: &Services, row: &DomainRow) -> Vec<RecordCheck> {
    let saved: Vec<RecordCheck> = row
        .checks_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let kind = kind_of(row);
    RecordKind::ALL
        .iter()
        .map(|&k| RecordCheck {
            kind: k,
            name: k.name(&row.name),
            target: k.target(&row.name, &svc.settings.hosting.zone),
            required: kind.required_records().contains(&k),
            status: saved.iter().find(|c| c.kind == k).and_then(|c| c.status.clone()),
        })
        .collect()
}

/// The view of a domain from its row and its policy versions (newest first).
fn view_of(svc: &Services, row: &DomainRow, history: &[PolicyRow]) -> DomainView {
    let t = now();
    let state = state_of(row);
    let latest = history.first();
    let published = history.iter().find(|p| p.publish_at <= t);
    let longest = history.iter().map(|p| p.max_age).max().unwrap_or(0);
    DomainView {
        id: row.id,
        org_id: row.org_id,
        name: row.name.clone(),
        display_name: moat_domain::hosting::to_unicode(&row.name),
        kind: kind_of(row),
        state,
        created_at: row.created_at,
        checked_at: row.checked_at,
        records: records_of(svc, row),
        policy: latest.map(|p| version_view(p, history.get(1))),
        published_policy_id: if state.is_serving() {
            published.map(|p| p.policy_id.clone())
        } else {
            None
        },
        removal_requested_at: row.removal_requested_at,
        records_deletable_at: row.removal_requested_at.map(|r| r + longest),
    }
}

/// A domain's view, reading its policy versions.
async fn load_view(svc: &Services, row: &DomainRow) -> Result<(DomainView, Vec<PolicyRow>)> {
    let history = store::policies(&svc.db, row.id).await?;
    Ok((view_of(svc, row, &history), history))
}

async fn find(svc: &Services, scope: &OrgScope, input: &str) -> Result<DomainRow> {
    let name = DomainName::parse(input).map_err(|_| Error::NotFound)?;
    store::get(&svc.db, scope.org_id(), name.as_str())
        .await?
        .ok_or(Error::NotFound)
}

/// The organization holding `domain`, for the operator CLI (which names domains without
/// an organization).
pub async fn operator_scope(svc: &Services, domain: &str, action: Action) -> Result<OrgScope> {
    let name = DomainName::parse(domain).map_err(|e| Error::invalid("domain", e.to_string()))?;
    let row = store::get_any_org(&svc.db, name.as_str())
        .await?
        .ok_or(Error::NotFound)?;
    authorize(svc, &Actor::Operator, row.org_id, action).await
}

/// Adds a domain to the organization: hosted MTA-STS (starting in testing with a one-day
/// max_age and the patterns proposed for its live MX hosts, or in mode none when it has no
/// MX records) or reporting only.
pub async fn add(svc: &Services, scope: &OrgScope, input: &str, kind: DomainKind) -> Result<DomainView> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let name = parse_domain(svc, input)?;
    // Start in testing with the patterns proposed for the live MX hosts; without any MX
    // to cover, a testing policy would be invalid, so start with mode none.
    let proposed = if kind == DomainKind::Hosted {
        mx_report_for(svc, name.as_str(), &[], Mode::Testing)
            .await
            .proposed
    } else {
        Vec::new()
    };
    let (mode, max_age) = if proposed.is_empty() {
        (Mode::None, initial_policy().1)
    } else {
        initial_policy()
    };
    let mx = proposed
        .iter()
        .map(MxPattern::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    let t = now();
    let id = PolicyId::generate_from(t, 0);
    let first = (kind == DomainKind::Hosted).then(|| NewPolicy {
        policy_id: id.as_str(),
        mode: mode.as_str(),
        mx: &mx,
        max_age: i64::from(max_age.seconds()),
        created_at: t,
        publish_at: t + svc.settings.hosting.publish_delay_secs,
        created_by: scope.actor().audit_name(),
    });
    store::insert(&svc.db, scope.org_id(), name.as_str(), kind.as_str(), t, first)
        .await
        .map_err(|e| match e {
            moat_store::StoreError::Conflict => Error::Conflict(format!(
                "{} is already added to Moat (by this or another organization)",
                name.unicode()
            )),
            other => other.into(),
        })?;
    let what = match kind {
        DomainKind::Hosted => "hosted MTA-STS",
        DomainKind::ReportingOnly => "TLS reporting only",
    };
    scope
        .audit(svc, "domain.added", &format!("added {} ({what})", name.unicode()))
        .await?;
    get(svc, scope, name.as_str()).await
}

/// The organization's domains.
pub async fn list(svc: &Services, scope: &OrgScope) -> Result<Vec<DomainView>> {
    let rows = store::list(&svc.db, scope.org_id()).await?;
    let mut policies: std::collections::HashMap<_, Vec<PolicyRow>> = std::collections::HashMap::new();
    for p in store::policies_of_org(&svc.db, scope.org_id()).await? {
        policies.entry(p.domain_id).or_default().push(p);
    }
    Ok(rows
        .iter()
        .map(|r| view_of(svc, r, policies.get(&r.id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

/// One domain.
pub async fn get(svc: &Services, scope: &OrgScope, name: &str) -> Result<DomainView> {
    let row = find(svc, scope, name).await?;
    Ok(load_view(svc, &row).await?.0)
}

/// The domain page: the domain, its policy history and the zone snippet.
pub async fn detail(svc: &Services, scope: &OrgScope, name: &str) -> Result<DomainDetail> {
    let row = find(svc, scope, name).await?;
    let (domain, rows) = load_view(svc, &row).await?;
    let history = rows
        .iter()
        .enumerate()
        .map(|(i, p)| version_view(p, rows.get(i + 1)))
        .collect();
    Ok(DomainDetail {
        zone_snippet: zone_snippet(&row.name, &svc.settings.hosting.zone, domain.kind),
        longest_max_age: rows.iter().map(|p| p.max_age).max().unwrap_or(0),
        domain,
        history,
    })
}

/// The certificate served for the policy host of a hosted domain (`None` for a reporting-only
/// one): the ACME certificate if Moat has one, else the local CA's, and the order job.
pub async fn certificate(svc: &Services, scope: &OrgScope, name: &str) -> Result<Option<CertificateView>> {
    let row = find(svc, scope, name).await?;
    if kind_of(&row) != DomainKind::Hosted {
        return Ok(None);
    }
    let host = RecordKind::PolicyHost.name(&row.name);
    let acme = acme::certificate(&svc.db, &host)
        .await?
        .map(|c| AcmeCertificateView {
            issuer: c.issuer,
            serial: c.serial,
            not_before: c.not_before,
            not_after: c.not_after,
            renew_at: c.renew_at,
        });
    let order = acme::job(&svc.db, acme::ORDER_JOB, &host)
        .await?
        .map(|j| CertOrderView {
            due_at: j.due_at,
            attempts: j.attempts,
            last_error: j.last_error,
        });
    Ok(Some(CertificateView { host, acme, order }))
}

async fn check_record(svc: &Services, kind: RecordKind, domain: &str) -> RecordStatus {
    let zone = &svc.settings.hosting.zone;
    let name = kind.name(domain);
    let target = kind.target(domain, zone);
    match svc.dns.cname(&name).await {
        Answer::Found(targets) if targets.contains(&target) => RecordStatus::Ok,
        Answer::Found(targets) => RecordStatus::WrongTarget {
            found: targets.join(", "),
        },
        Answer::Failed(message) => RecordStatus::Error { message },
        Answer::Nothing => {
            let other = match kind {
                RecordKind::PolicyHost => svc.dns.addresses(&name).await,
                RecordKind::StsTxt | RecordKind::TlsRpt => svc.dns.txt(&name).await,
            };
            match other {
                Answer::Found(found) => RecordStatus::Conflicting {
                    found: found
                        .into_iter()
                        .map(|f| match kind {
                            RecordKind::PolicyHost => format!("address {f}"),
                            _ => format!("TXT \"{f}\""),
                        })
                        .collect(),
                },
                Answer::Nothing => RecordStatus::Missing,
                Answer::Failed(message) => RecordStatus::Error { message },
            }
        }
    }
}

async fn run_check(svc: &Services, row: &DomainRow) -> Result<(DomainState, DomainState)> {
    let kind = kind_of(row);
    let mut checks = Vec::new();
    for &k in &RecordKind::ALL {
        let required = kind.required_records().contains(&k);
        let status = check_record(svc, k, &row.name).await;
        checks.push(RecordCheck {
            kind: k,
            name: k.name(&row.name),
            target: k.target(&row.name, &svc.settings.hosting.zone),
            required,
            status: Some(status),
        });
    }
    let lookup_failed = checks
        .iter()
        .any(|c| c.required && matches!(c.status, Some(RecordStatus::Error { .. })));
    let all_ok = checks
        .iter()
        .filter(|c| c.required)
        .all(|c| c.status.as_ref().is_some_and(RecordStatus::is_ok));
    let old = state_of(row);
    // A failed lookup says nothing about the records: never demote on it.
    let new = if lookup_failed && !all_ok {
        old
    } else {
        old.after_check(all_ok)
    };
    let json = serde_json::to_string(&checks).map_err(|e| Error::Internal(e.into()))?;
    store::record_check(&svc.db, row.id, new.as_str(), &json, now()).await?;
    Ok((old, new))
}

async fn note_transition(
    svc: &Services,
    row: &DomainRow,
    actor: &str,
    old: DomainState,
    new: DomainState,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let shown = moat_domain::hosting::to_unicode(&row.name);
    let detail = match new {
        DomainState::Active if old == DomainState::Degraded => format!("{shown}: records are correct again"),
        DomainState::Active => format!("{shown} is active: Moat now serves its records and policy"),
        DomainState::Degraded => format!("{shown} is degraded: a delegating record broke"),
        DomainState::Pending => format!("{shown} is pending"),
    };
    moat_store::audit::record(
        &svc.db,
        Some(row.org_id),
        actor,
        &format!("domain.{}", new.as_str()),
        &detail,
        now(),
    )
    .await?;
    if new == DomainState::Degraded {
        alert_owners(svc, row.org_id, &shown, &row.name).await;
    }
    Ok(())
}

/// Mails the organization's owners and admins that a domain's records broke. Best effort:
/// a mail failure is logged, never fails the check.
async fn alert_owners(svc: &Services, org: OrgId, domain: &str, a_label: &str) {
    let members = match moat_store::orgs::members(&svc.db, org).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list members for an alert");
            return;
        }
    };
    let body = format!(
        "A record that delegates {domain} to Moat no longer points where it should.\n\n\
         Moat keeps serving the policy, but senders may stop finding it once their caches expire.\n\
         Open the domain page to see which record broke and the exact fix:\n{}/orgs/{}/domains/{}\n",
        svc.settings.public_url, org, a_label
    );
    for m in members.iter().filter(|m| m.role >= moat_domain::Role::Admin) {
        let mail = crate::mail::OutgoingMail {
            to: m.email.clone(),
            subject: format!("Moat: {domain} records broke"),
            body: body.clone(),
        };
        if let Err(e) = svc.mailer.send(&svc.settings.mail_from, &mail).await {
            tracing::warn!(error = %e, "cannot send the degraded-domain alert");
        }
    }
}

/// Checks a domain's records now, updates its state and returns it.
pub async fn check(svc: &Services, scope: &OrgScope, name: &str) -> Result<DomainView> {
    let row = find(svc, scope, name).await?;
    let (old, new) = run_check(svc, &row).await?;
    note_transition(svc, &row, scope.actor().audit_name(), old, new).await?;
    get(svc, scope, &row.name).await
}

/// One round of background re-checks: every domain not checked for the configured
/// interval (pending domains every minute, so activation follows publication quickly).
/// Returns how many were checked.
pub async fn recheck_due(svc: &Services, batch: i64) -> Result<usize> {
    let t = now();
    let rows = store::list_for_check(&svc.db, batch).await?;
    let mut n = 0;
    for row in rows {
        let interval = if row.state == "pending" {
            60
        } else {
            svc.settings.hosting.recheck_interval_secs
        };
        if row.checked_at.is_some_and(|c| c + interval > t) {
            continue;
        }
        let (old, new) = run_check(svc, &row).await?;
        note_transition(svc, &row, "system", old, new).await?;
        n += 1;
    }
    Ok(n)
}

/// The policy a user asks for.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// `none` / `testing` / `enforce`.
    pub mode: String,
    /// Patterns as typed.
    pub mx: Vec<String>,
    /// Seconds.
    pub max_age: u64,
    /// The user confirmed switching to enforce (senders then refuse delivery to MX hosts
    /// the patterns do not cover). Required by the UI; the CLI passes `true`, as scripts
    /// do what they are told.
    pub confirm_enforce: bool,
    /// Switch to enforce even though the readiness checklist ([`crate::probe::readiness`])
    /// is not all green; the failing checks are written to the audit log
    /// (`policy.enforce_override`).
    pub override_readiness: bool,
}

fn validate(input: &PolicyInput) -> Result<Policy> {
    let mode: Mode = Mode::ALL
        .into_iter()
        .find(|m| m.as_str() == input.mode.trim())
        .ok_or_else(|| Error::invalid("mode", "mode is none, testing or enforce"))?;
    let mut mx = Vec::new();
    for p in input.mx.iter().filter(|p| !p.trim().is_empty()) {
        let pat = MxPattern::parse(p).map_err(|e| Error::invalid("mx", e.to_string()))?;
        if !mx.contains(&pat) {
            mx.push(pat);
        }
    }
    let max_age = MaxAge::new(input.max_age).map_err(|e| Error::invalid("max_age", e.to_string()))?;
    Policy::new(mode, mx, max_age).map_err(|e| Error::invalid("mx", e.to_string()))
}

/// Compares `patterns` with the domain's live MX hosts: proposals and warnings.
pub async fn mx_report_for(svc: &Services, domain: &str, patterns: &[MxPattern], mode: Mode) -> MxReport {
    let (live_mx, lookup_error) = match svc.dns.mx(domain).await {
        Answer::Found(mx) => (mx, None),
        Answer::Nothing => (Vec::new(), Some(format!("{domain} has no MX records"))),
        Answer::Failed(e) => (Vec::new(), Some(format!("MX lookup failed: {e}"))),
    };
    let live: Vec<String> = live_mx.iter().filter(|h| !h.is_empty()).cloned().collect();
    let mut warnings = Vec::new();
    if !live.is_empty() && mode != Mode::None {
        let cov = check_coverage(patterns, &live);
        for h in &cov.uncovered_mx {
            warnings.push(format!(
                "live MX {h} is not covered by any mx pattern{}",
                if mode == Mode::Enforce {
                    ": in enforce mode senders will refuse to deliver to it"
                } else {
                    ": in testing mode senders report failures for it"
                }
            ));
        }
        for p in &cov.unused_patterns {
            let hint = if p.is_wildcard() {
                " (a wildcard matches exactly one label: *.example.com covers mx1.example.com, not a.b.example.com)"
            } else {
                ""
            };
            warnings.push(format!("pattern {p} matches none of the live MX hosts{hint}"));
        }
    }
    MxReport {
        proposed: propose_patterns(&live),
        live_mx,
        lookup_error,
        warnings,
    }
}

/// Live MX hosts against the domain's current policy.
pub async fn mx_report(svc: &Services, scope: &OrgScope, name: &str) -> Result<MxReport> {
    let view = get(svc, scope, name).await?;
    let (patterns, mode) = view
        .policy
        .as_ref()
        .map(|p| (p.mx.clone(), p.mode))
        .unwrap_or((Vec::new(), Mode::Testing));
    Ok(mx_report_for(svc, &view.name, &patterns, mode).await)
}

fn next_policy_id(t: i64, previous: &[PolicyRow]) -> PolicyId {
    let mut counter = 0;
    loop {
        let id = PolicyId::generate_from(t, counter);
        if !previous.iter().any(|p| p.policy_id == id.as_str()) {
            return id;
        }
        counter += 1;
    }
}

async fn save_version(
    svc: &Services,
    scope: &OrgScope,
    row: &DomainRow,
    policy: &Policy,
    what: &str,
) -> Result<()> {
    let t = now();
    let history = store::policies(&svc.db, row.id).await?;
    let id = next_policy_id(t, &history);
    let mx: Vec<&str> = policy.mx().iter().map(MxPattern::as_str).collect();
    let mx = mx.join("\n");
    let new = NewPolicy {
        policy_id: id.as_str(),
        mode: policy.mode().as_str(),
        mx: &mx,
        max_age: i64::from(policy.max_age().seconds()),
        created_at: t,
        publish_at: t + svc.settings.hosting.publish_delay_secs,
        created_by: scope.actor().audit_name(),
    };
    let version = store::insert_policy(&svc.db, row.id, &new).await?;
    let before = history.first().map(|p| (p.mode(), p.patterns(), p.max_age()));
    let changes = policy_diff(
        before.as_ref().map(|(m, x, a)| (*m, x.as_slice(), *a)),
        (policy.mode(), policy.mx(), policy.max_age()),
    );
    scope
        .audit(
            svc,
            what,
            &format!(
                "{}: policy version {version} (id {}): {}",
                moat_domain::hosting::to_unicode(&row.name),
                id.as_str(),
                changes.join("; ")
            ),
        )
        .await
}

/// Saves a new policy version; returns the domain and the warnings against live MX.
pub async fn set_policy(
    svc: &Services,
    scope: &OrgScope,
    name: &str,
    input: &PolicyInput,
) -> Result<(DomainView, Vec<String>)> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let row = find(svc, scope, name).await?;
    if kind_of(&row) == DomainKind::ReportingOnly {
        return Err(Error::invalid(
            "mode",
            "this domain is added for TLS reporting only; its MTA-STS policy is hosted elsewhere",
        ));
    }
    let policy = validate(input)?;
    let mut overridden = None;
    if policy.mode() == Mode::Enforce {
        let current = store::policies(&svc.db, row.id).await?;
        if current.first().is_none_or(|p| p.mode() != Mode::Enforce) {
            if !input.confirm_enforce {
                return Err(Error::invalid(
                    "confirm_enforce",
                    "confirm that senders will refuse delivery to MX hosts the patterns do not cover",
                ));
            }
            // The readiness gate, against the patterns about to be enforced.
            let (view, _) = load_view(svc, &row).await?;
            let readiness = crate::probe::readiness_for(svc, scope, &view, policy.mx()).await?;
            if !readiness.ready {
                let failing = readiness
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: {}", c.code, c.detail))
                    .collect::<Vec<_>>()
                    .join("; ");
                if !input.override_readiness {
                    return Err(Error::invalid(
                        "mode",
                        format!(
                            "not ready for enforce ({failing}) — fix these, or override the readiness checks"
                        ),
                    ));
                }
                overridden = Some(failing);
            }
        }
    }
    save_version(svc, scope, &row, &policy, "policy.changed").await?;
    if let Some(failing) = overridden {
        scope
            .audit(
                svc,
                "policy.enforce_override",
                &format!(
                    "{}: switched to enforce although not ready: {failing}",
                    moat_domain::hosting::to_unicode(&row.name)
                ),
            )
            .await?;
    }
    if row.removal_requested_at.is_some() && policy.mode() != Mode::None {
        store::set_removal(&svc.db, row.id, None).await?;
    }
    let report = mx_report_for(svc, &row.name, policy.mx(), policy.mode()).await;
    let mut warnings = report.warnings;
    if let Some(e) = report.lookup_error {
        warnings.push(e);
    }
    Ok((get(svc, scope, &row.name).await?, warnings))
}

/// "Remove MTA-STS" (RFC 8461 §8.3): publishes mode none with a new id and records when;
/// the records may be deleted once the longest max_age ever served has passed.
pub async fn remove_mta_sts(svc: &Services, scope: &OrgScope, name: &str) -> Result<DomainView> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let row = find(svc, scope, name).await?;
    if kind_of(&row) == DomainKind::ReportingOnly {
        return Err(Error::invalid(
            "domain",
            "Moat does not host MTA-STS for this domain",
        ));
    }
    let history = store::policies(&svc.db, row.id).await?;
    let longest = history.iter().map(|p| p.max_age).max().unwrap_or(0);
    let keep_mx: Vec<MxPattern> = history.first().map(PolicyRow::patterns).unwrap_or_default();
    let max_age = MaxAge::new(u64::try_from(longest.max(86_400)).unwrap_or(0)).unwrap_or(MaxAge::MAX);
    let policy = Policy::new(Mode::None, keep_mx, max_age)
        .map_err(|e| Error::Internal(anyhow::anyhow!(e.to_string())))?;
    save_version(svc, scope, &row, &policy, "policy.removal_started").await?;
    store::set_removal(&svc.db, row.id, Some(now())).await?;
    get(svc, scope, &row.name).await
}

/// Deletes a domain. Allowed while it never served a policy (pending or reporting only),
/// or once "Remove MTA-STS" has run for the longest max_age ever served.
pub async fn delete(svc: &Services, scope: &OrgScope, name: &str) -> Result<()> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(Error::Forbidden);
    }
    let row = find(svc, scope, name).await?;
    let (view, _) = load_view(svc, &row).await?;
    let safe = view.kind == DomainKind::ReportingOnly
        || view.state == DomainState::Pending
        || view.records_deletable_at.is_some_and(|t| t <= now());
    if !safe {
        return Err(Error::Conflict(match view.records_deletable_at {
            Some(t) => format!(
                "senders may still hold the old policy; delete the domain after {}",
                moat_domain::calendar::format_utc(t)
            ),
            None => "run \"Remove MTA-STS\" first: senders cache the policy for up to its max_age".into(),
        }));
    }
    store::delete(&svc.db, row.id).await?;
    scope
        .audit(svc, "domain.deleted", &format!("deleted {}", view.display_name))
        .await
}

/// The live `_mta-sts` TXT as senders see it through the configured resolvers (for the
/// CLI's `domain check`): the policy id, if any.
pub async fn live_policy_id(svc: &Services, domain: &str) -> Option<String> {
    match svc.dns.txt(&RecordKind::StsTxt.name(domain)).await {
        Answer::Found(txts) => find_sts_record(&txts)
            .ok()
            .flatten()
            .map(|r| r.id.as_str().to_owned()),
        _ => None,
    }
}
