//! Typed requests and results for `CardSale/Manual` and `CardSale/Void`, with EasyPay's field
//! names as they are (`CSV`, `BillIngAdress`, `EndCustomer` as `{}` rather than `null`).

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Serialises `value` to JSON in a buffer of exactly the size needed, wiped when dropped: a
/// buffer that grew would leave copies of the CVV or token it held in freed memory.
pub(crate) fn to_json_wiped<T: Serialize + ?Sized>(
    value: &T,
) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut json = Zeroizing::new(Vec::with_capacity(count.0));
    serde_json::to_writer(&mut *json, value)?;
    Ok(json)
}

/// The card of a manual sale. The account number must already be encrypted (for example by the
/// `card-encryption` crate): this crate never sees a plain card number. `Debug` hides the CVV.
///
/// With the `card-encryption` feature, a `card_encryption::CardInfo` converts into it
/// (`CardSaleManual::new(card_info, ..)`), keeping that crate's validation and its wiping of the
/// CVV.
pub struct ManualCard {
    data: CardData,
}

enum CardData {
    Parts {
        account_number: String,
        exp_month: u8,
        exp_year: u16,
        csv: SecretString,
    },
    #[cfg(feature = "card-encryption")]
    Encrypted(card_encryption::CardInfo),
}

#[cfg(feature = "card-encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "card-encryption")))]
impl From<card_encryption::CardInfo> for ManualCard {
    fn from(card: card_encryption::CardInfo) -> Self {
        ManualCard {
            data: CardData::Encrypted(card),
        }
    }
}

impl ManualCard {
    /// `encrypted_account_number` is the Base64 ciphertext (optionally `|thumbprint`),
    /// `exp_month` 1–12, `exp_year` four digits, `cvv` 3 or 4 digits.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field and rule.
    pub fn new(
        encrypted_account_number: impl Into<String>,
        exp_month: u8,
        exp_year: u16,
        cvv: &str,
    ) -> Result<Self> {
        let account_number = encrypted_account_number.into();
        // A plain PAN is 12–19 digits; ciphertext is hundreds of Base64 characters.
        if account_number.len() < 64 || account_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidInput {
                field: "AccountNumber",
                rule: "must be the encrypted card number (Base64 RSA-OAEP ciphertext), never the plain number",
            });
        }
        if !(1..=12).contains(&exp_month) {
            return Err(Error::InvalidInput {
                field: "ExpMonth",
                rule: "must be 1 to 12",
            });
        }
        if !(1000..=9999).contains(&exp_year) {
            return Err(Error::InvalidInput {
                field: "ExpYear",
                rule: "must have four digits",
            });
        }
        if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidInput {
                field: "CSV",
                rule: "must be 3 or 4 digits",
            });
        }
        Ok(ManualCard {
            data: CardData::Parts {
                account_number,
                exp_month,
                exp_year,
                csv: SecretString::from(cvv.to_owned()),
            },
        })
    }
}

impl Serialize for ManualCard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.data {
            CardData::Parts {
                account_number,
                exp_month,
                exp_year,
                csv,
            } => {
                let mut card = s.serialize_struct("ccCardInfo", 4)?;
                card.serialize_field("AccountNumber", account_number)?;
                card.serialize_field("ExpMonth", exp_month)?;
                card.serialize_field("ExpYear", exp_year)?;
                card.serialize_field("CSV", csv.expose_secret())?;
                card.end()
            }
            // The same four members under the same names: card-encryption writes EasyPay's.
            #[cfg(feature = "card-encryption")]
            CardData::Encrypted(card) => card.serialize(s),
        }
    }
}

impl fmt::Debug for ManualCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.data {
            CardData::Parts {
                account_number,
                exp_month,
                exp_year,
                ..
            } => f
                .debug_struct("ManualCard")
                .field("account_number_len", &account_number.len())
                .field("exp_month", exp_month)
                .field("exp_year", exp_year)
                .field("csv", &"[redacted]")
                .finish(),
            #[cfg(feature = "card-encryption")]
            CardData::Encrypted(card) => f.debug_tuple("ManualCard").field(card).finish(),
        }
    }
}

/// A billing address (sent as `BillIngAdress`, EasyPay's spelling).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct Address {
    #[serde(rename = "Address1")]
    pub address1: String,
    #[serde(rename = "Address2")]
    pub address2: String,
    #[serde(rename = "City")]
    pub city: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "ZIP")]
    pub zip: String,
    #[serde(rename = "Country")]
    pub country: String,
}

/// The card holder or end customer. Empty strings are sent for unknown fields, as EasyPay's own
/// examples do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct AccountHolder {
    #[serde(rename = "Firstname")]
    pub first_name: String,
    #[serde(rename = "Lastname")]
    pub last_name: String,
    #[serde(rename = "Company")]
    pub company: String,
    #[serde(rename = "Title")]
    pub title: String,
    #[serde(rename = "Url")]
    pub url: String,
    #[serde(rename = "BillIngAdress")]
    pub address: Address,
    #[serde(rename = "Email")]
    pub email: String,
    #[serde(rename = "Phone")]
    pub phone: String,
}

/// Amounts in cents, sent as decimal dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct Amounts {
    pub total_cents: u64,
    pub sales_tax_cents: u64,
    pub surcharge_cents: u64,
    pub tip_cents: u64,
    pub cash_back_cents: u64,
}

impl Amounts {
    /// A total, everything else zero.
    pub fn total(cents: u64) -> Self {
        Amounts {
            total_cents: cents,
            ..Self::default()
        }
    }
}

impl Serialize for Amounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Cents / 100 as f64 prints exactly (shortest round-trip form): 10.01, not 10.0099999.
        let dollars = |cents: u64| cents as f64 / 100.0;
        let mut amounts = s.serialize_struct("Amounts", 10)?;
        amounts.serialize_field("TotalAmt", &dollars(self.total_cents))?;
        amounts.serialize_field("SalesTax", &dollars(self.sales_tax_cents))?;
        amounts.serialize_field("Surcharge", &dollars(self.surcharge_cents))?;
        amounts.serialize_field("Tip", &dollars(self.tip_cents))?;
        amounts.serialize_field("CashBack", &dollars(self.cash_back_cents))?;
        for medical in [
            "ClinicAmount",
            "VisionAmount",
            "PrescriptionAmount",
            "DentalAmount",
            "TotalMedicalAmount",
        ] {
            amounts.serialize_field(medical, &0)?;
        }
        amounts.end()
    }
}

/// What was bought (`PurchItems`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct PurchaseItems {
    #[serde(rename = "ServiceDescrip")]
    pub service_description: String,
    #[serde(rename = "ClientRefID")]
    pub client_ref_id: String,
    #[serde(rename = "RPGUID")]
    pub rpguid: String,
}

/// A `CardSale/Manual` request.
///
/// Field names follow the vendor's example request (`Amounts`, `PurchItems`); its OpenAPI schema
/// names them `AmountsFull` and `Items`, which its own `CardSale/WithOptions` schema does not.
#[derive(Debug)]
pub struct CardSaleManual {
    card: ManualCard,
    holder: AccountHolder,
    end_customer: Option<AccountHolder>,
    amounts: Amounts,
    items: PurchaseItems,
    merchant_id: i64,
}

impl CardSaleManual {
    /// A sale of `amounts` on `card` for merchant `merchant_id` (a `Merchant::id`). `card` is a
    /// [`ManualCard`], or with the `card-encryption` feature a `card_encryption::CardInfo`.
    pub fn new(card: impl Into<ManualCard>, amounts: Amounts, merchant_id: i64) -> Self {
        CardSaleManual {
            card: card.into(),
            holder: AccountHolder::default(),
            end_customer: None,
            amounts,
            items: PurchaseItems::default(),
            merchant_id,
        }
    }

    /// The card holder (`AcctHolder`).
    #[must_use]
    pub fn account_holder(mut self, holder: AccountHolder) -> Self {
        self.holder = holder;
        self
    }

    /// The end customer, when not the card holder (sent as `{}` otherwise).
    #[must_use]
    pub fn end_customer(mut self, customer: AccountHolder) -> Self {
        self.end_customer = Some(customer);
        self
    }

    /// The purchase description and references.
    #[must_use]
    pub fn items(mut self, items: PurchaseItems) -> Self {
        self.items = items;
        self
    }
}

impl Serialize for CardSaleManual {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Empty {}
        let mut sale = s.serialize_struct("CardSaleManual", 6)?;
        sale.serialize_field("ccCardInfo", &self.card)?;
        sale.serialize_field("AcctHolder", &self.holder)?;
        // EasyPay's examples send an empty object, not null, when there is no end customer.
        match &self.end_customer {
            Some(customer) => sale.serialize_field("EndCustomer", customer)?,
            None => sale.serialize_field("EndCustomer", &Empty {})?,
        }
        sale.serialize_field("Amounts", &self.amounts)?;
        sale.serialize_field("PurchItems", &self.items)?;
        sale.serialize_field("MerchID", &self.merchant_id)?;
        sale.end()
    }
}

/// `CreditCardSale_ManualResult`. A decline is `approved == false` on a successful call.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CardSaleResult {
    /// `TxApproved`.
    #[serde(rename = "TxApproved")]
    pub approved: bool,
    /// `TxID`: needed to void.
    #[serde(rename = "TxID")]
    pub transaction_id: i64,
    /// `TxnCode` (a number or a string on the wire).
    #[serde(rename = "TxnCode", default, deserialize_with = "string_or_number")]
    pub txn_code: String,
    /// `RespMsg` (`APPROVED 099804`, `DECLINED`, ...), trimmed.
    #[serde(
        rename = "RespMsg",
        alias = "RspMsg",
        default,
        deserialize_with = "trimmed"
    )]
    pub message: String,
    /// `AVSresult`.
    #[serde(rename = "AVSresult", default)]
    pub avs_result: Option<String>,
    /// `CVVresult`.
    #[serde(rename = "CVVresult", default)]
    pub cvv_result: Option<String>,
    /// `IsPartialApproval`.
    #[serde(rename = "IsPartialApproval", default)]
    pub partial_approval: bool,
    /// `RequiresVoiceAuth`.
    #[serde(rename = "RequiresVoiceAuth", default)]
    pub requires_voice_auth: bool,
}

/// `Transaction_VoidResult`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct VoidResult {
    /// `TxApproved`.
    #[serde(rename = "TxApproved")]
    pub approved: bool,
    /// `TxID`.
    #[serde(rename = "TxID")]
    pub transaction_id: i64,
    /// `RespMsg`, trimmed.
    #[serde(
        rename = "RespMsg",
        alias = "RspMsg",
        default,
        deserialize_with = "trimmed"
    )]
    pub message: String,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s.trim().to_owned()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        _ => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

fn trimmed<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .unwrap_or_default()
        .trim()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIPHERTEXT: &str =
        "K8ELXxBJGpgO02O9Rw3XYe32D4msyv2lBO/SaQyx2vkPjFdy8hBjOxKQ9Q9NMQro9HotSzdev0Legr+iwevfvMnZ";

    #[test]
    fn wire_names_and_quirks() {
        let card = ManualCard::new(CIPHERTEXT, 10, 2028, "122").unwrap();
        let sale = CardSaleManual::new(card, Amounts::total(1001), 1);
        let json = serde_json::to_value(&sale).unwrap();
        assert_eq!(json["ccCardInfo"]["CSV"], "122");
        assert_eq!(json["ccCardInfo"]["ExpYear"], 2028);
        assert_eq!(json["EndCustomer"], serde_json::json!({}));
        assert_eq!(json["AcctHolder"]["BillIngAdress"]["ZIP"], "");
        assert_eq!(json["Amounts"]["TotalAmt"].to_string(), "10.01");
        assert_eq!(json["PurchItems"]["RPGUID"], "");
        assert_eq!(json["MerchID"], 1);
        assert!(!format!("{sale:?}").contains("122"));
    }

    #[test]
    fn bodies_are_serialised_without_growing() {
        let sale = CardSaleManual::new(
            ManualCard::new(CIPHERTEXT, 10, 2028, "122").unwrap(),
            Amounts::total(1001),
            7,
        );
        let json = to_json_wiped(&sale).unwrap();
        assert_eq!(json.capacity(), json.len());
        assert_eq!(*json, serde_json::to_vec(&sale).unwrap());
    }

    #[test]
    fn card_rules() {
        let field = |r: Result<ManualCard>| match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(ManualCard::new("4761530001111118", 10, 2028, "122")),
            "AccountNumber"
        );
        assert_eq!(
            field(ManualCard::new(CIPHERTEXT, 13, 2028, "122")),
            "ExpMonth"
        );
        assert_eq!(field(ManualCard::new(CIPHERTEXT, 10, 28, "122")), "ExpYear");
        assert_eq!(field(ManualCard::new(CIPHERTEXT, 10, 2028, "12345")), "CSV");
    }

    #[test]
    fn results_parse_leniently() {
        let approved: CardSaleResult = serde_json::from_str(
            r#"{"TxApproved":true,"TxID":41,"TxnCode":99804,"RespMsg":"APPROVED 099804                 ","AVSresult":"Y","CVVresult":"M","FunctionOk":true}"#,
        )
        .unwrap();
        assert_eq!(
            (approved.txn_code.as_str(), approved.message.as_str()),
            ("99804", "APPROVED 099804")
        );
        let declined: CardSaleResult = serde_json::from_str(
            r#"{"TxApproved":false,"TxID":42,"TxnCode":"","RspMsg":"DECLINED"}"#,
        )
        .unwrap();
        assert!(!declined.approved);
    }
}
