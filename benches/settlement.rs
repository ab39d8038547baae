//! Rewards and settlement benchmarks (docs/PERFORMANCE.md, issue 5): a
//! million agents on a random tree 35 generations deep and ten million
//! orders in 2026-11, on SQLite.
//!
//!   cargo bench --bench settlement                    # 1,000,000 / 10,000,000
//!   AGENTS=100000 ORDERS=1000000 cargo bench --bench settlement
//!   KEEP_DIR=/tmp/issue5 cargo bench --bench settlement   # keep the files
//!
//! This file is also the data generator: agents.csv and orders.csv are
//! written to a temp folder (or KEEP_DIR, kept afterwards) and can be fed to
//! `weiops import agents` / `weiops import orders` by hand. Same seeds, same
//! files: agents.csv is byte for byte the one benches/agents.rs imports.
//!
//! Measures:
//! 1. the pure engine (`weiops_core::rewards::settle`, reference plan with
//!    all three rules) on vectors built in memory, best of 3, and
//!    `payouts_csv`;
//! 2. end to end with the release binary on a fresh data folder: `import
//!    agents` (reported, not part of the target), `import orders`, `settle
//!    --period 2026-11 --export payouts.csv`, each a child process under
//!    `/usr/bin/time -v` for its peak memory (maximum resident set size).
//!    A fresh installation's plan has Rule 3 off (spec: "starts from the
//!    reference configuration with Rule 3 switched off"), so the export is
//!    checked byte for byte against the pure engine run with `Plan::initial()`.
//!
//! The binary is the one `cargo bench` builds beside this bench
//! (target/release/weiops, same profile): nothing to build by hand.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use weiops_core::agents::AgentStatus;
use weiops_core::money::Fen;
use weiops_core::rewards::{Plan, PriceList, SettleAgent, SettleOrder, payouts_csv, settle};

/// xorshift64*: deterministic, no dependency (as in benches/agents.rs).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const DEPTH: usize = 35;
const PERIOD: &str = "2026-11";
const SECONDS_IN_NOVEMBER: usize = 30 * 86_400;

/// What the order generator and the engine need of each agent.
struct Network {
    level: Vec<u8>,
    sponsor: Vec<Option<u32>>,
    frozen: Vec<bool>,
}

impl Network {
    fn settle_agents(&self) -> Vec<SettleAgent> {
        (0..self.level.len())
            .map(|i| SettleAgent {
                id: format!("A{i}"),
                level: self.level[i],
                sponsor: self.sponsor[i].map(|s| s as usize),
                status: if self.frozen[i] {
                    AgentStatus::Frozen
                } else {
                    AgentStatus::Active
                },
            })
            .collect()
    }
}

/// agents.csv with `n` agents, the generator of benches/agents.rs written
/// through a BufWriter: one root; every other agent hangs under a random
/// agent of a random generation, so generations fill to DEPTH; levels grow
/// with depth (root 1, generation 1 at 2–3, then 3–4, then 4–5); 1 in 50
/// frozen.
fn generate_agents(n: usize, path: &Path) -> std::io::Result<Network> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut by_depth: Vec<Vec<u32>> = vec![vec![0]];
    let mut net = Network {
        level: Vec::with_capacity(n),
        sponsor: Vec::with_capacity(n),
        frozen: Vec::with_capacity(n),
    };
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(b"id,name,phone,wechat,level,sponsor_id,status,joined_at\n")?;
    writeln!(
        out,
        "A0,创始人,13900000000,wx0,1,,active,2025-01-01T00:00:00+08:00"
    )?;
    net.level.push(1);
    net.sponsor.push(None);
    net.frozen.push(false);
    for i in 1..n {
        let max_depth = by_depth.len().min(DEPTH);
        let d = 1 + rng.below(max_depth);
        let parents = &by_depth[d - 1];
        let parent = parents[rng.below(parents.len())];
        if by_depth.len() <= d {
            by_depth.push(Vec::new());
        }
        by_depth[d].push(i as u32);
        let level = 1 + (d.min(4) + rng.below(2)).min(4);
        let frozen = rng.below(50) == 0;
        let status = if frozen { "frozen" } else { "active" };
        let day = 1 + rng.below(28);
        let month = 1 + rng.below(12);
        writeln!(
            out,
            "A{i},代理{i},1{:010},wx{i},{level},A{parent},{status},2025-{month:02}-{day:02}T10:00:00+08:00",
            3_000_000_000u64 + i as u64
        )?;
        net.level.push(level as u8);
        net.sponsor.push(Some(parent));
        net.frozen.push(frozen);
    }
    out.flush()?;
    Ok(net)
}

/// Orders at the edges of the Beijing month, spread through the file:
/// (paid_at, inside 2026-11?). Same instants written with `+08:00` and `Z`.
const EDGES: [(&str, bool); 8] = [
    ("2026-11-01T00:00:00+08:00", true),
    ("2026-10-31T23:59:59.999+08:00", false),
    ("2026-10-31T16:00:00Z", true),
    ("2026-10-31T15:59:59Z", false),
    ("2026-11-30T23:59:59.999+08:00", true),
    ("2026-12-01T00:00:00+08:00", false),
    ("2026-11-30T15:59:59.999z", true),
    ("2026-11-30T16:00:00Z", false),
];

/// orders.csv with `n` orders of 2026-11 (Beijing): random buyers at their
/// own level, retail 1,000..=1,000,000 fen, 3 in 100 refunded, paid at a
/// random second of the month, and the EDGES orders (paid) spread through
/// the file. Also returns each order as the engine sees it.
fn generate_orders(n: usize, net: &Network, path: &Path) -> std::io::Result<Vec<SettleOrder>> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let agents = net.level.len();
    let mut orders = Vec::with_capacity(n);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(b"id,agent_id,buyer_level,retail_fen,paid_at,status\n")?;
    let stride = (n / EDGES.len()).max(1);
    for i in 0..n {
        let buyer = rng.below(agents);
        let level = net.level[buyer];
        let retail = 1_000 + rng.below(999_001) as i64;
        let edge = (i % stride == 0).then(|| EDGES.get(i / stride)).flatten();
        let refunded = edge.is_none() && rng.below(100) < 3;
        let status = if refunded { "refunded" } else { "paid" };
        let inside = match edge {
            Some((at, inside)) => {
                writeln!(out, "O{i},A{buyer},{level},{retail},{at},{status}")?;
                *inside
            }
            None => {
                let s = rng.below(SECONDS_IN_NOVEMBER);
                writeln!(
                    out,
                    "O{i},A{buyer},{level},{retail},2026-11-{:02}T{:02}:{:02}:{:02}+08:00,{status}",
                    1 + s / 86_400,
                    s % 86_400 / 3_600,
                    s % 3_600 / 60,
                    s % 60
                )?;
                true
            }
        };
        orders.push(SettleOrder {
            buyer,
            buyer_level: level,
            retail: Fen(retail),
            counted: inside && !refunded,
            prices: PriceList::RATE,
        });
    }
    out.flush()?;
    Ok(orders)
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = std::hint::black_box(f());
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("at least one run"))
}

/// One child process: wall time, peak RSS (KiB) when /usr/bin/time is
/// there, and what it printed.
struct Step {
    wall: Duration,
    max_rss_kib: Option<u64>,
    stdout: String,
}

const GNU_TIME: &str = "/usr/bin/time";

fn run_step(bin: &Path, data_dir: &Path, args: &[&str]) -> Step {
    let measured = Path::new(GNU_TIME).exists();
    let mut cmd = if measured {
        let mut c = Command::new(GNU_TIME);
        c.arg("-v").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.arg("--data-dir").arg(data_dir).args(args);
    let t = Instant::now();
    let out = cmd.output().expect("start weiops");
    let wall = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!(
            "weiops {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
    }
    let max_rss_kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok());
    Step {
        wall,
        max_rss_kib,
        stdout,
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

fn rss(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| mib(k * 1024))
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let agents_n = env_count("AGENTS", 1_000_000).max(1);
    let orders_n = env_count("ORDERS", 10_000_000);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_weiops"));

    let temp;
    let dir: PathBuf = match std::env::var_os("KEEP_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).expect("create KEEP_DIR");
            d
        }
        None => {
            temp = tempfile::tempdir().expect("temp dir");
            temp.path().to_path_buf()
        }
    };
    let agents_csv = dir.join("agents.csv");
    let orders_csv = dir.join("orders.csv");
    let payouts = dir.join("payouts.csv");
    let data_dir = dir.join("data");
    // A fresh database every run, also in a kept folder.
    let _ = std::fs::remove_dir_all(&data_dir);
    println!("files in {}", dir.display());

    // 1. The data.
    let t = Instant::now();
    let net = generate_agents(agents_n, &agents_csv).expect("write agents.csv");
    let gen_agents = t.elapsed();
    let t = Instant::now();
    let orders = generate_orders(orders_n, &net, &orders_csv).expect("write orders.csv");
    let gen_orders = t.elapsed();
    println!(
        "generated {agents_n} agents ({}) in {:.1} s, {orders_n} orders ({}) in {:.1} s",
        mib(file_size(&agents_csv)),
        gen_agents.as_secs_f64(),
        mib(file_size(&orders_csv)),
        gen_orders.as_secs_f64()
    );

    // 2. The pure engine.
    let agents = net.settle_agents();
    drop(net);
    let counted = orders.iter().filter(|o| o.counted).count();
    let reference = Plan::reference();
    let (engine, totals) = best_of(3, || settle(&reference, &agents, &orders));
    let earners = totals.iter().filter(|t| t.total.0 > 0).count();
    let (csv_time, csv) = best_of(3, || payouts_csv(&agents, &totals));
    println!(
        "engine, reference plan: {counted} counted orders, {earners} earners in {:.2} s (best of 3); payouts_csv {:.2} s ({})",
        engine.as_secs_f64(),
        csv_time.as_secs_f64(),
        mib(csv.len() as u64)
    );
    drop((totals, csv));
    let initial = Plan::initial();
    let (engine_initial, totals) = best_of(1, || settle(&initial, &agents, &orders));
    let expected = payouts_csv(&agents, &totals);
    let expected_earners = totals.iter().filter(|t| t.total.0 > 0).count();
    println!(
        "engine, initial plan (Rule 3 off, what the CLI uses): {expected_earners} earners in {:.2} s",
        engine_initial.as_secs_f64()
    );
    drop((totals, orders, agents));

    // 3. End to end with the release binary.
    if !Path::new(GNU_TIME).exists() {
        println!("note: {GNU_TIME} is missing, peak memory not measured (apt-get install -y time)");
    }
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_string();
    let import_agents = run_step(&bin, &data_dir, &["import", "agents", &path(&agents_csv)]);
    println!("import agents: {}", import_agents.stdout);
    let import_orders = run_step(&bin, &data_dir, &["import", "orders", &path(&orders_csv)]);
    println!("import orders: {}", import_orders.stdout);
    let settle_step = run_step(
        &bin,
        &data_dir,
        &["settle", "--period", PERIOD, "--export", &path(&payouts)],
    );
    println!("settle: {}", settle_step.stdout);

    let written = std::fs::read_to_string(&payouts).expect("read payouts.csv");
    let rows = written.lines().count().saturating_sub(1);
    assert!(
        written.starts_with("agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n")
            && rows > 0,
        "payouts.csv has no header or no rows"
    );
    let same = written == expected;
    println!(
        "payouts.csv: {rows} rows, {}; {} the pure engine's",
        mib(written.len() as u64),
        if same {
            "identical to"
        } else {
            "DIFFERENT from"
        }
    );
    let db_size: u64 = std::fs::read_dir(&data_dir)
        .map(|d| d.flatten().map(|e| file_size(&e.path())).sum())
        .unwrap_or(0);

    // 4. The table.
    let e2e = import_orders.wall + settle_step.wall;
    let peak = [import_orders.max_rss_kib, settle_step.max_rss_kib]
        .into_iter()
        .flatten()
        .max();
    let s = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    println!();
    println!(
        "{agents_n} agents, {orders_n} orders ({counted} counted), SQLite database {}",
        mib(db_size)
    );
    println!("| figure | target | measured | peak RSS |");
    println!("|---|---|---:|---:|");
    println!(
        "| pure engine `settle`, reference plan (best of 3) | ≤ 5 s | {:.2} s, {earners} earners | |",
        engine.as_secs_f64()
    );
    println!(
        "| pure engine `payouts_csv` | | {:.2} s | |",
        csv_time.as_secs_f64()
    );
    println!(
        "| `weiops import agents` (not in the target) | | {} | {} |",
        s(import_agents.wall),
        rss(import_agents.max_rss_kib)
    );
    println!(
        "| `weiops import orders` | | {} | {} |",
        s(import_orders.wall),
        rss(import_orders.max_rss_kib)
    );
    println!(
        "| `weiops settle --period {PERIOD} --export payouts.csv` | | {} | {} |",
        s(settle_step.wall),
        rss(settle_step.max_rss_kib)
    );
    println!(
        "| end to end (import orders + settle + export) | ≤ 60 s, ≤ 1.5 GB | {} | {} |",
        s(e2e),
        rss(peak)
    );
    let limit_kib = 1536 * 1024;
    println!(
        "engine target {}; end-to-end time {}; peak memory {}; export {}",
        if engine.as_secs_f64() <= 5.0 {
            "met"
        } else {
            "MISSED"
        },
        if e2e.as_secs_f64() <= 60.0 {
            "met"
        } else {
            "MISSED"
        },
        match peak {
            Some(k) if k <= limit_kib => "met",
            Some(_) => "MISSED",
            None => "not measured",
        },
        if same { "checked" } else { "MISMATCH" }
    );
}
