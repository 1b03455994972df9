use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `Authorization: Basic base64(id ":" secret)` with nothing escaped (RFC 7617). Pledg's
    /// documented form, and what most servers expect. An id containing `:` cannot be sent this
    /// way and is refused when the client is built.
    #[default]
    BasicPlain,
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1
    /// specifies and strict (certified) OAuth servers require. Differs from `BasicPlain` only for
    /// ids or secrets with characters such as `+ / = : %` or spaces.
    BasicFormEncoded,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
}

/// A client id: 1 to 1024 printable characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// Validates the id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty, over-long or non-printable id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        check_printable("client_id", &id)?;
        Ok(ClientId(id))
    }

    /// The id (not a secret).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientId").field(&self.0).finish()
    }
}

/// A client secret: 1 to 1024 printable characters, never shown by `Debug`, wiped on drop.
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// Validates the secret.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule; never the value.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let secret = SecretString::from(secret.into());
        check_printable("client_secret", secret.expose_secret())?;
        Ok(ClientSecret(secret))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// A client id and secret.
#[derive(Debug)]
pub struct Credentials {
    pub(crate) id: ClientId,
    pub(crate) secret: ClientSecret,
}

impl Credentials {
    /// Validates and pairs an id and a secret (Pledg calls them API key and API secret).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field and rule.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Result<Self> {
        Ok(Credentials {
            id: ClientId::new(id)?,
            secret: ClientSecret::new(secret)?,
        })
    }

    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The `Authorization` value for `method`, or `None` for `ClientSecretPost`.
    pub(crate) fn basic_header(&self, method: AuthMethod) -> Option<SecretString> {
        let encode = |s: &str| {
            Zeroizing::new(form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        };
        match method {
            AuthMethod::BasicPlain => Some(basic_value(self.id.as_str(), self.secret.expose())),
            AuthMethod::BasicFormEncoded => Some(basic_value(
                &encode(self.id.as_str()),
                &encode(self.secret.expose()),
            )),
            AuthMethod::ClientSecretPost => None,
        }
    }
}

/// `user:password`, in a buffer sized up front (no reallocation leaves a copy behind) and wiped
/// when dropped.
fn basic_pair(user: &str, password: &str) -> Zeroizing<String> {
    let mut pair = Zeroizing::new(String::with_capacity(user.len() + 1 + password.len()));
    pair.push_str(user);
    pair.push(':');
    pair.push_str(password);
    pair
}

/// `Basic base64(user:password)`: the intermediate pair is wiped, the header is a
/// [`SecretString`] (wiped on drop), built in place without reallocating.
fn basic_value(user: &str, password: &str) -> SecretString {
    let pair = basic_pair(user, password);
    let encoded = base64::encoded_len(pair.len(), true).unwrap_or(0);
    let mut header = String::with_capacity("Basic ".len() + encoded);
    header.push_str("Basic ");
    STANDARD.encode_string(pair.as_bytes(), &mut header);
    SecretString::from(header)
}

/// HTTP Basic credentials for endpoints that take the merchant dashboard e-mail and password
/// directly (RFC 7617, nothing escaped).
pub struct BasicCredentials {
    user: String,
    header: SecretString,
}

impl BasicCredentials {
    /// Validates the pair: a non-empty user without `:`, a non-empty password.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the rule.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Result<Self> {
        let user = user.into();
        let password = SecretString::from(password.into());
        check_printable("user", &user)?;
        if user.contains(':') {
            return Err(Error::InvalidInput {
                field: "user",
                rule: "must not contain ':' (HTTP Basic cannot carry it)",
            });
        }
        check_printable("password", password.expose_secret())?;
        let header = basic_value(&user, password.expose_secret());
        Ok(BasicCredentials { user, header })
    }

    /// The user (e-mail).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `Authorization` header value, `Basic <base64>`. A secret: do not log it.
    pub fn header_value(&self) -> &str {
        self.header.expose_secret()
    }

    /// `request` with this `Authorization` header.
    pub fn authorize(&self, mut request: payauth_core::HttpRequest) -> payauth_core::HttpRequest {
        request.set_header("authorization", self.header_value());
        request
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn check_printable(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidInput {
            field,
            rule: "must not be empty",
        });
    }
    if value.len() > 1024 {
        return Err(Error::InvalidInput {
            field,
            rule: "must be at most 1024 bytes",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            field,
            rule: "must not contain control characters",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_basic_auth_example() {
        // From the provider's documentation.
        let basic = BasicCredentials::new("random@domain.com", "john123").unwrap();
        assert_eq!(
            basic.header_value(),
            "Basic cmFuZG9tQGRvbWFpbi5jb206am9objEyMw=="
        );
        assert!(!format!("{basic:?}").contains("john123"));
    }

    #[test]
    fn basic_buffers_are_sized_up_front() {
        // A buffer that grows leaves its old copy in freed memory, out of reach of the wipe.
        let pair = basic_pair("random@domain.com", "john123");
        assert_eq!(pair.as_str(), "random@domain.com:john123");
        assert_eq!(pair.capacity(), pair.len());
        let header = basic_value("random@domain.com", "john123");
        assert_eq!(
            header.expose_secret(),
            "Basic cmFuZG9tQGRvbWFpbi5jb206am9objEyMw=="
        );
        assert_eq!(header.expose_secret().len(), 6 + 36);
    }

    #[test]
    fn the_two_basic_encodings_differ_only_on_special_characters() {
        let plain = |id, secret| {
            let c = Credentials::new(id, secret).unwrap();
            let p = c.basic_header(AuthMethod::BasicPlain).unwrap();
            let f = c.basic_header(AuthMethod::BasicFormEncoded).unwrap();
            (p.expose_secret().to_owned(), f.expose_secret().to_owned())
        };
        let (p, f) = plain("key", "secret");
        assert_eq!(p, f);
        let (p, f) = plain("key", "a+b/c=d:e%f g");
        assert_eq!(p, format!("Basic {}", STANDARD.encode("key:a+b/c=d:e%f g")));
        assert_eq!(
            f,
            format!("Basic {}", STANDARD.encode("key:a%2Bb%2Fc%3Dd%3Ae%25f+g"))
        );
    }

    #[test]
    fn input_rules() {
        assert!(matches!(
            Credentials::new("", "s"),
            Err(Error::InvalidInput {
                field: "client_id",
                ..
            })
        ));
        assert!(matches!(
            Credentials::new("id", ""),
            Err(Error::InvalidInput {
                field: "client_secret",
                ..
            })
        ));
        assert!(matches!(
            Credentials::new("id", "a\nb"),
            Err(Error::InvalidInput {
                field: "client_secret",
                ..
            })
        ));
        assert!(matches!(
            BasicCredentials::new("a:b", "p"),
            Err(Error::InvalidInput { field: "user", .. })
        ));
        let err = Credentials::new("id", "x\u{7}topsecret").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("topsecret"));
    }
}
