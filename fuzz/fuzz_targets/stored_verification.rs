//! A stored NumCheck `PendingVerification` (a session store's bytes): what reads back writes
//! back identically and never panics (its expiry included); errors never quote the keyed hash.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use numcheck_client::PendingVerification;

fuzz_target!(|data: &[u8]| {
    let macs = common::secrets(data, "mac");
    match serde_json::from_slice::<PendingVerification>(data) {
        Ok(pending) => {
            let _ = pending.expires_at();
            let written = serde_json::to_string(&pending).expect("serialises");
            let again: PendingVerification =
                serde_json::from_str(&written).expect("a written verification reads back");
            assert_eq!(serde_json::to_string(&again).expect("serialises"), written);
            assert_eq!(again.expires_at(), pending.expires_at());
            common::assert_hidden(&macs, &format!("{pending:?}"), "PendingVerification Debug");
        }
        Err(err) => common::assert_hidden(&macs, &format!("{err} {err:?}"), "stored error"),
    }
});
