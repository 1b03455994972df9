//! `cargo xtask demo`: each crate's flow end to end against the in-process sandbox, printing what
//! happened. No network, no credentials. One module per crate.

mod card;
mod cli;
mod easypay;
mod fleet;
mod numcheck;
mod oauth;
mod payroc;

use crate::process::Result;

pub(crate) type DemoResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A crate's demo: its name and its flow.
type Flow = (&'static str, fn() -> DemoResult);

/// In the order a reader meets the crates in the README.
const FLOWS: &[Flow] = &[
    ("card-encryption", card::run),
    ("hmac-sessionkey", easypay::run),
    ("oauth-client-credentials", oauth::run),
    ("numcheck-client", numcheck::run),
    ("payroc-hostedfields", payroc::run),
    ("payauth-redis", fleet::run),
    // Last: the same flows from a shell.
    ("payauth-cli", cli::run),
];

pub(crate) fn run() -> Result {
    println!("payauth demo: every crate's flow against the in-process sandbox\n");
    install_logger()?;
    for (name, flow) in FLOWS {
        flow().map_err(|e| format!("{name} demo failed: {e}"))?;
    }
    println!("\ndemo finished: every flow succeeded");
    Ok(())
}

/// The crates' log records on stderr, at `PAYAUTH_LOG`'s level (info when unset): token fetches,
/// retries, 401 refetches, guard refusals. ureq's own records stay at or below
/// `payauth_core::logging::HTTP_LOG_CAP`, where they carry no secret, whatever is asked.
fn install_logger() -> Result {
    let level = match std::env::var("PAYAUTH_LOG") {
        Err(_) => log::LevelFilter::Info,
        Ok(name) => name
            .trim()
            .parse()
            .map_err(|_| "PAYAUTH_LOG must be off, error, warn, info, debug or trace")?,
    };
    payauth_core::logging::SafeLogger::new(level)
        .install()
        .map_err(|_| "a logger is already installed")?;
    println!("(log records at {level} on stderr; set PAYAUTH_LOG=off|warn|info|debug|trace)\n");
    Ok(())
}
