use std::fmt;

use serde::{Serialize, Serializer};
use zeroize::Zeroize;

use crate::encrypted::EncryptedPan;
use crate::error::{Error, Result};

/// The `ccCardInfo` object of EasyPay's card requests, validated on construction and serialised
/// with the vendor's field names: `AccountNumber`, `ExpMonth`, `ExpYear` and `CSV` (sic).
///
/// The account number can only be an [`EncryptedPan`], so a plain card number cannot end up in
/// the body by mistake. Serialising writes the CVV in the clear, as the gateway requires: send
/// the serialised body, do not log it. `Debug` hides the CVV.
#[derive(Serialize)]
pub struct CardInfo {
    #[serde(rename = "AccountNumber")]
    account_number: EncryptedPan,
    #[serde(rename = "ExpMonth")]
    exp_month: u8,
    #[serde(rename = "ExpYear")]
    exp_year: u16,
    #[serde(rename = "CSV")]
    cvv: Cvv,
}

impl CardInfo {
    /// Builds the object: `exp_month` 1–12, `exp_year` four digits (`2028`), `cvv` 3 or 4 digits.
    ///
    /// # Errors
    /// [`Error::InvalidCardField`] naming the field and the rule; never the value.
    pub fn new(
        account_number: EncryptedPan,
        exp_month: u8,
        exp_year: u16,
        cvv: &str,
    ) -> Result<Self> {
        if !(1..=12).contains(&exp_month) {
            return Err(Error::InvalidCardField {
                field: "ExpMonth",
                rule: "must be 1 to 12",
            });
        }
        if !(1000..=9999).contains(&exp_year) {
            return Err(Error::InvalidCardField {
                field: "ExpYear",
                rule: "must have four digits (2028, not 28)",
            });
        }
        Ok(CardInfo {
            account_number,
            exp_month,
            exp_year,
            cvv: Cvv::parse(cvv)?,
        })
    }

    /// The encrypted account number.
    pub fn account_number(&self) -> &EncryptedPan {
        &self.account_number
    }

    /// Expiry month, 1–12.
    pub fn exp_month(&self) -> u8 {
        self.exp_month
    }

    /// Expiry year, four digits.
    pub fn exp_year(&self) -> u16 {
        self.exp_year
    }
}

impl fmt::Debug for CardInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardInfo")
            .field("account_number", &self.account_number)
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvv", &self.cvv)
            .finish()
    }
}

/// A card verification value of 3 or 4 digits, wiped on drop and never shown by `Debug`.
struct Cvv {
    digits: [u8; 4],
    len: u8,
}

impl Cvv {
    fn parse(input: &str) -> Result<Self> {
        let bytes = input.as_bytes();
        if !(3..=4).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Error::InvalidCardField {
                field: "CSV",
                rule: "must be 3 or 4 digits",
            });
        }
        let mut digits = [0; 4];
        digits[..bytes.len()].copy_from_slice(bytes);
        Ok(Cvv {
            digits,
            len: bytes.len() as u8,
        })
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Serialize for Cvv {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Drop for Cvv {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl fmt::Debug for Cvv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}
