//! The problem detector. For one domain it reads the last weeks of rollups and failure
//! details, the policy versions Moat served, the domain's records and its certificate, and
//! says which rules fire, each with evidence (the report rows), a severity and a fix. The
//! store then opens, updates or resolves the domain's problems to match. It runs shortly
//! after reports arrive for a domain, and over every domain daily (see `moat serve`).
//!
//! Windows: "recent" is today and the two days before (senders report the previous UTC day,
//! a day or so late); the baseline is the 28 days before that.

use crate::{
    Result, Services, dashboard,
    domains::{certificate, detail as domain_detail},
    tenancy::{Actor, OrgScope, authorize},
};
use moat_domain::{
    Action,
    calendar::{format_day, format_utc},
    hosting::DomainKind,
    mta_sts::Mode,
    views::{DomainId, EvidenceView, OrgId, PolicyVersionView, ProblemView},
};
use moat_store::{
    dashboard::{self as rollups, FailureExportRow, Slice},
    problems::{self as store, Change, Finding, ProblemRow},
};
use std::collections::{BTreeMap, BTreeSet};

const DAY: i64 = 86_400;
/// Days in the recent window (today included).
pub const RECENT_DAYS: i64 = 3;
/// Days in the baseline before it.
pub const BASELINE_DAYS: i64 = 28;
/// Failure rate (per mille) from which the recent window is a warning…
pub const WARN_PERMILLE: i64 = 50;
/// …and a critical problem.
pub const CRITICAL_PERMILLE: i64 = 250;
/// Sessions needed before a rate means anything.
pub const MIN_SESSIONS: i64 = 20;
/// A sender that reported on at least this many of 14 days, and then on none of the
/// [`SILENT_GAP_DAYS`] days up to today, has gone silent.
pub const SILENT_AFTER_DAYS: usize = 5;
/// Days without a report (today included) before a regular sender counts as silent: reports
/// cover the previous UTC day and arrive up to a day later.
pub const SILENT_GAP_DAYS: i64 = 4;
/// Evidence rows kept per problem.
const EVIDENCE: usize = 20;

/// Result types that mean the sender could not use the MTA-STS policy Moat hosts.
const HOSTING_TYPES: [&str; 3] = [
    "sts-policy-fetch-error",
    "sts-webpki-invalid",
    "sts-policy-invalid",
];
/// Result types that name a problem of one MX host.
const MX_TYPES: [&str; 5] = [
    "certificate-expired",
    "certificate-host-mismatch",
    "certificate-not-trusted",
    "starttls-not-supported",
    "validation-failure",
];

/// At most this many problems per rule and domain that are keyed by something a report names
/// (an MX host, a sender): anyone can send a report, so forged ones must not flood the list.
pub const MAX_KEYED: usize = 10;

/// Report text as it may appear in a problem, a mail or a webhook: control characters (line
/// breaks included) become spaces, and it is cut at `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

fn evidence_of(rows: &[&FailureExportRow]) -> Vec<EvidenceView> {
    rows.iter()
        .take(EVIDENCE)
        .map(|r| EvidenceView {
            report: Some(r.report_row),
            sender: clean(&r.organization_name, 100),
            at: r.start_at,
            text: format!(
                "{} failed session(s): {}{}{}{}",
                r.failed_session_count,
                r.result_type,
                r.receiving_mx_hostname
                    .as_deref()
                    .map(|m| format!(", MX {m}"))
                    .unwrap_or_default(),
                r.sending_mta_ip
                    .as_deref()
                    .map(|m| format!(", from {m}"))
                    .unwrap_or_default(),
                r.failure_reason_code
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default(),
            ),
        })
        .collect()
}

fn finding(
    rule: &str,
    subject: &str,
    severity: &str,
    title: String,
    detail: String,
    fix: String,
    evidence: &[EvidenceView],
) -> Finding {
    let evidence: Vec<EvidenceView> = evidence
        .iter()
        .map(|e| EvidenceView {
            sender: clean(&e.sender, 100),
            text: clean(&e.text, 400),
            ..e.clone()
        })
        .collect();
    Finding {
        rule: rule.into(),
        subject: clean(subject, 200),
        severity: severity.into(),
        title: clean(&title, 200),
        detail: clean(&detail, 2000),
        fix,
        evidence_json: serde_json::to_string(&evidence).unwrap_or_else(|_| "[]".into()),
    }
}

fn plural_days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// The `MAX_KEYED` entries with the most evidence.
fn most_evidence(by_sender: BTreeMap<&str, Vec<EvidenceView>>) -> Vec<(&str, Vec<EvidenceView>)> {
    let mut v: Vec<_> = by_sender.into_iter().collect();
    v.sort_by_key(|(_, ev)| std::cmp::Reverse(ev.len()));
    v.truncate(MAX_KEYED);
    v
}

fn permille(part: i64, total: i64) -> i64 {
    if total <= 0 {
        0
    } else {
        i64::try_from(i128::from(part) * 1000 / i128::from(total)).unwrap_or(1000)
    }
}

fn pct(pm: i64) -> String {
    format!("{}.{} %", pm / 10, pm % 10)
}

/// The `mode:` of a policy-string as a sender reported it.
fn reported_mode(policy_string_json: &str) -> Option<String> {
    let lines: Vec<String> = serde_json::from_str(policy_string_json).ok()?;
    lines.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case("mode")).then(|| v.trim().to_ascii_lowercase())
    })
}

/// The version in force at `t` (the newest published by then).
fn version_at(history: &[PolicyVersionView], t: i64) -> Option<&PolicyVersionView> {
    history
        .iter()
        .filter(|v| v.publish_at <= t)
        .max_by_key(|v| v.publish_at)
}

/// What fires for one domain now.
pub async fn findings(svc: &Services, scope: &OrgScope, name: &str, now: i64) -> Result<Vec<Finding>> {
    let detail = domain_detail(svc, scope, name).await?;
    let domain = &detail.domain;
    let today = now - now.rem_euclid(DAY);
    let recent_from = today - (RECENT_DAYS - 1) * DAY;
    let base_from = recent_from - BASELINE_DAYS * DAY;
    let hosted = domain.kind == DomainKind::Hosted;
    let mode = domain.policy.as_ref().map(|p| p.mode);
    let enforce = hosted && mode == Some(Mode::Enforce) && domain.state.is_serving();
    let mut out = Vec::new();

    let slice = Slice {
        org: scope.org_id(),
        domain: domain.id,
        from: base_from,
        to: today,
        sending_org: "",
        result_type: "",
    };
    let rows = rollups::day_rows(&svc.db, &slice).await?;
    let (mut recent_ok, mut recent_fail, mut base_ok, mut base_fail) = (0, 0, 0, 0);
    // Per sender: days reported in the 14 days before the silence window, and in it.
    let quiet_from = today - (SILENT_GAP_DAYS - 1) * DAY;
    let mut sender_days: BTreeMap<&str, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
    for r in &rows {
        let ok = r.result_type == "success";
        let days = sender_days.entry(&r.sending_org).or_default();
        if r.day >= quiet_from {
            days.1.insert(r.day);
        } else if r.day >= quiet_from - 14 * DAY {
            days.0.insert(r.day);
        }
        match (r.day >= recent_from, ok) {
            (true, true) => recent_ok = i64::saturating_add(recent_ok, r.sessions),
            (true, false) => recent_fail = i64::saturating_add(recent_fail, r.sessions),
            (false, true) => base_ok = i64::saturating_add(base_ok, r.sessions),
            (false, false) => base_fail = i64::saturating_add(base_fail, r.sessions),
        }
    }
    let failures = rollups::failure_rows(
        &svc.db,
        &Slice {
            from: recent_from,
            ..slice
        },
        10_000,
    )
    .await?;

    // Failure rate over a threshold, or a jump against the baseline.
    let recent_total = recent_ok.saturating_add(recent_fail);
    let rate = permille(recent_fail, recent_total);
    let base_rate = permille(base_fail, base_ok.saturating_add(base_fail));
    let all: Vec<&FailureExportRow> = failures.iter().collect();
    if recent_total >= MIN_SESSIONS && rate >= WARN_PERMILLE {
        let severity = if rate >= CRITICAL_PERMILLE {
            "critical"
        } else {
            "warning"
        };
        out.push(finding(
            "failure-rate",
            "",
            severity,
            format!("{} of TLS sessions to {} failed in the last {RECENT_DAYS} days", pct(rate), domain.display_name),
            format!(
                "{recent_fail} of {recent_total} reported sessions failed since {} (baseline before that: {}).",
                format_day(recent_from),
                pct(base_rate)
            ),
            "Open the domain dashboard, filter by the largest result type and follow its fix; the failure table names the MX hosts and sending servers.".into(),
            &evidence_of(&all),
        ));
    } else if recent_total >= MIN_SESSIONS
        && base_ok.saturating_add(base_fail) >= 100
        && rate >= base_rate * 3
        && rate >= base_rate + 20
    {
        out.push(finding(
            "failure-rate",
            "",
            "warning",
            format!("Failures to {} jumped to {} (usually {})", domain.display_name, pct(rate), pct(base_rate)),
            format!("{recent_fail} of {recent_total} sessions failed since {}; over the {BASELINE_DAYS} days before, {} did.", format_day(recent_from), pct(base_rate)),
            "Something changed recently: compare the result types and MX hosts of the last days with before (dashboard, 7 days).".into(),
            &evidence_of(&all),
        ));
    }

    // Senders that could not use the policy Moat hosts.
    for rt in HOSTING_TYPES {
        let hits: Vec<&FailureExportRow> = failures.iter().filter(|f| f.result_type == rt).collect();
        if hits.is_empty() {
            continue;
        }
        let sessions = hits
            .iter()
            .map(|f| f.failed_session_count)
            .fold(0i64, i64::saturating_add);
        let senders: BTreeSet<&str> = hits.iter().map(|f| f.organization_name.as_str()).collect();
        let (title, meaning) = dashboard::explain(rt);
        let fix = if hosted {
            "Moat hosts this policy: check on the domain page that all three CNAME records still point to Moat and that the policy host's certificate is valid; if they are, the sender's view of DNS or HTTPS is stale and the failures stop once it refreshes."
        } else {
            "You host this policy yourself: make sure https://mta-sts.<domain>/.well-known/mta-sts.txt answers 200 with a valid policy and a publicly trusted certificate, or let Moat host it."
        };
        out.push(finding(
            "sts-hosting",
            rt,
            if hosted { "critical" } else { "warning" },
            format!(
                "{title}: {sessions} session(s) reported by {}",
                senders.into_iter().collect::<Vec<_>>().join(", ")
            ),
            meaning,
            fix.into(),
            &evidence_of(&hits),
        ));
    }

    // Problems of one MX host.
    let mut per_mx: BTreeMap<String, Vec<&FailureExportRow>> = BTreeMap::new();
    for f in failures
        .iter()
        .filter(|f| MX_TYPES.contains(&f.result_type.as_str()))
    {
        let mx = f
            .receiving_mx_hostname
            .clone()
            .or_else(|| f.receiving_ip.clone())
            .unwrap_or_else(|| "an unnamed MX".into());
        per_mx.entry(mx).or_default().push(f);
    }
    // The MX hosts with the most failed sessions first; beyond MAX_KEYED, the rest is named
    // in the last one's detail.
    let mut per_mx: Vec<(String, Vec<&FailureExportRow>, i64)> = per_mx
        .into_iter()
        .map(|(mx, hits)| {
            let sessions = hits
                .iter()
                .map(|f| f.failed_session_count)
                .fold(0i64, i64::saturating_add);
            (mx, hits, sessions)
        })
        .collect();
    per_mx.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let more_mx = per_mx.len().saturating_sub(MAX_KEYED);
    per_mx.truncate(MAX_KEYED);
    let last_mx = per_mx.len();
    for (n, (mx, hits, sessions)) in per_mx.iter().enumerate() {
        let sessions = *sessions;
        let types: BTreeSet<&str> = hits.iter().map(|f| f.result_type.as_str()).collect();
        let main = types.iter().next().copied().unwrap_or("validation-failure");
        let (title, meaning) = dashboard::explain(main);
        out.push(finding(
            "mx-tls",
            mx,
            if enforce { "critical" } else { "warning" },
            format!("{title} on {mx}: {sessions} failed session(s)"),
            format!(
                "Senders reported {} for {mx}. {meaning}{}",
                types.into_iter().collect::<Vec<_>>().join(", "),
                if more_mx > 0 && n + 1 == last_mx {
                    format!(" {more_mx} more MX host(s) with fewer failures are not listed separately; see the dashboard.")
                } else {
                    String::new()
                }
            ),
            if enforce {
                format!("The policy is in enforce mode, so senders did not deliver these messages to {mx}. Fix the MX's TLS now, or switch the policy to testing until it is fixed.")
            } else {
                format!("Fix {mx}'s TLS before moving the policy to enforce: in enforce these sessions would not deliver mail.")
            },
            &evidence_of(hits),
        ));
    }

    // Enforce with failures: mail is not being delivered.
    if enforce && recent_fail > 0 {
        out.push(finding(
            "enforce-failures",
            "",
            "critical",
            format!("{recent_fail} session(s) to {} failed while the policy is in enforce mode", domain.display_name),
            "In enforce mode a sender that cannot validate TLS does not deliver: these messages were deferred and will bounce if it does not clear.".into(),
            "Fix the failing MX hosts (see the other problems and the dashboard), or switch the policy to testing until they pass.".into(),
            &evidence_of(&all),
        ));
    }

    // Senders that found no policy, or applied one Moat no longer serves.
    if hosted && domain.state.is_serving() {
        let policies = store::report_policies(&svc.db, scope.org_id(), domain.id, recent_from, today).await?;
        let mut no_policy: BTreeMap<&str, Vec<EvidenceView>> = BTreeMap::new();
        let mut stale: BTreeMap<&str, Vec<EvidenceView>> = BTreeMap::new();
        for (report, sender, start, policy_type, policy_string, failed) in &policies {
            let Some(current) = version_at(&detail.history, *start) else {
                continue;
            };
            if current.mode == Mode::None {
                continue;
            }
            let ev = |text: String| EvidenceView {
                report: Some(*report),
                sender: sender.clone(),
                at: *start,
                text,
            };
            if policy_type == "no-policy-found" {
                no_policy
                    .entry(sender)
                    .or_default()
                    .push(ev(format!("no-policy-found ({failed} failed)")));
            } else if policy_type == "sts"
                && let Some(seen) = reported_mode(policy_string)
                && seen != current.mode.as_str()
            {
                // Senders may cache the previous version for its max_age.
                let previous_max_age = detail
                    .history
                    .iter()
                    .filter(|v| v.publish_at < current.publish_at)
                    .max_by_key(|v| v.publish_at)
                    .map_or(0, |v| v.max_age.seconds() as i64);
                if *start > current.publish_at + previous_max_age {
                    stale.entry(sender).or_default().push(ev(format!(
                        "applied mode {seen}; Moat serves mode {} (policy id {}) since {}",
                        current.mode.as_str(),
                        current.policy_id,
                        format_utc(current.publish_at)
                    )));
                }
            }
        }
        for (sender, ev) in most_evidence(no_policy) {
            out.push(finding(
                "no-policy",
                sender,
                "warning",
                format!("{sender} found no MTA-STS policy for {}", domain.display_name),
                format!("{sender} reported policy type no-policy-found in {} report(s) although Moat serves a policy.", ev.len()),
                "Check that the _mta-sts and mta-sts CNAME records point to Moat (domain page); a sender with a cached NXDOMAIN will pick the policy up when its cache expires.".into(),
                &ev,
            ));
        }
        for (sender, ev) in most_evidence(stale) {
            out.push(finding(
                "stale-policy",
                sender,
                "info",
                format!("{sender} still applies an old policy for {}", domain.display_name),
                format!("{sender}'s reports show a policy mode Moat no longer serves, after the previous max_age has passed ({} report(s)).", ev.len()),
                "Usually this clears on its own when the sender refreshes; if it persists, check that the _mta-sts record's id changed (Moat changes it with every policy version).".into(),
                &ev,
            ));
        }
    }

    // Reporters that went silent.
    let mut silent: Vec<(&str, &BTreeSet<i64>)> = sender_days
        .iter()
        .filter(|(_, (before, recent))| before.len() >= SILENT_AFTER_DAYS && recent.is_empty())
        .map(|(sender, (before, _))| (*sender, before))
        .collect();
    silent.sort_by_key(|(_, before)| std::cmp::Reverse(before.len()));
    silent.truncate(MAX_KEYED);
    for (sender, before) in silent {
        {
            let last = before.iter().next_back().copied().unwrap_or(0);
            out.push(finding(
                "reporter-silent",
                sender,
                "info",
                format!("{sender} stopped sending TLS reports for {}", domain.display_name),
                format!(
                    "{sender} reported on {} of the 14 days before {}, the last for {}, and not since.",
                    before.len(),
                    format_day(quiet_from),
                    format_day(last)
                ),
                "Check that the _smtp._tls record still points to Moat (domain page). A sender may also have stopped sending mail to this domain.".into(),
                &[EvidenceView { report: None, sender: sender.to_owned(), at: last, text: format!("last report for {}", format_day(last)) }],
            ));
        }
    }

    // Moat's own hosting: records and certificate.
    if domain.state == moat_domain::hosting::DomainState::Degraded {
        let bad: Vec<EvidenceView> = domain
            .records
            .iter()
            .filter(|r| r.required && r.status.as_ref().is_some_and(|s| !s.is_ok()))
            .map(|r| EvidenceView {
                report: None,
                sender: "Moat".into(),
                at: domain.checked_at.unwrap_or(now),
                text: format!(
                    "{}: {}",
                    r.name,
                    r.status.as_ref().map(|s| s.describe()).unwrap_or_default()
                ),
            })
            .collect();
        out.push(finding(
            "records",
            "",
            "critical",
            format!("DNS records of {} no longer point to Moat", domain.display_name),
            "A record that pointed to Moat changed. Senders keep their cached policy until max_age ends, then stop finding it.".into(),
            "Restore the records shown on the domain page (the snippet there has them), then press Check now.".into(),
            &bad,
        ));
    }
    if hosted
        && domain.state.is_serving()
        && let Some(cert) = certificate(svc, scope, name).await?
    {
        if let Some(acme) = &cert.acme
            && acme.not_after - now < 14 * DAY
        {
            let left = acme.not_after - now;
            let days = left.div_euclid(DAY);
            let when = if left <= 0 {
                format!("expired {} ago", plural_days((-left).div_euclid(DAY).max(1)))
            } else if days == 0 {
                "expires today".to_owned()
            } else {
                format!("expires in {}", plural_days(days))
            };
            out.push(finding(
                "certificate",
                &cert.host,
                if days < 3 { "critical" } else { "warning" },
                format!("The certificate of {} {when}", cert.host),
                format!("It is valid until {}; renewal should have replaced it by now.", format_utc(acme.not_after)),
                "See the Certificate card on the domain page for the last ordering error; renewal needs the mta-sts CNAME to point to Moat.".into(),
                &[EvidenceView { report: None, sender: "Moat".into(), at: now, text: format!("serial {}, issuer {}", acme.serial, acme.issuer) }],
            ));
        }
        if let Some(order) = &cert.order
            && order.attempts >= 3
            && let Some(err) = &order.last_error
        {
            out.push(finding(
                "certificate-order",
                &cert.host,
                "warning",
                format!("Moat cannot get a certificate for {}", cert.host),
                format!("{} attempts failed; the last: {err}", order.attempts),
                "Check that the mta-sts CNAME points to Moat; Moat retries with back-off and serves its own certificate meanwhile, which senders do not trust.".into(),
                &[EvidenceView { report: None, sender: "Moat".into(), at: now, text: err.clone() }],
            ));
        }
    }
    Ok(out)
}

/// Runs the detector for one domain and stores the result.
pub async fn detect_domain(svc: &Services, org: OrgId, domain: DomainId, now: i64) -> Result<Vec<Change>> {
    let Some(row) = moat_store::domains::get_by_id(&svc.db, domain).await? else {
        return Ok(Vec::new());
    };
    let scope = authorize(svc, &Actor::Operator, org, Action::Read).await?;
    let found = findings(svc, &scope, &row.name, now).await?;
    Ok(store::reconcile(&svc.db, org, domain, &found, now).await?)
}

/// Runs the detector for every domain that received reports at or after `since` (or for
/// every domain when `since` is `None`); returns how many problems changed.
pub async fn detect(svc: &Services, since: Option<i64>, now: i64) -> Result<usize> {
    let domains = match since {
        Some(t) => store::domains_with_reports_since(&svc.db, t).await?,
        None => store::all_domains(&svc.db).await?,
    };
    let mut changed = 0;
    for (org, domain) in domains {
        match detect_domain(svc, org, domain, now).await {
            Ok(c) => changed += c.iter().filter(|c| !matches!(c, Change::Updated(_))).count(),
            Err(e) => tracing::warn!(domain = domain.0, error = %e, "problem detection failed: {e}"),
        }
    }
    Ok(changed)
}

pub(crate) fn view(p: ProblemRow) -> ProblemView {
    ProblemView {
        id: p.id,
        org_id: p.org_id,
        display_domain: moat_domain::hosting::to_unicode(&p.domain),
        domain: p.domain,
        rule: p.rule,
        subject: p.subject,
        severity: p.severity,
        status: p.status,
        title: p.title,
        detail: p.detail,
        fix: p.fix,
        evidence: serde_json::from_str(&p.evidence_json).unwrap_or_default(),
        opened_at: p.opened_at,
        updated_at: p.updated_at,
        resolved_at: p.resolved_at,
        acknowledged_at: p.acknowledged_at,
        acknowledged_by: p.acknowledged_by,
    }
}

/// The organization's problems (of one domain when given): open ones, and those resolved in
/// the last 7 days. For an MSP without a domain, its clients' too.
pub async fn problems(svc: &Services, scope: &OrgScope, domain: Option<&str>) -> Result<Vec<ProblemView>> {
    let now = crate::now();
    let (orgs, domain_id) = match domain {
        Some(name) => (
            vec![scope.org_id()],
            Some(crate::domains::get(svc, scope, name).await?.id),
        ),
        None => {
            let mut orgs = vec![scope.org_id()];
            if scope.org().is_msp {
                for c in moat_store::orgs::clients(&svc.db, scope.org_id()).await? {
                    if authorize(svc, scope.actor(), c.id, Action::Read).await.is_ok() {
                        orgs.push(c.id);
                    }
                }
            }
            (orgs, None)
        }
    };
    Ok(store::list(&svc.db, &orgs, domain_id, now - 7 * DAY)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Acknowledges an open problem: it is not repeated until it escalates.
pub async fn acknowledge(svc: &Services, scope: &OrgScope, id: i64) -> Result<()> {
    if !scope.role().can(Action::ManageDomains) {
        return Err(crate::Error::Forbidden);
    }
    if !store::acknowledge(
        &svc.db,
        scope.org_id(),
        id,
        scope.actor().audit_name(),
        crate::now(),
    )
    .await?
    {
        return Err(crate::Error::NotFound);
    }
    scope
        .audit(
            svc,
            "problem.acknowledged",
            &format!("acknowledged problem #{id}"),
        )
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn reported_modes() {
        assert_eq!(
            super::reported_mode(r#"["version: STSv1","mode: Enforce","mx: a"]"#).as_deref(),
            Some("enforce")
        );
        assert_eq!(super::reported_mode(r#"["version: STSv1"]"#), None);
        assert_eq!(super::reported_mode("not json"), None);
    }
}
