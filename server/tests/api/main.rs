//! Integration tests against a real `moat` application on loopback, on SQLite and on
//! PostgreSQL (when `MOAT_TEST_POSTGRES_URL` is set; required in CI).

mod cli;
mod customer_dns;
mod dashboard;
mod helpers;
mod hosting;
mod http;
mod intake;
mod plans;
mod probes;
mod problems;
mod tenancy;
