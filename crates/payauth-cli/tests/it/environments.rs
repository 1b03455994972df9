//! Every client crate names, prints and parses its environments alike (one macro in
//! payauth-core), so one configuration file can name them all; the CLI relies on it.

use std::str::FromStr as _;

/// Round trips through `Display`/`FromStr` and serde, the shared aliases, and refusals.
macro_rules! check_two_stages {
    ($env:ty) => {{
        type E = $env;
        for environment in [E::Test, E::Production] {
            assert_eq!(E::from_str(&environment.to_string()), Ok(environment));
            let json = serde_json::to_string(&environment).unwrap();
            assert_eq!(serde_json::from_str::<E>(&json).unwrap(), environment);
        }
        assert_eq!(E::Test.to_string(), "test");
        assert_eq!(E::Production.to_string(), "production");
        for alias in ["uat", "Staging", " TEST "] {
            assert_eq!(E::from_str(alias), Ok(E::Test), "{alias}");
        }
        assert_eq!(E::from_str("prod"), Ok(E::Production));
        assert!(E::from_str("live").is_err());
        assert!(serde_json::from_str::<E>(r#""sandbox""#).is_err());
    }};
}

#[test]
fn environments_print_and_parse_alike_in_every_crate() {
    check_two_stages!(hmac_sessionkey::Environment);
    check_two_stages!(oauth_client_credentials::Environment);
    check_two_stages!(payroc_hostedfields::Environment);
    // NumCheck has production only, read and printed the same way.
    let production = numcheck_client::Environment::Production;
    assert_eq!(production.to_string(), "production");
    assert_eq!("PROD".parse(), Ok(production));
    assert!("test".parse::<numcheck_client::Environment>().is_err());
}
