//! `cargo xtask fuzz [SECONDS]`: every fuzz target in `fuzz/`, one after another, each for
//! SECONDS (default 600) on one core; and the few-seconds smoke run of `cargo xtask test`.
//!
//! The targets need a nightly toolchain and cargo-fuzz. Their corpora grow in
//! `fuzz/corpus/<target>/` (not committed), seeded from `fuzz/seeds/<target>/` (committed:
//! vendor examples and every input that once made a parser panic). A crash is saved in
//! `fuzz/artifacts/<target>/` and fails the run.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::process::{Result, capture, has, root};
use crate::test::banner;

/// Seconds per target for `cargo xtask fuzz` without an argument.
const DEFAULT_SECONDS: u64 = 600;
/// Seconds per target in the smoke run of `cargo xtask test`.
const SMOKE_SECONDS: u64 = 3;

pub(crate) fn run(args: &[String]) -> Result {
    let seconds = match args.first() {
        None => DEFAULT_SECONDS,
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("usage: cargo xtask fuzz [SECONDS]; {arg:?} is not a number"))?,
    };
    if !nightly() {
        return Err("fuzzing needs a nightly toolchain: rustup toolchain install nightly".into());
    }
    ensure_cargo_fuzz()?;
    let targets = targets()?;
    let mut report = Vec::new();
    for target in &targets {
        report.push(fuzz(target, seconds)?);
    }
    println!(
        "\n{:<24} {:>14} {:>8}  outcome",
        "target", "executions", "seconds"
    );
    for line in &report {
        println!("{line}");
    }
    let summary = root().join("target/fuzz");
    fs::create_dir_all(&summary).map_err(|e| e.to_string())?;
    fs::write(summary.join("summary.txt"), report.join("\n") + "\n").map_err(|e| e.to_string())?;
    if report.iter().any(|line| line.contains("CRASH")) {
        return Err("a fuzz target found a crash: see fuzz/artifacts/".into());
    }
    Ok(())
}

/// The smoke run: each target for a few seconds, when nightly is present (cargo-fuzz is
/// installed when missing). Without nightly, a banner says fuzzing was not checked.
pub(crate) fn smoke() -> Result {
    if !nightly() {
        banner(&[
            "FUZZ SMOKE NOT RUN: no nightly toolchain (rustup toolchain install nightly).",
            "The fuzz targets in fuzz/ were neither built nor run.",
        ]);
        return Ok(());
    }
    if let Err(e) = ensure_cargo_fuzz() {
        banner(&[
            "FUZZ SMOKE NOT RUN: cargo-fuzz is missing and could not be installed.",
            &e,
        ]);
        return Ok(());
    }
    println!("\n==> fuzz smoke: every target for {SMOKE_SECONDS}s");
    let start = Instant::now();
    for target in targets()? {
        let line = fuzz(&target, SMOKE_SECONDS)?;
        println!("{line}");
        if line.contains("CRASH") {
            return Err(format!("step 'fuzz smoke' failed: {target} crashed"));
        }
    }
    println!(
        "<== fuzz smoke: ok in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn nightly() -> bool {
    has("rustup", &["run", "nightly", "rustc", "--version"])
}

/// `cargo fuzz` on the nightly toolchain, in the workspace root. Through `rustup run`, since
/// inside `cargo xtask` the `cargo` on the path may be the stable toolchain's own binary; the
/// variables the outer cargo set are removed so that they do not leak into the inner one.
fn cargo_fuzz() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz"])
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_MANIFEST_DIR")
        .current_dir(root());
    cmd
}

fn ensure_cargo_fuzz() -> Result {
    if cargo_fuzz()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    println!("\n==> installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("could not run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("cargo install cargo-fuzz failed".into())
    }
}

/// The targets, as `cargo fuzz list` names them.
fn targets() -> Result<Vec<String>> {
    let out = capture(cargo_fuzz().args(["list", "--fuzz-dir", "fuzz"]))?;
    if !out.status.success() {
        return Err(format!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Runs one target for `seconds` on one core (one libFuzzer process, builds with one job) with
/// overflow checks and debug assertions on, and returns its report line.
fn fuzz(target: &str, seconds: u64) -> Result<String> {
    let root = root();
    let corpus = format!("fuzz/corpus/{target}");
    fs::create_dir_all(root.join(&corpus)).map_err(|e| e.to_string())?;
    let log_dir = root.join("target/fuzz");
    fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    let log = log_dir.join(format!("{target}.log"));
    let log_file = fs::File::create(&log).map_err(|e| e.to_string())?;
    println!("--> {target}: {seconds}s (log: {})", log.display());
    let start = Instant::now();
    let status = cargo_fuzz()
        .args(["run", "--fuzz-dir", "fuzz", "--debug-assertions"])
        .arg(target)
        .arg(&corpus)
        .arg(format!("fuzz/seeds/{target}"))
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-print_final_stats=1",
            "-max_len=8192",
            "-timeout=10",
        ])
        .env("CARGO_BUILD_JOBS", "1")
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .map_err(|e| format!("could not run cargo fuzz: {e}"))?;
    let secs = start.elapsed().as_secs();
    let executions = executions(&log).unwrap_or_else(|| "?".into());
    let outcome = if status.success() {
        "no crash".to_owned()
    } else {
        format!("CRASH or failure ({status}); see {}", log.display())
    };
    Ok(format!(
        "{target:<24} {executions:>14} {secs:>8}  {outcome}"
    ))
}

/// `stat::number_of_executed_units` from libFuzzer's final statistics.
fn executions(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .map(|n| n.trim().to_owned())
}
