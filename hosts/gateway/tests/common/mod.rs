//! Shared by the integration tests: start the real `meshguard-gateway` binary on
//! 127.0.0.1 with a free port, a temporary database and a temporary policy directory,
//! drive it over HTTP, and always stop it (a `Drop` guard kills it and removes the files).
//!
//! Also a tiny HTTP/1.1 server on a std `TcpListener` (webhook receiver, proxy upstream)
//! that records what it receives and answers from a script of statuses.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod postgres;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meshguard_tls::rustls;
use serde_json::{Value, json};

/// The repository's example policies.
pub fn example_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory, removed by [`Gateway`]'s drop.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "meshguard-gw-test-{tag}-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the example policies into `dir`.
pub fn copy_examples(dir: &Path) {
    for entry in std::fs::read_dir(example_policies()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
}

pub const ADMIN: &str = "test-admin-token-0123456789";

/// These tests start the real binary and its Wasm engine, which in a debug build compiles
/// the component 10-20x slower: they run in release (`cargo xtask gateway`, or
/// `cargo test --release -p meshguard-gateway`) and skip themselves in a debug build
/// (such as `cargo test --workspace`), saying so.
pub fn skip_in_debug(test: &str) -> bool {
    if cfg!(debug_assertions) {
        eprintln!(
            "{test}: skipped in a debug build; run `cargo test --release -p meshguard-gateway`"
        );
        return true;
    }
    false
}

/// How to start a gateway.
#[derive(Default)]
pub struct Options {
    /// Policy files to write; `None` copies the example policies.
    pub policies: Option<Vec<(&'static str, String)>>,
    /// Extra environment variables.
    pub env: Vec<(&'static str, String)>,
    /// A database outside the gateway's temporary directory (kept after the test's
    /// gateway is gone); default `<temp dir>/meshguard.db`.
    pub db: Option<PathBuf>,
}

/// A running gateway.
pub struct Gateway {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    pub policies: PathBuf,
    pub db: PathBuf,
    stderr: Arc<Mutex<String>>,
    http: ureq::Agent,
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn http_agent() -> ureq::Agent {
    tls_agent(None)
}

/// One request with raw header bytes allowed.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: Option<&[u8]>,
) -> Resp {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, ureq::http::HeaderValue::from_bytes(v).unwrap());
    }
    let result = match body {
        Some(bytes) => agent.run(b.body(bytes.to_vec()).unwrap()),
        None => agent.run(b.body(()).unwrap()),
    };
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

impl Gateway {
    pub fn start(opts: Options) -> Gateway {
        let dir = temp_dir("gw");
        let policies = dir.join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        match &opts.policies {
            None => copy_examples(&policies),
            Some(files) => {
                for (name, text) in files {
                    std::fs::write(policies.join(name), text).unwrap();
                }
            }
        }
        let db = opts.db.clone().unwrap_or_else(|| dir.join("meshguard.db"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshguard-gateway"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("ADMIN_TOKEN", ADMIN)
            .env("POLICIES_DIR", &policies)
            .env("DB_PATH", &db)
            .env("RELOAD_INTERVAL_MS", "200")
            // Tests check what is decided; on a loaded 2-core machine the production
            // 100 ms could turn a slow first call into a 500. Deadline tests set their own.
            .env("DECIDE_DEADLINE_MS", "5000")
            .env("LOG", "info")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start meshguard-gateway");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = String::new();
                loop {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if let Some(addr) =
                                line.trim().strip_prefix("meshguard-gateway listening on ")
                            {
                                let _ = tx.send(addr.to_owned());
                            }
                            stderr.lock().unwrap().push_str(&line);
                        }
                    }
                }
            });
        }
        // A gateway serving HTTPS is reached trusting the CA it is given for outbound
        // TLS (tests pass their test CA as TLS_CA_FILE).
        let ca = opts
            .env
            .iter()
            .find(|(k, _)| *k == "TLS_CA_FILE")
            .map(|(_, v)| PathBuf::from(v));
        let mut gw = Gateway {
            child: Some(child),
            base: String::new(),
            dir,
            policies,
            db,
            stderr,
            http: tls_agent(ca.as_deref()),
        };
        // Bounded readiness wait: the component compiles at start (longer in debug builds).
        match rx.recv_timeout(Duration::from_secs(240)) {
            Ok(addr) => gw.base = addr,
            Err(_) => panic!("the gateway did not become ready; stderr:\n{}", gw.log()),
        }
        let health = gw.get("/health", &[]);
        assert_eq!(health.status, 200, "{}", health.body);
        gw
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let raw: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        send(
            &self.http,
            method,
            &self.url(path),
            &raw,
            body.map(str::as_bytes),
        )
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.request("GET", path, headers, None)
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let text = body.map(|b| b.to_string());
        let mut headers = vec![("X-Admin-Token", ADMIN)];
        if text.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.request(method, path, &headers, text.as_deref())
    }

    /// Creates an agent; returns (id, token).
    pub fn agent(&self, name: &str, tier: &str, tags: &[&str]) -> (String, String) {
        let r = self.admin(
            "POST",
            "/admin/agents",
            Some(json!({"name": name, "trustTier": tier, "tags": tags})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        (
            v["id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /proxy/check` with a token, action and optional resource.
    pub fn check(&self, token: &str, action: &str, resource: Option<&str>) -> Resp {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("X-MeshGuard-Action", action),
        ];
        if let Some(r) = resource {
            headers.push(("X-MeshGuard-Resource", r));
        }
        self.get("/proxy/check", &headers)
    }

    /// Audit entries as JSON (newest first).
    pub fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.admin("GET", &format!("/admin/audit?{query}"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["entries"].as_array().unwrap().clone()
    }

    /// Waits (bounded) until `f` holds.
    pub fn wait_until(&self, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}; gateway log:\n{}", self.log());
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    /// Kills the gateway with SIGKILL (no drain, no clean-up) and reaps it.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("already stopped");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("already stopped");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the gateway did not stop after SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A request the test server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 answering from a script of statuses (the
/// last one repeats), with `Connection: close`. Stops when dropped (or after 5 minutes).
pub struct TestServer {
    pub addr: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(statuses: Vec<u16>, reply_body: &'static str) -> TestServer {
        Self::start_with(statuses, reply_body, None)
    }

    /// The same server speaking HTTPS with `tls`.
    pub fn start_tls(
        statuses: Vec<u16>,
        reply_body: &'static str,
        tls: Arc<rustls::ServerConfig>,
    ) -> TestServer {
        Self::start_with(statuses, reply_body, Some(tls))
    }

    fn start_with(
        statuses: Vec<u16>,
        reply_body: &'static str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, stopped) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut script: VecDeque<u16> = statuses.into();
            let deadline = Instant::now() + Duration::from_secs(300);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let status = if script.len() > 1 {
                            script.pop_front().unwrap()
                        } else {
                            *script.front().unwrap_or(&200)
                        };
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                        match &tls {
                            None => serve_one(stream, status, reply_body, &rec),
                            Some(tls) => {
                                rustls::ServerConnection::new(tls.clone())
                                    .ok()
                                    .and_then(|conn| {
                                        let tls_stream = rustls::StreamOwned::new(conn, stream);
                                        serve_one(tls_stream, status, reply_body, &rec)
                                    })
                            }
                        };
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestServer {
            addr,
            received,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `https://` URL of `path` (for a server from [`TestServer::start_tls`]),
    /// by name so the certificate's `localhost` is what is checked.
    pub fn https_url(&self, path: &str) -> String {
        let port = self.addr.rsplit(':').next().unwrap();
        format!("https://localhost:{port}{path}")
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads one request, records it (before answering, so a client that saw the answer
/// also sees the record), then answers.
fn serve_one(
    stream: impl Read + Write,
    status: u16,
    reply: &str,
    rec: &Mutex<Vec<Received>>,
) -> Option<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
            headers.push((k, v));
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0u8; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    rec.lock().unwrap().push(Received {
        method,
        target,
        headers,
        body,
    });
    let mut stream = reader.into_inner();
    let resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
    stream.write_all(resp.as_bytes()).ok()?;
    stream.flush().ok()?;
    Some(())
}

/// A test CA and a certificate it signed for `localhost` and `127.0.0.1`, as PEM files
/// in a temporary directory (removed on drop).
pub struct TestPki {
    pub dir: PathBuf,
    pki: meshguard_tls::testing::Pki,
}

impl std::ops::Deref for TestPki {
    type Target = meshguard_tls::testing::Pki;
    fn deref(&self) -> &Self::Target {
        &self.pki
    }
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = temp_dir("pki");
        let pki = meshguard_tls::testing::Pki::create(&dir).unwrap();
        TestPki { dir, pki }
    }

    /// A server configuration presenting the leaf certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        meshguard_tls::server_config(&self.cert, &self.key).unwrap()
    }

    /// A client trusting only this CA.
    pub fn client(&self) -> ureq::Agent {
        tls_agent(Some(&self.ca))
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test client, trusting `ca` for `https://` when given.
pub fn tls_agent(ca: Option<&Path>) -> ureq::Agent {
    let certs: Vec<ureq::tls::Certificate<'static>> = match ca {
        Some(ca) => meshguard_tls::read_certs(ca)
            .unwrap()
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
            .collect(),
        None => Vec::new(),
    };
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .unversioned_rustls_crypto_provider(meshguard_tls::provider())
                .build(),
        )
        .build()
        .into()
}
