//! DNS lookups Moat makes on behalf of users: are the delegating CNAMEs in place, and which
//! MX hosts does a domain have. Uncached, so "check now" sees the current state of the
//! configured resolvers (`MOAT_RESOLVERS`, default the system's).

use hickory_resolver::{
    Resolver, TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
    proto::rr::{RData, RecordType},
};
use std::{net::SocketAddr, time::Duration};

/// What a lookup found at a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Records of the requested type.
    Found(Vec<T>),
    /// The name exists but has no record of that type, or does not exist at all.
    Nothing,
    /// The lookup failed (timeout, SERVFAIL, refused).
    Failed(String),
}

/// A resolver for user-facing checks.
#[derive(Clone)]
pub struct Dns {
    resolver: Option<TokioResolver>,
    setup_error: Option<String>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("setup_error", &self.setup_error)
            .finish()
    }
}

impl Dns {
    /// Uses `servers` (ip:port each), or the system's resolvers when empty.
    pub fn new(servers: &[SocketAddr]) -> Dns {
        let builder = if servers.is_empty() {
            match Resolver::builder_tokio() {
                Ok(b) => b,
                Err(e) => {
                    return Dns {
                        resolver: None,
                        setup_error: Some(format!("no system resolver configuration: {e}")),
                    };
                }
            }
        } else {
            let ns = servers
                .iter()
                .map(|addr| {
                    let mut c = NameServerConfig::udp_and_tcp(addr.ip());
                    for conn in &mut c.connections {
                        conn.port = addr.port();
                    }
                    c
                })
                .collect();
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], ns),
                TokioRuntimeProvider::default(),
            )
        };
        let mut builder = builder;
        let opts = builder.options_mut();
        opts.cache_size = 0;
        opts.timeout = Duration::from_secs(3);
        opts.attempts = 2;
        opts.ndots = 0;
        match builder.build() {
            Ok(r) => Dns {
                resolver: Some(r),
                setup_error: None,
            },
            Err(e) => Dns {
                resolver: None,
                setup_error: Some(e.to_string()),
            },
        }
    }

    async fn lookup(&self, name: &str, rtype: RecordType) -> Answer<RData> {
        let Some(r) = &self.resolver else {
            return Answer::Failed(self.setup_error.clone().unwrap_or_default());
        };
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match r.lookup(fqdn.as_str(), rtype).await {
            Ok(l) => Answer::Found(l.answers().iter().map(|rec| rec.data.clone()).collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Answer::Nothing,
            Err(e) => Answer::Failed(e.to_string()),
        }
    }

    /// The CNAME target at `name` (lowercase, no trailing dot).
    pub async fn cname(&self, name: &str) -> Answer<String> {
        match self.lookup(name, RecordType::CNAME).await {
            Answer::Found(rs) => {
                let targets: Vec<String> = rs
                    .into_iter()
                    .filter_map(|d| match d {
                        RData::CNAME(c) => Some(normalize(&c.0.to_ascii())),
                        _ => None,
                    })
                    .collect();
                if targets.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(targets)
                }
            }
            other => other.map_empty(),
        }
    }

    /// The TXT strings at `name` (each record's strings joined), following CNAMEs.
    pub async fn txt(&self, name: &str) -> Answer<String> {
        match self.lookup(name, RecordType::TXT).await {
            Answer::Found(rs) => {
                let txts: Vec<String> = rs
                    .into_iter()
                    .filter_map(|d| match d {
                        RData::TXT(t) => Some(
                            t.txt_data
                                .iter()
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect();
                if txts.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(txts)
                }
            }
            other => other.map_empty(),
        }
    }

    /// The address records at `name`, as text.
    pub async fn addresses(&self, name: &str) -> Answer<String> {
        let mut out = Vec::new();
        for t in [RecordType::A, RecordType::AAAA] {
            match self.lookup(name, t).await {
                Answer::Found(rs) => out.extend(rs.into_iter().filter_map(|d| match d {
                    RData::A(a) => Some(a.0.to_string()),
                    RData::AAAA(a) => Some(a.0.to_string()),
                    _ => None,
                })),
                Answer::Nothing => {}
                Answer::Failed(e) => return Answer::Failed(e),
            }
        }
        if out.is_empty() {
            Answer::Nothing
        } else {
            Answer::Found(out)
        }
    }

    /// The MX hosts of `domain`, by preference (lowercase, no trailing dot). The null MX
    /// (`.`) yields an empty host name.
    pub async fn mx(&self, domain: &str) -> Answer<String> {
        match self.lookup(domain, RecordType::MX).await {
            Answer::Found(rs) => {
                let mut mx: Vec<(u16, String)> = rs
                    .into_iter()
                    .filter_map(|d| match d {
                        RData::MX(m) => Some((m.preference, normalize(&m.exchange.to_ascii()))),
                        _ => None,
                    })
                    .collect();
                mx.sort();
                mx.dedup_by(|a, b| a.1 == b.1);
                if mx.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(mx.into_iter().map(|(_, h)| h).collect())
                }
            }
            other => other.map_empty(),
        }
    }
}

impl Answer<RData> {
    fn map_empty<T>(self) -> Answer<T> {
        match self {
            Answer::Found(_) | Answer::Nothing => Answer::Nothing,
            Answer::Failed(e) => Answer::Failed(e),
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
