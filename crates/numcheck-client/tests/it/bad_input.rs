//! Bad input fails before anything is sent, naming the rule and never the value.

use numcheck_client::{Client, Description, Environment, Error, Phone, ServiceSecret};

use crate::support::env;

fn rule_of<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, &'static str, String) {
    match result {
        Err(err @ Error::InvalidInput { field, rule }) => (field, rule, format!("{err} {err:?}")),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn each_rule_is_named() {
    let cases: [(&str, Result<(), Error>, &str, &str); 5] = [
        (
            "7999ABC4567",
            Phone::parse("7999ABC4567").map(drop),
            "phone",
            "only digits",
        ),
        (
            "7991234",
            Phone::parse("7991234").map(drop),
            "phone",
            "8 to 15 digits",
        ),
        (
            "7999123456789012",
            Phone::parse("7999123456789012").map(drop),
            "phone",
            "8 to 15 digits",
        ),
        (
            "ddddddddddddd",
            Description::new("d".repeat(65)).map(drop),
            "description",
            "at most 64",
        ),
        (
            "sssssssssssss",
            ServiceSecret::new("s".repeat(31)).map(drop),
            "service secret",
            "exactly 32",
        ),
    ];
    for (value, result, field, rule) in cases {
        let (got_field, got_rule, text) = rule_of(result);
        assert_eq!(got_field, field);
        assert!(got_rule.contains(rule), "{got_rule}");
        assert!(!text.contains(value), "{text} quotes the value");
    }
}

#[test]
fn builder_settings_are_checked() {
    let env = env();
    let secret = || ServiceSecret::new("s".repeat(32)).unwrap();
    let err = Client::builder(secret())
        .base_url("http://api.numcheckapi.com")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let (field, ..) = rule_of(env.builder().language("ru/../x").build());
    assert_eq!(field, "language");
    let (field, ..) = rule_of(
        env.builder()
            .base_url(format!("{}?a=b", env.sandbox.url()))
            .build(),
    );
    assert_eq!(field, "base_url");
    let zero = std::time::Duration::ZERO;
    let (field, ..) = rule_of(env.builder().poll_backoff(zero, zero).build());
    assert_eq!(field, "poll_backoff");
    // No default: an environment or a base URL is required; production is NumCheck's, over HTTPS.
    let (field, ..) = rule_of(Client::builder(secret()).build());
    assert_eq!(field, "environment");
    assert!(
        format!(
            "{:?}",
            Client::builder(secret())
                .environment(Environment::Production)
                .build()
                .unwrap()
        )
        .contains("https://api.numcheckapi.com")
    );
    assert_eq!("PROD".parse(), Ok(Environment::Production));
    assert_eq!(Environment::Production.to_string(), "production");
    let (field, ..) = rule_of("uat".parse::<Environment>());
    assert_eq!(field, "environment");
    let read: Environment = serde_json::from_str(r#""production""#).unwrap();
    assert_eq!(read, Environment::Production);
    assert!(serde_json::from_str::<Environment>(r#""test""#).is_err());
    assert_eq!(env.requests(), 0);
}
