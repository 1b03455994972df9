//! Scrubbing server text of the secrets a request carried, before an error keeps it.

use std::collections::HashSet;
use std::fmt;

/// Secrets are recognised by runs of this many bytes: a server that echoes only part of a key
/// (or an excerpt that cuts one) still leaks nothing longer than this minus one.
pub const SCRUB_RUN: usize = 8;
/// What a scrubbed run becomes.
pub const REDACTED: &str = "[redacted]";

/// The secrets one request carried, in every form it may have sent them and a server may echo
/// them: as given, percent-encoded (either hex case), form-encoded, JSON-escaped and
/// HTML-escaped. An `Authorization` header contributes its whole value and its credential part
/// (the Base64 of `id:secret` for Basic, the token for Bearer).
///
/// [`scrub`](Self::scrub) replaces every run of at least [`SCRUB_RUN`] bytes of any of these
/// forms, and every whole occurrence of a shorter one, with `[redacted]`.
#[derive(Clone, Default)]
pub struct Scrubber {
    forms: Vec<String>,
    grams: HashSet<Vec<u8>>,
}

impl Scrubber {
    /// A scrubber that knows no secret.
    pub fn new() -> Self {
        Scrubber::default()
    }

    /// Adds `secret` (ignored when empty).
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        for form in forms(secret) {
            if form.len() >= SCRUB_RUN {
                for gram in form.as_bytes().windows(SCRUB_RUN) {
                    self.grams.insert(gram.to_vec());
                }
            }
            if !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
    }

    /// Whether it knows no secret.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every secret run replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        if self.forms.is_empty() {
            return text.to_owned();
        }
        let bytes = text.as_bytes();
        let mut hidden = vec![false; bytes.len()];
        if bytes.len() >= SCRUB_RUN {
            for start in 0..=bytes.len() - SCRUB_RUN {
                if self.grams.contains(&bytes[start..start + SCRUB_RUN]) {
                    hidden[start..start + SCRUB_RUN].fill(true);
                }
            }
        }
        for form in self.forms.iter().filter(|f| f.len() < SCRUB_RUN) {
            for (at, _) in text.match_indices(form.as_str()) {
                hidden[at..at + form.len()].fill(true);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut in_run = false;
        for (at, c) in text.char_indices() {
            if hidden[at..at + c.len_utf8()].iter().any(|h| *h) {
                if !in_run {
                    out.push_str(REDACTED);
                    in_run = true;
                }
            } else {
                out.push(c);
                in_run = false;
            }
        }
        out
    }
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("forms", &self.forms.len())
            .finish()
    }
}

fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_owned(),
        percent(secret, false, true),
        percent(secret, false, false),
        percent(secret, true, true),
        json_escaped(secret, false),
        json_escaped(secret, true),
        html_escaped(secret),
    ];
    out.dedup();
    out
}

fn percent(secret: &str, form: bool, upper: bool) -> String {
    let mut out = String::with_capacity(secret.len() * 3);
    for b in secret.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b'*' if form => out.push('*'),
            b' ' if form => out.push('+'),
            _ if upper => out.push_str(&format!("%{b:02X}")),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

fn json_escaped(secret: &str, slash: bool) -> String {
    let mut out = String::with_capacity(secret.len());
    for c in secret.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slash => out.push_str("\\/"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn html_escaped(secret: &str) -> String {
    let mut out = String::with_capacity(secret.len());
    for c in secret.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Its forms and n-grams are the secrets themselves, in pieces: wiped when it is dropped.
impl Drop for Scrubber {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.forms.zeroize();
        for gram in self.grams.drain() {
            let mut gram = gram;
            gram.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_and_every_long_run_is_scrubbed() {
        let secret = "s3cr/t+v@lue with space&\"quote";
        let mut scrubber = Scrubber::new();
        scrubber.add(secret);
        scrubber.add("Basic aWQ6czNjcg==");
        for form in forms(secret) {
            let out = scrubber.scrub(&format!("before {form} after"));
            assert_eq!(out, format!("before {REDACTED} after"), "{form}");
        }
        // A run of 8 bytes of the secret is enough; 7 are kept.
        assert_eq!(scrubber.scrub("x s3cr/t+v x"), format!("x {REDACTED} x"));
        assert_eq!(scrubber.scrub("x s3cr/t+ x"), "x s3cr/t+ x");
        assert_eq!(
            scrubber.scrub("auth: aWQ6czNjcg=="),
            format!("auth:{REDACTED}")
        );
        assert_eq!(scrubber.scrub("nothing é here"), "nothing é here");
    }

    #[test]
    fn short_secrets_are_scrubbed_whole() {
        let mut scrubber = Scrubber::new();
        scrubber.add("4953");
        assert_eq!(scrubber.scrub("code 4953!"), format!("code {REDACTED}!"));
        assert!(!format!("{scrubber:?}").contains("4953"));
    }
}
