//! How URLs and error chains are shown: the one place that decides what of a URL may appear in
//! `Debug`/`Display` output, and a chain printer for errors.

use std::error::Error as StdError;
use std::fmt;

/// `url` as it may be shown in `Debug`/`Display` output, logs and errors: scheme, host, port and
/// path only. Userinfo becomes `[redacted]@`, a query `?[redacted]`, and a fragment is dropped,
/// since each can carry a credential (`user:password@`, `?api_key=`, `?signature=`).
///
/// ```
/// use payauth_core::redact_url;
/// assert_eq!(
///     redact_url("https://user:pw@auth.example/oauth/token?api_key=k#x"),
///     "https://[redacted]@auth.example/oauth/token?[redacted]"
/// );
/// assert_eq!(redact_url("http://127.0.0.1:9/api/token"), "http://127.0.0.1:9/api/token");
/// ```
pub fn redact_url(url: &str) -> String {
    let (before_fragment, _) = url.split_once('#').unwrap_or((url, ""));
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((head, _)) => (head, true),
        None => (before_fragment, false),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, before_query),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(url.len().min(256));
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("[redacted]@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if query {
        out.push_str("?[redacted]");
    }
    out
}

/// An error and its `source()` chain on one line, `outer: cause: root`, as a logging framework
/// or `anyhow`'s `{:#}` prints it. Every error in this workspace shows a wrapped cause either in
/// its own `Display` or through `source()`, never both, so each message appears once here.
///
/// ```
/// use payauth_core::{ErrorChain, TransportError, TransportKind};
/// let err = TransportError::new(TransportKind::Connect, "connection refused");
/// assert_eq!(
///     ErrorChain(&err).to_string(),
///     "connection failed: connection refused (nothing was sent)"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl ErrorChain<'_> {
    /// Each error's own message, outermost first.
    pub fn messages(&self) -> Vec<String> {
        let mut out = vec![self.0.to_string()];
        let mut next = self.0.source();
        while let Some(err) = next {
            out.push(err.to_string());
            next = err.source();
        }
        out
    }

    /// Whether a cause's message is repeated in the message of an error that wraps it (the
    /// defect the rule above forbids). Tests of every crate assert this is `false`.
    pub fn repeats_a_cause(&self) -> bool {
        let messages = self.messages();
        messages.iter().enumerate().any(|(i, outer)| {
            messages[i + 1..]
                .iter()
                .any(|inner| !inner.is_empty() && outer.contains(inner.as_str()))
        })
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages().join(": "))
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_userinfo_query_and_fragment() {
        for (url, shown) in [
            ("https://h/p", "https://h/p"),
            ("https://h", "https://h"),
            (
                "https://u@h:8443/p?q",
                "https://[redacted]@h:8443/p?[redacted]",
            ),
            ("https://u:p@w@h/x", "https://[redacted]@h/x"),
            ("https://h/p#frag", "https://h/p"),
            ("https://h?api_key=SECRET", "https://h?[redacted]"),
            ("not a url?SECRET", "not a url?[redacted]"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[derive(Debug)]
    struct Outer(Inner, bool);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner failure")
        }
    }
    impl StdError for Inner {}
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.1 {
                write!(f, "outer: {}", self.0)
            } else {
                f.write_str("outer")
            }
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_printer_sees_a_cause_shown_twice() {
        let twice = Outer(Inner, true);
        assert!(ErrorChain(&twice).repeats_a_cause());
        assert_eq!(
            ErrorChain(&twice).to_string(),
            "outer: inner failure: inner failure"
        );
        let once = Outer(Inner, false);
        assert!(!ErrorChain(&once).repeats_a_cause());
        assert_eq!(ErrorChain(&once).to_string(), "outer: inner failure");
    }
}
