//! `cargo xtask bench`: every benchmark against its reference, measured in this one run, reported
//! as ratios in `target/bench/report.json` (flat, named numbers) and `target/bench/report.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use crate::process::{Result, capture, cargo, has, root};

type Figures = BTreeMap<String, f64>;

/// A target: the figure, the bound it must meet, and what it compares.
struct Target {
    key: &'static str,
    bound: Bound,
    what: &'static str,
}

/// Ratios of time and counts of requests have a ceiling; speed-ups have a floor.
#[derive(Clone, Copy)]
enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

impl Bound {
    fn met(self, value: f64) -> bool {
        match self {
            Bound::AtMost(max) => value <= max,
            Bound::AtLeast(min) => value >= min,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::AtMost(max) => write!(f, "≤ {max:.2}"),
            Bound::AtLeast(min) => write!(f, "≥ {min:.2}"),
        }
    }
}

const TARGETS: &[Target] = &[
    Target {
        key: "fleet.token_requests_per_lifetime_8x8",
        bound: Bound::AtMost(1.0),
        what: "fleet: token requests of 8 processes x 8 threads sharing Redis, one lifetime",
    },
    Target {
        key: "fleet.guard_attempts_8_processes_bad_token_file",
        bound: Bound::AtMost(1.0),
        what: "fleet: EasyPay attempts of 8 processes started at once with a bad token, file guard",
    },
    Target {
        key: "fleet.guard_attempts_8_processes_bad_token_redis",
        bound: Bound::AtMost(1.0),
        what: "fleet: EasyPay attempts of 8 processes started at once with a bad token, Redis guard",
    },
    Target {
        key: "fleet.cached_bearer_redis_vs_memory_ratio",
        bound: Bound::AtMost(1.5),
        what: "fleet: cached bearer() with the Redis store plugged in vs the default store",
    },
    Target {
        key: "fleet.callers_waiting_during_refresh",
        bound: Bound::AtMost(0.0),
        what: "fleet: calls over 100 ms during a refresh-ahead through a 2 s token endpoint, 16 x 200",
    },
    Target {
        key: "easypay.auth_requests_per_10k_calls",
        bound: Bound::AtMost(1.0),
        what: "easypay: authentications per 10,000 calls inside 25 h",
    },
    Target {
        key: "easypay.secured_header_vs_bare_hmac_ratio",
        bound: Bound::AtMost(1.5),
        what: "easypay: secured SessKey header vs a bare HMAC-SHA256 of the same bytes",
    },
    Target {
        key: "oauth.cached_bearer_vs_mutex_ratio",
        bound: Bound::AtMost(2.0),
        what: "oauth: cached bearer() vs cloning a String behind a Mutex",
    },
    Target {
        key: "oauth.call_vs_bare_ureq_ratio",
        bound: Bound::AtMost(1.10),
        what: "oauth: authenticated call vs bare ureq with a fixed header (loopback)",
    },
    Target {
        key: "oauth.token_requests_per_10k_calls",
        bound: Bound::AtMost(1.0),
        what: "oauth: token requests per 10,000 calls over 32 threads in one lifetime",
    },
    Target {
        key: "payroc.authorize_per_1k_sessions",
        bound: Bound::AtMost(1.0),
        what: "payroc: authorize calls per 1,000 sessions over 16 threads",
    },
    Target {
        key: "payroc.session_vs_bare_ureq_ratio",
        bound: Bound::AtMost(1.10),
        what: "payroc: session call vs bare ureq with fixed headers (loopback)",
    },
    Target {
        key: "card_encryption.rsa2048.default_vs_rsa_crate_ratio",
        bound: Bound::AtMost(1.10),
        what: "card-encryption (default backend) vs bare rsa 0.10, RSA-2048",
    },
    Target {
        key: "card_encryption.rsa4096.default_vs_rsa_crate_ratio",
        bound: Bound::AtMost(1.10),
        what: "card-encryption (default backend) vs bare rsa 0.10, RSA-4096",
    },
    Target {
        key: "card_encryption.rsa2048.default_vs_rsa09_speedup",
        bound: Bound::AtLeast(1.0),
        what: "card-encryption (default backend, rsa 0.10) speed-up over bare rsa 0.9, RSA-2048",
    },
    Target {
        key: "card_encryption.rsa4096.default_vs_rsa09_speedup",
        bound: Bound::AtLeast(3.0),
        what: "card-encryption (default backend, rsa 0.10) speed-up over bare rsa 0.9, RSA-4096",
    },
    Target {
        key: "card_encryption.rsa2048.aws_lc_vs_openssl_ratio",
        bound: Bound::AtMost(1.20),
        what: "card-encryption (aws-lc backend) vs OpenSSL public-key op, RSA-2048",
    },
    Target {
        key: "card_encryption.rsa4096.aws_lc_vs_openssl_ratio",
        bound: Bound::AtMost(1.20),
        what: "card-encryption (aws-lc backend) vs OpenSSL public-key op, RSA-4096",
    },
    Target {
        key: "faults.cells",
        bound: Bound::AtLeast(400.0),
        what: "fault matrix: cells run (entry points x faults x transports)",
    },
    Target {
        key: "faults.panics",
        bound: Bound::AtMost(0.0),
        what: "fault matrix: cells that panicked",
    },
    Target {
        key: "faults.leaks",
        bound: Bound::AtMost(0.0),
        what: "fault matrix: results showing a secret the client holds",
    },
    Target {
        key: "faults.duplicate_paid_calls",
        bound: Bound::AtMost(0.0),
        what: "fault matrix: extra init-call requests that reached the sandbox",
    },
    Target {
        key: "faults.guard_miscounts",
        bound: Bound::AtMost(0.0),
        what: "fault matrix: lockout guard counts differing from what may have reached EasyPay",
    },
    Target {
        key: "faults.overruns",
        bound: Bound::AtMost(0.0),
        what: "fault matrix: cells that ran past their bound",
    },
];

pub(crate) fn run() -> Result {
    let mut figures = Figures::new();
    card_encryption(&mut figures)?;
    oauth(&mut figures)?;
    easypay(&mut figures)?;
    payroc(&mut figures)?;
    fleet(&mut figures)?;
    faults(&mut figures);

    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (json, markdown) = (to_json(&figures), to_markdown(&figures));
    for (name, text) in [("report.json", &json), ("report.md", &markdown)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("\n{markdown}\nwritten to target/bench/report.json and target/bench/report.md");

    let missed: Vec<&str> = TARGETS
        .iter()
        .filter(|t| figures.get(t.key).is_none_or(|&v| !t.bound.met(v)))
        .map(|t| t.key)
        .collect();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("targets missed: {}", missed.join(", ")))
    }
}

/// Runs one `harness = false` bench and collects its `name value` lines. With `pin`, the bench
/// binary (not the build) runs on one CPU when `taskset` is available.
fn run_bench(
    figures: &mut Figures,
    package: &str,
    bench: &str,
    features: &[&str],
    pin: bool,
) -> Result {
    let mut cmd = cargo(["bench", "--quiet", "-p", package, "--bench", bench]);
    for feature in features {
        cmd.args(["--features", feature]);
    }
    if pin && has("taskset", &["-c", "0", "true"]) {
        println!("    (bench binary pinned to CPU 0)");
        cmd.args([
            "--config",
            "target.'cfg(all())'.runner = ['taskset', '-c', '0']",
        ]);
    } else if pin {
        println!("    (taskset not found: unpinned, expect noisier ratios)");
    }
    let output = capture(&mut cmd)?;
    if !output.status.success() {
        return Err(format!(
            "{package} bench {bench} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((key, value)) = line.split_once(' ')
            && let Ok(value) = value.trim().parse::<f64>()
        {
            figures.insert(key.to_owned(), value);
        }
    }
    Ok(())
}

/// The fault matrix, in process: its `faults.*` counts.
fn faults(figures: &mut Figures) {
    println!("\n==> fault matrix");
    let report = crate::faults::run_matrix();
    crate::faults::print_report(&report);
    for (key, value) in report.figures() {
        figures.insert(key.to_owned(), value);
    }
}

fn figure(figures: &Figures, key: &str) -> Result<f64> {
    figures
        .get(key)
        .copied()
        .ok_or_else(|| format!("the bench printed no {key}"))
}

fn oauth(figures: &mut Figures) -> Result {
    println!("==> oauth-client-credentials: token cache and calls vs references, on the sandbox");
    run_bench(figures, "oauth-client-credentials", "oauth", &[], true)?;
    let ratio = figure(figures, "oauth.cached_bearer_ns")?
        / figure(figures, "oauth.mutex_string_clone_ns")?;
    figures.insert("oauth.cached_bearer_vs_mutex_ratio".into(), ratio);
    let ratio = figure(figures, "oauth.call_us")? / figure(figures, "oauth.bare_ureq_call_us")?;
    figures.insert("oauth.call_vs_bare_ureq_ratio".into(), ratio);
    Ok(())
}

fn payroc(figures: &mut Figures) -> Result {
    println!("==> payroc-hostedfields: session calls vs bare ureq, authorize calls");
    run_bench(figures, "payroc-hostedfields", "payroc", &[], true)?;
    let ratio = figure(figures, "payroc.session_call_us")?
        / figure(figures, "payroc.bare_ureq_session_call_us")?;
    figures.insert("payroc.session_vs_bare_ureq_ratio".into(), ratio);
    Ok(())
}

fn fleet(figures: &mut Figures) -> Result {
    println!("==> payauth-redis: a fleet of processes sharing a real redis-server");
    crate::redis::require_redis_server()?;
    // Unpinned: it runs worker processes and a Redis server beside the bench binary.
    run_bench(figures, "payauth-redis", "fleet", &[], false)
}

fn easypay(figures: &mut Figures) -> Result {
    println!("==> hmac-sessionkey: session reuse and the secured header, on the sandbox");
    run_bench(figures, "hmac-sessionkey", "easypay", &[], true)?;
    let ratio =
        figure(figures, "easypay.secured_header_ns")? / figure(figures, "easypay.bare_hmac_ns")?;
    figures.insert("easypay.secured_header_vs_bare_hmac_ratio".into(), ratio);
    Ok(())
}

fn card_encryption(figures: &mut Figures) -> Result {
    println!("==> card-encryption: our API on both backends vs bare rsa 0.10 and rsa 0.9");
    run_bench(figures, "card-encryption", "encrypt", &["aws-lc"], false)?;

    println!("==> OpenSSL public-key operation (openssl speed -seconds 2 rsa2048 rsa4096)");
    let verify_us = openssl_verify_us()?;
    for bits in [2048, 4096] {
        let prefix = format!("card_encryption.rsa{bits}");
        let openssl = *verify_us
            .get(&bits)
            .ok_or_else(|| format!("openssl speed printed no rsa{bits} line"))?;
        figures.insert(format!("{prefix}.openssl_verify_us"), openssl);
        let get = |name: &str| figure(figures, &format!("{prefix}.{name}"));
        let (ours, rsa_crate, rsa09, aws_lc) = (
            get("ours_default_us")?,
            get("rsa_crate_us")?,
            get("rsa09_crate_us")?,
            get("ours_aws_lc_us")?,
        );
        figures.insert(
            format!("{prefix}.default_vs_rsa_crate_ratio"),
            ours / rsa_crate,
        );
        figures.insert(format!("{prefix}.default_vs_rsa09_speedup"), rsa09 / ours);
        figures.insert(format!("{prefix}.default_vs_openssl_ratio"), ours / openssl);
        figures.insert(
            format!("{prefix}.aws_lc_vs_openssl_ratio"),
            aws_lc / openssl,
        );
        figures.insert(
            format!("{prefix}.rsa_crate_vs_aws_lc_speedup"),
            rsa_crate / aws_lc,
        );
    }
    Ok(())
}

/// Microseconds per RSA public-key operation by key size, from `openssl speed`'s verify/s.
fn openssl_verify_us() -> Result<BTreeMap<u32, f64>> {
    let output =
        capture(Command::new("openssl").args(["speed", "-seconds", "2", "rsa2048", "rsa4096"]))?;
    if !output.status.success() {
        return Err("openssl speed failed".into());
    }
    // "rsa 4096 bits 0.004497s 0.000069s    222.4  14503.7": the last column is verify/s.
    let mut result = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let ["rsa", bits, "bits", .., verify_per_s] = fields.as_slice()
            && let (Ok(bits), Ok(rate)) = (bits.parse(), verify_per_s.parse::<f64>())
        {
            result.insert(bits, 1e6 / rate);
        }
    }
    Ok(result)
}

fn to_json(figures: &Figures) -> String {
    let body: Vec<String> = figures
        .iter()
        .map(|(key, value)| format!("  \"{key}\": {}", round(*value)))
        .collect();
    format!("{{\n{}\n}}\n", body.join(",\n"))
}

fn to_markdown(figures: &Figures) -> String {
    let mut out = String::from("| benchmark | ratio | target | verdict |\n|---|---|---|---|\n");
    for t in TARGETS {
        let (value, verdict) = match figures.get(t.key) {
            Some(&v) => (
                format!("{v:.3}"),
                if t.bound.met(v) { "met" } else { "MISSED" },
            ),
            None => ("-".into(), "MISSING"),
        };
        let _ = writeln!(out, "| {} | {value} | {} | {verdict} |", t.what, t.bound);
    }
    out.push_str("\n| figure | value |\n|---|---|\n");
    for (key, value) in figures {
        let _ = writeln!(out, "| `{key}` | {} |", round(*value));
    }
    out
}

fn round(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
