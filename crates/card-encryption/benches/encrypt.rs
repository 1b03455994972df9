//! Per-encryption cost of a 16-digit PAN: our API on each backend against bare calls of the `rsa`
//! crate we build on (0.10) and of its previous generation (0.9, a bench-only dev-dependency, so the
//! upgrade's speed-up is measured in one run), on the same keys in the same process. Run through `cargo xtask bench`, which adds OpenSSL's
//! public-key operation as the hardware limit and turns the figures into ratios.
//!
//! Prints one `name value` line per figure (microseconds per operation, median of interleaved
//! rounds), so no figure is compared with one from another run.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use card_encryption::{Backend, CardNumber, KeyLoader};
use rsa::pkcs8::DecodePublicKey as _;
use rsa09::pkcs8::DecodePublicKey as _;
use sha1::Sha1;

const PAN: &str = "4761530001111118";
const ROUNDS: usize = 31;

fn main() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    for bits in [2048, 4096] {
        let cert = format!("{data}/rsa{bits}-cert.pem");
        let ours = |backend| KeyLoader::new().backend(backend).load_file(&cert).unwrap();
        let (rust_crypto, aws_lc) = (ours(Backend::RustCrypto), ours(Backend::AwsLc));
        let spki = std::fs::read_to_string(format!("{data}/rsa{bits}-spki.pem")).unwrap();
        let bare = rsa::PublicKey::from_public_key_pem(&spki).unwrap();
        let bare09 = rsa09::RsaPublicKey::from_public_key_pem(&spki).unwrap();
        // Enough operations per batch that the clock's resolution does not matter.
        let batch = if bits == 2048 { 40 } else { 12 };

        let mut samples: [Vec<f64>; 4] = Default::default();
        for _ in 0..ROUNDS {
            // Interleaved, so a slow moment of the machine hits every candidate alike.
            samples[0].push(per_op(batch, || {
                let pan = CardNumber::parse(black_box(PAN)).unwrap();
                black_box(rust_crypto.encrypt(&pan).unwrap());
            }));
            samples[1].push(per_op(batch, || {
                let pan = black_box(PAN).as_bytes();
                black_box(bare.oaep_encrypt::<Sha1>(pan).unwrap());
            }));
            samples[2].push(per_op(batch, || {
                let pan = black_box(PAN).as_bytes();
                let padding = rsa09::Oaep::new::<sha1_010::Sha1>();
                let mut rng = rsa09::rand_core::OsRng;
                black_box(bare09.encrypt(&mut rng, padding, pan).unwrap());
            }));
            samples[3].push(per_op(batch * 10, || {
                let pan = CardNumber::parse(black_box(PAN)).unwrap();
                black_box(aws_lc.encrypt(&pan).unwrap());
            }));
        }
        let [ours_default, rsa_crate, rsa09_crate, ours_aws_lc] = samples.map(median);
        println!("card_encryption.rsa{bits}.ours_default_us {ours_default:.2}");
        println!("card_encryption.rsa{bits}.rsa_crate_us {rsa_crate:.2}");
        println!("card_encryption.rsa{bits}.rsa09_crate_us {rsa09_crate:.2}");
        println!("card_encryption.rsa{bits}.ours_aws_lc_us {ours_aws_lc:.2}");
    }
}

/// Microseconds per call of `op`, over one batch.
fn per_op(batch: usize, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        op();
    }
    start.elapsed().as_secs_f64() * 1e6 / batch as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
