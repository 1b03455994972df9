use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::assertion::PrivateKey;
use crate::error::{Error, Result};

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// The default: find the method the server accepts and keep it for the life of the client.
    /// When id and secret hold only RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
    /// for which both Basic encodings give the same result, plain Basic is sent. Otherwise
    /// RFC 6749 encoded Basic is tried, then plain Basic, then `client_secret_post`, moving on
    /// only after `invalid_client`, `invalid_request` or a 401 — never after a 5xx or a
    /// transport failure. Methods a discovered server does not list are skipped.
    /// [`Client::auth_method_in_use`](crate::Client::auth_method_in_use) reports the choice.
    #[default]
    Auto,
    /// `Authorization: Basic base64(id ":" secret)` with nothing escaped (RFC 7617), Pledg's
    /// documented form. An id containing `:` cannot be sent this way and is refused when the
    /// client is built.
    BasicPlain,
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1
    /// specifies and strict (certified) OAuth servers require. Every character outside the
    /// RFC 3986 unreserved set is percent-encoded; a space is `%20`, which servers that decode
    /// with `unquote` (authlib) and with form decoding both read as a space.
    BasicFormEncoded,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
    /// A JWT signed HS256 with the client secret in `client_assertion` (RFC 7523,
    /// `client_secret_jwt`).
    ClientSecretJwt,
    /// A JWT signed RS256 with the client's private key in `client_assertion` (RFC 7523,
    /// `private_key_jwt`); see [`Credentials::with_private_key`].
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The name in RFC 8414 `token_endpoint_auth_methods_supported` (both Basic encodings are
    /// `client_secret_basic`); `None` for [`AuthMethod::Auto`].
    pub fn registered_name(self) -> Option<&'static str> {
        Some(match self {
            AuthMethod::Auto => return None,
            AuthMethod::BasicPlain | AuthMethod::BasicFormEncoded => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        })
    }
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

/// A client id with a secret, a private key, or both.
#[derive(Debug)]
pub struct Credentials {
    pub(crate) id: ClientId,
    pub(crate) secret: Option<ClientSecret>,
    pub(crate) private_key: Option<PrivateKey>,
}

/// The variable [`Credentials::from_env`] reads the client id from.
pub const CLIENT_ID_VAR: &str = "PAYAUTH_OAUTH_CLIENT_ID";
/// The variable [`Credentials::from_env`] reads the client secret from.
pub const CLIENT_SECRET_VAR: &str = "PAYAUTH_OAUTH_CLIENT_SECRET";

impl Credentials {
    /// Validates and pairs an id and a secret (Pledg calls them API key and API secret).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field and rule.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Result<Self> {
        Ok(Credentials {
            id: ClientId::new(id)?,
            secret: Some(ClientSecret::new(secret)?),
            private_key: None,
        })
    }

    /// Reads `PAYAUTH_OAUTH_CLIENT_ID` and `PAYAUTH_OAUTH_CLIENT_SECRET`, the names the `payauth`
    /// CLI reads, and validates them as [`new`](Self::new) does.
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
        let (id, secret) = (read(CLIENT_ID_VAR)?, read(CLIENT_SECRET_VAR)?);
        Credentials::new(id.trim(), secret.as_str())
    }

    /// A client that authenticates with its RSA key only (`private_key_jwt`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad id.
    pub fn with_private_key(id: impl Into<String>, key: PrivateKey) -> Result<Self> {
        Ok(Credentials {
            id: ClientId::new(id)?,
            secret: None,
            private_key: Some(key),
        })
    }

    /// Adds an RSA key to id-and-secret credentials, for [`AuthMethod::PrivateKeyJwt`].
    #[must_use]
    pub fn private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(key);
        self
    }

    /// Whether both Basic encodings give the same header: id and secret hold only RFC 3986
    /// unreserved characters.
    pub(crate) fn basic_schools_agree(&self) -> bool {
        let unreserved = |s: &str| s.bytes().all(is_unreserved);
        unreserved(self.id.as_str()) && self.secret.as_ref().is_some_and(|s| unreserved(s.expose()))
    }

    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The `Authorization` value for a Basic `method`, or `None` for the others or without a
    /// secret.
    pub(crate) fn basic_header(&self, method: AuthMethod) -> Option<SecretString> {
        let secret = self.secret.as_ref()?.expose();
        // Percent-encoded forms are wiped too: they hold the secret, merely escaped.
        let encode = |s: &str| Zeroizing::new(percent_encode(s));
        match method {
            AuthMethod::BasicPlain => Some(basic_value(self.id.as_str(), secret)),
            AuthMethod::BasicFormEncoded => {
                Some(basic_value(&encode(self.id.as_str()), &encode(secret)))
            }
            _ => None,
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

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes every byte outside the RFC 3986 unreserved set (a space is `%20`, never `+`).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
        // A space is %20: authlib decodes with `unquote`, which leaves a `+` as it is.
        assert_eq!(
            f,
            format!("Basic {}", STANDARD.encode("key:a%2Bb%2Fc%3Dd%3Ae%25f%20g"))
        );
        let c = Credentials::new("id~x", "Az09-._~").unwrap();
        assert!(c.basic_schools_agree());
        assert!(!Credentials::new("id", "a b").unwrap().basic_schools_agree());
        assert!(!Credentials::new("i:d", "ab").unwrap().basic_schools_agree());
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
