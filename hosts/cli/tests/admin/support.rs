//! The shared harness: a release `meshguard-gateway` started per test on a free port with
//! a temporary data directory and the example policies (killed on drop), and the
//! `meshguard` command pointed at it with the admin token.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::common::{BIN, TempDir, json, repo_policies, text};

pub const ADMIN: &str = "cli-test-admin-token-0123456789";

/// The release gateway binary: beside this build's target directory, else under the
/// workspace root; built (once per test process) by `cargo xtask gateway-binary` when
/// missing.
fn gateway_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let name = format!("meshguard-gateway{}", std::env::consts::EXE_SUFFIX);
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let beside = Path::new(BIN)
                .parent()
                .and_then(Path::parent)
                .map(|target| target.join("release").join(&name));
            let candidates: Vec<PathBuf> = beside
                .into_iter()
                .chain(std::iter::once(root.join("target/release").join(&name)))
                .collect();
            if let Some(found) = candidates.iter().find(|c| c.is_file()) {
                return found.clone();
            }
            // Through xtask, which builds it as the gateway's release tests do (and clears
            // what `cargo test` set for this process from the inner cargo's environment):
            // any other way compiles wasmtime once more in CI.
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args(["xtask", "gateway-binary"])
                .current_dir(&root)
                .status()
                .expect("running cargo xtask gateway-binary");
            assert!(status.success(), "cargo xtask gateway-binary failed");
            candidates
                .into_iter()
                .find(|c| c.is_file())
                .expect("the gateway binary after building it")
        })
        .clone()
}

/// A running gateway, killed when dropped.
pub struct Gateway {
    child: Child,
    pub url: String,
    pub dir: TempDir,
    log: std::sync::Arc<Mutex<String>>,
    http: ureq::Agent,
}

impl Gateway {
    /// A gateway with the admin token [`ADMIN`] and the example policies.
    pub fn start() -> Gateway {
        Gateway::start_with(Some(ADMIN))
    }

    /// A gateway with this admin token (`None`: it generates one into its data dir).
    pub fn start_with(admin: Option<&str>) -> Gateway {
        Gateway::start_env(admin, &[])
    }

    /// A gateway serving HTTPS with the certificate of `pki` (reached by the CLI only).
    pub fn start_tls(pki: &meshguard_tls::testing::Pki) -> Gateway {
        Gateway::start_env(
            Some(ADMIN),
            &[("TLS_CERT_FILE", &pki.cert), ("TLS_KEY_FILE", &pki.key)],
        )
    }

    fn start_env(admin: Option<&str>, env: &[(&str, &Path)]) -> Gateway {
        let dir = TempDir::new("admin-gw");
        for entry in std::fs::read_dir(repo_policies()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                dir.write(
                    &format!("policies/{}", path.file_name().unwrap().to_str().unwrap()),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
        let mut cmd = Command::new(gateway_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("POLICIES_DIR", dir.path().join("policies"))
            .env("DB_PATH", dir.path().join("meshguard.db"))
            .env("DATA_DIR", dir.path())
            .env("RELOAD_INTERVAL_MS", "200")
            .env("LOG", "warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = admin {
            cmd.env("ADMIN_TOKEN", token);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting meshguard-gateway");
        let pipe = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.trim().strip_prefix("meshguard-gateway listening on ")
                    {
                        let _ = tx.send(addr.to_owned());
                    }
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                }
            });
        }
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut gw = Gateway {
            child,
            url: String::new(),
            dir,
            log,
            http,
        };
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(url) => gw.url = url,
            Err(_) => panic!("the gateway did not start; its log:\n{}", gw.log()),
        }
        if gw.url.starts_with("http://") {
            let (status, body) = gw.get("/health", &[]);
            assert_eq!(status, 200, "{body}");
        }
        gw
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// `GET /proxy/check` as an agent: the status and the answer.
    pub fn check(
        &self,
        token: &str,
        action: &str,
        resource: Option<&str>,
        trace: Option<&str>,
    ) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("X-MeshGuard-Action", action),
        ];
        if let Some(r) = resource {
            headers.push(("X-MeshGuard-Resource", r));
        }
        if let Some(t) = trace {
            headers.push(("X-MeshGuard-Trace-ID", t));
        }
        let (status, body) = self.get("/proxy/check", &headers);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The `meshguard` command pointed at this gateway with the admin token.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_env(args, &[("MESHGUARD_ADMIN_TOKEN", ADMIN)])
    }

    /// The `meshguard` command pointed at this gateway with these extra variables.
    pub fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("NO_COLOR", "1")
            .env("MESHGUARD_GATEWAY_URL", &self.url)
            .env_remove("MESHGUARD_ADMIN_TOKEN")
            .env_remove("DATA_DIR")
            .env_remove("DB_PATH")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Creates an agent through the CLI (`--json`); returns (id, token).
    pub fn agent(&self, name: &str, args: &[&str]) -> (String, String) {
        let mut all = vec!["--json", "agent", "create", name];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v = json(&out.stdout);
        (
            v["id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Output for an assertion message.
pub fn both(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}
