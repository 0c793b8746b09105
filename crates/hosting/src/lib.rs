//! Moat's hosting listeners: the authoritative DNS server for Moat's zone and the MTA-STS
//! policy HTTPS server, both answering from one in-memory [`snapshot::Snapshot`] that
//! [`Hosting::refresh`] rebuilds from the database when it changes.
#![warn(missing_docs)]

pub mod acme;
pub mod certs;
pub mod dns;
pub mod policy;
pub mod secret;
pub mod snapshot;

use arc_swap::ArcSwap;
use bytes::Bytes;
use certs::{CertSource, CertStore, LocalCa, ServedCert};
use dns::{ZoneConfig, ZoneServer};
use moat_services::HostingSettings;
use moat_store::Db;
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

/// How often each instance polls the hosting generation.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
struct Seen {
    generation: Option<i64>,
    next_publish_at: Option<i64>,
    serial: u32,
}

/// The shared state of the DNS and policy servers.
pub struct Hosting {
    /// The DNS request handler.
    pub zone: ZoneServer,
    /// Policy bodies by host.
    pub policies: policy::PolicyMap,
    /// Certificates by host.
    pub certs: Arc<CertStore>,
    ca: LocalCa,
    zone_cfg: ZoneConfig,
    settings: HostingSettings,
    seen: Mutex<Seen>,
    /// Opens the sealed keys of ACME certificates; without it only local certificates are
    /// served.
    key: Option<Arc<secret::MasterKey>>,
    /// ACME certificates already decoded, by host, with the serial they were decoded from.
    acme_cache: Mutex<HashMap<String, ServedCert>>,
}

impl std::fmt::Debug for Hosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosting")
            .field("zone", &self.zone_cfg.zone)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Hosting {
    /// Loads the local CA (writing its root to `ca_root`) and builds the first snapshot. With
    /// `key`, certificates obtained over ACME are served in place of local ones.
    pub async fn start(
        db: &Db,
        zone_cfg: ZoneConfig,
        settings: HostingSettings,
        ca_root: &Path,
        key: Option<Arc<secret::MasterKey>>,
    ) -> anyhow::Result<Arc<Hosting>> {
        let ca = LocalCa::load_or_create(db, ca_root).await?;
        let hosting = Arc::new(Hosting {
            zone: ZoneServer::new(),
            policies: Arc::new(ArcSwap::from_pointee(HashMap::new())),
            certs: Arc::new(CertStore::default()),
            ca,
            zone_cfg,
            settings,
            seen: Mutex::new(Seen::default()),
            key,
            acme_cache: Mutex::new(HashMap::new()),
        });
        hosting.refresh(db).await?;
        Ok(hosting)
    }

    /// Rebuilds the served view when the database generation changed or a saved policy id
    /// became due. Returns whether it rebuilt.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<bool> {
        let now = unix_now();
        let generation = moat_store::domains::generation(db).await?;
        {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let due = seen.next_publish_at.is_some_and(|t| t <= now);
            if seen.generation == Some(generation) && !due {
                return Ok(false);
            }
        }
        let snap = snapshot::load(db, &self.settings, now).await?;
        let serial = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let t = u32::try_from(now).unwrap_or(u32::MAX);
            seen.serial = t.max(seen.serial.wrapping_add(1));
            seen.generation = Some(snap.generation);
            seen.next_publish_at = snap.next_publish_at;
            seen.serial
        };
        let mut bodies = HashMap::new();
        for d in &snap.domains {
            if let Some(b) = &d.policy_body {
                bodies.insert(d.policy_host(), Bytes::clone(b));
            }
        }
        let hosts = snap.tls_hosts(&self.settings);
        // Certificates first, then bodies, then DNS: by the time a name resolves to us we
        // can complete its handshake and serve its body.
        let acme = self.acme_certs(db, &hosts).await?;
        self.certs.sync(&hosts, &self.ca, &acme);
        self.policies.store(Arc::new(bodies));
        self.zone.swap(dns::build_catalog(&self.zone_cfg, &snap, serial)?);
        tracing::debug!(
            generation = snap.generation,
            domains = snap.domains.len(),
            "hosting view rebuilt"
        );
        Ok(true)
    }

    /// The ACME certificates of `hosts`, decoded once per serial. A certificate whose key
    /// cannot be opened (another master key) is skipped with an error in the log.
    async fn acme_certs(&self, db: &Db, hosts: &[String]) -> anyhow::Result<HashMap<String, ServedCert>> {
        let Some(key) = &self.key else {
            return Ok(HashMap::new());
        };
        let rows = moat_store::acme::certificates(db).await?;
        let mut cache = self.acme_cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = HashMap::new();
        for row in rows.into_iter().filter(|r| hosts.contains(&r.host)) {
            let fresh = CertSource::Acme(row.serial.clone());
            if let Some(c) = cache.get(&row.host).filter(|c| c.source == fresh) {
                out.insert(row.host, c.clone());
                continue;
            }
            let decoded = key
                .open(&row.key_sealed, &row.host)
                .map_err(anyhow::Error::from)
                .and_then(|pem| certs::certified_key(&row.chain_pem, &pem));
            match decoded {
                Ok(k) => {
                    tracing::info!(host = %row.host, serial = %row.serial, "serving the ACME certificate");
                    let served = ServedCert {
                        key: k,
                        source: fresh,
                    };
                    cache.insert(row.host.clone(), served.clone());
                    out.insert(row.host, served);
                }
                Err(e) => tracing::error!(host = %row.host, error = %format!("{e:#}"),
                    "cannot load the stored ACME certificate (is MOAT_MASTER_KEY the same on every instance?)"),
            }
        }
        cache.retain(|h, _| out.contains_key(h));
        Ok(out)
    }

    /// The host names served over TLS (policy hosts of serving domains and the reports host).
    pub fn served_hosts(&self) -> Vec<String> {
        self.certs.hosts()
    }

    /// Polls for changes until `token` is cancelled. Database errors are logged and the
    /// last good view keeps being served.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        db: Db,
        token: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = this.refresh(&db).await {
                            tracing::warn!(error = %e, "cannot refresh the hosting view; serving the last one");
                        }
                    }
                }
            }
        })
    }
}

/// Requested UDP receive buffer of the DNS listener, bytes.
pub const UDP_RECV_BUFFER: usize = 4 << 20;

/// The DNS listener sockets: UDP and TCP on the same address.
pub struct DnsSockets {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl DnsSockets {
    /// Binds UDP at `addr`, then TCP on the same port (so port 0 works). The UDP receive
    /// buffer is raised to [`UDP_RECV_BUFFER`] (capped by the kernel's `net.core.rmem_max`):
    /// with the default ~208 KiB, bursts overflowed it and queries were silently dropped.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<DnsSockets> {
        // With port 0 the kernel picks a free UDP port whose TCP twin may be taken: retry.
        let mut attempt = 0;
        loop {
            match Self::bind_once(addr).await {
                Err(e) if addr.port() == 0 && e.kind() == std::io::ErrorKind::AddrInUse && attempt < 20 => {
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    async fn bind_once(addr: SocketAddr) -> std::io::Result<DnsSockets> {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        if addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        if let Err(e) = sock.set_recv_buffer_size(UDP_RECV_BUFFER) {
            tracing::warn!(error = %e, "cannot raise the DNS socket's receive buffer");
        }
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        let udp = UdpSocket::from_std(std::net::UdpSocket::from(sock))?;
        let tcp = TcpListener::bind(udp.local_addr()?).await?;
        Ok(DnsSockets { udp, tcp })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Serves `zone` until `token` is cancelled.
    pub async fn serve(self, zone: ZoneServer, token: CancellationToken) -> anyhow::Result<()> {
        let mut server = hickory_server::Server::new(zone);
        server.register_socket(self.udp);
        server.register_listener(self.tcp, Duration::from_secs(5), 65_535);
        token.cancelled().await;
        server.shutdown_gracefully().await?;
        Ok(())
    }
}
