//! Certificates for the policy hosts: the built-in local CA (shared through the database,
//! its root written to `<data dir>/local-ca.pem`) and the in-memory SNI store the TLS
//! handshake reads — no database I/O happens in the handshake path.

use arc_swap::ArcSwap;
use moat_store::{Db, domains as store};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::{
    crypto::ring::sign::any_supported_type,
    pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use std::{collections::HashMap, path::Path, sync::Arc};
use time::{Duration, OffsetDateTime};

/// The local certificate authority.
pub struct LocalCa {
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").finish_non_exhaustive()
    }
}

impl LocalCa {
    /// Loads the CA from the database, creating it on first use (the first instance wins),
    /// and writes its root certificate to `root_path`.
    pub async fn load_or_create(db: &Db, root_path: &Path) -> anyhow::Result<LocalCa> {
        let (cert_pem, key_pem) = match store::local_ca(db).await? {
            Some(ca) => ca,
            None => {
                let (cert, key) = generate_ca()?;
                store::init_local_ca(db, &cert, &key, OffsetDateTime::now_utc().unix_timestamp()).await?
            }
        };
        let key = KeyPair::from_pem(&key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)?;
        if let Some(dir) = root_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let current = std::fs::read_to_string(root_path).unwrap_or_default();
        if current != cert_pem {
            std::fs::write(root_path, &cert_pem)?;
        }
        Ok(LocalCa { issuer })
    }

    /// Issues a 90-day server certificate for `host`.
    pub fn issue(&self, host: &str) -> anyhow::Result<Arc<CertifiedKey>> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec![host.to_owned()])?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        params.distinguished_name = dn;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(90);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.subject_alt_names = vec![SanType::DnsName(host.try_into()?)];
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = any_supported_type(&key_der)?;
        let chain = vec![cert.der().clone()];
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }
}

fn generate_ca() -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    let tag: String = key
        .public_key_raw()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    dn.push(DnType::CommonName, format!("Moat local CA {tag}"));
    dn.push(DnType::OrganizationName, "Moat (not publicly trusted)");
    params.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(3650);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Where a served certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// Issued by the built-in local CA (not publicly trusted).
    Local,
    /// Obtained over ACME; the leaf's serial number, hex.
    Acme(String),
}

/// A certificate as served.
#[derive(Debug, Clone)]
pub struct ServedCert {
    /// The chain and signing key rustls presents.
    pub key: Arc<CertifiedKey>,
    /// Where it comes from.
    pub source: CertSource,
}

/// Server certificates by exact host name, swapped atomically as a whole.
#[derive(Debug, Default)]
pub struct CertStore {
    by_host: ArcSwap<HashMap<String, ServedCert>>,
}

impl CertStore {
    /// The certificate for `host`, if Moat serves it.
    pub fn get(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        self.by_host.load().get(host).map(|c| c.key.clone())
    }

    /// Where the certificate served for `host` comes from.
    pub fn source(&self, host: &str) -> Option<CertSource> {
        self.by_host.load().get(host).map(|c| c.source.clone())
    }

    /// The hosts served, sorted.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.by_host.load().keys().cloned().collect();
        hosts.sort();
        hosts
    }

    /// Replaces the set: for each host the ACME certificate in `acme` if there is one, else
    /// the local certificate it already had, else a new one from `ca`. Hosts no longer
    /// served are dropped.
    pub fn sync(&self, hosts: &[String], ca: &LocalCa, acme: &HashMap<String, ServedCert>) {
        let old = self.by_host.load_full();
        let mut next = HashMap::with_capacity(hosts.len());
        for h in hosts {
            if let Some(c) = acme.get(h) {
                next.insert(h.clone(), c.clone());
                continue;
            }
            if let Some(c) = old.get(h).filter(|c| c.source == CertSource::Local) {
                next.insert(h.clone(), c.clone());
                continue;
            }
            match ca.issue(h) {
                Ok(key) => {
                    next.insert(
                        h.clone(),
                        ServedCert {
                            key,
                            source: CertSource::Local,
                        },
                    );
                }
                Err(e) => tracing::error!(host = %h, error = %e, "cannot issue a local certificate"),
            }
        }
        self.by_host.store(Arc::new(next));
    }
}

/// A rustls key from a PEM chain (leaf first) and a PEM PKCS#8 / SEC1 / PKCS#1 private key.
pub fn certified_key(chain_pem: &str, key_pem: &[u8]) -> anyhow::Result<Arc<CertifiedKey>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(!chain.is_empty(), "the chain holds no certificate");
    let key = PrivateKeyDer::from_pem_slice(key_pem)?;
    let signing = any_supported_type(&key)?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match()?;
    Ok(Arc::new(certified))
}

/// rustls's view of the store: the certificate for the SNI name, or none — which aborts
/// the handshake (no default certificate is ever presented for an unknown name).
#[derive(Debug)]
pub struct SniResolver(pub Arc<CertStore>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.trim_end_matches('.').to_ascii_lowercase();
        self.0.get(&name)
    }
}

/// For SMTP STARTTLS: the certificate for the SNI name when Moat serves it, else the
/// reports host's (many SMTP clients send no SNI, or the MX name they looked up).
#[derive(Debug)]
pub struct FallbackResolver {
    /// The certificates.
    pub store: Arc<CertStore>,
    /// The host whose certificate is presented by default.
    pub default_host: String,
}

impl ResolvesServerCert for FallbackResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.store.get(&n.trim_end_matches('.').to_ascii_lowercase()))
            .or_else(|| self.store.get(&self.default_host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_ca() -> LocalCa {
        let (cert, key) = generate_ca().unwrap();
        LocalCa {
            issuer: Issuer::from_ca_cert_pem(&cert, KeyPair::from_pem(&key).unwrap()).unwrap(),
        }
    }

    /// A certificate for `host` as an ACME CA would hand it over: PEM chain and PEM key.
    fn pem_pair(host: &str) -> (String, String) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = CertificateParams::new(vec![host.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_acme_certificate_is_served_in_place_of_the_local_one_and_local_ones_stay_stable() {
        let ca = test_ca();
        let store = CertStore::default();
        let served = hosts(&["mta-sts.a.test", "mta-sts.b.test"]);
        store.sync(&served, &ca, &HashMap::new());
        let local_a = store.get("mta-sts.a.test").unwrap();
        assert_eq!(store.source("mta-sts.a.test"), Some(CertSource::Local));
        // A second sync keeps the same local certificate (no reissue on every refresh).
        store.sync(&served, &ca, &HashMap::new());
        assert!(Arc::ptr_eq(&local_a, &store.get("mta-sts.a.test").unwrap()));

        let (chain, key) = pem_pair("mta-sts.a.test");
        let acme_key = certified_key(&chain, key.as_bytes()).unwrap();
        let acme = HashMap::from([(
            "mta-sts.a.test".to_owned(),
            ServedCert {
                key: acme_key.clone(),
                source: CertSource::Acme("0a".into()),
            },
        )]);
        store.sync(&served, &ca, &acme);
        assert!(Arc::ptr_eq(&acme_key, &store.get("mta-sts.a.test").unwrap()));
        assert_eq!(
            store.source("mta-sts.a.test"),
            Some(CertSource::Acme("0a".into()))
        );
        assert_eq!(store.source("mta-sts.b.test"), Some(CertSource::Local));

        // A host no longer served is dropped, whatever its certificate.
        store.sync(&hosts(&["mta-sts.b.test"]), &ca, &acme);
        assert!(store.get("mta-sts.a.test").is_none());
        assert_eq!(store.hosts(), hosts(&["mta-sts.b.test"]));
        // Without its ACME certificate, a host falls back to a fresh local one.
        store.sync(&served, &ca, &HashMap::new());
        assert_eq!(store.source("mta-sts.a.test"), Some(CertSource::Local));
    }

    #[test]
    fn a_chain_and_a_key_that_do_not_match_are_refused() {
        let (chain, _) = pem_pair("mta-sts.a.test");
        let (_, other_key) = pem_pair("mta-sts.a.test");
        assert!(certified_key(&chain, other_key.as_bytes()).is_err());
        assert!(certified_key("", other_key.as_bytes()).is_err());
        assert!(certified_key(&chain, b"not a key").is_err());
    }
}
