//! One module per route.

pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod domain;
pub mod domains;
pub mod home;
pub mod invite;
pub mod not_found;
pub mod org;
pub mod orgs;
pub mod overview;
pub mod reports;

use leptos::prelude::*;

/// The organization id in the route (`/orgs/:id/...`); 0, which matches nothing, when absent.
fn org_id_param() -> Memo<i64> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|s| s.parse().ok()).unwrap_or(0))
}
