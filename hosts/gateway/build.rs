//! Builds what the gateway embeds, so the binary is one self-contained file and
//! `cargo build -p meshguard-gateway` is the only command a person needs:
//!
//! 1. the evaluator component (`bindings/component`) for `wasm32-wasip2`, which the
//!    gateway runs in wasmtime for every decision;
//! 2. the console (`hosts/gateway/console/`) and, for its playground, the npm package's
//!    web build: `bindings/npm/js/*.js` plus the wasm-bindgen module of `meshguard-wasm`
//!    with its `web` glue, generated here by `wasm-bindgen-cli-support` (the library
//!    behind the `wasm-bindgen` CLI, pinned to the crate's exact version) so no Node or
//!    CLI is needed. The package's published module is further shrunk by `wasm-opt`;
//!    this copy is not, and decides the same.
//!
//! The inner builds use their own target directory (`target/component`), so they never
//! wait on the outer build's lock, and the `wasm` profile (`lto`, `panic = abort`). The
//! component overrides its size-optimised `opt-level = "s"` with `3`: the gateway calls it
//! on every decision, so speed matters more than bytes there (measured ≈ 14 % fewer µs per
//! decision); the playground's module is built as the npm package's is (`s`, the core
//! at `2`: see the workspace's Cargo.toml).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    if let Err(e) = run() {
        // A build script reports failure by exiting non-zero with a message on stderr.
        eprintln!("error: building what the gateway embeds failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest
        .parent()
        .and_then(|p| p.parent())
        .ok_or("cannot find the workspace root")?
        .to_path_buf();
    for dir in [
        "core/src",
        "core/Cargo.toml",
        "bindings/component",
        "bindings/npm/src",
        "bindings/npm/Cargo.toml",
        "bindings/npm/js",
        "hosts/gateway/console",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);

    let component = build_wasm(&root, "meshguard-component", "wasm32-wasip2", Some("3"))?;
    println!(
        "cargo:rustc-env=MESHGUARD_COMPONENT_WASM={}",
        component.display()
    );

    let module = build_wasm(&root, "meshguard-wasm", "wasm32-unknown-unknown", None)?;
    let web = out.join("pkg-web");
    let _ = std::fs::remove_dir_all(&web);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&module)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        .out_name("meshguard_wasm")
        .generate(&web)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;

    // URL path → file, in the order the table is written.
    let mut assets: Vec<(String, PathBuf)> = Vec::new();
    let console = root.join("hosts/gateway/console");
    for (dir, prefix) in [
        (console.clone(), "/console/"),
        (console.join("app"), "/console/app/"),
        (root.join("bindings/npm/js"), "/console/pkg/js/"),
        (web.clone(), "/console/pkg/pkg/web/"),
    ] {
        for file in files_in(&dir)? {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{} has no UTF-8 name", file.display()))?
                .to_owned();
            assets.push((format!("{prefix}{name}"), file));
        }
    }
    let mut table = String::from("&[\n");
    for (path, file) in &assets {
        let _ = writeln!(
            table,
            "    Asset {{ path: {path:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            content_type(file)?,
            file.display().to_string(),
        );
    }
    table.push(']');
    std::fs::write(out.join("console_assets.rs"), table)
        .map_err(|e| format!("cannot write the asset table: {e}"))?;
    Ok(())
}

/// Builds `package` for `target` with the `wasm` profile (and `opt_level` instead of the
/// profile's, when given); the path of the `.wasm` file.
fn build_wasm(
    root: &Path,
    package: &str,
    target: &str,
    opt_level: Option<&str>,
) -> Result<PathBuf, String> {
    let target_dir = root.join("target/component");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());

    // rust-toolchain.toml lists the target, but rustup will not fetch it by itself here.
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .current_dir(root)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        println!("cargo:warning=`rustup target add {target}` failed; trying the build anyway");
    }

    let mut build = Command::new(&cargo);
    build
        .current_dir(root)
        .args([
            "build",
            "--package",
            package,
            "--target",
            target,
            "--profile",
            "wasm",
            "--locked",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the Wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR");
    if let Some(level) = opt_level {
        // The profile's level, and the core's own (Cargo.toml gives it `2`, which a
        // package override keeps over the profile's level).
        build
            .env("CARGO_PROFILE_WASM_OPT_LEVEL", level)
            .arg("--config")
            .arg(format!(
                "profile.wasm.package.meshguard-core.opt-level={level}"
            ));
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building {package} for {target}: cargo exited with {status}"
        ));
    }
    let wasm = target_dir
        .join(target)
        .join("wasm")
        .join(format!("{}.wasm", package.replace('-', "_")));
    if !wasm.exists() {
        return Err(format!("{} was not produced", wasm.display()));
    }
    Ok(wasm)
}

/// The regular files directly in `dir`, sorted by name.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The `Content-Type` a console file is served with.
fn content_type(file: &Path) -> Result<&'static str, String> {
    Ok(
        match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
            "html" => "text/html; charset=utf-8",
            "js" | "mjs" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "wasm" => "application/wasm",
            "svg" => "image/svg+xml",
            "json" => "application/json",
            other => {
                return Err(format!(
                    "{}: no content type for `.{other}` files (add one to build.rs)",
                    file.display()
                ));
            }
        },
    )
}
