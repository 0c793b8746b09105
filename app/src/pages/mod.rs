//! One module per route.

pub mod audit;
pub mod auth;
pub mod home;
pub mod invite;
pub mod not_found;
pub mod org;
pub mod orgs;
