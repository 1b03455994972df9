//! `cargo xtask demo`: each crate's flow end to end against the in-process sandbox, printing what
//! happened. No network, no credentials.

use std::time::Duration;
use std::time::SystemTime;

use card_encryption::{CardInfo, CardNumber, EncryptionKey, Error, KeyLoader};
use oauth_client_credentials::{
    BasicCredentials, Client, Clock as _, Credentials, HttpRequest, ManualClock, SigningKey,
};
use payauth_sandbox::{
    CardKey, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DASHBOARD_USER,
    DEFAULT_SIGNING_SECRET, Sandbox,
};

use crate::process::{Result, root};

/// The vendor's published test cards (public test numbers, not real cards).
const TEST_CARDS: [&str; 4] = [
    "4761 5300 0111 1118",
    "5137 2211 1111 6668",
    "6011 2087 0111 7775",
    "3710 300891 11338",
];

pub(crate) fn run() -> Result {
    println!("payauth demo: every crate's flow against the in-process sandbox\n");
    card_encryption().map_err(|e| format!("card-encryption demo failed: {e}"))?;
    oauth().map_err(|e| format!("oauth-client-credentials demo failed: {e}"))?;
    println!("\ndemo finished: every flow succeeded");
    Ok(())
}

fn card_encryption() -> DemoResult {
    println!("== card-encryption: card numbers encrypted for the sandbox's EasyPay gateway");
    let gateway = CardKey::bundled()?;
    let key = EncryptionKey::from_bytes(gateway.certificate_der())?;
    let cert = key
        .certificate()
        .ok_or("the sandbox certificate loaded without its facts")?;
    println!(
        "   certificate: CN={}, RSA-{}, thumbprint {}, {} days of validity left",
        cert.subject_common_name().unwrap_or("-"),
        key.bits(),
        cert.thumbprint(),
        cert.remaining_at(SystemTime::now()).as_secs() / 86_400,
    );
    println!(
        "   {:<17} {:<9} {:>10} {:>8}  round trip",
        "brand", "card", "ciphertext", "Base64"
    );
    for input in TEST_CARDS {
        let pan = CardNumber::parse(input)?;
        let encrypted = key.encrypt(&pan)?;
        let decrypted = gateway.decrypt_account_number(encrypted.as_str())?;
        if decrypted.as_str() != input.replace(' ', "") {
            return Err(format!("{pan} did not decrypt to itself").into());
        }
        println!(
            "   {:<17} {:<9} {:>7} B {:>8}  decrypted by the sandbox to {pan}",
            pan.brand().name(),
            pan.to_string(),
            encrypted.ciphertext_len(),
            encrypted.as_str().len(),
        );
    }

    let pan = CardNumber::parse(TEST_CARDS[0])?;
    let suffixed = key.encrypt_with_thumbprint(&pan)?;
    gateway.decrypt_account_number(suffixed.as_str())?;
    let card = CardInfo::new(suffixed, 10, 2028, "122")?;
    println!(
        "   mobile-SDK form: base64|thumbprint, {} chars, accepted by the sandbox; {card:?}",
        card.account_number().as_str().len()
    );

    // The vendor's real certificate expired on 2026-02-08: refused unless explicitly allowed.
    let real = root().join("crates/card-encryption/tests/data/easypay-mobile-2025.cer");
    match KeyLoader::new().load_file(&real) {
        Err(e @ Error::CertificateExpired { .. }) => {
            println!("   vendor's 2025 certificate: refused: {e}")
        }
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("the expired vendor certificate was accepted".into()),
    }
    Ok(())
}

type DemoResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn oauth() -> DemoResult {
    println!("\n== oauth-client-credentials: a Pledg-style token, fetched once and reused");
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).tls().start()?;
    let api = sandbox.url();
    println!("   sandbox at {api} (TLS with its test CA, manual clock)");
    let client = Client::builder(Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)?)
        .token_url(format!("{api}/api/token"))
        .trust_root(Sandbox::ca_certificate_der())
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
    call("inside the 60 s margin: refreshed ahead")?;
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
