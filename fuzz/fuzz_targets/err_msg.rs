//! EasyPay's `ErrMsg` (`ERROR:<code>:<severity>:<text>`): never a panic, and a structured
//! message written back in that form parses to the same parts.
#![no_main]

use hmac_sessionkey::VendorMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let message = VendorMessage::parse(text);
    let _ = message.to_string();
    if let (Some(code), Some(severity)) = (message.code, &message.severity) {
        let written = format!("ERROR:{code}:{severity}:{}", message.text);
        assert_eq!(
            VendorMessage::parse(&written),
            message,
            "{text:?} -> {written:?}"
        );
    } else {
        assert_eq!(message.text, text.trim());
    }
});
