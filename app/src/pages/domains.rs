//! `/orgs/:id/domains`: the organization's domains, and a form to add one.

use crate::{
    api::domains::{AddDomain, OrgDomains, list_domains},
    components::{
        domain::StateBadge,
        form::{Field, FormAlert, last_error},
        format_time,
    },
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use moat_domain::Action;

/// The domains page.
#[component]
pub fn DomainsPage() -> impl IntoView {
    let org = super::org_id_param();
    let add = ServerAction::<AddDomain>::new();
    let list = Resource::new(
        move || (org.get(), add.version().get()),
        |(id, _)| list_domains(id),
    );
    view! {
        <Title text="Domains" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(AppError::Unauthorized { .. }) => {
                        let next = format!("/login?next=/orgs/{}/domains", org.get_untracked());
                        view! { <Redirect path=next /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                    Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                    Ok(page) => view! { <DomainList page add /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DomainList(page: OrgDomains, add: ServerAction<AddDomain>) -> impl IntoView {
    let org = page.org;
    let id = org.id.0;
    let can_manage = org.role.can(Action::ManageDomains);
    view! {
        <div class="page-head">
            <div>
                <p class="crumbs">
                    <A href="/orgs">"Organizations"</A> " / " <a href=format!("/orgs/{id}")>{org.name.clone()}</a>
                </p>
                <h1>"Domains"</h1>
            </div>
        </div>
        <section class="card" id="domains">
            <h2>"Your domains"</h2>
            {if page.domains.is_empty() {
                view! {
                    <div class="empty">
                        <p><strong>"No domains yet."</strong></p>
                        <p class="muted">"Add a domain, publish the three CNAME records Moat shows you, and Moat hosts its MTA-STS policy and receives its TLS reports."</p>
                    </div>
                }.into_any()
            } else {
                view! { <DomainTable org=id domains=page.domains /> }.into_any()
            }}
        </section>
        {can_manage.then(|| view! { <AddForm org=id add /> })}
    }
    .into_any()
}

#[component]
fn DomainTable(org: i64, domains: Vec<moat_domain::views::DomainView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th>"Domain"</th><th>"State"</th><th>"Kind"</th><th>"Mode"</th>
                        <th class="col-wide">"Policy id"</th><th class="col-wide">"Last checked"</th>
                    </tr>
                </thead>
                <tbody>
                    {domains.into_iter().map(|d| {
                        let href = format!("/orgs/{org}/domains/{}", d.name);
                        let (mode, policy_id) = d.policy.as_ref().map_or(("—", "—".to_owned()), |p| (p.mode.as_str(), p.policy_id.clone()));
                        view! {
                            <tr>
                                <td class="domain-cell"><a href=href>{d.display_name.clone()}</a></td>
                                <td><StateBadge state=d.state /></td>
                                <td class="nowrap">{d.kind_label()}</td>
                                <td>{mode}</td>
                                <td class="col-wide"><code>{policy_id}</code></td>
                                <td class="nowrap col-wide">{d.checked_at.map_or_else(|| "never".to_owned(), format_time)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AddForm(org: i64, add: ServerAction<AddDomain>) -> impl IntoView {
    let error = last_error(add);
    view! {
        <section class="card" id="add-domain">
            <h2>"Add a domain"</h2>
            <ActionForm action=add attr:class="stack add-domain" attr:novalidate=true>
                <input type="hidden" name="org" value=org />
                <Field name="domain" label="Domain" hint="The domain in your e-mail addresses, such as example.com." error />
                <label class="check">
                    <input type="checkbox" name="reporting_only" value="on" />
                    <span>
                        <strong>"TLS reporting only"</strong>
                        <span class="hint">"You host MTA-STS elsewhere; Moat only publishes the TLS-RPT record and receives the reports. One CNAME instead of three."</span>
                    </span>
                </label>
                <FormAlert error />
                <div>
                    <button type="submit" disabled=move || add.pending().get()>"Add domain"</button>
                </div>
            </ActionForm>
        </section>
    }
}
