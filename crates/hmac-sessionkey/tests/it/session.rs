//! One session for 25 hours, one re-authentication when EasyPay ends it, the secured header.

use std::sync::Barrier;
use std::time::Duration;

use hmac_sessionkey::{
    Amounts, CardSaleManual, Client, Credentials, Error, HmacSecret, ManualClock, SignerId,
};
use payauth_sandbox::{PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER};

use crate::support::{encrypted_card, env, memory_guard};

const DAY_AND_AN_HOUR: Duration = Duration::from_secs(25 * 3600);

fn sale(cents: u64) -> CardSaleManual {
    CardSaleManual::new(
        encrypted_card("4761530001111118", false),
        Amounts::total(cents),
        1,
    )
}

#[test]
fn one_session_serves_every_call() {
    let env = env();
    let client = env.client();
    let session = client.session().unwrap();
    assert_eq!(session.merchants()[0].id, 1);
    assert_eq!(session.user().unwrap().id, 2547);
    assert!(session.user().unwrap().expiration_date.is_some());
    for _ in 0..20 {
        client.card_sale_manual(&sale(1000)).unwrap();
    }
    env.clock
        .advance(DAY_AND_AN_HOUR - Duration::from_secs(3600));
    client.card_sale_manual(&sale(1000)).unwrap();
    assert_eq!(env.authentications(), 1);
}

/// A client whose clock stands still while the sandbox's moves: EasyPay ends the session before
/// the client expects it to.
fn lagging_client(env: &crate::support::Env) -> Client {
    Client::builder(
        Credentials::new(
            payauth_sandbox::DEFAULT_EASYPAY_ACCOUNT.0,
            payauth_sandbox::DEFAULT_EASYPAY_ACCOUNT.1,
        )
        .unwrap(),
    )
    .base_url(env.base())
    .clock(ManualClock::fixed().shared())
    .lockout_guard(memory_guard())
    .build()
    .unwrap()
}

#[test]
fn expired_session_5030_means_one_reauthentication_and_the_call_succeeds() {
    let env = env();
    let client = lagging_client(&env);
    client.card_sale_manual(&sale(1000)).unwrap();
    env.clock.advance(DAY_AND_AN_HOUR);
    let result = client.card_sale_manual(&sale(1000)).unwrap();
    assert!(result.approved);
    assert_eq!(env.authentications(), 2);
}

#[test]
fn changed_ip_5050_means_one_reauthentication_and_the_call_succeeds() {
    let env = env();
    let client = env.client();
    client.card_sale_manual(&sale(1000)).unwrap();
    env.sandbox.easypay().change_client_ip();
    assert!(client.card_sale_manual(&sale(1000)).unwrap().approved);
    assert_eq!(env.authentications(), 2);
}

#[test]
fn sixteen_threads_seeing_5030_cause_one_reauthentication() {
    let env = env();
    let client = lagging_client(&env);
    client.session().unwrap();
    let sales: Vec<CardSaleManual> = (0..16).map(|_| sale(1000)).collect();
    env.clock.advance(DAY_AND_AN_HOUR);
    let start = Barrier::new(16);
    std::thread::scope(|s| {
        for sale in &sales {
            let (client, start) = (&client, &start);
            s.spawn(move || {
                start.wait();
                assert!(client.card_sale_manual(sale).unwrap().approved);
            });
        }
    });
    assert_eq!(env.authentications(), 2);
}

#[test]
fn secured_header_is_accepted_and_a_tampered_or_stale_one_is_not() {
    let env = env();
    assert!(
        env.pci_client()
            .card_sale_manual(&sale(1000))
            .unwrap()
            .approved
    );

    let with = |secret: &str, clock: ManualClock| {
        Client::builder(Credentials::new(PCI_EASYPAY_ACCOUNT.0, PCI_EASYPAY_ACCOUNT.1).unwrap())
            .base_url(env.base())
            .clock(clock.shared())
            .lockout_guard(memory_guard())
            .secured_header(
                HmacSecret::new(secret).unwrap(),
                SignerId::new(PCI_EASYPAY_SIGNER.1).unwrap(),
            )
            .build()
            .unwrap()
    };
    // Lowercase secret: a different HMAC key, so a different header.
    let tampered = with(&PCI_EASYPAY_SIGNER.0.to_lowercase(), env.clock.clone());
    let err = tampered.card_sale_manual(&sale(1000)).unwrap_err();
    assert!(matches!(&err, Error::Vendor { code: 5040, .. }), "{err:?}");

    // A clock ten minutes behind: the epoch is outside the window.
    let late = ManualClock::new(
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 - 600),
    );
    let stale = with(PCI_EASYPAY_SIGNER.0, late);
    assert!(matches!(
        stale.card_sale_manual(&sale(1000)),
        Err(Error::Vendor { code: 5040, .. })
    ));

    // A PCI account without the secured header at all.
    let plain = env.builder_for(PCI_EASYPAY_ACCOUNT).build().unwrap();
    assert!(matches!(
        plain.card_sale_manual(&sale(1000)),
        Err(Error::Vendor { code: 5040, .. })
    ));
}

#[test]
fn over_tls() {
    let clock = ManualClock::fixed();
    let sandbox = payauth_sandbox::Sandbox::builder()
        .clock(clock.shared())
        .tls()
        .start()
        .unwrap();
    let client = Client::builder(
        Credentials::new(
            payauth_sandbox::DEFAULT_EASYPAY_ACCOUNT.0,
            payauth_sandbox::DEFAULT_EASYPAY_ACCOUNT.1,
        )
        .unwrap(),
    )
    .base_url(format!("{}/APIcardProcREST/v1.0.0/", sandbox.url()))
    .http(payauth_sandbox::Sandbox::http_settings())
    .clock(clock.shared())
    .lockout_guard(memory_guard())
    .build()
    .unwrap();
    assert!(client.card_sale_manual(&sale(1000)).unwrap().approved);
}
