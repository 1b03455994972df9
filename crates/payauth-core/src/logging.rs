//! Log records: the one rule for targets and the cap on ureq's own records.
//!
//! Every payauth crate logs through the [`log`] facade. A record's target is the name of the
//! client crate the event belongs to (`payroc_hostedfields`, `oauth_client_credentials`,
//! `hmac_sessionkey`, `numcheck_client`), also when payauth-core emits it on
//! the client's behalf (the retry loop, the credential cell, through a [`LogContext`]);
//! events of payauth-core's own (shared-store fail-open notices) use `payauth_core`. A message
//! holds only fixed words, numbers, status codes, durations and times: never a secret, a token,
//! a key, a card number, a code, a URL's query or anything a server sent.
//!
//! ureq is another matter: at TRACE it writes the raw bytes of every request and response,
//! credentials included. At DEBUG it logs only redacted summaries (the path and query replaced by
//! `/******`, only harmless headers). [`safe_level`] caps its targets (and rustls's, which dumps
//! handshake messages at TRACE) at [`HTTP_LOG_CAP`], and [`SafeLogger`] is a small stderr logger
//! that applies the cap whatever level is asked for.

use std::io::Write as _;

use log::{LevelFilter, Log, Metadata, Record};

/// The most detailed level at which the HTTP stack logs nothing secret: DEBUG. At TRACE ureq and
/// ureq-proto write raw request and response bytes ("NOT REDACTED" in ureq's own documentation),
/// their DEBUG summaries print the full path and query once TRACE is enabled for them, and
/// rustls dumps every handshake message (certificates, session tickets).
pub const HTTP_LOG_CAP: LevelFilter = LevelFilter::Debug;

/// The log targets (and their submodules) that [`HTTP_LOG_CAP`] applies to: ureq, ureq-proto
/// and the rustls under them.
pub const HTTP_TARGETS: [&str; 3] = ["ureq", "ureq_proto", "rustls"];

/// The log targets of the payauth crates.
pub const PAYAUTH_TARGETS: [&str; 5] = [
    "payauth_core",
    "hmac_sessionkey",
    "oauth_client_credentials",
    "payroc_hostedfields",
    "numcheck_client",
];

/// Whether `target` is one of [`HTTP_TARGETS`] or a module inside one (`ureq::run`).
pub fn is_http_target(target: &str) -> bool {
    HTTP_TARGETS
        .iter()
        .any(|crate_name| within(target, crate_name))
}

/// Whether `target` is one of [`PAYAUTH_TARGETS`] or a module inside one.
pub fn is_payauth_target(target: &str) -> bool {
    PAYAUTH_TARGETS
        .iter()
        .any(|crate_name| within(target, crate_name))
}

fn within(target: &str, crate_name: &str) -> bool {
    target
        .strip_prefix(crate_name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The level a logger may let through for `target` when `requested` was asked for: `requested`,
/// except for the HTTP stack's targets ([`HTTP_TARGETS`]), which never go past
/// [`HTTP_LOG_CAP`].
///
/// ```
/// use log::LevelFilter;
/// use payauth_core::logging::safe_level;
///
/// assert_eq!(safe_level("ureq::run", LevelFilter::Trace), LevelFilter::Debug);
/// assert_eq!(safe_level("ureq_proto::client", LevelFilter::Info), LevelFilter::Info);
/// assert_eq!(safe_level("rustls::client::hs", LevelFilter::Trace), LevelFilter::Debug);
/// assert_eq!(safe_level("payroc_hostedfields", LevelFilter::Trace), LevelFilter::Trace);
/// ```
pub fn safe_level(target: &str, requested: LevelFilter) -> LevelFilter {
    if is_http_target(target) {
        requested.min(HTTP_LOG_CAP)
    } else {
        requested
    }
}

/// Where a client's events go and what they call the thing being done: the client crate's name
/// as the log target and a fixed name for the operation (`"session create"`, `"bearer token"`).
/// Given to payauth-core's retry loop and credential cell, so the events they emit on a client's
/// behalf carry that client's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogContext {
    target: &'static str,
    operation: &'static str,
}

impl LogContext {
    /// Events about `operation`, logged under `target` (a crate name: use
    /// `env!("CARGO_CRATE_NAME")`).
    pub const fn new(target: &'static str, operation: &'static str) -> Self {
        LogContext { target, operation }
    }

    /// The log target.
    pub const fn target(&self) -> &'static str {
        self.target
    }

    /// The operation's name, used at the start of each message.
    pub const fn operation(&self) -> &'static str {
        self.operation
    }
}

impl Default for LogContext {
    /// payauth-core's own target, for an unnamed request.
    fn default() -> Self {
        LogContext::new("payauth_core", "request")
    }
}

/// A logger for programs (the `payauth` command line, `cargo xtask demo`): one line per record
/// on stderr, `[LEVEL target] message`, at the requested level for every target except the HTTP
/// stack's ([`HTTP_TARGETS`]), which stay at [`HTTP_LOG_CAP`] or below whatever is asked.
///
/// Libraries never install a logger; a service with its own logger applies the same cap (see
/// the crate README).
#[derive(Debug, Clone, Copy)]
pub struct SafeLogger {
    level: LevelFilter,
}

impl SafeLogger {
    /// A logger that lets records through up to `level` (ureq's up to [`HTTP_LOG_CAP`]).
    pub const fn new(level: LevelFilter) -> Self {
        SafeLogger { level }
    }

    /// The level asked for.
    pub const fn level(&self) -> LevelFilter {
        self.level
    }

    /// Installs this logger for the process and sets the facade's maximum level.
    ///
    /// # Errors
    /// When a logger is already installed.
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        log::set_logger(Box::leak(Box::new(self)))?;
        log::set_max_level(self.level);
        Ok(())
    }
}

impl Log for SafeLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= safe_level(metadata.target(), self.level)
    }

    fn log(&self, record: &Record<'_>) {
        // The facade does not ask `enabled` before calling `log`: filter here.
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "[{:<5} {}] {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// For unit tests: one capturing logger for the test binary, keeping the records of targets that
/// start with `test_`, so each test reads its own target's records.
#[cfg(test)]
pub(crate) mod capture {
    use std::sync::{Mutex, PoisonError};

    static RECORDS: Mutex<Vec<(String, log::Level, String)>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.target().starts_with("test_")
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                let entry = (
                    record.target().to_owned(),
                    record.level(),
                    record.args().to_string(),
                );
                RECORDS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(entry);
            }
        }
        fn flush(&self) {}
    }

    static CAPTURE: Capture = Capture;

    pub(crate) fn install() {
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Trace);
    }

    /// Removes and returns the records logged under `target`.
    pub(crate) fn take(target: &str) -> Vec<(log::Level, String)> {
        let mut records = RECORDS.lock().unwrap_or_else(PoisonError::into_inner);
        let (mine, others) = records.drain(..).partition(|(t, _, _)| t == target);
        *records = others;
        mine.into_iter()
            .map(|(_, level, text)| (level, text))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level;

    #[test]
    fn ureq_is_capped_and_nothing_else_is() {
        for target in [
            "ureq",
            "ureq::run",
            "ureq_proto",
            "ureq_proto::client::amended",
        ] {
            assert!(is_http_target(target), "{target}");
            for requested in [LevelFilter::Trace, LevelFilter::Debug] {
                assert_eq!(safe_level(target, requested), LevelFilter::Debug);
            }
            assert_eq!(safe_level(target, LevelFilter::Warn), LevelFilter::Warn);
            assert_eq!(safe_level(target, LevelFilter::Off), LevelFilter::Off);
        }
        assert!(is_http_target("rustls::client::hs"));
        for target in ["ureqx", "my_ureq", "payroc_hostedfields", "rustlsx"] {
            assert!(!is_http_target(target), "{target}");
            assert_eq!(safe_level(target, LevelFilter::Trace), LevelFilter::Trace);
        }
        assert!(is_payauth_target("payauth_core::fleet"));
        assert!(!is_payauth_target("payauth_corex"));
    }

    #[test]
    fn the_safe_logger_refuses_ureq_trace_even_at_trace() {
        let logger = SafeLogger::new(LevelFilter::Trace);
        let meta = |level, target| Metadata::builder().level(level).target(target).build();
        assert!(!logger.enabled(&meta(Level::Trace, "ureq::util")));
        assert!(!logger.enabled(&meta(Level::Trace, "ureq_proto::util")));
        assert!(logger.enabled(&meta(Level::Debug, "ureq::run")));
        assert!(logger.enabled(&meta(Level::Trace, "numcheck_client")));
        let quiet = SafeLogger::new(LevelFilter::Info);
        assert!(!quiet.enabled(&meta(Level::Debug, "ureq::run")));
        assert!(!quiet.enabled(&meta(Level::Debug, "payroc_hostedfields")));
        assert!(quiet.enabled(&meta(Level::Info, "payroc_hostedfields")));
    }
}
