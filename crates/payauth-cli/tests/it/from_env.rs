//! The libraries' `from_env` constructors read the same variables as the CLI. The variables are
//! set only in a child process (this test binary run again on one ignored test), so no other
//! test sees them.

use std::process::Command;

const EASYPAY_TOKEN: &str = "0123456789abcdef0123456789abcdef";
const OAUTH_SECRET: &str = "s3cr3t+/=:%&";
const PAYROC_KEY: &str = "payroc-api-key-from-env";
const NUMCHECK_SECRET: &str = "0123456789abcdefghijklmnopqrstuv";

fn child(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--ignored", "--exact", test, "--nocapture"])
        .env_remove("PAYAUTH_EASYPAY_ACCOUNT")
        .env_remove("PAYAUTH_EASYPAY_TOKEN")
        .env_remove("PAYAUTH_OAUTH_CLIENT_ID")
        .env_remove("PAYAUTH_OAUTH_CLIENT_SECRET")
        .env_remove("PAYAUTH_PAYROC_API_KEY")
        .env_remove("PAYAUTH_NUMCHECK_SECRET");
    command
}

#[test]
fn credentials_load_from_the_cli_variables() {
    assert_eq!(hmac_sessionkey::ACCOUNT_VAR, "PAYAUTH_EASYPAY_ACCOUNT");
    assert_eq!(hmac_sessionkey::TOKEN_VAR, "PAYAUTH_EASYPAY_TOKEN");
    assert_eq!(
        oauth_client_credentials::CLIENT_ID_VAR,
        "PAYAUTH_OAUTH_CLIENT_ID"
    );
    assert_eq!(
        oauth_client_credentials::CLIENT_SECRET_VAR,
        "PAYAUTH_OAUTH_CLIENT_SECRET"
    );
    assert_eq!(payroc_hostedfields::API_KEY_VAR, "PAYAUTH_PAYROC_API_KEY");
    assert_eq!(
        numcheck_client::SERVICE_SECRET_VAR,
        "PAYAUTH_NUMCHECK_SECRET"
    );

    let set = child("from_env::child_loads_every_credential")
        .env("PAYAUTH_EASYPAY_ACCOUNT", " EP9116875 ")
        .env("PAYAUTH_EASYPAY_TOKEN", EASYPAY_TOKEN)
        .env("PAYAUTH_OAUTH_CLIENT_ID", "client-1")
        .env("PAYAUTH_OAUTH_CLIENT_SECRET", OAUTH_SECRET)
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .env("PAYAUTH_NUMCHECK_SECRET", NUMCHECK_SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&set.stdout);
    assert!(set.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");

    let unset = child("from_env::child_names_the_missing_variables")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&unset.stdout);
    assert!(unset.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");
}

#[test]
#[ignore = "run by credentials_load_from_the_cli_variables with the variables set"]
fn child_loads_every_credential() {
    let easypay = hmac_sessionkey::Credentials::from_env().unwrap();
    assert_eq!(easypay.account().as_str(), "EP9116875");
    let oauth = oauth_client_credentials::Credentials::from_env().unwrap();
    let payroc = payroc_hostedfields::ApiKey::from_env().unwrap();
    let numcheck = numcheck_client::ServiceSecret::from_env().unwrap();
    let shown = format!("{easypay:?} {oauth:?} {payroc:?} {numcheck:?}");
    for secret in [EASYPAY_TOKEN, OAUTH_SECRET, PAYROC_KEY, NUMCHECK_SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
#[ignore = "run by credentials_load_from_the_cli_variables with the variables unset"]
fn child_names_the_missing_variables() {
    let easypay = hmac_sessionkey::Credentials::from_env().unwrap_err();
    assert!(
        easypay.to_string().contains("PAYAUTH_EASYPAY_ACCOUNT"),
        "{easypay}"
    );
    let oauth = oauth_client_credentials::Credentials::from_env().unwrap_err();
    assert!(
        oauth.to_string().contains("PAYAUTH_OAUTH_CLIENT_ID"),
        "{oauth}"
    );
    let payroc = payroc_hostedfields::ApiKey::from_env().unwrap_err();
    assert!(
        payroc.to_string().contains("PAYAUTH_PAYROC_API_KEY"),
        "{payroc}"
    );
    let numcheck = numcheck_client::ServiceSecret::from_env().unwrap_err();
    assert!(
        numcheck.to_string().contains("PAYAUTH_NUMCHECK_SECRET"),
        "{numcheck}"
    );
}
