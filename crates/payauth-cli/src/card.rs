//! `payauth card inspect|encrypt`: card-encryption certificates, through `card-encryption`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use card_encryption::{CardNumber, EncryptionKey, Error};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::CardCommand;
use crate::fail::{EXPIRED, Failure, OK};
use crate::output::{Context, rfc3339, seconds_until};

const DAY: i64 = 86_400;

pub(crate) fn run(ctx: &mut Context, command: CardCommand) -> Result<u8, Failure> {
    match command {
        CardCommand::Inspect {
            cert,
            at,
            warn_days,
        } => inspect(ctx, &cert, at.as_deref(), warn_days),
        CardCommand::Encrypt {
            cert,
            thumbprint,
            allow_expired,
        } => encrypt(ctx, &cert, thumbprint, allow_expired),
    }
}

/// Loads the key without judging validity: the commands judge it themselves.
fn load(path: &Path) -> Result<EncryptionKey, Failure> {
    EncryptionKey::loader()
        .skip_validity_check()
        .load_file(path)
        .map_err(|e| {
            let hint = match e {
                Error::Io { .. } => "check the path",
                _ => "expected an X.509 certificate or an RSA public key, PEM or DER",
            };
            Failure::config(e.to_string()).hint(hint)
        })
}

fn parse_time(text: &str) -> Result<SystemTime, Failure> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| {
            Failure::config(format!("--at {text:?} is not an RFC 3339 time"))
                .hint("write it as 2026-12-01T00:00:00Z")
        })
}

fn inspect(ctx: &Context, path: &Path, at: Option<&str>, warn_days: u32) -> Result<u8, Failure> {
    let now = match at {
        Some(text) => parse_time(text)?,
        None => SystemTime::now(),
    };
    let key = load(path)?;
    let mut lines = vec![("file", path.display().to_string())];
    let mut value = json!({
        "file": path.display().to_string(),
        "key_bits": key.bits(),
        "ciphertext_bytes": key.ciphertext_len(),
        "encoded_chars": key.encoded_len(),
        "checked_at": rfc3339(now),
    });
    let mut code = OK;
    let mut warning = None;
    match key.certificate() {
        None => {
            lines.push((
                "certificate",
                "none: a bare public key has no validity window".to_owned(),
            ));
            value["status"] = json!("no_certificate");
        }
        Some(facts) => {
            let left = seconds_until(facts.not_after(), now);
            let days_left = left.div_euclid(DAY);
            let status = if now < facts.not_before() {
                code = EXPIRED;
                warning = Some(format!(
                    "the certificate is not valid before {}",
                    rfc3339(facts.not_before())
                ));
                "not_yet_valid"
            } else if !facts.is_valid_at(now) {
                code = EXPIRED;
                warning = Some(format!(
                    "the certificate expired on {} ({} days ago): the gateway refuses what it encrypts",
                    rfc3339(facts.not_after()),
                    -days_left
                ));
                "expired"
            } else if days_left < i64::from(warn_days) {
                warning = Some(format!(
                    "the certificate expires in {days_left} days ({}): get the new one from the vendor",
                    rfc3339(facts.not_after())
                ));
                "expiring"
            } else {
                "valid"
            };
            let subject = facts.subject_common_name().unwrap_or("(no common name)");
            lines.push(("subject", format!("CN={subject}")));
            lines.push((
                "valid",
                format!(
                    "{} to {}",
                    rfc3339(facts.not_before()),
                    rfc3339(facts.not_after())
                ),
            ));
            lines.push(("days left", format!("{days_left} ({status})")));
            lines.push(("thumbprint", format!("{} (SHA-1)", facts.thumbprint())));
            value["subject_cn"] = json!(facts.subject_common_name());
            value["not_before"] = json!(rfc3339(facts.not_before()));
            value["not_after"] = json!(rfc3339(facts.not_after()));
            value["days_left"] = json!(days_left);
            value["thumbprint"] = json!(facts.thumbprint().to_string());
            value["status"] = json!(status);
        }
    }
    lines.push(("key", format!("RSA {} bits", key.bits())));
    lines.push((
        "ciphertext",
        format!(
            "{} bytes ({} Base64 characters)",
            key.ciphertext_len(),
            key.encoded_len()
        ),
    ));
    ctx.emit(&lines, &value);
    if let Some(warning) = warning {
        if code == OK {
            ctx.warn(&warning);
        } else {
            return Err(
                Failure::new(code, warning).hint("ask the vendor for the current certificate")
            );
        }
    }
    Ok(code)
}

fn encrypt(
    ctx: &mut Context,
    path: &Path,
    thumbprint: bool,
    allow_expired: bool,
) -> Result<u8, Failure> {
    let key = load(path)?;
    if let Some(facts) = key.certificate() {
        let now = SystemTime::now();
        if !facts.is_valid_at(now) {
            let window = format!(
                "valid {} to {}",
                rfc3339(facts.not_before()),
                rfc3339(facts.not_after())
            );
            if !allow_expired {
                return Err(Failure::new(
                    EXPIRED,
                    format!("the certificate is outside its validity window ({window})"),
                )
                .hint("get the current certificate from the vendor; --allow-expired encrypts anyway, for tests only"));
            }
            ctx.warn(&format!(
                "!!! ENCRYPTING WITH A CERTIFICATE OUTSIDE ITS VALIDITY WINDOW ({window}): the gateway will most likely refuse this value; never use it for a real payment !!!"
            ));
        } else if facts.remaining_at(now) < Duration::from_secs(30 * 86_400) {
            ctx.warn(&format!(
                "the certificate expires on {}",
                rfc3339(facts.not_after())
            ));
        }
    }
    let pan = ctx.input.hidden("card number")?;
    ctx.protect(&pan);
    let card = CardNumber::parse(&pan).map_err(|e| {
        Failure::config(e.to_string()).hint("type the 12 to 19 digits of the card number")
    })?;
    let encrypted = if thumbprint {
        key.encrypt_with_thumbprint(&card)
    } else {
        key.encrypt(&card)
    }
    .map_err(|e| {
        let hint = match e {
            Error::NoCertificate => "--thumbprint needs a certificate, not a bare public key",
            _ => "check the certificate",
        };
        Failure::config(e.to_string()).hint(hint)
    })?;
    if ctx.json {
        ctx.emit(
            &[],
            &json!({
                "encrypted": encrypted.as_str(),
                "thumbprint_suffix": encrypted.has_thumbprint(),
                "brand": card.brand().name(),
                "last4": card.last4(),
            }),
        );
    } else {
        // Just the value, so that `$(payauth card encrypt ...)` captures it.
        println!("{}", encrypted.as_str());
    }
    Ok(OK)
}
