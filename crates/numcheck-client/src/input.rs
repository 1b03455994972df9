use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{Error, Result};

/// The service's 32-character secret key, sent as `X-AUTH-Token`. Never shown by `Debug`,
/// wiped on drop.
pub struct ServiceSecret(SecretString);

/// The variable [`ServiceSecret::from_env`] reads.
pub const SERVICE_SECRET_VAR: &str = "PAYAUTH_NUMCHECK_SECRET";

impl ServiceSecret {
    /// Reads `PAYAUTH_NUMCHECK_SECRET`, the name the `payauth` CLI reads, and validates it as
    /// [`new`](Self::new) does.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the variable is unset or empty, or the rule the value breaks;
    /// never the value.
    pub fn from_env() -> Result<Self> {
        let secret =
            payauth_core::secret_from_env(SERVICE_SECRET_VAR).ok_or(Error::InvalidInput {
                field: SERVICE_SECRET_VAR,
                rule: "is not set",
            })?;
        ServiceSecret::new(secret.trim())
    }

    /// Validates the secret: exactly 32 visible ASCII characters (it travels as a header).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule; never the value.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let secret = SecretString::from(secret.into());
        let text = secret.expose_secret();
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidInput {
                field: "service secret",
                rule: "must be visible ASCII characters, without spaces",
            });
        }
        if text.len() != 32 {
            return Err(Error::InvalidInput {
                field: "service secret",
                rule: "must be exactly 32 characters",
            });
        }
        Ok(ServiceSecret(secret))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ServiceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceSecret([redacted])")
    }
}

/// A phone number to call: country code first, 8 to 15 digits (E.164 allows at most 15).
///
/// A phone number is personal data: `Debug` shows its last two digits only, and errors never
/// quote it.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Normalises common ways of writing a number to its digits: `+7 (999) 123-45-67`,
    /// `+7 999 123 45 67`, `7.999.123.45.67` and `79991234567` all give `79991234567`.
    ///
    /// Allowed besides digits: one leading `+`, and spaces, `-`, `.`, `(` and `)` between them.
    /// A national form with a trunk prefix (`8 999 ...`, `0171 ...`) is not converted: the
    /// country code cannot be guessed, so pass the international form.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for letters or other characters, or a digit count outside 8 to
    /// 15.
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(body.len());
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(Error::InvalidInput {
                        field: "phone",
                        rule: "only digits, a leading '+', spaces, '-', '.', '(' and ')' are allowed",
                    });
                }
            }
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(Error::InvalidInput {
                field: "phone",
                rule: "must have 8 to 15 digits, country code first",
            });
        }
        Ok(Phone(digits))
    }

    /// The digits, as sent to NumCheck (`79991234567`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(2)..];
        write!(f, "Phone(…{tail})")
    }
}

/// The optional `description` of an `init-call`: a label for the user (nickname, e-mail), at most
/// 64 characters, no control characters. `Debug` shows its length only (it is often personal
/// data).
#[derive(Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Validates the description.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for more than 64 characters or a control character.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if text.chars().count() > 64 {
            return Err(Error::InvalidInput {
                field: "description",
                rule: "must be at most 64 characters",
            });
        }
        if text.chars().any(char::is_control) {
            return Err(Error::InvalidInput {
                field: "description",
                rule: "must not contain control characters",
            });
        }
        Ok(Description(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Description({} characters)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(result: Result<impl fmt::Debug>) -> &'static str {
        match result {
            Err(Error::InvalidInput { rule, .. }) => rule,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn phones_are_normalised_to_digits() {
        for input in [
            "+7 (999) 123-45-67",
            "79991234567",
            " +7 999 123 45 67 ",
            "7.999.123.45.67",
        ] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), "79991234567");
        }
        assert_eq!(Phone::parse("37166004953").unwrap().as_str(), "37166004953");
        assert_eq!(Phone::parse("12345678").unwrap().as_str(), "12345678");
        assert_eq!(
            Phone::parse("123456789012345").unwrap().as_str(),
            "123456789012345"
        );
    }

    #[test]
    fn bad_phones_name_the_rule_not_the_number() {
        for input in [
            "7999123456a",
            "+7 999 CALL-NOW",
            "++79991234567",
            "7999\n1234567",
        ] {
            let err = Phone::parse(input).unwrap_err();
            assert!(!err.to_string().contains("7999"), "{err}");
            assert!(rule(Phone::parse(input)).contains("only digits"), "{input}");
        }
        for input in ["1234567", "1234567890123456", "", "+", "(-)"] {
            assert!(rule(Phone::parse(input)).contains("8 to 15"), "{input}");
        }
    }

    #[test]
    fn descriptions() {
        assert!(Description::new("a".repeat(64)).is_ok());
        assert!(
            Description::new("ж".repeat(64)).is_ok(),
            "characters, not bytes"
        );
        assert!(Description::new("").is_ok());
        assert!(rule(Description::new("a".repeat(65))).contains("64"));
        assert!(rule(Description::new("tab\there")).contains("control"));
        let debug = format!("{:?}", Description::new("alice@example.com").unwrap());
        assert!(!debug.contains("alice"), "{debug}");
    }

    #[test]
    fn secrets() {
        assert!(ServiceSecret::new("a".repeat(32)).is_ok());
        assert!(rule(ServiceSecret::new("a".repeat(31))).contains("exactly 32"));
        assert!(rule(ServiceSecret::new("a".repeat(33))).contains("exactly 32"));
        assert!(rule(ServiceSecret::new(format!("{} ", "a".repeat(31)))).contains("visible"));
        let secret = ServiceSecret::new("s".repeat(32)).unwrap();
        assert_eq!(format!("{secret:?}"), "ServiceSecret([redacted])");
    }
}
