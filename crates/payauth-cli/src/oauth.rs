//! `payauth oauth token`, through `oauth-client-credentials`.

use std::time::SystemTime;

use oauth_client_credentials::{
    AuthMethod, Client, Credentials, Environment as OAuthEnvironment, Error,
};
use serde_json::json;

use crate::args::{AuthMethodArg, Environment, OauthCommand};
use crate::fail::{self, Failure, OK, REJECTED};
use crate::output::{Context, Target, rfc3339, seconds_until};

pub(crate) fn run(ctx: &mut Context, command: OauthCommand) -> Result<u8, Failure> {
    let OauthCommand::Token {
        client_id,
        token_url,
        auth_method,
        scope,
        show_token,
    } = command;
    let url = match token_url {
        Some(url) => url,
        None => match ctx.target()? {
            Target::Sandbox(url) => format!("{url}/api/token"),
            Target::Vendor(Environment::Uat) => OAuthEnvironment::Test.token_url(),
            Target::Vendor(Environment::Prod) => OAuthEnvironment::Production.token_url(),
        },
    };
    let secret = ctx
        .input
        .secret("PAYAUTH_OAUTH_CLIENT_SECRET", "client secret")?;
    ctx.protect(&secret);
    let credentials = Credentials::new(client_id.as_str(), secret.as_str())
        .map_err(|e| Failure::config(e.to_string()).hint("check the client id and secret"))?;
    let method = match auth_method {
        AuthMethodArg::Auto => AuthMethod::Auto,
        AuthMethodArg::Basic => AuthMethod::BasicPlain,
        AuthMethodArg::BasicForm => AuthMethod::BasicFormEncoded,
        AuthMethodArg::Post => AuthMethod::ClientSecretPost,
    };
    let mut builder = Client::builder(credentials)
        .token_url(url.clone())
        .auth_method(method);
    if let Some(scope) = &scope {
        builder = builder.scope(scope.clone());
    }
    builder = builder.http(ctx.http_settings()?);
    let client = builder.build().map_err(|e| map_error(&e, &url))?;
    let token = client.bearer().map_err(|e| map_error(&e, &url))?;
    // With Auto, the method the server accepted; otherwise the one asked for.
    let method_name = method_name(client.auth_method_in_use().unwrap_or(method));
    ctx.protect(token.secret());
    let expires_in = seconds_until(token.expires_at(), SystemTime::now()).max(0);
    let mut lines = vec![
        ("status", "token issued".to_owned()),
        ("token URL", url.clone()),
        ("client id", client_id.clone()),
        ("auth method", method_name.to_owned()),
        (
            "expires in",
            format!("{expires_in} s (at {})", rfc3339(token.expires_at())),
        ),
        (
            "scope",
            scope
                .clone()
                .unwrap_or_else(|| "(none requested)".to_owned()),
        ),
    ];
    let mut value = json!({
        "status": "issued",
        "token_url": url,
        "client_id": client_id,
        "auth_method": method_name,
        "expires_in": expires_in,
        "expires_at": rfc3339(token.expires_at()),
        "scope_requested": scope,
        "scope_granted": token.scope(),
    });
    if show_token {
        lines.push(("access token", token.secret().to_owned()));
        value["access_token"] = json!(token.secret());
    } else {
        lines.push((
            "access token",
            "(hidden; --show-token prints it)".to_owned(),
        ));
    }
    ctx.emit(&lines, &value);
    Ok(OK)
}

fn method_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::BasicPlain => "HTTP Basic (RFC 7617)",
        AuthMethod::BasicFormEncoded => "HTTP Basic, form-encoded (RFC 6749 2.3.1)",
        AuthMethod::ClientSecretPost => "client_secret_post (form body)",
        AuthMethod::ClientSecretJwt => "client_secret_jwt (RFC 7523)",
        AuthMethod::PrivateKeyJwt => "private_key_jwt (RFC 7523)",
        _ => "auto",
    }
}

fn map_error(e: &Error, url: &str) -> Failure {
    match e {
        Error::InvalidInput { .. } => Failure::config(e.to_string()),
        Error::Transport(t) => fail::transport(t, t.kind(), url),
        Error::OAuth { status, error, .. } if error == "invalid_client" || matches!(status, 401 | 403) => {
            Failure::new(REJECTED, e.to_string())
                .hint("check the client id and PAYAUTH_OAUTH_CLIENT_SECRET, and try another --auth-method")
        }
        Error::OAuth { .. } => Failure::new(fail::REMOTE, e.to_string())
            .hint("the server refused the request; check --scope and --token-url"),
        Error::UnexpectedStatus { status, .. } => {
            fail::by_status(*status, e.to_string(), "the token URL and credentials")
        }
        _ => Failure::new(fail::REMOTE, e.to_string()),
    }
}
