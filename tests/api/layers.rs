//! The import graph of `src/` keeps its shape (docs/ARCHITECTURE.md): the
//! bottom layer imports no domain, nothing imports the top, and the
//! domains import each other in one direction only, except the pairs
//! listed in [`ALLOWED_CYCLES`]. Read from the source, like the i18n test:
//! a new `crate::` path that breaks the shape fails here, with the path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Plumbing every domain may use. None of them imports a domain.
const BOTTOM: &[&str] = &[
    "audit", "config", "cookies", "db", "error", "export", "http", "i18n", "identity", "jobs",
    "metrics", "paged", "registry", "settings", "state", "web",
];

/// Assembles everything; nothing below imports it.
const TOP: &[&str] = &["app", "cli", "lib", "main"];

/// Pairs of domains allowed to import each other, and why. Keep it short:
/// each entry is a knot still to untie.
const ALLOWED_CYCLES: &[(&str, &str, &str)] = &[];

/// The top-level module of a file under `src/`: `orders/placing.rs` and
/// `orders/mod.rs` are `orders`, `db.rs` is `db`.
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code without comments, string and char literals, so that a doc
/// comment or a message mentioning `crate::x` is not an import.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut kept = 0;
    let skip = |out: &mut String, from: usize, to: usize, kept: &mut usize| {
        out.push_str(&src[*kept..from]);
        out.push(' ');
        *kept = to;
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                skip(&mut out, i, end, &mut kept);
                i = end;
            }
            b'r' if b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') => {
                // A raw string r"…" or r#"…"#: it ends at the quote followed
                // by as many hashes as it opened with.
                let hashes = src[i + 1..].bytes().take_while(|c| *c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = src[body..]
                    .find(&close)
                    .map_or(b.len(), |n| body + n + close.len());
                skip(&mut out, i, end, &mut kept);
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                skip(&mut out, i, (j + 1).min(b.len()), &mut kept);
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"'), not a lifetime ('a).
                let len = if b.get(i + 1) == Some(&b'\\') {
                    src[i + 2..].find('\'').map(|n| n + 3)
                } else {
                    let c = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + c) == Some(&b'\'')).then_some(c + 2)
                };
                match len {
                    Some(len) => {
                        skip(&mut out, i, i + len, &mut kept);
                        i += len;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&src[kept.min(src.len())..]);
    out
}

/// The top-level modules a file names through `crate::…`, including the
/// members of `use crate::{a::x, b};`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    c if c.is_whitespace() => continue,
                    _ => {}
                }
                if item_start && depth == 0 {
                    let name = ident(&group[j..]);
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
                item_start = false;
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = &rest[i + "crate::".len()..];
    }
    found
}

/// Module → the modules it imports, and one file per edge as evidence.
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let from = module_of(rel);
        let entry = g.entry(from.clone()).or_default();
        for to in imports(&code_only(&std::fs::read_to_string(file).unwrap())) {
            if to != from && modules.contains(&to) {
                entry.entry(to).or_insert_with(|| rel.display().to_string());
            }
        }
    }
    g
}

fn is_domain(m: &str) -> bool {
    !BOTTOM.contains(&m) && !TOP.contains(&m)
}

#[test]
fn the_parser_finds_imports_and_ignores_comments_and_strings() {
    let code = code_only(
        "use crate::{a::x, b, c::{d, e}};\n// crate::zz\nlet s = \"crate::yy\";\nlet q = '\"';\n\
         let r = r#\"crate::rr \"x\" \"#;\nfn f<'a>(x: &'a str) { crate::f::g(); }\n",
    );
    assert_eq!(
        imports(&code).into_iter().collect::<Vec<_>>(),
        ["a", "b", "c", "f"]
    );
}

#[test]
fn the_bottom_layer_imports_no_domain_and_nothing_imports_the_top() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, edges) in &g {
        for (to, file) in edges {
            let bad = (BOTTOM.contains(&from.as_str()) && !BOTTOM.contains(&to.as_str()))
                || (TOP.contains(&to.as_str()) && !TOP.contains(&from.as_str()));
            if bad {
                wrong.push(format!("{from} → {to} (src/{file})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers (docs/ARCHITECTURE.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn domains_import_each_other_in_one_direction() {
    let g = graph();
    let allowed = |a: &str, b: &str| {
        ALLOWED_CYCLES
            .iter()
            .any(|(x, y, _)| (*x == a && *y == b) || (*x == b && *y == a))
    };
    // Every domain-to-domain edge that is not an allowed pair.
    let edges: BTreeMap<&str, Vec<&str>> = g
        .iter()
        .filter(|(from, _)| is_domain(from))
        .map(|(from, to)| {
            let to = to
                .keys()
                .map(String::as_str)
                .filter(|t| is_domain(t) && !allowed(from, t))
                .collect();
            (from.as_str(), to)
        })
        .collect();
    // A depth-first search that reports the first cycle it meets.
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        done: &mut BTreeSet<&'a str>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, path) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(node, &edges, &mut done, &mut path) {
            let evidence: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} (src/{})", w[0], w[1], g[w[0]][w[1]]))
                .collect();
            panic!(
                "domains import each other in a cycle (docs/ARCHITECTURE.md):\n{}",
                evidence.join("\n")
            );
        }
    }
}

#[test]
fn allowed_cycles_are_still_needed() {
    // An allowed pair that no longer imports both ways is dropped from the
    // list, so the list only ever shrinks.
    let g = graph();
    for (a, b, why) in ALLOWED_CYCLES {
        let both = g.get(*a).is_some_and(|e| e.contains_key(*b))
            && g.get(*b).is_some_and(|e| e.contains_key(*a));
        assert!(both, "{a} ⇄ {b} no longer needed ({why}): remove it");
    }
}
