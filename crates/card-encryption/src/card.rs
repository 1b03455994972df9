use std::fmt;
use std::str::FromStr;

use zeroize::Zeroize;

use crate::error::{Error, PanRule};

const MIN_DIGITS: usize = 12;
const MAX_DIGITS: usize = 19;

/// A validated primary account number (PAN): 12 to 19 digits, Luhn-checked unless you opt out.
///
/// The digits live in a fixed buffer that is wiped on drop. `Debug` and `Display` show
/// `****` and the last four digits; nothing in this crate gives the full number back, since the
/// only thing to do with it is [`EncryptionKey::encrypt`](crate::EncryptionKey::encrypt).
/// Deliberately not `Clone`: one value, one wipe.
pub struct CardNumber {
    digits: [u8; MAX_DIGITS],
    len: u8,
}

impl CardNumber {
    /// Parses digits, optionally grouped by single spaces or dashes (`4761 5300 0111 1118`,
    /// `4761-5300-0111-1118`), and checks the Luhn digit.
    ///
    /// # Errors
    /// [`Error::InvalidCardNumber`] naming the broken [`PanRule`]; never the number.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let pan = Self::parse_without_luhn(input)?;
        if luhn_valid(pan.digits()) {
            Ok(pan)
        } else {
            Err(PanRule::LuhnCheckFailed.into())
        }
    }

    /// Like [`CardNumber::parse`] without the Luhn check, for the rare private-label card numbers
    /// that do not carry one. The format and length rules still apply.
    ///
    /// # Errors
    /// [`Error::InvalidCardNumber`] naming the broken [`PanRule`].
    pub fn parse_without_luhn(input: &str) -> Result<Self, Error> {
        if input.is_empty() {
            return Err(PanRule::Empty.into());
        }
        let mut pan = CardNumber {
            digits: [0; MAX_DIGITS],
            len: 0,
        };
        let mut count = 0usize;
        let mut after_digit = false;
        for (index, c) in input.chars().enumerate() {
            match c {
                '0'..='9' => {
                    if count < MAX_DIGITS {
                        pan.digits[count] = c as u8;
                    }
                    count += 1;
                    after_digit = true;
                }
                ' ' | '-' if after_digit => after_digit = false,
                ' ' | '-' => return Err(PanRule::MisplacedSeparator.into()),
                _ => {
                    return Err(PanRule::InvalidCharacter {
                        position: index + 1,
                    }
                    .into());
                }
            }
        }
        if !after_digit {
            return Err(PanRule::MisplacedSeparator.into());
        }
        if count < MIN_DIGITS {
            return Err(PanRule::TooShort { digits: count }.into());
        }
        if count > MAX_DIGITS {
            return Err(PanRule::TooLong { digits: count }.into());
        }
        pan.len = count as u8;
        Ok(pan)
    }

    /// The ASCII digits, no separators: the exact plaintext the gateway expects.
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    /// Number of digits (12 to 19).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always `false`: a parsed card number has at least 12 digits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last four digits, which PCI DSS allows to be shown.
    pub fn last4(&self) -> &str {
        let digits = self.digits();
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&digits[digits.len() - 4..]).unwrap_or_default()
    }

    /// The card brand, from the issuer prefix.
    pub fn brand(&self) -> Brand {
        Brand::from_digits(self.digits())
    }
}

impl Drop for CardNumber {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl FromStr for CardNumber {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        CardNumber::parse(s)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CardNumber")
            .field(&format_args!("\"****{}\"", self.last4()))
            .finish()
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "****{}", self.last4())
    }
}

/// The card network, recognised from the number's prefix (IIN ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Brand {
    /// Prefix 4.
    Visa,
    /// Prefixes 51–55 and 2221–2720.
    Mastercard,
    /// Prefixes 34 and 37.
    Amex,
    /// Prefixes 6011, 622126–622925, 644–649 and 65.
    Discover,
    /// Any other prefix.
    Other,
}

impl Brand {
    fn from_digits(d: &[u8]) -> Brand {
        let prefix = |n: usize| -> u32 {
            d.iter()
                .take(n)
                .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
        };
        match (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6)) {
            (4, ..) => Brand::Visa,
            (_, 34 | 37, ..) => Brand::Amex,
            (_, 51..=55, ..) | (_, _, _, 2221..=2720, _) => Brand::Mastercard,
            (_, 65, ..) | (_, _, 644..=649, ..) | (_, _, _, 6011, _) => Brand::Discover,
            (.., 622_126..=622_925) => Brand::Discover,
            _ => Brand::Other,
        }
    }

    /// The brand's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Discover => "Discover",
            Brand::Other => "other",
        }
    }
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(input: &str) -> PanRule {
        match CardNumber::parse(input) {
            Err(Error::InvalidCardNumber(rule)) => rule,
            other => panic!("expected a PAN rule error, got {other:?}"),
        }
    }

    #[test]
    fn vendor_test_cards_parse_with_their_brands() {
        for (pan, brand) in [
            ("4761530001111118", Brand::Visa),
            ("5137221111116668", Brand::Mastercard),
            ("6011208701117775", Brand::Discover),
            ("371030089111338", Brand::Amex),
        ] {
            let parsed = CardNumber::parse(pan).unwrap();
            assert_eq!(parsed.digits(), pan.as_bytes());
            assert_eq!(parsed.brand(), brand, "{pan}");
            assert_eq!(parsed.last4(), &pan[pan.len() - 4..]);
        }
    }

    #[test]
    fn groups_separated_by_spaces_or_dashes() {
        for input in [
            "4761 5300 0111 1118",
            "4761-5300-0111-1118",
            "4761 5300-0111 1118",
            "3710 300891 11338",
        ] {
            let pan = CardNumber::parse(input).unwrap();
            assert!(!pan.digits().contains(&b' ') && !pan.digits().contains(&b'-'));
        }
    }

    #[test]
    fn rules_are_named() {
        assert_eq!(rule(""), PanRule::Empty);
        assert_eq!(
            rule("4761x30001111118"),
            PanRule::InvalidCharacter { position: 5 }
        );
        assert_eq!(
            rule("4761530001111118\n"),
            PanRule::InvalidCharacter { position: 17 }
        );
        assert_eq!(
            rule("４761530001111118"),
            PanRule::InvalidCharacter { position: 1 }
        );
        assert_eq!(rule(" 4761530001111118"), PanRule::MisplacedSeparator);
        assert_eq!(rule("4761530001111118 "), PanRule::MisplacedSeparator);
        assert_eq!(rule("4761  5300 0111 1118"), PanRule::MisplacedSeparator);
        assert_eq!(rule("4761 -5300 0111 1118"), PanRule::MisplacedSeparator);
        assert_eq!(rule("-"), PanRule::MisplacedSeparator);
        assert_eq!(rule("47615300011"), PanRule::TooShort { digits: 11 });
        assert_eq!(
            rule("47615300011111181234"),
            PanRule::TooLong { digits: 20 }
        );
        assert_eq!(rule("4761530001111119"), PanRule::LuhnCheckFailed);
    }

    #[test]
    fn luhn_opt_out_keeps_the_other_rules() {
        let pan = CardNumber::parse_without_luhn("4761530001111119").unwrap();
        assert_eq!(pan.last4(), "1119");
        assert!(matches!(
            CardNumber::parse_without_luhn("47615300011"),
            Err(Error::InvalidCardNumber(PanRule::TooShort { digits: 11 }))
        ));
    }

    #[test]
    fn length_bounds_are_inclusive() {
        assert_eq!(
            CardNumber::parse_without_luhn("123456789012")
                .unwrap()
                .len(),
            12
        );
        assert_eq!(
            CardNumber::parse_without_luhn("1234567890123456789")
                .unwrap()
                .len(),
            19
        );
    }

    #[test]
    fn brands_by_prefix() {
        let brand = |s: &str| CardNumber::parse_without_luhn(s).unwrap().brand();
        assert_eq!(brand("2221000000000000"), Brand::Mastercard);
        assert_eq!(brand("2720990000000000"), Brand::Mastercard);
        assert_eq!(brand("2721000000000000"), Brand::Other);
        assert_eq!(brand("6221260000000000"), Brand::Discover);
        assert_eq!(brand("6440000000000000"), Brand::Discover);
        assert_eq!(brand("6500000000000000"), Brand::Discover);
        assert_eq!(brand("3400000000000000"), Brand::Amex);
        assert_eq!(brand("3530000000000000"), Brand::Other);
    }

    #[test]
    fn debug_and_display_show_only_the_last_four() {
        let pan = CardNumber::parse("4761 5300 0111 1118").unwrap();
        assert_eq!(format!("{pan:?}"), r#"CardNumber("****1118")"#);
        assert_eq!(pan.to_string(), "****1118");
        assert!(!format!("{pan:?}{pan}{pan:#?}").contains("47615300"));
    }
}
