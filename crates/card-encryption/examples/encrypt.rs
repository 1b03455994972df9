//! Encrypts a card number with a gateway certificate and prints the Base64 to send.
//!
//! ```text
//! cargo run -p card-encryption --example encrypt -- easypay.cer [--thumbprint] [--allow-expired]
//! ```
//!
//! The card number is read from standard input, never from the command line, so it does not end
//! up in shell history or the process list. Certificate facts go to standard error, the
//! ciphertext alone to standard output.

#![allow(clippy::print_stdout)]

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use card_encryption::{CardNumber, KeyLoader};
use zeroize::Zeroizing;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut path = None;
    let (mut thumbprint, mut allow_expired) = (false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--thumbprint" => thumbprint = true,
            "--allow-expired" => allow_expired = true,
            _ if path.is_none() && !arg.starts_with('-') => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let path = path.ok_or("usage: encrypt <certificate> [--thumbprint] [--allow-expired] < pan")?;

    let mut loader = KeyLoader::new();
    if allow_expired {
        loader = loader.skip_validity_check();
    }
    let key = loader.load_file(&path).map_err(|e| e.to_string())?;
    eprintln!("key: RSA-{} ({} backend)", key.bits(), key.backend());
    if let Some(cert) = key.certificate() {
        eprintln!(
            "certificate: CN={}, thumbprint {}",
            cert.subject_common_name().unwrap_or("-"),
            cert.thumbprint()
        );
    }

    if std::io::stdin().is_terminal() {
        eprint!("card number: ");
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let pan = CardNumber::parse(line.trim_end_matches(['\r', '\n'])).map_err(|e| e.to_string())?;

    let encrypted = if thumbprint {
        key.encrypt_with_thumbprint(&pan)
    } else {
        key.encrypt(&pan)
    }
    .map_err(|e| e.to_string())?;
    eprintln!(
        "{} {pan}: {} bytes of ciphertext",
        pan.brand(),
        encrypted.ciphertext_len()
    );
    println!("{encrypted}");
    Ok(())
}
