//! `/orgs`: the organizations the user can open, and a form to create one.

use crate::{
    api::orgs::{CreateOrg, list_orgs},
    components::form::{Field, FormAlert, last_error},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// The organization list.
#[component]
pub fn OrgList() -> impl IntoView {
    let create = ServerAction::<CreateOrg>::new();
    let error = last_error(create);
    let orgs = Resource::new(move || create.version().get(), |_| list_orgs());

    view! {
        <Title text="Organizations" />
        <div class="page-head">
            <h1>"Organizations"</h1>
        </div>
        <div class="grid-2">
            <section class="card">
                <h2>"Your organizations"</h2>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match orgs.await {
                            Err(AppError::Unauthorized { .. }) => view! { <Redirect path="/login?next=/orgs" /> }.into_any(),
                            Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <div class="empty">
                                    <p><strong>"No organizations yet."</strong></p>
                                    <p class="muted">"Create one for your company. If you manage mail for clients, make it an MSP organization and add client organizations inside it."</p>
                                </div>
                            }.into_any(),
                            Ok(list) => view! {
                                <ul class="org-list">
                                    {list.into_iter().map(|o| {
                                        let href = format!("/orgs/{}", o.id);
                                        view! {
                                            <li>
                                                <a href=href class="org-link">
                                                    <span class="org-name">{o.name.clone()}</span>
                                                    {o.is_msp.then(|| view! { <span class="badge accent">"MSP"</span> })}
                                                    {o.parent.clone().map(|p| view! { <span class="badge">"client of " {p.name}</span> })}
                                                    <span class="badge role">{o.role.as_str()}</span>
                                                </a>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="card">
                <h2>"Create an organization"</h2>
                <ActionForm action=create attr:class="stack" attr:novalidate=true>
                    <Field name="name" label="Name" autocomplete="organization" error />
                    <label class="check">
                        <input type="checkbox" name="msp" value="on" />
                        <span>
                            <strong>"This is an MSP"</strong>
                            <span class="hint">"An MSP manages client organizations; its members can open every client."</span>
                        </span>
                    </label>
                    <FormAlert error />
                    <button type="submit" disabled=move || create.pending().get()>"Create organization"</button>
                </ActionForm>
            </section>
        </div>
    }
}
