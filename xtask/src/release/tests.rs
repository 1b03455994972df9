//! Repository hygiene, run by plain `cargo test`: the release rules that hold without a build,
//! on the real tree, and each rule breaking on a temporary copy with one thing changed.
//!
//! These never run `cargo xtask test` or `cargo package`: the first runs these tests (it would
//! recurse), the second builds every crate and belongs to the release command itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::checks::{self, PackagedFile};
use super::workspace::{DepKind, Dependency, Member, Workspace};
use super::{select, static_gate};
use crate::process::root;

/// A copy of the workspace (without target/ and .git/) in the system temp folder, removed on
/// drop, so a test can break one rule without touching the real tree.
struct Copy {
    root: PathBuf,
}

impl Copy {
    fn new() -> Copy {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-release-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        copy_dir(&root(), &dir, true);
        Copy { root: dir }
    }

    /// Replaces the first `from` in `file` with `to`; a missing `from` fails the test, so a
    /// mutation that no longer applies is noticed rather than silently testing nothing.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root.join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} no longer contains {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn gate(&self) -> Result<Vec<String>, String> {
        static_gate(&self.root, &[]).map(|(_, order)| order.into_iter().map(|m| m.name).collect())
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn copy_dir(from: &Path, to: &Path, top: bool) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if top && (name == "target" || name == ".git") {
            continue;
        }
        let source = entry.path();
        // Follows symlinks: the per-crate LICENSE links become plain copies.
        if source.is_dir() {
            copy_dir(&source, &to.join(&name), false);
        } else if source.is_file() {
            fs::copy(&source, to.join(&name)).unwrap();
        }
    }
}

/// Asserts that the gate fails with a finding that names `krate` and contains every part of
/// `rule`, and returns that finding.
fn assert_finding(result: Result<Vec<String>, String>, krate: &str, rule: &[&str]) -> String {
    let findings = result.expect_err("the release gate passed a broken tree");
    let line = findings
        .lines()
        .find(|l| l.starts_with(&format!("{krate}: ")) && rule.iter().all(|r| l.contains(r)))
        .unwrap_or_else(|| panic!("no finding for {krate} with {rule:?} in:\n{findings}"));
    assert!(
        line.contains("(rule: "),
        "finding does not state its rule: {line}"
    );
    line.to_string()
}

#[test]
fn the_current_tree_passes_the_static_release_rules_and_has_an_order() {
    let (ws, order) = static_gate(&root(), &[])
        .unwrap_or_else(|findings| panic!("the workspace breaks the release rules:\n{findings}"));
    let names: Vec<&str> = order.iter().map(|m| m.name.as_str()).collect();
    println!("publish order: {}", names.join(" -> "));
    assert_eq!(names.len(), ws.publishable().count());
    for expected in ["card-encryption", "payauth-sandbox", "payauth-cli"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.contains(&"xtask"));
    // The command line depends on every client crate and the sandbox: it is published last.
    assert_eq!(names.last(), Some(&"payauth-cli"), "{names:?}");
    for (i, member) in order.iter().enumerate() {
        for dep in ws.publish_dependencies(member) {
            let at = names.iter().position(|n| *n == dep.name);
            assert!(
                at.is_some_and(|at| at < i),
                "{} before {}",
                member.name,
                dep.name
            );
        }
    }
}

#[test]
fn selecting_crates_keeps_the_order_and_refuses_unknown_or_unpublished_ones() {
    let ws = Workspace::load(&root()).unwrap();
    let order = select(&ws, &["payauth-sandbox".into(), "card-encryption".into()]).unwrap();
    assert_eq!(
        order.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["card-encryption", "payauth-sandbox"]
    );
    let err = select(&ws, &["xtask".into()]).unwrap_err();
    assert!(err.starts_with("xtask: has publish = false"), "{err}");
    let err = select(&ws, &["no-such-crate".into()]).unwrap_err();
    assert!(err.starts_with("no-such-crate: not a member"), "{err}");
}

#[test]
fn a_missing_description_fails_naming_the_crate_and_rule() {
    let copy = Copy::new();
    copy.edit(
        "crates/card-encryption/Cargo.toml",
        "description = ",
        "# description = ",
    );
    assert_finding(
        copy.gate(),
        "card-encryption",
        &[
            "no `description`",
            "every published crate declares description",
        ],
    );
}

#[test]
fn a_changelog_without_the_version_fails_naming_the_crate_and_rule() {
    let copy = Copy::new();
    copy.edit(
        "crates/card-encryption/CHANGELOG.md",
        "## [0.1.0]",
        "## [0.0.9]",
    );
    let line = assert_finding(
        copy.gate(),
        "card-encryption",
        &[
            "CHANGELOG.md has no section for 0.1.0",
            "top section must match the version being released",
        ],
    );
    assert!(line.contains("0.0.9"), "{line}");
}

#[test]
fn an_internal_dependency_without_a_version_fails_naming_the_crate_and_rule() {
    let copy = Copy::new();
    copy.edit(
        "crates/payauth-sandbox/Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\ncard-encryption = { path = \"../card-encryption\" }\n",
    );
    assert_finding(
        copy.gate(),
        "payauth-sandbox",
        &[
            "dependency on card-encryption has no `version`",
            "internal path dependencies carry a version",
        ],
    );
}

#[test]
fn an_internal_dependency_with_a_version_passes_and_orders_its_dependency_first() {
    let copy = Copy::new();
    copy.edit(
        "crates/payauth-sandbox/Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\ncard-encryption = { path = \"../card-encryption\", version = \"0.1.0\" }\n",
    );
    let ws = Workspace::load(&copy.root).unwrap();
    if let Err(findings) = checks::check_workspace(&ws) {
        assert!(
            !findings.contains("dependency on card-encryption"),
            "{findings}"
        );
    }
    let order: Vec<&str> = ws
        .publish_order()
        .unwrap()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let at = |name: &str| order.iter().position(|n| *n == name).unwrap();
    assert!(at("card-encryption") < at("payauth-sandbox"), "{order:?}");
}

#[test]
fn an_internal_dev_dependency_with_a_version_fails() {
    let copy = Copy::new();
    copy.edit(
        "crates/payauth-sandbox/Cargo.toml",
        "card-encryption = { path = \"../card-encryption\" }",
        "card-encryption = { path = \"../card-encryption\", version = \"0.1.0\" }",
    );
    assert_finding(
        copy.gate(),
        "payauth-sandbox",
        &[
            "dev-dependency on card-encryption carries version",
            "internal dev-dependencies carry no version",
        ],
    );
}

#[test]
fn a_patch_section_fails() {
    let copy = Copy::new();
    copy.edit(
        "Cargo.toml",
        "[workspace.lints.rust]",
        "[patch.crates-io]\nrsa = { path = \"../rsa\" }\n\n[workspace.lints.rust]",
    );
    assert_finding(
        copy.gate(),
        "workspace",
        &["[patch]", "no [patch] left behind"],
    );
}

#[test]
fn a_member_without_workspace_lints_fails() {
    let copy = Copy::new();
    copy.edit("xtask/Cargo.toml", "[lints]\nworkspace = true", "");
    assert_finding(
        copy.gate(),
        "xtask",
        &[
            "[lints] workspace = true",
            "every member inherits workspace lints",
        ],
    );
}

#[test]
fn a_publishable_xtask_fails() {
    let copy = Copy::new();
    copy.edit("xtask/Cargo.toml", "publish = false", "");
    assert_finding(copy.gate(), "xtask", &["publish = false on xtask"]);
}

#[test]
fn features_without_docs_rs_settings_fail() {
    let copy = Copy::new();
    copy.edit(
        "crates/card-encryption/Cargo.toml",
        "[package.metadata.docs.rs]",
        "[package.metadata.not-docs-rs]",
    );
    assert_finding(
        copy.gate(),
        "card-encryption",
        &["no [package.metadata.docs.rs]", "all-features = true"],
    );
}

#[test]
fn a_readme_that_is_not_the_crate_documentation_fails() {
    let copy = Copy::new();
    copy.edit(
        "crates/payauth-sandbox/src/lib.rs",
        "#![doc = include_str!(\"../README.md\")]",
        "//! Undocumented.",
    );
    assert_finding(
        copy.gate(),
        "payauth-sandbox",
        &[
            "include_str!",
            "README, included as the crate documentation",
        ],
    );
}

#[test]
fn a_command_line_crate_documents_itself_from_its_readme_too() {
    let copy = Copy::new();
    copy.edit(
        "crates/payauth-cli/src/main.rs",
        "#![doc = include_str!(\"../README.md\")]",
        "//! Undocumented.",
    );
    assert_finding(
        copy.gate(),
        "payauth-cli",
        &[
            "src/main.rs does not start with",
            "README, included as the crate documentation",
        ],
    );
}

#[test]
fn a_new_crate_keeps_its_entries_unreleased_until_its_release() {
    let new = "# Changelog\n\n## [Unreleased]\n\n### Added\n- Everything.\n";
    assert!(checks::never_released(new));
    assert!(!checks::never_released("# Changelog\n"));
    assert!(!checks::never_released(
        "## [Unreleased]\n\n## [0.1.0] - 2026-01-31\n"
    ));
    // The tree's tests pass with it; the release gate still asks for the dated section.
    let copy = Copy::new();
    std::fs::write(copy.root.join("crates/payauth-sandbox/CHANGELOG.md"), new).unwrap();
    let (_, order) = static_gate(&copy.root, &[]).unwrap();
    let err = checks::check_release_changelogs(&order).unwrap_err();
    assert!(
        err.starts_with("payauth-sandbox: CHANGELOG.md has no section for 0.1.0"),
        "{err}"
    );
}

#[test]
fn changelog_rules() {
    let ok =
        "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-01-31\n\n## [0.1.0] - 2025-12-01\n";
    assert_eq!(checks::changelog_problem(ok, "0.2.0"), None);
    let stale = checks::changelog_problem(ok, "0.3.0").unwrap();
    assert!(stale.0.contains("no section for 0.3.0"), "{stale:?}");
    let older = checks::changelog_problem(ok, "0.1.0").unwrap();
    assert!(older.0.contains("no section for 0.1.0"), "{older:?}");
    let none = checks::changelog_problem("## [0.1.0] - 2025-12-01\n", "0.1.0").unwrap();
    assert!(none.0.contains("Unreleased"), "{none:?}");
    let below = checks::changelog_problem("## [0.1.0] - 2025-12-01\n## [Unreleased]\n", "0.1.0");
    assert!(below.unwrap().0.contains("above"));
    let undated = checks::changelog_problem("## [Unreleased]\n## [0.1.0]\n", "0.1.0").unwrap();
    assert!(undated.0.contains("no release date"), "{undated:?}");
    let empty = checks::changelog_problem("## [Unreleased]\n", "0.1.0").unwrap();
    assert!(empty.0.contains("no section for 0.1.0"), "{empty:?}");
}

fn synthetic(name: &str, deps: &[(&str, DepKind, &str)]) -> Member {
    Member {
        name: name.into(),
        version: "0.1.0".into(),
        manifest_path: PathBuf::from(format!("/ws/crates/{name}/Cargo.toml")),
        description: Some("d".into()),
        license: Some("MIT OR Apache-2.0".into()),
        license_file: None,
        repository: Some("https://example.invalid".into()),
        readme: Some("README.md".into()),
        keywords: vec!["k".into()],
        categories: vec!["c".into()],
        rust_version: Some("1.85".into()),
        publishable: true,
        features: vec![],
        docs_rs: None,
        lib_path: None,
        bin_paths: Vec::new(),
        dependencies: deps
            .iter()
            .map(|(dep, kind, req)| Dependency {
                name: (*dep).into(),
                req: (*req).into(),
                kind: *kind,
                path: Some(PathBuf::from(format!("/ws/crates/{dep}"))),
            })
            .collect(),
    }
}

#[test]
fn order_follows_normal_and_build_dependencies_and_ignores_dev_ones() {
    let ws = Workspace {
        root: "/ws".into(),
        members: vec![
            synthetic("a-client", &[("m-core", DepKind::Normal, "^0.1.0")]),
            synthetic("m-core", &[("z-macros", DepKind::Build, "^0.1.0")]),
            // A dev-dependency back on a-client would be a cycle if dev-dependencies counted.
            synthetic("z-macros", &[("a-client", DepKind::Dev, "*")]),
        ],
    };
    let order: Vec<String> = ws
        .publish_order()
        .unwrap()
        .into_iter()
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(order, ["z-macros", "m-core", "a-client"]);
}

#[test]
fn a_dependency_cycle_is_an_error_naming_the_crates() {
    let ws = Workspace {
        root: "/ws".into(),
        members: vec![
            synthetic("a", &[("b", DepKind::Normal, "^0.1.0")]),
            synthetic("b", &[("a", DepKind::Normal, "^0.1.0")]),
        ],
    };
    let err = ws.publish_order().unwrap_err();
    assert!(err.starts_with("a, b: dependency cycle"), "{err}");
}

fn files(paths: &[(&str, u64)]) -> Vec<PackagedFile> {
    paths
        .iter()
        .map(|(p, size)| PackagedFile {
            path: (*p).into(),
            size: Some(*size),
        })
        .collect()
}

const GOOD_PACKAGE: &[(&str, u64)] = &[
    ("Cargo.toml", 900),
    ("README.md", 4000),
    ("LICENSE-MIT", 1000),
    ("LICENSE-APACHE", 11000),
    ("src/lib.rs", 3000),
];

#[test]
fn package_contents_need_readme_and_licences() {
    let member = synthetic("a", &[]);
    assert_eq!(
        checks::check_package_files(&member, &files(GOOD_PACKAGE)),
        Ok(vec![])
    );
    let without: Vec<(&str, u64)> = GOOD_PACKAGE
        .iter()
        .copied()
        .filter(|(p, _)| !p.starts_with("LICENSE-APACHE") && *p != "README.md")
        .collect();
    let err = checks::check_package_files(&member, &files(&without)).unwrap_err();
    assert!(err.contains("a: the package has no README.md"), "{err}");
    assert!(
        err.contains("a: the package has no LICENSE-APACHE"),
        "{err}"
    );
}

#[test]
fn package_contents_refuse_test_material_and_big_files() {
    let member = synthetic("a", &[]);
    for (bad, size, why) in [
        ("tests/data/README.md", 10, "test data"),
        ("keys/server-key.pem", 10, "a private key"),
        ("vendor.cer", 10, "a test certificate"),
        ("tests/fixtures/response.json", 10, "a fixture"),
        ("src/table.bin", checks::FILE_SIZE_CAP + 1, "over 256 KiB"),
    ] {
        let mut list = GOOD_PACKAGE.to_vec();
        list.push((bad, size));
        let err = checks::check_package_files(&member, &files(&list)).unwrap_err();
        assert!(err.starts_with("a: "), "{err}");
        assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
    }
}

#[test]
fn the_sandbox_ships_its_keys_by_an_explicit_allowance_only() {
    let keys = [
        ("keys/easypay-card-key.pem", 3300),
        ("keys/easypay-card-cert.der", 1400),
    ];
    let mut list = GOOD_PACKAGE.to_vec();
    list.extend(keys);
    let notes = checks::check_package_files(&synthetic("payauth-sandbox", &[]), &files(&list))
        .expect("the sandbox's keys are allowed");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with(
            "payauth-sandbox: ships keys/easypay-card-key.pem, keys/easypay-card-cert.der on purpose"
        ),
        "{notes:?}"
    );
    // The same files in any other crate, or elsewhere in the sandbox, are refused.
    assert!(
        checks::check_package_files(&synthetic("card-encryption", &[]), &files(&list)).is_err()
    );
    let mut nested = GOOD_PACKAGE.to_vec();
    nested.push(("keys/old/easypay-card-key.pem", 3300));
    assert!(
        checks::check_package_files(&synthetic("payauth-sandbox", &[]), &files(&nested)).is_err()
    );
}

#[test]
fn a_doctest_reading_tests_data_is_found() {
    let text = "```rust\n# let p = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/tests/data/k.der\");\n\
                # let q = env!(\"CARGO_MANIFEST_DIR\");\n```\n";
    assert_eq!(checks::test_data_lines(text), vec![2]);
}

#[test]
fn a_pipe_inside_a_code_span_in_a_table_row_is_found() {
    let text = "intro with `a|b` outside a table\n\
                | ok | `a \\| b` |\n\
                | bad | `base64|thumbprint` |\n\
                ```text\n| fenced | `x|y` |\n```\n\
                | two | ``a ` | b`` |\n\
                | plain | a | b |\n";
    assert_eq!(checks::table_pipe_lines(text), vec![3, 7]);
}

/// GitHub and rustdoc cut a table row at an unescaped `|` in a code span; every Markdown file in
/// the repository is checked, not only the READMEs a release packages.
#[test]
fn no_markdown_table_row_is_cut_by_a_pipe_in_code() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "fuzz") {
                    walk(&path, found);
                }
            } else if name.ends_with(".md") {
                let text = fs::read_to_string(&path).unwrap();
                for line in checks::table_pipe_lines(&text) {
                    found.push(format!("{}:{line}", path.display()));
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&root(), &mut found);
    assert!(found.is_empty(), "write `\\|` in these rows: {found:#?}");
}
