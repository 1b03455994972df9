//! The EasyPay lockout guard's stored state: what reads back is what was written (and writes
//! back byte for byte), anything else is refused, and no refusal quotes the stored bytes.
#![no_main]

use hmac_sessionkey::GuardState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match GuardState::from_json(data) {
        Ok(state) => {
            let written = state.to_json();
            let again = GuardState::from_json(&written)
                .unwrap_or_else(|e| panic!("a written state does not read back: {e}"));
            assert_eq!(again, state);
            assert_eq!(again.to_json(), written);
            assert_eq!(
                serde_json::from_slice::<GuardState>(&written).ok(),
                Some(state.clone())
            );
            // `Debug` shows counts only, never the salt or a fingerprint.
            let shown = format!("{state:?}");
            assert!(!shown.bytes().any(|b| b == b'"'), "{shown}");
        }
        Err(err) => {
            // No run of eight or more hex digits with letters and digits (salts, fingerprints;
            // not "4294967295", which the messages contain) from the input.
            let text = format!("{err} {err:?}");
            let input = String::from_utf8_lossy(data);
            for run in input.split(|c: char| !c.is_ascii_hexdigit()).filter(|run| {
                run.len() >= 8
                    && run.bytes().any(|b| b.is_ascii_digit())
                    && run.bytes().any(|b| b.is_ascii_alphabetic())
            }) {
                assert!(!text.contains(run), "error quotes {run:?}: {text}");
            }
            assert!(serde_json::from_slice::<GuardState>(data).is_err());
        }
    }
});
