//! The fault matrix: every client entry point against every fault the sandbox can script, over
//! plain HTTP and TLS, each cell checked against the promises the crates make.
//!
//! `cargo xtask faults` prints the figures; `cargo xtask bench` adds them to
//! `target/bench/report.json` as `faults.*`; the `fault_matrix_holds_every_promise` test runs it
//! inside `cargo test` (and so `cargo xtask test`).
//!
//! The table is data: a fault is one line in [`FAULTS`], a client entry point one line in
//! [`ENTRIES`].

use std::any::Any;
use std::collections::BTreeSet;
use std::error::Error as StdError;
use std::fmt::Debug;
use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use numcheck_client::payauth_core::{HttpSettings, RetryPolicy, TransportError};
use payauth_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_NUMCHECK_SECRET, DEFAULT_PAYROC_API_KEY,
    Fault, PCI_EASYPAY_ACCOUNT, PCI_EASYPAY_SIGNER, Sandbox,
};

use crate::process::Result;

/// Per-step timeout of every client under test: short, so timeouts are quick.
const TIMEOUT: Duration = Duration::from_millis(250);
/// Connect timeout of every client under test.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// The retry policies' overall deadline.
const DEADLINE: Duration = Duration::from_millis(1500);
/// A delay longer than [`TIMEOUT`].
const SLOW: Duration = Duration::from_millis(600);
/// How long one run of an entry point may take before the cell counts as an overrun: far above
/// what the timeouts allow (deadline plus three attempts of connect and three timed steps, for a
/// call and the token or session fetch in front of it), only to prove that nothing hung.
const RUN_BOUND: Duration = Duration::from_secs(15);
/// Cells run in parallel: they mostly wait on timeouts, not on the CPU.
const WORKERS: usize = 8;
/// The phone number NumCheck is asked to call.
const PHONE: &str = "37120000001";
/// A secret is leaked if any run of this many of its characters (or all of a shorter one)
/// appears in an output.
const LEAK_RUN: usize = 12;

/// Where a fault is applied.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Injected on the entry point's path, `times` times.
    Path,
    /// No sandbox at the URL: the client's connection is refused.
    Refused,
    /// The client does not trust the sandbox's CA: the TLS handshake fails (over HTTPS; over
    /// plain HTTP the cell is a clean run).
    Untrusted,
}

/// One row of the matrix: a fault and how often it hits.
struct FaultRow {
    name: &'static str,
    fault: fn() -> Option<Fault>,
    /// How many requests on the path it hits (every retry, when it is the attempt count).
    times: usize,
    /// How many times the entry point is called in the cell (2 for faults that hit the next
    /// request on a connection).
    runs: usize,
    target: Target,
}

const fn row(name: &'static str, fault: fn() -> Option<Fault>, times: usize) -> FaultRow {
    FaultRow {
        name,
        fault,
        times,
        runs: 1,
        target: Target::Path,
    }
}

fn raw(name: &str, value: &str) -> Option<Fault> {
    Some(Fault::RawMember {
        name: name.to_owned(),
        raw: value.to_owned(),
    })
}

fn too_many(retry_after: &str) -> Option<Fault> {
    Some(Fault::TooManyRequests {
        retry_after: retry_after.to_owned(),
    })
}

fn unavailable(retry_after: &str) -> Option<Fault> {
    Some(Fault::Unavailable {
        retry_after: retry_after.to_owned(),
    })
}

/// Every fault, one line each.
const FAULTS: &[FaultRow] = &[
    row("none", || None, 0),
    row("reset", || Some(Fault::Reset), 3),
    row("reset once", || Some(Fault::Reset), 1),
    row(
        "delay within timeout",
        || Some(Fault::Delay(Duration::from_millis(20))),
        1,
    ),
    row("delay past timeout", || Some(Fault::Delay(SLOW)), 3),
    row("html 500", || Some(Fault::HtmlError(500)), 3),
    row("html 501", || Some(Fault::HtmlError(501)), 3),
    row("html 502", || Some(Fault::HtmlError(502)), 3),
    row("html 404", || Some(Fault::HtmlError(404)), 1),
    row("malformed json", || Some(Fault::MalformedJson), 1),
    row("oversized body", || Some(Fault::OversizedBody(2 << 20)), 3),
    row("429 retry-after 0", || too_many("0"), 3),
    row("429 retry-after 29", || too_many("29"), 3),
    row(
        "429 retry-after past date",
        || too_many("Thu, 01 Jan 1970 00:00:00 GMT"),
        3,
    ),
    row(
        "429 retry-after far future",
        || too_many("Fri, 31 Dec 9999 23:59:59 GMT"),
        3,
    ),
    row(
        "429 retry-after u64::MAX",
        || too_many("18446744073709551615"),
        3,
    ),
    row("503 retry-after 0", || unavailable("0"), 3),
    row("503 retry-after 29", || unavailable("29"), 3),
    row("process then drop", || Some(Fault::ProcessThenDrop), 3),
    row(
        "process then delay",
        || Some(Fault::ProcessThenDelay(SLOW)),
        3,
    ),
    row("tls garbage after request", || Some(Fault::TlsGarbage), 3),
    row(
        "tls fatal alert after request",
        || Some(Fault::TlsFatalAlert),
        3,
    ),
    row("echo json 400", || Some(Fault::EchoJson(400)), 3),
    row("echo json 200", || Some(Fault::EchoJson(200)), 3),
    row("echo json 500", || Some(Fault::EchoJson(500)), 3),
    row("echo html 502", || Some(Fault::EchoHtml(502)), 3),
    row(
        "expires_in i64::MAX",
        || raw("expires_in", "9223372036854775807"),
        1,
    ),
    row(
        "expires_in u64::MAX",
        || raw("expires_in", "18446744073709551615"),
        1,
    ),
    row("expires_in 1e400", || raw("expires_in", "1e400"), 1),
    row("expires_in -5", || raw("expires_in", "-5"), 1),
    row("expires_in 0", || raw("expires_in", "0"), 1),
    row("expires_in \"abc\"", || raw("expires_in", "\"abc\""), 1),
    row("100 continue flood", || Some(Fault::ContinueFlood(1000)), 3),
    row(
        "head dripped",
        || Some(Fault::DripHead(Duration::from_millis(100))),
        3,
    ),
    row(
        "body dripped",
        || Some(Fault::DripBody(Duration::from_millis(100))),
        3,
    ),
    FaultRow {
        runs: 2,
        ..row("poisoned keep-alive", || Some(Fault::PoisonKeepAlive), 1)
    },
    row("huge ErrMsg", || Some(Fault::HugeErrMsg(900_000)), 3),
    FaultRow {
        target: Target::Refused,
        ..row("connection refused", || None, 0)
    },
    FaultRow {
        target: Target::Untrusted,
        ..row("tls handshake refused", || None, 0)
    },
];

/// What the EasyPay lockout guard must show after a cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GuardRule {
    /// Not an EasyPay entry point.
    None,
    /// The count equals the authentications that may have reached EasyPay since the last
    /// success.
    CountsWhatReached,
    /// Authentication happened (and succeeded) before the fault: the count stays 0.
    Zero,
}

/// One client entry point.
struct Entry {
    name: &'static str,
    /// The path the fault is injected on.
    path: &'static str,
    guard: GuardRule,
    /// Whether this entry point places a paid call.
    paid: bool,
    /// Whether every attempt must carry one idempotency key.
    idempotent_key: bool,
    run: fn(&Cell<'_>) -> std::result::Result<Vec<Outcome>, String>,
}

/// Every client entry point, one line each.
const ENTRIES: &[Entry] = &[
    Entry {
        name: "oauth token",
        path: "/api/token",
        guard: GuardRule::None,
        paid: false,
        idempotent_key: false,
        run: oauth_token,
    },
    Entry {
        name: "oauth send",
        path: "/api/resource",
        guard: GuardRule::None,
        paid: false,
        idempotent_key: false,
        run: oauth_send,
    },
    Entry {
        name: "easypay authenticate",
        path: "/APIcardProcREST/v1.0.0/Authenticate",
        guard: GuardRule::CountsWhatReached,
        paid: false,
        idempotent_key: false,
        run: easypay_authenticate,
    },
    Entry {
        name: "easypay call",
        path: "/APIcardProcREST/v1.0.0/CardSale/Void",
        guard: GuardRule::Zero,
        paid: false,
        idempotent_key: false,
        run: easypay_call,
    },
    Entry {
        name: "numcheck init-call",
        path: "/ru/init-call",
        guard: GuardRule::None,
        paid: true,
        idempotent_key: false,
        run: numcheck_init_call,
    },
    Entry {
        name: "numcheck get-call-info",
        path: "/ru/get-call-info",
        guard: GuardRule::None,
        paid: false,
        idempotent_key: false,
        run: numcheck_get_call_info,
    },
    Entry {
        name: "payroc authorize",
        path: "/authorize",
        guard: GuardRule::None,
        paid: false,
        idempotent_key: false,
        run: payroc_authorize,
    },
    Entry {
        name: "payroc session",
        path: "/v1/processing-terminals/1234001/hosted-fields-sessions",
        guard: GuardRule::None,
        paid: false,
        idempotent_key: true,
        run: payroc_session,
    },
];

/// The figures of one matrix run.
#[derive(Debug, Default, Clone)]
pub(crate) struct Report {
    pub(crate) cells: usize,
    pub(crate) panics: usize,
    pub(crate) leaks: usize,
    pub(crate) duplicate_paid_calls: usize,
    pub(crate) guard_miscounts: usize,
    pub(crate) overruns: usize,
    /// Transport errors that said "nothing was sent" although the request had reached the
    /// sandbox.
    pub(crate) untruthful_not_sent: usize,
    /// Payroc attempts of one call that carried different idempotency keys.
    pub(crate) idempotency_key_changes: usize,
    /// Cells whose setup (before the fault) failed: the cell proved nothing.
    pub(crate) setup_failures: usize,
    /// One line per broken promise, naming the cell.
    pub(crate) failures: Vec<String>,
}

impl Report {
    /// The `faults.*` figures for the benchmark report.
    pub(crate) fn figures(&self) -> Vec<(&'static str, f64)> {
        let n = |v: usize| v as f64;
        vec![
            ("faults.cells", n(self.cells)),
            ("faults.panics", n(self.panics)),
            ("faults.leaks", n(self.leaks)),
            ("faults.duplicate_paid_calls", n(self.duplicate_paid_calls)),
            ("faults.guard_miscounts", n(self.guard_miscounts)),
            ("faults.overruns", n(self.overruns)),
            ("faults.untruthful_not_sent", n(self.untruthful_not_sent)),
            (
                "faults.idempotency_key_changes",
                n(self.idempotency_key_changes),
            ),
            ("faults.setup_failures", n(self.setup_failures)),
        ]
    }

    /// Whether every promise held in every cell.
    pub(crate) fn clean(&self) -> bool {
        self.figures()
            .iter()
            .all(|(key, value)| *key == "faults.cells" || *value == 0.0)
            && self.failures.is_empty()
    }
}

/// `cargo xtask faults`: runs the matrix, prints its figures and writes them into
/// `target/bench/report.json` (keeping the other figures there).
pub(crate) fn run() -> Result {
    let report = run_matrix();
    print_report(&report);
    let dir = crate::process::root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("report.json");
    let mut figures = std::fs::read(&path)
        .ok()
        .and_then(|bytes| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes).ok()
        })
        .unwrap_or_default();
    for (key, value) in report.figures() {
        figures.insert(key.to_owned(), serde_json::Value::from(value as u64));
    }
    let text = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("   written to {}", path.display());
    if report.cells < 400 {
        return Err(format!("only {} cells in the fault matrix", report.cells));
    }
    if report.clean() {
        Ok(())
    } else {
        Err(format!(
            "{} broken promises in the fault matrix",
            report.failures.len()
        ))
    }
}

pub(crate) fn print_report(report: &Report) {
    println!(
        "\n== fault matrix: {} entry points x {} faults x 2 transports",
        ENTRIES.len(),
        FAULTS.len()
    );
    for (key, value) in report.figures() {
        println!("   {key:<34} {value}");
    }
    for failure in report.failures.iter().take(40) {
        println!("   BROKEN: {failure}");
    }
}

/// One cell's context: the sandbox, the URL the client uses, and the fault to inject.
struct Cell<'a> {
    sandbox: &'a Sandbox,
    base: String,
    tls: bool,
    trusted: bool,
    entry: &'a Entry,
    fault: &'a FaultRow,
}

/// One run of an entry point.
struct Outcome {
    ok: bool,
    /// `Debug` of the result and `Display` of every error in its chain.
    text: String,
    /// A transport error in the chain said nothing was sent.
    claimed_not_sent: bool,
    /// Requests on the entry point's path that reached the sandbox during the run.
    arrived: usize,
    /// Idempotency keys those requests carried.
    keys: BTreeSet<String>,
    /// Paid calls the sandbox placed during the run.
    placed: u64,
    /// Requests on the EasyPay authentication path during the run.
    auth_arrived: usize,
    /// The lockout guard's count after the run.
    guard: Option<u32>,
}

impl Cell<'_> {
    /// Injects the cell's fault (call it after the entry point's unfaulted setup).
    fn inject(&self) {
        if self.fault.target != Target::Path {
            return;
        }
        if let Some(fault) = (self.fault.fault)() {
            self.sandbox
                .inject_times(self.entry.path, fault, self.fault.times.max(1));
        }
    }

    fn retry(&self) -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(3)
            .backoff(Duration::from_millis(10), Duration::from_millis(40))
            .deadline(DEADLINE)
    }

    fn http(&self) -> HttpSettings {
        let settings = HttpSettings::new()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT);
        if self.tls && self.trusted {
            settings.trust(Sandbox::trust())
        } else {
            settings
        }
    }

    /// Runs `call`, recording what reached the sandbox meanwhile.
    fn measure<T: Debug, E: StdError + 'static>(
        &self,
        call: impl FnOnce() -> std::result::Result<T, E>,
        guard: impl FnOnce() -> Option<u32>,
    ) -> Outcome {
        let before = self.sandbox.arrivals().len();
        let placed_before = self.sandbox.counters().calls_placed;
        let result = call();
        let placed = self.sandbox.counters().calls_placed - placed_before;
        let guard = guard();
        let arrivals = self.sandbox.arrivals();
        let new = &arrivals[before.min(arrivals.len())..];
        let on_path: Vec<_> = new
            .iter()
            .filter(|a| a.path.trim_end_matches('/') == self.entry.path)
            .collect();
        let mut text = format!("{result:?}");
        let mut claimed_not_sent = false;
        if let Err(error) = &result {
            let mut next: Option<&(dyn StdError + 'static)> = Some(error);
            while let Some(e) = next {
                text.push('\n');
                text.push_str(&e.to_string());
                text.push('\n');
                text.push_str(&format!("{e:?}"));
                if let Some(transport) = e.downcast_ref::<TransportError>() {
                    claimed_not_sent |= !transport.may_have_reached_server();
                }
                next = e.source();
            }
        }
        Outcome {
            ok: result.is_ok(),
            text,
            claimed_not_sent,
            arrived: on_path.len(),
            placed,
            keys: on_path
                .iter()
                .filter_map(|a| a.idempotency_key.clone())
                .collect(),
            auth_arrived: new
                .iter()
                .filter(|a| a.path.ends_with("/Authenticate"))
                .count(),
            guard,
        }
    }

    fn runs(&self) -> usize {
        self.fault.runs
    }
}

fn oauth_token(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = oauth_client(cell)?;
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| {
            cell.measure(
                || {
                    // A fresh token each run: the fault is on the token endpoint.
                    let token = client.bearer();
                    if let Ok(token) = &token {
                        client.invalidate(token);
                    }
                    token
                },
                || None,
            )
        })
        .collect())
}

fn oauth_send(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = oauth_client(cell)?;
    if cell.fault.target == Target::Path {
        client.bearer().map_err(|e| format!("setup: {e}"))?;
    }
    cell.inject();
    let url = format!("{}/api/resource", cell.base);
    Ok((0..cell.runs())
        .map(|_| cell.measure(|| client.get(&url), || None))
        .collect())
}

fn oauth_client(cell: &Cell<'_>) -> std::result::Result<oauth_client_credentials::Client, String> {
    use oauth_client_credentials::{Client, Credentials};
    let credentials =
        Credentials::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).map_err(|e| e.to_string())?;
    let builder = Client::builder(credentials)
        .token_url(format!("{}/api/token", cell.base))
        .http(cell.http())
        .retry(cell.retry());
    builder.build().map_err(|e| e.to_string())
}

fn easypay_guard() -> std::result::Result<hmac_sessionkey::LockoutGuard, String> {
    use hmac_sessionkey::{LockoutGuard, MemoryGuardStore};
    LockoutGuard::new(Arc::new(MemoryGuardStore::new()), 5).map_err(|e| e.to_string())
}

fn easypay_client(
    cell: &Cell<'_>,
    guard: hmac_sessionkey::LockoutGuard,
) -> std::result::Result<hmac_sessionkey::Client, String> {
    use hmac_sessionkey::{Client, Credentials, HmacSecret, SignerId};
    let e = |e: hmac_sessionkey::Error| e.to_string();
    let builder =
        Client::builder(Credentials::new(PCI_EASYPAY_ACCOUNT.0, PCI_EASYPAY_ACCOUNT.1).map_err(e)?)
            .base_url(format!("{}/APIcardProcREST/v1.0.0/", cell.base))
            .secured_header(
                HmacSecret::new(PCI_EASYPAY_SIGNER.0).map_err(e)?,
                SignerId::new(PCI_EASYPAY_SIGNER.1).map_err(e)?,
            )
            .lockout_guard(guard)
            .http(cell.http());
    builder.build().map_err(e)
}

fn guard_count(client: &hmac_sessionkey::Client) -> Option<u32> {
    client
        .lockout_guard()
        .state()
        .ok()
        .map(|s| s.consecutive_failures())
}

fn easypay_authenticate(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let guard = easypay_guard()?;
    cell.inject();
    let mut outcomes = Vec::new();
    for _ in 0..cell.runs() {
        // A new client per run, over the same guard, so each run authenticates.
        let client = easypay_client(cell, guard.clone())?;
        outcomes.push(cell.measure(|| client.session(), || guard_count(&client)));
    }
    Ok(outcomes)
}

fn easypay_call(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = easypay_client(cell, easypay_guard()?)?;
    if cell.fault.target == Target::Path {
        client.session().map_err(|e| format!("setup: {e}"))?;
    }
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| cell.measure(|| client.void(53_000), || guard_count(&client)))
        .collect())
}

fn numcheck_client(cell: &Cell<'_>) -> std::result::Result<numcheck_client::Client, String> {
    use numcheck_client::{Client, ServiceSecret};
    let secret = ServiceSecret::new(DEFAULT_NUMCHECK_SECRET).map_err(|e| e.to_string())?;
    let builder = Client::builder(secret)
        .base_url(cell.base.clone())
        .http(cell.http())
        .retry(cell.retry());
    builder.build().map_err(|e| e.to_string())
}

fn phone() -> std::result::Result<numcheck_client::Phone, String> {
    numcheck_client::Phone::parse(PHONE).map_err(|e| e.to_string())
}

fn numcheck_init_call(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = numcheck_client(cell)?;
    let phone = phone()?;
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| cell.measure(|| client.init_call(&phone, None), || None))
        .collect())
}

fn numcheck_get_call_info(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = numcheck_client(cell)?;
    let call_id = if cell.fault.target == Target::Path {
        client
            .init_call(&phone()?, None)
            .map_err(|e| format!("setup: {e}"))?
            .id()
            .to_owned()
    } else {
        "33168".to_owned()
    };
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| cell.measure(|| client.call_status(&call_id), || None))
        .collect())
}

fn payroc_client(cell: &Cell<'_>) -> std::result::Result<payroc_hostedfields::Client, String> {
    use payroc_hostedfields::{ApiKey, Client, Environment};
    let key = ApiKey::new(DEFAULT_PAYROC_API_KEY).map_err(|e| e.to_string())?;
    let builder = Client::builder(key)
        .environment(Environment::Test)
        .identity_url(format!("{}/authorize", cell.base))
        .api_base(format!("{}/v1", cell.base))
        .http(cell.http())
        .retry(cell.retry());
    builder.build().map_err(|e| e.to_string())
}

fn payroc_authorize(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    let client = payroc_client(cell)?;
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| {
            cell.measure(
                || {
                    let token = client.bearer();
                    if let Ok(token) = &token {
                        client.invalidate(token);
                    }
                    token
                },
                || None,
            )
        })
        .collect())
}

fn payroc_session(cell: &Cell<'_>) -> std::result::Result<Vec<Outcome>, String> {
    use payroc_hostedfields::{SessionRequest, TerminalId};
    let client = payroc_client(cell)?;
    if cell.fault.target == Target::Path {
        client.bearer().map_err(|e| format!("setup: {e}"))?;
    }
    let terminal = TerminalId::new("1234001").map_err(|e| e.to_string())?;
    cell.inject();
    Ok((0..cell.runs())
        .map(|_| {
            cell.measure(
                || client.create_session(&SessionRequest::payment(terminal.clone())),
                || None,
            )
        })
        .collect())
}

/// The secrets a cell's client holds or sent: the configured ones, and every credential header
/// and phone number that reached the sandbox.
fn secrets(sandbox: &Sandbox) -> Vec<String> {
    let mut secrets: Vec<String> = [
        DEFAULT_CLIENT_SECRET,
        DEFAULT_NUMCHECK_SECRET,
        DEFAULT_PAYROC_API_KEY,
        PCI_EASYPAY_ACCOUNT.1,
        PCI_EASYPAY_SIGNER.0,
        PHONE,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for arrival in sandbox.arrivals() {
        for (name, value) in &arrival.headers {
            let name = name.to_ascii_lowercase();
            if matches!(
                name.as_str(),
                "authorization" | "sesskey" | "x-api-key" | "x-auth-token"
            ) {
                secrets.push(value.clone());
                if let Some((_, credential)) = value.split_once(' ') {
                    secrets.push(credential.trim().to_owned());
                }
                if let Some((key, _)) = value.split_once('_') {
                    secrets.push(key.to_owned());
                }
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    secrets.retain(|s| s.len() >= 6);
    secrets
}

/// Whether `text` holds a run of [`LEAK_RUN`] characters of `secret` (all of it when shorter).
fn leaks(text: &str, secret: &str) -> bool {
    let bytes = secret.as_bytes();
    let run = LEAK_RUN.min(bytes.len());
    bytes
        .windows(run)
        .any(|w| std::str::from_utf8(w).is_ok_and(|w| text.contains(w)))
}

/// Runs one cell and adds what it found to `report`.
fn run_cell(entry: &Entry, fault: &FaultRow, tls: bool, report: &Mutex<Report>) {
    let label = format!(
        "{} x {} over {}",
        entry.name,
        fault.name,
        if tls { "https" } else { "http" }
    );
    let mut found = Report {
        cells: 1,
        ..Report::default()
    };
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        check_cell(entry, fault, tls, &label, &mut found)
    }));
    if let Err(panic) = outcome {
        found.panics += 1;
        found
            .failures
            .push(format!("{label}: panicked: {}", panic_text(&panic)));
    }
    let bound = RUN_BOUND * u32::try_from(fault.runs).unwrap_or(u32::MAX);
    if started.elapsed() > bound {
        found.overruns += 1;
        found.failures.push(format!(
            "{label}: ran {:?}, past its bound",
            started.elapsed()
        ));
    }
    let mut total = report.lock().unwrap_or_else(PoisonError::into_inner);
    total.cells += found.cells;
    total.panics += found.panics;
    total.leaks += found.leaks;
    total.duplicate_paid_calls += found.duplicate_paid_calls;
    total.guard_miscounts += found.guard_miscounts;
    total.overruns += found.overruns;
    total.untruthful_not_sent += found.untruthful_not_sent;
    total.idempotency_key_changes += found.idempotency_key_changes;
    total.setup_failures += found.setup_failures;
    total.failures.append(&mut found.failures);
}

fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

fn check_cell(entry: &Entry, fault: &FaultRow, tls: bool, label: &str, found: &mut Report) {
    let mut builder = Sandbox::builder();
    if tls {
        builder = builder.tls();
    }
    let sandbox = match builder.start() {
        Ok(sandbox) => sandbox,
        Err(e) => {
            found.setup_failures += 1;
            found
                .failures
                .push(format!("{label}: sandbox did not start: {e}"));
            return;
        }
    };
    let base = match fault.target {
        Target::Refused => {
            let scheme = if tls { "https" } else { "http" };
            // Bind, read the port, release it: nothing listens there any more.
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or(9);
            format!("{scheme}://127.0.0.1:{port}")
        }
        _ => sandbox.url(),
    };
    let cell = Cell {
        sandbox: &sandbox,
        base,
        tls,
        trusted: fault.target != Target::Untrusted,
        entry,
        fault,
    };
    let outcomes = match (entry.run)(&cell) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            found.setup_failures += 1;
            found.failures.push(format!("{label}: setup failed: {e}"));
            return;
        }
    };
    let secrets = secrets(&sandbox);
    let mut expected_guard = 0u32;
    for (run, outcome) in outcomes.iter().enumerate() {
        let at = format!("{label} (run {})", run + 1);
        if let Some(secret) = secrets.iter().find(|s| leaks(&outcome.text, s)) {
            found.leaks += 1;
            let shown: String = secret.chars().take(3).collect();
            found
                .failures
                .push(format!("{at}: a secret ({shown}...) appears in the result"));
        }
        if outcome.claimed_not_sent && outcome.arrived > 0 {
            found.untruthful_not_sent += 1;
            found.failures.push(format!(
                "{at}: the error says nothing was sent, but {} request(s) reached the sandbox",
                outcome.arrived
            ));
        }
        // More than one init-call may reach NumCheck only when the extra ones were refused
        // unprocessed (429, the documented retry); never more than one call placed.
        let refused_unprocessed = matches!((fault.fault)(), Some(Fault::TooManyRequests { .. }));
        let reached = if refused_unprocessed {
            outcome.placed
        } else {
            outcome.arrived as u64
        };
        if entry.paid && reached.max(outcome.placed) > 1 {
            found.duplicate_paid_calls += 1;
            found.failures.push(format!(
                "{at}: init-call reached the sandbox {} times",
                outcome.arrived
            ));
        }
        if entry.idempotent_key && outcome.keys.len() > 1 {
            found.idempotency_key_changes += 1;
            found.failures.push(format!(
                "{at}: {} idempotency keys for one call",
                outcome.keys.len()
            ));
        }
        let expected = match entry.guard {
            GuardRule::None => None,
            GuardRule::Zero => Some(0),
            GuardRule::CountsWhatReached => {
                expected_guard = if outcome.ok {
                    0
                } else {
                    expected_guard + u32::try_from(outcome.auth_arrived).unwrap_or(u32::MAX)
                };
                Some(expected_guard)
            }
        };
        if let Some(expected) = expected
            && outcome.guard != Some(expected)
        {
            found.guard_miscounts += 1;
            found.failures.push(format!(
                "{at}: guard counts {:?}, but {expected} authentication(s) may have reached EasyPay",
                outcome.guard
            ));
        }
    }
}

/// Runs every cell, [`WORKERS`] at a time.
pub(crate) fn run_matrix() -> Report {
    let cells: Vec<(&Entry, &FaultRow, bool)> = ENTRIES
        .iter()
        .flat_map(|entry| {
            FAULTS
                .iter()
                .flat_map(move |fault| [false, true].map(|tls| (entry, fault, tls)))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Report::default());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(entry, fault, tls)) = cells.get(index) else {
                        return;
                    };
                    run_cell(entry, fault, tls, &report);
                }
            });
        }
    });
    report.into_inner().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_matrix_holds_every_promise() {
        let report = run_matrix();
        print_report(&report);
        assert!(report.cells >= 400, "only {} cells", report.cells);
        assert_eq!(report.cells, ENTRIES.len() * FAULTS.len() * 2);
        assert!(report.clean(), "{:#?}", report.failures);
    }

    #[test]
    fn the_leak_check_can_fail() {
        assert!(leaks("xx s3cr+t/=:%&o xx", DEFAULT_CLIENT_SECRET));
        assert!(!leaks("xx s3cr+t/=:% xx", DEFAULT_CLIENT_SECRET));
        assert!(leaks("phone 37120000001", PHONE));
    }
}
