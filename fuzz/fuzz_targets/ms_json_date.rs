//! Microsoft JSON dates: never a panic (dates at the ends of the calendar in any zone), and a
//! date that parses formats back (in UTC) to text that parses to the same instant, and shows as
//! RFC 3339 or `@` Unix seconds.
#![no_main]

use hmac_sessionkey::{format_ms_json_date, parse_ms_json_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_ms_json_date(text) {
        Ok(at) => {
            let formatted = format_ms_json_date(at);
            let again = parse_ms_json_date(&formatted)
                .unwrap_or_else(|e| panic!("{text:?} -> {formatted:?} does not parse: {e}"));
            assert_eq!(again, at, "{text:?} -> {formatted:?}");
            let shown = payauth_core::Rfc3339(at).to_string();
            assert!(
                shown.ends_with('Z') || shown.starts_with('@'),
                "{text:?} -> {shown:?}"
            );
            assert_eq!(format_ms_json_date(again), formatted);
        }
        Err(err) => {
            // Every refusal is the same fixed text, so none can quote the input (comparing
            // with the input itself fails when the input is a piece of that text).
            let reference = parse_ms_json_date("not a date").expect_err("not a date");
            assert_eq!(err.to_string(), reference.to_string(), "{text:?}");
        }
    }
    // The serde path the session's user record takes.
    let _ = serde_json::from_slice::<serde_json::Value>(data);
});
