//! The hostile-network faults, seen from a raw socket and from the core's HTTP agent.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use payauth_core::{HttpConfig, TransportKind};
use payauth_sandbox::{Fault, Sandbox};

use crate::token_request;

const TOKEN: &str = "/api/token";

/// Sends one raw HTTP/1.1 request and reads until the server closes or 2 s pass.
fn raw_exchange(sandbox: &Sandbox, request: &str) -> String {
    let mut stream = TcpStream::connect(sandbox.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn echo_reflects_headers_query_and_body() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.inject(TOKEN, Fault::EchoJson(400));
    let answer = raw_exchange(
        &sandbox,
        "POST /api/token?q=QUERY HTTP/1.1\r\nHost: x\r\nX-Api-Key: KEY123\r\nContent-Length: 4\r\nConnection: close\r\n\r\nBODY",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    for part in [
        "QUERY",
        "KEY123",
        "BODY",
        "ErrMsg",
        "error_description",
        "detail",
    ] {
        assert!(answer.contains(part), "{part}: {answer}");
    }
    sandbox.inject(TOKEN, Fault::EchoHtml(502));
    let answer = raw_exchange(
        &sandbox,
        "GET /api/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN9\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(
        answer.contains("<html>") && answer.contains("Bearer TOKEN9"),
        "{answer}"
    );
}

#[test]
fn raw_members_replace_a_token_response_value() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    for raw in ["1e400", "18446744073709551615", "\"abc\"", "-5"] {
        sandbox.inject(
            TOKEN,
            Fault::RawMember {
                name: "expires_in".into(),
                raw: raw.into(),
            },
        );
        let response = http.send(&token_request(&sandbox)).unwrap();
        let body = String::from_utf8_lossy(response.body()).into_owned();
        assert!(body.contains(&format!("\"expires_in\":{raw}")), "{body}");
        assert!(body.contains("access_token"), "{body}");
    }
}

#[test]
fn continue_flood_precedes_the_answer() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.inject("/nope", Fault::ContinueFlood(50));
    let answer = raw_exchange(
        &sandbox,
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(answer.matches("HTTP/1.1 100 Continue\r\n\r\n").count(), 50);
    assert!(answer.contains("HTTP/1.1 404"), "{answer}");
}

#[test]
fn tls_garbage_and_alerts_arrive_after_the_request_was_processed() {
    for fault in [Fault::TlsGarbage, Fault::TlsFatalAlert] {
        let sandbox = Sandbox::builder().tls().start().unwrap();
        let http = HttpConfig::new("t/1")
            .settings(Sandbox::http_settings())
            .build();
        sandbox.inject(TOKEN, fault.clone());
        let err = http.send(&token_request(&sandbox)).unwrap_err();
        assert!(err.may_have_reached_server(), "{fault:?}: {err}");
        assert_eq!(sandbox.counters().auth_successes, 1, "{fault:?}");
    }
}

#[test]
fn a_refused_certificate_is_not_sent() {
    let sandbox = Sandbox::builder().tls().start().unwrap();
    let http = HttpConfig::new("t/1").build();
    let err = http.send(&token_request(&sandbox)).unwrap_err();
    assert_eq!(err.kind(), TransportKind::Tls);
    assert!(!err.may_have_reached_server());
    assert!(sandbox.arrivals().is_empty());
}

#[test]
fn dripped_heads_and_bodies_outlast_a_short_timeout() {
    for fault in [
        Fault::DripHead(Duration::from_millis(100)),
        Fault::DripBody(Duration::from_millis(100)),
    ] {
        let sandbox = Sandbox::start().unwrap();
        let http = HttpConfig::new("t/1")
            .timeout(Duration::from_millis(300))
            .build();
        sandbox.inject(TOKEN, fault.clone());
        let err = http.send(&token_request(&sandbox)).unwrap_err();
        assert_eq!(err.kind(), TransportKind::Timeout, "{fault:?}: {err}");
        assert!(err.may_have_reached_server());
    }
}

#[test]
fn a_poisoned_connection_fails_the_next_request_on_it() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    sandbox.inject(TOKEN, Fault::PoisonKeepAlive);
    assert_eq!(http.send(&token_request(&sandbox)).unwrap().status(), 200);
    // The pooled connection now holds garbage: the next exchange on it fails after sending.
    let err = http.send(&token_request(&sandbox)).unwrap_err();
    assert!(err.may_have_reached_server(), "{err}");
    assert_eq!(
        sandbox.counters().connections_accepted,
        1,
        "the connection was reused"
    );
}

#[test]
fn retry_after_and_huge_messages() {
    let sandbox = Sandbox::start().unwrap();
    let http = HttpConfig::new("t/1").build();
    sandbox.inject(
        TOKEN,
        Fault::Unavailable {
            retry_after: "Fri, 31 Dec 9999 23:59:59 GMT".into(),
        },
    );
    let response = http.send(&token_request(&sandbox)).unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.header("retry-after"),
        Some("Fri, 31 Dec 9999 23:59:59 GMT")
    );
    sandbox.inject(TOKEN, Fault::HugeErrMsg(900_000));
    let response = http.send(&token_request(&sandbox)).unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.body().len() > 900_000);
    assert!(response.body().len() < 1 << 20);
    // Every request is logged as it arrived, faults included.
    assert_eq!(sandbox.arrivals().len(), 2);
    assert!(sandbox.arrivals().iter().all(|a| a.path == TOKEN));
}
