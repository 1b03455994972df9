#![doc = include_str!("../README.md")]

mod easypay_card;

pub use easypay_card::{CardKey, CardKeyError};
