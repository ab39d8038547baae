//! The `weiops` command line.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_weiops");

fn weiops(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("WEIOPS_DATABASE_URL")
        .env("WEIOPS_DATA_DIR", dir)
        .env("WEIOPS_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = weiops(dir.path(), &["--version"], None);
    assert_eq!(code, 0);
    assert!(out.starts_with("weiops "));
    let (code, out, _) = weiops(dir.path(), &["--help"], None);
    assert_eq!(code, 0);
    for word in [
        "serve",
        "migrate",
        "user",
        "token",
        "backup",
        "--database-url",
        "--data-dir",
    ] {
        assert!(out.contains(word), "{word} in help");
    }
}

#[test]
fn users_tokens_and_backup_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = weiops(dir.path(), &["migrate"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("up to date"));
    assert!(
        dir.path().join("weiops.db").exists(),
        "created in the data dir"
    );

    let (code, out, err) = weiops(
        dir.path(),
        &["user", "create", "boss", "--role", "admin"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("password (shown once"), "{out}");

    let (code, _, err) = weiops(
        dir.path(),
        &[
            "user",
            "create",
            "cw",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("Cw-pass-2026\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = weiops(
        dir.path(),
        &["user", "create", "cw", "--role", "admin"],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("username: This username is taken"), "{err}");
    let (code, _, err) = weiops(
        dir.path(),
        &["user", "create", "x1", "--role", "nope"],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("no role with code \"nope\""));
    let (code, _, err) = weiops(
        dir.path(),
        &[
            "user",
            "create",
            "weak",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("abc\n"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("password"), "{err}");

    let (code, out, _) = weiops(dir.path(), &["user", "reset-password", "boss"], None);
    assert_eq!(code, 0);
    assert!(out.contains("new password for boss"));
    let (code, _, err) = weiops(dir.path(), &["user", "reset-password", "ghost"], None);
    assert_ne!(code, 0);
    assert!(err.contains("no user"));

    let (code, out, _) = weiops(dir.path(), &["token", "create", "cw", "--name", "ci"], None);
    assert_eq!(code, 0);
    assert!(out.trim().starts_with("wops_"));

    let backup = dir.path().join("copy.db");
    let (code, out, err) = weiops(dir.path(), &["backup", backup.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backup written"));
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
    let (code, _, err) = weiops(dir.path(), &["backup", backup.to_str().unwrap()], None);
    assert_ne!(code, 0, "never overwrites");
    assert!(err.contains("already exists"));
}

#[test]
fn backup_on_postgres_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = weiops(
        dir.path(),
        &[
            "--database-url",
            "postgres://u:secret@127.0.0.1:1/db",
            "backup",
            "x.dump",
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("pg_dump"));
    assert!(!err.contains("secret"), "password redacted");
}

#[test]
fn unreachable_database_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = weiops(
        dir.path(),
        &[
            "--database-url",
            "postgres://weiops:pw@127.0.0.1:1/weiops",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ],
        None,
    );
    assert_eq!(code, 1);
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        line.contains("cannot connect to the database at postgres://weiops:***@127.0.0.1:1/weiops"),
        "{err}"
    );
    let (code, _, err) = weiops(
        dir.path(),
        &["--database-url", "mysql://x", "migrate"],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("unsupported database URL"));
}

#[test]
fn serve_bootstraps_admin_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("WEIOPS_DATABASE_URL")
        .env("WEIOPS_DATA_DIR", dir.path())
        .env("WEIOPS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for it to answer, bounded.
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "server started");
    unsafe_kill(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "graceful exit on SIGTERM");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("username: admin") && stdout.contains("password: "),
        "{stdout}"
    );

    // A second start prints no password.
    let (code, out, _) = weiops(dir.path(), &["migrate"], None);
    assert_eq!(code, 0);
    assert!(!out.contains("password"));
}

/// SIGTERM without a libc dependency: the `kill` command.
fn unsafe_kill(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn org_templates_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = weiops(dir.path(), &["org", "templates"], None);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 9);
    assert!(out.contains("weishang-core") && out.contains("微商企业五大核心岗"));
    let (code, out, _) = weiops(
        dir.path(),
        &["org", "apply", "weishang-core", "--dry-run"],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("would create") && out.contains("caopanshou"));
    let (code, out, _) = weiops(
        dir.path(),
        &["org", "apply", "weishang-core", "--only", "finance"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created      position   finance"));
    let (code, out, _) = weiops(dir.path(), &["org", "apply", "weishang-core"], None);
    assert_eq!(code, 0);
    assert!(out.contains("exists       position   finance"));
    let (code, _, err) = weiops(dir.path(), &["org", "apply", "nope"], None);
    assert_ne!(code, 0);
    assert!(err.contains("template \"nope\""));
    // A brand's own template in the data dir; a broken one is reported, not used.
    std::fs::create_dir_all(dir.path().join("org-templates")).unwrap();
    std::fs::write(dir.path().join("org-templates/mine.toml"), "id = \"mine\"\nname = \"我的\"\n[[departments]]\ncode = \"a\"\nname = \"A\"\nparent = \"zz\"\n").unwrap();
    let (_, out, _) = weiops(dir.path(), &["org", "templates"], None);
    assert!(out.contains("mine") && out.contains("INVALID") && out.contains("unknown parent"));
}
