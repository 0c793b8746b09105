//! Moat's web UI: the HTML shell, routes, pages and the server functions behind them.
//! Pages are rendered on the server and hydrated in the browser.
#![recursion_limit = "256"]

pub mod api;
mod components;
pub mod error;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: header and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="moat" href="/pkg/moat.css" />
        <Title formatter=|t: String| if t.is_empty() { "Moat".to_string() } else { format!("{t} · Moat") } />
        <Router>
            <components::header::Header />
            <main class="page">
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::home::Home ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=pages::auth::SignUp ssr=SsrMode::Async />
                    <Route path=path!("/login") view=pages::auth::SignIn ssr=SsrMode::Async />
                    <Route path=path!("/forgot") view=pages::auth::Forgot ssr=SsrMode::Async />
                    <Route path=path!("/reset") view=pages::auth::Reset ssr=SsrMode::Async />
                    <Route path=path!("/invite") view=pages::invite::AcceptInvite ssr=SsrMode::Async />
                    <Route path=path!("/orgs") view=pages::orgs::OrgList ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id") view=pages::org::OrgPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/audit") view=pages::audit::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/domains") view=pages::domains::DomainsPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/domains/:name") view=pages::domain::DomainPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/domains/:name/dashboard") view=pages::dashboard::DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/overview") view=pages::overview::OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/reports") view=pages::reports::ReportsPage ssr=SsrMode::Async />
                    <Route path=path!("/orgs/:id/reports/:rid") view=pages::reports::ReportPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
