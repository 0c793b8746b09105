//! The authoritative DNS server for Moat's zone (hickory-server, UDP and TCP).
//!
//! Each snapshot becomes a fresh in-memory zone, swapped in atomically; queries in flight
//! finish on the zone they started with. The catalog holds only Moat's zone, so any other
//! name is REFUSED: Moat never recurses.

use crate::snapshot::Snapshot;
use arc_swap::ArcSwap;
use hickory_server::{
    net::runtime::Time,
    proto::rr::{
        LowerName, Name, RData, Record,
        rdata::{A, AAAA, MX, NS, SOA, TXT},
    },
    server::{Request, RequestHandler, ResponseHandler, ResponseInfo},
    store::in_memory::InMemoryZoneHandler,
    zone_handler::{AxfrPolicy, Catalog, ZoneType},
};
use moat_domain::hosting::RecordKind;
use std::{net::IpAddr, sync::Arc};

/// Static facts about the zone.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// The zone, lowercase, no trailing dot.
    pub zone: String,
    /// Name servers announced at the apex (`ns1.<zone>` by default).
    pub ns_names: Vec<String>,
    /// Addresses for name servers inside the zone (glue), e.g. the DNS listener's IP.
    pub ns_ips: Vec<IpAddr>,
    /// Addresses of the policy HTTPS servers (A/AAAA of every `mta-sts.D.<zone>`).
    pub policy_ips: Vec<IpAddr>,
    /// The reports host (`reports.<zone>`) when it is inside the zone: it gets the policy
    /// IPs (for HTTPS report POSTs) and an MX pointing at itself (for report mail).
    pub reports_host: Option<String>,
}

/// TTL of the `_mta-sts` and `_smtp._tls` TXT records: short, so a new policy id reaches
/// senders quickly.
pub const TXT_TTL: u32 = 60;
/// TTL of address records.
pub const ADDRESS_TTL: u32 = 300;
/// TTL of SOA/NS, and the negative-caching TTL (SOA minimum).
pub const ZONE_TTL: u32 = 3600;
const NEGATIVE_TTL: u32 = 60;

fn fqdn(name: &str) -> anyhow::Result<Name> {
    Ok(Name::from_ascii(format!("{}.", name.trim_end_matches('.')))?)
}

/// A TXT record's strings: at most 255 bytes each (RFC 1035 §3.3.14); receivers join them.
fn txt(value: &str) -> RData {
    let chunks = value
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    RData::TXT(TXT::new(chunks))
}

fn address(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    }
}

/// Builds the zone for a snapshot. `serial` must grow with every rebuild.
pub fn build_catalog(cfg: &ZoneConfig, snap: &Snapshot, serial: u32) -> anyhow::Result<Catalog> {
    let origin = fqdn(&cfg.zone)?;
    let mut zh = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let mname = fqdn(cfg.ns_names.first().map_or("ns1", String::as_str))?;
    let rname = fqdn(&format!("hostmaster.{}", cfg.zone))?;
    let soa = SOA::new(mname, rname, serial, 3600, 600, 86_400, NEGATIVE_TTL);
    zh.upsert_mut(
        Record::from_rdata(origin.clone(), ZONE_TTL, RData::SOA(soa)),
        serial,
    );
    for ns in &cfg.ns_names {
        let ns_name = fqdn(ns)?;
        zh.upsert_mut(
            Record::from_rdata(origin.clone(), ZONE_TTL, RData::NS(NS(ns_name.clone()))),
            serial,
        );
        if origin.zone_of(&ns_name) {
            for ip in &cfg.ns_ips {
                zh.upsert_mut(
                    Record::from_rdata(ns_name.clone(), ZONE_TTL, address(*ip)),
                    serial,
                );
            }
        }
    }
    if let Some(host) = cfg.reports_host.as_deref().map(fqdn).transpose()?
        && origin.zone_of(&host)
    {
        for ip in &cfg.policy_ips {
            zh.upsert_mut(
                Record::from_rdata(host.clone(), ADDRESS_TTL, address(*ip)),
                serial,
            );
        }
        zh.upsert_mut(
            Record::from_rdata(host.clone(), ADDRESS_TTL, RData::MX(MX::new(10, host.clone()))),
            serial,
        );
    }
    for d in &snap.domains {
        let under = |kind: RecordKind| fqdn(&kind.target(&d.name, &cfg.zone));
        zh.upsert_mut(
            Record::from_rdata(under(RecordKind::TlsRpt)?, TXT_TTL, txt(&d.tlsrpt_txt)),
            serial,
        );
        if d.policy_body.is_some() {
            let host = under(RecordKind::PolicyHost)?;
            for ip in &cfg.policy_ips {
                zh.upsert_mut(
                    Record::from_rdata(host.clone(), ADDRESS_TTL, address(*ip)),
                    serial,
                );
            }
        }
        if let Some(sts) = &d.sts_txt {
            zh.upsert_mut(
                Record::from_rdata(under(RecordKind::StsTxt)?, TXT_TTL, txt(sts)),
                serial,
            );
        }
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zh)]);
    Ok(catalog)
}

/// The request handler: the current catalog, replaced as a whole on every change.
#[derive(Clone)]
pub struct ZoneServer {
    catalog: Arc<ArcSwap<Catalog>>,
}

impl ZoneServer {
    /// Starts with an empty catalog (everything REFUSED) until the first snapshot.
    pub fn new() -> Self {
        Self {
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::new())),
        }
    }

    /// Serves `catalog` from now on.
    pub fn swap(&self, catalog: Catalog) {
        self.catalog.store(Arc::new(catalog));
    }
}

impl Default for ZoneServer {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl RequestHandler for ZoneServer {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let catalog = self.catalog.load_full();
        catalog.handle_request::<R, T>(request, response_handle).await
    }
}
