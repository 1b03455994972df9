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
    for (name, flow) in FLOWS {
        flow().map_err(|e| format!("{name} demo failed: {e}"))?;
    }
    println!("\ndemo finished: every flow succeeded");
    Ok(())
}
