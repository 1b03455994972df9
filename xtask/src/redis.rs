//! The real `redis-server` the payauth-redis tests, the fleet benchmark and the demo's fleet flow
//! start. Tests must not skip without it, so `test` and `bench` install it when missing.

use std::process::Command;

use crate::process::{Result, has};

/// The binary the tests run: `$PAYAUTH_REDIS_SERVER` or `redis-server`.
pub(crate) fn binary() -> String {
    std::env::var("PAYAUTH_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// Whether `redis-server --version` runs.
pub(crate) fn available() -> bool {
    has(&binary(), &["--version"])
}

/// Makes sure `redis-server` is there: installs the Debian package with apt-get when missing,
/// and fails loudly when that is impossible.
pub(crate) fn require_redis_server() -> Result {
    if available() {
        return Ok(());
    }
    println!("\n==> installing redis-server (Debian package) for the payauth-redis tests");
    if has("apt-get", &["--version"]) {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "redis-server"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    if available() {
        Ok(())
    } else {
        Err(format!(
            "`{}` is required by the payauth-redis tests and could not be installed: \
             apt-get install redis-server, or set PAYAUTH_REDIS_SERVER to its path",
            binary()
        ))
    }
}
