#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod card;
mod card_info;
mod certificate;
mod decode;
mod encrypted;
mod error;
mod key;
mod rotation;
mod time_fmt;

pub use backend::Backend;
pub use card::{Brand, CardNumber};
pub use card_info::CardInfo;
pub use certificate::{CertificateFacts, Thumbprint};
pub use encrypted::EncryptedPan;
pub use error::{Error, PanRule, Result};
pub use key::{EncryptionKey, KeyLoader};
pub use rotation::{Reload, RotatingKey};
