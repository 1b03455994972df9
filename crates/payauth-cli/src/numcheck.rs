//! `payauth numcheck call|status`, through `numcheck-client`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use numcheck_client::{
    CallStatus, Client, DEFAULT_BASE_URL, Description, Error, Outcome, PendingVerification, Phone,
    ServiceSecret, VerificationKey, VerificationPolicy,
};
use serde_json::json;

use crate::args::{Environment, NumcheckCommand};
use crate::fail::{self, Failure, NOT_VERIFIED, OK, REJECTED};
use crate::output::{Context, Target};

/// Codes a person may try at the prompt.
const ATTEMPTS: u32 = 3;

pub(crate) fn run(ctx: &mut Context, command: NumcheckCommand) -> Result<u8, Failure> {
    match command {
        NumcheckCommand::Call {
            phone,
            wait,
            yes,
            description,
            language,
            timeout,
        } => call(ctx, &phone, wait, yes, description, &language, timeout),
        NumcheckCommand::Status { call_id, language } => status(ctx, &call_id, &language),
    }
}

fn client(ctx: &mut Context, language: &str) -> Result<(Client, String), Failure> {
    let url = match ctx.target()? {
        Target::Sandbox(url) => url,
        Target::Vendor(Environment::Prod) => DEFAULT_BASE_URL.to_owned(),
        Target::Vendor(Environment::Uat) => {
            return Err(Failure::config("NumCheck has no test environment")
                .hint("use --sandbox URL to try calls without paying, or --env prod"));
        }
    };
    let secret = ctx
        .input
        .secret("PAYAUTH_NUMCHECK_SECRET", "NumCheck service secret")?;
    ctx.protect(&secret);
    let secret = ServiceSecret::new(secret.as_str())
        .map_err(|e| Failure::config(e.to_string()).hint("check PAYAUTH_NUMCHECK_SECRET"))?;
    let mut builder = Client::builder(secret)
        .base_url(url.clone())
        .language(language);
    builder = builder.http(ctx.http_settings()?);
    let client = builder.build().map_err(|e| map_error(&e, &url))?;
    Ok((client, url))
}

#[allow(clippy::too_many_arguments)]
fn call(
    ctx: &mut Context,
    phone: &str,
    wait: bool,
    yes: bool,
    description: Option<String>,
    language: &str,
    timeout: u64,
) -> Result<u8, Failure> {
    let phone = Phone::parse(phone).map_err(|e| {
        Failure::config(e.to_string()).hint("give the number with its country code, 8 to 15 digits")
    })?;
    let description = description
        .map(Description::new)
        .transpose()
        .map_err(|e| Failure::config(e.to_string()))?;
    let (client, url) = client(ctx, language)?;
    ctx.input.confirm(
        &format!(
            "Place a verification call to {}? NumCheck bills every call.",
            phone.as_str()
        ),
        yes,
    )?;
    let call = client
        .init_call(&phone, description.as_ref())
        .map_err(|e| map_error(&e, &url))?;
    // The caller number ends with the code: neither is ever printed.
    ctx.protect(call.caller_number());
    ctx.protect(call.code());
    if !wait {
        ctx.emit(
            &[
                ("status", "call placed".to_owned()),
                ("call id", call.id().to_owned()),
                (
                    "next",
                    format!("payauth numcheck status --call-id {}", call.id()),
                ),
            ],
            &json!({ "status": "placed", "call_id": call.id() }),
        );
        return Ok(OK);
    }

    let spinner = spinner(ctx, call.id());
    let mut last = None;
    let plain_lines = !ctx.json;
    let outcome = client.wait_for_call(call.id(), Duration::from_secs(timeout), |status| {
        spinner.set_message(format!("call {}: {status}", call.id()));
        if plain_lines && spinner.is_hidden() && last != Some(status) {
            eprintln!("call {}: {status}", call.id());
        }
        last = Some(status);
    });
    spinner.finish_and_clear();
    match outcome.map_err(|e| map_error(&e, &url))? {
        CallStatus::Completed => {}
        CallStatus::NotAnswered => {
            return Err(
                Failure::new(NOT_VERIFIED, format!("call {} was not answered", call.id()))
                    .hint("check the number and that the phone is on, then place a new call"),
            );
        }
        other => {
            return Err(Failure::new(
                fail::REMOTE,
                format!("call {} ended as {other}", call.id()),
            ));
        }
    }

    // The pending verification lives only in this process, so a one-off key is enough.
    let key = VerificationKey::generate().map_err(|e| Failure::config(e.to_string()))?;
    let policy = VerificationPolicy::default().max_attempts(ATTEMPTS);
    let mut pending = PendingVerification::new(&call, &key, client.now(), policy);
    loop {
        let typed = ctx
            .input
            .hidden("the last 4 digits of the number that called")?;
        ctx.protect(&typed);
        let outcome = match pending.verify(&typed, &key, client.now()) {
            Ok(outcome) => outcome,
            Err(e) => {
                ctx.warn(&e.to_string());
                if ctx.input.is_terminal() {
                    continue;
                }
                return Err(Failure::new(NOT_VERIFIED, e.to_string()));
            }
        };
        match outcome {
            Outcome::Verified => break,
            Outcome::Wrong { attempts_left } if attempts_left > 0 => {
                ctx.warn(&format!("wrong code; {attempts_left} attempt(s) left"));
            }
            other => {
                return Err(Failure::new(
                    NOT_VERIFIED,
                    format!("the code was not verified ({})", describe(other)),
                )
                .hint("place a new call"));
            }
        }
    }
    ctx.emit(
        &[
            ("status", "verified".to_owned()),
            ("call id", call.id().to_owned()),
        ],
        &json!({ "status": "verified", "call_id": call.id(), "verified": true }),
    );
    Ok(OK)
}

fn describe(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Verified => "verified",
        Outcome::Wrong { .. } | Outcome::TooManyAttempts => "too many wrong codes",
        Outcome::Expired => "too late",
        Outcome::AlreadyUsed => "already used",
        _ => "refused",
    }
}

/// A live status line on stderr when it is a terminal (hidden otherwise, and with `--json`).
fn spinner(ctx: &Context, call_id: &str) -> ProgressBar {
    let target = if ctx.json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let spinner = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(format!("call {call_id}: ringing"));
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

fn status(ctx: &mut Context, call_id: &str, language: &str) -> Result<u8, Failure> {
    let (client, url) = client(ctx, language)?;
    let status = client
        .call_status(call_id)
        .map_err(|e| map_error(&e, &url))?;
    let name = match status {
        CallStatus::InProgress => "in_progress",
        CallStatus::Completed => "completed",
        CallStatus::NotAnswered => "not_answered",
        _ => "unknown",
    };
    ctx.emit(
        &[
            ("call id", call_id.to_owned()),
            ("status", status.to_string()),
        ],
        &json!({ "call_id": call_id, "status": name, "final": status.is_final() }),
    );
    Ok(if status == CallStatus::NotAnswered {
        NOT_VERIFIED
    } else {
        OK
    })
}

fn map_error(e: &Error, url: &str) -> Failure {
    match e {
        Error::InvalidInput { .. } => Failure::config(e.to_string()),
        Error::Transport(t) => fail::transport(t, t.kind(), url),
        Error::Unauthorized { .. } => Failure::new(REJECTED, e.to_string())
            .hint("check PAYAUTH_NUMCHECK_SECRET (32 characters, from NumCheck's dashboard)"),
        Error::CallMayHaveBeenPlaced { .. } => Failure::new(fail::REMOTE, e.to_string()).hint(
            "do not call again at once: the phone may already be ringing (and the call billed)",
        ),
        Error::WaitDeadline { .. } => Failure::new(NOT_VERIFIED, e.to_string())
            .hint("payauth numcheck status --call-id ID shows the status later"),
        Error::UnexpectedStatus { status, .. } | Error::Api { status, .. } => fail::by_status(
            *status,
            e.to_string(),
            "the phone number and PAYAUTH_NUMCHECK_SECRET",
        ),
        _ => Failure::new(fail::REMOTE, e.to_string()),
    }
}
