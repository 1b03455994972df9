//! Workspace automation, run as `cargo xtask <command>`.

// A command-line tool: printing is its job.
#![allow(clippy::print_stdout)]

mod advisories;
mod bench;
mod demo;
mod faults;
mod fuzz;
mod msrv;
mod process;
mod redis;
mod release;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo    run every crate's flow against the in-process sandbox (no network, no credentials);
          the crates' log records on stderr at PAYAUTH_LOG's level (default info)
  test    fmt check, clippy -D warnings, tests on every feature set, docs, cargo-deny, fuzz smoke
  fuzz [SECONDS]
          every fuzz target in fuzz/ for SECONDS each (default 600), one at a time, one core
  bench   benchmarks against reference implementations; writes target/bench/report.{json,md}
  faults  the fault matrix: every client entry point against every sandbox fault (also in bench)
  release [--execute] [<crate>...]
          gate, semver check, package and (with --execute) publish and tag each crate in
          dependency order; a dry run by default (see docs/RELEASING.md)
  msrv    build and test the publishable crates on the declared rust-version toolchain
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("test") => test::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench") => bench::run(),
        Some("faults") => faults::run(),
        Some("release") => release::run(&args[1..]),
        Some("msrv") => msrv::run(),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}
