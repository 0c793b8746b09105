//! Moat's pure domain rules: validated names, tenancy roles and permissions, the MTA-STS
//! policy model, and the view types the UI renders. No IO; this crate builds for wasm.
#![warn(missing_docs)]

pub mod calendar;
pub mod hosting;
pub mod mta_sts;
pub mod names;
pub mod tenancy;
pub mod views;

pub use names::{EmailAddress, NameError, OrgName, Password};
pub use tenancy::{Action, Role};
