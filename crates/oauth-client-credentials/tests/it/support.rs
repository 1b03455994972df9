use oauth_client_credentials::{
    AuthMethod, Client, ClientBuilder, Credentials, ManualClock, RetryPolicy,
};
use payauth_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox};

/// A sandbox and a client sharing one manual clock.
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
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    /// A builder for the default sandbox client, on the shared clock, failing fast, with the
    /// method the sandbox's default client takes (plain Basic), so token counts are not
    /// those of `Auto`'s first probe (tested in `auto`).
    pub(crate) fn builder(&self) -> ClientBuilder {
        self.builder_for(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            .auth_method(AuthMethod::BasicPlain)
    }

    pub(crate) fn builder_for(&self, id: &str, secret: &str) -> ClientBuilder {
        Client::builder(Credentials::new(id, secret).unwrap())
            .token_url(self.url("/api/token"))
            .clock(self.clock.shared())
            .retry(RetryPolicy::never())
    }

    pub(crate) fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    pub(crate) fn token_requests(&self) -> u64 {
        self.sandbox.counters().token_requests
    }
}

/// Polls `done` until it holds; panics after a generous bound (proof of "did not hang", not a
/// timing check).
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
