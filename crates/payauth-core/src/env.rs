//! Credentials from environment variables, the way every crate and the `payauth` CLI read them.

use secrecy::zeroize::Zeroizing;

/// The value of environment variable `name`, wiped when dropped; `None` when it is unset, empty
/// or not Unicode. The value is never logged or quoted: a caller's error names the variable only.
pub fn secret_from_env(name: &str) -> Option<Zeroizing<String>> {
    let value = Zeroizing::new(std::env::var(name).ok()?);
    (!value.trim().is_empty()).then_some(value)
}
