//! `cargo run -p payauth-sandbox [-- --tls] [--port N] [--dir DIR]`: the emulators as a service
//! (see [`payauth_sandbox::run_service`]) on the system clock, moved only through the control API.

use std::path::PathBuf;
use std::process::ExitCode;

use payauth_sandbox::{Sandbox, run_service};

const USAGE: &str = "usage: payauth-sandbox [--tls] [--port N] [--dir DIR]";

fn main() -> ExitCode {
    let mut builder = Sandbox::builder();
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls" => builder = builder.tls(),
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(port) => builder = builder.port(port),
                None => return usage(),
            },
            "--dir" => match args.next() {
                Some(path) => dir = Some(PathBuf::from(path)),
                None => return usage(),
            },
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    match run_service(builder, dir.as_deref(), &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payauth-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
