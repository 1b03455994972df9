//! End-to-end: the built `payauth` binary against the sandbox, run as `payauth sandbox` in its
//! own process, over real HTTP (and HTTPS).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod card;
mod easypay;
mod environments;
mod from_env;
mod network;
mod numcheck;
mod oauth;
mod payroc;
mod secrets;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use payauth_core::{CaCertificate, HttpConfig, HttpRequest, HttpSettings, Trust};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_payauth");

/// The sandbox's public test credentials.
pub(crate) const CLIENT_ID: &str = "sandbox-client";
pub(crate) const CLIENT_SECRET: &str = "s3cr+t/=:%&ok";
pub(crate) const PAYROC_KEY: &str = "sandbox-payroc-api-key-6f1c2a";
pub(crate) const NUMCHECK_SECRET: &str = "sandbox-numcheck-secret-32-chars";
pub(crate) const EASYPAY_ACCOUNT: &str = "EP9116875";
pub(crate) const EASYPAY_TOKEN: &str = "2148B239CF6846BDA5D141BF4A4CFBE8";

/// `payauth sandbox` in a child process, stopped when dropped.
pub(crate) struct Sandbox {
    child: Child,
    pub(crate) url: String,
    pub(crate) dir: PathBuf,
}

impl Sandbox {
    pub(crate) fn start(name: &str) -> Sandbox {
        Sandbox::start_with(name, &[])
    }

    pub(crate) fn start_with(name: &str, extra: &[&str]) -> Sandbox {
        let dir = temp_dir(name);
        let mut child = Command::new(BIN)
            .arg("sandbox")
            .args(["--dir", dir.to_str().unwrap()])
            .args(extra)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("stop with SIGINT") {
            assert_ne!(stdout.read_line(&mut banner).unwrap(), 0, "{banner}");
        }
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap()
            .to_owned();
        Sandbox { child, url, dir }
    }

    /// A control-API request; returns the JSON answer.
    pub(crate) fn control(&self, route: &str, body: Option<&str>) -> serde_json::Value {
        let http = HttpConfig::new("cli-tests/1")
            .settings(
                HttpSettings::new().trust(Trust::only([CaCertificate::from_der(
                    std::fs::read(self.dir.join("payauth-sandbox-ca.der")).unwrap(),
                )
                .unwrap()])),
            )
            .build();
        let url = format!("{}/_sandbox{route}", self.url);
        let request = match body {
            Some(body) => HttpRequest::post(url).body("application/json", body),
            None => HttpRequest::get(url),
        };
        let response = http.send(&request).unwrap();
        assert_eq!(response.status(), 200, "{route}");
        serde_json::from_slice(response.body()).unwrap()
    }

    pub(crate) fn counter(&self, name: &str) -> u64 {
        self.control("/counters", None)[name].as_u64().unwrap()
    }

    /// `payauth ARGS` against this sandbox.
    pub(crate) fn payauth(&self, args: &[&str]) -> Run {
        Run::new(args).env("PAYAUTH_SANDBOX", &self.url)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("payauth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One run of the binary: a clean environment, chosen variables, chosen stdin.
pub(crate) struct Run {
    command: Command,
    stdin: Option<String>,
}

/// What a run printed and returned.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

impl Run {
    pub(crate) fn new(args: &[&str]) -> Run {
        let mut command = Command::new(BIN);
        command.args(args).env_clear();
        Run {
            command,
            stdin: None,
        }
    }

    pub(crate) fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.command.env(name, value);
        self
    }

    pub(crate) fn stdin(mut self, text: &str) -> Run {
        self.stdin = Some(text.to_owned());
        self
    }

    pub(crate) fn spawn(mut self) -> Child {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(text) = self.stdin.take() {
            // A command that refuses before reading its input (an expired certificate) may have
            // exited already; what it printed is what the test checks.
            match stdin.write_all(text.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.unwrap(),
            }
        }
        drop(stdin);
        child
    }

    pub(crate) fn run(self) -> Output {
        finish(self.spawn())
    }
}

/// Waits for a child (bounded, only to prove it did not hang) and collects its output.
pub(crate) fn finish(child: Child) -> Output {
    let id = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = waited
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("payauth (pid {id}) hung"))
        .unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Polls `check` until it holds (bounded, only to prove nothing hung).
pub(crate) fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A small HTTP server on loopback that answers every request with `answer(request text)`:
/// (status, content type, body). For peers the sandbox does not emulate.
pub(crate) fn canned_server(answer: fn(&str) -> (u16, &'static str, String)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let (status, content_type, body) = answer(&String::from_utf8_lossy(&request));
            let message = format!(
                "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(message.as_bytes());
        }
    });
    url
}

pub(crate) fn vendor_certificate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../card-encryption/tests/data/easypay-mobile-2025.cer")
}

#[test]
fn help_shows_an_example_and_the_exit_codes() {
    let top = Run::new(&["--help"]).run();
    assert_eq!(top.code, 0);
    assert!(top.stdout.contains("Exit codes:"));
    assert!(top.stdout.contains("PAYAUTH_"));
    for command in [
        &["card", "inspect"][..],
        &["card", "encrypt"],
        &["easypay", "guard", "status"],
        &["easypay", "guard", "reset"],
        &["easypay", "session"],
        &["easypay", "header"],
        &["oauth", "token"],
        &["payroc", "session"],
        &["numcheck", "call"],
        &["numcheck", "status"],
        &["sandbox"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = Run::new(&args).run();
        assert_eq!(help.code, 0, "{command:?}");
        assert!(
            help.stdout.contains("Example:"),
            "{command:?}: {}",
            help.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2_and_a_missing_target_exits_3() {
    let unknown = Run::new(&["card", "frobnicate"]).run();
    assert_eq!(unknown.code, 2);
    let no_target = Run::new(&["oauth", "token", "--client-id", "x"])
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", "whatever-secret")
        .run();
    assert_eq!(no_target.code, 3, "{no_target:?}");
    assert!(no_target.stderr.contains("no target"));
    assert!(no_target.stderr.contains("hint: pass --sandbox URL"));
    assert_eq!(no_target.stderr.lines().count(), 2, "one line and a hint");
}

#[test]
fn nothing_listening_exits_8_with_a_hint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = Run::new(&["oauth", "token", "--client-id", CLIENT_ID])
        .env("PAYAUTH_SANDBOX", &url)
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .run();
    assert_eq!(out.code, 8, "{out:?}");
    assert!(out.stderr.contains("is the sandbox running"), "{out:?}");
}

#[test]
fn the_sandbox_over_tls_is_reached_with_its_ca() {
    let sandbox = Sandbox::start_with("tls", &["--tls"]);
    assert!(sandbox.url.starts_with("https://"));
    let ca = sandbox.dir.join("payauth-sandbox-ca.pem");
    let token = |ca: Option<&Path>| {
        let mut run = sandbox
            .payauth(&["oauth", "token", "--client-id", CLIENT_ID])
            .env("PAYAUTH_OAUTH_CLIENT_SECRET", CLIENT_SECRET);
        if let Some(ca) = ca {
            run = run.env("PAYAUTH_CA_CERT", ca);
        }
        run.run()
    };
    let trusted = token(Some(&ca));
    assert_eq!(trusted.code, 0, "{trusted:?}");
    let untrusted = token(None);
    assert_eq!(untrusted.code, 8, "{untrusted:?}");
    assert!(untrusted.stderr.contains("--ca-cert"), "{untrusted:?}");
}

#[cfg(unix)]
#[test]
fn the_sandbox_command_stays_up_without_stdin_and_stops_on_sigterm() {
    let dir = temp_dir("service");
    let mut child = Command::new(BIN)
        .args(["sandbox", "--dir", dir.to_str().unwrap()])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("stop with SIGINT") {
        assert_ne!(stdout.read_line(&mut banner).unwrap(), 0, "{banner}");
    }
    for expected in [
        "EP9116875",
        EASYPAY_TOKEN,
        "/APIcardProcREST/v1.0.0/",
        "easypay-card-cert.der",
    ] {
        assert!(banner.contains(expected), "{expected} missing: {banner}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "exited without stdin");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap();
    let out = Run::new(&["payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_SANDBOX", url)
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = finish(child);
    assert_eq!(output.code, 0, "{output:?}");
    assert!(
        output.stderr.contains("POST /authorize 200 payroc"),
        "{output:?}"
    );
    assert!(
        output
            .stderr
            .contains("POST /v1/processing-terminals/1234001/hosted-fields-sessions 201 payroc"),
        "{output:?}"
    );
    assert!(!output.stderr.contains(PAYROC_KEY));
    let _ = std::fs::remove_dir_all(&dir);
}
