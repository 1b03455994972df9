//! The HMAC-secured `SessKey` header EasyPay requires when cardholder data passes through REST.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The secured `SessKey` header value: `SessKey_epoch_id_HASH`, where `HASH` is the uppercase hex
/// HMAC-SHA256 of `SessKey_epoch_id` keyed with the secret's ASCII bytes (not hex-decoded).
///
/// For requests you build yourself; the [`Client`](crate::Client) adds it to every call when
/// configured with a secret.
///
/// ```
/// // The vendor's published vector.
/// let header = hmac_sessionkey::secured_header(
///     "9B9175EF556E4DDA93303132323141303035383339",
///     "7D55DBB3D691C9E0FDF341E4AB38C3C9",
///     1_702_565_789,
///     "123",
/// );
/// assert_eq!(
///     header,
///     "9B9175EF556E4DDA93303132323141303035383339_1702565789_123_\
///      1BD0C45A1DCBC7F9D0730FDD6222A45E10FCC7D9E84557499B812B138D0B7149"
/// );
/// ```
pub fn secured_header(session_key: &str, secret: &str, epoch: u64, id: &str) -> String {
    // Built by hand rather than with format!: the header is made on every call, and the
    // formatting machinery would cost about as much as the HMAC itself.
    let mut value = String::with_capacity(session_key.len() + id.len() + 88);
    value.push_str(session_key);
    value.push('_');
    push_decimal(&mut value, epoch);
    value.push('_');
    value.push_str(id);
    let mut mac = match <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length, the empty one included"),
    };
    mac.update(value.as_bytes());
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = [0u8; 65];
    hex[0] = b'_';
    for (i, byte) in mac.finalize().into_bytes().iter().enumerate() {
        hex[1 + 2 * i] = HEX[usize::from(byte >> 4)];
        hex[2 + 2 * i] = HEX[usize::from(byte & 0x0f)];
    }
    value.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    value
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "9B9175EF556E4DDA93303132323141303035383339";

    #[test]
    fn vendor_vectors() {
        assert_eq!(
            secured_header(
                KEY,
                "7D55DBB3D691C9E0FDF341E4AB38C3C9",
                1_702_565_789,
                "123"
            ),
            format!(
                "{KEY}_1702565789_123_1BD0C45A1DCBC7F9D0730FDD6222A45E10FCC7D9E84557499B812B138D0B7149"
            )
        );
        assert!(secured_header(KEY, "s", 0, "1").starts_with(&format!("{KEY}_0_1_")));
        assert!(secured_header(KEY, "s", u64::MAX, "1").contains("_18446744073709551615_1_"));
        let empty = secured_header(KEY, "", 1_702_565_789, "123");
        assert!(
            empty.ends_with("_F30FF9C473F7287BAA1A7C5A8DFAF337F5399AA6453E4EF4BBFA98B55DF59B7D")
        );
    }

    #[test]
    fn lowercase_or_hex_decoded_secrets_give_other_headers() {
        let right = secured_header(
            KEY,
            "7D55DBB3D691C9E0FDF341E4AB38C3C9",
            1_702_565_789,
            "123",
        );
        let lower = secured_header(
            KEY,
            "7d55dbb3d691c9e0fdf341e4ab38c3c9",
            1_702_565_789,
            "123",
        );
        assert_ne!(right, lower);
        // Keying with the hex-decoded bytes, the documented mistake, gives the hash starting 9D63F4ED.
        let decoded: Vec<u8> = (0..16)
            .map(|i| {
                u8::from_str_radix(&"7D55DBB3D691C9E0FDF341E4AB38C3C9"[i * 2..i * 2 + 2], 16)
                    .unwrap()
            })
            .collect();
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&decoded).unwrap();
        mac.update(format!("{KEY}_1702565789_123").as_bytes());
        let wrong: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert!(wrong.starts_with("9D63F4ED"), "{wrong}");
        assert!(!right.ends_with(&wrong));
    }
}
