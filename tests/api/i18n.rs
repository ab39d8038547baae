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
        "Denied(\"",
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
        for p in &weiops::app::registry().permissions {
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

/// Every text of `key` (both languages) with its `%{name}` placeholders.
fn texts(locale: &str) -> std::collections::BTreeMap<String, String> {
    fn walk(
        prefix: &str,
        v: &serde_json::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            v => {
                out.insert(prefix.to_string(), v.as_str().unwrap_or("").to_string());
            }
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(format!("{locale}.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeMap::new();
    walk("", &v, &mut out);
    out
}

/// The `%{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("%{")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// The arguments of a call whose `(` is at `open`, split at top-level
/// commas (strings, brackets and closures' braces respected), trimmed.
fn call_args(text: &str, open: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let (mut depth, mut i, mut start) = (0usize, open, open + 1);
    let mut args = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    args.push(text[start..i].trim());
                    break;
                }
            }
            b',' if depth == 1 => {
                args.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    args.retain(|a| !a.is_empty());
    args
}

/// A string literal argument's text.
fn literal(arg: &str) -> Option<&str> {
    arg.strip_prefix('"')?.strip_suffix('"')
}

/// Texts with placeholders that code fills itself, not through a helper.
const FILLED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "org.folded",
        "src/org/chart.rs replaces %{n} per folded department",
    ),
    (
        "shop.n_items",
        "the portal shop's data-template: assets/app.js fills %{n} as quantities change",
    ),
];

/// Every `%{name}` of a text is given a value where the code shows it:
/// `t("k")` gives none, `tn("k", n)` gives `n`, `t1("k", "name", v)` and
/// `tf("k", &[("name", v)…])` the names written, an error or field error
/// (`Conflict("k")`, `errors.add("field", "k")`) none, a flash `arg`
/// (unless the argument is the empty string). Keys built at run time
/// (`t(&format!("orders.status.{s}"))`) must have no placeholder in any
/// key they can become. Found by walking src/ like the test above, so a
/// placeholder cannot reach a page as `文件有 %{n} 处问题` again.
#[test]
fn every_placeholder_of_a_used_text_is_filled() {
    let zh = texts("zh-CN");
    let en = texts("en");
    let needs = |key: &str| -> BTreeSet<String> {
        let mut all = placeholders(zh.get(key).map(String::as_str).unwrap_or(""));
        all.extend(placeholders(en.get(key).map(String::as_str).unwrap_or("")));
        all
    };
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    // (callee, position of the key among the arguments).
    let callees: &[(&str, usize)] = &[
        ("t", 0),
        ("tk", 0),
        ("tn", 0),
        ("t1", 0),
        ("tf", 0),
        ("Refused", 0),
        ("Denied", 0),
        ("Conflict", 0),
        ("BadRequest", 0),
        ("add", 1),
        ("redirect_with_flash", 2),
        ("flash_cookie", 1),
        ("flash_cookie_arg", 1),
    ];
    let mut unfilled = Vec::new();
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(f)
            .display()
            .to_string();
        for (callee, at) in callees {
            let pattern = format!("{callee}(");
            for (i, _) in text.match_indices(&pattern) {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let args = call_args(&text, i + callee.len());
                let Some(arg) = args.get(*at) else { continue };
                let line = text[..i].lines().count();
                // A key built at run time: every key it can become.
                if matches!(*callee, "t" | "tk")
                    && let Some(fmt) = arg
                        .trim_start_matches('&')
                        .strip_prefix("format!(\"")
                        .and_then(|r| r.split('"').next())
                {
                    let (prefix, rest) = fmt.split_once('{').unwrap_or((fmt, ""));
                    let suffix = rest.rsplit_once('}').map_or("", |(_, s)| s);
                    if prefix.contains('.') {
                        for key in zh.keys().filter(|k| {
                            k.starts_with(prefix)
                                && k.ends_with(suffix)
                                && k.len() > prefix.len() + suffix.len()
                        }) {
                            checked += 1;
                            if !needs(key).is_empty() {
                                unfilled.push(format!("{name}:{line}: {fmt} can be {key}, whose placeholders nothing fills"));
                            }
                        }
                    }
                    continue;
                }
                let Some(key) = literal(arg) else { continue };
                let need = needs(key);
                if !zh.contains_key(key) || need.is_empty() {
                    continue;
                }
                checked += 1;
                let given: BTreeSet<String> = match *callee {
                    "tn" => ["n".to_string()].into(),
                    "t1" => args
                        .get(1)
                        .and_then(|a| literal(a))
                        .map(str::to_string)
                        .into_iter()
                        .collect(),
                    "tf" => {
                        let list = args.get(1).copied().unwrap_or("");
                        if !list.contains('"') && list != "&[]" {
                            continue; // arguments built elsewhere: not checked here
                        }
                        // Each `("name", value)`, however it is wrapped.
                        list.split('(')
                            .skip(1)
                            .filter_map(|r| r.trim_start().strip_prefix('"'))
                            .filter_map(|r| r.split_once('"'))
                            .filter(|(_, after)| after.trim_start().starts_with(','))
                            .map(|(n, _)| n.to_string())
                            .collect()
                    }
                    "redirect_with_flash" | "flash_cookie_arg" => {
                        let value = args.get(at + 1).copied().unwrap_or("\"\"");
                        if value == "\"\"" {
                            BTreeSet::new()
                        } else {
                            ["arg".to_string()].into()
                        }
                    }
                    _ => BTreeSet::new(),
                };
                let missing: Vec<&String> = need.difference(&given).collect();
                if !missing.is_empty() && !FILLED_ELSEWHERE.iter().any(|(k, _)| *k == key) {
                    unfilled.push(format!(
                        "{name}:{line}: {callee}(\"{key}\") leaves {missing:?} unfilled"
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "the walk found only {checked} texts with placeholders"
    );
    assert!(unfilled.is_empty(), "unfilled placeholders: {unfilled:#?}");
    // Keys shown through `ctx.t(p.key)` in the import problem tables.
    let problem_keys = weiops_core::agents::ProblemKind::ALL
        .map(|k| k.key())
        .into_iter()
        .chain(weiops_core::orders::OrderProblemKind::ALL.map(|k| k.key()));
    for key in problem_keys {
        assert!(needs(key).is_empty(), "{key} is shown without arguments");
    }
}
