//! Agent-network benchmarks (docs/PERFORMANCE.md): a million agents on a
//! random tree 35 generations deep, on SQLite.
//!
//!   cargo bench --bench agents             # 1,000,000 agents
//!   AGENTS=100000 cargo bench --bench agents
//!
//! Measures: importing the file (parse, check, place, write with
//! certificates); team size and monthly team purchases of the root (every
//! agent is below it); the agent list query with filters, by percentile.

use std::io::Write;
use std::time::{Duration, Instant};

use weiops::audit::Actor;
use weiops::web::list::ListParams;

/// xorshift64*: deterministic, no dependency.
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

/// agents.csv with `n` agents: one root; every other agent hangs under a
/// random agent of a random generation, so generations fill to DEPTH.
fn generate(n: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut by_depth: Vec<Vec<usize>> = vec![vec![0]];
    let mut out = Vec::with_capacity(n * 80);
    out.extend_from_slice(b"id,name,phone,wechat,level,sponsor_id,status,joined_at\n");
    let provinces = ["广东", "浙江", "江苏", "四川", "山东", "湖南"];
    writeln!(
        out,
        "A0,创始人,13900000000,wx0,1,,active,2025-01-01T00:00:00+08:00"
    )
    .unwrap();
    for i in 1..n {
        let max_depth = by_depth.len().min(DEPTH);
        let d = 1 + rng.below(max_depth);
        let parents = &by_depth[d - 1];
        let parent = parents[rng.below(parents.len())];
        if by_depth.len() <= d {
            by_depth.push(Vec::new());
        }
        by_depth[d].push(i);
        let level = 1 + (d.min(4) + rng.below(2)).min(4);
        let status = if rng.below(50) == 0 {
            "frozen"
        } else {
            "active"
        };
        let day = 1 + rng.below(28);
        let month = 1 + rng.below(12);
        let _ = provinces[i % provinces.len()];
        writeln!(
            out,
            "A{i},代理{i},1{:010},wx{i},{level},A{parent},{status},2025-{month:02}-{day:02}T10:00:00+08:00",
            3_000_000_000u64 + i as u64
        )
        .unwrap();
    }
    out
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let n: usize = std::env::var("AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let db = weiops::db::connect(&url, 4).await.unwrap();
        weiops::db::migrate(&db).await.unwrap();

        let t = Instant::now();
        let file = generate(n);
        println!(
            "generated {n} agents ({:.1} MB) in {:.2} s",
            file.len() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );

        let quiet = |_: &'static str, _: usize, _: usize| {};
        let t = Instant::now();
        let report = weiops::agents::import::import(&db, &Actor::system("bench"), &file, &quiet)
            .await
            .unwrap();
        let import = t.elapsed();
        println!(
            "import: {} agents, {} certificates in {:.2} s ({:.0} agents/s)",
            report.agents,
            report.certificates,
            import.as_secs_f64(),
            report.agents as f64 / import.as_secs_f64()
        );

        let root = weiops::agents::store::find_by_code(&db, "A0")
            .await
            .unwrap()
            .unwrap();
        let mut samples = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let (size, _own, _team) = weiops::agents::store::team_figures(&db, &root, "2026-11")
                .await
                .unwrap();
            samples.push(t.elapsed());
            assert_eq!(size as usize, n - 1);
        }
        println!(
            "team size + monthly team purchases of the root ({} descendants): p50 {:?}, p99 {:?}",
            n - 1,
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99)
        );

        let queries: [&[(&str, &str)]; 6] = [
            &[],
            &[("level", "3")],
            &[("status", "frozen")],
            &[("q", "代理12345")],
            &[("joined_from", "2025-03-01"), ("joined_to", "2025-03-31")],
            &[
                ("level", "2"),
                ("sort", "team"),
                ("dir", "desc"),
                ("page", "3"),
            ],
        ];
        for q in queries {
            let params = ListParams::from_pairs("/agents", q);
            let filter = weiops::agents::api::filter_of(&params).unwrap();
            let order = params.order_by(weiops::agents::store::SORTS, "a.joined_at DESC");
            let mut samples = Vec::new();
            for _ in 0..100 {
                let t = Instant::now();
                let (_rows, info) =
                    weiops::agents::store::list(&db, &filter, &order, params.page())
                        .await
                        .unwrap();
                samples.push(t.elapsed());
                std::hint::black_box(info.total);
            }
            println!(
                "agent list {q:?}: p50 {:?}, p99 {:?}",
                percentile(&mut samples, 0.5),
                percentile(&mut samples, 0.99)
            );
        }
        let t = Instant::now();
        let team = weiops::agents::store::team(&db, &root, false)
            .await
            .unwrap();
        println!(
            "team view of the root ({} generations counted from counters): {:?}",
            team.generations.len(),
            t.elapsed()
        );
        let t = Instant::now();
        let team = weiops::agents::store::team(&db, &root, true).await.unwrap();
        println!(
            "every generation of the root ({} generations, on demand): {:?}",
            team.generations.len(),
            t.elapsed()
        );
    });
}
