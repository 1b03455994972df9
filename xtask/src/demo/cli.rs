//! A short tour of the `payauth` command line against the sandbox: inspect the bundled
//! certificate, encrypt a test card from stdin, fetch a token, show the lockout guard's status.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use payauth_sandbox::{
    CardKey, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EASYPAY_ACCOUNT, Sandbox,
};

use super::DemoResult;
use crate::process::{cargo, root, step};

pub(super) fn run() -> DemoResult {
    println!("\n== payauth CLI: a short tour from a shell");
    step(
        "cargo build -p payauth-cli",
        &mut cargo(["build", "--quiet", "-p", "payauth-cli", "--bin", "payauth"]),
    )?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), Into::into);
    let bin = target
        .join("debug")
        .join(format!("payauth{}", std::env::consts::EXE_SUFFIX));
    let sandbox = Sandbox::start()?;
    let dir = std::env::temp_dir().join(format!("payauth-demo-{}", std::process::id()));
    let files = Sandbox::write_certificates(&dir)?;
    let cert = files.card_pem.to_string_lossy().into_owned();
    let guard = dir.join("guard.json").to_string_lossy().into_owned();
    let url = sandbox.url();
    println!("   sandbox at {url}; export PAYAUTH_SANDBOX={url}");

    shell(&bin, &url, &["card", "inspect", &cert], &[], None)?;
    let encrypted = shell(
        &bin,
        &url,
        &["card", "encrypt", "--cert", &cert, "--thumbprint"],
        &[],
        Some("4111111111111111"),
    )?;
    let decrypted = CardKey::bundled()?.decrypt_account_number(encrypted.trim())?;
    println!(
        "   the sandbox's gateway key decrypts it to a card ending in {}",
        &decrypted[decrypted.len() - 4..]
    );
    shell(
        &bin,
        &url,
        &["oauth", "token", "--client-id", DEFAULT_CLIENT_ID],
        &[("PAYAUTH_OAUTH_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)],
        None,
    )?;
    shell(
        &bin,
        &url,
        &[
            "easypay",
            "session",
            "--account",
            DEFAULT_EASYPAY_ACCOUNT.0,
            "--guard-file",
            &guard,
        ],
        &[("PAYAUTH_EASYPAY_TOKEN", DEFAULT_EASYPAY_ACCOUNT.1)],
        None,
    )?;
    shell(
        &bin,
        &url,
        &["easypay", "guard", "status", "--file", &guard],
        &[],
        None,
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Runs `payauth ARGS` as a shell user would, echoing the command (secrets shown as the variable
/// names they come from) and its output; returns stdout.
fn shell(
    bin: &Path,
    sandbox: &str,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
    let vars: String = env.iter().map(|(name, _)| format!("{name}=*** ")).collect();
    let piped = stdin.map_or(String::new(), |_| "echo <test card> | ".to_owned());
    println!("   $ {piped}{vars}payauth {}", args.join(" "));
    let mut child = Command::new(bin)
        .args(args)
        .env("PAYAUTH_SANDBOX", sandbox)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        writeln!(pipe, "{text}")?;
    }
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    for line in stdout
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
    {
        let shown: String = if line.len() > 96 {
            format!("{}...", &line[..96])
        } else {
            line.to_owned()
        };
        println!("     {shown}");
    }
    if !output.status.success() {
        return Err(format!("payauth {} exited with {}", args.join(" "), output.status).into());
    }
    Ok(stdout)
}
