//! The workspace as `cargo metadata` describes it, reduced to what the release rules read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::Result;
use serde_json::Value;

/// A workspace member's manifest facts.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) description: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) license_file: Option<String>,
    pub(crate) repository: Option<String>,
    pub(crate) readme: Option<String>,
    pub(crate) keywords: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) rust_version: Option<String>,
    /// `publish` is absent or names a registry (`publish = false` is an empty list).
    pub(crate) publishable: bool,
    /// Feature names, `default` included.
    pub(crate) features: Vec<String>,
    /// `[package.metadata.docs.rs]`, if present.
    pub(crate) docs_rs: Option<Value>,
    /// The library target's root file, if the package has a library.
    pub(crate) lib_path: Option<PathBuf>,
    /// The binary targets' root files (`src/main.rs` of a command-line crate).
    pub(crate) bin_paths: Vec<PathBuf>,
    pub(crate) dependencies: Vec<Dependency>,
}

impl Member {
    /// The folder holding the manifest.
    pub(crate) fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }
}

/// Which table of the manifest a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    Normal,
    Build,
    Dev,
}

#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    /// The package name (not the rename).
    pub(crate) name: String,
    /// The version requirement; cargo reports `*` when a path dependency gives none.
    pub(crate) req: String,
    pub(crate) kind: DepKind,
    pub(crate) path: Option<PathBuf>,
}

impl Dependency {
    /// Cargo reports a missing `version` as `*`, and `*` is also what `version = "*"` means:
    /// neither pins anything a registry could resolve.
    pub(crate) fn has_version(&self) -> bool {
        self.req.trim() != "*"
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    pub(crate) members: Vec<Member>,
}

impl Workspace {
    /// Reads the workspace at `root` with `cargo metadata --no-deps --offline`: manifests only,
    /// no resolution, so it is fast and needs no network.
    pub(crate) fn load(root: &Path) -> Result<Workspace> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(root)
            .output()
            .map_err(|e| format!("could not run cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo metadata failed in {}:\n{}",
                root.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let text = String::from_utf8(output.stdout)
            .map_err(|_| "cargo metadata printed non-UTF-8 output".to_string())?;
        Workspace::from_metadata(
            &serde_json::from_str(&text).map_err(|e| format!("cargo metadata: {e}"))?,
        )
    }

    /// Builds the model from a parsed `cargo metadata` document.
    pub(crate) fn from_metadata(doc: &Value) -> Result<Workspace> {
        let root = doc
            .get("workspace_root")
            .and_then(Value::as_str)
            .ok_or("cargo metadata: no workspace_root")?;
        let member_ids = doc.get("workspace_members").map(strings);
        let member_ids = member_ids.unwrap_or_default();
        let packages = doc
            .get("packages")
            .and_then(Value::as_array)
            .ok_or("cargo metadata: no packages")?;
        let mut members = Vec::new();
        for package in packages {
            let id = package.get("id").and_then(Value::as_str).unwrap_or("");
            if member_ids.iter().any(|m| m == id) {
                members.push(member(package)?);
            }
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace {
            root: PathBuf::from(root),
            members,
        })
    }

    pub(crate) fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub(crate) fn publishable(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.publishable)
    }

    /// The member whose folder a path dependency points at.
    pub(crate) fn member_at(&self, path: &Path) -> Option<&Member> {
        self.members.iter().find(|m| m.dir() == path)
    }

    /// Internal dependencies that must be on the registry before `member` can be: normal and
    /// build dependencies on other members. Dev-dependencies are stripped from a published
    /// manifest when they carry no version, so they never constrain the order.
    pub(crate) fn publish_dependencies<'a>(&'a self, member: &'a Member) -> Vec<&'a Member> {
        let mut deps: Vec<&Member> = member
            .dependencies
            .iter()
            .filter(|d| d.kind != DepKind::Dev)
            .filter_map(|d| d.path.as_deref().and_then(|p| self.member_at(p)))
            .collect();
        deps.sort_by(|a, b| a.name.cmp(&b.name));
        deps.dedup_by(|a, b| a.name == b.name);
        deps
    }

    /// Every publishable member, each after the members it depends on; ties are broken by name
    /// so the order is the same on every run. A cycle is an error naming its members.
    pub(crate) fn publish_order(&self) -> Result<Vec<&Member>> {
        let publishable: Vec<&Member> = self.publishable().collect();
        let mut remaining: BTreeMap<&str, Vec<&str>> = publishable
            .iter()
            .map(|m| {
                let deps = self
                    .publish_dependencies(m)
                    .into_iter()
                    .filter(|d| d.publishable)
                    .map(|d| d.name.as_str())
                    .collect();
                (m.name.as_str(), deps)
            })
            .collect();
        let mut order = Vec::new();
        while !remaining.is_empty() {
            let ready = remaining
                .iter()
                .find(|(_, deps)| deps.iter().all(|d| !remaining.contains_key(d)))
                .map(|(name, _)| *name);
            let Some(name) = ready else {
                let cycle: Vec<&str> = remaining.keys().copied().collect();
                return Err(format!(
                    "{}: dependency cycle among these crates (rule: normal and build dependencies \
                     between published crates must form a tree)",
                    cycle.join(", ")
                ));
            };
            remaining.remove(name);
            order.extend(publishable.iter().find(|m| m.name == name));
        }
        Ok(order)
    }
}

fn string_field(package: &Value, key: &str) -> Option<String> {
    package
        .get(key)
        .and_then(Value::as_str)
        .map(String::from)
        .filter(|s| !s.trim().is_empty())
}

fn member(package: &Value) -> Result<Member> {
    let name = string_field(package, "name").ok_or("cargo metadata: package without a name")?;
    let version = string_field(package, "version")
        .ok_or_else(|| format!("cargo metadata: {name} has no version"))?;
    let manifest_path = string_field(package, "manifest_path")
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo metadata: {name} has no manifest_path"))?;
    // `publish = false` is reported as `[]`, a registry list as its names, absence as null.
    let publishable = match package.get("publish") {
        None | Some(Value::Null) => true,
        Some(list) => !strings(list).is_empty(),
    };
    let features = package
        .get("features")
        .and_then(Value::as_object)
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    let docs_rs = package
        .get("metadata")
        .and_then(|m| m.get("docs"))
        .and_then(|d| d.get("rs"))
        .cloned();
    let lib_path = package
        .get("targets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .find(|t| {
            t.get("kind")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .any(|k| k == "lib" || k == "rlib" || k == "proc-macro")
        })
        .and_then(|t| string_field(t, "src_path"))
        .map(PathBuf::from);
    let bin_paths = package
        .get("targets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|t| {
            t.get("kind")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .any(|k| k == "bin")
        })
        .filter_map(|t| string_field(t, "src_path"))
        .map(PathBuf::from)
        .collect();
    let dependencies = package
        .get("dependencies")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| Dependency {
            name: string_field(d, "name").unwrap_or_default(),
            req: string_field(d, "req").unwrap_or_else(|| "*".into()),
            kind: match d.get("kind").and_then(Value::as_str) {
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                _ => DepKind::Normal,
            },
            path: string_field(d, "path").map(PathBuf::from),
        })
        .collect();
    Ok(Member {
        description: string_field(package, "description"),
        license: string_field(package, "license"),
        license_file: string_field(package, "license_file"),
        repository: string_field(package, "repository"),
        readme: string_field(package, "readme"),
        keywords: package.get("keywords").map(strings).unwrap_or_default(),
        categories: package.get("categories").map(strings).unwrap_or_default(),
        rust_version: string_field(package, "rust_version"),
        name,
        version,
        manifest_path,
        publishable,
        features,
        docs_rs,
        lib_path,
        bin_paths,
        dependencies,
    })
}

/// The strings of a JSON array (other elements skipped); empty for anything else.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
