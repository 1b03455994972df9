//! oauth-client-credentials: a token fetched once, reused, refreshed ahead, recovered after a 401.

use std::time::Duration;

use oauth_client_credentials::{
    AuthMethod, BasicCredentials, Client, Clock as _, Credentials, HttpRequest, ManualClock,
    SigningKey,
};
use payauth_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER, DEFAULT_SIGNING_SECRET,
    Sandbox,
};

use super::DemoResult;

pub(super) fn run() -> DemoResult {
    println!("\n== oauth-client-credentials: a Pledg-style token, fetched once and reused");
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).tls().start()?;
    let api = sandbox.url();
    println!("   sandbox at {api} (TLS with its test CA, manual clock)");
    let client = Client::builder(Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)?)
        .token_url(format!("{api}/api/token"))
        // Pledg documents plain Basic; `Auto` would find it too, after one refused probe.
        .auth_method(AuthMethod::BasicPlain)
        .http(Sandbox::http_settings())
        .clock(clock.shared())
        .build()?;
    let resource = format!("{api}/api/resource");
    let call = |what: &str| -> DemoResult {
        let status = client.get(&resource)?.status();
        let fetched = sandbox.counters().token_requests;
        println!("   {what:<44} GET /api/resource -> {status}   token requests so far: {fetched}");
        if status == 200 {
            Ok(())
        } else {
            Err(format!("{what}: HTTP {status}").into())
        }
    };
    call("first call fetches a token")?;
    call("second call reuses it")?;
    clock.advance(Duration::from_secs(530));
    call("8 min 50 s later, still no fetch")?;
    clock.advance(Duration::from_secs(20));
    call("inside the 60 s margin: served at once")?;
    // The refresh-ahead runs on a background thread; no call waited for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sandbox.counters().token_requests < 2 {
        if std::time::Instant::now() > deadline {
            return Err("the refresh-ahead never happened".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "   {:<44} token requests so far: {}",
        "  ...replaced on a background thread",
        sandbox.counters().token_requests
    );
    sandbox.oauth().revoke_all_tokens();
    call("provider revoked it: 401, one refetch, retry")?;
    if sandbox.counters().token_requests != 3 {
        return Err("expected exactly 3 token requests".into());
    }
    println!("   token in Debug output: {:?}", client.bearer()?);

    let key = SigningKey::new(DEFAULT_SIGNING_SECRET)?;
    let claims = serde_json::json!({ "data": { "amount": 30000, "currency": "EUR" } });
    let url = key.signed_url(
        &format!("{api}/api/purchase_link/"),
        &claims,
        Some(clock.now() + Duration::from_secs(86_400)),
    )?;
    let status = client.http().send(&HttpRequest::post(url))?.status();
    println!(
        "   purchase link signed with HS256 (exp in 1 day): POST /api/purchase_link/?signature=... -> {status}"
    );
    if status != 201 {
        return Err(format!("signed purchase link: HTTP {status}").into());
    }
    let (user, password) = DEFAULT_DASHBOARD_USER;
    let basic = BasicCredentials::new(user, password)?;
    let status = client
        .http()
        .send(&basic.authorize(HttpRequest::get(format!("{api}/api/dashboard"))))?
        .status();
    println!("   dashboard with HTTP Basic ({user}): GET /api/dashboard -> {status}");
    if status != 200 {
        return Err(format!("dashboard: HTTP {status}").into());
    }
    Ok(())
}
