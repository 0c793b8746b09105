//! `/orgs/:id/reports` (optionally `?domain=D`) and `/orgs/:id/reports/:rid`: received TLS
//! reports, readable, with every deviation the parser tolerated shown as a warning.

use crate::{
    api::reports::{get_report, list_reports},
    components::format_time,
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::{use_params_map, use_query_map},
};
use moat_domain::views::{FailureDetailView, PolicyResultView, ReportDetail, ReportView};

fn day(t: i64) -> String {
    format_time(t).chars().take(10).collect()
}

/// The list of an organization's reports.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let org = super::org_id_param();
    let query = use_query_map();
    let domain = Memo::new(move |_| query.read().get("domain"));
    let data = Resource::new(move || (org.get(), domain.get()), |(o, d)| list_reports(o, d));
    view! {
        <Title text="TLS reports" />
        <div class="page-head">
            <h1>"TLS reports" {move || domain.get().map(|d| format!(" for {d}"))}</h1>
            <A href=move || format!("/orgs/{}", org.get())>"← Back to the organization"</A>
        </div>
        <section class="card">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(AppError::Unauthorized { .. }) => view! { <Redirect path="/login" /> }.into_any(),
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(r) if r.reports.is_empty() => view! {
                            <p class="muted" id="no-reports">
                                "No TLS reports received yet. Senders mail them to the address in each domain's "
                                <code>"_smtp._tls"</code> " record (or POST them); most send one a day, after midnight UTC."
                            </p>
                        }.into_any(),
                        Ok(r) => {
                            let org_id = r.org.id.0;
                            view! {
                                <div class="table-wrap">
                                    <table class="table" id="reports">
                                        <thead><tr>
                                            <th>"Day"</th><th>"Domain"</th><th>"From"</th>
                                            <th class="num">"Successful"</th><th class="num">"Failed"</th>
                                            <th>"Via"</th><th>"Notes"</th>
                                        </tr></thead>
                                        <tbody>
                                            {r.reports.into_iter().map(|rep| report_row(org_id, rep)).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

fn report_row(org: i64, r: ReportView) -> impl IntoView {
    let notes = match (r.warnings.len(), r.duplicates) {
        (0, 0) => String::new(),
        (w, 0) => format!("{w} warning(s)"),
        (0, d) => format!("received {} times", d + 1),
        (w, d) => format!("{w} warning(s); received {} times", d + 1),
    };
    let failed_class = if r.total_failure_session_count > 0 {
        "num bad"
    } else {
        "num"
    };
    view! {
        <tr>
            <td class="nowrap">{day(r.start_at)}</td>
            <td>{r.display_domain}</td>
            <td><a href=format!("/orgs/{org}/reports/{}", r.id)>{r.organization_name}</a></td>
            <td class="num">{r.total_successful_session_count}</td>
            <td class=failed_class>{r.total_failure_session_count}</td>
            <td>{r.channel}</td>
            <td class="small">{notes}</td>
        </tr>
    }
}

/// One report.
#[component]
pub fn ReportPage() -> impl IntoView {
    let org = super::org_id_param();
    let params = use_params_map();
    let rid = Memo::new(move |_| {
        params
            .read()
            .get("rid")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let data = Resource::new(move || (org.get(), rid.get()), |(o, r)| get_report(o, r));
    view! {
        <Title text="TLS report" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(AppError::Unauthorized { .. }) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => report_view(org.get_untracked(), d),
                }
            })}
        </Suspense>
    }
}

fn report_view(org: i64, d: ReportDetail) -> AnyView {
    let r = d.report;
    let r_id = r.id;
    let raw = d.raw;
    let back = format!("/orgs/{org}/reports?domain={}", r.domain);
    let warnings = r.warnings.clone();
    let head = view! {
        <div class="page-head">
            <h1>"Report from " {r.organization_name.clone()}</h1>
            <A href=back>"← All reports for " {r.display_domain.clone()}</A>
        </div>
        <section class="card">
            <dl class="facts">
                <dt>"About"</dt><dd id="report-domain">{r.policy_domain.clone()}</dd>
                <dt>"Period"</dt><dd>{format_time(r.start_at)} " – " {format_time(r.end_at)}</dd>
                <dt>"Sessions"</dt>
                <dd id="report-sessions">{r.total_successful_session_count} " successful, "
                    {r.total_failure_session_count} " failed"</dd>
                <dt>"Report id"</dt><dd><code>{r.report_id.clone()}</code></dd>
                <dt>"Contact"</dt><dd>{r.contact_info.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Received"</dt>
                <dd>{format_time(raw.received_at)} " by " {raw.channel.clone()}
                    {raw.tls.then_some(" over TLS")}
                    {raw.peer.clone().map(|p| format!(" from {p}"))}
                    {(raw.deliveries > 1 || r.duplicates > 0).then(|| format!(" — delivered {} times, stored once", (raw.deliveries).max(r.duplicates + 1)))}
                </dd>
            </dl>
        </section>
    }
    .into_any();
    let warned = (!warnings.is_empty()).then(|| view! {
            <section class="card">
                <h2>"Deviations from RFC 8460"</h2>
                <p class="muted small">"The sender's report was read anyway; this is what Moat had to tolerate."</p>
                <ul id="report-warnings">
                    {warnings.into_iter().map(|w| view! { <li><code>{w.code}</code> " " {w.message}</li> }).collect_view()}
                </ul>
            </section>
        }.into_any());
    let policies = d.policies.into_iter().map(policy_view).collect_view();
    let explained = (!d.explanations.is_empty()).then(|| view! {
        <section class="card" id="report-explanations">
            <h2>"What these results mean"</h2>
            <dl class="explanations">
                {d.explanations.into_iter().map(|e| view! {
                    <dt data-result=e.result_type.clone()><strong>{e.title}</strong> " " <code class="small">{e.result_type.clone()}</code> " " <span class="muted small">{e.rfc_section}</span></dt>
                    <dd>
                        <p>{e.meaning}</p>
                        <p class="small"><strong>"Likely cause: "</strong>{e.likely_cause}</p>
                        <p class="small"><strong>"Fix: "</strong>{e.fix}</p>
                    </dd>
                }).collect_view()}
            </dl>
        </section>
    }.into_any());
    let downloads = view! {
        <section class="card" id="report-downloads">
            <h2>"As sent"</h2>
            <p class="row-actions">
                <a class="button small secondary" id="download-json" rel="external" download="" href=format!("/orgs/{org}/reports/{}/report.json", r_id)>"Download the report JSON"</a>
                <a class="button small secondary" id="download-raw" rel="external" download="" href=format!("/orgs/{org}/reports/{}/raw", r_id)>"Download the message as received"</a>
            </p>
        </section>
    };
    view! { {head} {warned} {policies} {explained} {downloads} }.into_any()
}

fn policy_view(p: PolicyResultView) -> AnyView {
    let details = p.failure_details;
    view! {
        <section class="card">
            <h2>"Policy " <code>{p.policy_type}</code> " " {p.policy_domain.unwrap_or_default()}</h2>
            <p>{p.total_successful_session_count} " successful, " {p.total_failure_session_count} " failed sessions"</p>
            {(!p.mx_host.is_empty()).then(|| view! { <p class="small">"MX: " {p.mx_host.join(", ")}</p> })}
            {(!p.policy_string.is_empty()).then(|| view! { <pre class="policy-string">{p.policy_string.join("\n")}</pre> })}
            {p.served.map(|c| view! {
                <p class={if c.matches { "small served good-note" } else { "small served state-note degraded" }}>{c.text}</p>
            })}
            {(!details.is_empty()).then(|| view! {
                <div class="table-wrap">
                    <table class="table failures">
                        <thead><tr>
                            <th>"Result"</th><th class="num">"Sessions"</th><th>"Receiving MX"</th>
                            <th>"Receiving IP"</th><th>"Sending MTA"</th><th>"Details"</th>
                        </tr></thead>
                        <tbody>{details.into_iter().map(failure_row).collect_view()}</tbody>
                    </table>
                </div>
            })}
        </section>
    }
    .into_any()
}

fn failure_row(f: FailureDetailView) -> AnyView {
    let extra = [f.failure_reason_code, f.additional_information]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" — ");
    // "Certificate expired: what the sender saw…": the title in the cell, the rest on hover.
    let title = f
        .meaning
        .split_once(": ")
        .map_or(f.meaning.clone(), |(t, _)| t.to_owned());
    view! {
        <tr>
            <td title=f.meaning.clone()><code>{f.result_type}</code><br /><span class="small muted">{title}</span></td>
            <td class="num">{f.failed_session_count}</td>
            <td>{f.receiving_mx_hostname.unwrap_or_default()}
                {f.receiving_mx_helo.map(|h| format!(" (HELO {h})"))}</td>
            <td>{f.receiving_ip.unwrap_or_default()}</td>
            <td>{f.sending_mta_ip.unwrap_or_default()}</td>
            <td class="small">{extra}</td>
        </tr>
    }
    .into_any()
}
