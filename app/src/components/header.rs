//! The top bar: brand, organization switcher, account menu.

use crate::api::session::{SignOut, current_session};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

/// The org id in the current path (`/orgs/12/...`).
fn current_org(path: &str) -> Option<i64> {
    path.strip_prefix("/orgs/")?.split('/').next()?.parse().ok()
}

/// The top bar.
#[component]
pub fn Header() -> impl IntoView {
    let session = Resource::new(|| (), |_| current_session());
    let sign_out = ServerAction::<SignOut>::new();
    let location = use_location();
    let here = Memo::new(move |_| current_org(&location.pathname.get()));

    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◈"</span>
                <span>"Moat"</span>
            </A>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await.ok().flatten() {
                        None => view! {
                            <nav class="topnav">
                                <A href="/login">"Sign in"</A>
                                <A href="/signup" attr:class="button small">"Create account"</A>
                            </nav>
                        }.into_any(),
                        Some((user, orgs)) => {
                            let names: Vec<(i64, String)> = orgs.iter().map(|o| (o.id.0, o.name.clone())).collect();
                            let current = move || here.get().and_then(|id| names.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()));
                            let links = orgs.iter().map(|o| {
                                let href = format!("/orgs/{}", o.id);
                                let label = match &o.parent { Some(p) => format!("{} · client of {}", o.name, p.name), None => o.name.clone() };
                                view! { <li><a href=href>{label}</a></li> }
                            }).collect_view();
                            view! {
                                <details class="switcher">
                                    <summary aria-label="Switch organization">
                                        {move || current().unwrap_or_else(|| "Organizations".into())}
                                    </summary>
                                    <ul class="menu">
                                        {links}
                                        <li class="menu-sep"><a href="/orgs">"All organizations"</a></li>
                                    </ul>
                                </details>
                                <nav class="topnav">
                                    <span class="whoami" title="Signed in">{user.email}</span>
                                    <ActionForm action=sign_out>
                                        <button type="submit" class="link">"Sign out"</button>
                                    </ActionForm>
                                </nav>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </header>
    }
}
