//! `payauth easypay guard|session|header`, through `hmac-sessionkey`.

use std::path::Path;
use std::time::SystemTime;

use hmac_sessionkey::{
    Client, Credentials, Environment as EasyPayEnvironment, Error, GuardRefusal, LockoutGuard,
    secured_header,
};
use serde_json::json;

use crate::args::{EasypayCommand, Environment, GuardCommand};
use crate::fail::{self, Failure, GUARDED, OK, REJECTED};
use crate::output::{Context, Target, rfc3339};

/// Where EasyPay locks an IP: the sixth failure in a row.
const EASYPAY_LOCKS_AT: u32 = 6;

pub(crate) fn run(ctx: &mut Context, command: EasypayCommand) -> Result<u8, Failure> {
    match command {
        EasypayCommand::Guard {
            command: GuardCommand::Status { file, cap },
        } => status(ctx, &file, cap),
        EasypayCommand::Guard {
            command: GuardCommand::Reset { file, yes },
        } => reset(ctx, &file, yes),
        EasypayCommand::Session {
            account,
            guard_file,
        } => session(ctx, &account, &guard_file),
        EasypayCommand::Header {
            user_id,
            epoch,
            show_token,
        } => header(ctx, &user_id, epoch, show_token),
    }
}

fn guard_failure(e: &Error) -> Failure {
    Failure::config(e.to_string()).hint("check the guard file's path and permissions")
}

/// Labelled lines for a person and the same facts as JSON.
type Described = (Vec<(&'static str, String)>, serde_json::Value);

/// The guard's state in words and as JSON (a missing file is described, not created).
fn describe(file: &Path, cap: u32) -> Result<Described, Failure> {
    let exists = file.exists();
    let (failures, rejected) = if exists {
        let state = LockoutGuard::file(file)
            .state()
            .map_err(|e| guard_failure(&e))?;
        (state.consecutive_failures(), state.rejected_credentials())
    } else {
        (0, 0)
    };
    let since = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .map(rfc3339);
    let refusing = failures >= cap;
    let verdict = if !exists {
        "no file yet: nothing recorded; the guard creates it on its first authentication".to_owned()
    } else if refusing {
        format!(
            "REFUSING every authentication: {failures} failures in a row reached the cap of {cap} (EasyPay locks the IP at {EASYPAY_LOCKS_AT})"
        )
    } else if rejected > 0 {
        format!(
            "allowing authentications, but refusing the {rejected} credential(s) EasyPay rejected"
        )
    } else {
        "allowing authentications".to_owned()
    };
    let mut lines = vec![
        ("file", file.display().to_string()),
        (
            "failures",
            format!("{failures} in a row (cap {cap}; EasyPay locks the IP at {EASYPAY_LOCKS_AT})"),
        ),
        (
            "rejected",
            format!("{rejected} credential(s) remembered as rejected"),
        ),
    ];
    if let Some(since) = &since {
        lines.push(("last change", since.clone()));
    }
    lines.push(("state", verdict));
    let value = json!({
        "file": file.display().to_string(),
        "exists": exists,
        "consecutive_failures": failures,
        "rejected_credentials": rejected,
        "cap": cap,
        "refusing": refusing,
        "last_change": since,
    });
    Ok((lines, value))
}

fn status(ctx: &Context, file: &Path, cap: u32) -> Result<u8, Failure> {
    let (lines, value) = describe(file, cap)?;
    ctx.emit(&lines, &value);
    Ok(OK)
}

fn reset(ctx: &Context, file: &Path, yes: bool) -> Result<u8, Failure> {
    if !file.exists() {
        return Err(
            Failure::config(format!("no guard file at {}", file.display()))
                .hint("check the path your services use (PAYAUTH_EASYPAY_GUARD_FILE)"),
        );
    }
    let (before, _) = describe(file, hmac_sessionkey::DEFAULT_FAILURE_CAP)?;
    if !yes && !ctx.json {
        for (label, text) in &before {
            eprintln!("{label}: {text}");
        }
    }
    ctx.warn(
        "confirm with EasyPay support first that this server's IP is not locked: the guard's count \
         is what stops your services from reaching EasyPay's sixth failure",
    );
    ctx.input.confirm("Reset the EasyPay lockout guard?", yes)?;
    LockoutGuard::file(file)
        .reset()
        .map_err(|e| guard_failure(&e))?;
    let (lines, mut value) = describe(file, hmac_sessionkey::DEFAULT_FAILURE_CAP)?;
    value["reset"] = json!(true);
    let mut lines = lines;
    lines.insert(0, ("reset", "done".to_owned()));
    ctx.emit(&lines, &value);
    Ok(OK)
}

fn base_url(ctx: &Context) -> Result<String, Failure> {
    Ok(match ctx.target()? {
        Target::Sandbox(url) => format!("{url}/APIcardProcREST/v1.0.0/"),
        Target::Vendor(Environment::Uat) => EasyPayEnvironment::Test.base_url().to_owned(),
        Target::Vendor(Environment::Prod) => EasyPayEnvironment::Production.base_url().to_owned(),
    })
}

fn session(ctx: &mut Context, account: &str, guard_file: &Path) -> Result<u8, Failure> {
    let base = base_url(ctx)?;
    let token = ctx.input.secret("PAYAUTH_EASYPAY_TOKEN", "EasyPay token")?;
    ctx.protect(&token);
    let credentials = Credentials::new(account, &token)
        .map_err(|e| Failure::config(e.to_string()).hint("check the account code and token"))?;
    let mut builder = Client::builder(credentials)
        .base_url(base.clone())
        .lockout_guard(LockoutGuard::file(guard_file));
    builder = builder.http(ctx.http_settings()?);
    let client = builder.build().map_err(|e| map_error(&e, &base))?;
    let session = client.session().map_err(|e| map_error(&e, &base))?;
    let expires = session.expires_at();
    let merchants = session.merchants();
    let mut lines = vec![
        ("status", "authenticated".to_owned()),
        ("account", account.to_owned()),
        ("session until", rfc3339(expires)),
        ("merchants", merchants.len().to_string()),
    ];
    if let Some(user) = session.user() {
        lines.push(("user id", user.id.to_string()));
    }
    ctx.emit(
        &lines,
        &json!({
            "status": "authenticated",
            "account": account,
            "session_expires_at": rfc3339(expires),
            "merchants": merchants.iter().map(|m| json!({"id": m.id, "description": m.description})).collect::<Vec<_>>(),
            "user_id": session.user().map(|u| u.id),
        }),
    );
    Ok(OK)
}

fn map_error(e: &Error, url: &str) -> Failure {
    match e {
        Error::CredentialsRejected { .. } => Failure::new(REJECTED, e.to_string())
            .hint("the guard will not send these credentials again; check the account code and token"),
        Error::Guarded(GuardRefusal::RejectedCredentials) => Failure::new(GUARDED, e.to_string())
            .hint("EasyPay already rejected this token: supply the right one; nothing was sent"),
        Error::Guarded(_) => Failure::new(GUARDED, e.to_string()).hint(
            "nothing was sent; after EasyPay confirms the IP is not locked: payauth easypay guard reset",
        ),
        Error::GuardStore(_) => guard_failure(e),
        Error::InvalidInput { .. } => Failure::config(e.to_string()),
        Error::Transport(t) => fail::transport(t, t.kind(), url),
        Error::UnexpectedStatus { status, .. } => {
            fail::by_status(*status, e.to_string(), "the EasyPay URL and credentials")
        }
        _ => Failure::new(fail::REMOTE, e.to_string()),
    }
}

fn header(
    ctx: &mut Context,
    user_id: &str,
    epoch: Option<u64>,
    show_token: bool,
) -> Result<u8, Failure> {
    let session_key = ctx
        .input
        .secret("PAYAUTH_EASYPAY_SESSION_KEY", "EasyPay session key")?;
    ctx.protect(&session_key);
    let secret = ctx
        .input
        .secret("PAYAUTH_EASYPAY_HMAC_SECRET", "EasyPay HMAC secret")?;
    ctx.protect(&secret);
    let epoch = epoch.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let value = secured_header(&session_key, &secret, epoch, user_id);
    let hash = value.rsplit('_').next().unwrap_or_default().to_owned();
    let masked = mask(&session_key);
    let signed = format!("{masked}_{epoch}_{user_id}");
    let mut lines = vec![
        ("signed text", signed.clone()),
        (
            "epoch",
            format!(
                "{epoch} ({})",
                rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(epoch))
            ),
        ),
        ("user id", user_id.to_owned()),
        ("HMAC-SHA256", hash.clone()),
    ];
    let mut json = json!({
        "signed_text": signed,
        "epoch": epoch,
        "user_id": user_id,
        "hmac_sha256": hash,
    });
    if show_token {
        lines.push(("header", value.clone()));
        json["header"] = json!(value);
    } else {
        lines.push((
            "header",
            format!("{masked}_{epoch}_{user_id}_{hash} (--show-token prints the session key)"),
        ));
    }
    ctx.emit(&lines, &json);
    Ok(OK)
}

/// A session key shown by its last 4 characters only.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "[session key]".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("[session key …{tail}]")
}
