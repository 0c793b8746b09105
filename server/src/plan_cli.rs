//! `moat mx-plan`: the MX change planner from the command line — the domain's plan brought
//! up to date, a plan towards new `mx` patterns, or dropping the plan under way.

use crate::cli::{org_scope, print_error};
use moat_domain::{
    Action,
    calendar::format_utc,
    mta_sts::{MxPattern, PlanAction},
};
use moat_services::{
    Services, now,
    plans::{self, MxPlanView},
};

/// `moat mx-plan`.
#[derive(Debug, clap::Args)]
pub struct MxPlanArgs {
    /// The domain.
    domain: String,
    /// Organization id or unique name.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// Plan a change to these mx patterns (replacing the plan under way).
    #[arg(long, value_name = "PATTERN", num_args = 1.., conflicts_with = "dismiss")]
    propose: Vec<String>,
    /// Drop the plan under way (the next look plans again only for a new MX change or MX
    /// hosts the policy does not cover).
    #[arg(long)]
    dismiss: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Shows (brings up to date), proposes or dismisses the domain's MX change plan.
pub async fn mx_plan(svc: &Services, args: MxPlanArgs) -> anyhow::Result<()> {
    let t = now();
    let view = if args.dismiss {
        let scope = org_scope(svc, &args.org, Action::ManageDomains).await?;
        plans::dismiss(svc, &scope, &args.domain)
            .await
            .map_err(print_error)?;
        println!("MX change plan dismissed");
        return Ok(());
    } else if !args.propose.is_empty() {
        let scope = org_scope(svc, &args.org, Action::ManageDomains).await?;
        plans::propose(svc, &scope, &args.domain, &args.propose, t).await
    } else {
        let scope = org_scope(svc, &args.org, Action::Read).await?;
        plans::mx_plan(svc, &scope, &args.domain, t).await
    }
    .map_err(print_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render(&view));
    }
    Ok(())
}

fn patterns(p: &[MxPattern]) -> String {
    p.iter().map(MxPattern::as_str).collect::<Vec<_>>().join(", ")
}

/// The plan as text: the live MX and the patterns, then numbered steps (✓ when done).
pub fn render(view: &MxPlanView) -> String {
    let mut out = format!(
        "live MX: {}\npolicy mx: {}\nlongest max_age served: {} s\n",
        if view.live_mx.is_empty() {
            "none".to_owned()
        } else {
            view.live_mx.join(", ")
        },
        if view.patterns.is_empty() {
            "none".to_owned()
        } else {
            view.patterns.join(", ")
        },
        view.longest_max_age
    );
    let Some(plan) = view.plan.as_ref().filter(|p| !p.steps.is_empty()) else {
        out.push_str("no MX change under way\n");
        return out;
    };
    for s in &plan.steps {
        let what = match &s.action {
            PlanAction::AddPatterns { patterns: p } => format!("add {}", patterns(p)),
            PlanAction::ChangeDns => "change the MX records".to_owned(),
            PlanAction::WaitUntil { unix } => format!("wait until {}", format_utc(*unix)),
            PlanAction::RemovePatterns { patterns: p } => format!("remove {}", patterns(p)),
        };
        out.push_str(&format!(
            "{}. [{}] {what}\n     {}\n",
            s.order,
            if s.done { "✓" } else { " " },
            s.explanation
        ));
    }
    out.push_str(if plan.complete {
        "complete\n"
    } else {
        "in progress\n"
    });
    out
}
