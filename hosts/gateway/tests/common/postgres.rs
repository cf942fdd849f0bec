//! A throwaway PostgreSQL server for the integration tests: a fresh cluster in a temporary
//! directory, listening on 127.0.0.1 only, on a free port. The postmaster is a direct child
//! of the test, so `Drop` reaches it and nothing outlives a panicking test.
//!
//! Debian's `postgresql` package provides the binaries; without them the tests skip
//! themselves (or fail, when `MESHGUARD_REQUIRE_POSTGRES=1`, as CI sets it).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A running (or stopped, see [`Postgres::stop`]) test server.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// `initdb` and `postgres` refuse to run as root: as root they run as `postgres`.
    root: bool,
    next_db: AtomicUsize,
}

/// The newest installed server's bin dir (Debian installs major versions side by side).
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            ["initdb", "postgres", "psql"].map(|b| p.join("bin").join(b).is_file()) == [true; 3]
        })
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let version = name.split('.').map(|s| s.parse().unwrap_or(0)).collect();
            (version, p.join("bin"))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// `program`, without a developer's `PGHOST`, `PGSSLMODE`, `PGOPTIONS`...: they must not
/// redirect or change what the tests run.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("PG")) {
        cmd.env_remove(key);
    }
    cmd.stdin(Stdio::null());
    cmd
}

impl Postgres {
    /// A fresh server, ready for connections; `None` (after saying why) without the binaries.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            let msg = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); \
                       install the `postgresql` Debian package";
            if std::env::var("MESHGUARD_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("MESHGUARD_REQUIRE_POSTGRES=1 but {msg}");
            }
            eprintln!("skipped: {msg}");
            return None;
        };
        // A short name: the socket path `<dir>/.s.PGSQL.<port>` must fit in 107 bytes. The
        // `postgres` user must be able to enter the temp dir (so /tmp, not under /root).
        let n = DIRS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("meshguard-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir); // left by a killed run that had our pid
        std::fs::create_dir_all(&dir).unwrap();
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let next_db = AtomicUsize::new(0);
        // Built before initdb, so that a failure from here on still removes the directory.
        let mut pg = Postgres {
            bin,
            dir,
            port: 0,
            child: None,
            root,
            next_db,
        };
        if root {
            let chown = command("chown").arg("postgres:").arg(&pg.dir).status();
            assert!(chown.unwrap().success(), "chown {}", pg.dir.display());
        }
        let mut initdb = pg.server_cmd("initdb");
        initdb.args("-D data -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync".split(' '));
        let out = initdb.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "initdb failed:\n{stderr}");
        // A free port can be taken between our probe and the server's bind: try another.
        for _ in 0..5 {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            pg.port = probe.local_addr().unwrap().port();
            drop(probe);
            if pg.spawn() {
                return Some(pg);
            }
        }
        panic!("postgres could not bind a port in 5 tries:\n{}", pg.log());
    }

    /// A new empty database owned by a new login role; trust auth, so no password.
    pub fn create_database(&self) -> String {
        let name = format!("gw{}", self.next_db.fetch_add(1, Ordering::SeqCst) + 1);
        // Two calls: CREATE DATABASE cannot run in a multi-statement (implicit) transaction.
        self.psql("postgres", &format!("CREATE ROLE {name} LOGIN"));
        self.psql("postgres", &format!("CREATE DATABASE {name} OWNER {name}"));
        format!("postgres://{name}@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` as the superuser in the database of `database_url`, so tests can inspect
    /// any table. Returns psql's `-At` output: one row a line, columns separated by `|`.
    pub fn sql(&self, database_url: &str, sql: &str) -> String {
        let tail = database_url.rsplit_once('/').map_or("", |(_, tail)| tail);
        self.psql(tail.split('?').next().unwrap_or(tail), sql)
    }

    /// Kills every session on the database, as a server crash or a network failure would for
    /// its clients; waits (up to 5 s per backend) until they are gone.
    pub fn terminate_connections(&self, database_url: &str) {
        self.sql(
            database_url,
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
    }

    /// Fast shutdown (SIGINT): sessions end, committed data stays. Idempotent.
    pub fn stop(&mut self) {
        self.shutdown("INT");
    }

    /// Starts the stopped server again, same data and port: a database outage and recovery.
    pub fn restart(&mut self) {
        self.stop();
        if !self.spawn() {
            let port = self.port;
            panic!("port {port} was taken while stopped:\n{}", self.log());
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory (data, `server.log`, socket); removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// `program` from the server's bin dir, as `postgres` when we are root. `setpriv` execs
    /// (unlike `runuser`, which forks), so the child's pid is the program's own.
    fn server_cmd(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = command(&exe);
        if self.root {
            cmd = command("setpriv");
            cmd.args("--reuid=postgres --regid=postgres --init-groups --".split(' '));
            cmd.arg(&exe);
        }
        cmd.current_dir(&self.dir); // root's cwd may be closed to `postgres`
        cmd
    }

    /// Starts the postmaster on `self.port`; false if that port was taken, panics on any other
    /// failure. Readiness comes from *our* server's log, not from probing the port, which
    /// another process holds when our bind failed.
    fn spawn(&mut self) -> bool {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"));
        let log = log.unwrap();
        let from = log.metadata().unwrap().len() as usize;
        let mut cmd = self.server_cmd("postgres");
        cmd.args(["-D", "data", "-p", &self.port.to_string(), "-c"]);
        cmd.arg(format!("unix_socket_directories={}", self.dir.display()));
        // Tests crash gateways, never the machine: skip the disk flushes, but keep commits
        // synchronous so that a committed row survives a restart. 200: several gateways' pools.
        let settings = "listen_addresses=127.0.0.1 fsync=off synchronous_commit=on \
                        full_page_writes=off max_connections=200";
        for setting in settings.split_whitespace() {
            cmd.args(["-c", setting]);
        }
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        self.child = Some(cmd.spawn().expect("start postgres"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            let log = self.log();
            let new = log.get(from..).unwrap_or("");
            if exited.is_none() && new.contains("database system is ready to accept connections") {
                return true;
            }
            if let Some(status) = exited {
                self.child = None;
                if new.contains("could not bind") {
                    return false;
                }
                panic!("postgres exited ({status}) while starting:\n{log}");
            }
            if Instant::now() > deadline {
                self.shutdown("KILL");
                panic!("postgres not ready within 30 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Signals the postmaster, waits up to 10 s, then SIGKILLs it. No panics: Drop uses it.
    /// The pid cannot be reused meanwhile: the child stays a zombie until we reap it.
    fn shutdown(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            let args = [format!("-{signal}"), child.id().to_string()];
            let _ = command("kill").args(args).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(None) = child.try_wait() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.wait();
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        let out = command(self.bin.join("psql"))
            .args("-X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres".split(' '))
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            // Bounded: a down server or a lock held by a stuck gateway fails, not hangs.
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGOPTIONS", "-c statement_timeout=30s")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "psql {db} {sql:?} failed:\n{stderr}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    /// Immediate shutdown (SIGQUIT): the data is thrown away anyway. The postmaster exits
    /// only after its backends, so nothing is left running in the removed directory.
    fn drop(&mut self) {
        self.shutdown("QUIT");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
