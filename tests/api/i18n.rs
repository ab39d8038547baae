//! Every text exists in both languages, and every key the code uses exists.

use std::collections::BTreeSet;
use std::path::Path;

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn keys(locale: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(format!("{locale}.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    flatten("", &v, &mut out);
    out
}

#[test]
fn both_locales_have_the_same_keys() {
    let zh = keys("zh-CN");
    let en = keys("en");
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
    );
    assert!(zh.len() > 100);
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, files);
        } else if p.extension().is_some_and(|e| e == "rs" || e == "html") {
            files.push(p);
        }
    }
}

/// Literal keys passed to the translation helpers in code and templates.
#[test]
fn every_key_used_in_code_exists() {
    let zh = keys("zh-CN");
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut missing = Vec::new();
    let calls = [
        "t(\"",
        "tf(\"",
        "t1(\"",
        "tn(\"",
        "Refused(\"",
        "Conflict(\"",
        "BadRequest(\"",
        "add(\"",
        "key: \"",
        "flash(\"",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for call in calls {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                let Some(end) = rest.find('"') else { continue };
                let mut key = &rest[..end];
                // `errors.add("field", "key")`: the key is the second argument.
                if call == "add(\"" {
                    let after = &rest[end + 1..];
                    let Some(start) = after.find('"') else {
                        continue;
                    };
                    let after = &after[start + 1..];
                    key = &after[..after.find('"').unwrap_or(0)];
                }
                let looks_like_key = key.contains('.')
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
                if looks_like_key && !zh.contains(key) {
                    missing.push(format!("{}: {key}", f.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from locales: {missing:#?}"
    );
}

#[test]
fn every_permission_has_a_name_in_both_languages() {
    for locale in ["zh-CN", "en"] {
        let k = keys(locale);
        for p in weiops::access::PERMISSIONS {
            assert!(
                k.contains(&format!("perm.{}", p.code)),
                "{locale}: perm.{}",
                p.code
            );
            assert!(
                k.contains(&format!("perm_group.{}", p.group)),
                "{locale}: perm_group.{}",
                p.group
            );
        }
    }
}

#[test]
fn every_file_problem_has_a_message_in_both_languages() {
    let agent_keys = weiops_core::agents::ProblemKind::ALL.map(|k| k.key());
    let order_keys = weiops_core::orders::OrderProblemKind::ALL.map(|k| k.key());
    for locale in ["zh-CN", "en"] {
        let k = keys(locale);
        for key in agent_keys.iter().chain(order_keys.iter()) {
            assert!(k.contains(*key), "{locale}: {key}");
        }
    }
}
