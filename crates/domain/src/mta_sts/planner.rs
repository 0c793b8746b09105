//! The MX change planner: the safe order of steps when a domain's MX hosts change (or the
//! user proposes new `mx` patterns), so that no sender holding a cached policy refuses mail
//! during the move.
//!
//! The sequence is:
//! 1. add patterns for the new MX hosts, keeping the old ones, and publish (the policy id in
//!    the `_mta-sts` TXT record changes, so senders refetch: RFC 8461 §3.1, §5.1);
//! 2. switch the MX records in DNS, if that is not done yet;
//! 3. wait until every policy a sender cached before can have expired (`max_age`, RFC 8461
//!    §3.2), keeping the old patterns meanwhile so mail flows to old and new hosts alike and
//!    switching back stays possible;
//! 4. remove the patterns of the MX hosts that are gone.
//!
//! [`plan_mx_change`] builds the plan; [`advance`] re-checks it against reality and marks
//! steps done. Both are pure; the caller persists the plan between calls.

use serde::{Deserialize, Serialize};

use super::coverage::{check_coverage, dedup, normalized_hosts, propose_patterns};
use super::policy::MxPattern;
use crate::calendar::format_utc;

/// What one step asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PlanAction {
    /// Add these `mx` patterns to the policy (keeping the others) and publish it.
    AddPatterns {
        /// The patterns to add.
        patterns: Vec<MxPattern>,
    },
    /// Change the domain's MX records in DNS.
    ChangeDns,
    /// Wait until this time (unix seconds) before going on.
    WaitUntil {
        /// Unix seconds; the step is done once this time has passed.
        unix: i64,
    },
    /// Remove these `mx` patterns from the policy and publish it.
    RemovePatterns {
        /// The patterns to remove.
        patterns: Vec<MxPattern>,
    },
}

/// One step of an [`MxChangePlan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    /// 1-based position in the plan.
    pub order: u32,
    /// What to do.
    pub action: PlanAction,
    /// Why, and how, for the user.
    pub explanation: String,
    /// Whether reality shows the step done (see [`advance`]).
    pub done: bool,
}

/// A plan from [`plan_mx_change`], advanced with [`advance`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxChangePlan {
    /// The steps, in order. Empty when nothing needs changing.
    pub steps: Vec<PlanStep>,
    /// Every step is done (true for an empty plan).
    pub complete: bool,
    /// The wait of the [`PlanAction::WaitUntil`] step, in seconds: the longest `max_age`
    /// served recently. Kept so [`advance`] can re-anchor the wait.
    pub wait_seconds: u32,
}

impl MxChangePlan {
    /// [`advance`] as a method.
    pub fn advance(&self, current_patterns: &[MxPattern], live_mx: &[String], now: i64) -> MxChangePlan {
        advance(self, current_patterns, live_mx, now)
    }
}

/// Plans a change of MX hosts.
///
/// - `current_patterns`: the policy's `mx` patterns as published now.
/// - `live_mx_before` / `live_mx_now`: the MX hosts seen at the last check and now.
/// - `desired_patterns`: the pattern list the user wants; `None` (or an empty list, which
///   no `testing`/`enforce` policy may have) derives it: current patterns, minus those that
///   only matched MX hosts that are gone, plus [`propose_patterns`] for live hosts no
///   pattern covers. A derived list never becomes empty: if it would, nothing is removed.
/// - `longest_max_age_served`: the longest `max_age` (seconds) of any policy version served
///   recently — a sender may have cached that one.
/// - `now`: unix seconds.
///
/// Steps, each included only when needed: `AddPatterns` (the target patterns not yet in
/// the policy), `ChangeDns` (when the MX records do not match the target yet, or — already
/// done — when the live MX set changed), `WaitUntil` and `RemovePatterns` (patterns in the
/// policy but not in the target). The wait is only added before removing patterns that
/// matched a live MX host before or now; patterns no MX used are removed right away.
///
/// The planner does not know when the policy was actually published, so the wait counts
/// from the moment it sees every earlier step done (never earlier than the real publish
/// time): `not_before = that time + longest_max_age_served`. While earlier steps are
/// pending, the `WaitUntil` time is a provisional `now + longest_max_age_served`.
///
/// Nothing to change (no patterns to add or remove and the MX records fit the policy):
/// an empty plan with `complete = true`.
pub fn plan_mx_change(
    current_patterns: &[MxPattern],
    live_mx_before: &[String],
    live_mx_now: &[String],
    desired_patterns: Option<&[MxPattern]>,
    longest_max_age_served: u32,
    now: i64,
) -> MxChangePlan {
    let current = dedup(current_patterns);
    let before = normalized_hosts(live_mx_before);
    let live = normalized_hosts(live_mx_now);
    let gone: Vec<String> = before.iter().filter(|h| !live.contains(h)).cloned().collect();
    let new: Vec<String> = live.iter().filter(|h| !before.contains(h)).cloned().collect();

    let target = match desired_patterns.filter(|d| !d.is_empty()) {
        Some(d) => dedup(d),
        None => derived_target(&current, &gone, &live),
    };
    let add: Vec<MxPattern> = target.iter().filter(|p| !current.contains(p)).cloned().collect();
    let remove: Vec<MxPattern> = current.iter().filter(|p| !target.contains(p)).cloned().collect();
    let dns_done = dns_switched(&current, &add, &remove, live_mx_now);
    let mx_changed = !gone.is_empty() || !new.is_empty();

    let empty = MxChangePlan {
        steps: Vec::new(),
        complete: true,
        wait_seconds: longest_max_age_served,
    };
    if add.is_empty() && remove.is_empty() && dns_done {
        return empty;
    }

    let mut actions: Vec<(PlanAction, String)> = Vec::new();
    if !add.is_empty() {
        let urgent: Vec<String> = live
            .iter()
            .filter(|h| !current.iter().any(|p| p.matches(h)) && add.iter().any(|p| p.matches(h)))
            .cloned()
            .collect();
        let mut text = String::new();
        if !urgent.is_empty() {
            text.push_str(&format!(
                "Urgent: {} already receive mail but the published policy does not allow them; in \
                 enforce mode senders refuse to deliver there until this is published. ",
                list(&urgent)
            ));
        }
        text.push_str(&format!(
            "Add {} to the policy, keeping the existing mx lines, and publish it. The policy id in the \
             _mta-sts TXT record changes, so senders holding a cached policy fetch the new one \
             (RFC 8461 §3.1, §5.1).",
            mx_lines(&add)
        ));
        actions.push((
            PlanAction::AddPatterns {
                patterns: add.clone(),
            },
            text,
        ));
    }
    if !dns_done || mx_changed {
        let text = if dns_done {
            format!(
                "Already done: the live MX hosts are now {} (before: {}).",
                list(&live),
                if before.is_empty() {
                    "none".to_owned()
                } else {
                    list(&before)
                }
            )
        } else if live.is_empty() {
            format!(
                "The domain has no MX records now: publish MX records for hosts matching {}.",
                mx_lines(&final_patterns(&current, &add, &remove))
            )
        } else {
            let mut text = String::from("Change the domain's MX records");
            if !add.is_empty() {
                text.push_str(&format!(" to point at hosts matching {}", mx_lines(&add)));
            }
            let leaving: Vec<String> = live
                .iter()
                .filter(|h| {
                    !final_patterns(&current, &add, &remove)
                        .iter()
                        .any(|p| p.matches(h))
                })
                .cloned()
                .collect();
            if !leaving.is_empty() {
                text.push_str(&format!(
                    "{} remove the MX records for {}",
                    if add.is_empty() { " to" } else { ", and" },
                    list(&leaving)
                ));
            }
            text.push('.');
            if !add.is_empty() {
                text.push_str(" Do this only once step 1 is published.");
            }
            text
        };
        actions.push((PlanAction::ChangeDns, text));
    }
    if !remove.is_empty() {
        let was_used = remove
            .iter()
            .any(|p| before.iter().chain(live.iter()).any(|h| p.matches(h)));
        if was_used {
            let unix = now.saturating_add(i64::from(longest_max_age_served));
            actions.push((
                PlanAction::WaitUntil { unix },
                wait_explanation(unix, longest_max_age_served, false),
            ));
        }
        let mut text = format!("Remove {} from the policy and publish it", mx_lines(&remove));
        if gone.is_empty() {
            text.push_str(": no MX host of the domain needs them any more.");
        } else {
            text.push_str(&format!(
                ": the MX hosts they were for are gone ({}), and stale patterns would let those \
                 hosts pass as your MX.",
                list(&gone)
            ));
        }
        actions.push((PlanAction::RemovePatterns { patterns: remove }, text));
    }

    let steps = actions
        .into_iter()
        .enumerate()
        .map(|(i, (action, explanation))| PlanStep {
            order: u32::try_from(i + 1).unwrap_or(u32::MAX),
            action,
            explanation,
            done: false,
        })
        .collect();
    let plan = MxChangePlan {
        steps,
        complete: false,
        wait_seconds: longest_max_age_served,
    };
    advance(&plan, &current, live_mx_now, now)
}

/// Re-checks `plan` against reality and returns it with `done` flags (and `complete`)
/// updated:
/// - `AddPatterns`: done when all its patterns are in `current_patterns`;
/// - `ChangeDns`: done when every live MX matches the policy as it will be (current
///   patterns plus those added, minus those removed) and, if patterns are added, some live
///   MX matches one of them;
/// - `WaitUntil`: done when every earlier step is done and `now` has reached its time. The
///   time is anchored at `now + wait_seconds` when the earlier steps are first seen done
///   (provisional, moving with `now`, until then);
/// - `RemovePatterns`: done when none of its patterns is in `current_patterns`.
///
/// Done flags follow reality both ways: a step undone (patterns re-added, MX switched back)
/// is marked not done again. Never panics, whatever the plan holds.
pub fn advance(
    plan: &MxChangePlan,
    current_patterns: &[MxPattern],
    live_mx: &[String],
    now: i64,
) -> MxChangePlan {
    let mut added: Vec<MxPattern> = Vec::new();
    let mut removed: Vec<MxPattern> = Vec::new();
    for step in &plan.steps {
        match &step.action {
            PlanAction::AddPatterns { patterns } => added.extend(patterns.iter().cloned()),
            PlanAction::RemovePatterns { patterns } => removed.extend(patterns.iter().cloned()),
            PlanAction::ChangeDns | PlanAction::WaitUntil { .. } => {}
        }
    }
    let dns_done = dns_switched(current_patterns, &added, &removed, live_mx);
    let wait = plan.wait_seconds;

    let mut out = plan.clone();
    let mut old_earlier_done = true;
    let mut new_earlier_done = true;
    for step in &mut out.steps {
        let was_done = step.done;
        step.done = match &mut step.action {
            PlanAction::AddPatterns { patterns } => patterns.iter().all(|p| current_patterns.contains(p)),
            PlanAction::ChangeDns => dns_done,
            PlanAction::RemovePatterns { patterns } => !patterns.iter().any(|p| current_patterns.contains(p)),
            PlanAction::WaitUntil { unix } => {
                let anchored = old_earlier_done && new_earlier_done;
                if !anchored {
                    *unix = now.saturating_add(i64::from(wait));
                }
                step.explanation = wait_explanation(*unix, wait, !new_earlier_done);
                new_earlier_done && now >= *unix
            }
        };
        old_earlier_done &= was_done;
        new_earlier_done &= step.done;
    }
    out.complete = out.steps.iter().all(|s| s.done);
    out
}

/// The policy as it will be once the plan is through.
fn final_patterns(current: &[MxPattern], add: &[MxPattern], remove: &[MxPattern]) -> Vec<MxPattern> {
    let mut out: Vec<MxPattern> = current.iter().filter(|p| !remove.contains(p)).cloned().collect();
    for p in add {
        if !out.contains(p) && !remove.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Whether the MX records already fit the planned policy: at least one live MX, all of
/// them covered by the final patterns, and (when patterns are added) one of them matching an
/// added pattern.
fn dns_switched(current: &[MxPattern], add: &[MxPattern], remove: &[MxPattern], live_mx: &[String]) -> bool {
    let hosts = normalized_hosts(live_mx);
    if hosts.is_empty() {
        return false;
    }
    let target = final_patterns(current, add, remove);
    let covered = check_coverage(&target, live_mx).is_complete();
    let new_live = add.is_empty() || hosts.iter().any(|h| add.iter().any(|p| p.matches(h)));
    covered && new_live
}

fn derived_target(current: &[MxPattern], gone: &[String], live: &[String]) -> Vec<MxPattern> {
    let mut target: Vec<MxPattern> = current
        .iter()
        // Drop a pattern only if it matched a host that is gone and matches no live host.
        .filter(|p| !gone.iter().any(|h| p.matches(h)) || live.iter().any(|h| p.matches(h)))
        .cloned()
        .collect();
    let coverage = check_coverage(&target, live);
    for p in propose_patterns(&coverage.uncovered_mx) {
        if !target.contains(&p) {
            target.push(p);
        }
    }
    if target.is_empty() {
        current.to_vec()
    } else {
        target
    }
}

fn wait_explanation(unix: i64, wait: u32, provisional: bool) -> String {
    let days = f64::from(wait) / 86_400.0;
    let mut text = format!(
        "Wait until {} ({wait} s ≈ {days:.1} days, the longest max_age served): a sender may keep a \
         policy cached that long (RFC 8461 §3.2), and DNS caches may still hand out the old MX \
         records. Until then keep the old patterns, so mail flows to old and new hosts alike and \
         switching back stays possible.",
        format_utc(unix)
    );
    if provisional {
        text.push_str(" The time counts from when the steps above are done, so it moves until then.");
    }
    text
}

fn mx_lines(patterns: &[MxPattern]) -> String {
    patterns
        .iter()
        .map(|p| format!("\"mx: {p}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(hosts: &[String]) -> String {
    hosts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[&str]) -> Vec<MxPattern> {
        v.iter().map(|s| MxPattern::parse(s).unwrap()).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    const NOW: i64 = 1_700_000_000;
    const WEEK: u32 = 604_800;

    /// (kind, patterns, done) per step, for compact assertions.
    fn shape(plan: &MxChangePlan) -> Vec<(&'static str, Vec<String>, bool)> {
        plan.steps
            .iter()
            .map(|s| {
                let (kind, pats) = match &s.action {
                    PlanAction::AddPatterns { patterns } => ("add", patterns.clone()),
                    PlanAction::ChangeDns => ("dns", vec![]),
                    PlanAction::WaitUntil { .. } => ("wait", vec![]),
                    PlanAction::RemovePatterns { patterns } => ("remove", patterns.clone()),
                };
                (kind, pats.iter().map(|p| p.as_str().to_owned()).collect(), s.done)
            })
            .collect()
    }

    fn step(kind: &'static str, patterns: &[&str], done: bool) -> (&'static str, Vec<String>, bool) {
        (kind, strings(patterns), done)
    }

    fn wait_until(plan: &MxChangePlan) -> Option<i64> {
        plan.steps.iter().find_map(|s| match s.action {
            PlanAction::WaitUntil { unix } => Some(unix),
            _ => None,
        })
    }

    #[test]
    fn nothing_to_change() {
        for (current, before, now) in [
            (
                &["mx1.example.com"][..],
                &["mx1.example.com"][..],
                &["MX1.example.com."][..],
            ),
            // A wildcard covers both the old and the new host.
            (&["*.example.com"], &["mx1.example.com"], &["mx2.example.com"]),
        ] {
            let plan = plan_mx_change(&pats(current), &strings(before), &strings(now), None, WEEK, NOW);
            assert_eq!(
                plan,
                MxChangePlan {
                    steps: vec![],
                    complete: true,
                    wait_seconds: WEEK
                }
            );
            assert_eq!(plan.advance(&pats(current), &strings(now), NOW), plan);
        }
        // A desired list equal to the current one.
        let plan = plan_mx_change(
            &pats(&["mx1.example.com"]),
            &strings(&["mx1.example.com"]),
            &strings(&["mx1.example.com"]),
            Some(&pats(&["mx1.example.com"])),
            WEEK,
            NOW,
        );
        assert!(plan.complete && plan.steps.is_empty());
    }

    #[test]
    fn add_mx() {
        let current = pats(&["mx1.example.com"]);
        let plan = plan_mx_change(
            &current,
            &strings(&["mx1.example.com"]),
            &strings(&["mx1.example.com", "mx2.example.com"]),
            None,
            WEEK,
            NOW,
        );
        assert_eq!(
            shape(&plan),
            vec![step("add", &["mx2.example.com"], false), step("dns", &[], true)]
        );
        assert!(
            plan.steps[0].explanation.starts_with("Urgent: mx2.example.com"),
            "{plan:#?}"
        );
        assert!(plan.steps[1].explanation.starts_with("Already done"));
        assert!(!plan.complete);
        let done = plan.advance(
            &pats(&["mx1.example.com", "mx2.example.com"]),
            &strings(&["mx1.example.com", "mx2.example.com"]),
            NOW + 60,
        );
        assert!(done.complete, "{done:#?}");
    }

    #[test]
    fn add_mx_before_dns() {
        // The user plans a backup MX that is not in DNS yet.
        let current = pats(&["mx1.example.com"]);
        let live = strings(&["mx1.example.com"]);
        let plan = plan_mx_change(
            &current,
            &live,
            &live,
            Some(&pats(&["mx1.example.com", "backup.example.net"])),
            WEEK,
            NOW,
        );
        assert_eq!(
            shape(&plan),
            vec![
                step("add", &["backup.example.net"], false),
                step("dns", &[], false)
            ]
        );
        assert!(!plan.steps[0].explanation.contains("Urgent"));
        assert!(plan.steps[1].explanation.contains("backup.example.net"));
        let p = plan.advance(&pats(&["mx1.example.com", "backup.example.net"]), &live, NOW);
        assert_eq!(
            shape(&p),
            vec![
                step("add", &["backup.example.net"], true),
                step("dns", &[], false)
            ]
        );
        let p = p.advance(
            &pats(&["mx1.example.com", "backup.example.net"]),
            &strings(&["mx1.example.com", "backup.example.net"]),
            NOW,
        );
        assert!(p.complete);
    }

    #[test]
    fn remove_mx() {
        let current = pats(&["mx1.example.com", "mx2.example.com"]);
        let plan = plan_mx_change(
            &current,
            &strings(&["mx1.example.com", "mx2.example.com"]),
            &strings(&["mx1.example.com"]),
            None,
            WEEK,
            NOW,
        );
        assert_eq!(
            shape(&plan),
            vec![
                step("dns", &[], true),
                step("wait", &[], false),
                step("remove", &["mx2.example.com"], false),
            ]
        );
        assert_eq!(wait_until(&plan), Some(NOW + i64::from(WEEK)));
        assert_eq!(
            plan.steps.iter().map(|s| s.order).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        let live = strings(&["mx1.example.com"]);
        // Time passes; the anchor does not move.
        let p = plan.advance(&current, &live, NOW + i64::from(WEEK) - 1);
        assert_eq!(wait_until(&p), Some(NOW + i64::from(WEEK)));
        assert!(!p.steps[1].done);
        let p = p.advance(&current, &live, NOW + i64::from(WEEK));
        assert!(p.steps[1].done && !p.complete);
        let p = p.advance(&pats(&["mx1.example.com"]), &live, NOW + i64::from(WEEK) + 5);
        assert!(p.complete, "{p:#?}");
    }

    #[test]
    fn stale_pattern_is_removed_without_waiting() {
        let live = strings(&["mx1.example.com"]);
        let plan = plan_mx_change(
            &pats(&["mx1.example.com", "never-used.example.com"]),
            &live,
            &live,
            Some(&pats(&["mx1.example.com"])),
            WEEK,
            NOW,
        );
        assert_eq!(
            shape(&plan),
            vec![step("remove", &["never-used.example.com"], false)]
        );
    }

    #[test]
    fn replace_on_prem_with_microsoft_365_after_the_fact() {
        // The MX was already switched; the policy still lists only the old host.
        let current = pats(&["mx.example.com"]);
        let m365 = strings(&["contoso-com.mail.protection.outlook.com."]);
        let plan = plan_mx_change(&current, &strings(&["mx.example.com"]), &m365, None, WEEK, NOW);
        assert_eq!(
            shape(&plan),
            vec![
                step("add", &["*.mail.protection.outlook.com"], false),
                step("dns", &[], true),
                step("wait", &[], false),
                step("remove", &["mx.example.com"], false),
            ]
        );
        assert!(plan.steps[0].explanation.starts_with("Urgent"));
        // Patterns are published an hour later: the wait is anchored then.
        let both = pats(&["mx.example.com", "*.mail.protection.outlook.com"]);
        let p = plan.advance(&both, &m365, NOW + 3600);
        assert_eq!(wait_until(&p), Some(NOW + 3600 + i64::from(WEEK)));
        assert!(p.steps[0].done && p.steps[1].done && !p.steps[2].done);
        let p = p.advance(&both, &m365, NOW + 3600 + i64::from(WEEK));
        assert!(p.steps[2].done);
        let p = p.advance(
            &pats(&["*.mail.protection.outlook.com"]),
            &m365,
            NOW + 2 * i64::from(WEEK),
        );
        assert!(p.complete, "{p:#?}");
    }

    #[test]
    fn replace_on_prem_with_microsoft_365_planned() {
        let current = pats(&["mx.example.com"]);
        let old = strings(&["mx.example.com"]);
        let m365 = strings(&["contoso-com.mail.protection.outlook.com"]);
        let target = pats(&["*.mail.protection.outlook.com"]);
        let plan = plan_mx_change(&current, &old, &old, Some(&target), WEEK, NOW);
        assert_eq!(
            shape(&plan),
            vec![
                step("add", &["*.mail.protection.outlook.com"], false),
                step("dns", &[], false),
                step("wait", &[], false),
                step("remove", &["mx.example.com"], false),
            ]
        );
        assert!(
            plan.steps[1].explanation.contains("mx.example.com"),
            "{}",
            plan.steps[1].explanation
        );
        assert!(plan.steps[2].explanation.contains("moves until then"));

        // Day 1: patterns published, DNS not switched yet: the wait is still provisional.
        let both = pats(&["mx.example.com", "*.mail.protection.outlook.com"]);
        let t1 = NOW + 86_400;
        let p = plan.advance(&both, &old, t1);
        assert_eq!(
            shape(&p).iter().map(|s| s.2).collect::<Vec<_>>(),
            vec![true, false, false, false]
        );
        assert_eq!(wait_until(&p), Some(t1 + i64::from(WEEK)));

        // Day 2: MX switched: the wait is anchored now.
        let t2 = t1 + 86_400;
        let p = p.advance(&both, &m365, t2);
        assert_eq!(wait_until(&p), Some(t2 + i64::from(WEEK)));
        assert!(!p.steps[2].explanation.contains("moves until then"));
        let p = p.advance(&both, &m365, t2 + i64::from(WEEK) - 1);
        assert!(!p.steps[2].done);
        assert_eq!(wait_until(&p), Some(t2 + i64::from(WEEK)));
        let p = p.advance(&both, &m365, t2 + i64::from(WEEK));
        assert!(p.steps[2].done && !p.complete);
        let p = p.advance(&target, &m365, t2 + i64::from(WEEK) + 1);
        assert!(p.complete);

        // Switching the MX back undoes the DNS step (and re-arms the wait).
        let back = p.advance(&target, &old, t2 + 2 * i64::from(WEEK));
        assert!(!back.complete && !back.steps[1].done && !back.steps[2].done);
    }

    #[test]
    fn derived_target_never_empties_the_policy() {
        let current = pats(&["mx.example.com"]);
        let plan = plan_mx_change(&current, &strings(&["mx.example.com"]), &[], None, WEEK, NOW);
        assert_eq!(shape(&plan), vec![step("dns", &[], false)]);
        // An empty desired list is treated as no proposal.
        let plan2 = plan_mx_change(
            &current,
            &strings(&["mx.example.com"]),
            &[],
            Some(&[][..]),
            WEEK,
            NOW,
        );
        assert_eq!(plan, plan2);
    }

    #[test]
    fn odd_input_does_not_panic() {
        let odd = strings(&["", ".", "bad_host.example", "ß.example", "xn--.example"]);
        let plan = plan_mx_change(&pats(&["*.example.org"]), &odd, &odd, None, u32::MAX, i64::MAX);
        let _ = plan.advance(&[], &odd, i64::MIN);
        let weird = MxChangePlan {
            steps: vec![
                PlanStep {
                    order: 0,
                    action: PlanAction::WaitUntil { unix: i64::MAX },
                    explanation: String::new(),
                    done: true,
                },
                PlanStep {
                    order: 0,
                    action: PlanAction::RemovePatterns { patterns: vec![] },
                    explanation: String::new(),
                    done: false,
                },
            ],
            complete: true,
            wait_seconds: u32::MAX,
        };
        let p = advance(&weird, &[], &[], i64::MAX);
        assert!(p.complete);
    }
}
