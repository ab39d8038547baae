//! The `weiops` command: `serve`, `migrate`, user and token administration,
//! `backup`. Every flag can also be set with a `WEIOPS_*` variable.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::audit::Actor;
use crate::config::{GlobalOpts, LogFormat, ServeOpts};
use crate::db::{self, Db, Engine};
use crate::state::ServerOptions;
use crate::users::store as users;

#[derive(Debug, Parser)]
#[command(name = "weiops", version, about = "微运营 weiops — runs a 微商 brand company: staff, agents, orders, stock, finance", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server (migrates the database first; on a new database
    /// creates the `admin` account and prints its password once).
    Serve(ServeOpts),
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Organisation templates.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Import data files (all or nothing: any error stores nothing).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export data files.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Compute the settlement draft of a month (Asia/Shanghai), or
    /// recompute it while it is a draft, and optionally write payouts.csv
    /// (shared/spec/settlement.md). An approved or paid month is refused.
    Settle {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        period: String,
        /// Write payouts.csv here.
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Write a consistent copy of a running SQLite database to FILE
    /// (for PostgreSQL, use pg_dump).
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account. Without --password-stdin a random password is
    /// printed, to be changed at first sign-in; a password given on standard
    /// input is taken as the holder's own (an operator creating their own
    /// account) and stands.
    Create {
        username: String,
        /// Role code to give, e.g. `admin`; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (random, printed, to be changed at next sign-in,
    /// unless given on standard input), end the user's sessions and lift a lock.
    ResetPassword {
        username: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        username: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import agents.csv (shared/spec/settlement.md) or an .xlsx with the
    /// same columns. Every problem is listed with its line; on any problem
    /// nothing is stored and the exit code is 1.
    Agents { file: PathBuf },
    /// Import orders.csv (shared/spec/settlement.md: paid and refunded
    /// orders of known agents) or an .xlsx with the same columns. All or
    /// nothing: on any problem every one is listed by line and the exit
    /// code is 1.
    Orders { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write every agent in the agents.csv format (.csv or .xlsx by the
    /// file's extension); importing it gives the same network back.
    Agents { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// List the organisation templates (built in and from <data-dir>/org-templates).
    Templates,
    /// Create a template's departments, positions and roles. What exists
    /// already (same code) is reused, so applying twice creates nothing twice.
    Apply {
        /// Template id, as `weiops org templates` lists it.
        template: String,
        /// Only show what would be created.
        #[arg(long)]
        dry_run: bool,
        /// Department codes to apply (comma-separated); default: every
        /// non-optional department.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let result = run(cli).await;
        close_opened().await;
        result
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(g: &GlobalOpts) {
    let filter = tracing_subscriber::EnvFilter::try_new(&g.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match g.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!p.is_empty(), "no password on standard input");
    Ok(p)
}

/// Pools this process opened, closed before it exits. SQLite checkpoints
/// and removes its WAL when the last connection closes; a process that
/// just exits leaves the WAL behind, and the next command first replays it
/// and then searches it on every read: after importing ten million orders
/// that was a 1.2 GB WAL, 3 s to open and a tenth of the settlement's time.
static OPENED: std::sync::Mutex<Vec<Db>> = std::sync::Mutex::new(Vec::new());

async fn open(g: &GlobalOpts, max_connections: u32) -> anyhow::Result<Db> {
    open_with(g, max_connections, db::Checkpoints::OnCommit).await
}

async fn open_with(
    g: &GlobalOpts,
    max_connections: u32,
    checkpoints: db::Checkpoints,
) -> anyhow::Result<Db> {
    let db = db::connect_with(&g.database_url(), max_connections, checkpoints).await?;
    if let Ok(mut opened) = OPENED.lock() {
        opened.push(db.clone());
    }
    db::migrate(&db).await?;
    // A data migration in Rust (it prices orders by the SKUs' price history).
    crate::orders::pricing::backfill(&db).await?;
    Ok(db)
}

async fn close_opened() {
    let pools = OPENED
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    for db in pools {
        db.close().await;
    }
}

/// Explains a validation error from the store on the console.
fn describe(e: crate::Error) -> anyhow::Error {
    let locale = crate::i18n::Locale::En;
    match &e {
        crate::Error::Validation(fields) => {
            let parts: Vec<String> = fields
                .0
                .iter()
                .map(|(f, k)| format!("{f}: {}", locale.t(k)))
                .collect();
            anyhow::anyhow!("{}", parts.join("; "))
        }
        other => anyhow::anyhow!("{}", other.report().message(locale)),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Serve(opts) => serve(g, opts).await,
        Command::Migrate => {
            open(g, 1).await?;
            println!("database is up to date: {}", db::redact(&g.database_url()));
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Create {
            username,
            roles,
            name,
            password_stdin,
        }) => {
            let db = open(g, 2).await?;
            let mut role_ids = Vec::new();
            for code in &roles {
                let role = crate::access::roles::find_by_code(&db, code)
                    .await
                    .map_err(describe)?
                    .with_context(|| format!("no role with code {code:?}"))?;
                role_ids.push(role.id);
            }
            let password = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let input = users::NewUser {
                display_name: name.unwrap_or_else(|| username.clone()),
                username,
                phone: None,
                password,
                role_ids,
            };
            // A password typed here is the operator's own (their account at
            // the server); a printed one is not, so it must be changed.
            let created = if password_stdin {
                users::create_own(&db, &Actor::system("cli"), &input).await
            } else {
                users::create(&db, &Actor::system("cli"), &input).await
            };
            let (id, generated) = created.map_err(describe)?;
            println!(
                "created user #{id} {}",
                input.username.trim().to_ascii_lowercase()
            );
            if let Some(p) = generated {
                println!("password (shown once; to be changed at first sign-in): {p}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::ResetPassword {
            username,
            password_stdin,
        }) => {
            let db = open(g, 2).await?;
            let user = users::find_by_username(&db, &username)
                .await
                .map_err(describe)?
                .with_context(|| format!("no user {username:?}"))?;
            let chosen = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let given = chosen.is_some();
            let p = users::reset_password(&db, &Actor::system("cli"), user.id, chosen)
                .await
                .map_err(describe)?;
            if given {
                println!(
                    "password of {} changed; their sessions have ended",
                    user.username
                );
            } else {
                println!(
                    "new password for {} (shown once; to be changed at next sign-in): {p}",
                    user.username
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create { username, name }) => {
            let db = open(g, 2).await?;
            let user = users::find_by_username(&db, &username)
                .await
                .map_err(describe)?
                .with_context(|| format!("no user {username:?}"))?;
            let (_, secret) =
                crate::auth::tokens::create(&db, &Actor::system("cli"), user.id, &name)
                    .await
                    .map_err(describe)?;
            println!("{secret}");
            eprintln!(
                "API token for {} (shown once). Use: Authorization: Bearer <token>",
                user.username
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Org(OrgCommand::Templates) => {
            for l in crate::org::templates::load(Some(&g.data_dir)) {
                let t = &l.template;
                let state = if l.problems.is_empty() {
                    "ok"
                } else {
                    "INVALID"
                };
                println!(
                    "{:<32} {:<24} {:>3} departments {:>3} positions {:>3} roles  {}{}",
                    t.id,
                    t.name,
                    t.departments.len(),
                    t.positions.len(),
                    t.roles.len(),
                    if l.built_in { "built-in" } else { "custom" },
                    if state == "ok" {
                        String::new()
                    } else {
                        format!("  {state}: {}", l.problems.join("; "))
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Org(OrgCommand::Apply {
            template,
            dry_run,
            only,
        }) => {
            let db = open(g, 2).await?;
            let t = crate::org::templates::find(Some(&g.data_dir), &template).map_err(|e| {
                anyhow::anyhow!(
                    "template {template:?}: {}",
                    e.report().message(crate::i18n::Locale::En)
                )
            })?;
            let only = (!only.is_empty()).then_some(only);
            let plan = if dry_run {
                crate::org::templates::plan(&db, &t, only.as_deref())
                    .await
                    .map_err(describe)?
            } else {
                crate::org::templates::apply(&db, &Actor::system("cli"), &t, only.as_deref())
                    .await
                    .map_err(describe)?
            };
            use crate::org::templates::PlanAction;
            for (kind, items) in [
                ("department", &plan.departments),
                ("position", &plan.positions),
                ("role", &plan.roles),
            ] {
                for i in items {
                    let what = match i.action {
                        PlanAction::Create if dry_run => "would create",
                        PlanAction::Create => "created",
                        PlanAction::Exists => "exists",
                        PlanAction::Skip => "skipped",
                    };
                    println!("{what:<12} {kind:<10} {:<28} {}", i.code, i.name);
                }
            }
            println!(
                "{}: {} {}, {} reused",
                t.id,
                plan.count(PlanAction::Create),
                if dry_run { "to create" } else { "created" },
                plan.count(PlanAction::Exists)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(ImportCommand::Agents { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let db = open(g, 2).await?;
            let started = std::time::Instant::now();
            let quiet = |_stage: &'static str, _done: usize, _total: usize| {};
            match crate::agents::import::import(&db, &Actor::system("cli"), &bytes, &quiet).await {
                Ok(report) => {
                    println!(
                        "imported {} agents, issued {} certificates in {:.1} s",
                        report.agents,
                        report.certificates,
                        started.elapsed().as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::Error::ImportRejected(rows)) => Ok(print_rejected(&rows, &file)),
                Err(e) => Err(describe(e)),
            }
        }
        Command::Import(ImportCommand::Orders { file }) => {
            let db = open(g, 2).await?;
            let started = std::time::Instant::now();
            let quiet = |_stage: &'static str, _done: usize, _total: usize| {};
            let source = crate::orders::import::Source::File(&file);
            match crate::orders::import::import(&db, &Actor::system("cli"), source, &quiet).await {
                Ok(report) => {
                    println!(
                        "imported {} orders ({} paid, {} refunded; paid {}) in {:.1} s",
                        report.orders,
                        report.paid,
                        report.refunded,
                        weiops_core::money::Fen(report.paid_fen),
                        started.elapsed().as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::Error::ImportRejected(rows)) => Ok(print_rejected(&rows, &file)),
                Err(e) => Err(describe(e)),
            }
        }
        Command::Settle { period, export } => {
            let Some(period) = weiops_core::time::Period::parse(&period) else {
                eprintln!("error: --period must be a month as YYYY-MM, got {period:?}");
                return Ok(ExitCode::FAILURE);
            };
            let db = open(g, 2).await?;
            let started = std::time::Instant::now();
            match crate::rewards::settlement::compute(&db, &Actor::system("cli"), period).await {
                Ok(c) => {
                    if let Some(path) = export {
                        let csv = weiops_core::rewards::payouts_csv(&c.network.agents, &c.totals);
                        std::fs::write(&path, csv)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                    println!(
                        "settlement {} (draft #{}): {} orders, {} earners, level difference {}, referral {}, team {}, clawbacks {}, total {} in {:.1} s",
                        c.run.period,
                        c.run.id,
                        c.run.orders_count,
                        c.run.earners,
                        weiops_core::money::Fen(c.run.level_diff_fen),
                        weiops_core::money::Fen(c.run.referral_fen),
                        weiops_core::money::Fen(c.run.team_fen),
                        weiops_core::money::Fen(c.run.adjust_fen),
                        weiops_core::money::Fen(c.run.total_fen),
                        started.elapsed().as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::Error::Conflict("settlement.already_settled")) => {
                    eprintln!(
                        "error: {period} is already settled (approved or paid); it cannot be computed again, so nothing is paid twice"
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(describe(e)),
            }
        }
        Command::Export(ExportCommand::Agents { file }) => {
            let db = open(g, 2).await?;
            let table = crate::agents::transfer::export_table(&db)
                .await
                .map_err(describe)?;
            let bytes = if file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
            {
                crate::export::to_xlsx(&table).map_err(describe)?
            } else {
                crate::agents::transfer::to_spec_csv(&table).map_err(describe)?
            };
            std::fs::write(&file, bytes)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("exported {} agents to {}", table.rows.len(), file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let url = g.database_url();
            if db::engine_of(&url)? == Engine::Postgres {
                eprintln!(
                    "error: `weiops backup` copies SQLite databases. For PostgreSQL use pg_dump, e.g.\n  pg_dump --format=custom --file=weiops.dump \"{}\"",
                    db::redact(&url)
                );
                return Ok(ExitCode::from(2));
            }
            anyhow::ensure!(
                !file.exists(),
                "{} already exists; choose a new file",
                file.display()
            );
            let db = open(g, 1).await?;
            // VACUUM INTO writes a consistent snapshot while the server runs.
            sqlx::query("VACUUM INTO $1")
                .bind(file.to_string_lossy().to_string())
                .execute(&db.pool)
                .await
                .with_context(|| format!("backup to {} failed", file.display()))?;
            println!("backup written to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(g: &GlobalOpts, opts: ServeOpts) -> anyhow::Result<ExitCode> {
    let shutdown = crate::app::shutdown_signal();
    let db = open_with(g, opts.db_max_connections, db::Checkpoints::Background).await?;
    if let Some(password) = users::bootstrap_admin(&db).await.map_err(describe)? {
        println!("==============================================================");
        println!(" weiops first start: created the administrator account");
        println!("   username: admin");
        println!("   password: {password}");
        println!(" This password is shown only once; you will be asked to change");
        println!(" it when you first sign in. 首次启动已创建管理员账号 admin，");
        println!(" 密码仅显示这一次，首次登录时需修改。");
        println!("==============================================================");
    }
    let reaped = crate::jobs::reap_stale(&db).await.map_err(describe)?;
    if reaped > 0 {
        tracing::warn!(
            jobs = reaped,
            "marked jobs left unfinished by a stopped server as failed"
        );
    }
    let mut options = ServerOptions::new(opts.base_url());
    options.session_policy = weiops_core::accounts::SessionPolicy {
        idle_ms: opts.session_idle_minutes.max(1) * 60_000,
        absolute_ms: opts.session_max_hours.max(1) * 3_600_000,
    };
    crate::housekeeping::spawn(db.clone(), options.session_policy);
    crate::housekeeping::spawn_reservations(db.clone());
    options.trust_proxy = opts.trust_proxy;
    options.data_dir = Some(g.data_dir.clone());
    options.body_limit_bytes = opts.body_limit_kb.max(16) * 1024;
    options.request_timeout = std::time::Duration::from_secs(opts.request_timeout_secs.max(1));
    let listener = tokio::net::TcpListener::bind(&opts.bind)
        .await
        .with_context(|| format!("cannot listen on {}", opts.bind))?;
    tracing::info!(address = %opts.bind, base_url = %options.base_url, database = %db::redact(&g.database_url()), "weiops is serving");
    println!(
        "weiops {} is serving on http://{}",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?
    );
    let state = crate::app::state(db, options);
    crate::app::serve(listener, state, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the problems of a refused file on stderr (in English) and returns
/// the failure exit code.
fn print_rejected(rows: &[crate::error::RowProblem], file: &std::path::Path) -> ExitCode {
    let locale = crate::i18n::Locale::En;
    let mut shown = 0usize;
    for r in rows {
        if r.row == 0 {
            eprintln!("{}", locale.tf(&r.key, &[("n", &r.value)]));
            continue;
        }
        shown += 1;
        let id = if r.id.is_empty() {
            String::new()
        } else {
            format!(" (id {})", r.id)
        };
        let col = if r.column.is_empty() {
            String::new()
        } else {
            format!(" {}:", r.column)
        };
        eprintln!(
            "line {}{id}:{col} {} {:?}",
            r.row,
            locale.t(&r.key),
            r.value
        );
    }
    let more: usize = rows
        .iter()
        .filter(|r| r.row == 0)
        .filter_map(|r| r.value.parse::<usize>().ok())
        .sum();
    eprintln!(
        "error: {} problem(s) in {}; nothing was imported",
        shown + more,
        file.display()
    );
    ExitCode::FAILURE
}
