//! A customer's own authoritative DNS on loopback, whose zone a test re-publishes as a customer
//! would in their DNS console (hosting, MX probes, MX plans).

use hickory_server::{
    proto::rr::{
        LowerName, Name, RData, Record,
        rdata::{A, CNAME, MX, NS, SOA},
    },
    store::in_memory::InMemoryZoneHandler,
    zone_handler::{AxfrPolicy, Catalog, ZoneType},
};
use moat_domain::hosting::RecordKind;
use moat_hosting::{DnsSockets, dns::ZoneServer};
use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};
use tokio_util::sync::CancellationToken;

/// `s` as an absolute DNS name.
pub fn name(s: &str) -> Name {
    Name::from_ascii(format!("{}.", s.trim_end_matches('.'))).unwrap()
}

/// A record with a 60 s TTL.
pub fn rec(owner: &str, data: RData) -> Record {
    Record::from_rdata(name(owner), 60, data)
}

pub fn cname(owner: &str, target: &str) -> Record {
    rec(owner, RData::CNAME(CNAME(name(target))))
}

pub fn a(owner: &str, ip: Ipv4Addr) -> Record {
    rec(owner, RData::A(A(ip)))
}

pub fn mx(owner: &str, preference: u16, host: &str) -> Record {
    rec(owner, RData::MX(MX::new(preference, name(host))))
}

/// The three CNAMEs that delegate `domain` to Moat's `zone`.
pub fn delegation(domain: &str, zone: &str) -> Vec<Record> {
    RecordKind::ALL
        .iter()
        .map(|k| cname(&k.name(domain), &k.target(domain, zone)))
        .collect()
}

/// An authoritative server for one zone; it refuses every query until [`Self::publish`].
pub struct CustomerDns {
    pub addr: SocketAddr,
    origin: String,
    server: ZoneServer,
    token: CancellationToken,
}

impl Drop for CustomerDns {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

impl CustomerDns {
    pub async fn start(origin: &str) -> CustomerDns {
        let sockets = DnsSockets::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = sockets.local_addr().unwrap();
        let server = ZoneServer::new();
        let token = CancellationToken::new();
        tokio::spawn(sockets.serve(server.clone(), token.clone()));
        CustomerDns {
            addr,
            origin: origin.to_owned(),
            server,
            token,
        }
    }

    /// Replaces the zone with exactly `records`, plus its SOA and NS.
    pub fn publish(&self, records: Vec<Record>) {
        let origin = name(&self.origin);
        let ns = format!("ns.{}", self.origin);
        let mut zone = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            name(&ns),
            name(&format!("hostmaster.{}", self.origin)),
            1,
            3600,
            600,
            86400,
            60,
        );
        zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1);
        zone.upsert_mut(rec(&self.origin, RData::NS(NS(name(&ns)))), 1);
        for r in records {
            zone.upsert_mut(r, 1);
        }
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
        self.server.swap(catalog);
    }
}
