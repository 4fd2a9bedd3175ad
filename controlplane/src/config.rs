//! Configuration of `linkflow serve`: flags > `LINKFLOW_*` environment > TOML file > defaults.
//!
//! clap resolves flags and environment variables (each flag names its variable in `--help`);
//! what neither sets comes from the TOML file given by `--config`, then from defaults.
//! Secrets (the credential key, the JWT secret) are read from the environment only, never
//! from flags (visible in `ps`) or the config file; when absent, `serve` generates them once
//! into files under the data dir, readable by the owner only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::api::BODY_BYTES_MAX_DEFAULT;
use crate::ratelimit::TierLimits;

/// Default data directory.
pub const DATA_DIR_DEFAULT: &str = "./data";
/// Default API address.
pub const API_ADDR_DEFAULT: &str = "127.0.0.1:8080";
/// Default webhook address (embedded data plane).
pub const WEBHOOK_ADDR_DEFAULT: &str = "127.0.0.1:8081";
/// Default UDP address of the embedded data plane's QUIC plan receiver.
pub const QUIC_ADDR_DEFAULT: &str = "127.0.0.1:8443";
/// Folder under the data dir holding the mTLS certificates of `serve` (and, by default,
/// the ones `controlplane` reads).
pub const CERTS_DIR: &str = "certs";

/// Flags of `linkflow serve` (each may also come from its `LINKFLOW_*` variable).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Directory for the SQLite database and generated keys [default: ./data].
    #[arg(long, env = "LINKFLOW_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the REST API (control plane) [default: 127.0.0.1:8080].
    #[arg(long, env = "LINKFLOW_API", value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// Address of the webhook listener (embedded data plane) [default: 127.0.0.1:8081].
    #[arg(long, env = "LINKFLOW_WEBHOOK", value_name = "ADDR")]
    pub webhook: Option<SocketAddr>,
    /// UDP address where the embedded data plane takes plans from the control plane over
    /// QUIC with mutual TLS; the certificates (a dev CA, node and client certificates) are
    /// generated into <data-dir>/certs on first start and reused afterwards
    /// [default: 127.0.0.1:8443].
    #[arg(long, env = "LINKFLOW_QUIC", value_name = "ADDR")]
    pub quic: Option<SocketAddr>,
    /// PostgreSQL URL (postgres://...); without it, SQLite in the data dir.
    #[arg(long, env = "LINKFLOW_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Largest accepted request body, in bytes [default: 16 MiB].
    #[arg(long, env = "LINKFLOW_BODY_BYTES_MAX", value_name = "BYTES")]
    pub body_bytes_max: Option<usize>,
    /// Requests per hour for unauthenticated callers, per address, or "unlimited" [default: 100].
    #[arg(long, env = "LINKFLOW_RATE_LIMIT_ANONYMOUS", value_name = "N")]
    pub rate_limit_anonymous: Option<Limit>,
    /// Requests per hour for authenticated users [default: 1000].
    #[arg(long, env = "LINKFLOW_RATE_LIMIT_AUTHENTICATED", value_name = "N")]
    pub rate_limit_authenticated: Option<Limit>,
    /// Requests per hour for premium users [default: 10000].
    #[arg(long, env = "LINKFLOW_RATE_LIMIT_PREMIUM", value_name = "N")]
    pub rate_limit_premium: Option<Limit>,
    /// Requests per hour for enterprise users [default: unlimited].
    #[arg(long, env = "LINKFLOW_RATE_LIMIT_ENTERPRISE", value_name = "N")]
    pub rate_limit_enterprise: Option<Limit>,
    /// Number of data-plane shards (one glommio executor each) [default: one per CPU the
    /// process may run on].
    #[arg(long, env = "LINKFLOW_SHARDS", value_name = "N")]
    pub shards: Option<usize>,
    /// When an execution record is safe in the journal (<data-dir>/journal): `none`
    /// (written every 10 ms, no fdatasync), `batch` (written and fdatasync'ed every 10 ms)
    /// or `sync` (the webhook answer waits for its record's fdatasync) [default: batch].
    #[arg(long, env = "LINKFLOW_DURABILITY", value_name = "MODE")]
    pub durability: Option<linkflow_dataplane::journal::Durability>,
    /// What the journal keeps of executions of workflows whose save settings are absent or
    /// `DEFAULT` (n8n's instance default): `all`, `summary` or `none` [default: all].
    #[arg(long, env = "LINKFLOW_RECORD_LEVEL", value_name = "LEVEL")]
    pub record_level: Option<linkflow_dataplane::journal::RecordLevel>,
    /// TOML config file (keys as the flags, e.g. `api = "127.0.0.1:8080"`, `[rate-limits]`).
    #[arg(long, env = "LINKFLOW_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A per-hour request budget: a number or `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u32>);

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Limit, String> {
        if s == "unlimited" {
            return Ok(Limit(None));
        }
        s.parse()
            .map(|n| Limit(Some(n)))
            .map_err(|_| format!("{s:?}: a number or \"unlimited\""))
    }
}

/// The TOML config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// See [`ServeArgs::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::api`].
    pub api: Option<SocketAddr>,
    /// See [`ServeArgs::webhook`].
    pub webhook: Option<SocketAddr>,
    /// See [`ServeArgs::quic`].
    pub quic: Option<SocketAddr>,
    /// See [`ServeArgs::database_url`].
    pub database_url: Option<String>,
    /// See [`ServeArgs::body_bytes_max`].
    pub body_bytes_max: Option<usize>,
    /// See [`ServeArgs::shards`].
    pub shards: Option<usize>,
    /// See [`ServeArgs::durability`] (`"none"`, `"batch"` or `"sync"`).
    pub durability: Option<String>,
    /// See [`ServeArgs::record_level`] (`"all"`, `"summary"` or `"none"`).
    pub record_level: Option<String>,
    /// Per-tier limits; a missing tier keeps its default, `0`.. numbers limit.
    pub rate_limits: Option<FileLimits>,
}

/// `[rate-limits]` of the config file (`"unlimited"` or a number per tier).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Unauthenticated callers.
    pub anonymous: Option<toml::Value>,
    /// Authenticated users.
    pub authenticated: Option<toml::Value>,
    /// Premium users.
    pub premium: Option<toml::Value>,
    /// Enterprise users.
    pub enterprise: Option<toml::Value>,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// REST API address.
    pub api: SocketAddr,
    /// Webhook address.
    pub webhook: SocketAddr,
    /// QUIC plan receiver address of the embedded data plane.
    pub quic: SocketAddr,
    /// Database URL (SQLite under the data dir by default).
    pub database_url: String,
    /// Request body limit, bytes.
    pub body_bytes_max: usize,
    /// Rate limits.
    pub rate_limits: TierLimits,
    /// Data-plane shards (at least 1).
    pub shards: usize,
    /// Journal durability of the embedded data plane.
    pub durability: linkflow_dataplane::journal::Durability,
    /// Journal level of workflows that leave it to the node.
    pub record_level: linkflow_dataplane::journal::RecordLevel,
}

fn file_limit(tier: &str, value: &Option<toml::Value>) -> Result<Option<Limit>, String> {
    match value {
        None => Ok(None),
        Some(toml::Value::Integer(n)) => u32::try_from(*n)
            .map(|n| Some(Limit(Some(n))))
            .map_err(|_| format!("rate-limits.{tier}: out of range")),
        Some(toml::Value::String(s)) => s.parse().map(Some),
        Some(_) => Err(format!("rate-limits.{tier}: a number or \"unlimited\"")),
    }
}

impl ServeConfig {
    /// Reads the config file named by `args` (if any) and merges.
    pub fn load(args: &ServeArgs) -> Result<ServeConfig, String> {
        let file = match &args.config {
            None => FileConfig::default(),
            Some(path) => read_file(path)?,
        };
        ServeConfig::merge(args, &file)
    }

    /// Flags/environment over file over defaults.
    pub fn merge(args: &ServeArgs, file: &FileConfig) -> Result<ServeConfig, String> {
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DATA_DIR_DEFAULT));
        let parse_default = |s: &str| s.parse::<SocketAddr>().map_err(|e| e.to_string());
        let api = match args.api.or(file.api) {
            Some(a) => a,
            None => parse_default(API_ADDR_DEFAULT)?,
        };
        let webhook = match args.webhook.or(file.webhook) {
            Some(a) => a,
            None => parse_default(WEBHOOK_ADDR_DEFAULT)?,
        };
        let quic = match args.quic.or(file.quic) {
            Some(a) => a,
            None => parse_default(QUIC_ADDR_DEFAULT)?,
        };
        let database_url = args
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
            .unwrap_or_else(|| crate::storage::SqlStore::sqlite_url(&data_dir));
        let body_bytes_max = args
            .body_bytes_max
            .or(file.body_bytes_max)
            .unwrap_or(BODY_BYTES_MAX_DEFAULT);
        let fl = file.rate_limits.clone().unwrap_or_default();
        let defaults = TierLimits::default();
        let pick = |flag: Option<Limit>, tier: &str, from_file: &Option<toml::Value>, default| {
            Ok::<_, String>(match flag.or(file_limit(tier, from_file)?) {
                Some(Limit(v)) => v,
                None => default,
            })
        };
        let rate_limits = TierLimits {
            anonymous: pick(
                args.rate_limit_anonymous,
                "anonymous",
                &fl.anonymous,
                defaults.anonymous,
            )?,
            authenticated: pick(
                args.rate_limit_authenticated,
                "authenticated",
                &fl.authenticated,
                defaults.authenticated,
            )?,
            premium: pick(
                args.rate_limit_premium,
                "premium",
                &fl.premium,
                defaults.premium,
            )?,
            enterprise: pick(
                args.rate_limit_enterprise,
                "enterprise",
                &fl.enterprise,
                defaults.enterprise,
            )?,
        };
        let shards = match args.shards.or(file.shards) {
            Some(0) => return Err("shards: at least 1".into()),
            Some(n) => n,
            None => linkflow_dataplane::node::affinity_cpus().len().max(1),
        };
        let durability = match (args.durability, &file.durability) {
            (Some(d), _) => d,
            (None, Some(text)) => text.parse().map_err(|e| format!("durability: {e}"))?,
            (None, None) => linkflow_dataplane::journal::Durability::default(),
        };
        let record_level = match (args.record_level, &file.record_level) {
            (Some(level), _) => level,
            (None, Some(text)) => text.parse().map_err(|e| format!("record-level: {e}"))?,
            (None, None) => linkflow_dataplane::journal::RecordLevel::default(),
        };
        Ok(ServeConfig {
            durability,
            record_level,
            data_dir,
            api,
            webhook,
            quic,
            database_url,
            body_bytes_max,
            rate_limits,
            shards,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// Reads secret `var` from the environment, or from `data_dir/file` (creating it with a fresh
/// value, mode 0600, on first start). Returns the secret and whether it was generated.
pub fn secret(
    var: &str,
    data_dir: &Path,
    file: &str,
    generate: impl FnOnce() -> Result<String, String>,
) -> Result<(String, bool), String> {
    if let Ok(value) = std::env::var(var) {
        if !value.trim().is_empty() {
            return Ok((value, false));
        }
    }
    let path = data_dir.join(file);
    if let Ok(value) = std::fs::read_to_string(&path) {
        return Ok((value.trim().to_owned(), false));
    }
    let value = generate()?;
    write_private(&path, &value).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((value, true))
}

fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(value.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "api = \"127.0.0.1:9000\"\nwebhook = \"127.0.0.1:9001\"\nquic = \"127.0.0.1:9002\"\n\
             [rate-limits]\nanonymous = 5\nenterprise = \"unlimited\"\npremium = 7\n",
        )
        .unwrap();
        let args = ServeArgs {
            api: Some("127.0.0.1:7000".parse().unwrap()),
            rate_limit_premium: Some(Limit(None)),
            ..ServeArgs::default()
        };
        let cfg = ServeConfig::merge(&args, &file).unwrap();
        assert_eq!(cfg.api.port(), 7000);
        assert_eq!(cfg.webhook.port(), 9001);
        assert_eq!(cfg.quic.port(), 9002);
        let defaults = ServeConfig::merge(&ServeArgs::default(), &FileConfig::default()).unwrap();
        assert_eq!(defaults.quic.to_string(), QUIC_ADDR_DEFAULT);
        assert_eq!(cfg.rate_limits.anonymous, Some(5));
        assert_eq!(cfg.rate_limits.premium, None);
        assert_eq!(cfg.rate_limits.authenticated, Some(1_000));
        assert_eq!(cfg.data_dir, PathBuf::from(DATA_DIR_DEFAULT));
        assert!(cfg.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn record_level_comes_from_the_flag_then_the_file_then_all() {
        use linkflow_dataplane::journal::RecordLevel;
        let file: FileConfig = toml::from_str("record-level = \"summary\"").unwrap();
        let cfg = ServeConfig::merge(&ServeArgs::default(), &file).unwrap();
        assert_eq!(cfg.record_level, RecordLevel::Summary);
        let args = ServeArgs {
            record_level: Some(RecordLevel::None),
            ..ServeArgs::default()
        };
        assert_eq!(
            ServeConfig::merge(&args, &file).unwrap().record_level,
            RecordLevel::None
        );
        let defaults = ServeConfig::merge(&ServeArgs::default(), &FileConfig::default()).unwrap();
        assert_eq!(defaults.record_level, RecordLevel::All);
        let bad: FileConfig = toml::from_str("record-level = \"full\"").unwrap();
        assert!(ServeConfig::merge(&ServeArgs::default(), &bad).is_err());
    }

    #[test]
    fn unknown_file_keys_and_bad_limits_are_errors() {
        assert!(toml::from_str::<FileConfig>("colour = 1").is_err());
        let file: FileConfig = toml::from_str("[rate-limits]\nanonymous = -1").unwrap();
        assert!(ServeConfig::merge(&ServeArgs::default(), &file).is_err());
        assert!("many".parse::<Limit>().is_err());
    }

    #[test]
    fn generated_secret_is_kept_for_the_next_start() {
        let dir = std::env::temp_dir().join(format!("lf-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let var = "LINKFLOW_TEST_SECRET_THAT_IS_NOT_SET";
        let (first, generated) = secret(var, &dir, "k", || Ok("abc".into())).unwrap();
        assert!(generated);
        let (second, again) = secret(var, &dir, "k", || Ok("other".into())).unwrap();
        assert_eq!((first.as_str(), again), (second.as_str(), false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
