//! `serve` on PostgreSQL (issue 19): replicas sharing one database, a server that goes away
//! under load and comes back, and `db copy` of a large SQLite file.
//!
//! The tests use the server scripts/pg.sh starts (`QWENCTL_TEST_PG_URL`), each in a schema
//! of its own; the one that kills its server makes a private cluster with the binaries in
//! `QWENCTL_TEST_PG_BIN`, so the others never see it go. Without a server they print that
//! they are skipped, unless `QWENCTL_REQUIRE_PG=1` (scripts/test.sh), which fails them.

mod copy;
mod outage;
mod replicas;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The test server's URL, or `None` (with a notice) when there is none and none is required.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var("QWENCTL_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip_or_fail(test, "QWENCTL_TEST_PG_URL");
            None
        }
    }
}

fn skip_or_fail(test: &str, var: &str) {
    assert!(
        std::env::var("QWENCTL_REQUIRE_PG").as_deref() != Ok("1"),
        "QWENCTL_REQUIRE_PG=1 but {var} is not set"
    );
    eprintln!("skipped {test}: {var} is not set (scripts/pg.sh starts a server)");
}

/// A URL of the server at `url` whose connections use a new, empty schema.
pub async fn fresh_schema(url: &str) -> String {
    let schema = format!("it_{}", uuid::Uuid::new_v4().simple());
    query(url, &format!("CREATE SCHEMA {schema}")).await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Runs `sql` on its own connection and returns the rows.
pub async fn query(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.expect(sql);
    drop(client);
    let _ = driver.await;
    rows
}

/// A PostgreSQL cluster of one test's own, on 127.0.0.1 and a free port, removed when
/// dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    /// Creates and starts a cluster, or `None` (skipped) without `QWENCTL_TEST_PG_BIN`.
    pub fn start(test: &str) -> Option<Cluster> {
        let Some(bin) = std::env::var_os("QWENCTL_TEST_PG_BIN") else {
            skip_or_fail(test, "QWENCTL_TEST_PG_BIN");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = Cluster {
            dir,
            bin: PathBuf::from(bin),
            port: free_port(),
        };
        // The server refuses to run as root: the cluster then belongs to `postgres`.
        if is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(cluster.dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            std::fs::create_dir(cluster.data()).expect("mkdir");
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(cluster.data())
                .status()
                .expect("chown");
            assert!(status.success(), "chown failed");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.pg_ctl_start();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn pg_ctl_start(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories= -c fsync=off",
            self.port
        );
        let log = self.data().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-l",
                &log,
                "-o",
                &opts,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    /// Stops the server the hard way (`-m immediate`: no shutdown checkpoint, every
    /// connection cut), as a crash or a killed container would.
    pub fn kill(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&program);
            cmd
        } else {
            Command::new(&program)
        };
        let out = cmd.args(args).output().expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(if is_root() { "runuser" } else { "true" })
            .args(if is_root() {
                vec!["-u", "postgres", "--"]
            } else {
                vec![]
            })
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
