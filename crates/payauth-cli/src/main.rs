#![doc = include_str!("../README.md")]
// A command line prints its results: stdout is the product.
#![allow(clippy::print_stdout)]

mod args;
mod card;
mod easypay;
mod fail;
mod input;
mod numcheck;
mod oauth;
mod output;
mod payroc;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::fail::Failure;
use crate::output::Context;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut ctx = Context::new(&cli.global);
    let variable = std::env::var(args::LOG_VAR).ok();
    match args::log_level(cli.global.verbose, variable.as_deref()) {
        Ok(log::LevelFilter::Off) => {}
        // ureq's records stay at or below payauth_core::logging::HTTP_LOG_CAP whatever is asked.
        Ok(level) => {
            let _ = payauth_core::logging::SafeLogger::new(level).install();
        }
        Err(message) => return ctx.report_failure(&Failure::config(message)),
    }
    let result = match cli.command {
        Command::Card { command } => card::run(&mut ctx, command),
        Command::Easypay { command } => easypay::run(&mut ctx, command),
        Command::Oauth { command } => oauth::run(&mut ctx, command),
        Command::Payroc { command } => payroc::run(&mut ctx, command),
        Command::Numcheck { command } => numcheck::run(&mut ctx, command),
        Command::Sandbox(args) => sandbox(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => ctx.report_failure(&failure),
    }
}

fn sandbox(args: args::SandboxArgs) -> Result<u8, Failure> {
    let mut builder = payauth_sandbox::Sandbox::builder();
    if args.tls {
        builder = builder.tls();
    }
    if let Some(port) = args.port {
        builder = builder.port(port);
    }
    payauth_sandbox::run_service(builder, args.dir.as_deref(), &mut std::io::stdout()).map_err(
        |e| {
            Failure::config(format!("the sandbox cannot run: {e}"))
                .hint("pick a free port with --port, or a writable folder with --dir")
        },
    )?;
    Ok(fail::OK)
}
