//! Configuration: built-in defaults, then an optional `moat.toml`, then `MOAT_*` environment
//! variables. Validated once into [`Config`]; a bad value fails start-up naming its key.

use moat_domain::hosting::DomainName;
use serde::Deserialize;
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
};
use url::Url;

/// Every setting as read, before validation. Each field is also the lower-case name of its
/// `MOAT_<NAME>` environment variable and its key in `moat.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    database_url: Option<String>,
    data_dir: Option<String>,
    web_addr: Option<String>,
    public_url: Option<String>,
    smtp_relay: Option<String>,
    mail_from: Option<String>,
    site_root: Option<String>,
    log: Option<String>,
    zone: Option<String>,
    dns_addr: Option<String>,
    dns_ns: Option<String>,
    policy_addr: Option<String>,
    smtp_addr: Option<String>,
    policy_ips: Option<String>,
    resolvers: Option<String>,
    reports_mail_domain: Option<String>,
    reports_url: Option<String>,
    acme_directory: Option<String>,
    acme_ca_roots: Option<String>,
    acme_contact: Option<String>,
    acme_http_addr: Option<String>,
    master_key: Option<String>,
    webhook_allow_private: Option<String>,
    detect_interval: Option<String>,
    probe_port: Option<String>,
    probe_allow_private: Option<String>,
    probe_ca: Option<String>,
    probe_interval: Option<String>,
    readiness_days: Option<String>,
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a value that cannot be used.
    #[error("invalid configuration {key}: {reason}")]
    Invalid {
        /// `MOAT_*` variable / toml key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("cannot read configuration file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Where Moat keeps its files (SQLite database, outbox, local CA).
    pub data_dir: PathBuf,
    /// Address of the web app.
    pub web_addr: SocketAddr,
    /// The URL users reach the web app at (links in mail; `Secure` cookies when https).
    pub public_url: Url,
    /// Outbound relay; `None` writes mail to `<data_dir>/outbox`.
    pub smtp_relay: Option<String>,
    /// `From:` of outbound mail.
    pub mail_from: String,
    /// Folder with the built browser assets (`pkg/`, favicon…).
    pub site_root: PathBuf,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Moat's own DNS zone; customers' CNAMEs point under it.
    pub zone: String,
    /// The authoritative DNS listener (UDP and TCP).
    pub dns_addr: SocketAddr,
    /// Name servers announced at the zone apex.
    pub dns_ns: Vec<String>,
    /// The policy HTTPS listener (also the reports host's `POST /v1/tlsrpt`).
    pub policy_addr: SocketAddr,
    /// The receive-only SMTP listener for TLS reports.
    pub smtp_addr: SocketAddr,
    /// Addresses the DNS answers for every `mta-sts.D.<zone>`.
    pub policy_ips: Vec<IpAddr>,
    /// Nameservers for record checks and MX lookups; empty = the system's.
    pub resolvers: Vec<SocketAddr>,
    /// Mail domain of the per-domain report addresses (`tlsrpt+D@<this>`).
    pub reports_mail_domain: String,
    /// HTTPS URL advertised for report POSTs, if any.
    pub reports_url: Option<String>,
    /// Certificates over ACME; `None` keeps the local CA.
    pub acme: Option<AcmeConfig>,
    /// `MOAT_MASTER_KEY`: 64 hex characters sealing private keys at rest; without it a key
    /// file in the data directory is used (created on first need).
    pub master_key: Option<Redacted>,
    /// `MOAT_WEBHOOK_ALLOW_PRIVATE`: let organizations' webhooks reach loopback, private and
    /// link-local addresses and plain http:// URLs (off: https:// to public addresses only).
    pub webhook_allow_private: bool,
    /// `MOAT_DETECT_INTERVAL`: seconds between runs of the problem detector over domains with
    /// new reports (and of notifications); 0 turns the background detector off (tests drive
    /// it themselves). Default 5.
    pub detect_interval: u64,
    /// `MOAT_PROBE_PORT`: the SMTP port MX probes connect to. Default 25.
    pub probe_port: u16,
    /// `MOAT_PROBE_ALLOW_PRIVATE`: let MX probes connect to loopback, private and other
    /// non-public addresses (tests, private networks). Off: an MX that resolves there is not
    /// probed, so a customer's DNS cannot point Moat's probes into the operator's network.
    pub probe_allow_private: bool,
    /// `MOAT_PROBE_CA`: a PEM file of extra roots MX probes trust besides the Mozilla roots
    /// (tests, private CAs). Default none.
    pub probe_ca: Option<PathBuf>,
    /// `MOAT_PROBE_INTERVAL`: hours between background MX probes of each serving hosted
    /// domain; 0 turns them off. Default 24.
    pub probe_interval: u64,
    /// `MOAT_READINESS_DAYS`: days of TLS reports the enforce-readiness checklist reads.
    /// Default 14.
    pub readiness_days: u32,
}

/// The ACME settings.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// `MOAT_ACME_DIRECTORY`: the CA's directory URL.
    pub directory: String,
    /// `MOAT_ACME_CA_ROOTS`: a PEM file trusted for the CA's own HTTPS.
    pub ca_roots: Option<PathBuf>,
    /// `MOAT_ACME_CONTACT`: the account's contact e-mail.
    pub contact: Option<String>,
    /// `MOAT_ACME_HTTP_ADDR`: where HTTP-01 challenges are answered (port 80 in production).
    pub http_addr: SocketAddr,
}

/// A secret that `Debug` does not print.
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

impl RawConfig {
    /// Reads `path` (if given, it must exist) or `./moat.toml` (if present), then applies
    /// `MOAT_*` variables from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("moat.toml")).filter(|p| p.exists()),
        };
        let mut raw = match file {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| ConfigError::File {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?
            }
            None => RawConfig::default(),
        };
        for (k, v) in env {
            let Some(key) = k.strip_prefix("MOAT_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            let slot = match key.as_str() {
                "database_url" => &mut raw.database_url,
                "data_dir" => &mut raw.data_dir,
                "web_addr" => &mut raw.web_addr,
                "public_url" => &mut raw.public_url,
                "smtp_relay" => &mut raw.smtp_relay,
                "mail_from" => &mut raw.mail_from,
                "site_root" => &mut raw.site_root,
                "log" => &mut raw.log,
                "zone" => &mut raw.zone,
                "dns_addr" => &mut raw.dns_addr,
                "dns_ns" => &mut raw.dns_ns,
                "policy_addr" => &mut raw.policy_addr,
                "smtp_addr" => &mut raw.smtp_addr,
                "policy_ips" => &mut raw.policy_ips,
                "resolvers" => &mut raw.resolvers,
                "reports_mail_domain" => &mut raw.reports_mail_domain,
                "reports_url" => &mut raw.reports_url,
                "acme_directory" => &mut raw.acme_directory,
                "acme_ca_roots" => &mut raw.acme_ca_roots,
                "acme_contact" => &mut raw.acme_contact,
                "acme_http_addr" => &mut raw.acme_http_addr,
                "master_key" => &mut raw.master_key,
                "webhook_allow_private" => &mut raw.webhook_allow_private,
                "detect_interval" => &mut raw.detect_interval,
                "probe_port" => &mut raw.probe_port,
                "probe_allow_private" => &mut raw.probe_allow_private,
                "probe_ca" => &mut raw.probe_ca,
                "probe_interval" => &mut raw.probe_interval,
                "readiness_days" => &mut raw.readiness_days,
                // Keys of later releases and test harness variables are not ours to refuse.
                _ => continue,
            };
            *slot = Some(v).filter(|v| !v.trim().is_empty());
        }
        Ok(raw)
    }

    /// Validates and fills defaults.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(self.data_dir.unwrap_or_else(|| "data".into()));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("MOAT_DATA_DIR", "must not be empty"));
        }
        let database_url = match self.database_url {
            Some(u)
                if u.starts_with("sqlite:") || u.starts_with("postgres:") || u.starts_with("postgresql:") =>
            {
                u
            }
            Some(u) => {
                return Err(invalid(
                    "MOAT_DATABASE_URL",
                    format!("{u:?} is neither sqlite://… nor postgres://…"),
                ));
            }
            None => format!("sqlite://{}", data_dir.join("moat.db").display()),
        };
        let web_addr: SocketAddr = self
            .web_addr
            .as_deref()
            .unwrap_or("127.0.0.1:3000")
            .parse()
            .map_err(|e| invalid("MOAT_WEB_ADDR", format!("expected ip:port ({e})")))?;
        let public_url = match self.public_url {
            Some(u) => Url::parse(&u).map_err(|e| invalid("MOAT_PUBLIC_URL", e.to_string()))?,
            None => Url::parse(&format!("http://{web_addr}"))
                .map_err(|e| invalid("MOAT_PUBLIC_URL", e.to_string()))?,
        };
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host_str().is_none() {
            return Err(invalid("MOAT_PUBLIC_URL", "must be an http:// or https:// URL"));
        }
        if let Some(relay) = &self.smtp_relay
            && !(relay.starts_with("smtp://") || relay.starts_with("smtps://"))
        {
            return Err(invalid("MOAT_SMTP_RELAY", "must be an smtp:// or smtps:// URL"));
        }
        let mail_from = self
            .mail_from
            .unwrap_or_else(|| format!("Moat <moat@{}>", public_url.host_str().unwrap_or("localhost")));
        if !mail_from.contains('@') {
            return Err(invalid("MOAT_MAIL_FROM", "must be an e-mail address"));
        }
        let site_root = PathBuf::from(self.site_root.unwrap_or_else(default_site_root));
        let zone = DomainName::parse(self.zone.as_deref().unwrap_or("sts.moat.localhost"))
            .map_err(|e| invalid("MOAT_ZONE", e.to_string()))?
            .as_str()
            .to_owned();
        let addr = |key: &'static str, v: Option<&str>, default: &str| -> Result<SocketAddr, ConfigError> {
            v.unwrap_or(default)
                .parse()
                .map_err(|e| invalid(key, format!("expected ip:port ({e})")))
        };
        let dns_addr = addr("MOAT_DNS_ADDR", self.dns_addr.as_deref(), "127.0.0.1:5353")?;
        let policy_addr = addr("MOAT_POLICY_ADDR", self.policy_addr.as_deref(), "127.0.0.1:8443")?;
        let smtp_addr = addr("MOAT_SMTP_ADDR", self.smtp_addr.as_deref(), "127.0.0.1:2525")?;
        let dns_ns = match self.dns_ns.as_deref() {
            Some(list) => list_of(list, |n| {
                DomainName::parse(n)
                    .map(|d| d.as_str().to_owned())
                    .map_err(|e| invalid("MOAT_DNS_NS", e.to_string()))
            })?,
            None => vec![format!("ns1.{zone}")],
        };
        let policy_ips = match self.policy_ips.as_deref() {
            Some(list) => list_of(list, |ip| {
                ip.parse::<IpAddr>()
                    .map_err(|e| invalid("MOAT_POLICY_IPS", format!("{ip:?}: {e}")))
            })?,
            None if policy_addr.ip().is_unspecified() => vec![IpAddr::from([127, 0, 0, 1])],
            None => vec![policy_addr.ip()],
        };
        let resolvers = list_of(self.resolvers.as_deref().unwrap_or(""), |r| {
            r.parse::<SocketAddr>()
                .or_else(|_| r.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| invalid("MOAT_RESOLVERS", format!("{r:?} is not ip or ip:port")))
        })?;
        let reports_mail_domain = match self.reports_mail_domain.as_deref() {
            Some(d) => DomainName::parse(d)
                .map_err(|e| invalid("MOAT_REPORTS_MAIL_DOMAIN", e.to_string()))?
                .as_str()
                .to_owned(),
            None => format!("reports.{zone}"),
        };
        let reports_url = match self.reports_url {
            Some(u) => {
                let url = Url::parse(&u).map_err(|e| invalid("MOAT_REPORTS_URL", e.to_string()))?;
                if url.scheme() != "https" {
                    return Err(invalid("MOAT_REPORTS_URL", "RFC 8460 requires an https:// URL"));
                }
                Some(url.to_string())
            }
            None => Some(format!("https://{reports_mail_domain}/v1/tlsrpt")),
        };
        let acme_http_addr = addr(
            "MOAT_ACME_HTTP_ADDR",
            self.acme_http_addr.as_deref(),
            "127.0.0.1:8080",
        )?;
        let acme = match self.acme_directory {
            None => None,
            Some(d) => {
                let url = Url::parse(&d).map_err(|e| invalid("MOAT_ACME_DIRECTORY", e.to_string()))?;
                if url.scheme() != "https" {
                    return Err(invalid(
                        "MOAT_ACME_DIRECTORY",
                        "ACME (RFC 8555) requires an https:// URL",
                    ));
                }
                let ca_roots = self.acme_ca_roots.map(PathBuf::from);
                if let Some(p) = &ca_roots
                    && !p.is_file()
                {
                    return Err(invalid(
                        "MOAT_ACME_CA_ROOTS",
                        format!("{} is not a file", p.display()),
                    ));
                }
                let contact = self
                    .acme_contact
                    .map(|c| c.trim().trim_start_matches("mailto:").to_owned());
                if let Some(c) = &contact
                    && !c.contains('@')
                {
                    return Err(invalid("MOAT_ACME_CONTACT", "must be an e-mail address"));
                }
                Some(AcmeConfig {
                    directory: d,
                    ca_roots,
                    contact,
                    http_addr: acme_http_addr,
                })
            }
        };
        let master_key = self.master_key.map(|k| k.trim().to_owned());
        if let Some(k) = &master_key
            && (k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(invalid(
                "MOAT_MASTER_KEY",
                "must be 64 hexadecimal characters (32 bytes)",
            ));
        }
        fn flag(key: &'static str, value: Option<&str>) -> Result<bool, ConfigError> {
            match value.map(str::to_ascii_lowercase).as_deref() {
                None | Some("0" | "false" | "no" | "off") => Ok(false),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some(other) => Err(invalid(key, format!("{other:?} is not true or false"))),
            }
        }
        let webhook_allow_private = flag(
            "MOAT_WEBHOOK_ALLOW_PRIVATE",
            self.webhook_allow_private.as_deref(),
        )?;
        let probe_allow_private = flag("MOAT_PROBE_ALLOW_PRIVATE", self.probe_allow_private.as_deref())?;
        let detect_interval = match self.detect_interval.as_deref() {
            None => 5,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 3600)
                .ok_or_else(|| {
                    invalid(
                        "MOAT_DETECT_INTERVAL",
                        format!("{v:?} is not a number of seconds from 0 to 3600"),
                    )
                })?,
        };
        fn number<T: std::str::FromStr + PartialOrd>(
            key: &'static str,
            value: Option<&str>,
            default: T,
            (min, max): (T, T),
            what: &str,
        ) -> Result<T, ConfigError> {
            match value {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<T>()
                    .ok()
                    .filter(|n| *n >= min && *n <= max)
                    .ok_or_else(|| invalid(key, format!("{v:?} is not {what}"))),
            }
        }
        let probe_port = number(
            "MOAT_PROBE_PORT",
            self.probe_port.as_deref(),
            25u16,
            (1, u16::MAX),
            "a port from 1 to 65535",
        )?;
        let probe_interval = number(
            "MOAT_PROBE_INTERVAL",
            self.probe_interval.as_deref(),
            24u64,
            (0, 24 * 365),
            "a number of hours from 0 to 8760",
        )?;
        let readiness_days = number(
            "MOAT_READINESS_DAYS",
            self.readiness_days.as_deref(),
            14u32,
            (1, 366),
            "a number of days from 1 to 366",
        )?;
        let probe_ca = match self.probe_ca {
            None => None,
            Some(p) => {
                let path = PathBuf::from(p.trim());
                if !path.is_file() {
                    return Err(invalid(
                        "MOAT_PROBE_CA",
                        format!("{} is not a file", path.display()),
                    ));
                }
                Some(path)
            }
        };
        Ok(Config {
            probe_port,
            probe_allow_private,
            probe_ca,
            probe_interval,
            readiness_days,
            detect_interval,
            webhook_allow_private,
            acme,
            master_key: master_key.map(Redacted),
            zone,
            dns_addr,
            dns_ns,
            policy_addr,
            smtp_addr,
            policy_ips,
            resolvers,
            reports_mail_domain,
            reports_url,
            database_url,
            data_dir,
            web_addr,
            public_url,
            smtp_relay: self.smtp_relay,
            mail_from,
            site_root,
            log: self
                .log
                .unwrap_or_else(|| "info,sqlx=warn,tower_sessions=warn,hickory_server=warn".into()),
        })
    }
}

/// Splits a comma-separated list, parsing each non-empty item.
fn list_of<T>(list: &str, parse: impl Fn(&str) -> Result<T, ConfigError>) -> Result<Vec<T>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

/// `site/` next to the binary when installed, otherwise the build script's `target/site`.
fn default_site_root() -> String {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("site")))
        && dir.join("pkg").exists()
    {
        return dir.display().to_string();
    }
    "target/site".into()
}

impl Config {
    /// Loads from the process environment.
    pub fn from_env(path: Option<&Path>) -> Result<Self, ConfigError> {
        RawConfig::load(path, std::env::vars())?.validate()
    }

    /// The public URL without a trailing slash, for building links.
    pub fn public_base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        RawConfig::load(None, env)?.validate()
    }

    #[test]
    fn zero_configuration_uses_sqlite_in_the_data_dir_on_loopback() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/moat.db");
        assert_eq!(c.web_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_base(), "http://127.0.0.1:3000");
        assert!(c.smtp_relay.is_none());
        assert_eq!(c.zone, "sts.moat.localhost");
        assert_eq!(c.dns_addr.to_string(), "127.0.0.1:5353");
        assert_eq!(c.policy_addr.to_string(), "127.0.0.1:8443");
        assert_eq!(c.policy_ips, vec![IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(c.dns_ns, vec!["ns1.sts.moat.localhost".to_owned()]);
        assert!(c.resolvers.is_empty());
    }

    #[test]
    fn hosting_lists_parse() {
        let c = load(&[
            ("MOAT_ZONE", "STS.Example.NET."),
            ("MOAT_POLICY_IPS", "192.0.2.1, 2001:db8::1"),
            ("MOAT_RESOLVERS", "127.0.0.53, [::1]:5300"),
        ])
        .unwrap();
        assert_eq!(c.zone, "sts.example.net");
        assert_eq!(c.policy_ips.len(), 2);
        assert_eq!(c.resolvers[0].to_string(), "127.0.0.53:53");
        assert_eq!(c.resolvers[1].to_string(), "[::1]:5300");
        assert_eq!(c.reports_mail_domain, "reports.sts.example.net");
    }

    #[test]
    fn environment_overrides_and_bad_values_name_their_key() {
        let c = load(&[("MOAT_WEB_ADDR", "127.0.0.1:4000"), ("MOAT_DATA_DIR", "/tmp/x")]).unwrap();
        assert_eq!(c.web_addr.port(), 4000);
        assert_eq!(c.database_url, "sqlite:///tmp/x/moat.db");
        for (key, value) in [
            ("MOAT_WEB_ADDR", "localhost"),
            ("MOAT_DATABASE_URL", "mysql://x"),
            ("MOAT_PUBLIC_URL", "ftp://x"),
            ("MOAT_SMTP_RELAY", "http://x"),
            ("MOAT_ZONE", "nodots"),
            ("MOAT_DNS_ADDR", "5353"),
            ("MOAT_POLICY_IPS", "127.0.0.1,banana"),
            ("MOAT_RESOLVERS", "127.0.0.1:53,x"),
            ("MOAT_REPORTS_URL", "http://reports.example/v1/tlsrpt"),
        ] {
            let err = load(&[(key, value)]).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn acme_is_off_by_default_and_validated_when_on() {
        let c = load(&[]).unwrap();
        assert!(c.acme.is_none() && c.master_key.is_none());
        let roots = tempfile::NamedTempFile::new().unwrap();
        let key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let c = load(&[
            ("MOAT_ACME_DIRECTORY", "https://127.0.0.1:14000/dir"),
            ("MOAT_ACME_CA_ROOTS", roots.path().to_str().unwrap()),
            ("MOAT_ACME_CONTACT", "mailto:ops@example.net"),
            ("MOAT_ACME_HTTP_ADDR", "127.0.0.10:80"),
            ("MOAT_MASTER_KEY", key),
        ])
        .unwrap();
        let acme = c.acme.as_ref().unwrap();
        assert_eq!(acme.directory, "https://127.0.0.1:14000/dir");
        assert_eq!(acme.ca_roots.as_deref(), Some(roots.path()));
        assert_eq!(acme.contact.as_deref(), Some("ops@example.net"));
        assert_eq!(acme.http_addr.to_string(), "127.0.0.10:80");
        assert_eq!(c.master_key.as_ref().unwrap().0, key);
        assert!(
            !format!("{c:?}").contains(key),
            "the master key never reaches logs"
        );
        for (key, value) in [
            ("MOAT_ACME_DIRECTORY", "http://acme.example/dir"),
            ("MOAT_ACME_CA_ROOTS", "/nonexistent/roots.pem"),
            ("MOAT_ACME_CONTACT", "not-an-address"),
            ("MOAT_ACME_HTTP_ADDR", "80"),
            ("MOAT_MASTER_KEY", "abc"),
            ("MOAT_MASTER_KEY", &"g".repeat(64)),
        ] {
            let mut vars = vec![("MOAT_ACME_DIRECTORY", "https://acme.example/dir")];
            vars.retain(|(k, _)| *k != key);
            vars.push((key, value));
            let err = load(&vars).unwrap_err().to_string();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn probe_settings_have_defaults_and_are_validated() {
        let c = load(&[]).unwrap();
        assert_eq!((c.probe_port, c.probe_interval, c.readiness_days), (25, 24, 14));
        assert!(c.probe_ca.is_none());
        assert!(
            !c.probe_allow_private,
            "probes reach public addresses only by default"
        );
        assert!(
            load(&[("MOAT_PROBE_ALLOW_PRIVATE", "true")])
                .unwrap()
                .probe_allow_private
        );
        let ca = tempfile::NamedTempFile::new().unwrap();
        let c = load(&[
            ("MOAT_PROBE_PORT", "2525"),
            ("MOAT_PROBE_INTERVAL", "0"),
            ("MOAT_READINESS_DAYS", "30"),
            ("MOAT_PROBE_CA", ca.path().to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!((c.probe_port, c.probe_interval, c.readiness_days), (2525, 0, 30));
        assert_eq!(c.probe_ca.as_deref(), Some(ca.path()));
        for (key, value) in [
            ("MOAT_PROBE_PORT", "0"),
            ("MOAT_PROBE_PORT", "smtp"),
            ("MOAT_PROBE_INTERVAL", "-1"),
            ("MOAT_READINESS_DAYS", "0"),
            ("MOAT_PROBE_CA", "/nonexistent/ca.pem"),
            ("MOAT_PROBE_ALLOW_PRIVATE", "maybe"),
        ] {
            let e = load(&[(key, value)]).unwrap_err().to_string();
            assert!(e.contains(key), "{key}={value}: {e}");
        }
    }

    #[test]
    fn a_toml_file_is_read_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("moat.toml");
        std::fs::write(&path, "web_addr = \"127.0.0.1:5000\"\n").unwrap();
        let c = RawConfig::load(Some(&path), std::iter::empty())
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(c.web_addr.port(), 5000);
        std::fs::write(&path, "web_adr = \"127.0.0.1:5000\"\n").unwrap();
        let err = RawConfig::load(Some(&path), std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(err.contains("web_adr"), "{err}");
    }
}
