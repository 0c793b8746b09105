//! `/orgs/:id/overview`: every domain of the organization (and, for an MSP, of its client
//! organizations) at a glance — state, policy mode, sessions and success rate over the
//! period, reports — sortable and filterable in the page.

use super::dashboard::{day_count, success_rate, thousands};
use crate::{
    api::dashboard::{DashboardQuery, get_overview},
    components::{domain::StateBadge, format_time, problems::Problems},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_query_map,
};
use moat_domain::{calendar::format_day, hosting::DomainState, views::Overview};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Domain,
    Sessions,
    Failed,
    Rate,
    Reports,
    Problems,
}

fn sev_rank(s: &Option<String>) -> u8 {
    match s.as_deref() {
        None => 0,
        Some("info") => 1,
        Some("warning") => 2,
        Some(_) => 3,
    }
}

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let org = super::org_id_param();
    let query = use_query_map();
    let q = Memo::new(move |_| DashboardQuery::from_query(&query.read()));
    let data = Resource::new(move || (org.get(), q.get()), |(org, q)| get_overview(org, q));
    view! {
        <Title text="Overview" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(AppError::Unauthorized { .. }) => {
                        let next = format!("/login?next=/orgs/{}/overview", org.get_untracked());
                        view! { <Redirect path=next /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                    Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                    Ok(o) => view! { <OverviewTable o q=q.get_untracked() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewTable(o: Overview, q: DashboardQuery) -> impl IntoView {
    let id = o.org.id.0;
    let msp = o.org.is_msp;
    let can_ack = o.org.role.can(moat_domain::Action::ManageDomains);
    let sort = RwSignal::new((SortBy::Failed, true));
    let text = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let rows = StoredValue::new(o.rows.clone());
    let range = o.range;
    let days_q = q.days.map(|d| format!("?days={d}")).unwrap_or_default();
    let period_links = [7, 30, 90]
        .into_iter()
        .map(|n| {
            let current = q.from.is_none() && q.days.unwrap_or(30) == n;
            view! { <A href=format!("/orgs/{id}/overview?days={n}") attr:class={if current { "chip current" } else { "chip" }}>{format!("{n} days")}</A> }
        })
        .collect_view();
    let header = move |label: &'static str, by: SortBy| {
        view! {
            <th class={if by == SortBy::Domain { "" } else { "num" }} aria-sort=move || match sort.get() { (s, true) if s == by => "descending", (s, false) if s == by => "ascending", _ => "none" }>
                <button type="button" class="link sort" data-sort=label on:click=move |_| sort.update(|(s, desc)| if *s == by { *desc = !*desc } else { *s = by; *desc = by != SortBy::Domain })>
                    {label}
                    {move || match sort.get() { (s, true) if s == by => " ▼", (s, false) if s == by => " ▲", _ => "" }}
                </button>
            </th>
        }
    };
    let visible = move || {
        let needle = text.get().to_lowercase();
        let wanted = state.get();
        let mut list = rows.get_value();
        list.retain(|r| {
            (needle.is_empty()
                || r.domain.display_name.to_lowercase().contains(&needle)
                || r.domain.name.contains(&needle)
                || r.org.name.to_lowercase().contains(&needle))
                && match wanted.as_str() {
                    "" => true,
                    "failing" => r.failure > 0,
                    "problems" => r.open_problems > 0,
                    "silent" => r.reports == 0,
                    s => r.domain.state.as_str() == s,
                }
        });
        let (by, desc) = sort.get();
        list.sort_by(|a, b| {
            let ord = match by {
                SortBy::Domain => a.domain.display_name.cmp(&b.domain.display_name),
                SortBy::Sessions => (a.success + a.failure).cmp(&(b.success + b.failure)),
                SortBy::Failed => a.failure.cmp(&b.failure),
                SortBy::Rate => a.success_permille().cmp(&b.success_permille()),
                SortBy::Reports => a.reports.cmp(&b.reports),
                SortBy::Problems => (a.open_problems, sev_rank(&a.worst_problem))
                    .cmp(&(b.open_problems, sev_rank(&b.worst_problem))),
            };
            let ord = if desc { ord.reverse() } else { ord };
            ord.then_with(|| a.domain.name.cmp(&b.domain.name))
        });
        list
    };
    let (sessions, failed, reports) = o.rows.iter().fold((0, 0, 0), |(s, f, r), x| {
        (s + x.success + x.failure, f + x.failure, r + x.reports)
    });
    let empty = o.rows.is_empty();
    view! {
        <div class="page-head">
            <div>
                <p class="crumbs"><A href="/orgs">"Organizations"</A> " / " <a href=format!("/orgs/{id}")>{o.org.name.clone()}</a></p>
                <h1>{if msp { "Overview of all client domains" } else { "Overview" }}</h1>
                <p class="muted small" id="period">{format!("{} – {} ({})", format_day(range.from), format_day(range.to), day_count(range.days()))}</p>
            </div>
            <a class="button small secondary" href=format!("/orgs/{id}/domains")>"Manage domains"</a>
        </div>
        <section class="kpis" id="kpis">
            <div class="kpi"><span class="kpi-label">"Domains"</span><span class="kpi-value" id="kpi-domains">{o.rows.len()}</span></div>
            <div class="kpi"><span class="kpi-label">"Sessions"</span><span class="kpi-value" id="kpi-sessions" data-value=sessions>{thousands(sessions)}</span></div>
            <div class="kpi"><span class="kpi-label">"Failed"</span><span class={if failed > 0 { "kpi-value bad" } else { "kpi-value" }} id="kpi-failure" data-value=failed>{thousands(failed)}</span></div>
            <div class="kpi"><span class="kpi-label">"Success rate"</span><span class="kpi-value">{success_rate(sessions - failed, failed)}</span></div>
            <div class="kpi"><span class="kpi-label">"Reports"</span><span class="kpi-value" id="kpi-reports" data-value=reports>{thousands(reports)}</span></div>
        </section>
        <section class="card" id="overview">
            <div class="filters-row">
                <div class="chips" role="group" aria-label="Period">{period_links}</div>
                <input type="search" id="overview-filter" placeholder="Filter by domain or organization" aria-label="Filter by domain or organization"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                <select id="overview-state" aria-label="Show" on:change=move |ev| state.set(event_target_value(&ev))>
                    <option value="">"All domains"</option>
                    <option value="failing">"With failures"</option>
                    <option value="problems">"With open problems"</option>
                    <option value="silent">"Without reports"</option>
                    <option value="active">"Active"</option>
                    <option value="pending">"Pending"</option>
                    <option value="degraded">"Degraded"</option>
                </select>
            </div>
            {if empty {
                view! {
                    <div class="empty">
                        <p><strong>"No domains yet."</strong></p>
                        <p class="muted"><a href=format!("/orgs/{id}/domains")>"Add a domain"</a> ", publish the CNAME records Moat shows, and its TLS reports appear here."</p>
                    </div>
                }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table" id="overview-table">
                            <thead><tr>
                                {header("Domain", SortBy::Domain)}
                                {msp.then(|| view! { <th>"Organization"</th> })}
                                <th>"State"</th><th>"Mode"</th>
                                {header("Sessions", SortBy::Sessions)}
                                {header("Success rate", SortBy::Rate)}
                                {header("Failed", SortBy::Failed)}
                                {header("Reports", SortBy::Reports)}
                                {header("Problems", SortBy::Problems)}
                                <th class="col-wide">"Last report"</th>
                            </tr></thead>
                            <tbody>
                                <For each=visible key=|r| r.domain.id.0 let:r>
                                    {
                                        let href = format!("/orgs/{}/domains/{}/dashboard{}", r.org.id.0, r.domain.name, days_q);
                                        let mode = r.domain.policy.as_ref().map_or("—", |p| p.mode.as_str());
                                        let attention = r.domain.state == DomainState::Degraded || r.failure > 0 || r.open_problems > 0;
                                        view! {
                                            <tr data-domain=r.domain.name.clone() class={if attention { "attention" } else { "" }}>
                                                <td class="domain-cell"><a href=href>{r.domain.display_name.clone()}</a></td>
                                                {msp.then(|| view! { <td>{r.org.name.clone()}</td> })}
                                                <td><StateBadge state=r.domain.state /></td>
                                                <td>{mode}</td>
                                                <td class="num" data-col="sessions" data-value=r.success + r.failure>{thousands(r.success + r.failure)}</td>
                                                <td class="num">{success_rate(r.success, r.failure)}</td>
                                                <td class={if r.failure > 0 { "num bad" } else { "num" }} data-col="failed" data-value=r.failure>{thousands(r.failure)}</td>
                                                <td class="num" data-col="reports" data-value=r.reports>{thousands(r.reports)}</td>
                                                <td class="num" data-col="problems" data-value=r.open_problems>
                                                    {match &r.worst_problem {
                                                        Some(w) => view! { <span class=format!("badge sev {w}")>{format!("{} {w}", r.open_problems)}</span> }.into_any(),
                                                        None => view! { "—" }.into_any(),
                                                    }}
                                                </td>
                                                <td class="nowrap col-wide small">{r.last_received.map_or_else(|| "none in period".to_owned(), format_time)}</td>
                                            </tr>
                                        }
                                    }
                                </For>
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <Problems org=id domain={None::<String>} can_ack=can_ack />
    }
}
