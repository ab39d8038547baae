//! Property tests of the agent network rules: any forest is placed with
//! consistent paths, depths and team sizes; any cycle is named exactly;
//! timestamps survive a round trip through the exchange format.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::Index;
use weiops_core::agents::{
    AgentRow, AgentStatus, ExistingAgent, ForestPlan, ProblemKind, plan_forest,
};
use weiops_core::time::{RFC3339_MAX_MS, RFC3339_MIN_MS, format_rfc3339_ms, parse_rfc3339_ms};

const NEXT_ID: i64 = 100;

/// Who sponsors an agent of the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Up {
    Root,
    /// An earlier agent of the batch (by generation index, not file line).
    New(usize),
    /// A stored agent.
    Stored(usize),
}

/// A batch on top of a stored forest. Agents are generated parents-first
/// (`Up::New(j)` has `j < i`), then written to the file in `file_order`.
#[derive(Debug, Clone)]
struct Batch {
    /// Parent of each stored agent; stored agent k has database id k + 1.
    stored: Vec<Option<usize>>,
    up: Vec<Up>,
    /// File position of each agent.
    position: Vec<usize>,
}

impl Batch {
    fn existing(&self) -> HashMap<String, ExistingAgent> {
        let mut paths: Vec<String> = Vec::new();
        let mut depths: Vec<i64> = Vec::new();
        for (k, parent) in self.stored.iter().enumerate() {
            let (path, depth) = match parent {
                Some(p) => (format!("{}{}/", paths[*p], k + 1), depths[*p] + 1),
                None => (format!("/{}/", k + 1), 0),
            };
            paths.push(path);
            depths.push(depth);
        }
        (0..self.stored.len())
            .map(|k| {
                (
                    format!("E{k}"),
                    ExistingAgent {
                        id: k as i64 + 1,
                        path: paths[k].clone(),
                        depth: depths[k],
                    },
                )
            })
            .collect()
    }

    fn rows(&self) -> Vec<AgentRow> {
        let n = self.up.len();
        let mut rows: Vec<Option<AgentRow>> = vec![None; n];
        for (agent, up) in self.up.iter().enumerate() {
            let pos = self.position[agent];
            rows[pos] = Some(AgentRow {
                line: pos + 2,
                id: format!("N{agent}"),
                name: format!("Agent {agent}"),
                phone: String::new(),
                wechat: String::new(),
                level: 3,
                sponsor_id: match up {
                    Up::Root => None,
                    Up::New(j) => Some(format!("N{j}")),
                    Up::Stored(k) => Some(format!("E{k}")),
                },
                status: AgentStatus::Active,
                joined_at_ms: 0,
            });
        }
        rows.into_iter().map(Option::unwrap).collect()
    }

    /// Database id of an agent of the batch.
    fn db_id(&self, agent: usize) -> i64 {
        NEXT_ID + self.position[agent] as i64
    }

    /// Whether `ancestor` is `agent` or above it within the batch.
    fn is_within(&self, mut agent: usize, ancestor: usize) -> bool {
        loop {
            if agent == ancestor {
                return true;
            }
            match self.up[agent] {
                Up::New(p) => agent = p,
                _ => return false,
            }
        }
    }

    /// The stored agent a batch agent's branch hangs from, if any.
    fn stored_attach(&self, mut agent: usize) -> Option<usize> {
        loop {
            match self.up[agent] {
                Up::New(p) => agent = p,
                Up::Stored(k) => return Some(k),
                Up::Root => return None,
            }
        }
    }

    fn stored_is_within(&self, mut k: usize, ancestor: usize) -> bool {
        loop {
            if k == ancestor {
                return true;
            }
            match self.stored[k] {
                Some(p) => k = p,
                None => return false,
            }
        }
    }
}

fn parents(n: usize) -> impl Strategy<Value = Vec<Option<usize>>> {
    proptest::collection::vec((any::<bool>(), any::<Index>()), n).prop_map(|picks| {
        picks
            .into_iter()
            .enumerate()
            .map(|(i, (linked, pick))| (i > 0 && linked).then(|| pick.index(i)))
            .collect()
    })
}

fn batch() -> impl Strategy<Value = Batch> {
    (0usize..6, 1usize..60)
        .prop_flat_map(|(m, n)| {
            let ups =
                proptest::collection::vec((0u8..3, any::<Index>()), n).prop_map(move |picks| {
                    picks
                        .into_iter()
                        .enumerate()
                        .map(|(i, (kind, pick))| match kind {
                            1 if i > 0 => Up::New(pick.index(i)),
                            2 if m > 0 => Up::Stored(pick.index(m)),
                            _ => Up::Root,
                        })
                        .collect::<Vec<_>>()
                });
            let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            (parents(m), ups, order)
        })
        .prop_map(|(stored, up, position)| Batch {
            stored,
            up,
            position,
        })
}

fn check_plan(b: &Batch, plan: &ForestPlan) -> Result<(), TestCaseError> {
    let n = b.up.len();
    let existing = b.existing();
    prop_assert_eq!(plan.placed.len(), n);
    let mut where_placed = vec![usize::MAX; n];
    for (k, p) in plan.placed.iter().enumerate() {
        prop_assert_eq!(where_placed[p.row], usize::MAX, "row placed twice");
        where_placed[p.row] = k;
        prop_assert_eq!(p.id, NEXT_ID + p.row as i64);
    }
    for agent in 0..n {
        let me = &plan.placed[where_placed[b.position[agent]]];
        let (sponsor, parent_path, parent_depth) = match b.up[agent] {
            Up::Root => (None, "/".to_string(), -1),
            Up::New(j) => {
                let k = where_placed[b.position[j]];
                prop_assert!(
                    k < where_placed[b.position[agent]],
                    "sponsor placed after child"
                );
                let parent = &plan.placed[k];
                (Some(b.db_id(j)), parent.path.clone(), parent.depth)
            }
            Up::Stored(k) => {
                let e = &existing[&format!("E{k}")];
                (Some(e.id), e.path.clone(), e.depth)
            }
        };
        prop_assert_eq!(me.sponsor, sponsor);
        prop_assert_eq!(&me.path, &format!("{parent_path}{}/", me.id));
        prop_assert_eq!(me.depth, parent_depth + 1);

        let team = (0..n)
            .filter(|&o| o != agent && b.is_within(o, agent))
            .count() as i64;
        let direct = (0..n).filter(|&o| b.up[o] == Up::New(agent)).count() as i64;
        prop_assert_eq!(me.team_size, team, "team of N{}", agent);
        prop_assert_eq!(me.direct_count, direct, "direct of N{}", agent);
    }

    let mut growth = Vec::new();
    for k in 0..b.stored.len() {
        let team = (0..n)
            .filter(|&o| b.stored_attach(o).is_some_and(|s| b.stored_is_within(s, k)))
            .count() as i64;
        let direct = (0..n).filter(|&o| b.up[o] == Up::Stored(k)).count() as i64;
        if team > 0 {
            growth.push((k as i64 + 1, team, direct));
        }
    }
    prop_assert_eq!(&plan.existing_growth, &growth);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_forest_is_placed_consistently(b in batch()) {
        let plan = plan_forest(&b.rows(), &b.existing(), NEXT_ID);
        prop_assert!(plan.is_ok(), "{:?}", plan.err());
        check_plan(&b, &plan.unwrap())?;
    }

    #[test]
    fn a_back_edge_is_named_as_exactly_its_cycle(
        b in batch(),
        below in any::<Index>(),
        above in any::<Index>(),
    ) {
        // Pick an agent with an ancestor in the batch and point that
        // ancestor's sponsor at it.
        let with_parent: Vec<usize> = (0..b.up.len())
            .filter(|&a| matches!(b.up[a], Up::New(_)))
            .collect();
        prop_assume!(!with_parent.is_empty());
        let low = with_parent[below.index(with_parent.len())];
        let mut chain = vec![low]; // low, its sponsor, ..., up the batch
        while let Up::New(p) = b.up[*chain.last().unwrap()] {
            chain.push(p);
        }
        let top_at = 1 + above.index(chain.len() - 1);
        let members = &chain[..=top_at];
        let top = members[top_at];

        let mut rows = b.rows();
        rows[b.position[top]].sponsor_id = Some(format!("N{low}"));
        let problems = plan_forest(&rows, &b.existing(), NEXT_ID).unwrap_err();

        // Following sponsors: top → low → ... → top, from the member
        // earliest in the file.
        let mut cycle: Vec<usize> = vec![top];
        cycle.extend(members[..top_at].iter().copied());
        let first = (0..cycle.len()).min_by_key(|&k| b.position[cycle[k]]).unwrap();
        cycle.rotate_left(first);
        let ids: Vec<String> = cycle.iter().map(|a| format!("N{a}")).collect();
        let expected = if ids.len() <= 10 {
            format!("{} → {}", ids.join(" → "), ids[0])
        } else {
            format!("{} → … ({} agents)", ids[..10].join(" → "), ids.len())
        };

        let mut reported: Vec<&str> = problems.iter().map(|p| p.id.as_str()).collect();
        reported.sort_unstable();
        let mut wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        prop_assert_eq!(reported, wanted);
        for p in &problems {
            prop_assert_eq!(p.kind, ProblemKind::Cycle);
            prop_assert_eq!(&p.value, &expected);
            prop_assert_eq!(p.line, rows.iter().find(|r| r.id == p.id).unwrap().line);
        }
        prop_assert!(problems.windows(2).all(|w| w[0].line <= w[1].line));
    }

    #[test]
    fn timestamps_round_trip(ms in RFC3339_MIN_MS..=RFC3339_MAX_MS) {
        let text = format_rfc3339_ms(ms);
        prop_assert_eq!(parse_rfc3339_ms(&text), Some(ms), "{}", text);
        prop_assert!(text.len() == 20 || text.len() == 24, "{}", text);
        prop_assert!(text.ends_with('Z'));
        prop_assert_eq!(text.len() == 24, ms.rem_euclid(1000) != 0);
    }

    #[test]
    fn timestamps_parse_like_jiff(
        (year, month, day) in (0i16..=9999, 1i8..=12, 1i8..=31),
        (hour, minute, second) in (0i8..=23, 0i8..=59, 0i8..=59),
        fraction in "[0-9]{0,9}",
        offset_minutes in -(23 * 60 + 59)..=(23i32 * 60 + 59),
        zulu in any::<bool>(),
        lower in any::<bool>(),
    ) {
        let (t, z) = if lower { ('t', 'z') } else { ('T', 'Z') };
        let offset_minutes = if zulu { 0 } else { offset_minutes };
        let offset = if zulu {
            z.to_string()
        } else {
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let a = offset_minutes.abs();
            format!("{sign}{:02}:{:02}", a / 60, a % 60)
        };
        let dot = if fraction.is_empty() { String::new() } else { format!(".{fraction}") };
        let text = format!(
            "{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}{dot}{offset}"
        );

        let millis: i32 = format!("{fraction:0<3}")[..3].parse().unwrap();
        let expected = jiff::civil::DateTime::new(year, month, day, hour, minute, second, millis * 1_000_000)
            .ok()
            .map(|dt| {
                let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap());
                dt.to_zoned(tz).unwrap().timestamp().as_millisecond()
            });
        prop_assert_eq!(parse_rfc3339_ms(&text), expected, "{}", text);

        // The spec's refusals hold for every otherwise valid text.
        prop_assert_eq!(parse_rfc3339_ms(&text.replacen(t, " ", 1)), None);
        let without_offset = &text[..text.len() - offset.len()];
        prop_assert_eq!(parse_rfc3339_ms(without_offset), None);
    }
}
