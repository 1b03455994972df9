//! The two environments every vendor has, under one set of names.

use std::fmt;
use std::str::FromStr;

/// A vendor's test or production environment. Each client crate's `Environment` converts from
/// and to it, so every crate reads the same words from configuration: `test` (also `uat`,
/// `staging`) and `production` (also `prod`), in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The vendor's test environment (Payroc's UAT, EasyPay's and Pledg's staging).
    Test,
    /// Production: real money, real calls.
    Production,
}

impl Stage {
    /// `test` or `production`, the names [`FromStr`] reads.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Test => "test",
            Stage::Production => "production",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text named no environment. It does not repeat the text, which may have come from a
/// misplaced secret in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown environment: expected test (or uat, staging) or production (or prod)")]
pub struct UnknownStage;

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(text: &str) -> Result<Self, UnknownStage> {
        let text = text.trim();
        let is = |name: &str| text.eq_ignore_ascii_case(name);
        if is("test") || is("uat") || is("staging") {
            Ok(Stage::Test)
        } else if is("production") || is("prod") {
            Ok(Stage::Production)
        } else {
            Err(UnknownStage)
        }
    }
}

/// Implements `From<Stage>`, `From<$env> for Stage`, `Display` and `FromStr` for a client
/// crate's `Environment` with variants `Test` and `Production`, so every crate names, prints and
/// parses its environments alike. Pair it with
/// `#[derive(serde::Deserialize, serde::Serialize)] #[serde(from = "Stage", into = "Stage")]`.
#[macro_export]
macro_rules! two_stage_environment {
    ($env:ident) => {
        impl ::core::convert::From<$crate::Stage> for $env {
            fn from(stage: $crate::Stage) -> Self {
                match stage {
                    $crate::Stage::Test => $env::Test,
                    $crate::Stage::Production => $env::Production,
                }
            }
        }

        impl ::core::convert::From<$env> for $crate::Stage {
            fn from(environment: $env) -> Self {
                match environment {
                    $env::Test => $crate::Stage::Test,
                    $env::Production => $crate::Stage::Production,
                }
            }
        }

        impl ::core::fmt::Display for $env {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&$crate::Stage::from(*self), f)
            }
        }

        impl ::core::str::FromStr for $env {
            type Err = $crate::UnknownStage;

            fn from_str(text: &str) -> ::core::result::Result<Self, $crate::UnknownStage> {
                text.parse::<$crate::Stage>().map(<$env>::from)
            }
        }
    };
}

/// Reads the same words as [`FromStr`], so an environment loads from any serde configuration.
impl<'de> serde::Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_read() {
        for stage in [Stage::Test, Stage::Production] {
            assert_eq!(stage.to_string().parse(), Ok(stage));
        }
        for text in ["UAT", " staging ", "Test"] {
            assert_eq!(text.parse(), Ok(Stage::Test), "{text}");
        }
        for text in ["PROD", "production"] {
            assert_eq!(text.parse(), Ok(Stage::Production), "{text}");
        }
        for text in ["", "live", "prod-eu", "sk_live_secret"] {
            let err = text.parse::<Stage>().unwrap_err();
            assert!(!err.to_string().contains("secret"));
        }
        let read: Vec<Stage> = serde_json::from_str(r#"["UAT", "production"]"#).unwrap();
        assert_eq!(read, [Stage::Test, Stage::Production]);
        assert!(serde_json::from_str::<Stage>(r#""live""#).is_err());
        assert_eq!(serde_json::to_string(&Stage::Test).unwrap(), r#""test""#);
    }
}
