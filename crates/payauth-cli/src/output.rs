//! What every command shares: the target, `--json`, warnings, failures, and the redaction of any
//! secret the command holds from everything it prints about a failure.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use payauth_core::{CaCertificate, ClientCertificate, HttpSettings, Proxy, Trust};
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
    proxy: Option<String>,
    no_proxy: bool,
    client_cert: Option<(PathBuf, PathBuf)>,
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
            proxy: global.proxy.clone().filter(|p| !p.is_empty()),
            no_proxy: global.no_proxy,
            client_cert: global.client_cert.clone().zip(global.client_key.clone()),
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

    /// The network settings from `--ca-cert`, `--proxy`/`--no-proxy` and `--client-cert`.
    pub(crate) fn http_settings(&self) -> Result<HttpSettings, Failure> {
        let mut settings = HttpSettings::new();
        if let Some(path) = &self.ca_cert {
            let bytes = read(path, "the CA certificate")?;
            let cas = if bytes.starts_with(b"-----BEGIN") {
                CaCertificate::from_pem(&bytes)
            } else {
                CaCertificate::from_der(bytes).map(|ca| vec![ca])
            }
            .map_err(|e| Failure::config(format!("{}: {e}", path.display())))?;
            settings = settings.trust(Trust::public_roots_and(cas));
        }
        if self.no_proxy {
            settings = settings.proxy(Proxy::none());
        } else if let Some(url) = &self.proxy {
            // The error never repeats the URL, which may hold a password.
            let proxy = Proxy::url(url).map_err(|e| Failure::config(format!("--proxy: {e}")))?;
            settings = settings.proxy(proxy);
        }
        if let Some((cert, key)) = &self.client_cert {
            let chain = read(cert, "the client certificate")?;
            let key_pem = Zeroizing::new(read(key, "the client key")?);
            let identity = ClientCertificate::from_pem(&chain, &key_pem)
                .map_err(|e| Failure::config(format!("--client-cert/--client-key: {e}")))?;
            settings = settings.client_certificate(identity);
        }
        Ok(settings.user_agent_suffix(concat!("payauth-cli/", env!("CARGO_PKG_VERSION"))))
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

/// The bytes of `path`, or a configuration failure naming `what`.
fn read(path: &std::path::Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::config(format!("cannot read {what} {}: {e}", path.display())))
}
