//! Test harness shared by the HTTP and browser suites: a fresh weiops on
//! port 0 with its own database (a temp SQLite file, or a uniquely named
//! PostgreSQL database when WEIOPS_TEST_POSTGRES_URL is set).

#![allow(dead_code)]

pub mod fixtures;

use std::net::SocketAddr;

use reqwest::header::{HeaderMap, HeaderValue};
use weiops::audit::Actor;
use weiops::db::{self, Db};
use weiops::state::ServerOptions;
use weiops::users::store::{self as users, NewUser};

/// The JSON body of a response; a body that is not JSON fails the test
/// with the status and the text.
pub async fn body(res: reqwest::Response) -> serde_json::Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

pub const ADMIN_PASSWORD: &str = "Admin-pass-2026";

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub admin_role_id: i64,
    _dir: tempfile::TempDir,
}

/// The database URL for a fresh test database.
async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("WEIOPS_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("weiops_test_{}", weiops::identity::random_hex(8));
            let admin = db::connect(&base, 1)
                .await
                .expect("PostgreSQL reachable at WEIOPS_TEST_POSTGRES_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin.pool)
                .await
                .expect("create test database");
            admin.pool.close().await;
            // Replace the database name in the URL (the path after the host).
            let (prefix, rest) = base.split_at(base.find("://").map(|i| i + 3).unwrap_or(0));
            let (hostpart, query) = match rest.split_once('?') {
                Some((h, q)) => (h, Some(q)),
                None => (rest, None),
            };
            let host = hostpart.split('/').next().unwrap_or(hostpart);
            match query {
                Some(q) => format!("{prefix}{host}/{name}?{q}"),
                None => format!("{prefix}{host}/{name}"),
            }
        }
        _ => format!("sqlite://{}", dir.join("test.db").display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts weiops with settings adjusted by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut ServerOptions)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(dir.path()).await;
    let db = db::connect(&url, 5).await.expect("connect");
    db::migrate(&db).await.expect("migrate");
    let admin_role_id = weiops::access::roles::find_by_code(&db, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    users::create_own(
        &db,
        &Actor::system("test"),
        &NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            phone: Some("13800000000".into()),
            password: Some(ADMIN_PASSWORD.into()),
            role_ids: vec![admin_role_id],
        },
    )
    .await
    .expect("create admin");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut options = ServerOptions::new(format!("http://{address}"));
    tweak(&mut options);
    let state = weiops::app::state(db.clone(), options);
    let app = weiops::app::app(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        address,
        db,
        admin_role_id,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// GET `path` with `client`; the JSON body, whatever the status (a
    /// body that is not JSON fails the test with the status and the text).
    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        body(client.get(self.url(path)).send().await.unwrap()).await
    }

    /// POST `json` to `path` with `client`; the response, for its status
    /// and then its body.
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        json: &impl serde::Serialize,
    ) -> reqwest::Response {
        client.post(self.url(path)).json(json).send().await.unwrap()
    }

    /// PUT `json` to `path` with `client`; the response.
    pub async fn put_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        json: &impl serde::Serialize,
    ) -> reqwest::Response {
        client.put(self.url(path)).json(json).send().await.unwrap()
    }

    /// A browser-like client: keeps cookies, does not follow redirects,
    /// and says where its requests come from (as browsers do).
    pub fn client(&self) -> reqwest::Client {
        self.client_from_origin(&format!("http://{}", self.address))
    }

    pub fn client_from_origin(&self, origin: &str) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_str(origin).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// A client without cookies, for bearer-token API calls.
    pub fn api_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in through the login form; returns the client holding the session.
    pub async fn login(&self, login: &str, password: &str) -> reqwest::Client {
        let client = self.client();
        let res = client
            .post(self.url("/login"))
            .form(&[("login", login), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "login of {login} should redirect");
        client
    }

    /// Signs in with a password somebody else set (an administrator's, which
    /// must be changed before anything else opens), changes it to `own`, and
    /// returns the client holding the session.
    pub async fn login_first_time(&self, login: &str, given: &str, own: &str) -> reqwest::Client {
        let client = self.login(login, given).await;
        let res = client
            .post(self.url("/account/password"))
            .form(&[("current", given), ("new", own), ("confirm", own)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{login} changes the given password");
        client
    }

    pub async fn login_admin(&self) -> reqwest::Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a role with the given permissions and scope; returns its id.
    pub async fn role(&self, code: &str, permissions: &[&str], scope: &str) -> i64 {
        weiops::access::roles::create(
            &self.db,
            &Actor::system("test"),
            &weiops::access::roles::RoleInput {
                code: code.into(),
                name: format!("{code} role"),
                description: String::new(),
                data_scope: scope.into(),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
            },
        )
        .await
        .unwrap()
    }

    /// Creates a user with a known password and the given roles; returns the id.
    /// The password counts as their own (`create_own`): no change is forced.
    pub async fn user(&self, username: &str, password: &str, role_ids: Vec<i64>) -> i64 {
        users::create_own(
            &self.db,
            &Actor::system("test"),
            &NewUser {
                username: username.into(),
                display_name: format!("{username} name"),
                phone: None,
                password: Some(password.into()),
                role_ids,
            },
        )
        .await
        .unwrap()
        .0
    }

    /// An API token for `username`.
    pub async fn token_for(&self, username: &str) -> String {
        let user = users::find_by_username(&self.db, username)
            .await
            .unwrap()
            .unwrap();
        weiops::auth::tokens::create(&self.db, &Actor::system("test"), user.id, "test")
            .await
            .unwrap()
            .1
    }

    /// Audit actions recorded so far, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        use sqlx::Row;
        sqlx::query("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("action").unwrap())
            .collect()
    }
}
