//! The log records of a full run of every client, captured at TRACE for the payauth crates and
//! at `payauth_core::logging::HTTP_LOG_CAP` for ureq's: no secret of the run in any record, the
//! expected events present, nothing from ureq above the cap; and a negative control showing that
//! with ureq at TRACE a secret does reach the log, so the checker can see one.
//!
//! One test in its own binary: the logger is process-global.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use card_encryption::{CardNumber, KeyLoader};
use hmac_sessionkey::{
    Amounts, CardSaleManual, HmacSecret, LockoutGuard, ManualCard, MemoryGuardStore, SignerId,
};
use log::{Level, LevelFilter, Log, Metadata, Record};
use numcheck_client::{PendingVerification, Phone, ServiceSecret, VerificationKey};
use oauth_client_credentials::{AuthMethod, HttpRequest, SigningKey};
use payauth_core::logging::{HTTP_LOG_CAP, is_http_target, is_payauth_target, safe_level};
use payauth_core::{Clock as _, ManualClock};
use payauth_sandbox::{
    CardKey, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EASYPAY_ACCOUNT,
    DEFAULT_NUMCHECK_SECRET, DEFAULT_PAYROC_API_KEY, DEFAULT_SIGNING_SECRET, Fault,
    PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER, Sandbox,
};
use payroc_hostedfields::{ApiKey, SessionRequest, TerminalId};

const PAN: &str = "4761530001111118";
const WRONG_EASYPAY_TOKEN: &str = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
const WRONG_CLIENT_SECRET: &str = "not-the-secret-9f2b7c";

#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    message: String,
}

/// Keeps every record the filter lets through: TRACE for every target but ureq's, which get
/// `safe_level` (or everything, for the negative control).
struct Capture {
    records: Mutex<Vec<Captured>>,
    ureq_uncapped: AtomicBool,
}

static CAPTURE: Capture = Capture {
    records: Mutex::new(Vec::new()),
    ureq_uncapped: AtomicBool::new(false),
};

impl Capture {
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.ureq_uncapped.load(Ordering::SeqCst)
            || metadata.level() <= safe_level(metadata.target(), LevelFilter::Trace)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let captured = Captured {
            level: record.level(),
            target: record.target().to_owned(),
            message: record.args().to_string(),
        };
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(captured);
    }

    fn flush(&self) {}
}

/// Every form in which `secret` may have travelled: raw, percent- and form-encoded, Base64.
fn forms(secret: &str) -> Vec<String> {
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let form = percent.replace("%20", "+");
    let mut all = vec![
        secret.to_owned(),
        percent.clone(),
        percent.to_lowercase(),
        form,
        STANDARD.encode(secret),
        serde_json::Value::from(secret)
            .to_string()
            .trim_matches('"')
            .to_owned(),
    ];
    all.sort();
    all.dedup();
    all
}

/// A run of `min` hex digits: an EasyPay session key (42) or an HMAC in a secured header (64).
fn long_hex_run(text: &str, min: usize) -> bool {
    let mut run = 0;
    text.chars().any(|c| {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        run >= min
    })
}

/// The (secret, record) pairs where a record holds a secret in any of its forms.
fn leaks(records: &[Captured], secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for record in records {
        let text = format!("{} {}", record.target, record.message);
        for secret in secrets {
            if forms(secret)
                .iter()
                .any(|form| text.contains(form.as_str()))
            {
                found.push(format!(
                    "secret #{} in [{} {}] {:.300}",
                    secret.len(),
                    record.level,
                    record.target,
                    record.message
                ));
            }
        }
        if long_hex_run(&record.message, 32) {
            found.push(format!(
                "session key or HMAC in [{} {}] {:.300}",
                record.level, record.target, record.message
            ));
        }
    }
    found
}

fn has(records: &[Captured], level: Level, target: &str, words: &[&str]) -> bool {
    records.iter().any(|r| {
        r.level == level && r.target == target && words.iter().all(|w| r.message.contains(w))
    })
}

type Run = Result<(), Box<dyn std::error::Error>>;

#[test]
fn a_full_run_logs_its_events_and_no_secret() -> Run {
    log::set_logger(&CAPTURE).map_err(|_| "a logger is already installed")?;
    log::set_max_level(LevelFilter::Trace);
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).tls().start()?;
    let url = sandbox.url();
    let mut secrets: Vec<String> = [
        DEFAULT_EASYPAY_ACCOUNT.1,
        PCI_EASYPAY_ACCOUNT.1,
        PCI_EASYPAY_SIGNER.0,
        WRONG_EASYPAY_TOKEN,
        DEFAULT_CLIENT_SECRET,
        WRONG_CLIENT_SECRET,
        DEFAULT_SIGNING_SECRET,
        DEFAULT_NUMCHECK_SECRET,
        DEFAULT_PAYROC_API_KEY,
        PAN,
    ]
    .map(str::to_owned)
    .to_vec();
    for (id, secret) in [
        (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        (DEFAULT_CLIENT_ID, WRONG_CLIENT_SECRET),
    ] {
        // Both Basic encodings: plain and form-encoded parts.
        secrets.push(format!("{id}:{secret}"));
        let encode = |s: &str| {
            forms(s)
                .into_iter()
                .find(|f| f.contains('%'))
                .unwrap_or(s.to_owned())
        };
        secrets.push(format!("{}:{}", encode(id), encode(secret)));
    }

    // EasyPay: a secured session, a sale with an encrypted card, a void, a 5050 re-authentication,
    // and a wrong token refused by the guard after one rejection.
    let easypay_base = format!("{url}/APIcardProcREST/v1.0.0/");
    let guard = || LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 3);
    let easypay = hmac_sessionkey::Client::builder(hmac_sessionkey::Credentials::new(
        PCI_EASYPAY_ACCOUNT.0,
        PCI_EASYPAY_ACCOUNT.1,
    )?)
    .base_url(&easypay_base)
    .http(Sandbox::http_settings())
    .clock(clock.shared())
    .lockout_guard(guard()?)
    .secured_header(
        HmacSecret::new(PCI_EASYPAY_SIGNER.0)?,
        SignerId::new(PCI_EASYPAY_SIGNER.1)?,
    )
    .build()?;
    let session = easypay.session()?;
    let key = KeyLoader::new().load_bytes(CardKey::bundled()?.certificate_der())?;
    let encrypted = key.encrypt(&CardNumber::parse(PAN)?)?.into_string();
    secrets.push(encrypted.clone());
    let card = ManualCard::new(encrypted, 10, 2028, "122")?;
    let sale = easypay.card_sale_manual(&CardSaleManual::new(
        card,
        Amounts::total(2500),
        session.merchants()[0].id,
    ))?;
    assert!(sale.approved);
    easypay.void(sale.transaction_id)?;
    sandbox.easypay().change_client_ip();
    easypay.void(sale.transaction_id).ok();
    let wrong = hmac_sessionkey::Client::builder(hmac_sessionkey::Credentials::new(
        DEFAULT_EASYPAY_ACCOUNT.0,
        WRONG_EASYPAY_TOKEN,
    )?)
    .base_url(&easypay_base)
    .http(Sandbox::http_settings())
    .lockout_guard(guard()?)
    .build()?;
    assert!(wrong.session().is_err());
    assert!(wrong.session().is_err());

    // OAuth: Basic, a retried fetch, a 401 refetch, a signed purchase link, retries exhausted
    // and a refused client secret (a vendor error).
    let oauth = |secret: &str| -> Result<_, oauth_client_credentials::Error> {
        oauth_client_credentials::Client::builder(oauth_client_credentials::Credentials::new(
            DEFAULT_CLIENT_ID,
            secret,
        )?)
        .token_url(format!("{url}/api/token"))
        .auth_method(AuthMethod::BasicPlain)
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()
    };
    let client = oauth(DEFAULT_CLIENT_SECRET)?;
    sandbox.inject("/api/token", Fault::HtmlError(503));
    let resource = format!("{url}/api/resource");
    assert_eq!(client.get(&resource)?.status(), 200);
    let first = client.bearer()?.secret().to_owned();
    sandbox.oauth().revoke_all_tokens();
    assert_eq!(client.get(&resource)?.status(), 200);
    let second = client.bearer()?.secret().to_owned();
    assert_ne!(first, second, "the 401 was followed by a new token");
    secrets.extend([first, second]);
    let signed = SigningKey::new(DEFAULT_SIGNING_SECRET)?.signed_url(
        &format!("{url}/api/purchase_link/"),
        &serde_json::json!({ "data": { "amount": 30000, "currency": "EUR" } }),
        Some(clock.now() + Duration::from_secs(86_400)),
    )?;
    let signature = signed
        .split_once("signature=")
        .map(|(_, s)| s.to_owned())
        .ok_or("no signature in the signed URL")?;
    secrets.push(signature);
    assert_eq!(
        client.http().send(&HttpRequest::post(signed))?.status(),
        201
    );
    sandbox.inject_times("/api/token", Fault::EchoJson(503), 3);
    assert!(oauth(DEFAULT_CLIENT_SECRET)?.bearer().is_err());
    assert!(oauth(WRONG_CLIENT_SECRET)?.bearer().is_err());

    // Payroc: a session, a retried create (the server echoes the request into its error body)
    // reusing its idempotency key, and a 401 refetch.
    let payroc = payroc_hostedfields::Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY)?)
        .environment(payroc_hostedfields::Environment::Test)
        .identity_url(format!("{url}/authorize"))
        .api_base(format!("{url}/v1"))
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()?;
    let terminal = TerminalId::new("1234001")?;
    let created = payroc.create_session(&SessionRequest::payment(terminal.clone()))?;
    secrets.push(created.token().secret().to_owned());
    secrets.push(payroc.bearer()?.secret().to_owned());
    let sessions = format!("/v1/processing-terminals/{terminal}/hosted-fields-sessions");
    sandbox.inject(&sessions, Fault::EchoJson(503));
    let retried = payroc.create_session(&SessionRequest::payment(terminal.clone()))?;
    secrets.push(retried.token().secret().to_owned());
    let reused_key = retried.idempotency_key().to_string();
    sandbox.payroc().expire_all_tokens(clock.now());
    let after_401 = payroc.create_session(&SessionRequest::payment(terminal))?;
    secrets.push(after_401.token().secret().to_owned());
    secrets.push(payroc.bearer()?.secret().to_owned());

    // NumCheck: init-call, wait through the status changes, verify the code.
    let numcheck = numcheck_client::Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET)?)
        .base_url(&url)
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()?;
    let verification_key = VerificationKey::new(*b"log test application key, 32+ b!")?;
    let call = numcheck.init_call(&Phone::parse("+7 (999) 123-45-67")?, None)?;
    secrets.push(call.code().to_owned());
    let mut pending = PendingVerification::new(
        &call,
        &verification_key,
        numcheck.now(),
        numcheck_client::VerificationPolicy::default(),
    );
    let status = numcheck.wait_for_call(call.id(), Duration::from_secs(90), |_| {})?;
    assert!(status.is_final());
    assert_eq!(
        pending.verify(call.code(), &verification_key, numcheck.now())?,
        numcheck_client::Outcome::Verified
    );

    let records = CAPTURE.take();
    let shown = || {
        records
            .iter()
            .map(|r| format!("{} {}: {}", r.level, r.target, r.message))
            .filter(|line| !line.starts_with("TRACE rustls") && !line.contains(" ureq"))
            .collect::<Vec<_>>()
            .join("\n")
    };

    // (a) No secret of the run in any record, in any form it was sent in.
    let found = leaks(&records, &secrets);
    assert!(found.is_empty(), "{found:?}");
    assert!(
        !records.iter().any(|r| r.message.contains("signature=")),
        "a signed URL's query reached the log"
    );

    // (b) The events the run caused, each under its crate's name.
    let expected: [(Level, &str, &[&str]); 14] = [
        (
            Level::Info,
            "hmac_sessionkey",
            &["session key fetched", "lifetime 90000 s"],
        ),
        (
            Level::Debug,
            "hmac_sessionkey",
            &["lockout guard: authentication allowed"],
        ),
        (
            Level::Info,
            "hmac_sessionkey",
            &["EasyPay error 5050", "authenticating again"],
        ),
        (
            Level::Warn,
            "hmac_sessionkey",
            &["EasyPay rejected the credentials"],
        ),
        (
            Level::Warn,
            "hmac_sessionkey",
            &["refused unsent", "already rejected"],
        ),
        (
            Level::Info,
            "oauth_client_credentials",
            &["access token fetched", "expires 20"],
        ),
        (
            Level::Info,
            "oauth_client_credentials",
            &["access token request: attempt 1 of 3 failed (HTTP 503); retrying in"],
        ),
        (
            Level::Info,
            "oauth_client_credentials",
            &["HTTP 401 with the cached access token"],
        ),
        (
            Level::Warn,
            "oauth_client_credentials",
            &["attempt 3 of 3 failed (HTTP 503); retries exhausted"],
        ),
        (
            Level::Info,
            "payroc_hostedfields",
            &["bearer token fetched", "lifetime 3600 s"],
        ),
        (
            Level::Info,
            "payroc_hostedfields",
            &["session create: attempt 1 of 3 failed (HTTP 503)"],
        ),
        (
            Level::Info,
            "payroc_hostedfields",
            &["attempt 2 reuses idempotency key", &reused_key],
        ),
        (
            Level::Info,
            "payroc_hostedfields",
            &["HTTP 401 with the cached bearer token"],
        ),
        (
            Level::Debug,
            "numcheck_client",
            &["waiting for the call: status completed"],
        ),
    ];
    for (level, target, words) in expected {
        assert!(
            has(&records, level, target, words),
            "no {level} {target} record with {words:?} in:\n{}",
            shown()
        );
    }
    assert!(
        has(
            &records,
            Level::Debug,
            "numcheck_client",
            &["status in progress"]
        ),
        "{}",
        shown()
    );
    // The rule for targets: the crate's name, never a module path.
    for record in records.iter().filter(|r| is_payauth_target(&r.target)) {
        assert!(!record.target.contains("::"), "{}", record.target);
    }

    // (c) ureq's records arrive, and none above the cap.
    let ureq: Vec<_> = records
        .iter()
        .filter(|r| is_http_target(&r.target))
        .collect();
    assert!(
        ureq.iter().any(|r| r.level == Level::Debug),
        "no ureq DEBUG record arrived"
    );
    for record in &ureq {
        assert!(
            record.level <= HTTP_LOG_CAP,
            "{} {}",
            record.level,
            record.target
        );
    }

    if std::env::var_os("LOGS_DUMP").is_some() {
        eprintln!("{}", shown());
    }
    // Negative control: with ureq uncapped, one token fetch puts a secret in the log.
    CAPTURE.ureq_uncapped.store(true, Ordering::SeqCst);
    let fresh = oauth(DEFAULT_CLIENT_SECRET)?;
    let token = fresh.bearer()?.secret().to_owned();
    CAPTURE.ureq_uncapped.store(false, Ordering::SeqCst);
    let uncapped = CAPTURE.take();
    assert!(
        uncapped
            .iter()
            .any(|r| is_http_target(&r.target) && r.level == Level::Trace),
        "ureq logged nothing at TRACE"
    );
    let found = leaks(
        &uncapped,
        &[
            token,
            format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"),
        ],
    );
    assert!(
        !found.is_empty(),
        "ureq at TRACE leaked nothing the checker could see"
    );
    Ok(())
}
