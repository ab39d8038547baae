//! Settings shared by every command. Each flag can also come from a
//! `WEIOPS_*` environment variable (see README).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Database URL: `sqlite://data/weiops.db` or `postgres://user@host/db`.
    /// Default: a SQLite file `weiops.db` inside --data-dir.
    #[arg(long, env = "WEIOPS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Folder for the SQLite database and uploaded files; created if missing.
    #[arg(long, env = "WEIOPS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Log filter, e.g. `info`, `debug`, `weiops=debug,sqlx=warn`.
    #[arg(long, env = "WEIOPS_LOG", default_value = "info", global = true)]
    pub log_level: String,

    /// Log format.
    #[arg(long, env = "WEIOPS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl GlobalOpts {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("weiops.db").display()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address to listen on.
    #[arg(long, env = "WEIOPS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Public URL of this installation, used in links and QR codes
    /// (e.g. `https://ops.example.com`). Default: http://<bind>.
    #[arg(long, env = "WEIOPS_BASE_URL")]
    pub base_url: Option<String>,

    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "WEIOPS_SESSION_IDLE_MINUTES", default_value_t = 120)]
    pub session_idle_minutes: i64,

    /// Hours after sign-in after which a session ends, used or not.
    #[arg(long, env = "WEIOPS_SESSION_MAX_HOURS", default_value_t = 168)]
    pub session_max_hours: i64,

    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy.
    #[arg(long, env = "WEIOPS_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,

    /// Largest request body accepted, in KiB.
    #[arg(long, env = "WEIOPS_BODY_LIMIT_KB", default_value_t = 2048)]
    pub body_limit_kb: usize,

    /// Seconds a request may take before it is answered with 503.
    #[arg(long, env = "WEIOPS_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Database connections per server process.
    #[arg(long, env = "WEIOPS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl ServeOpts {
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }
}
