use numcheck_client::{
    Call, Client, ClientBuilder, Clock as _, ManualClock, PendingVerification, Phone,
    ServiceSecret, VerificationKey, VerificationPolicy,
};
use payauth_sandbox::{DEFAULT_NUMCHECK_SECRET, Sandbox};

/// The phone the tests call, in the form a user types it.
pub(crate) const USER_PHONE: &str = "+7 (999) 123-45-67";
pub(crate) const USER_PHONE_DIGITS: &str = "79991234567";

/// A sandbox and a client sharing one manual clock, so call lifecycles, polls and retry waits
/// all happen instantly.
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
    /// A builder for the default sandbox service, on the shared clock, with the default retries.
    pub(crate) fn builder(&self) -> ClientBuilder {
        Client::builder(ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).unwrap())
            .base_url(self.sandbox.url())
            .clock(self.clock.shared())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    pub(crate) fn call(&self) -> Call {
        self.client().init_call(&phone(), None).unwrap()
    }

    pub(crate) fn calls_placed(&self) -> u64 {
        self.sandbox.counters().calls_placed
    }

    pub(crate) fn requests(&self) -> u64 {
        self.sandbox.counters().requests
    }
}

pub(crate) fn phone() -> Phone {
    Phone::parse(USER_PHONE).unwrap()
}

pub(crate) fn key() -> VerificationKey {
    VerificationKey::new(*b"application key: 32 bytes or more").unwrap()
}

pub(crate) fn pending(env: &Env, call: &Call) -> PendingVerification {
    PendingVerification::new(call, &key(), env.clock.now(), VerificationPolicy::default())
}
