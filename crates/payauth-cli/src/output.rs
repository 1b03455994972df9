//! What every command shares: the target, `--json`, warnings, failures, and the redaction of any
//! secret the command holds from everything it prints about a failure.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::args::{Environment, Global};
use crate::fail::Failure;
use crate::input::Input;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A sandbox at this base URL (no trailing slash).
    Sandbox(String),
    /// A vendor environment.
    Vendor(Environment),
}

pub(crate) struct Context {
    pub(crate) json: bool,
    sandbox: Option<String>,
    environment: Option<Environment>,
    ca_cert: Option<PathBuf>,
    pub(crate) input: Input,
    secrets: Vec<Zeroizing<String>>,
}

impl Context {
    pub(crate) fn new(global: &Global) -> Self {
        Context {
            json: global.json,
            sandbox: global.sandbox.clone().filter(|s| !s.is_empty()),
            environment: global.environment,
            ca_cert: global.ca_cert.clone(),
            input: Input::new(),
            secrets: Vec::new(),
        }
    }

    /// The target: `--sandbox` first, then `--env`.
    pub(crate) fn target(&self) -> Result<Target, Failure> {
        if let Some(url) = &self.sandbox {
            return Ok(Target::Sandbox(url.trim_end_matches('/').to_owned()));
        }
        match self.environment {
            Some(environment) => Ok(Target::Vendor(environment)),
            None => Err(
                Failure::config("no target: nothing says where to send requests").hint(
                    "pass --sandbox URL (or set PAYAUTH_SANDBOX) or --env uat|prod (PAYAUTH_ENV)",
                ),
            ),
        }
    }

    /// The extra CA certificate (`--ca-cert`), as DER.
    pub(crate) fn trust_root(&self) -> Result<Option<Vec<u8>>, Failure> {
        let Some(path) = &self.ca_cert else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::config(format!(
                "cannot read the CA certificate {}: {e}",
                path.display()
            ))
        })?;
        if bytes.starts_with(b"-----BEGIN") {
            let block = pem::parse(&bytes).map_err(|e| {
                Failure::config(format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            return Ok(Some(block.into_contents()));
        }
        Ok(Some(bytes))
    }

    /// Remembers a secret so that no failure message can show it, even when a server echoes it.
    pub(crate) fn protect(&mut self, secret: &str) {
        if secret.len() >= 4 {
            self.secrets.push(Zeroizing::new(secret.to_owned()));
        }
    }

    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "[redacted]");
        }
        text
    }

    /// Prints a result: aligned `label  value` lines, or `value` as JSON with `--json`.
    pub(crate) fn emit(&self, lines: &[(&str, String)], value: &Value) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{value}");
        } else {
            let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
            for (label, text) in lines {
                let _ = writeln!(out, "{label:width$}  {text}");
            }
        }
        let _ = out.flush();
    }

    /// A warning on stderr (a JSON object with `--json`).
    pub(crate) fn warn(&self, message: &str) {
        let message = self.redact(message);
        if self.json {
            eprintln!("{}", serde_json::json!({ "warning": message }));
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// Prints the failure as one line and a hint on stderr, and returns its exit code.
    pub(crate) fn report_failure(&self, failure: &Failure) -> ExitCode {
        let message = self.redact(&failure.message);
        let hint = failure.hint.as_deref().map(|h| self.redact(h));
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({
                    "error": message,
                    "kind": failure.kind(),
                    "hint": hint,
                    "exit_code": failure.code,
                })
            );
        } else {
            eprintln!("payauth: error: {}", one_line(&message));
            if let Some(hint) = hint {
                eprintln!("  hint: {}", one_line(&hint));
            }
        }
        ExitCode::from(failure.code)
    }
}

/// Control characters (a server's newlines, say) become spaces: one failure, one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// RFC 3339 in UTC, to the second, as every crate shows an instant (`payauth_core::Rfc3339`).
pub(crate) fn rfc3339(at: SystemTime) -> String {
    payauth_core::Rfc3339(at).to_string()
}

/// Whole seconds from `now` to `at` (negative when `at` is past).
pub(crate) fn seconds_until(at: SystemTime, now: SystemTime) -> i64 {
    match at.duration_since(now) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
