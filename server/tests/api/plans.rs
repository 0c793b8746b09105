//! The MX change planner end to end: a hosted domain whose customer DNS moves its MX from
//! mx1 to mx2; Moat proposes the safe sequence and tracks it as the policy is edited and
//! the wait passes.

use crate::{
    both_backends,
    customer_dns::{CustomerDns, a, delegation, mx},
    helpers::spawn_app_with,
};
use moat_domain::{
    Action,
    hosting::{DomainKind, DomainState},
    mta_sts::{MxChangePlan, PlanAction},
};
use moat_services::{
    Services, domains, plans,
    tenancy::{self, Actor, OrgScope},
};
use moat_store::Backend;
use std::net::Ipv4Addr;

const ZONE: &str = "sts.moat.test";
const D: &str = "plans.test";
const MX1: &str = "mx1.plans.test";
const MX2: &str = "mx2.plans.test";

/// The customer's authoritative DNS for `plans.test` with the MX hosts `hosts` (by preference,
/// on 127.0.0.30 and up) and the three CNAMEs delegating to Moat.
fn publish_mx(dns: &CustomerDns, hosts: &[&str]) {
    let mut records = delegation(D, ZONE);
    for (i, host) in hosts.iter().enumerate() {
        let preference = 10 * (u16::try_from(i).unwrap() + 1);
        records.push(mx(D, preference, host));
        records.push(a(host, Ipv4Addr::new(127, 0, 0, u8::try_from(30 + i).unwrap())));
    }
    dns.publish(records);
}

struct Fixture {
    app: crate::helpers::TestApp,
    dns: CustomerDns,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let dns = CustomerDns::start(D).await;
    publish_mx(&dns, &[MX1]);
    let resolvers = dns.addr.to_string();
    let app = spawn_app_with(
        backend,
        &[
            ("MOAT_ZONE", ZONE),
            ("MOAT_RESOLVERS", &resolvers),
            ("MOAT_PROBE_INTERVAL", "0"),
        ],
    )
    .await?;
    Some(Fixture { app, dns })
}

async fn operator_scope(svc: &Services, org: &str) -> OrgScope {
    let id = tenancy::operator_create_org(svc, org, false, None).await.unwrap();
    tenancy::authorize(svc, &Actor::Operator, id, Action::ManageDomains)
        .await
        .unwrap()
}

/// A hosted, active domain whose policy is `mx1.plans.test`.
async fn active_domain(svc: &Services, scope: &OrgScope) {
    let added = domains::add(svc, scope, D, DomainKind::Hosted).await.unwrap();
    let mx: Vec<&str> = added
        .policy
        .as_ref()
        .unwrap()
        .mx
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(mx, vec![MX1], "{added:?}");
    let d = domains::check(svc, scope, D).await.unwrap();
    assert_eq!(d.state, DomainState::Active);
}

fn testing(mx: &[&str]) -> domains::PolicyInput {
    domains::PolicyInput {
        mode: "testing".into(),
        mx: mx.iter().map(|s| s.to_string()).collect(),
        max_age: 86_400,
        confirm_enforce: false,
        override_readiness: false,
    }
}

/// The steps as (kind, patterns, done), for comparing.
fn steps(plan: &MxChangePlan) -> Vec<(&'static str, Vec<String>, bool)> {
    plan.steps
        .iter()
        .map(|s| {
            let (kind, p) = match &s.action {
                PlanAction::AddPatterns { patterns } => ("add", patterns.clone()),
                PlanAction::ChangeDns => ("dns", Vec::new()),
                PlanAction::WaitUntil { .. } => ("wait", Vec::new()),
                PlanAction::RemovePatterns { patterns } => ("remove", patterns.clone()),
            };
            (kind, p.iter().map(|p| p.as_str().to_owned()).collect(), s.done)
        })
        .collect()
}

fn wait_until(plan: &MxChangePlan) -> i64 {
    plan.steps
        .iter()
        .find_map(|s| match s.action {
            PlanAction::WaitUntil { unix } => Some(unix),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no wait step: {plan:?}"))
}

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

both_backends!(
    an_mx_move_is_planned_and_tracked,
    the_cli_shows_proposes_and_dismisses
);

async fn an_mx_move_is_planned_and_tracked(backend: Backend) {
    let Some(fx) = fixture(backend).await else {
        return;
    };
    let svc = &fx.app.services;
    let scope = operator_scope(svc, "Planners").await;
    active_domain(svc, &scope).await;
    let now = moat_services::now();

    // Nothing to change: no plan; the live MX set is remembered.
    let view = plans::mx_plan(svc, &scope, D, now).await.unwrap();
    assert!(view.plan.is_none(), "{view:?}");
    assert_eq!(view.live_mx, v(&[MX1]));
    assert_eq!(view.patterns, v(&[MX1]));
    assert!(view.longest_max_age > 0);
    assert_eq!(view.updated_at, now);

    // The customer moves the MX to mx2: add mx2, DNS already changed, wait, remove mx1.
    publish_mx(&fx.dns, &[MX2]);
    let view = plans::mx_plan(svc, &scope, D, now).await.unwrap();
    assert_eq!(view.live_mx, v(&[MX2]));
    let plan = view.plan.clone().unwrap_or_else(|| panic!("{view:?}"));
    assert!(!plan.complete);
    assert_eq!(
        steps(&plan),
        vec![
            ("add", v(&[MX2]), false),
            ("dns", vec![], true),
            ("wait", vec![], false),
            ("remove", v(&[MX1]), false),
        ],
        "{plan:#?}"
    );
    assert!(plan.steps[0].explanation.contains("Urgent"), "{plan:#?}");
    // Looking again changes nothing (the plan is stored, not re-made).
    let again = plans::mx_plan(svc, &scope, D, now).await.unwrap();
    assert_eq!(steps(again.plan.as_ref().unwrap()), steps(&plan));

    // Step 1: publish mx1 + mx2.
    domains::set_policy(svc, &scope, D, &testing(&[MX1, MX2]))
        .await
        .unwrap();
    let longest = domains::detail(svc, &scope, D).await.unwrap().longest_max_age;
    let view = plans::mx_plan(svc, &scope, D, now).await.unwrap();
    assert_eq!(i64::from(view.longest_max_age), longest);
    let plan = view.plan.unwrap();
    assert_eq!(
        steps(&plan),
        vec![
            ("add", v(&[MX2]), true),
            ("dns", vec![], true),
            ("wait", vec![], false),
            ("remove", v(&[MX1]), false),
        ],
        "{plan:#?}"
    );
    let until = wait_until(&plan);
    assert!(until >= now + longest, "{until} < {now} + {longest}");

    // Later, but before the wait is over: still waiting, the time unchanged.
    let view = plans::mx_plan(svc, &scope, D, now + 60).await.unwrap();
    let plan = view.plan.unwrap();
    assert!(!plan.steps[2].done);
    assert_eq!(wait_until(&plan), until);

    // Once every cached policy can have expired, the wait is done.
    let later = now + longest + 1;
    let view = plans::mx_plan(svc, &scope, D, later).await.unwrap();
    let plan = view.plan.unwrap();
    assert_eq!(
        steps(&plan),
        vec![
            ("add", v(&[MX2]), true),
            ("dns", vec![], true),
            ("wait", vec![], true),
            ("remove", v(&[MX1]), false),
        ],
        "{plan:#?}"
    );

    // Step 4: remove mx1. The plan is complete, then gone.
    domains::set_policy(svc, &scope, D, &testing(&[MX2]))
        .await
        .unwrap();
    let view = plans::mx_plan(svc, &scope, D, later).await.unwrap();
    let plan = view.plan.unwrap();
    assert!(plan.complete, "{plan:#?}");
    assert!(plan.steps.iter().all(|s| s.done));
    let view = plans::mx_plan(svc, &scope, D, later + 1).await.unwrap();
    assert!(view.plan.is_none(), "{view:?}");
    assert_eq!(view.patterns, v(&[MX2]));

    // Proposing patterns: a bad one is a field error on `mx`.
    match plans::propose(svc, &scope, D, &v(&["mx..bad"]), later).await {
        Err(moat_services::Error::Invalid { field, .. }) => assert_eq!(field, "mx"),
        other => panic!("expected a field error, got {other:?}"),
    }
    match plans::propose(svc, &scope, D, &[], later).await {
        Err(moat_services::Error::Invalid { field, .. }) => assert_eq!(field, "mx"),
        other => panic!("expected a field error, got {other:?}"),
    }
    let outlook = "*.mail.protection.outlook.com";
    let view = plans::propose(svc, &scope, D, &v(&[outlook]), later)
        .await
        .unwrap();
    let plan = view.plan.clone().unwrap();
    assert!(!plan.complete);
    assert_eq!(steps(&plan)[0], ("add", v(&[outlook]), false), "{plan:#?}");
    assert!(
        steps(&plan)
            .iter()
            .any(|(k, p, _)| *k == "remove" && *p == v(&[MX2])),
        "{plan:#?}"
    );
    // It is stored: the next look tracks it.
    let seen = plans::mx_plan(svc, &scope, D, later).await.unwrap();
    assert_eq!(steps(seen.plan.as_ref().unwrap()), steps(&plan));
    let audit = moat_store::audit::list(&svc.db, scope.org_id(), 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "mx_plan.proposed" && e.detail.contains(outlook)),
        "{audit:?}"
    );

    // Dismissed: no plan.
    plans::dismiss(svc, &scope, D).await.unwrap();
    let view = plans::mx_plan(svc, &scope, D, later).await.unwrap();
    assert!(view.plan.is_none(), "{view:?}");
    let audit = moat_store::audit::list(&svc.db, scope.org_id(), 50)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "mx_plan.dismissed"), "{audit:?}");

    // Tenancy: another organization sees nothing of it.
    let other = operator_scope(svc, "Strangers").await;
    for r in [
        plans::mx_plan(svc, &other, D, later).await.map(|_| ()),
        plans::propose(svc, &other, D, &v(&[MX1]), later)
            .await
            .map(|_| ()),
        plans::dismiss(svc, &other, D).await,
    ] {
        assert!(matches!(r, Err(moat_services::Error::NotFound)), "{r:?}");
    }
    let id = domains::get(svc, &scope, D).await.unwrap().id;
    assert!(
        moat_store::plans::get(&svc.db, other.org_id(), id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !moat_store::plans::upsert(&svc.db, other.org_id(), id, None, "[]", later)
            .await
            .unwrap()
    );
    let row = moat_store::plans::get(&svc.db, scope.org_id(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.live_mx_json, format!("[\"{MX2}\"]"), "untouched");

    // The customer's DNS does not answer: the stored plan is shown as it was, with the
    // reason; planning is refused; readiness and the lint say the MX hosts are unknown.
    plans::propose(svc, &scope, D, &v(&[outlook]), later)
        .await
        .unwrap();
    let mut dark = svc.clone();
    dark.dns = moat_services::dns::Dns::new(&["127.0.0.1:9".parse().unwrap()]);
    let view = plans::mx_plan(&dark, &scope, D, later).await.unwrap();
    assert!(view.lookup_error.is_some(), "{view:?}");
    assert!(view.plan.is_some(), "the stored plan is still shown");
    let row_after = moat_store::plans::get(&svc.db, scope.org_id(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row_after.live_mx_json, row.live_mx_json,
        "nothing stored on a failed lookup"
    );
    let err = plans::propose(&dark, &scope, D, &v(&[MX2]), later)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("try again once it answers"), "{err}");
    let r = moat_services::probe::readiness(&dark, &scope, D).await.unwrap();
    let mx = r.check(moat_domain::mta_sts::ReadinessCode::MxProbes).unwrap();
    assert!(
        !mx.passed && mx.detail.contains("live MX hosts are unknown"),
        "{mx:?}"
    );
    // The lint does not take the failed lookup for "no MX records".
    let lint = moat_services::probe::lint(&dark, &scope, D).await.unwrap();
    let codes: Vec<&str> = lint.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["mx-unknown"], "{lint:?}");
}

async fn the_cli_shows_proposes_and_dismisses(backend: Backend) {
    let Some(fx) = fixture(backend).await else {
        return;
    };
    let svc = &fx.app.services;
    let scope = operator_scope(svc, "CliPlans").await;
    active_domain(svc, &scope).await;
    plans::mx_plan(svc, &scope, D, moat_services::now())
        .await
        .unwrap();
    publish_mx(&fx.dns, &[MX2]);
    let env = [
        ("MOAT_ZONE", ZONE.to_owned()),
        ("MOAT_RESOLVERS", fx.dns.addr.to_string()),
    ];
    let run = |args: &[&str]| fx.app.cli(&env, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let out = run(&["mx-plan", D, "--org", "CliPlans", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let view: plans::MxPlanView = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view.live_mx, v(&[MX2]));
    let plan = view.plan.unwrap();
    assert_eq!(steps(&plan).len(), 4, "{plan:#?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["plan"]["steps"][0]["action"]["kind"], "add-patterns",
        "{json}"
    );

    let out = run(&["mx-plan", D, "--org", "CliPlans"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains(&format!("1. [ ] add {MX2}")), "{shown}");
    assert!(shown.contains("2. [✓] change the MX records"), "{shown}");
    assert!(
        shown.contains("3. [ ] wait until ") && shown.contains("UTC"),
        "{shown}"
    );
    assert!(shown.contains(&format!("4. [ ] remove {MX1}")), "{shown}");

    let out = run(&["mx-plan", D, "--org", "CliPlans", "--propose", "mx..bad"]).await;
    assert!(!out.status.success());
    let out = run(&["mx-plan", D, "--org", "CliPlans", "--propose", MX2, "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let view: plans::MxPlanView = serde_json::from_slice(&out.stdout).unwrap();
    assert!(view.plan.is_some_and(|p| !p.complete));

    let out = run(&["mx-plan", D, "--org", "CliPlans", "--dismiss"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("dismissed"), "{}", text(&out.stdout));
    // The policy still lacks mx2, which receives mail: the next look plans again.
    let out = run(&["mx-plan", D, "--org", "CliPlans"]).await;
    let shown = text(&out.stdout);
    assert!(shown.contains(&format!("1. [ ] add {MX2}")), "{shown}");

    // Another organization does not see the domain.
    tenancy::operator_create_org(svc, "ElsewherePlans", false, None)
        .await
        .unwrap();
    let out = run(&["mx-plan", D, "--org", "ElsewherePlans"]).await;
    assert_eq!(out.status.code(), Some(1));
}
