//! The `payauth-sandbox` binary as a service, and the control API a test in any language uses.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payauth_core::{HttpConfig, HttpRequest, HttpResponse};
use payauth_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EASYPAY_ACCOUNT, DEFAULT_NUMCHECK_SECRET,
    DEFAULT_PAYROC_API_KEY, PCI_EASYPAY_SIGNER, Sandbox,
};

/// A sandbox process, killed if a test fails before stopping it.
struct Service {
    child: Child,
    url: String,
    banner: String,
}

impl Service {
    fn start(args: &[&str]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_payauth-sandbox"))
            .args(args)
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
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap()
            .to_owned();
        Service { child, url, banner }
    }

    /// SIGTERM, then the exit status and everything written to stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the sandbox did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn control(http: &payauth_core::Http, url: &str, route: &str, body: &str) -> HttpResponse {
    let request = if body.is_empty() {
        HttpRequest::get(format!("{url}/_sandbox{route}"))
    } else {
        HttpRequest::post(format!("{url}/_sandbox{route}")).body("application/json", body)
    };
    http.send(&request).unwrap()
}

fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn fetch_token(http: &payauth_core::Http, url: &str) -> HttpResponse {
    let basic = STANDARD.encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    http.send(
        &HttpRequest::post(format!("{url}/api/token"))
            .header("authorization", format!("Basic {basic}"))
            .body(
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials",
            ),
    )
    .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("payauth-sandbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn runs_with_stdin_closed_until_sigterm_and_is_driven_over_http() {
    let dir = temp_dir("service");
    let service = Service::start(&["--dir", dir.to_str().unwrap()]);
    // Every credential is printed, EasyPay's included.
    for expected in [
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_EASYPAY_ACCOUNT.0,
        DEFAULT_EASYPAY_ACCOUNT.1,
        PCI_EASYPAY_SIGNER.0,
        "/APIcardProcREST/v1.0.0/",
        DEFAULT_NUMCHECK_SECRET,
        DEFAULT_PAYROC_API_KEY,
    ] {
        assert!(service.banner.contains(expected), "{expected} missing");
    }
    // The certificates are written, as PEM and DER, and their paths printed.
    for (name, der) in [
        ("payauth-sandbox-ca", Sandbox::ca_certificate_der().to_vec()),
        (
            "easypay-card-cert",
            payauth_sandbox::CardKey::bundled()
                .unwrap()
                .certificate_der()
                .to_vec(),
        ),
    ] {
        let der_path = dir.join(format!("{name}.der"));
        let pem_path = dir.join(format!("{name}.pem"));
        assert!(service.banner.contains(der_path.to_str().unwrap()));
        assert!(service.banner.contains(pem_path.to_str().unwrap()));
        assert_eq!(std::fs::read(&der_path).unwrap(), der);
        let pem = std::fs::read_to_string(&pem_path).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(STANDARD.decode(body).unwrap(), der);
    }

    // stdin is closed: the old binary exited at once. Give it time to (wrongly) do so.
    let mut service = service;
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        service.child.try_wait().unwrap().is_none(),
        "exited on stdin EOF"
    );

    let http = HttpConfig::new("t/1").build();
    let url = service.url.clone();

    // A fault injected over HTTP is what the next client request sees.
    let injected = control(
        &http,
        &url,
        "/faults",
        r#"{"path": "/api/token", "fault": "html_error", "status": 502}"#,
    );
    assert_eq!(injected.status(), 200);
    assert_eq!(fetch_token(&http, &url).status(), 502);
    let token = fetch_token(&http, &url);
    assert_eq!(token.status(), 200);
    let access = json(&token)["access_token"].as_str().unwrap().to_owned();

    // A clock jump over HTTP expires the token the client holds.
    let resource = || {
        http.send(
            &HttpRequest::get(format!("{url}/api/resource"))
                .header("authorization", format!("Bearer {access}")),
        )
        .unwrap()
        .status()
    };
    assert_eq!(resource(), 200);
    let before = json(&control(&http, &url, "/clock", ""))["unix"]
        .as_i64()
        .unwrap();
    let moved = control(&http, &url, "/clock/advance", r#"{"seconds": 601}"#);
    assert!(json(&moved)["unix"].as_i64().unwrap() >= before + 601);
    assert_eq!(resource(), 401);

    // Counters, then a reset.
    let counters = json(&control(&http, &url, "/counters", ""));
    assert_eq!(counters["token_requests"], 2);
    assert_eq!(counters["auth_successes"], 1);
    assert_eq!(control(&http, &url, "/reset", "{}").status(), 200);
    let counters = json(&control(&http, &url, "/counters", ""));
    assert_eq!(counters["token_requests"], 0);
    assert_eq!(
        json(&control(&http, &url, "/clock", ""))["offset_seconds"],
        0.0
    );

    // Bad control requests are refused with a reason.
    let bad = control(
        &http,
        &url,
        "/faults",
        r#"{"path": "/api/token", "fault": "boom"}"#,
    );
    assert_eq!(bad.status(), 400);
    assert!(String::from_utf8_lossy(bad.body()).contains("unknown fault"));
    assert_eq!(control(&http, &url, "/nope", "").status(), 404);

    let (status, stderr) = service.terminate();
    assert!(status.success(), "{status}");
    // One request-log line per request, with the emulator and the fault applied.
    assert!(
        stderr.contains("POST /api/token 502 oauth fault=HtmlError(502)"),
        "{stderr}"
    );
    assert!(stderr.contains("POST /api/token 200 oauth\n"), "{stderr}");
    assert!(stderr.contains("GET /api/resource 401 oauth\n"), "{stderr}");
    assert!(stderr.contains("POST /_sandbox/clock/advance 200 control\n"));
    // The log never carries a credential.
    assert!(!stderr.contains(&access));
    assert!(!stderr.contains(DEFAULT_CLIENT_SECRET));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn easypay_unlock_and_numcheck_steering_over_http() {
    let service = Service::start(&[]);
    let http = HttpConfig::new("t/1").build();
    let url = service.url.clone();
    let authenticate = |token: &str| {
        let body = serde_json::json!({ "AcctCode": DEFAULT_EASYPAY_ACCOUNT.0, "Token": token });
        http.send(
            &HttpRequest::post(format!("{url}/APIcardProcREST/v1.0.0/Authenticate"))
                .body("application/json", body.to_string()),
        )
        .unwrap()
    };
    for _ in 0..6 {
        authenticate("0000000000000000000000000000000A");
    }
    assert_eq!(
        json(&control(&http, &url, "/counters", ""))["easypay_ip_locked"],
        true
    );
    let locked = json(&authenticate(DEFAULT_EASYPAY_ACCOUNT.1));
    assert_ne!(
        locked["AuthenticateResult"]["RespMsg"], "Success",
        "{locked}"
    );
    assert_eq!(control(&http, &url, "/easypay/unlock", "{}").status(), 200);
    assert_eq!(
        json(&control(&http, &url, "/counters", ""))["easypay_ip_locked"],
        false
    );

    // The next caller is chosen over HTTP, and a call never answered ends after the ring timeout.
    let steer =
        r#"{"next_caller": "37166001234", "never_answer": true, "ring_timeout_seconds": 30}"#;
    assert_eq!(control(&http, &url, "/numcheck", steer).status(), 200);
    let placed = http
        .send(
            &HttpRequest::post(format!("{url}/ru/init-call?phone=37120000000"))
                .header("X-AUTH-Token", DEFAULT_NUMCHECK_SECRET),
        )
        .unwrap();
    let placed = json(&placed);
    assert_eq!(placed["code"].to_string().trim_matches('"'), "1234");
    let status = || {
        let info = http
            .send(
                &HttpRequest::post(format!(
                    "{url}/ru/get-call-info?callId={}",
                    placed["callId"]
                ))
                .header("X-AUTH-Token", DEFAULT_NUMCHECK_SECRET),
            )
            .unwrap();
        json(&info)["status"].clone()
    };
    assert_eq!(status(), 0);
    control(&http, &url, "/clock/advance", r#"{"seconds": 31}"#);
    assert_eq!(status(), -1);
    let (status, _) = service.terminate();
    assert!(status.success());
}
