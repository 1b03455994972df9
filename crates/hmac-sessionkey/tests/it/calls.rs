//! Card sales end to end with card-encryption, declines, voids, and the envelope's error paths.

use hmac_sessionkey::{Amounts, CardSaleManual, CardSaleResult, Error};
use payauth_sandbox::Fault;
use serde_json::{Value, json};

use crate::support::{encrypted_card, env};

#[test]
fn approved_and_declined_card_sales_with_encrypted_cards() {
    let env = env();
    let client = env.pci_client();
    let approved = client
        .card_sale_manual(&CardSaleManual::new(
            encrypted_card("5137221111116668", false),
            Amounts::total(2500),
            1,
        ))
        .unwrap();
    assert!(approved.approved);
    assert!(
        approved.message.starts_with("APPROVED"),
        "{}",
        approved.message
    );
    // A result stored as JSON (the vendor's member names) reads back the same.
    let stored = serde_json::to_string(&approved).unwrap();
    assert!(stored.contains("\"TxID\""), "{stored}");
    let read_back: CardSaleResult = serde_json::from_str(&stored).unwrap();
    assert_eq!(read_back, approved);
    // The mobile-SDK form with the certificate thumbprint is accepted too.
    let thumbprinted = client
        .card_sale_manual(&CardSaleManual::new(
            encrypted_card("371030089111338", true),
            Amounts::total(1000),
            1,
        ))
        .unwrap();
    assert!(thumbprinted.approved);
    // The sandbox declines amounts ending in .01: a decline is a successful call.
    let declined = client
        .card_sale_manual(&CardSaleManual::new(
            encrypted_card("6011208701117775", false),
            Amounts::total(1001),
            1,
        ))
        .unwrap();
    assert!(!declined.approved);
    assert_eq!(declined.message, "DECLINED");

    let voided = client.void(approved.transaction_id).unwrap();
    assert!(voided.approved);
    match client.void(approved.transaction_id).unwrap_err() {
        Error::Vendor {
            code: 6724,
            message,
        } => {
            assert_eq!(message.code, Some(6724));
            assert_eq!(message.severity.as_deref(), Some("HIGH"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_card_the_gateway_cannot_decrypt_is_a_vendor_error() {
    let env = env();
    let client = env.client();
    let garbage = "QUJD".repeat(100);
    let card = hmac_sessionkey::ManualCard::new(garbage, 10, 2028, "122").unwrap();
    let err = client
        .card_sale_manual(&CardSaleManual::new(card, Amounts::total(1000), 1))
        .unwrap_err();
    assert!(matches!(err, Error::Vendor { code: 7001, .. }), "{err:?}");
}

#[test]
fn bad_request_text_is_a_typed_error() {
    let env = env();
    let client = env.client();
    let err = client
        .call::<_, Value>("CardSale/Manual", &json!("not an object"))
        .unwrap_err();
    assert_eq!(err, Error::BadRequest);
}

#[test]
fn unexpected_status_and_undecodable_bodies() {
    let env = env();
    let client = env.client();
    client.session().unwrap();
    env.sandbox.inject(
        "/APIcardProcREST/v1.0.0/CardSale/Void",
        Fault::HtmlError(502),
    );
    let err = client.void(1).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedStatus { status: 502, excerpt } if excerpt.contains("502")),
        "{err:?}"
    );
    env.sandbox.inject(
        "/APIcardProcREST/v1.0.0/CardSale/Void",
        Fault::MalformedJson,
    );
    assert!(matches!(client.void(1), Err(Error::InvalidResponse { .. })));
}

#[test]
fn operations_are_checked_before_sending() {
    let env = env();
    let client = env.client();
    for bad in [
        "",
        "/CardSale/Manual",
        "CardSale/Manual?x=1",
        "../Authenticate",
    ] {
        assert!(
            matches!(
                client.call::<_, Value>(bad, &json!({})),
                Err(Error::InvalidInput { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(env.authentications(), 0);
}

/// With the `card-encryption` feature, the card-encryption crate's `CardInfo` goes straight into a
/// sale: the sandbox decrypts the account number and approves, and `Debug` still hides the CVV.
#[cfg(feature = "card-encryption")]
#[test]
fn a_card_info_from_card_encryption_goes_straight_into_a_sale() {
    use card_encryption::{CardInfo, CardNumber, KeyLoader};
    use payauth_sandbox::CardKey;

    let env = env();
    let gateway = CardKey::bundled().unwrap();
    let key = KeyLoader::new()
        .load_bytes(gateway.certificate_der())
        .unwrap();
    let pan = CardNumber::parse("4761530001111118").unwrap();
    let card = CardInfo::new(key.encrypt_with_thumbprint(&pan).unwrap(), 10, 2028, "9876").unwrap();
    let sale = CardSaleManual::new(card, Amounts::total(4200), 1);
    let debug = format!("{sale:?}");
    assert!(!debug.contains("9876"), "{debug}");
    let result = env.pci_client().card_sale_manual(&sale).unwrap();
    assert!(result.approved, "{}", result.message);
}
