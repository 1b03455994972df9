//! hmac-sessionkey: a secured EasyPay card sale, session reuse, and the lockout guard at work.

use std::sync::Arc;

use card_encryption::{CardNumber, KeyLoader};
use hmac_sessionkey::{
    Amounts, CardSaleManual, Client, Credentials, Error, HmacSecret, LockoutGuard, ManualCard,
    ManualClock, MemoryGuardStore, SignerId,
};
use payauth_sandbox::{
    CardKey, DEFAULT_EASYPAY_ACCOUNT, PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER, Sandbox,
};

use super::DemoResult;

pub(super) fn run() -> DemoResult {
    println!("\n== hmac-sessionkey: EasyPay sessions that cannot lock the merchant out");
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).start()?;
    let base = format!("{}/APIcardProcREST/v1.0.0/", sandbox.url());
    let guard = || LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 3);

    let client = Client::builder(Credentials::new(
        PCI_EASYPAY_ACCOUNT.0,
        PCI_EASYPAY_ACCOUNT.1,
    )?)
    .base_url(&base)
    .clock(clock.shared())
    .lockout_guard(guard()?)
    .secured_header(
        HmacSecret::new(PCI_EASYPAY_SIGNER.0)?,
        SignerId::new(PCI_EASYPAY_SIGNER.1)?,
    )
    .build()?;
    let session = client.session()?;
    println!(
        "   authenticated {} (PCI: every call carries SessKey_epoch_id_HMAC); merchants: {}",
        PCI_EASYPAY_ACCOUNT.0,
        session
            .merchants()
            .iter()
            .map(|m| format!("{} {}", m.id, m.description))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let gateway = CardKey::bundled()?;
    let key = KeyLoader::new().load_bytes(gateway.certificate_der())?;
    for (cents, what) in [
        (2500, "$25.00"),
        (1001, "$10.01 (the sandbox declines .01)"),
    ] {
        let pan = CardNumber::parse("4761 5300 0111 1118")?;
        let card = ManualCard::new(key.encrypt(&pan)?.into_string(), 10, 2028, "122")?;
        let result = client.card_sale_manual(&CardSaleManual::new(
            card,
            Amounts::total(cents),
            session.merchants()[0].id,
        ))?;
        println!(
            "   CardSale/Manual {what} on {pan} (encrypted, 684 chars): approved={} TxID={} \"{}\"",
            result.approved, result.transaction_id, result.message
        );
    }
    let authentications = sandbox.counters().token_requests;
    println!(
        "   three calls, {authentications} authentication: the session is reused for up to 25 h"
    );
    if authentications != 1 {
        return Err("the session was not reused".into());
    }

    let wrong = Client::builder(Credentials::new(
        DEFAULT_EASYPAY_ACCOUNT.0,
        "00000000000000000000000000000000",
    )?)
    .base_url(&base)
    .lockout_guard(guard()?)
    .build()?;
    for attempt in 1..=4 {
        match wrong.session() {
            Err(e @ (Error::CredentialsRejected { .. } | Error::Guarded(_))) => {
                println!("   wrong token, attempt {attempt}: {e}")
            }
            Err(e) => return Err(e.into()),
            Ok(_) => return Err("a wrong token was accepted".into()),
        }
    }
    let failures = sandbox.easypay().failure_count();
    println!(
        "   EasyPay saw {failures} failed authentication (it locks the IP at 6); locked: {}",
        sandbox.easypay().is_ip_locked()
    );
    if failures != 1 {
        return Err("the guard let a rejected token through again".into());
    }
    Ok(())
}
