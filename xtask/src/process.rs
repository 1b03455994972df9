//! Running commands as named, timed steps.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (xtask's parent folder).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `cargo` as the one running xtask, in the workspace root.
pub(crate) fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args).current_dir(root());
    cmd
}

/// Runs `cmd` as a step: prints its name, streams its output, then prints its time. Any
/// failure ends the step with an error naming it.
pub(crate) fn step(name: &str, cmd: &mut Command) -> Result {
    println!("\n==> {name}");
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("step '{name}' could not start {:?}: {e}", cmd.get_program()))?;
    let secs = start.elapsed().as_secs_f64();
    if status.success() {
        println!("<== {name}: ok in {secs:.1}s");
        Ok(())
    } else {
        Err(format!("step '{name}' failed after {secs:.1}s ({status})"))
    }
}

/// Runs `cmd` to completion, capturing its output.
pub(crate) fn capture(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))
}

/// Whether `program --version` runs.
pub(crate) fn has(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}
