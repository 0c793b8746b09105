//! `/orgs/:id/domains/:name/dashboard`: what the TLS reports say about a domain over a range
//! of days — sessions per day, failures per result type (explained), per sending organization,
//! per sending MTA and per receiving MX — with filters in the URL and CSV/JSON export.

use crate::{
    api::dashboard::{DashboardQuery, encode, get_domain_dashboard},
    components::{chart::EChart, domain::StateBadge, format_time, problems::Problems},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form, Redirect},
    hooks::{use_params_map, use_query_map},
};
use moat_domain::{
    calendar::format_day,
    hosting::DomainState,
    views::{DomainDashboard, FailureTally},
};

/// `12345` → `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 day`, `30 days`.
pub fn day_count(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// The share of successful sessions, `99.5 %`, or `—` without sessions. Never shows 100 %
/// while any session failed.
pub fn success_rate(success: i64, failure: i64) -> String {
    let total = success + failure;
    if total == 0 {
        return "—".into();
    }
    let tenths = success * 1000 / total;
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// The domain dashboard.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let org = super::org_id_param();
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let query = use_query_map();
    let q = Memo::new(move |_| DashboardQuery::from_query(&query.read()));
    let data = Resource::new(
        move || (org.get(), name.get(), q.get()),
        |(org, name, q)| get_domain_dashboard(org, name, q),
    );
    view! {
        <Title text="TLS dashboard" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(AppError::Unauthorized { .. }) => {
                        let next = format!("/login?next=/orgs/{}/domains/{}/dashboard", org.get_untracked(), name.get_untracked());
                        view! { <Redirect path=next /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                    Err(e) => view! {
                        <p class="alert" id="dashboard-error">{e.to_string()}</p>
                        <p><a href=format!("/orgs/{}/domains/{}/dashboard", org.get_untracked(), name.get_untracked())>"Show the last 30 days"</a></p>
                    }.into_any(),
                    Ok(d) => view! { <Dashboard org=org.get_untracked() d q=q.get_untracked() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Dashboard(org: i64, d: DomainDashboard, q: DashboardQuery) -> impl IntoView {
    let name = d.domain.name.clone();
    let base = format!("/orgs/{org}/domains/{name}/dashboard");
    let range = d.filter.range;
    let period = format!(
        "{} – {} ({})",
        format_day(range.from),
        format_day(range.to),
        day_count(range.days())
    );
    let filtered = d.filter.sending_org.is_some() || d.filter.result_type.is_some();
    let export = {
        let mut eq = q.clone();
        eq.days = q.days;
        eq.to_query()
    };
    let export_base = format!("/orgs/{org}/domains/{name}/failures");
    let link_with = {
        let base = base.clone();
        let q = q.clone();
        move |f: &dyn Fn(&mut DashboardQuery)| {
            let mut q = q.clone();
            f(&mut q);
            let qs = q.to_query();
            if qs.is_empty() {
                base.clone()
            } else {
                format!("{base}?{qs}")
            }
        }
    };
    let period_links = [7, 30, 90]
        .into_iter()
        .map(|n| {
            let href = link_with(&|q| {
                q.days = Some(n);
                q.from = None;
                q.to = None;
            });
            let current = q.from.is_none() && q.days.unwrap_or(30) == n;
            view! { <A href=href attr:class={if current { "chip current" } else { "chip" }} attr:aria-current=current.then_some("true")>{format!("{n} days")}</A> }
        })
        .collect_view();
    let clear = filtered.then(|| {
        let href = link_with(&|q| {
            q.sender = None;
            q.result = None;
        });
        view! { <A href=href attr:class="chip" attr:id="clear-filters">"Clear filters"</A> }
    });
    let sender_link = {
        let link_with = link_with.clone();
        move |s: &str| {
            let s = s.to_owned();
            link_with(&move |q| q.sender = Some(s.clone()))
        }
    };
    let result_link = {
        let link_with = link_with.clone();
        move |r: &str| {
            let r = r.to_owned();
            link_with(&move |q| q.result = Some(r.clone()))
        }
    };
    let sender_options = d
        .all_senders
        .iter()
        .map(|s| {
            let selected = d.filter.sending_org.as_deref() == Some(s.as_str());
            view! { <option value=s.clone() selected=selected>{s.clone()}</option> }
        })
        .collect_view();
    let result_opts = result_options(d.filter.result_type.clone());
    let filter_note = filtered.then(|| {
        let both = (d.filter.sending_org.is_some() && d.filter.result_type.is_some()).then_some(" and ");
        let sender = d
            .filter
            .sending_org
            .clone()
            .map(|s| view! { "reports from " <strong>{s}</strong> });
        let result = d
            .filter
            .result_type
            .clone()
            .map(|r| view! { "failures of type " <code>{r}</code> " (and successful sessions)" });
        view! { <p class="small muted" id="active-filters">"Showing only " {sender} {both} {result}</p> }
    });
    let body = if d.reports == 0 {
        empty_state(org, &d).into_any()
    } else {
        view! {
                <section class="card" id="daily">
                    <h2>"Sessions per day"</h2>
                    <EChart id="chart-daily" option=d.daily_chart.clone() label="Successful and failed sessions per day".into() height=280 />
                    <details>
                        <summary>"As a table"</summary>
                        <div class="table-wrap">
                            <table class="table compact" id="daily-table">
                                <thead><tr><th>"Day"</th><th class="num">"Successful"</th><th class="num">"Failed"</th><th class="num">"Success rate"</th></tr></thead>
                                <tbody>
                                    {d.days.iter().rev().filter(|p| p.success + p.failure > 0).map(|p| view! {
                                        <tr><td class="nowrap">{format_day(p.day)}</td><td class="num">{thousands(p.success)}</td>
                                        <td class={if p.failure > 0 { "num bad" } else { "num" }}>{thousands(p.failure)}</td>
                                        <td class="num">{success_rate(p.success, p.failure)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </details>
                </section>

                <section class="card" id="result-types">
                    <h2>"Failures by result type"</h2>
                    {if d.result_types.is_empty() {
                        view! { <p class="good-note" id="no-failures">"No failed sessions in this period: every reported session to this domain was encrypted and validated."</p> }.into_any()
                    } else {
                        let rows = d.result_types.clone();
                        view! {
                            {d.result_chart.clone().map(|o| view! { <EChart id="chart-results" option=o label="Failed sessions per result type".into() height=(60 + 36 * rows.len() as u32).min(420) /> })}
                            <div class="table-wrap">
                                <table class="table" id="result-table">
                                    <thead><tr><th>"Result"</th><th>"What it means and what to do"</th><th class="num">"Failed sessions"</th></tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|t| { let href = result_link(&t.result_type); let title = t.title.clone(); view! {
                                            <tr data-result=t.result_type.clone()>
                                                <td><A href=href><strong>{title}</strong></A><br /><code class="small">{t.result_type.clone()}</code></td>
                                                <td class="small explain">{t.meaning}</td>
                                                <td class="num bad" data-value=t.sessions>{thousands(t.sessions)}</td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }}
                </section>

                <section class="card" id="senders">
                    <h2>"Sending organizations"</h2>
                    <p class="muted small">"Who reported sessions to this domain. Select one to see only its reports."</p>
                    <div class="table-wrap">
                        <table class="table" id="sender-table">
                            <thead><tr><th>"Reporter"</th><th class="num">"Successful"</th><th class="num">"Failed"</th><th class="num">"Success rate"</th></tr></thead>
                            <tbody>
                                {d.senders.clone().into_iter().map(|s| { let (who, href) = (s.organization_name.clone(), sender_link(&s.organization_name)); view! {
                                    <tr data-sender=s.organization_name.clone()>
                                        <td><A href=href>{who}</A></td>
                                        <td class="num" data-value=s.success>{thousands(s.success)}</td>
                                        <td class={if s.failure > 0 { "num bad" } else { "num" }} data-value=s.failure>{thousands(s.failure)}</td>
                                        <td class="num">{success_rate(s.success, s.failure)}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>

                <div class="two-col">
                    <section class="card" id="sending-ips">
                        <h2>"Failing sending MTAs"</h2>
                        <TallyTable rows=d.sending_ips.clone() key_label="Sending MTA IP" with_ip=false empty="No failure detail named a sending MTA." />
                    </section>
                    <section class="card" id="receiving-mx">
                        <h2>"Receiving MX with failures"</h2>
                        <TallyTable rows=d.receiving_mx.clone() key_label="MX host" with_ip=true empty="No failure detail named a receiving MX." />
                    </section>
                </div>

                <section class="card" id="export">
                    <h2>"Export"</h2>
                    <p class="muted small">"The failure details behind this page (same period and filters), one row each with the report they came in."</p>
                    <p class="row-actions">
                        <a class="button small secondary" id="export-csv" rel="external" download="" href=format!("{export_base}.csv{}", if export.is_empty() { String::new() } else { format!("?{export}") })>"Download CSV"</a>
                        <a class="button small secondary" id="export-json" rel="external" download="" href=format!("{export_base}.json{}", if export.is_empty() { String::new() } else { format!("?{export}") })>"Download JSON"</a>
                    </p>
                </section>
            }.into_any()
    };
    let total = d.success + d.failure;
    view! {
        <Title text=format!("{} · TLS dashboard", d.domain.display_name) />
        <div class="page-head">
            <div>
                <p class="crumbs">
                    <A href="/orgs">"Organizations"</A> " / "
                    <a href=format!("/orgs/{org}")>"Organization"</a> " / "
                    <a href=format!("/orgs/{org}/overview")>"Overview"</a> " / "
                    <a href=format!("/orgs/{org}/domains/{name}")>{d.domain.display_name.clone()}</a>
                </p>
                <h1 class="domain-title">"TLS reports for " {d.domain.display_name.clone()} " " <StateBadge state=d.domain.state /></h1>
                <p class="muted small" id="period">{period}</p>
            </div>
            <div class="head-actions">
                <a class="button small secondary" href=format!("/orgs/{org}/reports?domain={}", encode(&name))>"Report list"</a>
                <a class="button small secondary" href=format!("/orgs/{org}/domains/{name}")>"Domain settings"</a>
            </div>
        </div>

        <section class="card filters" id="filters">
            <div class="chips" role="group" aria-label="Period">{period_links}{clear}</div>
            <Form method="GET" action=base.clone() attr:class="filter-form">
                <label>"From" <input type="date" name="from" value=q.from.clone().unwrap_or_else(|| format_day(range.from)) /></label>
                <label>"To" <input type="date" name="to" value=q.to.clone().unwrap_or_else(|| format_day(range.to)) /></label>
                <label>"Sender"
                    <select name="sender" id="sender-filter">
                        <option value="">"All senders"</option>
                        {sender_options}
                    </select>
                </label>
                <label>"Result"
                    <select name="result" id="result-filter">
                        <option value="">"All results"</option>
                        {result_opts}
                    </select>
                </label>
                <button type="submit" class="small">"Apply"</button>
            </Form>
            {filter_note}
        </section>

        <section class="kpis" id="kpis">
            <div class="kpi"><span class="kpi-label">"Sessions"</span><span class="kpi-value" id="kpi-sessions" data-value=total>{thousands(total)}</span></div>
            <div class="kpi"><span class="kpi-label">"Successful"</span><span class="kpi-value good" id="kpi-success" data-value=d.success>{thousands(d.success)}</span></div>
            <div class="kpi"><span class="kpi-label">"Failed"</span><span class={if d.failure > 0 { "kpi-value bad" } else { "kpi-value" }} id="kpi-failure" data-value=d.failure>{thousands(d.failure)}</span></div>
            <div class="kpi"><span class="kpi-label">"Success rate"</span><span class="kpi-value" id="kpi-rate">{success_rate(d.success, d.failure)}</span></div>
            <div class="kpi"><span class="kpi-label">"Reports"</span><span class="kpi-value" id="kpi-reports" data-value=d.reports>{thousands(d.reports)}</span></div>
            <div class="kpi"><span class="kpi-label">"Last report received"</span><span class="kpi-value small-value" id="kpi-last">{d.last_received.map_or_else(|| "—".to_owned(), format_time)}</span></div>
        </section>

        <Problems org domain=Some(name.clone()) can_ack=d.can_manage />
        {body}
    }
}

fn result_options(selected: Option<String>) -> impl IntoView {
    let selected = selected.as_deref();
    let mut types: Vec<String> = moat_tlsrpt_types().iter().map(|s| (*s).to_owned()).collect();
    if let Some(s) = selected
        && !types.iter().any(|t| t == s)
    {
        types.push(s.to_owned());
    }
    types
        .into_iter()
        .map(|t| {
            let sel = selected == Some(t.as_str());
            view! { <option value=t.clone() selected=sel>{t.clone()}</option> }
        })
        .collect_view()
}

/// The result types of RFC 8460 §4.3 (and Moat's `unclassified`), for the filter.
fn moat_tlsrpt_types() -> &'static [&'static str] {
    &[
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
        "unclassified",
    ]
}

#[component]
fn TallyTable(
    rows: Vec<FailureTally>,
    key_label: &'static str,
    with_ip: bool,
    empty: &'static str,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted small">{empty}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table compact">
                <thead><tr><th>{key_label}</th>{with_ip.then(|| view! { <th>"IP"</th> })}<th class="num">"Failed sessions"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td><code>{r.name.unwrap_or_else(|| "(not reported)".into())}</code></td>
                            {with_ip.then(|| view! { <td><code>{r.ip.clone().unwrap_or_default()}</code></td> })}
                            <td class="num bad" data-value=r.sessions>{thousands(r.sessions)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn empty_state(org: i64, d: &DomainDashboard) -> impl IntoView {
    let name = d.domain.name.clone();
    let filtered = d.filter.sending_org.is_some() || d.filter.result_type.is_some();
    let headline = if filtered {
        "No reports match these filters."
    } else {
        "No reports in this period."
    };
    let next = match d.domain.state {
        DomainState::Pending => {
            "The records are not published yet: publish the CNAME records shown on the domain page. Reports arrive daily once the _smtp._tls record is live — senders send one per day, after midnight UTC, for the previous day."
        }
        _ if filtered => "Clear the filters or pick a longer period.",
        _ => {
            "Reports arrive daily once the _smtp._tls record is live: senders such as Google and Microsoft send one per day, after midnight UTC, for the previous day. Pick a longer period, or check the record on the domain page."
        }
    };
    view! {
        <section class="card empty" id="no-data">
            <p><strong>{headline}</strong></p>
            <p class="muted">{next}</p>
            <p><a href=format!("/orgs/{org}/domains/{name}")>"Open the domain page"</a></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_well() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(-1_234_567), "-1,234,567");
        assert_eq!(super::success_rate(0, 0), "—");
        assert_eq!(super::success_rate(1999, 1), "99.9 %");
        assert_eq!(super::success_rate(1, 0), "100.0 %");
        assert_eq!(super::success_rate(1, 3), "25.0 %");
    }
}
