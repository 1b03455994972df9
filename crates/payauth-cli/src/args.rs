//! The command line, as `clap` derive types. Secrets are never arguments: they come from the
//! environment or a no-echo prompt (see `input.rs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the remote service failed or answered something unusable
  2  usage error (unknown flag, missing argument)
  3  configuration or input error (missing variable, bad value, unreadable file)
  4  certificate expired or not yet valid
  5  credentials rejected (wrong API key, client secret, token or service secret)
  6  refused by the EasyPay lockout guard (nothing was sent)
  7  not verified (call not answered, wrong or no code)
  8  network error (cannot connect, TLS, timeout)
  9  aborted (confirmation declined)

Configuration comes from PAYAUTH_* environment variables (see each command's --help);
secrets only from the environment or a no-echo prompt, never from arguments.";

/// payauth: check and use payment and verification credentials from a shell.
#[derive(Debug, Parser)]
#[command(
    name = "payauth",
    version,
    after_help = EXIT_CODES,
    after_long_help = EXIT_CODES,
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Print the result as one JSON object on stdout; errors as one JSON object on stderr.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Target a running sandbox at this base URL (takes precedence over --env).
    #[arg(long, global = true, env = "PAYAUTH_SANDBOX", value_name = "URL")]
    pub(crate) sandbox: Option<String>,

    /// Target a vendor environment: uat (test, staging) or prod.
    #[arg(
        long = "env",
        global = true,
        env = "PAYAUTH_ENV",
        value_enum,
        value_name = "ENV"
    )]
    pub(crate) environment: Option<Environment>,

    /// Trust this extra CA certificate (PEM, possibly a bundle, or DER) besides the public
    /// roots, such as the sandbox's with --tls or a corporate CA.
    #[arg(long, global = true, env = "PAYAUTH_CA_CERT", value_name = "PATH")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Send requests through this proxy (http://host:port or https://host:port; a password in
    /// it is never printed). Default: the proxy the environment names (HTTPS_PROXY, ...).
    #[arg(
        long,
        global = true,
        env = "PAYAUTH_PROXY",
        value_name = "URL",
        conflicts_with = "no_proxy"
    )]
    pub(crate) proxy: Option<String>,

    /// Use no proxy, whatever HTTPS_PROXY, HTTP_PROXY or ALL_PROXY say.
    #[arg(long, global = true)]
    pub(crate) no_proxy: bool,

    /// Present this client certificate (PEM chain) to servers that ask for one (mutual TLS).
    #[arg(
        long,
        global = true,
        env = "PAYAUTH_CLIENT_CERT",
        value_name = "PATH",
        requires = "client_key"
    )]
    pub(crate) client_cert: Option<PathBuf>,

    /// The private key (PEM, unencrypted) of --client-cert.
    #[arg(
        long,
        global = true,
        env = "PAYAUTH_CLIENT_KEY",
        value_name = "PATH",
        requires = "client_cert"
    )]
    pub(crate) client_key: Option<PathBuf>,
}

/// A vendor environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Environment {
    /// The vendor's test environment (EasyPay staging, Pledg staging, Payroc UAT).
    Uat,
    /// Production.
    Prod,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Card-encryption certificates: inspect one, encrypt a card number with it.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// EasyPay: the lockout guard, a test authentication, the secured SessKey header.
    Easypay {
        #[command(subcommand)]
        command: EasypayCommand,
    },
    /// OAuth client credentials (Pledg and any RFC 6749 server): fetch a token.
    Oauth {
        #[command(subcommand)]
        command: OauthCommand,
    },
    /// Payroc Hosted Fields: create a session.
    Payroc {
        #[command(subcommand)]
        command: PayrocCommand,
    },
    /// NumCheck: place a verification call and check the code.
    Numcheck {
        #[command(subcommand)]
        command: NumcheckCommand,
    },
    /// Run the sandbox (local emulators of every API) until SIGINT or SIGTERM.
    #[command(after_help = "\
Example:
  payauth sandbox --port 8080 --dir ./sandbox-certs &
  export PAYAUTH_SANDBOX=http://127.0.0.1:8080
  curl -s $PAYAUTH_SANDBOX/_sandbox/counters")]
    Sandbox(SandboxArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CardCommand {
    /// Subject, validity window, days left, key size, ciphertext size and SHA-1 thumbprint of a
    /// certificate (PEM or DER). Exits 4 when it is expired or not yet valid (for cron).
    #[command(after_help = "\
Example:
  payauth card inspect easypay-mobile-2025.cer || echo 'replace the certificate'
  payauth card inspect --json --at 2026-12-01T00:00:00Z cert.pem")]
    Inspect {
        /// The certificate (or public key) file, PEM or DER.
        cert: PathBuf,
        /// Judge validity at this RFC 3339 time instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Warn when fewer days than this are left.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        warn_days: u32,
    },
    /// Encrypt a card number read from stdin or a no-echo prompt (never an argument) and print
    /// the Base64 value the gateway expects.
    #[command(after_help = "\
Example:
  printf '4111111111111111\\n' | payauth card encrypt --cert easypay.cer --thumbprint
  payauth card encrypt --cert easypay.cer          # prompts without echo on a terminal")]
    Encrypt {
        /// The certificate (or public key) file, PEM or DER.
        #[arg(long, env = "PAYAUTH_CARD_CERT", value_name = "PATH")]
        cert: PathBuf,
        /// Append `|thumbprint` as the vendor's mobile SDKs do.
        #[arg(long)]
        thumbprint: bool,
        /// Encrypt even with an expired or not yet valid certificate (prints a warning).
        #[arg(long)]
        allow_expired: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EasypayCommand {
    /// The lockout guard's file: show its state or reset it.
    Guard {
        #[command(subcommand)]
        command: GuardCommand,
    },
    /// Authenticate once through the lockout guard: does this account code and token work?
    /// The token comes from PAYAUTH_EASYPAY_TOKEN or a no-echo prompt.
    #[command(after_help = "\
Example:
  export PAYAUTH_EASYPAY_TOKEN=...   # or type it at the prompt
  payauth easypay session --env uat --account EP9116875 --guard-file /var/lib/payauth/guard.json")]
    Session {
        /// The account code.
        #[arg(long, env = "PAYAUTH_EASYPAY_ACCOUNT", value_name = "CODE")]
        account: String,
        /// The lockout guard's file, shared with your services.
        #[arg(long, env = "PAYAUTH_EASYPAY_GUARD_FILE", value_name = "PATH")]
        guard_file: PathBuf,
    },
    /// The HMAC-secured SessKey header for a session key, user id and epoch, to debug a signature
    /// mismatch. Session key and secret come from PAYAUTH_EASYPAY_SESSION_KEY and
    /// PAYAUTH_EASYPAY_HMAC_SECRET (or no-echo prompts); the full header only with --show-token.
    #[command(after_help = "\
Example:
  export PAYAUTH_EASYPAY_SESSION_KEY=... PAYAUTH_EASYPAY_HMAC_SECRET=...
  payauth easypay header --user-id 123 --epoch 1702565789")]
    Header {
        /// The user id the header signs (`ThisUser.ID`).
        #[arg(long, env = "PAYAUTH_EASYPAY_USER_ID", value_name = "ID")]
        user_id: String,
        /// Seconds since 1970; default now.
        #[arg(long, value_name = "SECONDS")]
        epoch: Option<u64>,
        /// Also print the whole header, which contains the session key.
        #[arg(long)]
        show_token: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GuardCommand {
    /// Failures counted, rejected credentials remembered, last change, and whether the guard
    /// refuses authentications.
    #[command(after_help = "\
Example:
  payauth easypay guard status --file /var/lib/payauth/guard.json")]
    Status {
        /// The guard's file.
        #[arg(long, env = "PAYAUTH_EASYPAY_GUARD_FILE", value_name = "PATH")]
        file: PathBuf,
        /// The cap your services use.
        #[arg(long, default_value_t = hmac_sessionkey::DEFAULT_FAILURE_CAP, value_name = "N")]
        cap: u32,
    },
    /// Forget failures and rejected credentials. Confirm with EasyPay first that the IP is not
    /// locked; asks for confirmation unless --yes.
    #[command(after_help = "\
Example:
  payauth easypay guard reset --file /var/lib/payauth/guard.json --yes")]
    Reset {
        /// The guard's file.
        #[arg(long, env = "PAYAUTH_EASYPAY_GUARD_FILE", value_name = "PATH")]
        file: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OauthCommand {
    /// Fetch a client-credentials token. The secret comes from PAYAUTH_OAUTH_CLIENT_SECRET or a
    /// no-echo prompt; the token is printed only with --show-token.
    #[command(after_help = "\
Example:
  export PAYAUTH_OAUTH_CLIENT_SECRET=...   # or type it at the prompt
  payauth oauth token --env uat --client-id my-merchant
  payauth oauth token --token-url https://auth.example.com/oauth/token --client-id x --auth-method post")]
    Token {
        /// The client id.
        #[arg(long, env = "PAYAUTH_OAUTH_CLIENT_ID", value_name = "ID")]
        client_id: String,
        /// The token endpoint (default: the target's).
        #[arg(long, env = "PAYAUTH_OAUTH_TOKEN_URL", value_name = "URL")]
        token_url: Option<String>,
        /// How the client authenticates.
        #[arg(long, value_enum, default_value_t = AuthMethodArg::Auto, env = "PAYAUTH_OAUTH_AUTH_METHOD")]
        auth_method: AuthMethodArg,
        /// The scope to request.
        #[arg(long)]
        scope: Option<String>,
        /// Print the access token itself.
        #[arg(long)]
        show_token: bool,
    },
}

/// The client authentication methods of RFC 6749 §2.3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthMethodArg {
    /// Find out: plain Basic when both Basic encodings agree, otherwise encoded Basic, plain
    /// Basic, then the form body, moving on only after the server refuses the client.
    Auto,
    /// HTTP Basic with id and secret as they are (RFC 7617; Pledg).
    Basic,
    /// HTTP Basic with id and secret form-encoded first (RFC 6749 strictly).
    BasicForm,
    /// id and secret in the form body (client_secret_post).
    Post,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PayrocCommand {
    /// Create a Hosted Fields session. The API key comes from PAYAUTH_PAYROC_API_KEY or a
    /// no-echo prompt; the session token is printed only with --show-token.
    #[command(after_help = "\
Example:
  export PAYAUTH_PAYROC_API_KEY=...
  payauth payroc session --env uat --terminal 1234001")]
    Session {
        /// The processing terminal id.
        #[arg(long, env = "PAYAUTH_PAYROC_TERMINAL", value_name = "ID")]
        terminal: String,
        /// A tokenization session instead of a payment session.
        #[arg(long)]
        tokenization: bool,
        /// The Hosted Fields library version your page loads (default: the environment's).
        #[arg(long, env = "PAYAUTH_PAYROC_LIB_VERSION", value_name = "VERSION")]
        lib_version: Option<String>,
        /// Print the session token itself.
        #[arg(long)]
        show_token: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum NumcheckCommand {
    /// Place a verification call (paid: asks for confirmation unless --yes); with --wait, show
    /// the call's status until it is final, then ask for the 4 digits and verify them. The
    /// service secret comes from PAYAUTH_NUMCHECK_SECRET or a no-echo prompt.
    #[command(after_help = "\
Example:
  export PAYAUTH_NUMCHECK_SECRET=...
  payauth numcheck call --env prod --phone 37120000000 --wait")]
    Call {
        /// The phone number to call (8 to 15 digits; spaces, dashes and + are ignored).
        #[arg(long, value_name = "NUMBER")]
        phone: String,
        /// Wait for the call and verify the code.
        #[arg(long)]
        wait: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// A description for NumCheck's records (at most 64 characters).
        #[arg(long)]
        description: Option<String>,
        /// The API language path.
        #[arg(long, env = "PAYAUTH_NUMCHECK_LANGUAGE", default_value = numcheck_client::DEFAULT_LANGUAGE)]
        language: String,
        /// How long to wait for a final status, in seconds.
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        timeout: u64,
    },
    /// The status of a call placed earlier.
    #[command(after_help = "\
Example:
  payauth numcheck status --env prod --call-id 1200345")]
    Status {
        /// The call id `numcheck call` printed.
        #[arg(long, value_name = "ID")]
        call_id: String,
        /// The API language path.
        #[arg(long, env = "PAYAUTH_NUMCHECK_LANGUAGE", default_value = numcheck_client::DEFAULT_LANGUAGE)]
        language: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Serve HTTPS with the bundled test CA (written to --dir).
    #[arg(long)]
    pub(crate) tls: bool,
    /// Listen on this port (default: any free port).
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// Write the TLS CA and the card-encryption certificate (PEM and DER) into this folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example() {
        fn walk(command: &clap::Command, path: &str) {
            let path = format!("{path} {}", command.get_name());
            if command.has_subcommands() {
                for sub in command.get_subcommands() {
                    walk(sub, &path);
                }
            } else {
                let help = command
                    .get_after_help()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                assert!(help.contains("Example:"), "{path} has no example");
            }
        }
        for sub in Cli::command().get_subcommands() {
            walk(sub, "payauth");
        }
    }
}
