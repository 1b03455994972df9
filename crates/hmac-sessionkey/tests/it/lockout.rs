//! The lockout guard: a rejected token is sent once, ever; uncertain outcomes stop short of six.

use std::sync::Barrier;
use std::time::Duration;

use hmac_sessionkey::{Client, Credentials, Error, GuardRefusal, LockoutGuard};
use payauth_sandbox::{DEFAULT_EASYPAY_ACCOUNT, Fault, LOCKOUT_AFTER};

use crate::support::{WRONG_TOKEN, env, guard_path};

const AUTH: &str = "/APIcardProcREST/v1.0.0/Authenticate";

#[test]
fn a_wrong_token_reaches_easypay_once() {
    let env = env();
    let client = env
        .builder_for((DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN))
        .build()
        .unwrap();
    let first = client.session().unwrap_err();
    assert!(
        matches!(&first, Error::CredentialsRejected { .. }),
        "{first:?}"
    );
    assert!(first.to_string().contains("new credentials are needed"));
    for _ in 0..5 {
        assert!(matches!(
            client.session(),
            Err(Error::Guarded(GuardRefusal::RejectedCredentials))
        ));
    }
    assert_eq!(env.authentications(), 1);
    assert_eq!(env.sandbox.easypay().failure_count(), 1);
}

#[test]
fn a_restarted_process_sends_nothing_with_the_same_store() {
    let env = env();
    let path = guard_path();
    let client = |token: &str| {
        Client::builder(Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, token).unwrap())
            .base_url(env.base())
            .clock(env.clock.shared())
            .lockout_guard(LockoutGuard::file(&path))
            .build()
            .unwrap()
    };
    assert!(matches!(
        client(WRONG_TOKEN).session(),
        Err(Error::CredentialsRejected { .. })
    ));
    // A new client on the same file: a restarted process.
    let restarted = client(WRONG_TOKEN).session();
    assert!(matches!(
        restarted,
        Err(Error::Guarded(GuardRefusal::RejectedCredentials))
    ));
    assert_eq!(env.authentications(), 1);
    // The corrected token goes through, and success clears the count.
    client(DEFAULT_EASYPAY_ACCOUNT.1).session().unwrap();
    let state = LockoutGuard::file(&path).state().unwrap();
    assert_eq!(state.consecutive_failures(), 0);
    assert_eq!(state.rejected_credentials(), 1);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn twenty_crash_loop_restarts_leave_one_failure_and_the_ip_unlocked() {
    let env = env();
    let path = guard_path();
    for _ in 0..20 {
        // Each iteration is a process started by a supervisor: new client, same guard file.
        let client =
            Client::builder(Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN).unwrap())
                .base_url(env.base())
                .lockout_guard(LockoutGuard::file(&path))
                .build()
                .unwrap();
        assert!(client.session().is_err());
    }
    assert_eq!(env.sandbox.easypay().failure_count(), 1);
    assert!(!env.sandbox.easypay().is_ip_locked());
    assert_eq!(env.authentications(), 1);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn processes_sharing_a_store_send_one_wrong_token_between_them() {
    let env = env();
    let path = guard_path();
    let start = Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                // Separate clients and separate opens of the file: what separate processes do.
                let client = Client::builder(
                    Credentials::new(DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN).unwrap(),
                )
                .base_url(env.base())
                .lockout_guard(LockoutGuard::file(&path))
                .build()
                .unwrap();
                start.wait();
                assert!(client.session().is_err());
            });
        }
    });
    // One authentication in flight at a time: the others wait for its rejection and stop.
    assert_eq!(env.authentications(), 1);
    assert!(env.sandbox.easypay().failure_count() < LOCKOUT_AFTER);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn timeouts_and_5xx_stop_short_of_the_cap() {
    let env = env();
    env.sandbox.inject(AUTH, Fault::HtmlError(503));
    env.sandbox.inject(AUTH, Fault::ProcessThenDrop);
    env.sandbox
        .inject(AUTH, Fault::Delay(Duration::from_millis(1500)));
    env.sandbox.inject_times(AUTH, Fault::HtmlError(500), 10);
    let client = env
        .builder_for((DEFAULT_EASYPAY_ACCOUNT.0, WRONG_TOKEN))
        .http(payauth_sandbox::Sandbox::http_settings().timeout(Duration::from_millis(400)))
        .build()
        .unwrap();
    let outcomes: Vec<Error> = (0..10).map(|_| client.session().unwrap_err()).collect();
    assert!(matches!(
        outcomes[0],
        Error::UnexpectedStatus { status: 503, .. }
    ));
    assert!(
        matches!(&outcomes[1], Error::Transport(_)),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(&outcomes[2], Error::Transport(_)),
        "{:?}",
        outcomes[2]
    );
    for refused in &outcomes[3..] {
        assert!(
            matches!(
                refused,
                Error::Guarded(GuardRefusal::TooManyFailures { failures: 3 })
            ),
            "{refused:?}"
        );
    }
    assert_eq!(env.authentications(), 3, "three attempts, then nothing");
    assert!(!env.sandbox.easypay().is_ip_locked());

    // After finding the cause, a person resets the guard; the next attempt is sent.
    client.lockout_guard().reset().unwrap();
    assert!(matches!(
        client.session(),
        Err(Error::UnexpectedStatus { status: 500, .. })
    ));
    assert_eq!(env.authentications(), 4);
}

#[test]
fn without_the_guard_six_failures_lock_the_ip() {
    // The sandbox's side of the rule, shown with raw requests: the guard is what prevents this.
    let env = env();
    let http = payauth_core::HttpConfig::new("test/1").build();
    for _ in 0..LOCKOUT_AFTER {
        let request = payauth_core::HttpRequest::post(format!("{}Authenticate", env.base())).body(
            "application/json",
            format!(
                r#"{{"AcctCode":"{}","Token":"{WRONG_TOKEN}"}}"#,
                DEFAULT_EASYPAY_ACCOUNT.0
            ),
        );
        http.send(&request).unwrap();
    }
    assert!(env.sandbox.easypay().is_ip_locked());
    // Locked: even the right token is refused until support unlocks the IP.
    let err = env.client().session().unwrap_err();
    assert!(matches!(&err, Error::Vendor { code: 5090, .. }), "{err:?}");
    env.sandbox.easypay().unlock_ips();
    env.client().session().unwrap();
}

#[test]
fn an_unreadable_store_fails_closed() {
    let env = env();
    let path = guard_path();
    std::fs::write(&path, "not json").unwrap();
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(LockoutGuard::file(&path))
        .build()
        .unwrap();
    let err = client.session().unwrap_err();
    assert!(matches!(&err, Error::GuardStore(_)), "{err:?}");
    assert_eq!(env.authentications(), 0);
    let _ = std::fs::remove_file(&path);
}

/// A successful authentication whose `ThisUser.ExpirationDate` leaves the calendar in the
/// writer's zone. Once a panic counted as a failure: three of them and the guard refused all
/// authentication.
#[test]
fn successes_with_dates_at_the_end_of_the_calendar_never_count() {
    let env = env();
    let guard = crate::support::memory_guard();
    for date in [
        "/Date(253402300799999+0100)/",
        "/Date(-377705116800000-0100)/",
        "/Date(253402300799999+0100)/",
        "/Date(-377705116800000-0100)/",
    ] {
        let body = format!(
            r#"{{"AuthenticateResult":{{"FunctionOk":true,"ErrCode":0,"ErrMsg":"","RespMsg":"ok",
                "AuthSuccess":true,"SessKey":"A1B2C3D4E5F6","MerchantList":[],
                "ThisUser":{{"ID":2547,"ExpirationDate":"{date}"}}}}}}"#
        );
        env.sandbox
            .inject(AUTH, Fault::Answer { status: 200, body });
        let client = env
            .builder_for(DEFAULT_EASYPAY_ACCOUNT)
            .lockout_guard(guard.clone())
            .build()
            .unwrap();
        let session = client.session().unwrap();
        // The user record is informative: one the client cannot read is left out.
        assert!(session.user().is_none(), "{date}");
        assert_eq!(guard.state().unwrap().consecutive_failures(), 0, "{date}");
    }
    assert_eq!(env.authentications(), 4);
}

/// EasyPay accepted the credentials (and reset its count), but the answer is unusable: an
/// error for the caller, never a failure for the guard.
#[test]
fn an_accepted_but_unusable_answer_does_not_count() {
    let env = env();
    let guard = crate::support::memory_guard();
    let body =
        r#"{"AuthenticateResult":{"FunctionOk":true,"ErrCode":0,"AuthSuccess":true,"SessKey":""}}"#;
    env.sandbox.inject_times(
        AUTH,
        Fault::Answer {
            status: 200,
            body: body.to_owned(),
        },
        4,
    );
    let client = env
        .builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(guard.clone())
        .build()
        .unwrap();
    for _ in 0..4 {
        let err = client.session().unwrap_err();
        assert!(matches!(&err, Error::InvalidResponse { .. }), "{err:?}");
    }
    assert_eq!(guard.state().unwrap().consecutive_failures(), 0);
    client.session().unwrap();
    assert_eq!(env.authentications(), 5);
}
