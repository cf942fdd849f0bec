//! What the governed tools do once the policies allow them: read and write files, run a
//! shell command, fetch a URL. Each is bounded (sizes, time) so one call cannot take the
//! server down.
//!
//! `governed_web_fetch` speaks plain HTTP/1.0 over a `TcpStream` for `http://` URLs only:
//! this build has no TLS stack, so an allowed `https://` URL is answered with the error
//! "https fetch is not available in this build". Redirects are not followed (the
//! policy decided about this URL, not wherever it points).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

/// Fetches an `http://` URL (already canonical); the status line and the body.
pub fn fetch(url: &str) -> Result<String, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            "https fetch is not available in this build (no TLS); only http:// URLs are fetched"
                .to_owned()
        } else {
            format!("cannot fetch `{url}`: only http:// URLs are supported")
        });
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("bad port in `{url}`"))?,
        ),
        _ => (authority, 80),
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve `{host}`"))?;
    let mut stream = TcpStream::connect_timeout(&addr, FETCH_TIMEOUT)
        .map_err(|e| format!("cannot connect to `{authority}`: {e}"))?;
    let io = |e: std::io::Error| format!("fetching `{url}`: {e}");
    stream.set_read_timeout(Some(FETCH_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(FETCH_TIMEOUT)).map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: meshguard/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        meshguard_core::VERSION
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut bytes = Vec::new();
    stream.take(MAX_FETCH).read_to_end(&mut bytes).map_err(io)?;
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("");
    Ok(format!("{status}\n\n{body}"))
}
