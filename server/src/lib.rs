//! The `moat` process: configuration, start-up, the HTTP side and the operator CLI.
#![recursion_limit = "256"]

pub mod certs_cli;
pub mod cli;
pub mod config;
pub mod dashboard_cli;
pub mod http;
pub mod metrics;
pub mod plan_cli;
pub mod probe_cli;
pub mod reports_cli;
pub mod startup;
pub mod telemetry;
