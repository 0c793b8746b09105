//! Problems the detector found: severity, what was seen, what to do, the evidence (linked
//! to the reports), and a way to acknowledge them.

use crate::{
    api::problems::{AcknowledgeProblem, list_problems},
    components::format_time,
    error::AppError,
};
use leptos::prelude::*;
use moat_domain::views::ProblemView;

/// The problems of an organization (of one domain when `domain` is given), reloaded after
/// each acknowledgement. `can_ack`: the viewer may acknowledge.
#[component]
pub fn Problems(org: i64, #[prop(into)] domain: Option<String>, can_ack: bool) -> impl IntoView {
    let ack = ServerAction::<AcknowledgeProblem>::new();
    let show_domain = domain.is_none();
    let list = Resource::new(
        move || (org, domain.clone(), ack.version().get()),
        |(org, domain, _)| list_problems(org, domain),
    );
    view! {
        <section class="card" id="problems">
            <h2>"Problems"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(AppError::Unauthorized { .. }) | Err(AppError::NotFound) => ().into_any(),
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(items) if items.is_empty() => view! {
                            <p class="good-note" id="no-problems">"No problems: Moat checks every new report and, every hour, the records, certificates and reporters."</p>
                        }.into_any(),
                        Ok(items) => {
                            let open = items.iter().filter(|p| p.status == "open").count();
                            view! {
                                <p class="muted small">{format!("{open} open; problems resolved in the last 7 days are listed below them.")}</p>
                                <ul class="problems">
                                    {items.into_iter().map(|p| view! { <ProblemItem p show_domain can_ack ack /> }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ProblemItem(
    p: ProblemView,
    show_domain: bool,
    can_ack: bool,
    ack: ServerAction<AcknowledgeProblem>,
) -> impl IntoView {
    let open = p.status == "open";
    // The problem's own organization: an MSP's overview lists its clients' problems too.
    let org = p.org_id.0;
    let class = format!(
        "problem sev-{} {}",
        p.severity,
        if open { "open" } else { "resolved" }
    );
    let when = if open {
        format!(
            "open since {}, last seen {}",
            format_time(p.opened_at),
            format_time(p.updated_at)
        )
    } else {
        format!("resolved {}", p.resolved_at.map(format_time).unwrap_or_default())
    };
    let acked = p.acknowledged_at.map(|t| {
        format!(
            "Acknowledged by {} on {}",
            p.acknowledged_by.clone().unwrap_or_default(),
            format_time(t)
        )
    });
    let evidence = p.evidence.clone();
    let id = p.id;
    view! {
        <li class=class data-rule=p.rule.clone() data-subject=p.subject.clone() data-severity=p.severity.clone()>
            <div class="problem-head">
                <span class=format!("badge sev {}", p.severity)>{p.severity.clone()}</span>
                <strong class="problem-title">{p.title.clone()}</strong>
                {show_domain.then(|| view! { <a class="small" href=format!("/orgs/{}/domains/{}/dashboard", p.org_id.0, p.domain)>{p.display_domain.clone()}</a> })}
            </div>
            <p class="small">{p.detail.clone()}</p>
            <p class="small fix"><strong>"What to do: "</strong>{p.fix.clone()}</p>
            {(!evidence.is_empty()).then(|| view! {
                <details class="evidence">
                    <summary>{format!("Evidence ({})", evidence.len())}</summary>
                    <ul>
                        {evidence.into_iter().map(|e| {
                            let text = format!("{} · {} · {}", format_time(e.at), e.sender, e.text);
                            match e.report {
                                Some(r) => view! { <li><a href=format!("/orgs/{org}/reports/{r}")>{text}</a></li> }.into_any(),
                                None => view! { <li>{text}</li> }.into_any(),
                            }
                        }).collect_view()}
                    </ul>
                </details>
            })}
            <p class="muted small problem-foot">
                {when}
                {acked.map(|a| view! { " · " <span class="acked">{a}</span> })}
            </p>
            {(open && can_ack && p.acknowledged_at.is_none()).then(|| view! {
                <ActionForm action=ack attr:class="row-form">
                    <input type="hidden" name="org" value=p.org_id.0 />
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="small secondary" disabled=move || ack.pending().get()>"Acknowledge"</button>
                </ActionForm>
            })}
        </li>
    }
}
