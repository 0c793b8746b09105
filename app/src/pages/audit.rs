//! `/orgs/:id/audit`: the audit log (owners).

use crate::{api::orgs::audit_log, components::format_time, error::AppError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};

/// The audit log page.
#[component]
pub fn AuditPage() -> impl IntoView {
    let org = super::org_id_param();
    let entries = Resource::new(move || org.get(), audit_log);
    view! {
        <Title text="Audit log" />
        <div class="page-head">
            <h1>"Audit log"</h1>
            <A href=move || format!("/orgs/{}", org.get())>"← Back to the organization"</A>
        </div>
        <section class="card">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(AppError::Unauthorized { .. }) => view! { <Redirect path="/login" /> }.into_any(),
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="table">
                                    <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Details"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|e| view! {
                                            <tr>
                                                <td class="nowrap">{format_time(e.at)}</td>
                                                <td>{e.actor}</td>
                                                <td><code>{e.action}</code></td>
                                                <td>{e.detail}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
