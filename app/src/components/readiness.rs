//! "Ready for enforce?": the checklist a domain must pass before enforce, the latest probe of
//! every MX address (what a sending MTA sees), and the policy lint.

use crate::{
    api::readiness::{ProbeNow, get_readiness},
    components::{
        form::{FormAlert, last_error},
        format_time,
    },
    error::AppError,
};
use leptos::prelude::*;
use moat_domain::views::{MxProbeView, ReadinessView};

/// The readiness card of a hosted domain; `saved` changes after each policy save, which
/// re-reads it. Members who may manage domains can probe the MX hosts now.
#[component]
pub fn Readiness(org: i64, name: String, can_manage: bool, saved: Signal<usize>) -> impl IntoView {
    let probe = ServerAction::<ProbeNow>::new();
    let error = last_error(probe);
    let name_key = name.clone();
    let data = Resource::new(
        move || (org, name_key.clone(), probe.version().get(), saved.get()),
        |(org, name, ..)| get_readiness(org, name),
    );
    view! {
        <section class="card" id="readiness">
            <h2>"Ready for enforce?"</h2>
            <p class="muted small">
                "Before senders are told to refuse unauthenticated delivery, every MX host must pass STARTTLS with a valid certificate, the policy must cover every MX, and recent TLS reports must show no failures that would then bounce."
            </p>
            {can_manage.then(|| view! {
                <ActionForm action=probe attr:class="inline-form">
                    <input type="hidden" name="org" value=org />
                    <input type="hidden" name="name" value=name.clone() />
                    <button type="submit" class="small" id="probe-now" disabled=move || probe.pending().get()>
                        {move || if probe.pending().get() { "Probing…" } else { "Probe MX hosts now" }}
                    </button>
                </ActionForm>
                <FormAlert error />
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(AppError::Unauthorized { .. }) | Err(AppError::NotFound) => ().into_any(),
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(view) => view! { <ReadinessBody view /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ReadinessBody(view: ReadinessView) -> impl IntoView {
    let ready = view.readiness.ready;
    let summary = if ready {
        "Ready: every check passes.".to_owned()
    } else {
        let failing = view.readiness.checks.iter().filter(|c| !c.passed).count();
        format!(
            "Not ready: {failing} check(s) fail. Switching to enforce now needs an explicit override, written to the audit log."
        )
    };
    let window = view.window_days;
    view! {
        <p id="readiness-summary" class=if ready { "good-note" } else { "alert" }>{summary}</p>
        <ul class="checklist" id="readiness-checks">
            {view.readiness.checks.into_iter().map(|c| view! {
                <li class=if c.passed { "check-pass" } else { "check-fail" } data-code=c.code.as_str()>
                    <strong>{if c.passed { "✓ " } else { "✗ " }}{c.title}</strong>
                    <span class="small">" — "{c.detail}</span>
                    {c.fix.map(|f| view! { <p class="hint">"Fix: "{f}</p> })}
                </li>
            }).collect_view()}
        </ul>
        <p class="muted small">{format!("The reports check looks at the last {window} days.")}</p>
        <h3>"MX probes"</h3>
        {if view.probes.is_empty() {
            view! { <p class="muted" id="no-probes">"Not probed yet. Moat probes every MX address daily; press “Probe MX hosts now” to do it at once."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table id="probes">
                        <thead><tr><th>"MX"</th><th>"Address"</th><th>"Verdict"</th><th>"TLS"</th><th>"Certificate"</th><th>"Probed"</th></tr></thead>
                        <tbody>{view.probes.into_iter().map(probe_row).collect_view()}</tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <h3>"Policy lint"</h3>
        {if view.lint.is_empty() {
            view! { <p class="good-note" id="lint-clean">"The policy matches the live MX hosts and their certificates."</p> }.into_any()
        } else {
            view! {
                <ul class="lint" id="lint">
                    {view.lint.into_iter().map(|f| view! {
                        <li class=format!("lint-{}", f.severity) data-code=f.code.to_string()>
                            <strong>{f.severity.to_string()}": "</strong>{f.message}
                            <p class="hint">"Fix: "{f.fix}</p>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

fn probe_row(p: MxProbeView) -> impl IntoView {
    let ok = p.verdict == "ok";
    let tls = match (&p.tls_version, &p.cipher) {
        (Some(v), Some(c)) => format!("{v} {c}"),
        (Some(v), None) => v.clone(),
        _ if p.starttls_offered => "offered".into(),
        _ => "none".into(),
    };
    let cert = match p.not_after {
        Some(t) => format!("{} (until {})", p.cert_names.join(", "), format_time(t)),
        None => p.cert_names.join(", "),
    };
    view! {
        <tr class=if ok { "probe-ok" } else { "probe-fail" }>
            <td>{p.mx_host}</td>
            <td><code>{format!("{}:{}", p.addr, p.port)}</code></td>
            <td><strong class="verdict">{p.verdict}</strong><br /><span class="small muted">{p.detail}</span></td>
            <td class="small">{tls}</td>
            <td class="small">{cert}</td>
            <td class="small">{format_time(p.probed_at)}</td>
        </tr>
    }
}
