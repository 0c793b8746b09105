//! Reusable pieces of the UI.

pub mod chart;
pub mod domain;
pub mod form;
pub mod header;
pub mod notifications;
pub mod plan;
pub mod problems;
pub mod readiness;

/// Formats unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub use moat_domain::calendar::format_utc as format_time;
