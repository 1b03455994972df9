//! Authorization server metadata: RFC 8414, then OpenID Connect Discovery.

use payauth_core::{Http, HttpRequest, require_secure_url};
use serde_json::Value;

use crate::error::{Error, Result};

/// What a client needs from the metadata.
pub(crate) struct Metadata {
    pub(crate) token_endpoint: String,
    /// `token_endpoint_auth_methods_supported`; `["client_secret_basic"]` when absent (the
    /// default RFC 8414 §2 gives).
    pub(crate) auth_methods: Vec<String>,
}

/// The two well-known URLs for `issuer`, in the order they are tried: RFC 8414 §3 inserts its
/// suffix between the host and the issuer's path; OpenID appends its suffix to the issuer.
pub(crate) fn well_known_urls(issuer: &str) -> [String; 2] {
    let issuer = issuer.trim_end_matches('/');
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    [
        format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}"),
        format!("{issuer}/.well-known/openid-configuration"),
    ]
}

pub(crate) fn discover(http: &Http, issuer: &str) -> Result<Metadata> {
    require_secure_url(issuer)?;
    if issuer.contains(['?', '#']) {
        return Err(Error::Discovery {
            reason: "an issuer has no query or fragment",
        });
    }
    for url in well_known_urls(issuer) {
        let response = http.send(&HttpRequest::get(url).header("accept", "application/json"))?;
        if response.status() == 404 || response.status() == 410 {
            continue;
        }
        if !response.is_success() {
            return Err(Error::UnexpectedStatus {
                status: response.status(),
                excerpt: response.excerpt(),
                www_authenticate: None,
            });
        }
        return read(response.body(), issuer);
    }
    Err(Error::Discovery {
        reason: "neither /.well-known/oauth-authorization-server nor /.well-known/openid-configuration exists",
    })
}

fn read(body: &[u8], issuer: &str) -> Result<Metadata> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| Error::Discovery {
        reason: "the metadata is not a JSON object",
    })?;
    let Value::Object(members) = &doc else {
        return Err(Error::Discovery {
            reason: "the metadata is not a JSON object",
        });
    };
    let stated = members.get("issuer").and_then(Value::as_str);
    if stated.map(|s| s.trim_end_matches('/')) != Some(issuer.trim_end_matches('/')) {
        return Err(Error::Discovery {
            reason: "the metadata's issuer is not the issuer asked for (RFC 8414 §3.3)",
        });
    }
    // Every URL the document gives must pass the same rule as the ones the user gives.
    for (name, value) in members {
        let is_url = name.ends_with("_endpoint") || name.ends_with("_uri");
        if let (true, Some(url)) = (is_url, value.as_str())
            && require_secure_url(url).is_err()
        {
            return Err(Error::Discovery {
                reason: "a URL in the metadata is not https (or loopback http), or carries credentials",
            });
        }
    }
    let token_endpoint = members
        .get("token_endpoint")
        .and_then(Value::as_str)
        .ok_or(Error::Discovery {
            reason: "the metadata has no token_endpoint",
        })?
        .to_owned();
    let auth_methods = match members.get("token_endpoint_auth_methods_supported") {
        None => vec!["client_secret_basic".to_owned()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            return Err(Error::Discovery {
                reason: "token_endpoint_auth_methods_supported is not an array",
            });
        }
    };
    Ok(Metadata {
        token_endpoint,
        auth_methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations() {
        assert_eq!(
            well_known_urls("https://as.example"),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            well_known_urls("https://as.example/tenant/"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                "https://as.example/tenant/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn documents_are_checked() {
        let issuer = "https://as.example";
        let ok = read(
            br#"{"issuer":"https://as.example/","token_endpoint":"https://as.example/token"}"#,
            issuer,
        )
        .unwrap();
        assert_eq!(ok.auth_methods, ["client_secret_basic"]);
        for bad in [
            r#"{"issuer":"https://other.example","token_endpoint":"https://as.example/token"}"#,
            r#"{"issuer":"https://as.example","token_endpoint":"http://as.example/token"}"#,
            r#"{"issuer":"https://as.example","token_endpoint":"https://as.example/t","jwks_uri":"http://evil.example/k"}"#,
            r#"{"issuer":"https://as.example"}"#,
            r#"[1]"#,
        ] {
            assert!(
                matches!(read(bad.as_bytes(), issuer), Err(Error::Discovery { .. })),
                "{bad}"
            );
        }
    }
}
