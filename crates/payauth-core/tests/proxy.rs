//! Loopback requests never go through a proxy, whatever the proxy variables say.
//!
//! The variables are set only in a child process (this test binary run again on one ignored
//! test), so no other test sees them.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use payauth_core::{HttpConfig, HttpRequest};

/// Set in the child: where the proxy listens and where the server listens.
const PROXY_ENV: &str = "PAYAUTH_TEST_PROXY_ADDR";
const SERVER_ENV: &str = "PAYAUTH_TEST_SERVER_ADDR";

/// Accepts connections on `listener`, counting them; answers each request with 200 `ok`.
fn serve(listener: TcpListener, accepted: Arc<AtomicUsize>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            accepted.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut seen = Vec::new();
            let mut chunk = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
}

#[test]
fn loopback_requests_ignore_proxy_variables() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (proxy_addr, server_addr) = (proxy.local_addr().unwrap(), server.local_addr().unwrap());
    let (to_proxy, to_server) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    serve(proxy, Arc::clone(&to_proxy));
    serve(server, Arc::clone(&to_server));

    let proxy_url = format!("http://{proxy_addr}");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_sends_with_proxy_variables_set",
        ])
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("https_proxy", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env("all_proxy", &proxy_url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env(PROXY_ENV, proxy_addr.to_string())
        .env(SERVER_ENV, server_addr.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "the child test failed");
    assert_eq!(
        to_proxy.load(Ordering::SeqCst),
        0,
        "the proxy received a request"
    );
    assert_eq!(
        to_server.load(Ordering::SeqCst),
        2,
        "the server did not get both requests"
    );
}

/// Run by [`loopback_requests_ignore_proxy_variables`] with the proxy variables set.
#[test]
#[ignore = "run by loopback_requests_ignore_proxy_variables in a child process"]
fn child_sends_with_proxy_variables_set() {
    let server = std::env::var(SERVER_ENV).expect("run by the parent test");
    assert!(
        std::env::var("HTTP_PROXY").is_ok(),
        "run by the parent test"
    );
    let http = HttpConfig::new("proxy-test")
        .timeout(Duration::from_secs(5))
        .build();
    let port = server.rsplit(':').next().unwrap();
    for url in [
        format!("http://{server}/token"),
        format!("http://localhost:{port}/token"),
    ] {
        let request = HttpRequest::post(url).header("authorization", "Basic c2VjcmV0OnNlY3JldA==");
        let response = http.send(&request).expect("answered");
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), b"ok");
    }
}
