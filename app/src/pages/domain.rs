//! `/orgs/:id/domains/:name`: one domain — the records to publish and their checks, the
//! policy editor with the live MX hosts, the policy as served, its history, and removal.

use crate::{
    api::domains::{
        CheckDomain, DeleteDomain, DomainOverview, RemoveMtaSts, SetPolicy, get_domain, get_mx_report,
    },
    components::{
        domain::{CopyButton, StateBadge, human_duration},
        form::{FormAlert, last_error},
        format_time,
        plan::MxPlan,
        readiness::Readiness,
    },
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use moat_domain::{
    Action,
    hosting::{DomainKind, DomainState, RecordCheck},
    mta_sts::{MaxAge, Mode, Policy},
    views::{CertificateView, DomainView, MxReport, PolicyVersionView},
};

#[derive(Clone, Copy)]
struct DomainActions {
    check: ServerAction<CheckDomain>,
    save: ServerAction<SetPolicy>,
    remove: ServerAction<RemoveMtaSts>,
    delete: ServerAction<DeleteDomain>,
}

/// The domain page.
#[component]
pub fn DomainPage() -> impl IntoView {
    let org = super::org_id_param();
    let params = leptos_router::hooks::use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let actions = DomainActions {
        check: ServerAction::new(),
        save: ServerAction::new(),
        remove: ServerAction::new(),
        delete: ServerAction::new(),
    };
    // Reload after every successful save (keyed on the new id), not after a refused one: a
    // reload re-renders the editor and would drop what the user typed.
    let saved_id = Memo::new(move |_| {
        actions.save.value().with(|v| match v {
            Some(Ok(s)) => s.domain.policy.as_ref().map(|p| p.policy_id.clone()),
            _ => None,
        })
    });
    let detail = Resource::new(
        move || {
            (
                org.get(),
                name.get(),
                actions.check.version().get(),
                saved_id.get(),
                actions.remove.version().get(),
            )
        },
        |(org, name, ..)| get_domain(org, name),
    );
    let mx = Resource::new(
        move || {
            (
                org.get(),
                name.get(),
                actions.check.version().get(),
                saved_id.get(),
            )
        },
        |(org, name, ..)| get_mx_report(org, name),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(AppError::Unauthorized { .. }) => {
                        let next = format!("/login?next=/orgs/{}/domains/{}", org.get_untracked(), name.get_untracked());
                        view! { <Redirect path=next /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                    Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                    Ok(page) => view! { <DomainBody page mx actions /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DomainBody(
    page: DomainOverview,
    mx: Resource<Result<MxReport, AppError>>,
    actions: DomainActions,
) -> impl IntoView {
    let org = page.org;
    let org_id = org.id.0;
    let can_manage = org.role.can(Action::ManageDomains);
    let detail = page.detail;
    let d = detail.domain.clone();
    let hosted = d.kind == DomainKind::Hosted;
    view! {
        <Title text=d.display_name.clone() />
        <div class="page-head">
            <div>
                <p class="crumbs">
                    <A href="/orgs">"Organizations"</A> " / "
                    <a href=format!("/orgs/{org_id}")>{org.name.clone()}</a> " / "
                    <a href=format!("/orgs/{org_id}/domains")>"Domains"</a>
                </p>
                <h1 class="domain-title">{d.display_name.clone()} <StateBadge state=d.state /> <span class="badge">{d.kind_label()}</span></h1>
                {(d.display_name != d.name).then(|| view! { <p class="muted small">"In DNS: " <code>{d.name.clone()}</code></p> })}
            </div>
            <div class="head-actions">
                <a class="button small" id="domain-dashboard" href=format!("/orgs/{org_id}/domains/{}/dashboard", d.name)>"TLS dashboard"</a>
                <a class="button small secondary" id="domain-reports" href=format!("/orgs/{org_id}/reports?domain={}", d.name)>"Report list"</a>
            </div>
        </div>
        <StateNote domain=d.clone() />
        {view! { <Setup org=org_id domain=d.clone() snippet=detail.zone_snippet.clone() can_manage action=actions.check /> }.into_any()}
        {hosted.then(|| view! { <PolicyCard org=org_id domain=d.clone() can_manage mx actions /> }.into_any())}
        {hosted.then(|| {
            let saved = Signal::derive(move || actions.save.version().get());
            view! {
                <Readiness org=org_id name=d.name.clone() can_manage saved />
                <MxPlan org=org_id name=d.name.clone() can_manage saved />
            }.into_any()
        })}
        {page.certificate.map(|cert| view! { <Certificate cert /> }.into_any())}
        {hosted.then(|| view! { <History history=detail.history.clone() /> }.into_any())}
        {can_manage.then(|| view! { <Removal org=org_id domain=d.clone() longest=detail.longest_max_age actions /> }.into_any())}
    }
    .into_any()
}

/// What the state means and what to do next.
#[component]
fn StateNote(domain: DomainView) -> impl IntoView {
    let (class, text) = match (domain.state, domain.kind) {
        (DomainState::Pending, DomainKind::Hosted) => (
            "state-note pending",
            "Pending: publish the records below at your DNS provider. Once Moat sees all three pointing at it, the domain becomes active and Moat starts serving its policy. Moat re-checks pending domains every minute.",
        ),
        (DomainState::Pending, DomainKind::ReportingOnly) => (
            "state-note pending",
            "Pending: publish the _smtp._tls record below at your DNS provider. Once Moat sees it pointing at it, the domain becomes active and senders' TLS reports reach Moat.",
        ),
        (DomainState::Active, DomainKind::Hosted) => (
            "state-note active",
            "Active: every record points at Moat. Moat serves the policy and its DNS records, and receives the TLS reports.",
        ),
        (DomainState::Active, DomainKind::ReportingOnly) => (
            "state-note active",
            "Active: the TLS-RPT record points at Moat, which receives the TLS reports.",
        ),
        (DomainState::Degraded, _) => (
            "state-note degraded",
            "Degraded: a record that pointed at Moat no longer does. Moat keeps serving, but senders may stop finding the policy once their caches expire. The record marked below says what to fix.",
        ),
    };
    view! { <p class=class role="status">{text}</p> }
}

#[component]
fn Setup(
    org: i64,
    domain: DomainView,
    snippet: String,
    can_manage: bool,
    action: ServerAction<CheckDomain>,
) -> impl IntoView {
    let error = last_error(action);
    let checked = domain
        .checked_at
        .map_or_else(|| "not checked yet".to_owned(), format_time);
    let required = domain.records.iter().filter(|r| r.required).count();
    let intro = if required == 1 {
        "Publish this CNAME record at your DNS provider. It delegates the TLS-RPT record to Moat, so Moat can keep it correct."
    } else {
        "Publish these three CNAME records at your DNS provider. They delegate the MTA-STS and TLS-RPT records to Moat, so Moat can change the policy without you touching DNS again."
    };
    view! {
        <section class="card" id="setup">
            <h2>"DNS records"</h2>
            <p class="muted">{intro}</p>
            <ul class="records">
                {domain.records.into_iter().map(|r| view! { <RecordRow record=r /> }).collect_view()}
            </ul>
            <h3>"As a zone-file snippet"</h3>
            <div class="snippet">
                <pre id="zone-snippet">{snippet.clone()}</pre>
                <CopyButton text=snippet label="Copy the zone-file snippet" />
            </div>
            <div class="check-row">
                <p class="muted small">"Last checked: " <span class="nowrap" id="checked-at">{checked}</span></p>
                {if can_manage {
                    view! {
                        <ActionForm action attr:class="row-form">
                            <input type="hidden" name="org" value=org />
                            <input type="hidden" name="name" value=domain.name.clone() />
                            <button type="submit" class="secondary" disabled=move || action.pending().get()>
                                {move || if action.pending().get() { "Checking…" } else { "Check now" }}
                            </button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! { <p class="muted small">"Moat re-checks the records regularly."</p> }.into_any()
                }}
            </div>
            <FormAlert error />
        </section>
    }
}

#[component]
fn RecordRow(record: RecordCheck) -> impl IntoView {
    let (status_class, status) = match (&record.status, record.required) {
        (_, false) => ("rec-status muted", "not needed for this domain".to_owned()),
        (None, true) => ("rec-status muted", "not checked yet".to_owned()),
        (Some(s), true) if s.is_ok() => ("rec-status ok", s.describe()),
        (Some(s), true) => ("rec-status bad", s.describe()),
    };
    let target = format!("{}.", record.target);
    view! {
        <li class="record" class:optional=!record.required data-kind=format!("{:?}", record.kind)>
            <div class="rec-head">
                <span class="rec-purpose">{record.kind.purpose()}</span>
                {if record.required {
                    view! { <span class="badge accent">"required"</span> }.into_any()
                } else {
                    view! { <span class="badge">"optional"</span> }.into_any()
                }}
            </div>
            <dl class="rec-fields">
                <dt>"Name"</dt>
                <dd><code class="copyable rec-name">{record.name.clone()}</code> <CopyButton text=record.name.clone() label=format!("Copy the name {}", record.name) /></dd>
                <dt>"Type"</dt>
                <dd><code>"CNAME"</code></dd>
                <dt>"Target"</dt>
                <dd><code class="copyable rec-target">{target.clone()}</code> <CopyButton text=target.clone() label=format!("Copy the target {target}") /></dd>
                <dt>"Status"</dt>
                <dd class=status_class>{status}</dd>
            </dl>
        </li>
    }
}

/// The policy body exactly as served (CRLF shown as line breaks).
fn policy_body(p: &PolicyVersionView) -> String {
    match Policy::new(p.mode, p.mx.clone(), p.max_age) {
        Ok(policy) => policy.render().replace("\r\n", "\n"),
        Err(e) => format!("(invalid policy: {e})"),
    }
}

#[component]
fn PolicyCard(
    org: i64,
    domain: DomainView,
    can_manage: bool,
    mx: Resource<Result<MxReport, AppError>>,
    actions: DomainActions,
) -> impl IntoView {
    let Some(current) = domain.policy.clone() else {
        return view! { <section class="card"><p class="muted">"No policy yet."</p></section> }.into_any();
    };
    let url = format!("https://mta-sts.{}/.well-known/mta-sts.txt", domain.name);
    let served_note = if domain.state.is_serving() {
        view! { <p class="muted small">"Served at " <code class="copyable">{url}</code></p> }.into_any()
    } else {
        view! { <p class="muted small">"Moat serves it at " <code class="copyable">{url}</code> " once the domain is active."</p> }.into_any()
    };
    view! {
        <section class="card" id="policy">
            <h2>"MTA-STS policy"</h2>
            <div class="policy-grid">
                <div>
                    <h3>"Current policy"</h3>
                    <pre class="policy-body" id="policy-body">{policy_body(&current)}</pre>
                    {served_note}
                </div>
                <PolicyIds
                    org
                    name=domain.name.clone()
                    serving=domain.state.is_serving()
                    latest=current.clone()
                    published=domain.published_policy_id.clone()
                />
            </div>
            {if can_manage {
                view! { <PolicyEditor org domain current mx action=actions.save /> }.into_any()
            } else {
                view! {
                    <p class="muted">"Your role lets you view the policy; admins and owners change it."</p>
                    <LiveMx mx />
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// Latest against published id. The id is published in DNS a few seconds after the new body
/// is served; while they differ, the page re-reads the domain every two seconds.
#[component]
fn PolicyIds(
    org: i64,
    name: String,
    serving: bool,
    latest: PolicyVersionView,
    published: Option<String>,
) -> impl IntoView {
    let published = RwSignal::new(published);
    let latest_id = latest.policy_id.clone();
    let behind = {
        let latest_id = latest_id.clone();
        move || serving && published.get().as_deref() != Some(latest_id.as_str())
    };
    // Effects run in the browser only.
    Effect::new({
        let behind = behind.clone();
        move |_| {
            if behind() {
                let name = name.clone();
                set_timeout(
                    move || {
                        leptos::task::spawn_local(async move {
                            if let Ok(p) = get_domain(org, name).await {
                                // The page may have re-rendered meanwhile (try_: no panic then).
                                let _ = published.try_set(p.detail.domain.published_policy_id);
                            }
                        });
                    },
                    std::time::Duration::from_secs(2),
                );
            }
        }
    });
    let shown = move || match published.get() {
        Some(id) => view! { <code id="published-id">{id}</code> }.into_any(),
        None if serving => {
            view! { <span class="muted" id="published-id">"not yet: a few seconds after saving"</span> }
                .into_any()
        }
        None => view! { <span class="muted" id="published-id">"none yet (the domain is pending)"</span> }
            .into_any(),
    };
    view! {
        <div>
            <h3>"Policy id"</h3>
            <dl class="ids">
                <dt>"Latest id"</dt>
                <dd><code id="latest-id">{latest_id}</code> <span class="muted small">"version " {latest.version}</span></dd>
                <dt>"Published id"</dt>
                <dd>{shown}</dd>
            </dl>
            <p class="hint">
                {move || if behind() {
                    "The latest id is published in DNS a few seconds after its policy is served, so a sender that sees the new id always fetches the new policy."
                } else {
                    "Senders fetch the policy again when the id in the _mta-sts record changes."
                }}
            </p>
        </div>
    }
}

/// The live MX hosts; `use_proposed` (editor only) fills the patterns.
#[component]
fn LiveMx(
    mx: Resource<Result<MxReport, AppError>>,
    #[prop(optional)] use_proposed: Option<RwSignal<String>>,
) -> impl IntoView {
    view! {
        <div class="live-mx" id="live-mx">
            <h3>"Live MX hosts"</h3>
            <Transition fallback=|| view! { <p class="muted">"Looking up MX records…"</p> }>
                {move || Suspend::new(async move {
                    match mx.await {
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(r) => view! { <MxDetails report=r use_proposed /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn MxDetails(report: MxReport, use_proposed: Option<RwSignal<String>>) -> impl IntoView {
    let proposed = report
        .proposed
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        {report.lookup_error.clone().map(|e| view! { <p class="alert">{e}</p> })}
        {(!report.live_mx.is_empty()).then(|| view! {
            <ul class="mx-list">
                {report.live_mx.iter().map(|h| view! { <li><code>{h.clone()}</code></li> }).collect_view()}
            </ul>
        })}
        {(!report.proposed.is_empty()).then(|| view! {
            <p class="small">
                "Proposed patterns: "
                {report.proposed.iter().map(|p| view! { <code class="proposed">{p.as_str().to_owned()}</code> " " }).collect_view()}
                {use_proposed.map(|target| {
                    let proposed = proposed.clone();
                    view! {
                        <button type="button" class="small secondary hydrated-only" on:click=move |_| target.set(proposed.clone())>"Use proposed"</button>
                    }
                })}
            </p>
        })}
        {(!report.warnings.is_empty()).then(|| view! {
            <ul class="warnings">
                {report.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
            </ul>
        })}
    }
}

#[component]
fn PolicyEditor(
    org: i64,
    domain: DomainView,
    current: PolicyVersionView,
    mx: Resource<Result<MxReport, AppError>>,
    action: ServerAction<SetPolicy>,
) -> impl IntoView {
    let error = last_error(action);
    let field_error = move |name: &'static str| move || error.get().and_then(|e| e.for_field(name));
    let initial_mx = current
        .mx
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let patterns = RwSignal::new(initial_mx.clone());
    let max_age = RwSignal::new(current.max_age.seconds().to_string());
    let was_enforce = current.mode == Mode::Enforce;
    let saved = move || match action.value().get() {
        Some(Ok(s)) => s.domain.policy.map(|p| (p.version, p.policy_id, s.warnings)),
        _ => None,
    };
    view! {
        <h3>"Change the policy"</h3>
        <ActionForm action attr:class="stack policy-form" attr:novalidate=true>
            <input type="hidden" name="org" value=org />
            <input type="hidden" name="name" value=domain.name.clone() />
            <div class="field">
                <label for="f-mode">"Mode"</label>
                <select name="mode" id="f-mode">
                    {Mode::ALL.iter().map(|m| view! {
                        <option value=m.as_str() selected=*m == current.mode>{mode_label(*m)}</option>
                    }).collect_view()}
                </select>
                <p class="field-error" role="alert">{field_error("mode")}</p>
            </div>
            {(!was_enforce).then(|| view! {
                <div class="confirm-enforce">
                    <p class="reports-note">
                        <strong>"TLS reports: "</strong>
                        "No TLS reports have been received for this domain yet, so Moat cannot tell whether senders reach your MX hosts over valid TLS. Run in testing mode until reports show no failures."
                    </p>
                    <label class="check">
                        <input type="checkbox" name="confirm_enforce" value="on" />
                        <span>
                            <strong>"I understand senders will refuse delivery to MX hosts not covered by the patterns, or without a valid certificate."</strong>
                            <span class="hint">"Enforce mode tells sending servers to refuse to deliver rather than fall back to an unauthenticated connection."</span>
                        </span>
                    </label>
                    <p class="field-error" role="alert">{field_error("confirm_enforce")}</p>
                    <label class="check">
                        <input type="checkbox" name="override_readiness" value="on" />
                        <span>
                            <strong>"Switch even if the readiness checks fail."</strong>
                            <span class="hint">"Only when you know why they fail (see “Ready for enforce?” below); the override is written to the audit log."</span>
                        </span>
                    </label>
                </div>
            })}
            <div class="field" class:invalid=move || field_error("mx")().is_some()>
                <label for="f-mx">"MX patterns, one per line"</label>
                <textarea
                    name="mx"
                    id="f-mx"
                    rows="4"
                    spellcheck="false"
                    autocomplete="off"
                    inner_html=escape_text(&initial_mx)
                    prop:value=move || patterns.get()
                    on:input=move |ev| patterns.set(event_target_value(&ev))
                ></textarea>
                <p class="hint">"A host name (mx1.example.com) or a wildcard for one label (*.example.com)."</p>
                <p class="field-error" role="alert">{field_error("mx")}</p>
            </div>
            <LiveMx mx use_proposed=patterns />
            <div class="field" class:invalid=move || field_error("max_age")().is_some()>
                <label for="f-max-age">"max_age (seconds)"</label>
                <div class="max-age-row">
                    <input
                        type="number"
                        name="max_age"
                        id="f-max-age"
                        min="0"
                        max=MaxAge::MAX_SECONDS.to_string()
                        value=current.max_age.seconds().to_string()
                        prop:value=move || max_age.get()
                        on:input=move |ev| max_age.set(event_target_value(&ev))
                    />
                    <button type="button" class="small secondary hydrated-only" on:click=move |_| max_age.set(MaxAge::ONE_DAY.seconds().to_string())>"1 day"</button>
                    <button type="button" class="small secondary hydrated-only" on:click=move |_| max_age.set(MaxAge::ONE_WEEK.seconds().to_string())>"1 week"</button>
                </div>
                <p class="hint">
                    "How long senders cache the policy: 86400 is 1 day (good while testing), 604800 is 1 week; in enforce mode weeks or more are recommended. Now: "
                    {move || max_age.get().trim().parse::<u64>().map(human_duration).unwrap_or_else(|_| "not a number".into())}
                    "."
                </p>
                <p class="field-error" role="alert">{field_error("max_age")}</p>
            </div>
            <FormAlert error />
            {move || saved().map(|(version, id, warnings)| view! {
                <div class="notice" role="status" id="policy-saved">
                    <p>"Saved version " {version} ". New policy id " <code>{id}</code> "."</p>
                    {(!warnings.is_empty()).then(|| view! {
                        <ul class="warnings">{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                    })}
                </div>
            })}
            <div>
                <button type="submit" disabled=move || action.pending().get()>"Save policy"</button>
            </div>
        </ActionForm>
    }
    .into_any()
}

fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::None => "none — no policy (senders ignore MTA-STS)",
        Mode::Testing => "testing — senders report failures but still deliver",
        Mode::Enforce => "enforce — senders refuse insecure delivery",
    }
}

/// Text for `inner_html`: escapes what HTML would interpret.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The certificate served for the policy host, in plain words.
#[component]
fn Certificate(cert: CertificateView) -> impl IntoView {
    let source = match &cert.acme {
        Some(_) => view! { <p id="cert-source">"From the ACME certificate authority: a publicly trusted certificate."</p> }
            .into_any(),
        None => view! {
            <p id="cert-source">
                "From Moat's local CA (no ACME certificate yet). Senders do not trust it; with ACME configured, Moat orders a publicly trusted one once the domain is active."
            </p>
        }
        .into_any(),
    };
    let details = cert.acme.map(|c| {
        view! {
            <dl class="ids" id="cert-details">
                <dt>"Issuer"</dt>
                <dd><code>{c.issuer}</code></dd>
                <dt>"Serial"</dt>
                <dd><code>{c.serial}</code></dd>
                <dt>"Valid from"</dt>
                <dd class="nowrap">{format_time(c.not_before)}</dd>
                <dt>"Valid until"</dt>
                <dd class="nowrap">{format_time(c.not_after)}</dd>
                <dt>"Next renewal"</dt>
                <dd class="nowrap">{format_time(c.renew_at)}</dd>
            </dl>
        }
    });
    let order = cert.order.map(|j| match j.last_error {
        Some(e) => view! {
            <p class="alert" id="cert-order">
                {format!(
                    "Ordering failed {} time(s): {e}; next attempt at {}.",
                    j.attempts,
                    format_time(j.due_at)
                )}
            </p>
        }
        .into_any(),
        None => view! {
            <p class="notice" id="cert-order">
                {format!("Certificate order scheduled for {}.", format_time(j.due_at))}
            </p>
        }
        .into_any(),
    });
    view! {
        <section class="card" id="certificate">
            <h2>"Certificate"</h2>
            <p class="muted small">"For " <code>{cert.host}</code>", where senders fetch the policy over HTTPS."</p>
            {source}
            {details}
            {order}
        </section>
    }
}

#[component]
fn History(history: Vec<PolicyVersionView>) -> impl IntoView {
    view! {
        <section class="card" id="history">
            <h2>"Policy history"</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead>
                        <tr><th>"Version"</th><th>"Id"</th><th>"Mode"</th><th>"Who"</th><th>"When"</th><th>"Changes"</th></tr>
                    </thead>
                    <tbody>
                        {history.into_iter().map(|v| view! {
                            <tr>
                                <td>{v.version}</td>
                                <td><code>{v.policy_id.clone()}</code></td>
                                <td>{v.mode.as_str()}</td>
                                <td class="who">{v.created_by.clone()}</td>
                                <td class="nowrap">{format_time(v.created_at)}</td>
                                <td class="changes">{v.changes.join("; ")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Removal(org: i64, domain: DomainView, longest: i64, actions: DomainActions) -> impl IntoView {
    let remove_error = last_error(actions.remove);
    let delete_error = last_error(actions.delete);
    let hosted = domain.kind == DomainKind::Hosted;
    let longest = human_duration(u64::try_from(longest).unwrap_or(0));
    let removal = domain.removal_requested_at.map(|at| {
        let until = domain
            .records_deletable_at
            .map_or_else(|| "the longest max_age has passed".to_owned(), format_time);
        view! {
            <p class="notice" id="removal-status">
                "Removal started " {format_time(at)} ": mode none is published. Keep the records until "
                <strong>{until}</strong> ", then delete them at your DNS provider and delete the domain here."
            </p>
        }
    });
    let name = domain.name.clone();
    let remove_name = name.clone();
    view! {
        <section class="card" id="removal">
            <h2>"Remove"</h2>
            {hosted.then(|| view! {
                <p>
                    "To stop using MTA-STS safely, remove it first: Moat publishes a policy with mode none and a new id, so senders that cached your policy replace it. "
                    "Keep the records in place until the longest max_age served (" {longest.clone()} ") has passed, then delete the records and the domain."
                </p>
                {removal}
                {domain.removal_requested_at.is_none().then(|| view! {
                    <ActionForm action=actions.remove attr:class="row-form">
                        <input type="hidden" name="org" value=org />
                        <input type="hidden" name="name" value=remove_name.clone() />
                        <button type="submit" class="danger" disabled=move || actions.remove.pending().get()>"Remove MTA-STS"</button>
                    </ActionForm>
                })}
                <FormAlert error=remove_error />
            })}
            <p class="muted">
                {if hosted {
                    "Deleting the domain stops everything Moat does for it. Moat allows it while the domain is pending, or once the removal above has run its course."
                } else {
                    "Deleting the domain stops Moat from publishing its TLS-RPT record; delete the CNAME at your DNS provider too."
                }}
            </p>
            <ActionForm action=actions.delete attr:class="row-form">
                <input type="hidden" name="org" value=org />
                <input type="hidden" name="name" value=name />
                <button type="submit" class="danger" disabled=move || actions.delete.pending().get()>"Delete domain"</button>
            </ActionForm>
            <FormAlert error=delete_error />
        </section>
    }
    .into_any()
}
