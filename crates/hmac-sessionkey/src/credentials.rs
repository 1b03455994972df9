use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{Error, Result};

/// An EasyPay account code: two letters and seven digits (`EP9116875`). Not a secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountCode(String);

impl AccountCode {
    /// Validates the code.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule; never the value.
    pub fn new(code: &str) -> Result<Self> {
        let bytes = code.as_bytes();
        let valid = bytes.len() == 9
            && bytes[..2].iter().all(u8::is_ascii_alphabetic)
            && bytes[2..].iter().all(u8::is_ascii_digit);
        if !valid {
            return Err(Error::InvalidInput {
                field: "AcctCode",
                rule: "must be two letters followed by seven digits",
            });
        }
        Ok(AccountCode(code.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountCode").field(&self.0).finish()
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An EasyPay API token: 32 hexadecimal characters, made in the Client Admin Portal.
/// Never shown by `Debug`; wiped on drop.
pub struct Token(SecretString);

impl Token {
    /// Validates the token.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule; never the value.
    pub fn new(token: &str) -> Result<Self> {
        let valid = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(Error::InvalidInput {
                field: "Token",
                rule: "must be 32 hexadecimal characters",
            });
        }
        Ok(Token(SecretString::from(token.to_owned())))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The account code and token that authenticate a merchant.
#[derive(Debug)]
pub struct Credentials {
    pub(crate) account: AccountCode,
    pub(crate) token: Token,
}

/// The variable [`Credentials::from_env`] reads the account code from.
pub const ACCOUNT_VAR: &str = "PAYAUTH_EASYPAY_ACCOUNT";
/// The variable [`Credentials::from_env`] reads the token from.
pub const TOKEN_VAR: &str = "PAYAUTH_EASYPAY_TOKEN";

impl Credentials {
    /// Validates and pairs an account code and a token.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field and rule.
    pub fn new(account_code: &str, token: &str) -> Result<Self> {
        Ok(Credentials {
            account: AccountCode::new(account_code)?,
            token: Token::new(token)?,
        })
    }

    /// Reads `PAYAUTH_EASYPAY_ACCOUNT` (the `AcctCode`) and `PAYAUTH_EASYPAY_TOKEN`, the names
    /// the `payauth` CLI reads, and validates them as [`new`](Self::new) does.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the variable that is unset or empty, or the rule a value
    /// breaks; never the value.
    pub fn from_env() -> Result<Self> {
        let read = |field| {
            payauth_core::secret_from_env(field).ok_or(Error::InvalidInput {
                field,
                rule: "is not set",
            })
        };
        let (account, token) = (read(ACCOUNT_VAR)?, read(TOKEN_VAR)?);
        Credentials::new(account.trim(), token.trim())
    }

    /// The account code.
    pub fn account(&self) -> &AccountCode {
        &self.account
    }
}

/// The HMAC secret EasyPay gives PCI merchants for the secured `SessKey` header. Its ASCII bytes
/// are the HMAC key (it is not hex-decoded, even when it looks like hex). Never shown by `Debug`.
pub struct HmacSecret(SecretString);

impl HmacSecret {
    /// Wraps the secret.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or non-ASCII secret.
    pub fn new(secret: &str) -> Result<Self> {
        if secret.is_empty() || !secret.is_ascii() {
            return Err(Error::InvalidInput {
                field: "HMAC secret",
                rule: "must be non-empty ASCII",
            });
        }
        Ok(HmacSecret(SecretString::from(secret.to_owned())))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret([redacted])")
    }
}

/// The user id (server integrations: `ThisUser.ID`) or device id (mobile) signed into the secured
/// header: printable ASCII without `_`, the header's separator.
#[derive(Clone, PartialEq, Eq)]
pub struct SignerId(String);

impl SignerId {
    /// Validates the id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule.
    pub fn new(id: &str) -> Result<Self> {
        let valid = !id.is_empty()
            && id.len() <= 128
            && id.bytes().all(|b| b.is_ascii_graphic() && b != b'_');
        if !valid {
            return Err(Error::InvalidInput {
                field: "user or device id",
                rule: "must be 1 to 128 printable ASCII characters without '_'",
            });
        }
        Ok(SignerId(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignerId").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(result: Result<impl fmt::Debug>) -> &'static str {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn input_rules() {
        assert!(AccountCode::new("EP9116875").is_ok());
        assert_eq!(rule(AccountCode::new("EP911687")), "AcctCode");
        assert_eq!(rule(AccountCode::new("E19116875")), "AcctCode");
        assert_eq!(rule(AccountCode::new("EP91168755")), "AcctCode");
        assert!(Token::new("2148B239CF6846BDA5D141BF4A4CFBE8").is_ok());
        assert_eq!(rule(Token::new("2148B239CF6846BDA5D141BF4A4CFBE")), "Token");
        assert_eq!(
            rule(Token::new("2148B239CF6846BDA5D141BF4A4CFBEZ")),
            "Token"
        );
        assert_eq!(rule(SignerId::new("")), "user or device id");
        assert_eq!(rule(SignerId::new("a_b")), "user or device id");
        assert_eq!(rule(HmacSecret::new("")), "HMAC secret");
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let err = Token::new("2148B239CF6846BDA5D141BF4A4CFBEZ")
            .err()
            .unwrap();
        assert!(!format!("{err} {err:?}").contains("2148B239"));
        let credentials =
            Credentials::new("EP9116875", "2148B239CF6846BDA5D141BF4A4CFBE8").unwrap();
        let secret = HmacSecret::new("7D55DBB3D691C9E0FDF341E4AB38C3C9").unwrap();
        let debug = format!("{credentials:?} {secret:?}");
        assert!(
            !debug.contains("2148B239") && !debug.contains("7D55DBB3"),
            "{debug}"
        );
        assert!(debug.contains("EP9116875"));
    }
}
