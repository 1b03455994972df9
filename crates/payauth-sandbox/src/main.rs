//! `cargo run -p payauth-sandbox [-- --tls] [--port N]`: the emulators on a fixed or ephemeral
//! port, on the system clock, until stdin closes or the process is interrupted.

#![allow(clippy::print_stdout)]

use std::io::Read as _;
use std::process::ExitCode;

use payauth_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER, DEFAULT_NUMCHECK_SECRET,
    DEFAULT_PAYROC_API_KEY, DEFAULT_SIGNING_SECRET, Sandbox,
};

fn main() -> ExitCode {
    let mut builder = Sandbox::builder();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls" => builder = builder.tls(),
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(port) => builder = builder.port(port),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let sandbox = match builder.start() {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("payauth-sandbox: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = sandbox.url();
    println!("payauth-sandbox listening on {url} (test credentials below are public)");
    println!(
        "  client credentials  POST {url}/api/token  id={DEFAULT_CLIENT_ID} secret={DEFAULT_CLIENT_SECRET}"
    );
    println!("  bearer resource     GET  {url}/api/resource");
    println!(
        "  dashboard (Basic)   GET  {url}/api/dashboard  {}:{}",
        DEFAULT_DASHBOARD_USER.0, DEFAULT_DASHBOARD_USER.1
    );
    println!(
        "  signed link         POST {url}/api/purchase_link/?signature=<HS256 JWT, secret {DEFAULT_SIGNING_SECRET}>"
    );
    println!(
        "  numcheck            POST {url}/ru/init-call?phone=79991234567  X-AUTH-Token: {DEFAULT_NUMCHECK_SECRET}"
    );
    println!(
        "  payroc identity     POST {url}/authorize  x-api-key={DEFAULT_PAYROC_API_KEY}; API base {url}/v1"
    );
    println!("close stdin (Ctrl-D) or interrupt (Ctrl-C) to stop");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: payauth-sandbox [--tls] [--port N]");
    ExitCode::from(2)
}
