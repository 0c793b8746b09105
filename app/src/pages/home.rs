//! The landing page; signed-in users go straight to their organizations.

use crate::api::session::current_user;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};

/// `/`
#[component]
pub fn Home() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(_)) => view! { <Redirect path="/orgs" /> }.into_any(),
                    _ => view! { <Landing /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Landing() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"Encrypted mail delivery you can enforce — and see."</h1>
            <p class="lead">
                "Moat hosts MTA-STS for your domains and collects their SMTP TLS reports. "
                "Publish three CNAME records once; Moat serves the policy, the certificates and "
                "the DNS records, and tells you who fails to reach you securely, and why."
            </p>
            <div class="actions">
                <A href="/signup" attr:class="button">"Create an account"</A>
                <A href="/login" attr:class="button secondary">"Sign in"</A>
            </div>
        </section>
        <section class="features">
            <article class="card">
                <h2>"Hosted MTA-STS"</h2>
                <p>"Policy file, certificates and TXT records served by Moat. Switch between testing and enforce in one click."</p>
            </article>
            <article class="card">
                <h2>"TLS reports, readable"</h2>
                <p>"Reports from Google, Microsoft and every other sender, parsed, charted and explained."</p>
            </article>
            <article class="card">
                <h2>"Built for MSPs"</h2>
                <p>"Manage client organizations from one account; clients see only their own domains."</p>
            </article>
        </section>
    }
}
