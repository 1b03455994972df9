//! A sandbox and a client sharing one manual clock: expiry happens when a test says so, and
//! retry waits are instant (recorded by the clock).

use payauth_sandbox::{DEFAULT_PAYROC_API_KEY, Sandbox};
use payroc_hostedfields::{
    ApiKey, Client, ClientBuilder, Environment, ManualClock, SessionRequest, TerminalId,
};

pub(crate) const TERMINAL: &str = "1234001";

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
    /// The UAT preset pointed at the sandbox: identity `{sandbox}/authorize`, API `{sandbox}/v1`,
    /// UAT's `libVersion`, the default retry policy on the shared clock.
    pub(crate) fn builder(&self) -> ClientBuilder {
        self.builder_for(DEFAULT_PAYROC_API_KEY)
    }

    pub(crate) fn builder_for(&self, api_key: &str) -> ClientBuilder {
        let url = self.sandbox.url();
        Client::builder(ApiKey::new(api_key).unwrap())
            .environment(Environment::Test)
            .identity_url(format!("{url}/authorize"))
            .api_base(format!("{url}/v1"))
            .clock(self.clock.shared())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    pub(crate) fn authorize_calls(&self) -> u64 {
        self.sandbox.counters().token_requests
    }

    pub(crate) fn sessions_created(&self) -> u64 {
        self.sandbox.counters().sessions_created
    }

    /// The path faults are injected on for [`TERMINAL`].
    pub(crate) fn sessions_path(&self) -> String {
        format!("/v1/processing-terminals/{TERMINAL}/hosted-fields-sessions")
    }
}

pub(crate) fn payment() -> SessionRequest {
    SessionRequest::payment(TerminalId::new(TERMINAL).unwrap())
}
