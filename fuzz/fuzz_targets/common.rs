//! Shared by the fuzz targets (each includes it with `#[path]`): reading the fuzz input as a
//! status, a time and a body, and the "no secret in any error" check.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The statuses a server answers with, chosen by the first byte.
const STATUSES: [u16; 16] = [
    200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 299, 100, 599,
];

/// Splits the input into a status (first byte) and the body.
pub fn status_and_body(data: &[u8]) -> Option<(u16, &[u8])> {
    let (&first, body) = data.split_first()?;
    Some((STATUSES[usize::from(first & 15)], body))
}

/// Splits eight bytes off as a time: seconds after 1970, any up to `u64::MAX`, so that times
/// near the end of what `SystemTime` holds are tried.
pub fn time_and_rest(data: &[u8]) -> Option<(SystemTime, &[u8])> {
    if data.len() < 8 {
        return None;
    }
    let (head, rest) = data.split_at(8);
    let secs = u64::from_le_bytes(head.try_into().ok()?);
    // Half the inputs near today, half anywhere.
    let secs = if secs & 1 == 0 {
        1_764_000_000 + (secs >> 1) % 1_000_000_000
    } else {
        secs >> 1
    };
    Some((
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .unwrap_or(UNIX_EPOCH),
        rest,
    ))
}

/// Every string value in a JSON document, at any depth, with its member name.
pub fn strings(value: &serde_json::Value, out: &mut Vec<(String, String)>, name: &str) {
    match value {
        serde_json::Value::String(s) => out.push((name.to_owned(), s.clone())),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out, name)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| strings(v, out, k)),
        _ => {}
    }
}

/// The values of every member named `secret_name` in `body` (when it is JSON) that are long
/// enough to be recognised, and that no other string member contains: a server that echoes a
/// secret in its own message is not the client's leak.
pub fn secrets(body: &[u8], secret_name: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut all = Vec::new();
    strings(&value, &mut all, "");
    all.iter()
        // Shaped like a secret (at least two digits and two letters), so that a value which
        // happens to be a piece of a fixed message ("EasyPay", "expires_in") is not one.
        .filter(|(name, s)| name == secret_name && looks_secret(s.trim()))
        .filter(|(_, s)| {
            !all.iter()
                .any(|(name, other)| name != secret_name && other.contains(s.trim()))
        })
        .map(|(_, s)| s.trim().to_owned())
        .collect()
}

/// Six or more characters with at least two ASCII digits and two ASCII letters.
pub fn looks_secret(value: &str) -> bool {
    value.len() >= 6
        && value.bytes().filter(u8::is_ascii_digit).count() >= 2
        && value.bytes().filter(u8::is_ascii_alphabetic).count() >= 2
}

/// Panics (a finding) when `text` shows any of `secrets`.
pub fn assert_hidden(secrets: &[String], text: &str, what: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} shows a secret: {secret:?} in {text:?}"
        );
    }
}
