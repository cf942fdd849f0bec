//! What the governed tools do once the policies allow them: read and write files, run a
//! shell command, fetch a URL. Each is bounded (sizes, time) so one call cannot take the
//! server down.
//!
//! `governed_web_fetch` fetches `http://` and `https://` URLs through the CLI's HTTP
//! client ([`crate::net`]). Redirects are not followed (the policy decided about this URL,
//! not wherever it points).

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest file `governed_read_file` returns.
pub const MAX_READ: u64 = 1024 * 1024;

/// Output kept from each of a command's stdout and stderr.
const MAX_OUTPUT: usize = 64 * 1024;

/// Largest HTTP response read.
const MAX_FETCH: u64 = 1024 * 1024;

/// Connect, read and write timeout for fetches.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A file's text, refused when larger than [`MAX_READ`] or not UTF-8.
pub fn read_file(path: &Path) -> Result<String, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{name}`: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_READ + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_READ {
        return Err(format!("`{name}` is larger than {} KiB", MAX_READ / 1024));
    }
    String::from_utf8(bytes).map_err(|_| format!("`{name}` is not UTF-8 text"))
}

/// Writes (creates or replaces) a file; its directory must exist.
pub fn write_file(path: &Path, content: &str) -> Result<usize, String> {
    std::fs::write(path, content)
        .map(|()| content.len())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// What a command did.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Standard output, cut at [`MAX_OUTPUT`] bytes.
    pub stdout: String,
    /// Standard error, cut likewise.
    pub stderr: String,
}

/// Runs `sh -c command` in `dir` with no stdin, killed after `timeout`.
///
/// On timeout the shell is killed (`kill_on_drop`); processes it put in the background
/// may outlive it.
pub async fn exec(command: &str, dir: &Path, timeout: Duration) -> Result<Ran, String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `sh`: {e}"))?;
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let run = async {
        let (stdout, stderr) = tokio::join!(capped(out), capped(err));
        let status = child.wait().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(Ran {
            code: status.code(),
            stdout,
            stderr,
        })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the command did not finish within {} s and was killed",
            timeout.as_secs()
        )),
    }
}

/// Reads a stream to its end, keeping the first [`MAX_OUTPUT`] bytes (so a chatty command
/// is never blocked on a full pipe, and never fills the server's memory).
async fn capped(stream: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut dropped = 0usize;
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                let part = chunk.get(..n.min(room)).unwrap_or(&[]);
                kept.extend_from_slice(part);
                dropped += n - part.len();
            }
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        text.push_str(&format!("\n[... {dropped} more bytes not shown]"));
    }
    text
}

/// Fetches an `http://` or `https://` URL (already canonical): the status line and the
/// body (at most [`MAX_FETCH`] bytes). `https://` is verified against the platform's
/// roots plus `MESHGUARD_CA_FILE`; redirects are not followed.
pub fn fetch(url: &str) -> Result<String, String> {
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(format!(
            "cannot fetch `{url}`: only http:// and https:// URLs are fetched"
        ));
    }
    let agent = crate::net::agent(
        url,
        crate::net::ca_file(None).as_deref(),
        FETCH_TIMEOUT,
        FETCH_TIMEOUT,
    )
    .map_err(|e| format!("{e:#}"))?;
    let mut resp = agent
        .get(url)
        .header("Accept", "*/*")
        .call()
        .map_err(|e| format!("cannot fetch `{url}`: {e}"))?;
    let status = resp.status();
    let line = format!(
        "{:?} {} {}",
        resp.version(),
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    let mut bytes = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_FETCH)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("fetching `{url}`: {e}"))?;
    Ok(format!(
        "{}\n\n{}",
        line.trim_end(),
        String::from_utf8_lossy(&bytes)
    ))
}
