use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use card_encryption::{CardNumber, KeyLoader};
use hmac_sessionkey::{
    Client, ClientBuilder, Credentials, HmacSecret, LockoutGuard, ManualCard, ManualClock,
    MemoryGuardStore, SignerId,
};
use payauth_sandbox::{
    CardKey, DEFAULT_EASYPAY_ACCOUNT, PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER, Sandbox,
};

pub(crate) const WRONG_TOKEN: &str = "00000000000000000000000000000000";

pub(crate) struct Env {
    pub(crate) sandbox: Sandbox,
    pub(crate) clock: ManualClock,
}

pub(crate) fn env() -> Env {
    let clock = ManualClock::fixed();
    let sandbox = Sandbox::builder().clock(clock.shared()).start().unwrap();
    Env { sandbox, clock }
}

impl Env {
    pub(crate) fn base(&self) -> String {
        format!("{}/APIcardProcREST/v1.0.0/", self.sandbox.url())
    }

    /// A builder on the shared clock with its own in-memory guard (tests must not share the
    /// process-wide one).
    pub(crate) fn builder_for(&self, account: (&str, &str)) -> ClientBuilder {
        Client::builder(Credentials::new(account.0, account.1).unwrap())
            .base_url(self.base())
            .clock(self.clock.shared())
            .lockout_guard(memory_guard())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder_for(DEFAULT_EASYPAY_ACCOUNT).build().unwrap()
    }

    pub(crate) fn pci_client(&self) -> Client {
        self.builder_for(PCI_EASYPAY_ACCOUNT)
            .secured_header(
                HmacSecret::new(PCI_EASYPAY_SIGNER.0).unwrap(),
                SignerId::new(PCI_EASYPAY_SIGNER.1).unwrap(),
            )
            .build()
            .unwrap()
    }

    pub(crate) fn authentications(&self) -> u64 {
        self.sandbox.counters().token_requests
    }
}

pub(crate) fn memory_guard() -> LockoutGuard {
    LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 3).unwrap()
}

/// A fresh path for a file-backed guard store.
pub(crate) fn guard_path() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "hmac-sessionkey-guard-{}-{n}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// A vendor test card encrypted with the sandbox's certificate, as a merchant server would.
pub(crate) fn encrypted_card(pan: &str, with_thumbprint: bool) -> ManualCard {
    let gateway = CardKey::bundled().unwrap();
    let key = KeyLoader::new()
        .load_bytes(gateway.certificate_der())
        .unwrap();
    let pan = CardNumber::parse(pan).unwrap();
    let encrypted = if with_thumbprint {
        key.encrypt_with_thumbprint(&pan)
    } else {
        key.encrypt(&pan)
    }
    .unwrap();
    ManualCard::new(encrypted.into_string(), 10, 2028, "122").unwrap()
}
