//! `cargo xtask release`: each crate released on its own version, in dependency order, after a
//! gate that stops at the first failure. A dry run unless `--execute` is given.

mod checks;
#[cfg(test)]
mod tests;
mod workspace;

pub(crate) use workspace::Workspace;

use std::collections::BTreeSet;
use std::process::Command;

use crate::process::{Result, capture, cargo, root, step};
use crate::test::banner;
use checks::PackagedFile;
use workspace::Member;

pub(crate) const USAGE: &str = "\
usage: cargo xtask release [--execute] [--allow-dirty] [<crate>...]

Checks, packages and (with --execute) publishes the workspace's crates in dependency order,
tagging each `<crate>-v<version>`. Without <crate> arguments, every publishable crate whose
version is not yet on crates.io. See docs/RELEASING.md.

  --execute      publish and tag; without it nothing leaves this machine
  --allow-dirty  rehearsal only: run the gate on uncommitted changes (refused with --execute)
";

#[derive(Debug, Default)]
struct Options {
    execute: bool,
    allow_dirty: bool,
    crates: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options::default();
        for arg in args {
            match arg.as_str() {
                "--execute" => options.execute = true,
                "--allow-dirty" => options.allow_dirty = true,
                flag if flag.starts_with('-') => {
                    return Err(format!("release: unknown option {flag}\n\n{USAGE}"));
                }
                name => options.crates.push(name.to_string()),
            }
        }
        if options.execute && options.allow_dirty {
            return Err(
                "release: --allow-dirty is for rehearsals and cannot be combined with \
                        --execute: publish from a committed tree"
                    .into(),
            );
        }
        Ok(options)
    }
}

/// What crates.io has for a crate.
#[derive(Debug)]
struct Registry {
    /// The newest published version, if any.
    latest: Option<String>,
    /// Whether the workspace's current version is published.
    current_published: bool,
}

pub(crate) fn run(args: &[String]) -> Result {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args)?;
    // A misspelt crate name should fail now, not after minutes of `cargo xtask test`.
    select(&Workspace::load(&root())?, &options.crates)?;
    if options.execute {
        println!("release: EXECUTE: crates will be published to crates.io and tagged");
    } else {
        println!("release: dry run: nothing is published or tagged (pass --execute to publish)");
    }

    println!("\n==> gate 1/3: clean git tree");
    clean_tree(options.allow_dirty)?;
    println!("\n==> gate 2/3: cargo xtask test");
    crate::test::run().map_err(|e| format!("release gate `cargo xtask test` failed: {e}"))?;
    println!("\n==> gate 3/3: static release rules");
    let (ws, order) = static_gate(&root(), &options.crates)?;
    checks::check_release_changelogs(&order)?;
    println!("<== static release rules: ok");

    println!("\n==> publish order (normal and build dependencies first)");
    let names: Vec<&str> = order.iter().map(|m| m.name.as_str()).collect();
    println!("    {}", names.join(" -> "));

    println!("\n==> crates.io");
    let mut to_release = Vec::new();
    let mut registry = Vec::new();
    for member in ws.publish_order()? {
        let state = registry_state(member)?;
        registry.push((member.name.clone(), state));
    }
    for member in &order {
        let Some((_, state)) = registry.iter().find(|(n, _)| *n == member.name) else {
            continue;
        };
        let latest = state.latest.as_deref().unwrap_or("never published");
        if state.current_published {
            println!(
                "    {} {}: already published, skipped",
                member.name, member.version
            );
        } else {
            println!(
                "    {} {}: to release (crates.io: {latest})",
                member.name, member.version
            );
            to_release.push((member, state.latest.clone()));
        }
    }
    if to_release.is_empty() {
        println!(
            "\nrelease: nothing to do: every selected crate's version is already on crates.io"
        );
        return Ok(());
    }
    let releasing: BTreeSet<&str> = to_release.iter().map(|(m, _)| m.name.as_str()).collect();
    for (member, _) in &to_release {
        for dep in ws.publish_dependencies(member) {
            let on_registry = registry
                .iter()
                .any(|(n, s)| *n == dep.name && s.current_published);
            if !on_registry && !releasing.contains(dep.name.as_str()) {
                return Err(format!(
                    "{}: depends on {} {}, which is neither on crates.io nor in this release \
                     (rule: dependencies are published first; add {} to the release)",
                    member.name, dep.name, dep.version, dep.name
                ));
            }
        }
        let tag = tag_name(member);
        if tag_exists(&tag)? {
            return Err(format!(
                "{}: tag {tag} already exists but {} is not on crates.io (rule: a tag marks a \
                 successful publish; delete the stale tag or bump the version)",
                member.name, member.version
            ));
        }
    }

    semver_checks(&to_release)?;
    package(&to_release, options.allow_dirty)?;

    if !options.execute {
        println!(
            "\nrelease: dry run passed; `cargo xtask release --execute{}` would publish and tag: {}",
            options
                .crates
                .iter()
                .map(|c| format!(" {c}"))
                .collect::<String>(),
            to_release
                .iter()
                .map(|(m, _)| tag_name(m))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(());
    }
    let mut tags = Vec::new();
    for (member, _) in &to_release {
        // `cargo package` verified this very commit moments ago; building it again would only
        // double the wait.
        step(
            &format!("publish {} {}", member.name, member.version),
            &mut cargo(["publish", "--no-verify", "-p", &member.name]),
        )?;
        let tag = tag_name(member);
        step(
            &format!("tag {tag}"),
            Command::new("git")
                .args(["tag", "-a", &tag, "-m"])
                .arg(format!("{} {}", member.name, member.version))
                .current_dir(root()),
        )?;
        tags.push(tag);
    }
    println!(
        "\nrelease: published and tagged. Push the tags: git push origin {}",
        tags.join(" ")
    );
    Ok(())
}

/// The checks that need neither network nor a build: every static rule, then the publish
/// order restricted to `selected` (all publishable crates when empty). Used by the release
/// command and by the hygiene tests, which must not run `cargo xtask test` themselves.
pub(crate) fn static_gate(
    root: &std::path::Path,
    selected: &[String],
) -> Result<(Workspace, Vec<Member>)> {
    let ws = Workspace::load(root)?;
    checks::check_workspace(&ws)?;
    let order = select(&ws, selected)?;
    Ok((ws, order))
}

/// The publish order restricted to `selected` (everything publishable when empty); a name that
/// is not a publishable member is an error.
fn select(ws: &Workspace, selected: &[String]) -> Result<Vec<Member>> {
    for name in selected {
        match ws.member(name) {
            None => return Err(format!("{name}: not a member of this workspace")),
            Some(m) if !m.publishable => {
                return Err(format!(
                    "{name}: has publish = false (rule: only user-facing crates are released)"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(ws
        .publish_order()?
        .into_iter()
        .filter(|m| selected.is_empty() || selected.contains(&m.name))
        .cloned()
        .collect())
}

fn tag_name(member: &Member) -> String {
    format!("{}-v{}", member.name, member.version)
}

fn git(args: &[&str]) -> Result<String> {
    let output = capture(Command::new("git").args(args).current_dir(root()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn tag_exists(tag: &str) -> Result<bool> {
    let output = capture(
        Command::new("git")
            .args(["rev-parse", "--quiet", "--verify"])
            .arg(format!("refs/tags/{tag}"))
            .current_dir(root()),
    )?;
    Ok(output.status.success())
}

/// A release is built from a commit, so what is published is what the tag points at.
fn clean_tree(allow_dirty: bool) -> Result {
    let status = git(&["status", "--porcelain"])?;
    if status.trim().is_empty() {
        println!("<== clean git tree: ok");
        return Ok(());
    }
    let files: Vec<&str> = status.lines().collect();
    if allow_dirty {
        let mut lines = vec![
            "REHEARSAL (--allow-dirty): the git tree has uncommitted changes.".to_string(),
            "A real release refuses this tree; what follows checks the files as they are.".into(),
        ];
        lines.extend(files.iter().map(|f| format!("  {f}")));
        banner(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        return Ok(());
    }
    Err(format!(
        "release gate: the git tree has uncommitted changes (rule: releases are built from a \
         committed tree; commit or remove them):\n{}",
        files.join("\n")
    ))
}

/// Asks crates.io, not the local workspace, about `member`. A crate it does not know is
/// "never published"; an unreachable registry is an error, since skipping or re-publishing
/// depends on the answer.
fn registry_state(member: &Member) -> Result<Registry> {
    let info = |spec: &str| -> Result<Option<String>> {
        let output = capture(&mut cargo(["info", "--registry", "crates-io", spec]))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
        } else if stderr.contains("could not find") {
            Ok(None)
        } else {
            Err(format!(
                "{}: could not ask crates.io about {spec}: {}",
                member.name,
                stderr.trim()
            ))
        }
    };
    let Some(summary) = info(&member.name)? else {
        return Ok(Registry {
            latest: None,
            current_published: false,
        });
    };
    let latest = summary
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .and_then(|v| v.split_whitespace().next())
        .map(String::from);
    let current_published = latest.as_deref() == Some(member.version.as_str())
        || info(&format!("{}@={}", member.name, member.version))?.is_some();
    Ok(Registry {
        latest,
        current_published,
    })
}

/// A breaking change must not ship as a compatible version: compares each crate with its
/// newest published version when `cargo-semver-checks` is installed, and says loudly when not.
fn semver_checks(to_release: &[(&Member, Option<String>)]) -> Result {
    let comparable: Vec<(&Member, &str)> = to_release
        .iter()
        .filter_map(|(m, latest)| latest.as_deref().map(|l| (*m, l)))
        .collect();
    let installed = cargo(["semver-checks", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        let mut lines = vec![
            "cargo-semver-checks is NOT installed: public APIs were NOT compared.".to_string(),
        ];
        if comparable.is_empty() {
            lines.push(
                "(Every crate in this release is a first release, so nothing needed comparing.)"
                    .into(),
            );
        }
        for (member, latest) in &comparable {
            lines.push(format!(
                "  {} {} was NOT checked against {latest}: a breaking change could ship.",
                member.name, member.version
            ));
        }
        lines.push("Install it with `cargo install cargo-semver-checks --locked`.".into());
        banner(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        return Ok(());
    }
    if comparable.is_empty() {
        println!("\n==> semver-checks: first releases only, no published version to compare with");
    }
    for (member, latest) in comparable {
        step(
            &format!(
                "semver-checks: {} {} against {latest}",
                member.name, member.version
            ),
            &mut cargo([
                "semver-checks",
                "check-release",
                "--package",
                &member.name,
                "--baseline-version",
                latest,
            ]),
        )?;
    }
    Ok(())
}

/// Packages (and so verifies the build of) every crate in one cargo call, which lets a crate
/// depend on another released in the same run, then checks each package's file list.
/// Verification builds each package against the others through a local registry (under
/// target/package), which cargo unpacks into `$CARGO_HOME/registry/src/<hash>/`. Cargo never
/// re-extracts a name and version it has seen, so after an earlier dry run of the same versions
/// it would verify against the old code. Removes our crates from those local registries' caches
/// (never from crates.io's) and the old tarballs.
fn clear_stale_packages(to_release: &[(&Member, Option<String>)]) -> Result {
    let remove = |path: &std::path::Path| -> Result {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else if path.exists() {
            std::fs::remove_file(path)
        } else {
            Ok(())
        };
        removed.map_err(|e| format!("cannot clear {} before packaging: {e}", path.display()))
    };
    remove(&root().join("target/package"))?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(cargo_home) = cargo_home else {
        return Ok(());
    };
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            if registry
                .file_name()
                .to_string_lossy()
                .starts_with("index.crates.io")
            {
                continue;
            }
            for (member, _) in to_release {
                let name = format!("{}-{}", member.name, member.version);
                remove(&registry.path().join(&name))?;
                remove(&registry.path().join(format!("{name}.crate")))?;
            }
        }
    }
    Ok(())
}

fn package(to_release: &[(&Member, Option<String>)], allow_dirty: bool) -> Result {
    let mut args: Vec<String> = vec!["package".into()];
    for (member, _) in to_release {
        args.push("-p".into());
        args.push(member.name.clone());
    }
    if allow_dirty {
        args.push("--allow-dirty".into());
    }
    let names: Vec<&str> = to_release.iter().map(|(m, _)| m.name.as_str()).collect();
    clear_stale_packages(to_release)?;
    step(
        &format!("cargo package (build-verified): {}", names.join(", ")),
        &mut cargo(&args),
    )?;

    let mut findings = Vec::new();
    for (member, _) in to_release {
        let mut list_args = vec!["package", "--list", "-p", &member.name];
        if allow_dirty {
            list_args.push("--allow-dirty");
        }
        let output = capture(&mut cargo(&list_args))?;
        if !output.status.success() {
            return Err(format!(
                "{}: cargo package --list failed: {}",
                member.name,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let files: Vec<PackagedFile> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| PackagedFile::in_member(member, l.trim()))
            .collect();
        println!("\n==> {} {}: package contents", member.name, member.version);
        for file in &files {
            match file.size {
                Some(size) => println!("    {:>8} B  {}", size, file.path),
                None => println!("    {:>8}    {}", "(made)", file.path),
            }
        }
        match checks::check_package_files(member, &files) {
            Ok(notes) => {
                for note in notes {
                    println!("    note: {note}");
                }
            }
            Err(found) => findings.push(found),
        }
    }
    if findings.is_empty() {
        println!("<== package contents: ok");
        Ok(())
    } else {
        Err(format!(
            "release gate: package contents:\n{}",
            findings.join("\n")
        ))
    }
}
