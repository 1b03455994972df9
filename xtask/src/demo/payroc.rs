//! payroc-hostedfields: session tokens on one Bearer token, and a retry that created nothing twice.

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Fault, Sandbox};
use payroc_hostedfields::{
    ApiKey, Client, Clock as _, Environment, ManualClock, SessionRequest, TerminalId,
};

use super::DemoResult;

pub(super) fn run() -> DemoResult {
    println!("\n== payroc-hostedfields: Hosted Fields sessions on one cached Bearer token");
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).tls().start()?;
    let url = sandbox.url();
    println!(
        "   sandbox at {url} (TLS with its test CA, manual clock; identity /authorize, API /v1)"
    );
    let client = Client::builder(ApiKey::new(DEFAULT_PAYROC_API_KEY)?)
        .environment(Environment::Test)
        .identity_url(format!("{url}/authorize"))
        .api_base(format!("{url}/v1"))
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()?;
    let terminal = TerminalId::new("1234001")?;
    let sessions_path = format!("/v1/processing-terminals/{terminal}/hosted-fields-sessions");

    for page in ["first page load", "second page load"] {
        let session = client.create_session(&SessionRequest::payment(terminal.clone()))?;
        let counters = sandbox.counters();
        println!(
            "   {page:<18} -> session expires {} (key {})   authorize calls: {}, sessions: {}",
            payroc_hostedfields::payauth_core::Rfc3339(session.expires_at()),
            session.idempotency_key(),
            counters.token_requests,
            counters.sessions_created
        );
    }
    if sandbox.counters().token_requests != 1 {
        return Err("expected one authorize call for two sessions".into());
    }

    // The server creates the session, then the connection dies before the answer arrives.
    sandbox.inject(&sessions_path, Fault::ProcessThenDrop);
    let before = sandbox.counters().sessions_created;
    let session = client.create_session(&SessionRequest::payment(terminal.clone()))?;
    let created = sandbox.counters().sessions_created - before;
    let attempts = sandbox.payroc().session_attempts();
    let key = session.idempotency_key().to_string();
    let same_key = attempts
        .iter()
        .rev()
        .take(2)
        .all(|a| a.idempotency_key.as_deref() == Some(key.as_str()));
    println!(
        "   processed, then connection dropped -> retried with the same key: {same_key}; sessions created by this call: {created}"
    );
    if created != 1 || !same_key {
        return Err("the retry duplicated the session".into());
    }

    // The identity token ends early on the server: one 401, one new token, the same key.
    sandbox.payroc().expire_all_tokens(clock.now());
    client.create_session(&SessionRequest::payment(terminal))?;
    println!(
        "   Bearer token rejected (401)      -> one new token, session created; authorize calls: {}",
        sandbox.counters().token_requests
    );
    println!("   session in Debug output: {session:?}");
    Ok(())
}
