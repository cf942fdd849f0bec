//! The hook fails closed even when its process fails: every way it can end without a
//! normal answer ends in a deny and exit status 2.
//!
//! Claude Code blocks a tool call only on exit status 2 (or a JSON `deny`); any other
//! ending, such as 101 for a panic or death by `SIGABRT` (134 from a shell) after a failed
//! allocation or a stack overflow, is a "non-blocking error" and the tool runs. Errors the
//! hook sees are blocks already ([`super::claude`]); what is left is the process itself.
//!
//! - **A supervising process.** `meshguard hook claude-code` forks (before it reads
//!   anything or starts a thread) and the child, the worker, reads, decides and answers
//!   (stdin and stdout are shared, the worker's stderr goes to the parent through a pipe).
//!   The worker ends with 0 or 2, which the parent, the supervisor, passes on together
//!   with what the worker wrote on stderr (a block's reason). Any other ending (a signal
//!   such as `SIGABRT` or the out-of-memory killer's `SIGKILL`, an exit status such as
//!   101) becomes a deny on stdout, the reason on stderr (with the worker's first line of
//!   stderr, such as `memory allocation of … failed`), a record in the audit log, and
//!   exit 2. What the worker printed on stdout before it died does not matter: on exit 2
//!   Claude Code ignores stdout. The supervisor neither reads the input nor loads the
//!   policies and allocates nothing until it must block (the worker's stderr, at most
//!   16 KiB, is kept on the stack), so it has next to nothing to fail on.
//! - **A panic hook** in both processes answers a panic with the deny (the panic's
//!   message and place as the reason) and exit 2 at once, whether panics unwind or abort
//!   (`panic = "abort"` is not set for the CLI; the hook relies on neither).
//! - **A deadline** (`--timeout`, 10 s by default): a worker not finished by then aborts
//!   (a watchdog thread), which the supervisor turns into a block; the supervisor blocks
//!   by itself a second later if the worker cannot even be stopped (stuck in the kernel).
//!   Claude Code's own hook timeout does not block, so ours must come first.
//! - On the normal path the input cannot exhaust the stack (`serde_json` refuses nesting
//!   deeper than 128) and its memory is bounded (1 MiB of JSON, tens of MiB parsed).
//!
//! **Why a supervisor, and why `fork`.** A global allocator wrapping the system one
//! could, on a failed allocation, write a fixed deny and `_exit(2)` at no cost per call,
//! but it catches that one ending only: not a stack overflow (Rust's guard-page handler
//! aborts), not the out-of-memory killer (`SIGKILL` cannot be caught, and with overcommit
//! that is how running out of memory usually ends), not an abort in a dependency or a
//! double panic. A supervising process catches every ending. Starting it as a new
//! process (`/proc/self/exe --worker`, no `unsafe`) costs one more start of this 38 MB
//! executable, measured at +1.7 ms per call on the 2-core machine (median 5.5 ms against
//! 3.8 ms: over the 5 ms budget); `fork` costs a copy of the page tables of a small,
//! single-threaded process instead (see the README for the numbers). The price is three
//! `unsafe` calls (`fork`, `dup2`, `waitpid`, through `libc`) in the [`fork`] module,
//! each with its reason, and a check that no other thread runs when it forks. Without
//! `fork` (not Unix) the hook decides in one process, with the panic hook and the
//! watchdog only. What is left: the supervisor itself failing before it can answer, which
//! takes an address-space limit too small for the runtime to start (nothing could answer
//! then) or memory running out in the few allocations of its own block path.
//!
//! **Fault injection, for tests only.** The worker fails on purpose when the environment
//! variable [`FAULT_VAR`] (`MESHGUARD_HOOK_TEST_FAULT`) is `panic`, `oom` (reserves
//! address space until an allocation fails; run it under `ulimit -v`) or
//! `stack-overflow`; any other non-empty value is an error, so a block. Nothing else
//! reaches these paths, and each ends only ever in a block, so the variable cannot loosen
//! anything; it stays in release builds so that a shipped binary can be shown to fail
//! closed.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::process::{ExitCode, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::claude::{self, Args, Blocker};
use crate::EXIT_BAD_INPUT;
use crate::paths::truncate;

/// The test-only fault injection switch (see the module documentation).
pub const FAULT_VAR: &str = "MESHGUARD_HOOK_TEST_FAULT";

/// Most of the worker's stderr kept (the rest is read and dropped): the reason of a
/// block, or the runtime's last words.
const MAX_STDERR: usize = 16 * 1024;

/// How much longer than the worker's deadline the supervisor waits before blocking
/// without it.
const GRACE: Duration = Duration::from_secs(1);

/// Set by whichever of the supervisor's waiting thread and its deadline answers first.
static ANSWERED: AtomicBool = AtomicBool::new(false);

/// Runs the hook: forks the worker that decides, and supervises it (on Unix).
pub fn run(args: &Args) -> ExitCode {
    let blocker = Blocker::new(args);
    install_panic_hook(blocker.clone());
    let deadline = Duration::from_secs(args.timeout);
    #[cfg(unix)]
    {
        if !single_threaded() {
            // Only a single-threaded process can be forked safely; nothing starts a
            // thread before the hook, so this is a bug, and it must block.
            return blocker.block("the hook cannot fork its worker: threads are running");
        }
        match fork::worker() {
            Ok(fork::Forked::Worker) => {}
            Ok(fork::Forked::Supervisor { pid, stderr }) => {
                return supervise(&blocker, deadline, pid, stderr);
            }
            Err(e) => return blocker.block(&format!("cannot fork the hook's worker: {e}")),
        }
    }
    // The worker (or, without fork, the one process): decide, with a watchdog.
    start_watchdog(deadline);
    claude::run(args, &blocker)
}

/// Waits for the worker `pid` and turns any ending of it but 0 or 2 into a block.
#[cfg(unix)]
fn supervise(
    blocker: &Blocker,
    deadline: Duration,
    pid: fork::Pid,
    stderr: io::PipeReader,
) -> ExitCode {
    let late = blocker.clone();
    let timer = std::thread::Builder::new()
        .name("hook-deadline".to_owned())
        .spawn(move || {
            std::thread::sleep(deadline + GRACE);
            if !ANSWERED.swap(true, Ordering::SeqCst) {
                late.block(&format!(
                    "the hook did not decide within {} s",
                    deadline.as_secs()
                ));
                std::process::exit(i32::from(EXIT_BAD_INPUT));
            }
        });
    if let Err(e) = timer {
        // The worker's own watchdog still bounds the wait.
        let _ = writeln!(io::stderr(), "MeshGuard: no supervisor deadline: {e}");
    }
    // On the stack: from here on the supervisor allocates nothing unless it must block.
    let mut said = [0u8; MAX_STDERR];
    let len = read_bounded(stderr, &mut said);
    let status = fork::wait(pid);
    if ANSWERED.swap(true, Ordering::SeqCst) {
        // The deadline has answered and is ending the process.
        loop {
            std::thread::park();
        }
    }
    let said = said.get(..len).unwrap_or_default();
    match status {
        // The worker's answer stands, with what it said on stderr (a block's reason).
        Ok(s) if s.code() == Some(0) => relay(said, ExitCode::SUCCESS),
        Ok(s) if s.code() == Some(i32::from(EXIT_BAD_INPUT)) => {
            relay(said, ExitCode::from(EXIT_BAD_INPUT))
        }
        Ok(s) => {
            // Its first words say what happened (`memory allocation of … failed`).
            let said = String::from_utf8_lossy(said);
            let first = said.lines().map(str::trim).find(|l| !l.is_empty());
            let first = first
                .map(|l| format!(": {}", truncate(l, 300)))
                .unwrap_or_default();
            blocker.block(&format!(
                "the hook's worker process ended abnormally: {}{first}",
                describe(s)
            ))
        }
        Err(e) => blocker.block(&format!("cannot wait for the hook's worker process: {e}")),
    }
}

/// Whether this process runs one thread only (Linux asks `/proc`; elsewhere it is
/// taken as given: nothing starts a thread before the hook).
#[cfg(unix)]
fn single_threaded() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_dir("/proc/self/task").map_or(true, |tasks| tasks.count() == 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// `fork`, `dup2` and `waitpid`, the only `unsafe` in the CLI.
#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "fork, dup2 and waitpid have no safe std equivalent; each call is documented"
)]
mod fork {
    use std::io;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    /// A process id.
    pub type Pid = libc::pid_t;

    /// Which side of the fork this is.
    #[derive(Debug)]
    pub enum Forked {
        /// The child: it decides; its stderr goes to the supervisor.
        Worker,
        /// The parent, with the worker's id and stderr.
        Supervisor { pid: Pid, stderr: io::PipeReader },
    }

    /// Forks the worker, its stderr (fd 2) turned into a pipe to the supervisor.
    pub fn worker() -> io::Result<Forked> {
        let (reader, writer) = io::pipe()?;
        // SAFETY: `fork` is safe to call in a single-threaded process (checked by the
        // caller): the child is a copy with every lock free and the allocator in a
        // consistent state, and it goes on as a normal process. Nothing has read stdin
        // or written stdout yet, so no buffered data is duplicated.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(reader);
                // SAFETY: both descriptors are open and owned by this process; `dup2`
                // only replaces fd 2, which nothing else holds.
                if unsafe { libc::dup2(writer.as_raw_fd(), libc::STDERR_FILENO) } == -1 {
                    // Without the pipe the worker's words would bypass the supervisor;
                    // ending abnormally makes the supervisor block.
                    std::process::abort();
                }
                drop(writer);
                Ok(Forked::Worker)
            }
            pid => {
                drop(writer);
                Ok(Forked::Supervisor {
                    pid,
                    stderr: reader,
                })
            }
        }
    }

    /// Waits for the worker to end (retrying when interrupted) and reaps it.
    pub fn wait(pid: Pid) -> io::Result<ExitStatus> {
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: `pid` is our own child, not yet reaped; `status` is a valid
            // `c_int` for `waitpid` to write.
            let got = unsafe { libc::waitpid(pid, &mut status, 0) };
            if got == pid {
                return Ok(ExitStatus::from_raw(status));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Reads `from` to its end, keeping what fits in `kept`; returns how much that is.
fn read_bounded(mut from: impl Read, kept: &mut [u8]) -> usize {
    let mut len = 0;
    let mut dropped = [0u8; 1024];
    loop {
        let into = match kept.get_mut(len..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => &mut dropped[..],
        };
        let room = into.len();
        match from.read(into) {
            Ok(0) => return len,
            Ok(n) if len < kept.len() => len += n.min(room),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return len,
        }
    }
}

/// Passes on what the worker wrote on stderr, and its exit status.
fn relay(said: &[u8], code: ExitCode) -> ExitCode {
    let mut err = io::stderr().lock();
    let _ = err.write_all(said).and_then(|()| err.flush());
    code
}

/// How a process ended, in words.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let what = match signal {
                6 => " (SIGABRT: an abort, such as a failed memory allocation or a stack overflow)",
                9 => " (SIGKILL, such as the out-of-memory killer's)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{what}");
        }
    }
    match status.code() {
        Some(101) => "exit status 101: a panic".to_owned(),
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// A panic blocks at once: the deny with the panic as reason, exit 2.
fn install_panic_hook(blocker: Blocker) {
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("(no message)");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        blocker.block(&format!("the hook panicked{place}: {message}"));
        std::process::exit(i32::from(EXIT_BAD_INPUT));
    }));
}

/// Aborts the worker when it has not finished within `deadline` (the supervisor then
/// blocks). Without the thread the supervisor's own deadline still holds.
fn start_watchdog(deadline: Duration) {
    let _ = std::thread::Builder::new()
        .name("hook-watchdog".to_owned())
        .spawn(move || {
            std::thread::sleep(deadline);
            let _ = writeln!(
                io::stderr(),
                "MeshGuard: the hook did not decide within {} s; stopping it",
                deadline.as_secs()
            );
            std::process::abort();
        });
}

/// Fails on purpose when [`FAULT_VAR`] asks for it (tests only; see the module
/// documentation). Returns normally when the variable is not set.
#[expect(
    clippy::panic,
    reason = "the `panic` fault is a deliberate panic, to test the panic hook"
)]
pub fn inject_fault() -> Result<(), String> {
    let Some(fault) = std::env::var_os(FAULT_VAR).filter(|f| !f.is_empty()) else {
        return Ok(());
    };
    match fault.to_str() {
        Some("panic") => panic!("injected by {FAULT_VAR}"),
        Some("oom") => exhaust_memory(),
        Some("stack-overflow") => {
            black_box(overflow_stack(0));
            Err("the stack did not overflow".to_owned())
        }
        _ => Err(format!("unknown {FAULT_VAR} value {fault:?}")),
    }
}

/// Reserves ever larger blocks, never touching them (so no memory is used, only address
/// space), until an allocation fails and Rust aborts.
fn exhaust_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    let mut size: usize = 1 << 20;
    loop {
        hoard.push(black_box(Vec::with_capacity(size)));
        size = size.saturating_mul(2).min(1 << 40);
    }
}

/// Recurses with half a kilobyte per frame that must stay alive across the call.
fn overflow_stack(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if frame[0] == u64::MAX {
        return 0;
    }
    let below = overflow_stack(depth + 1);
    black_box(&frame);
    below.wrapping_add(frame[1])
}
