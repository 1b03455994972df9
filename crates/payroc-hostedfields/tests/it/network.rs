//! Network settings against the sandbox's TLS: roots added to the public ones, only given
//! roots, a client certificate, an explicit proxy (and its errors), the environment's proxy.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Sandbox};
use payroc_hostedfields::{
    ApiKey, CaCertificate, Client, Environment, Error, HttpSettings, ManualClock, Proxy,
    RetryPolicy, TransportKind, Trust,
};

use crate::support::payment;

/// The name the sandbox's certificate carries besides the loopback ones: requests to it are not
/// loopback, so they go through a proxy, which maps it to the sandbox.
const SANDBOX_NAME: &str = "sandbox.payauth.test";

fn tls_sandbox(clock: &ManualClock) -> Sandbox {
    Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap()
}

fn client(base: &str, clock: &ManualClock, settings: HttpSettings) -> Client {
    Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY).unwrap())
        .environment(Environment::Test)
        .identity_url(format!("{base}/authorize"))
        .api_base(format!("{base}/v1"))
        .clock(clock.shared())
        .retry(RetryPolicy::never())
        .http(settings)
        .build()
        .unwrap()
}

fn transport(err: &Error) -> &payroc_hostedfields::TransportError {
    match err {
        Error::Transport(t) => t,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn an_extra_ca_is_added_to_the_public_roots_not_instead() {
    let clock = ManualClock::fixed();
    let sandbox = tls_sandbox(&clock);
    let ca = Sandbox::ca_certificate().unwrap();

    // Public roots plus the sandbox CA: the sandbox is trusted.
    let added = client(
        &sandbox.url(),
        &clock,
        HttpSettings::new().trust(Trust::public_roots_and([ca.clone()])),
    );
    added.create_session(&payment()).unwrap();
    assert_eq!(sandbox.counters().sessions_created, 1);

    // The public roots alone do not trust it, and nothing is sent.
    let public = client(&sandbox.url(), &clock, HttpSettings::new());
    let err = public.bearer().unwrap_err();
    assert_eq!(transport(&err).kind(), TransportKind::Tls, "{err}");
    assert!(!transport(&err).may_have_reached_server());

    // Only another CA: refused too. (That the public roots are kept beside the extra CA is
    // checked on the root list itself in payauth-core: no public server is reachable here.)
    let (client_chain, _) = Sandbox::client_certificate_pem();
    let other = CaCertificate::from_pem(client_chain).unwrap();
    let only_other = client(
        &sandbox.url(),
        &clock,
        HttpSettings::new().trust(Trust::only(other)),
    );
    let err = only_other.bearer().unwrap_err();
    assert_eq!(transport(&err).kind(), TransportKind::Tls, "{err}");
    assert_eq!(sandbox.counters().token_requests, 1);

    // The CA given as PEM works the same as DER.
    let pem = std::fs::read_to_string(
        Sandbox::write_certificates(
            &std::env::temp_dir().join(format!("payauth-network-{}", std::process::id())),
        )
        .unwrap()
        .ca_pem,
    )
    .unwrap();
    let from_pem = CaCertificate::from_pem(pem.as_bytes()).unwrap();
    let pem_client = client(
        &sandbox.url(),
        &clock,
        HttpSettings::new().trust(Trust::only(from_pem)),
    );
    pem_client.bearer().unwrap();
}

#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder()
        .clock(clock.shared())
        .require_client_certificate()
        .start()
        .unwrap();

    let without = client(&sandbox.url(), &clock, Sandbox::http_settings());
    let err = without.bearer().unwrap_err();
    assert!(
        matches!(
            transport(&err).kind(),
            TransportKind::Tls | TransportKind::ConnectionLost
        ),
        "{err}"
    );
    assert_eq!(sandbox.counters().token_requests, 0);

    let with = client(
        &sandbox.url(),
        &clock,
        Sandbox::http_settings().client_certificate(Sandbox::client_certificate().unwrap()),
    );
    with.create_session(&payment()).unwrap();
    assert_eq!(sandbox.counters().sessions_created, 1);
    let debug = format!("{:?}", Sandbox::client_certificate().unwrap());
    assert!(
        debug.contains("[redacted]") && !debug.contains("PRIVATE"),
        "{debug}"
    );
}

/// A CONNECT proxy on loopback that tunnels every request to `target` and records each
/// request head it received.
struct ConnectProxy {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start(target: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        thread::spawn(move || {
            for stream in listener.incoming().take(16) {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                thread::spawn(move || tunnel(stream, target, &seen));
            }
        });
        ConnectProxy { addr, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, target: SocketAddr, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    seen.lock().unwrap().push(head);
    let server = TcpStream::connect(target).unwrap();
    let mut client_write = client;
    client_write
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let mut server_read = server.try_clone().unwrap();
    let mut client_out = client_write.try_clone().unwrap();
    let upstream = thread::spawn(move || {
        let _ = std::io::copy(&mut server_read, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    // What the client sent after the head (already buffered), then the rest.
    let mut server_write = server;
    let _ = server_write.write_all(reader.buffer());
    let mut rest = reader.into_inner();
    let mut chunk = [0u8; 16 * 1024];
    while let Ok(n) = rest.read(&mut chunk) {
        if n == 0 || server_write.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = server_write.shutdown(Shutdown::Write);
    let _ = upstream.join();
}

#[test]
fn an_explicit_proxy_carries_the_calls_and_is_named_without_its_password() {
    let clock = ManualClock::fixed();
    let sandbox = tls_sandbox(&clock);
    let proxy = ConnectProxy::start(sandbox.addr());
    let port = sandbox.addr().port();
    let base = format!("https://{SANDBOX_NAME}:{port}");

    let through = client(
        &base,
        &clock,
        Sandbox::http_settings()
            .proxy(Proxy::url(&format!("http://merchant:pr0xy-pa55@{}", proxy.addr)).unwrap()),
    );
    through.create_session(&payment()).unwrap();
    assert_eq!(sandbox.counters().sessions_created, 1);
    let heads = proxy.heads();
    assert!(
        heads
            .iter()
            .all(|h| h.starts_with(&format!("CONNECT {SANDBOX_NAME}:{port} "))),
        "{heads:?}"
    );
    // ureq sends the proxy's credentials as Basic authentication.
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic "),
        "{heads:?}"
    );

    // A proxy that is down: the error names the host and the proxy, never its credentials.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let failing = client(
        &base,
        &clock,
        Sandbox::http_settings()
            .proxy(Proxy::url(&format!("http://merchant:pr0xy-pa55@{dead_addr}")).unwrap()),
    );
    let err = failing.bearer().unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::Connect, "{err}");
    assert!(!t.may_have_reached_server());
    assert_eq!(t.proxy(), Some(format!("http://{dead_addr}").as_str()));
    assert_eq!(t.host(), Some(format!("{SANDBOX_NAME}:{port}").as_str()));
    let shown = format!("{err} {err:?} {failing:?}");
    assert!(
        shown.contains(&format!("through proxy http://{dead_addr}")),
        "{shown}"
    );
    assert!(shown.contains(SANDBOX_NAME), "{shown}");
    assert!(
        !shown.contains("pr0xy-pa55") && !shown.contains("merchant"),
        "{shown}"
    );

    // Loopback targets never use the proxy, even an explicit one.
    let loopback = client(
        &sandbox.url(),
        &clock,
        Sandbox::http_settings().proxy(Proxy::url(&format!("http://{dead_addr}")).unwrap()),
    );
    loopback.bearer().unwrap();
}

/// Set in the child: the dead proxy's address, and the base URL to call.
const CHILD_PROXY: &str = "PAYAUTH_TEST_DEAD_PROXY";
const CHILD_BASE: &str = "PAYAUTH_TEST_BASE";

#[test]
fn the_environments_proxy_is_used_and_named_unless_told_not_to() {
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    // A name that resolves nowhere: only a proxy could reach it.
    let base = format!("https://{SANDBOX_NAME}:9");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "network::child_with_a_stale_proxy_variable",
        ])
        .env("HTTPS_PROXY", format!("http://stale:s3cret@{dead_addr}"))
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env(CHILD_PROXY, dead_addr.to_string())
        .env(CHILD_BASE, &base)
        .status()
        .unwrap();
    assert!(status.success(), "the child test failed");
}

#[test]
#[ignore = "run by the_environments_proxy_is_used_and_named_unless_told_not_to"]
fn child_with_a_stale_proxy_variable() {
    let dead_addr = std::env::var(CHILD_PROXY).unwrap();
    let base = std::env::var(CHILD_BASE).unwrap();
    let clock = ManualClock::fixed();

    // Default settings read HTTPS_PROXY: the error says which proxy failed.
    let from_env = client(&base, &clock, Sandbox::http_settings());
    let err = from_env.bearer().unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::Connect, "{err}");
    assert_eq!(
        t.proxy(),
        Some(format!("http://{dead_addr}").as_str()),
        "{err}"
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");

    // Proxy::none() ignores it: the name itself fails to resolve, and no proxy is named.
    let direct = client(&base, &clock, Sandbox::http_settings().proxy(Proxy::none()));
    let err = direct.bearer().unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportKind::Connect, "{err}");
    assert_eq!(t.proxy(), None, "{err}");
    assert!(
        !t.may_have_reached_server(),
        "a name that did not resolve: {err}"
    );
    assert!(err.to_string().contains(SANDBOX_NAME), "{err}");
}

/// The trust store the child's platform verifier reads.
#[cfg(feature = "platform-verifier")]
const CHILD_BASE_TLS: &str = "PAYAUTH_TEST_TLS_BASE";

#[cfg(feature = "platform-verifier")]
#[test]
fn the_platform_verifier_reads_the_system_trust_store() {
    let clock = ManualClock::fixed();
    let sandbox = tls_sandbox(&clock);
    let dir = std::env::temp_dir().join(format!("payauth-platform-{}", std::process::id()));
    let files = Sandbox::write_certificates(&dir).unwrap();
    // No certificate directory beside the file: the file alone is the store.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = |store: &std::path::Path, expect_trusted: bool| {
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "network::child_with_a_platform_trust_store",
            ])
            .env("SSL_CERT_FILE", store)
            .env("SSL_CERT_DIR", &empty)
            .env(CHILD_BASE_TLS, sandbox.url())
            .env(
                "PAYAUTH_TEST_EXPECT_TRUSTED",
                if expect_trusted { "1" } else { "0" },
            )
            .status()
            .unwrap();
        assert!(status.success(), "the child test failed (store {store:?})");
    };
    // A system store holding the sandbox CA: trusted. One holding another CA: refused.
    run(&files.ca_pem, true);
    let other = dir.join("other-ca.pem");
    std::fs::write(&other, Sandbox::client_certificate_pem().0).unwrap();
    run(&other, false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "platform-verifier")]
#[test]
#[ignore = "run by the_platform_verifier_reads_the_system_trust_store"]
fn child_with_a_platform_trust_store() {
    let base = std::env::var(CHILD_BASE_TLS).unwrap();
    let trusted = std::env::var("PAYAUTH_TEST_EXPECT_TRUSTED").unwrap() == "1";
    let clock = ManualClock::fixed();
    let platform = client(&base, &clock, HttpSettings::new().trust(Trust::platform()));
    match platform.bearer() {
        Ok(_) => assert!(trusted, "an untrusted server was accepted"),
        Err(err) => {
            assert!(!trusted, "{err}");
            assert_eq!(transport(&err).kind(), TransportKind::Tls, "{err}");
        }
    }
}
