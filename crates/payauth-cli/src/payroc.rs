//! `payauth payroc session`, through `payroc-hostedfields`.

use std::time::SystemTime;

use payroc_hostedfields::{
    ApiKey, Client, Environment as PayrocEnvironment, Error, LibVersion, SessionRequest, TerminalId,
};
use serde_json::json;

use crate::args::{Environment, PayrocCommand};
use crate::fail::{self, Failure, OK};
use crate::output::{Context, Target, rfc3339, seconds_until};

pub(crate) fn run(ctx: &mut Context, command: PayrocCommand) -> Result<u8, Failure> {
    let PayrocCommand::Session {
        terminal,
        tokenization,
        lib_version,
        show_token,
    } = command;
    let terminal_id = TerminalId::new(terminal.clone()).map_err(|e| {
        Failure::config(e.to_string()).hint("pass the processing terminal id with --terminal")
    })?;
    let target = ctx.target()?;
    let api_key = ctx
        .input
        .secret("PAYAUTH_PAYROC_API_KEY", "Payroc API key")?;
    ctx.protect(&api_key);
    let api_key = ApiKey::new(api_key.as_str())
        .map_err(|e| Failure::config(e.to_string()).hint("check PAYAUTH_PAYROC_API_KEY"))?;
    let mut builder = Client::builder(api_key);
    let url = match &target {
        Target::Sandbox(url) => {
            builder = builder
                .identity_url(format!("{url}/authorize"))
                .api_base(format!("{url}/v1"))
                .lib_version(PayrocEnvironment::Test.lib_version());
            url.clone()
        }
        Target::Vendor(environment) => {
            let environment = match environment {
                Environment::Uat => PayrocEnvironment::Test,
                Environment::Prod => PayrocEnvironment::Production,
            };
            builder = builder.environment(environment);
            environment.api_base().to_owned()
        }
    };
    if let Some(version) = lib_version {
        let version = LibVersion::new(version).map_err(|e| {
            Failure::config(e.to_string()).hint("a version looks like 1.7.0.261457")
        })?;
        builder = builder.lib_version(version);
    }
    builder = builder.http(ctx.http_settings()?);
    let client = builder.build().map_err(|e| map_error(&e, &url))?;
    let request = if tokenization {
        SessionRequest::tokenization(terminal_id)
    } else {
        SessionRequest::payment(terminal_id)
    };
    let session = client
        .create_session(&request)
        .map_err(|e| map_error(&e, &url))?;
    ctx.protect(session.token().secret());
    let expires_at = session.expires_at();
    let expires_text = rfc3339(expires_at);
    let expires_in = seconds_until(expires_at, SystemTime::now()).max(0);
    let key = session.idempotency_key().as_uuid().to_string();
    let scenario = if tokenization {
        "tokenization"
    } else {
        "payment"
    };
    let mut lines = vec![
        ("status", "session created".to_owned()),
        ("terminal", session.processing_terminal_id().to_owned()),
        ("scenario", scenario.to_owned()),
        ("expires", format!("{expires_text} (in {expires_in} s)")),
        ("idempotency key", key.clone()),
    ];
    let mut value = json!({
        "status": "created",
        "terminal": session.processing_terminal_id(),
        "scenario": scenario,
        "expires_at": expires_text,
        "expires_in": expires_in,
        "idempotency_key": key,
        "location": session.location(),
    });
    if let Some(location) = session.location() {
        lines.push(("location", location.to_owned()));
    }
    if show_token {
        lines.push(("session token", session.token().secret().to_owned()));
        value["session_token"] = json!(session.token().secret());
    } else {
        lines.push((
            "session token",
            "(hidden; --show-token prints it)".to_owned(),
        ));
    }
    ctx.emit(&lines, &value);
    Ok(OK)
}

fn map_error(e: &Error, url: &str) -> Failure {
    match e {
        Error::InvalidInput { .. } => Failure::config(e.to_string()),
        Error::Transport(t) => fail::transport(t, t.kind(), url),
        Error::Problem(problem) => fail::by_status(
            problem.status(),
            e.to_string(),
            "PAYAUTH_PAYROC_API_KEY and the terminal id",
        ),
        Error::UnexpectedResponse { status, .. } => {
            fail::by_status(*status, e.to_string(), "PAYAUTH_PAYROC_API_KEY")
        }
        _ => Failure::new(fail::REMOTE, e.to_string()),
    }
}
