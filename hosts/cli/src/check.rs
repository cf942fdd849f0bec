//! `meshguard check`: decide requests read from stdin, one JSON request per line, one
//! JSON decision per line on stdout (with `--action`, one request given as flags instead:
//! see [`crate::check_one`]).
//!
//! The protocol is line-for-line so that other hosts' test runners (and people) can
//! drive the binary as a subprocess: write a request, read its decision. Every
//! non-blank input line gets exactly one output line, flushed at once, and no input can
//! make the process stop early or crash: what cannot be evaluated is denied with rule
//! `invalid-request` (fail closed, docs/semantics.md §2), like any other host does.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::{
    Decision, Effect, PolicySet, RateLimiter, Request, RequestError, parse_request,
};

use crate::{EXIT_BAD_INPUT, check_one, load};

/// Longest request line accepted, in bytes (without the line break). Real requests are
/// a few hundred bytes; the cap bounds the memory one line can take.
const MAX_LINE: usize = 1024 * 1024;

/// Arguments of `meshguard check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A policy file or directory; repeat to load several, in the order given.
    #[arg(long = "policies", required = true, value_name = "PATH")]
    policies: Vec<PathBuf>,

    /// Add the rule-by-rule explanation to every decision.
    #[arg(long)]
    explain: bool,

    /// The answer when no policy applies to a request.
    #[arg(long, value_enum, default_value_t = Fallback::Deny)]
    fallback: Fallback,

    /// The single-decision form: the request as flags.
    #[command(flatten)]
    one: check_one::RequestArgs,
}

/// `--fallback` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Fallback {
    Allow,
    Deny,
}

/// Loads the policies (exit 2 with diagnostics if they are bad), then decides the one
/// request given as flags, or answers stdin until end of input (JSON either way; `--json`
/// changes nothing for the line protocol).
pub fn run(args: &Args, json: bool) -> Result<ExitCode> {
    let Some(set) = load::load_or_report(&args.policies).context("writing to stderr")? else {
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    };
    let set = set.with_fallback(match args.fallback {
        Fallback::Allow => Effect::Allow,
        Fallback::Deny => Effect::Deny,
    });
    if args.one.action.is_some() {
        return check_one::run(&set, &args.one, args.explain, json);
    }
    let mut session = Session {
        set,
        limiter: RateLimiter::new(),
        explain: args.explain,
    };
    match session.serve(&mut io::stdin().lock(), &mut io::stdout().lock()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // The reader went away (`meshguard check ... | head -1`): nobody is left to
        // answer, which is an end, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("answering requests"),
    }
}

/// One loaded set and the process's rate limiter (one per process, like one gateway
/// instance: rate limits count across all lines).
struct Session {
    set: PolicySet,
    limiter: RateLimiter,
    explain: bool,
}

impl Session {
    /// Answers every line of `input` on `output` until end of input.
    fn serve(&mut self, input: &mut impl BufRead, output: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::new();
        while let Some(line) = read_line(input, &mut buf)? {
            let decision = match line {
                Line::TooLong => rejected(&format!("line longer than {MAX_LINE} bytes")),
                Line::Bytes if buf.trim_ascii().is_empty() => continue,
                Line::Bytes => match std::str::from_utf8(&buf) {
                    Ok(text) => self.decide(text),
                    Err(_) => rejected("line is not valid UTF-8"),
                },
            };
            let json = serde_json::to_string(&decision).map_err(io::Error::other)?;
            writeln!(output, "{json}")?;
            output.flush()?;
        }
        Ok(())
    }

    /// Decides one request line exactly as the conformance harness does
    /// (`tests/harness/native.rs`): the core decides, and a request with a `time` is
    /// then counted against the rate limiter at that instant.
    ///
    /// The line is parsed once; when it is not a request, `decide_json` gives the core's
    /// own `invalid-request` answer, so the words are the same as from every host.
    fn decide(&mut self, line: &str) -> Decision {
        let request = match parse_request(line) {
            Ok(r) => r,
            Err(e) => return Decision::invalid(&Request::default(), &e),
        };
        let mut decision = self.set.decide(&request, self.explain);
        self.limiter.count(&mut decision, &request, None);
        decision
    }
}

/// The `invalid-request` deny for a line the CLI cannot hand to the core at all (too
/// long, or not UTF-8), in the core's own words (`invalid request: malformed request: …`).
fn rejected(problem: &str) -> Decision {
    Decision::invalid(
        &meshguard_core::Request::default(),
        &RequestError::Malformed(problem.to_owned()),
    )
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line of at most [`MAX_LINE`] bytes, now in the buffer (without `\n`).
    Bytes,
    /// A longer line, skipped up to its end without keeping it.
    TooLong,
}

/// Reads one line into `buf`, keeping at most [`MAX_LINE`] bytes in memory whatever the
/// input (`BufRead::read_until` would buffer an endless line whole). `None` at end of
/// input; a last line without `\n` still counts.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(read_any.then_some(if too_long { Line::TooLong } else { Line::Bytes }));
        }
        read_any = true;
        let newline = chunk.iter().position(|&b| b == b'\n');
        let part = chunk.get(..newline.unwrap_or(chunk.len())).unwrap_or(chunk);
        if !too_long {
            if buf.len() + part.len() > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        input.consume(used);
        if newline.is_some() {
            return Ok(Some(if too_long { Line::TooLong } else { Line::Bytes }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(Line, Vec<u8>)> {
        // A tiny buffer, so lines span several `fill_buf` chunks.
        let mut reader = io::BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(l) = read_line(&mut reader, &mut buf).unwrap_or(None) {
            out.push((l, buf.clone()));
        }
        out
    }

    #[test]
    fn splits_lines_across_chunks() {
        let got = lines(b"{\"action\":\"a\"}\n\nlast");
        assert_eq!(
            got,
            vec![
                (Line::Bytes, b"{\"action\":\"a\"}".to_vec()),
                (Line::Bytes, Vec::new()),
                (Line::Bytes, b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn long_lines_are_skipped_not_kept() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (Line::TooLong, Vec::new()));
        assert_eq!(got[1], (Line::Bytes, b"next".to_vec()));
        // Exactly at the limit is fine.
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        assert_eq!(lines(&input)[0].0, Line::Bytes);
    }

    #[test]
    fn rejected_is_the_cores_invalid_request_shape() {
        let d = rejected("line is not valid UTF-8");
        assert_eq!(d.effect, Effect::Deny);
        assert!(!d.allowed);
        assert_eq!(&*d.policy, "default");
        assert_eq!(&*d.rule, "invalid-request");
        assert_eq!(
            &*d.reason,
            "invalid request: malformed request: line is not valid UTF-8"
        );
        assert_eq!(d.action, "");
        assert_eq!(d.resource, None);
    }
}
