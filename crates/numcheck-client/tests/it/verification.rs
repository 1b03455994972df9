//! The code check: constant-time, attempt-limited, expiring, and stored without the code.

use std::time::Duration;

use numcheck_client::{
    Clock as _, Error, MAX_TTL, Outcome, PendingVerification, VerificationKey, VerificationPolicy,
};

use crate::support::{env, key, pending};

#[test]
fn wrong_codes_until_the_limit() {
    let env = env();
    let call = env.call();
    let policy = VerificationPolicy::default().max_attempts(3);
    let mut pending = PendingVerification::new(&call, &key(), env.clock.now(), policy);
    let now = env.clock.now();
    for left in [2, 1, 0] {
        assert_eq!(
            pending.verify("1111", &key(), now).unwrap(),
            Outcome::Wrong {
                attempts_left: left
            }
        );
    }
    // Even the right code is refused now.
    assert_eq!(
        pending.verify(call.code(), &key(), now).unwrap(),
        Outcome::TooManyAttempts
    );
    assert_eq!(pending.attempts_left(), 0);
}

#[test]
fn five_attempts_by_default_and_malformed_input_costs_none() {
    let env = env();
    let call = env.call();
    let mut pending = pending(&env, &call);
    let now = env.clock.now();
    assert_eq!(pending.attempts_left(), 5);
    for input in ["", "123", "12345", "12a4", "١٢٣٤", "4 953"] {
        let err = pending.verify(input, &key(), now).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidInput {
                field: "code",
                rule: "must be exactly 4 digits"
            }
        );
    }
    assert_eq!(pending.attempts_left(), 5);
    assert_eq!(
        pending.verify("0000", &key(), now).unwrap(),
        Outcome::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        pending.verify("4953", &key(), now).unwrap(),
        Outcome::Verified
    );
}

#[test]
fn a_code_is_accepted_once() {
    let env = env();
    let call = env.call();
    let mut pending = pending(&env, &call);
    let now = env.clock.now();
    assert_eq!(
        pending.verify("4953", &key(), now).unwrap(),
        Outcome::Verified
    );
    assert!(pending.is_used());
    let again = pending.verify("4953", &key(), now).unwrap();
    assert_eq!(again, Outcome::AlreadyUsed);
    assert!(!again.is_verified());
}

#[test]
fn expiry_by_the_clock() {
    let env = env();
    let call = env.call();
    let mut pending = pending(&env, &call);
    assert_eq!(
        pending.expires_at(),
        env.clock.now() + Duration::from_secs(300)
    );
    env.clock.advance(Duration::from_secs(299));
    assert_eq!(
        pending.verify("0000", &key(), env.clock.now()).unwrap(),
        Outcome::Wrong { attempts_left: 4 }
    );
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(
        pending.verify("4953", &key(), env.clock.now()).unwrap(),
        Outcome::Expired
    );
    let short = VerificationPolicy::default().ttl(Duration::from_secs(60));
    let mut pending = PendingVerification::new(&call, &key(), env.clock.now(), short);
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(
        pending.verify("4953", &key(), env.clock.now()).unwrap(),
        Outcome::Expired
    );
}

#[test]
fn the_stored_state_does_not_reveal_the_code() {
    for caller in ["37166004953", "79990000042"] {
        let env = env();
        env.sandbox.numcheck().set_next_caller(caller);
        let call = env.call();
        let code = call.code().to_owned();
        let pending = pending(&env, &call);
        let stored = serde_json::to_string(&pending).unwrap();
        let value: serde_json::Value = serde_json::from_str(&stored).unwrap();
        let mut fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["attempts_left", "call_id", "expires_at", "mac", "used"],
            "{stored}"
        );
        let hex: String = code.bytes().map(|b| format!("{b:02x}")).collect();
        for readable in [code.as_str(), caller, hex.as_str(), "NDk1Mw", "MDA0Mg"] {
            assert!(!stored.contains(readable), "{readable} in {stored}");
        }
        assert!(!format!("{pending:?}").contains(&code));

        // Restored from the session store, it verifies with the application's key only.
        let mut restored: PendingVerification = serde_json::from_str(&stored).unwrap();
        assert_eq!(serde_json::to_string(&restored).unwrap(), stored);
        let other = VerificationKey::new([9u8; 32]).unwrap();
        let now = env.clock.now();
        assert_eq!(
            restored.verify(&code, &other, now).unwrap(),
            Outcome::Wrong { attempts_left: 4 }
        );
        assert_eq!(
            restored.verify(&code, &key(), now).unwrap(),
            Outcome::Verified
        );
    }
}

#[test]
fn a_damaged_stored_state_is_refused() {
    let env = env();
    let pending = pending(&env, &env.call());
    let mut value = serde_json::to_value(&pending).unwrap();
    value["mac"] = "not a mac".into();
    let err = serde_json::from_value::<PendingVerification>(value).unwrap_err();
    assert!(err.to_string().contains("mac"), "{err}");
}

#[test]
fn a_huge_ttl_or_stored_expiry_never_panics() {
    let env = env();
    let call = env.call();
    let now = env.clock.now();
    let forever = VerificationPolicy::default().ttl(Duration::MAX);
    let mut pending = PendingVerification::new(&call, &key(), now, forever);
    assert_eq!(pending.expires_at(), now + MAX_TTL);
    // Stored and read back: the same expiry.
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: PendingVerification = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored.expires_at(), pending.expires_at());
    env.clock.advance(MAX_TTL);
    assert_eq!(
        pending.verify("4953", &key(), env.clock.now()).unwrap(),
        Outcome::Expired
    );

    // A clock at the end of the representable time: the expiry stops at year 9999.
    let mut late = now;
    for shift in (0..64).rev() {
        while let Some(later) = late.checked_add(Duration::from_secs(1 << shift)) {
            late = later;
        }
    }
    let pending = PendingVerification::new(&call, &key(), late, forever);
    let year_9999 = std::time::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    assert_eq!(pending.expires_at(), year_9999);

    // A stored expiry past year 9999 (up to u64::MAX) is refused, naming the field.
    let mut value = serde_json::to_value(&restored).unwrap();
    for expires_at in [253_402_300_800, i64::MAX as u64 + 1, u64::MAX] {
        value["expires_at"] = expires_at.into();
        let err = serde_json::from_value::<PendingVerification>(value.clone()).unwrap_err();
        assert!(err.to_string().contains("expires_at"), "{err}");
    }
}

/// Found by the `stored_verification` fuzz target: serde's type errors quoted the stored value.
#[test]
fn a_mistyped_stored_field_is_named_not_quoted() {
    let env = env();
    let pending = pending(&env, &env.call());
    let value = serde_json::to_value(&pending).unwrap();
    let mac = value["mac"].as_str().unwrap().to_owned();
    for field in ["call_id", "mac", "attempts_left", "expires_at", "used"] {
        let mut damaged = value.clone();
        damaged[field] = if field == "mac" || field == "call_id" {
            serde_json::json!([mac.clone()])
        } else {
            mac.clone().into()
        };
        let err = serde_json::from_value::<PendingVerification>(damaged).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(field), "{text}");
        assert!(!text.contains(&mac), "{field}: {text}");
    }
}

#[test]
fn a_short_key_is_refused() {
    let err = VerificationKey::new([1u8; 31]).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput {
            field: "verification key",
            ..
        }
    ));
}

/// Which key a pending verification answers to: `Verified` under the key it was made with,
/// `Wrong` under any other.
fn verifies_under(made_with: &VerificationKey, checked_with: &VerificationKey) -> bool {
    let env = env();
    let call = env.call();
    let now = env.clock.now();
    let mut pending =
        PendingVerification::new(&call, made_with, now, VerificationPolicy::default());
    pending.verify(call.code(), checked_with, now).unwrap() == Outcome::Verified
}

#[test]
fn generated_keys_are_random_and_usable() {
    let (a, b) = (
        VerificationKey::generate().unwrap(),
        VerificationKey::generate().unwrap(),
    );
    assert!(verifies_under(&a, &a));
    assert!(!verifies_under(&a, &b));
    assert_eq!(format!("{a:?}"), "VerificationKey([redacted])");
}

#[test]
fn a_key_kept_as_base64_or_hex_text_is_the_same_key() {
    let text = VerificationKey::generate_base64().unwrap();
    assert_eq!(text.len(), 44);
    let first = VerificationKey::from_base64(&text).unwrap();
    let again =
        VerificationKey::from_base64(&format!("  {}\n", text.trim_end_matches('='))).unwrap();
    assert!(verifies_under(&first, &again));

    let bytes: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let from_bytes = VerificationKey::new(&bytes).unwrap();
    assert!(verifies_under(
        &from_bytes,
        &VerificationKey::from_hex(&hex).unwrap()
    ));
    assert!(verifies_under(
        &from_bytes,
        &VerificationKey::from_hex(&hex.to_lowercase()).unwrap()
    ));
    assert!(!verifies_under(&from_bytes, &first));
}

#[test]
fn bad_key_text_is_refused_without_quoting_it() {
    let secretish = "c2VjcmV0LWtleS1tYXRlcmlhbA!!";
    for err in [
        VerificationKey::from_base64(secretish).unwrap_err(),
        VerificationKey::from_base64("c2hvcnQ=").unwrap_err(),
        VerificationKey::from_hex("abc").unwrap_err(),
        VerificationKey::from_hex(&"zz".repeat(32)).unwrap_err(),
        VerificationKey::from_hex(&"ab".repeat(31)).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "verification key",
                    ..
                }
            ),
            "{err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("c2Vj") && !shown.contains("abab"),
            "{shown}"
        );
    }
}
