//! `Retry-After` (delay-seconds or an HTTP-date) at any clock: never a panic; delay-seconds read
//! exactly; a date gives the time from now to it; anything else is `None`.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use payauth_core::parse_retry_after;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((now, rest)) = common::time_and_rest(data) else {
        return;
    };
    let Ok(value) = std::str::from_utf8(rest) else {
        return;
    };
    let parsed = parse_retry_after(value, now);
    if let Ok(secs) = value.trim().parse::<u64>() {
        assert_eq!(parsed, Some(Duration::from_secs(secs)));
    } else if let Ok(at) = httpdate::parse_http_date(value.trim()) {
        // An independent reading of the HTTP-date: the delay is the time from now to it.
        assert_eq!(parsed, Some(at.duration_since(now).unwrap_or_default()));
    } else {
        assert_eq!(parsed, None);
    }
});
