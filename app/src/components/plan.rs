//! "MX changes": the plan Moat proposes when the MX hosts change (or the owner wants other
//! patterns), each step marked done as reality catches up.

use crate::{
    api::plans::{DismissMxPlan, ProposeMxPlan, get_mx_plan},
    components::{
        form::{FormAlert, last_error},
        format_time,
    },
    error::AppError,
};
use leptos::prelude::*;
use moat_domain::{
    mta_sts::{PlanAction, PlanStep},
    views::MxPlanView,
};

/// The MX change card of a hosted domain; `saved` changes after each policy save.
#[component]
pub fn MxPlan(org: i64, name: String, can_manage: bool, saved: Signal<usize>) -> impl IntoView {
    let propose = ServerAction::<ProposeMxPlan>::new();
    let dismiss = ServerAction::<DismissMxPlan>::new();
    let error = last_error(propose);
    let key = name.clone();
    let name_body = name.clone();
    let data = Resource::new(
        move || {
            (
                org,
                key.clone(),
                propose.version().get(),
                dismiss.version().get(),
                saved.get(),
            )
        },
        |(org, name, ..)| get_mx_plan(org, name),
    );
    let field_error = move || error.get().and_then(|e| e.for_field("mx"));
    view! {
        <section class="card" id="mx-plan">
            <h2>"MX changes"</h2>
            <p class="muted small">
                "When MX hosts change, the safe order is: add the new hosts to the policy and publish it, switch DNS, keep the old hosts in the policy until every sender's cached copy can have expired (the longest max_age served), then remove them. Moat plans it and follows each step."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let name_body = name_body.clone();
                    Suspend::new(async move {
                    match data.await {
                        Err(AppError::Unauthorized { .. }) | Err(AppError::NotFound) => ().into_any(),
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(v) => view! { <PlanBody v can_manage org name=name_body dismiss /> }.into_any(),
                    }
                })}}
            </Transition>
            {can_manage.then(|| view! {
                <ActionForm action=propose attr:class="stack">
                    <input type="hidden" name="org" value=org />
                    <input type="hidden" name="name" value=name.clone() />
                    <div class="field" class:invalid=move || field_error().is_some()>
                        <label for="f-plan-mx">"Plan a move to other MX hosts (patterns, one per line)"</label>
                        <textarea name="mx" id="f-plan-mx" rows="3" spellcheck="false" autocomplete="off"></textarea>
                        <p class="field-error" role="alert">{field_error}</p>
                    </div>
                    <FormAlert error />
                    <div><button type="submit" class="small secondary" disabled=move || propose.pending().get()>"Plan the change"</button></div>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn PlanBody(
    v: MxPlanView,
    can_manage: bool,
    org: i64,
    name: String,
    dismiss: ServerAction<DismissMxPlan>,
) -> impl IntoView {
    let live = if v.live_mx.is_empty() {
        "none found".to_owned()
    } else {
        v.live_mx.join(", ")
    };
    let head = view! {
        {v.lookup_error.map(|e| view! { <p class="alert" id="plan-lookup-error">{format!("{e}: the plan is brought up to date once the lookup answers.")}</p> })}
        <p class="small">"Live MX: " <code>{live}</code> " · policy patterns: " <code>{v.patterns.join(", ")}</code></p>
    };
    let body = match v.plan.filter(|p| !p.steps.is_empty()) {
        None => view! { <p class="good-note" id="no-plan">"Nothing to change: the policy fits the live MX hosts."</p> }.into_any(),
        Some(plan) => {
            let complete = plan.complete;
            view! {
                <p id="plan-state" class=if complete { "good-note" } else { "notice" }>
                    {if complete { "The change is complete." } else { "A change is in progress:" }}
                </p>
                <ol class="plan-steps" id="plan-steps">
                    {plan.steps.into_iter().map(step).collect_view()}
                </ol>
                {can_manage.then(|| view! {
                    <ActionForm action=dismiss>
                        <input type="hidden" name="org" value=org />
                        <input type="hidden" name="name" value=name.clone() />
                        <button type="submit" class="small secondary">"Dismiss the plan"</button>
                    </ActionForm>
                })}
            }.into_any()
        }
    };
    view! { {head} {body} }
}

fn step(s: PlanStep) -> impl IntoView {
    let what = match &s.action {
        PlanAction::AddPatterns { patterns } => format!(
            "Add {} to the policy and save it",
            patterns.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
        ),
        PlanAction::ChangeDns => "Change the MX records in DNS".to_owned(),
        PlanAction::WaitUntil { unix } => format!("Wait until {}", format_time(*unix)),
        PlanAction::RemovePatterns { patterns } => format!(
            "Remove {} from the policy and save it",
            patterns.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    view! {
        <li class=if s.done { "step-done" } else { "step-todo" }>
            <strong>{if s.done { "✓ " } else { "○ " }}{what}</strong>
            <p class="hint">{s.explanation}</p>
        </li>
    }
}
