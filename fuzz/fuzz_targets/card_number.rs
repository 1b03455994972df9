//! Card number parsing: errors carry rules, counts and positions, never digits; a parsed number
//! shows its last four digits only.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 512 {
        return;
    }
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    for parsed in [
        card_encryption::CardNumber::parse(input),
        card_encryption::CardNumber::parse_without_luhn(input),
    ] {
        match parsed {
            Ok(card) => {
                let shown = format!("{card} {card:?}");
                assert!(!shown.contains(&digits), "{shown}");
                assert!(!shown.contains(&digits[..digits.len() - 4]), "{shown}");
            }
            Err(err) => {
                // Positions and counts are at most three digits for inputs this short.
                let text = format!("{err} {err:?}");
                for start in 0..digits.len().saturating_sub(5) {
                    let run = &digits[start..start + 6];
                    assert!(!text.contains(run), "error shows digits {run}: {text}");
                }
            }
        }
    }
});
