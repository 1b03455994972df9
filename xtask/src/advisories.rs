//! The RustSec advisory check: the live database where it can be fetched, otherwise the snapshot
//! committed in `.ci/advisory-db.bundle`. Either way the step says which database and which date
//! it used, and a known advisory fails the run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{Result, capture, cargo, root};

/// The folder cargo-deny keeps the RustSec database in, under its `db-path`: the URL's last
/// segment and a hash of the URL, as cargo-deny 0.20 names it.
const DB_DIR: &str = "advisory-db-3157b0e258782691";
/// `deny.toml` reads its `db-path` from this variable, defaulting to cargo-deny's own folder.
const DB_PATH_VAR: &str = "PAYAUTH_ADVISORY_DBS";

pub(crate) fn check() -> Result {
    println!("\n==> cargo-deny: advisories (live RustSec database)");
    let live =
        capture(cargo(["deny", "--all-features", "check", "advisories"]).env_remove(DB_PATH_VAR))?;
    let stderr = String::from_utf8_lossy(&live.stderr);
    if live.status.success() {
        let dir = cargo_home().join("advisory-dbs").join(DB_DIR);
        println!(
            "<== cargo-deny advisories: ok against the live database ({})",
            describe(&dir)
        );
        return Ok(());
    }
    if !stderr.contains("failed to fetch advisory database") {
        eprintln!("{stderr}");
        return Err("step 'cargo-deny: advisories' failed against the live database".into());
    }

    println!("    the live database cannot be fetched from this machine; using the snapshot");
    let dbs = root().join("target/advisory-dbs");
    let dir = dbs.join(DB_DIR);
    unpack_snapshot(&dir)?;
    let what = describe(&dir);
    println!("==> cargo-deny: advisories (snapshot .ci/advisory-db.bundle, {what})");
    let output = capture(
        cargo(["deny", "--all-features", "--offline", "check", "advisories"])
            .env(DB_PATH_VAR, &dbs),
    )?;
    if output.status.success() {
        println!("<== cargo-deny advisories: ok against the snapshot ({what})");
        Ok(())
    } else {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        Err(format!(
            "step 'cargo-deny: advisories' failed against the snapshot ({what})"
        ))
    }
}

/// Clones the committed bundle into `dir`, replacing an older unpacked copy.
fn unpack_snapshot(dir: &Path) -> Result {
    let bundle = root().join(".ci/advisory-db.bundle");
    let wanted = git_output(&["bundle", "list-heads"], Some(&bundle))?;
    let wanted = wanted
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    if dir.exists() && git_in(dir, &["rev-parse", "HEAD"]).is_ok_and(|head| head == wanted) {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    let status = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(&bundle)
        .arg(dir)
        .status()
        .map_err(|e| format!("git is needed to unpack the advisory snapshot: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("git could not unpack {}", bundle.display()))
    }
}

/// "commit 02d4dd45 of 2026-08-21", or why it cannot be told.
fn describe(dir: &Path) -> String {
    match git_in(dir, &["log", "-1", "--format=%h of %cs"]) {
        Ok(text) => format!("commit {text}"),
        Err(_) => format!("date unknown: {} is not readable", dir.display()),
    }
}

fn git_in(dir: &Path, args: &[&str]) -> Result<String> {
    let mut full = vec!["-C", dir.to_str().ok_or("a non-UTF-8 path")?];
    full.extend_from_slice(args);
    git_output(&full, None)
}

fn git_output(args: &[&str], path: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new("git");
    cmd.args(args);
    if let Some(path) = path {
        cmd.arg(path);
    }
    let output = capture(&mut cmd)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!("git {} failed", args.join(" ")))
    }
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}
