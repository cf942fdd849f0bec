//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: exactly what CI runs (`.ci/run` execs this), step by step, failing fast.
//! - `bench [criterion args]`: the core benchmarks, then a table of medians.
//! - `fuzz [parse|evaluate|all] [seconds]`: the cargo-fuzz targets on nightly.
//!
//! Every command is printed before it runs. Add CI steps to [`ci_steps`].

// A command-line tool: printing to stdout is its job.
#![allow(clippy::print_stdout)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci                          run what CI runs: toolchain targets, fmt, clippy, tests
  bench [criterion args...]   cargo bench -p meshguard-core --bench evaluate, then a table
                              of medians (e.g. `cargo xtask bench --warm-up-time 1
                              --measurement-time 3`, or a filter such as `decide/`)
  fuzz [target|all] [seconds] run cargo-fuzz targets (parse, evaluate; default all) for
                              the given seconds each (default 60); needs nightly and
                              installs cargo-fuzz if missing
  js                          build the npm package (wasm-bindgen, three targets) and the
                              Node addon (napi-rs), then run the JS suite on both backends
                              (whole conformance corpus vs the native CLI, API tests), the
                              workerd edge worker and headless Chromium
  gateway-binary              build target/release/meshguard-gateway as the gateway's
                              release tests build it (what the JS step, the CLI's admin
                              tests and the Python SDK's script run when they need it)
  wasm-bindgen <module.wasm> <dir>
                              the npm package's JS glue for <module.wasm> into
                              <dir>/nodejs, <dir>/web and <dir>/bundler (the library of
                              the wasm-bindgen CLI at the pinned version; used by
                              bindings/npm/scripts/build.mjs)
  gateway                     the gateway's release tests (conformance through the Wasm
                              component, the real binary over HTTP) and the official
                              Python SDK (meshguard 0.1.2 from PyPI) against it";

const FUZZ_TARGETS: &[&str] = &["parse", "evaluate"];

/// The gateway's release tests. The gateway binary is built with these very arguments plus
/// `--no-run` (`cargo xtask gateway-binary`), wherever it is needed, so that every step
/// shares every compiled crate: cargo unifies features over the packages of one
/// invocation and over dev-dependencies when tests are built, so `cargo build -p
/// meshguard-gateway`, or the gateway built together with the CLI, gives tokio,
/// serde_json and others other features than the tests' build, and wasmtime with
/// cranelift is compiled once more (minutes on CI's two cores).
const GATEWAY_TESTS: &[&str] = &["test", "--release", "--locked", "-p", "meshguard-gateway"];

fn main() -> ExitCode {
    match xtask() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain on one line, without a backtrace: what failed and why.
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn xtask() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "ci" => ci(rest),
        "bench" => bench(rest),
        "fuzz" => fuzz(rest),
        "js" => js(rest),
        "gateway" => gateway(rest),
        "wasm-bindgen" => wasm_bindgen(rest),
        "gateway-binary" => gateway_binary(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}

/// The repository root (the parent of `xtask/`).
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// One command of a pipeline, run from a directory relative to the repository root.
#[derive(Debug)]
struct Step {
    /// Shown before the command, and in the error if it fails.
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    /// Relative to the repository root.
    dir: &'static str,
}

/// What CI runs, in order. Later steps (wasm, npm, gateway) go at the end of this list.
fn ci_steps() -> Vec<Step> {
    vec![
        Step {
            // rust-toolchain.toml names these targets, but RUSTUP_AUTO_INSTALL=0 means
            // rustup will not fetch them by itself; this is idempotent.
            name: "toolchain targets",
            program: "rustup",
            args: &["target", "add", "wasm32-wasip2", "wasm32-unknown-unknown"],
            dir: ".",
        },
        Step {
            name: "format",
            program: "cargo",
            args: &["fmt", "--all", "--", "--check"],
            dir: ".",
        },
        Step {
            name: "lint",
            program: "cargo",
            args: &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            dir: ".",
        },
        Step {
            name: "test",
            program: "cargo",
            // The gateway runs in release in its own step: a debug wasmtime costs ~4 min
            // and 2.3 GB to build and runs 10-20x slower.
            args: &[
                "test",
                "--workspace",
                "--locked",
                "--exclude",
                "meshguard-gateway",
            ],
            dir: ".",
        },
        Step {
            // bindings/npm and bindings/node: see `js` below.
            name: "js: npm package and Node addon",
            program: "cargo",
            args: &["xtask", "js"],
            dir: ".",
        },
        Step {
            // hosts/gateway in release (debug wasmtime is 10-20x slower): see `gateway`.
            name: "gateway: release tests and the Python SDK",
            program: "cargo",
            args: &["xtask", "gateway"],
            dir: ".",
        },
    ]
}

fn ci(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("`cargo xtask ci` takes no arguments (got `{extra}`)");
    }
    let steps = ci_steps();
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        println!("==> [{}/{total}] {}", i + 1, step.name);
        let mut cmd = Command::new(step.program);
        cmd.args(step.args).current_dir(root().join(step.dir));
        run(&mut cmd).with_context(|| format!("CI step `{}` failed", step.name))?;
    }
    println!("==> CI passed ({total} steps)");
    Ok(())
}

/// Prints the command, runs it with inherited stdio, and fails unless it succeeds.
fn run(cmd: &mut Command) -> Result<()> {
    without_cargo_run_env(cmd);
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Removes what `cargo run` set for this process (`CARGO_MANIFEST_DIR=…/xtask`,
/// `CARGO_PKG_NAME=xtask`, …; and what `cargo test` set, when a test runs `cargo xtask`)
/// from a child's environment. Build scripts that watch those variables (ring watches
/// `CARGO_MANIFEST_DIR` and `CARGO_PKG_*`) are otherwise dirty between a build run from
/// here and one run from a shell, and ring, rustls, hyper and the gateway get compiled
/// again.
fn without_cargo_run_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_run = matches!(
            name.as_ref(),
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        ) || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_");
        if set_by_cargo_run {
            cmd.env_remove(name.as_ref());
        }
    }
}

fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(quote));
    let line = parts.join(" ");
    match cmd.get_current_dir() {
        Some(dir) if dir != root() => format!("(cd {} && {line})", dir.display()),
        _ => line,
    }
}

fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+./:,@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------
// bench
// ---------------------------------------------------------------------------------------

fn bench(args: &[String]) -> Result<()> {
    let mut cmd = Command::new("cargo");
    cmd.args(["bench", "-p", "meshguard-core", "--bench", "evaluate", "--"])
        .args(args)
        .current_dir(root());
    run(&mut cmd)?;
    summarize(&criterion_dir()?)
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace target directory's `criterion` (the same order criterion uses).
fn criterion_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Ok(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(target).join("criterion"));
    }
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .context("could not run `cargo metadata`")?;
    if !out.status.success() {
        bail!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("`cargo metadata` printed invalid JSON")?;
    let target = meta["target_directory"]
        .as_str()
        .context("`cargo metadata` gave no target_directory")?;
    Ok(Path::new(target).join("criterion"))
}

/// Prints the median of every benchmark criterion has results for.
fn summarize(dir: &Path) -> Result<()> {
    let mut rows = Vec::new();
    collect_estimates(dir, dir, &mut rows)?;
    if rows.is_empty() {
        println!("no criterion results under {}", dir.display());
        return Ok(());
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let width = rows
        .iter()
        .map(|(id, _)| id.len())
        .max()
        .unwrap_or(9)
        .max(9);
    println!();
    println!("{:<width$}  {:>12}", "benchmark", "median");
    println!("{:-<width$}  {:->12}", "", "");
    for (id, ns) in &rows {
        println!("{id:<width$}  {:>12}", human(*ns));
    }
    let median = |id: &str| rows.iter().find(|(r, _)| r == id).map(|(_, ns)| *ns);
    if let (Some(base), Some(big)) = (
        median("decide/example-set"),
        median("decide/generated-10000"),
    ) {
        println!();
        println!(
            "targets: decide/example-set {} (≤ 200 ns); generated-10000 / example-set = {:.2}× (≤ 3×)",
            human(base),
            big / base
        );
    }
    Ok(())
}

/// Finds `<id>/new/estimates.json` below `dir`; `id` is the path relative to `base`.
fn collect_estimates(base: &Path, dir: &Path, rows: &mut Vec<(String, f64)>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        let estimates = path.join("new").join("estimates.json");
        if estimates.is_file() {
            let text = std::fs::read_to_string(&estimates)
                .with_context(|| format!("reading {}", estimates.display()))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", estimates.display()))?;
            let ns = json["median"]["point_estimate"]
                .as_f64()
                .with_context(|| format!("no median.point_estimate in {}", estimates.display()))?;
            let id = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            rows.push((id, ns));
        } else {
            collect_estimates(base, &path, rows)?;
        }
    }
    Ok(())
}

fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

// ---------------------------------------------------------------------------------------
// fuzz
// ---------------------------------------------------------------------------------------

fn fuzz(args: &[String]) -> Result<()> {
    let (targets, seconds): (Vec<&str>, u64) = match args {
        [] => (FUZZ_TARGETS.to_vec(), 60),
        [t] => (fuzz_targets(t)?, 60),
        [t, s] => (
            fuzz_targets(t)?,
            s.parse()
                .with_context(|| format!("seconds must be a whole number, got `{s}`"))?,
        ),
        _ => bail!("usage: cargo xtask fuzz [parse|evaluate|all] [seconds]"),
    };
    ensure_cargo_fuzz()?;
    let dir = root().join("fuzz");
    for target in targets {
        let mut cmd = Command::new("cargo");
        cmd.args(["+nightly", "fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(&dir);
        run(&mut cmd).with_context(|| {
            format!("fuzz target `{target}` failed (see fuzz/artifacts/{target}/)")
        })?;
    }
    Ok(())
}

fn fuzz_targets(name: &str) -> Result<Vec<&'static str>> {
    if name == "all" {
        return Ok(FUZZ_TARGETS.to_vec());
    }
    match FUZZ_TARGETS.iter().find(|t| **t == name) {
        Some(t) => Ok(vec![*t]),
        None => bail!(
            "unknown fuzz target `{name}`; expected one of {} or `all`",
            FUZZ_TARGETS.join(", ")
        ),
    }
}

/// cargo-fuzz needs a nightly toolchain; installs `cargo-fuzz` if it is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    let mut probe = Command::new("cargo");
    probe.args(["+nightly", "fuzz", "--version"]);
    println!("$ {}", show(&probe));
    let found = probe.output().is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    println!("cargo-fuzz is not installed; installing it");
    run(Command::new("cargo").args(["install", "cargo-fuzz"]))
        .context("could not install cargo-fuzz (is a nightly toolchain installed? `rustup toolchain install nightly`)")
}

// ---------------------------------------------------------------------------------------
// js
// ---------------------------------------------------------------------------------------

/// `cargo xtask js`: builds the npm package `@meshguard/policy` (bindings/npm: the glue
/// for three targets by `cargo xtask wasm-bindgen`, `wasm-opt -Oz`)
/// and the napi-rs addon (bindings/node), builds the native CLI the suite compares
/// against, then runs the JS suite on the wasm and the native backend, and the real
/// runtimes (standalone workerd, headless Debian Chromium, installed by apt-get if
/// missing), and the packed tarball installed into an empty project in Node, Deno, Bun,
/// workerd, Chromium and a Vite build, and the gateway's web console in Chromium
/// (screenshots in `target/console-screenshots/`). Every wait inside the tests is bounded.
fn js(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("`cargo xtask js` takes no arguments (got `{extra}`)");
    }
    let npm = root().join("bindings").join("npm");
    let node = |args: &[&str]| {
        let mut cmd = Command::new("node");
        cmd.args(args).current_dir(&npm);
        cmd
    };
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&npm))?;
    run(&mut node(&["scripts/build.mjs"]))?;
    run(&mut node(&["../node/build.mjs"]))?;
    // The CLI is the oracle the suite compares with; the gateway serves GatewaySync's and
    // the console's tests. Each is built by itself (see `GATEWAY_TESTS`).
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "meshguard-cli"])
        .current_dir(root()))?;
    gateway_binary(&[])?;
    let suite = ["--test", "--test-timeout=300000"];
    for backend in ["wasm", "native"] {
        let mut cmd = node(&suite);
        cmd.args([
            "test/conformance.test.mjs",
            "test/api.test.mjs",
            "test/sync.test.mjs",
            "test/client.test.mjs",
        ])
        .env("MESHGUARD_BACKEND", backend);
        run(&mut cmd).with_context(|| format!("the JS suite failed on the {backend} backend"))?;
    }
    run(&mut node(&["scripts/ensure-chromium.mjs"]))?;
    let mut runtimes = node(&suite);
    runtimes
        .args([
            "test/runtimes.test.mjs",
            "test/packed.test.mjs",
            "test/console.test.mjs",
        ])
        .env("MESHGUARD_REQUIRE_BROWSER", "1");
    run(&mut runtimes)
        .context("the runtime tests (workerd, Chromium, the packed tarball, the console) failed")
}

// ---------------------------------------------------------------------------------------
// gateway
// ---------------------------------------------------------------------------------------

/// `cargo xtask gateway`: the gateway's tests in release (the conformance corpus through
/// the Wasm component in wasmtime, and the integration tests that drive the real
/// `meshguard-gateway` binary over HTTP), then the official Python SDK against it
/// (`hosts/gateway/tests/sdk/run.sh`: a venv in `target/sdk-venv`, `meshguard==0.1.2`
/// from PyPI, pytest). Release only: a debug wasmtime is 10-20x slower. The replica tests
/// run several gateways on a throwaway PostgreSQL server they start themselves; its
/// binaries come from Debian's `postgresql` package (`tests/ensure-postgres.sh`).
fn gateway(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("`cargo xtask gateway` takes no arguments (got `{extra}`)");
    }
    run(Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .current_dir(root()))?;
    run(Command::new("bash")
        .arg("hosts/gateway/tests/ensure-postgres.sh")
        .current_dir(root()))?;
    run(Command::new("cargo")
        .args(GATEWAY_TESTS)
        // The replica tests start a real PostgreSQL; here they must not skip themselves.
        .env("MESHGUARD_REQUIRE_POSTGRES", "1")
        .current_dir(root()))
    .context("the gateway's release tests failed")?;
    run(Command::new("bash")
        .arg("hosts/gateway/tests/sdk/run.sh")
        .current_dir(root()))
    .context("the Python SDK tests against the gateway failed")
}

// ---------------------------------------------------------------------------------------
// wasm-bindgen
// ---------------------------------------------------------------------------------------

/// `cargo xtask wasm-bindgen <module.wasm> <dir>`: what `wasm-bindgen --target T
/// --out-name meshguard_wasm --no-typescript` does for the three targets of the npm
/// package, through the CLI's own library (`wasm-bindgen-cli-support`, pinned to the
/// `wasm-bindgen` crate's exact version in the workspace). The CLI itself, installed with
/// `cargo install`, took four minutes of CI's two cores to compile (its test runner's web
/// server and HTTP client included); the library is compiled once, here and in the
/// gateway's build script.
fn wasm_bindgen(args: &[String]) -> Result<()> {
    let [module, dir] = args else {
        bail!("usage: cargo xtask wasm-bindgen <module.wasm> <dir>");
    };
    type Mode = fn(
        &mut wasm_bindgen_cli_support::Bindgen,
        bool,
    ) -> Result<&mut wasm_bindgen_cli_support::Bindgen, anyhow::Error>;
    let targets: [(&str, Mode); 3] = [
        ("nodejs", wasm_bindgen_cli_support::Bindgen::nodejs),
        ("web", wasm_bindgen_cli_support::Bindgen::web),
        ("bundler", wasm_bindgen_cli_support::Bindgen::bundler),
    ];
    for (target, mode) in targets {
        let out = Path::new(dir).join(target);
        println!(
            "wasm-bindgen --target {target} --out-dir {} {module}",
            out.display()
        );
        let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
        bindgen.input_path(module);
        mode(&mut bindgen, true)?
            .typescript(false)
            // The CLI's default: the web glue's `init()` finds the module next to itself.
            .omit_default_module_path(false)
            .out_name("meshguard_wasm")
            .generate(&out)
            .with_context(|| format!("wasm-bindgen --target {target} on {module}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// gateway-binary
// ---------------------------------------------------------------------------------------

/// `cargo xtask gateway-binary`: `target/release/meshguard-gateway`, built by the
/// gateway's release test build (`GATEWAY_TESTS` + `--no-run`, which writes the binary
/// too), so that it shares every compiled crate with `cargo xtask gateway`.
fn gateway_binary(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("`cargo xtask gateway-binary` takes no arguments (got `{extra}`)");
    }
    run(Command::new("cargo")
        .args(GATEWAY_TESTS)
        .arg("--no-run")
        .current_dir(root()))
    .context("building the gateway binary failed")
}
