//! `cargo xtask msrv`: builds and tests the publishable crates on the toolchain their
//! `rust-version` declares, so the declaration is checked rather than assumed.

use std::collections::BTreeMap;
use std::process::Command;

use crate::process::{Result, capture, root, step};
use crate::release::Workspace;
use crate::test::banner;

pub(crate) fn run() -> Result {
    let ws = Workspace::load(&root())?;
    let mut by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for member in ws.publishable() {
        let version = member.rust_version.clone().ok_or_else(|| {
            format!(
                "{}: declares no rust-version (rule: every published crate inherits the \
                 workspace rust-version)",
                member.name
            )
        })?;
        by_version
            .entry(version)
            .or_default()
            .push(member.name.clone());
    }
    let installed = capture(Command::new("rustup").args(["toolchain", "list"]))
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    for (version, crates) in by_version {
        let toolchain = installed
            .as_deref()
            .and_then(|list| matching_toolchain(list, &version));
        let Some(toolchain) = toolchain else {
            banner(&[
                &format!("MSRV {version} was NOT checked: no {version} toolchain is installed"),
                &format!("(crates: {}).", crates.join(", ")),
                &format!("Install it with `rustup toolchain install {version} --profile minimal`,"),
                "then run `cargo xtask msrv` again.",
            ]);
            continue;
        };
        for (label, extra) in [
            ("default features", None),
            ("all features", Some("--all-features")),
        ] {
            let mut cmd = Command::new("rustup");
            cmd.args(["run", &toolchain, "cargo", "test", "--locked"])
                // Its own build folder: artifacts of two compilers never share a lock or a
                // cache, and `cargo clean` of one leaves the other.
                .args(["--target-dir", "target/msrv"])
                .args(extra)
                .current_dir(root())
                // Set by the cargo running xtask; they would point the old cargo at new tools.
                .env_remove("CARGO")
                .env_remove("RUSTC")
                .env_remove("RUSTDOC")
                .env_remove("RUSTUP_TOOLCHAIN");
            for name in &crates {
                cmd.args(["-p", name]);
            }
            step(
                &format!("MSRV {version} on {toolchain}: build and test, {label}"),
                &mut cmd,
            )?;
        }
    }
    Ok(())
}

/// The first installed toolchain that is `version`: `1.85` matches `1.85.0-<host>` and
/// `1.85-<host>`; `1.85.1` matches only `1.85.1-<host>`.
pub(crate) fn matching_toolchain(rustup_list: &str, version: &str) -> Option<String> {
    rustup_list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find(|name| {
            name.strip_prefix(version).is_some_and(|rest| {
                rest.starts_with('-')
                    || (version.matches('.').count() == 1
                        && rest.strip_prefix('.').is_some_and(|patch| {
                            patch.split('-').next().is_some_and(|p| {
                                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())
                            })
                        }))
            })
        })
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::matching_toolchain;

    const LIST: &str = "\
stable-x86_64-unknown-linux-gnu (active, default)
nightly-x86_64-unknown-linux-gnu
1.95.0-x86_64-unknown-linux-gnu
1.850.0-x86_64-unknown-linux-gnu
";

    #[test]
    fn finds_the_declared_toolchain_only() {
        assert_eq!(matching_toolchain(LIST, "1.85"), None);
        assert_eq!(
            matching_toolchain(LIST, "1.95").as_deref(),
            Some("1.95.0-x86_64-unknown-linux-gnu")
        );
        assert_eq!(
            matching_toolchain(LIST, "1.95.0").as_deref(),
            Some("1.95.0-x86_64-unknown-linux-gnu")
        );
        assert_eq!(matching_toolchain(LIST, "1.95.1"), None);
        let installed = "1.85.1-aarch64-apple-darwin\n";
        assert_eq!(
            matching_toolchain(installed, "1.85").as_deref(),
            Some("1.85.1-aarch64-apple-darwin")
        );
        assert_eq!(
            matching_toolchain("1.85-x86_64-unknown-linux-gnu\n", "1.85").as_deref(),
            Some("1.85-x86_64-unknown-linux-gnu")
        );
    }
}
