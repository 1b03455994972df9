//! numcheck-client: a call placed, waited for and verified; a timed-out init-call not repeated.

use std::time::Duration;

use numcheck_client::{
    Client, Clock as _, Error, ManualClock, Outcome, PendingVerification, Phone, ServiceSecret,
    VerificationKey, VerificationPolicy,
};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Fault, Sandbox};

use super::DemoResult;

pub(super) fn run() -> DemoResult {
    println!("\n== numcheck-client: a phone verified by a call, the code checked on our side");
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).tls().start()?;
    println!(
        "   sandbox at {} (TLS with its test CA, manual clock; calls answered after 20 s)",
        sandbox.url()
    );
    let builder = || -> Result<_, Error> {
        Ok(
            Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET)?)
                .base_url(sandbox.url())
                .http(Sandbox::http_settings())
                .clock(clock.shared()),
        )
    };
    let client = builder()?.build()?;
    let key = VerificationKey::new(*b"demo application key, 32+ bytes!")?;

    let typed_phone = "+7 (999) 123-45-67";
    let call = client.init_call(&Phone::parse(typed_phone)?, None)?;
    println!(
        "   init-call to {typed_phone}: call {} from {} (what the user's phone shows)",
        call.id(),
        call.caller_number()
    );
    println!("   the call in logs (Debug): {call:?}");
    let pending =
        PendingVerification::new(&call, &key, client.now(), VerificationPolicy::default());
    let stored = serde_json::to_string(&pending)?;
    println!("   kept in the session, no code inside: {stored}");

    let start = clock.now();
    let mut progress = Vec::new();
    let status = client.wait_for_call(call.id(), Duration::from_secs(90), |status| {
        let at = clock.now().duration_since(start).unwrap_or_default();
        progress.push(format!("{status} at {} s", at.as_secs()));
    })?;
    println!("   waiting for the call: {}", progress.join(" -> "));
    if !status.is_final() {
        return Err(format!("call ended as {status}").into());
    }

    let mut pending: PendingVerification = serde_json::from_str(&stored)?;
    let code = call.code().to_owned();
    let wrong = if code == "1234" { "4321" } else { "1234" };
    for (who, typed, expected) in [
        (
            "the user mistypes",
            wrong,
            Outcome::Wrong { attempts_left: 4 },
        ),
        (
            "the user types the last 4 digits",
            code.as_str(),
            Outcome::Verified,
        ),
        ("the same code again", code.as_str(), Outcome::AlreadyUsed),
    ] {
        let outcome = pending.verify(typed, &key, client.now())?;
        println!("   {who:<34} {typed} -> {outcome:?}");
        if outcome != expected {
            return Err(format!("{who}: expected {expected:?}, got {outcome:?}").into());
        }
    }

    // NumCheck places the call, then answers after the client has given up.
    sandbox.inject(
        "/ru/init-call",
        Fault::ProcessThenDelay(Duration::from_millis(600)),
    );
    let impatient = builder()?
        .http(Sandbox::http_settings().timeout(Duration::from_millis(150)))
        .build()?;
    match impatient.init_call(&Phone::parse(typed_phone)?, None) {
        Err(err @ Error::CallMayHaveBeenPlaced { .. }) => println!("   init-call timed out: {err}"),
        other => return Err(format!("expected CallMayHaveBeenPlaced, got {other:?}").into()),
    }
    let placed = sandbox.counters().calls_placed;
    println!("   calls placed in all: {placed} (the timed-out one once, never repeated)");
    if placed != 2 {
        return Err(format!("expected 2 calls placed, saw {placed}").into());
    }
    Ok(())
}
