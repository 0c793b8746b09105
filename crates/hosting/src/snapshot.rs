//! The in-memory view of what Moat serves, rebuilt from the database whenever the hosting
//! generation changes (or a saved policy's id becomes due for publication). Every instance
//! polls the same counter, so several instances on one PostgreSQL converge within one poll
//! interval.

use bytes::Bytes;
use moat_domain::{
    hosting::{DomainKind, DomainState, RecordKind},
    mta_sts::{PolicyId, sts_txt},
};
use moat_services::HostingSettings;
use moat_store::{Db, domains as store};

/// One domain as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// A-label name.
    pub name: String,
    /// The `_smtp._tls` TXT value (every domain, pending ones included).
    pub tlsrpt_txt: String,
    /// The `_mta-sts` TXT value, when a hosted domain is serving and an id is published.
    pub sts_txt: Option<String>,
    /// The policy body served at `https://mta-sts.<name>/.well-known/mta-sts.txt`, when a
    /// hosted domain is serving (the newest version: it is served before its id is
    /// published).
    pub policy_body: Option<Bytes>,
}

impl Served {
    /// The policy host name, `mta-sts.<name>`.
    pub fn policy_host(&self) -> String {
        RecordKind::PolicyHost.name(&self.name)
    }
}

/// Everything the listeners serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The database generation this was built from.
    pub generation: i64,
    /// When the next saved policy id becomes due (unix seconds).
    pub next_publish_at: Option<i64>,
    /// Served domains.
    pub domains: Vec<Served>,
}

impl Snapshot {
    /// The host names served over TLS: the policy host of every domain with a body, sorted,
    /// then the reports host (HTTPS report POSTs and SMTP STARTTLS).
    pub fn tls_hosts(&self, settings: &HostingSettings) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .domains
            .iter()
            .filter(|d| d.policy_body.is_some())
            .map(Served::policy_host)
            .collect();
        hosts.sort();
        hosts.push(settings.reports_mail_domain.clone());
        hosts
    }
}

/// Reads the database into a snapshot as of `now`.
pub async fn load(db: &Db, settings: &HostingSettings, now: i64) -> moat_store::Result<Snapshot> {
    let generation = store::generation(db).await?;
    let (rows, next_publish_at) = store::serving(db, now).await?;
    let domains = rows
        .into_iter()
        .map(|r| {
            let hosted = DomainKind::parse(&r.kind) == Some(DomainKind::Hosted);
            let serving = DomainState::parse(&r.state).is_some_and(DomainState::is_serving);
            let live = hosted && serving;
            let rua = settings.rua_for(&r.name);
            Served {
                tlsrpt_txt: moat_domain::mta_sts::tlsrpt_txt(&rua),
                sts_txt: r
                    .published
                    .as_ref()
                    .filter(|_| live)
                    .and_then(|p| PolicyId::parse(&p.policy_id).ok())
                    .map(|id| sts_txt(&id)),
                policy_body: r
                    .latest
                    .as_ref()
                    .filter(|_| live)
                    .and_then(store::PolicyRow::policy)
                    .map(|p| Bytes::from(p.render())),
                name: r.name,
            }
        })
        .collect();
    Ok(Snapshot {
        generation,
        next_publish_at,
        domains,
    })
}
