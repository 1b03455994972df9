//! The release rules that hold without building anything: manifests, READMEs, CHANGELOGs,
//! licence files, internal dependencies, lints, `[patch]`, docs.rs settings, and the contents of
//! a package once `cargo package --list` has named them.
//!
//! Every finding names the crate and the rule, so a failure says what to fix without reading
//! this file. All findings are reported at once: fixing one to discover the next wastes a CI run.

use std::fs;
use std::path::{Path, PathBuf};

use super::workspace::{DepKind, Member, Workspace};

/// The largest file a package may carry. Sources and docs are far below it; anything bigger is
/// a data file that slipped through `include`.
pub(crate) const FILE_SIZE_CAP: u64 = 256 * 1024;

const METADATA_RULE: &str = "every published crate declares description, license, repository, \
                             readme, keywords, categories and rust-version";
const CHANGELOG_RULE: &str = "top section must match the version being released";

fn finding(krate: &str, problem: impl std::fmt::Display, rule: &str) -> String {
    format!("{krate}: {problem} (rule: {rule})")
}

/// All static rules; the error lists every finding, one per line.
pub(crate) fn check_workspace(ws: &Workspace) -> Result<(), String> {
    let mut findings = Vec::new();
    findings.extend(check_publish_flags(ws));
    findings.extend(check_no_patch(ws));
    for member in &ws.members {
        findings.extend(check_lints(member));
    }
    for member in ws.publishable() {
        findings.extend(check_metadata(member));
        findings.extend(check_readme(member));
        findings.extend(check_licence_files(member));
        findings.extend(check_changelog(member));
        findings.extend(check_internal_dependencies(ws, member));
        findings.extend(check_docs_rs(member));
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(findings.join("\n"))
    }
}

/// Manifest lines reduced for matching: comments and all whitespace removed, each paired with
/// the table it is in (`""` before the first header, `bench` for `[[bench]]`). Enough for the
/// few keys checked here; multi-line strings are not understood.
fn manifest_lines(text: &str) -> Vec<(String, String)> {
    let mut table = String::new();
    let mut lines = Vec::new();
    for raw in text.lines() {
        let line = strip_comment(raw);
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            continue;
        }
        if compact.starts_with('[') {
            table = compact.trim_matches(['[', ']']).to_string();
        } else {
            lines.push((table.clone(), compact));
        }
    }
    lines
}

fn strip_comment(line: &str) -> &str {
    let mut in_string = None;
    for (i, c) in line.char_indices() {
        match (c, in_string) {
            ('"' | '\'', None) => in_string = Some(c),
            (q, Some(open)) if q == open => in_string = None,
            ('#', None) => return &line[..i],
            _ => {}
        }
    }
    line
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `xtask` and anything outside `crates/` is tooling, never published; and a published crate
/// cannot depend on something that is never published.
fn check_publish_flags(ws: &Workspace) -> Vec<String> {
    let crates_dir = ws.root.join("crates");
    let mut findings = Vec::new();
    for member in &ws.members {
        if member.publishable && (member.name == "xtask" || !member.dir().starts_with(&crates_dir))
        {
            findings.push(finding(
                &member.name,
                "is publishable but is not a user-facing crate",
                "publish = false on xtask and anything outside crates/",
            ));
        }
    }
    for member in ws.publishable() {
        for dep in ws.publish_dependencies(member) {
            if !dep.publishable {
                findings.push(finding(
                    &member.name,
                    format!("depends on {}, which has publish = false", dep.name),
                    "published crates depend only on published crates",
                ));
            }
        }
    }
    findings
}

/// A `[patch]` left in a manifest or cargo config makes local builds use code that users of
/// the published crates will not get.
fn check_no_patch(ws: &Workspace) -> Vec<String> {
    let mut files: Vec<(String, PathBuf)> = vec![
        ("workspace".into(), ws.root.join("Cargo.toml")),
        ("workspace".into(), ws.root.join(".cargo/config.toml")),
        ("workspace".into(), ws.root.join(".cargo/config")),
    ];
    files.extend(
        ws.members
            .iter()
            .map(|m| (m.name.clone(), m.manifest_path.clone())),
    );
    let mut findings = Vec::new();
    for (owner, path) in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let patched = manifest_lines(&text)
            .iter()
            .any(|(table, line)| table.starts_with("patch") || line.starts_with("patch."));
        if patched {
            findings.push(finding(
                &owner,
                format!("{} has a [patch] section", path.display()),
                "no [patch] left behind: published crates must build from registry versions",
            ));
        }
    }
    findings
}

fn check_lints(member: &Member) -> Vec<String> {
    let text = match read(&member.manifest_path) {
        Ok(text) => text,
        Err(e) => {
            return vec![finding(
                &member.name,
                e,
                "every member inherits workspace lints",
            )];
        }
    };
    let inherits = manifest_lines(&text).iter().any(|(table, line)| {
        (table == "lints" && line == "workspace=true")
            || (table.is_empty()
                && (line == "lints.workspace=true" || line == "lints={workspace=true}"))
    });
    if inherits {
        Vec::new()
    } else {
        vec![finding(
            &member.name,
            "Cargo.toml has no `[lints] workspace = true`",
            "every member inherits workspace lints",
        )]
    }
}

fn check_metadata(member: &Member) -> Vec<String> {
    let name = &member.name;
    let mut findings = Vec::new();
    let fields = [
        ("description", member.description.is_some()),
        (
            "license",
            member.license.is_some() || member.license_file.is_some(),
        ),
        ("repository", member.repository.is_some()),
        ("readme", member.readme.is_some()),
        ("keywords", !member.keywords.is_empty()),
        ("categories", !member.categories.is_empty()),
        ("rust-version", member.rust_version.is_some()),
    ];
    for (field, present) in fields {
        if !present {
            findings.push(finding(
                name,
                format!("Cargo.toml has no `{field}`"),
                METADATA_RULE,
            ));
        }
    }
    // crates.io refuses more than five keywords at publish time; say so before.
    if member.keywords.len() > 5 {
        findings.push(finding(
            name,
            format!("has {} keywords", member.keywords.len()),
            "crates.io accepts at most 5 keywords",
        ));
    }
    // One MSRV for the workspace, checked by `cargo xtask msrv`; a crate declaring its own
    // would not be checked.
    let inherited = read(&member.manifest_path).is_ok_and(|text| {
        manifest_lines(&text).iter().any(|(table, line)| {
            table == "package"
                && (line == "rust-version.workspace=true"
                    || line == "rust-version={workspace=true}")
        })
    });
    if member.rust_version.is_some() && !inherited {
        findings.push(finding(
            name,
            "rust-version is not inherited from the workspace",
            "rust-version.workspace = true, so `cargo xtask msrv` checks what is declared",
        ));
    }
    findings
}

fn check_readme(member: &Member) -> Vec<String> {
    let rule = "a README, included as the crate documentation";
    let Some(readme) = &member.readme else {
        return Vec::new(); // reported by check_metadata
    };
    if !member.dir().join(readme).is_file() {
        return vec![finding(
            &member.name,
            format!("README `{readme}` does not exist"),
            rule,
        )];
    }
    // The crate documentation's root: the library's, or for a command-line crate without one,
    // each binary's (docs.rs documents the binary from its main.rs).
    let roots: Vec<&PathBuf> = match &member.lib_path {
        Some(lib) => vec![lib],
        None => member.bin_paths.iter().collect(),
    };
    let file_name = Path::new(readme)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut findings = Vec::new();
    if let Ok(text) = read(&member.dir().join(readme)) {
        for line in test_data_lines(&text) {
            findings.push(finding(
                &member.name,
                format!("{readme} line {line}: a doctest reads tests/, which is never packaged"),
                "README doctests use what the published package carries",
            ));
        }
        for line in table_pipe_lines(&text) {
            findings.push(finding(
                &member.name,
                format!(
                    "{readme} line {line}: a `|` inside a code span in a table row cuts the row"
                ),
                "write `\\|` for a pipe inside a table cell",
            ));
        }
    }
    for root in roots {
        let included = read(root).is_ok_and(|text| {
            text.lines().any(|l| {
                let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                l.starts_with("#![doc=include_str!(") && l.contains(&format!("{file_name}\""))
            })
        });
        if !included {
            findings.push(finding(
                &member.name,
                format!(
                    "{} does not start with #![doc = include_str!(\"../{readme}\")]",
                    root.strip_prefix(member.dir()).unwrap_or(root).display()
                ),
                rule,
            ));
        }
    }
    findings
}

/// The 1-based numbers of lines that point a doctest at the crate's `tests/` folder through
/// `CARGO_MANIFEST_DIR`: it passes in the workspace and fails from the published package.
pub(crate) fn test_data_lines(markdown: &str) -> Vec<usize> {
    markdown
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("CARGO_MANIFEST_DIR") && line.contains("tests/"))
        .map(|(index, _)| index + 1)
        .collect()
}

/// The 1-based numbers of table rows (lines starting with `|`) holding an unescaped `|` inside a
/// code span: GitHub and rustdoc both end the cell there, cutting the row.
pub(crate) fn table_pipe_lines(markdown: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut fenced = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !trimmed.starts_with('|') {
            continue;
        }
        let bytes = trimmed.as_bytes();
        let mut open: Option<usize> = None; // length of the backtick run that opened a code span
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'`' => {
                    let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
                    open = match open {
                        None => Some(run),
                        Some(n) if n == run => None,
                        still => still,
                    };
                    i += run;
                }
                b'|' if open.is_some() => {
                    lines.push(index + 1);
                    break;
                }
                _ => i += 1,
            }
        }
    }
    lines
}

/// The licence files a crate must ship: one per licence in its SPDX expression that the
/// workspace knows a file name for, plus `license-file`. Unknown licences need some LICENSE*.
pub(crate) fn licence_files(member: &Member) -> Vec<String> {
    let mut files: Vec<String> = member
        .license
        .as_deref()
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '/')
        .filter_map(|id| match id {
            "MIT" => Some("LICENSE-MIT".to_string()),
            "Apache-2.0" => Some("LICENSE-APACHE".to_string()),
            _ => None,
        })
        .collect();
    files.extend(member.license_file.clone());
    files.sort();
    files.dedup();
    files
}

fn check_licence_files(member: &Member) -> Vec<String> {
    let rule = "licence files next to the manifest, for the package to include";
    let required = licence_files(member);
    if required.is_empty() {
        let any = fs::read_dir(member.dir()).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("LICENSE"))
        });
        return if any {
            Vec::new()
        } else {
            vec![finding(&member.name, "no LICENSE* file", rule)]
        };
    }
    required
        .iter()
        // is_file follows the symlinks that point at the workspace's licence texts.
        .filter(|file| !member.dir().join(file).is_file())
        .map(|file| finding(&member.name, format!("{file} is missing"), rule))
        .collect()
}

fn check_changelog(member: &Member) -> Vec<String> {
    let path = member.dir().join("CHANGELOG.md");
    let Ok(text) = fs::read_to_string(&path) else {
        return vec![finding(
            &member.name,
            "CHANGELOG.md is missing",
            "every published crate has a CHANGELOG.md in Keep a Changelog format",
        )];
    };
    // A crate never released yet keeps its first entries under Unreleased; the release gate
    // (`check_release_changelogs`) asks for the dated section when it is published.
    if never_released(&text) {
        return Vec::new();
    }
    match changelog_problem(&text, &member.version) {
        None => Vec::new(),
        Some((problem, rule)) => vec![finding(&member.name, problem, rule)],
    }
}

/// A CHANGELOG with an `## [Unreleased]` section and no release section: a new crate.
pub(crate) fn never_released(text: &str) -> bool {
    let mut headings = text
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .peekable();
    headings.peek().is_some() && headings.all(|h| h.eq_ignore_ascii_case("[unreleased]"))
}

/// At release time, every crate being released needs `## [<version>] - YYYY-MM-DD`, a new crate
/// included.
pub(crate) fn check_release_changelogs(order: &[Member]) -> Result<(), String> {
    let findings: Vec<String> = order
        .iter()
        .filter_map(|member| {
            let text = fs::read_to_string(member.dir().join("CHANGELOG.md")).ok()?;
            changelog_problem(&text, &member.version)
                .map(|(problem, rule)| finding(&member.name, problem, rule))
        })
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(findings.join("\n"))
    }
}

/// What is wrong with a Keep a Changelog file for releasing `version`, and the rule broken:
/// `## [Unreleased]` first, then `## [<version>] - YYYY-MM-DD`.
pub(crate) fn changelog_problem(text: &str, version: &str) -> Option<(String, &'static str)> {
    let headings: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .collect();
    let is_unreleased = |h: &&str| h.eq_ignore_ascii_case("[unreleased]");
    let Some(unreleased_at) = headings.iter().position(is_unreleased) else {
        return Some((
            "CHANGELOG.md has no `## [Unreleased]` section".into(),
            "Keep a Changelog: an Unreleased section collects work in progress",
        ));
    };
    let released_at = headings.iter().position(|h| !is_unreleased(h));
    let Some(released_at) = released_at else {
        return Some((
            format!("CHANGELOG.md has no section for {version}"),
            CHANGELOG_RULE,
        ));
    };
    if released_at < unreleased_at {
        return Some((
            "CHANGELOG.md has a release section above `## [Unreleased]`".into(),
            "Keep a Changelog: the Unreleased section comes first",
        ));
    }
    let heading = headings[released_at];
    let top_version = heading
        .strip_prefix('[')
        .and_then(|h| h.split_once(']'))
        .map(|(v, _)| v.trim());
    if top_version != Some(version) {
        return Some((
            format!(
                "CHANGELOG.md has no section for {version} (its top section is `## {heading}`)"
            ),
            CHANGELOG_RULE,
        ));
    }
    let date = heading
        .split_once(']')
        .map(|(_, rest)| rest.trim())
        .and_then(|rest| rest.strip_prefix('-').or_else(|| rest.strip_prefix('–')))
        .map(str::trim);
    if !date.is_some_and(is_iso_date) {
        return Some((
            format!("CHANGELOG.md section for {version} has no release date"),
            "Keep a Changelog: `## [x.y.z] - YYYY-MM-DD`",
        ));
    }
    None
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// A normal or build dependency on a path needs a version, or the published manifest points
/// at nothing. A dev-dependency on a member must not have one: without a version cargo drops
/// it from the published manifest, with one it requires that version on crates.io (and two
/// crates testing against each other could never be published).
fn check_internal_dependencies(ws: &Workspace, member: &Member) -> Vec<String> {
    let mut findings = Vec::new();
    for dep in &member.dependencies {
        let Some(path) = &dep.path else { continue };
        let internal = ws.member_at(path).is_some();
        match dep.kind {
            DepKind::Normal | DepKind::Build if !dep.has_version() => findings.push(finding(
                &member.name,
                format!("path dependency on {} has no `version`", dep.name),
                "internal path dependencies carry a version, which crates.io resolves",
            )),
            DepKind::Dev if internal && dep.has_version() => findings.push(finding(
                &member.name,
                format!(
                    "dev-dependency on {} carries version `{}`",
                    dep.name, dep.req
                ),
                "internal dev-dependencies carry no version: `{ path = \"...\" }`, not \
                 `workspace = true`, so publishing drops them",
            )),
            _ => {}
        }
    }
    findings
}

/// docs.rs shows what `cargo doc` shows only if it builds every feature, and labels
/// feature-gated items only with `--cfg docsrs` and `doc_cfg`.
fn check_docs_rs(member: &Member) -> Vec<String> {
    let rule = "crates with optional features set [package.metadata.docs.rs] all-features = true, \
                rustdoc-args = [\"--cfg\", \"docsrs\"] and #![cfg_attr(docsrs, feature(doc_cfg))]";
    if member.features.iter().all(|f| f == "default") {
        return Vec::new();
    }
    let mut findings = Vec::new();
    match &member.docs_rs {
        None => findings.push(finding(
            &member.name,
            "has features but no [package.metadata.docs.rs]",
            rule,
        )),
        Some(docs) => {
            if docs.get("all-features").and_then(|v| v.as_bool()) != Some(true) {
                findings.push(finding(
                    &member.name,
                    "[package.metadata.docs.rs] does not set all-features = true",
                    rule,
                ));
            }
            let args = docs
                .get("rustdoc-args")
                .map(super::workspace::strings)
                .unwrap_or_default();
            if !args.windows(2).any(|w| w[0] == "--cfg" && w[1] == "docsrs") {
                findings.push(finding(
                    &member.name,
                    "[package.metadata.docs.rs] does not pass --cfg docsrs",
                    rule,
                ));
            }
        }
    }
    if let Some(lib) = &member.lib_path {
        let labelled = read(lib).is_ok_and(|text| {
            text.lines().any(|l| {
                let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                l.starts_with("#![cfg_attr(docsrs,feature(doc_cfg")
            })
        });
        if !labelled {
            findings.push(finding(
                &member.name,
                "lib.rs has no #![cfg_attr(docsrs, feature(doc_cfg))]",
                rule,
            ));
        }
    }
    findings
}

/// One entry of `cargo package --list`, with its size when it is a file in the crate folder
/// (generated entries such as the normalised Cargo.toml or Cargo.lock have none).
#[derive(Debug, Clone)]
pub(crate) struct PackagedFile {
    pub(crate) path: String,
    pub(crate) size: Option<u64>,
}

impl PackagedFile {
    /// Sizes an entry of `member`'s package from the crate folder, following symlinks.
    pub(crate) fn in_member(member: &Member, path: &str) -> PackagedFile {
        let on_disk = member.dir().join(path);
        PackagedFile {
            path: path.to_string(),
            size: fs::metadata(on_disk)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        }
    }
}

/// Files the content rules below would refuse but a crate ships on purpose. Each entry is
/// reported when used, so the exception stays visible in every release.
struct Allowance {
    krate: &'static str,
    /// Files directly in this folder...
    dir: &'static str,
    /// ...with one of these extensions.
    extensions: &'static [&'static str],
    why: &'static str,
}

const SHIPPED_ON_PURPOSE: &[Allowance] = &[Allowance {
    krate: "payauth-sandbox",
    dir: "keys/",
    extensions: &["pem", "der"],
    why: "test keys and certificates (the EasyPay card key pair, the test TLS CA and server) are \
          what the crate is for; its README says they protect nothing",
}];

fn allowance(krate: &str, path: &str) -> Option<&'static Allowance> {
    SHIPPED_ON_PURPOSE.iter().find(|a| {
        a.krate == krate
            && path.strip_prefix(a.dir).is_some_and(|rest| {
                !rest.contains('/')
                    && rest
                        .rsplit_once('.')
                        .is_some_and(|(_, ext)| a.extensions.contains(&ext))
            })
    })
}

/// Why a packaged path is test material rather than something a user needs, if it is.
fn test_material(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path.starts_with("tests/data/") || path.contains("/tests/data/") {
        Some("test data")
    } else if path.split('/').any(|part| part.contains("fixture")) {
        Some("a fixture")
    } else if name.ends_with("-key.pem")
        || [".key", ".p12", ".pfx"]
            .iter()
            .any(|ext| name.ends_with(ext))
    {
        Some("a private key")
    } else if name.ends_with(".cer") {
        Some("a test certificate")
    } else {
        None
    }
}

/// Checks the file list of `member`'s package: README and licence files present, no test keys,
/// fixtures or test data, nothing over [`FILE_SIZE_CAP`]. Ok carries notes on allow-listed files.
pub(crate) fn check_package_files(
    member: &Member,
    files: &[PackagedFile],
) -> Result<Vec<String>, String> {
    let rule_required = "a package carries its README and licence files";
    let rule_content = "a package carries no test keys, fixtures or test data";
    let mut findings = Vec::new();
    let mut allowed: Vec<(&Allowance, Vec<&str>)> = Vec::new();
    let has = |wanted: &str| files.iter().any(|f| f.path == wanted);
    let readme = member.readme.clone().unwrap_or_else(|| "README.md".into());
    let mut required = vec![readme];
    required.extend(licence_files(member));
    for wanted in &required {
        if !has(wanted) {
            findings.push(finding(
                &member.name,
                format!("the package has no {wanted}"),
                rule_required,
            ));
        }
    }
    for file in files {
        if let Some(size) = file.size.filter(|s| *s > FILE_SIZE_CAP) {
            findings.push(finding(
                &member.name,
                format!("the package carries {} ({} KiB)", file.path, size / 1024),
                "no packaged file over 256 KiB",
            ));
        }
        if let Some(allowance) = allowance(&member.name, &file.path) {
            match allowed
                .iter_mut()
                .find(|(a, _)| std::ptr::eq(*a, allowance))
            {
                Some((_, paths)) => paths.push(&file.path),
                None => allowed.push((allowance, vec![&file.path])),
            }
        } else if let Some(what) = test_material(&file.path) {
            findings.push(finding(
                &member.name,
                format!("the package carries {what}: {}", file.path),
                rule_content,
            ));
        }
    }
    if findings.is_empty() {
        Ok(allowed
            .iter()
            .map(|(allowance, paths)| {
                format!(
                    "{}: ships {} on purpose: {}",
                    member.name,
                    paths.join(", "),
                    allowance.why
                )
            })
            .collect())
    } else {
        Err(findings.join("\n"))
    }
}
