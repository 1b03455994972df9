//! The sandbox as a service: what `payauth-sandbox` and `payauth sandbox` run.

use std::io::{self, IsTerminal as _, Read as _, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::{Sandbox, SandboxBuilder};

/// Starts the sandbox from `builder`, prints its URL and every test credential to `out`, writes
/// the public test certificates into `certificates_dir` (when given) and prints their paths, logs
/// one line per request on stderr, and serves until SIGINT or SIGTERM (or Ctrl-D when stdin is a
/// terminal). A closed or redirected stdin does not stop it, so `sandbox &`, `nohup`, containers
/// and CI keep it running.
///
/// # Errors
/// When the signal handler cannot be installed, the port cannot be bound or the certificates
/// cannot be written.
pub fn run_service(
    builder: SandboxBuilder,
    certificates_dir: Option<&Path>,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Installed before the server starts: a signal sent once the URL is printed stops it cleanly.
    // `flag::register` works on every platform (the iterator API is Unix-only).
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let sandbox = builder
        .request_log(|record| eprintln!("{record}"))
        .start()?;
    writeln!(
        out,
        "payauth-sandbox listening on {} (the test credentials below are public)",
        sandbox.url()
    )?;
    writeln!(out, "{}", sandbox.credentials_summary())?;
    if let Some(dir) = certificates_dir {
        let files = Sandbox::write_certificates(dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write certificates to {}: {e}", dir.display()),
            )
        })?;
        writeln!(out, "certificates written:")?;
        writeln!(out, "  TLS CA (PEM)            {}", files.ca_pem.display())?;
        writeln!(out, "  TLS CA (DER)            {}", files.ca_der.display())?;
        writeln!(
            out,
            "  card certificate (PEM)  {}",
            files.card_pem.display()
        )?;
        writeln!(
            out,
            "  card certificate (DER)  {}",
            files.card_der.display()
        )?;
    }
    writeln!(
        out,
        "stop with SIGINT (Ctrl-C) or SIGTERM; request log on stderr"
    )?;
    out.flush()?;
    wait_for_stop(&stop);
    drop(sandbox);
    Ok(())
}

/// How often the waiting thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Blocks until a signal sets `stop`, or stdin ends when it is a terminal (Ctrl-D).
fn wait_for_stop(stop: &Arc<AtomicBool>) {
    if io::stdin().is_terminal() {
        let on_eof = Arc::clone(stop);
        let _ = std::thread::Builder::new()
            .name("sandbox-stdin".into())
            .spawn(move || {
                let _ = io::stdin().read_to_end(&mut Vec::new());
                on_eof.store(true, Ordering::SeqCst);
            });
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
    }
}
