//! Random identifiers for the emulators (session keys, tokens, ids).

/// Fills `bytes` from the operating system's random source, through the same `getrandom` that
/// rustls's `ring` already uses.
pub(crate) fn fill(bytes: &mut [u8]) {
    // A machine without a random source cannot run TLS either; nothing sensible is left to do.
    #[allow(clippy::expect_used)]
    getrandom::getrandom(bytes).expect("the operating system's random source failed");
}
