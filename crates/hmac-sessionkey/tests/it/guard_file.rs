//! The guard file's permissions: created private, never through a symbolic link, refused when
//! someone else could write it. Every refusal happens before anything is sent to EasyPay.
#![cfg(unix)]

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};

use hmac_sessionkey::{Client, Error, FileGuardStore, LockoutGuard};
use payauth_sandbox::DEFAULT_EASYPAY_ACCOUNT;

use crate::support::{Env, env, guard_path};

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn clean(path: &Path) {
    for suffix in ["", ".lock", ".tmp"] {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
}

fn client(env: &Env, path: &Path) -> Client {
    env.builder_for(DEFAULT_EASYPAY_ACCOUNT)
        .lockout_guard(LockoutGuard::file(path))
        .build()
        .unwrap()
}

/// The session is refused by the guard's store, naming `hint`, and nothing reached EasyPay.
fn refused(env: &Env, path: &Path, hint: &str) {
    let err = client(env, path).session().unwrap_err();
    let Error::GuardStore(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains(hint), "{message}");
    assert_eq!(env.authentications(), 0);
}

#[test]
fn the_files_are_created_private() {
    let env = env();
    let path = guard_path();
    clean(&path);
    client(&env, &path).session().unwrap();
    for file in [path.clone(), sibling(&path, ".lock")] {
        let mode = std::fs::metadata(&file).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600, "{}: {mode:o}", file.display());
    }
    assert!(!sibling(&path, ".tmp").exists());
    clean(&path);
}

#[test]
fn a_file_others_can_write_is_refused() {
    let env = env();
    for (file, mode) in [("", 0o666), ("", 0o620), (".lock", 0o606)] {
        let path = guard_path();
        clean(&path);
        let guard = LockoutGuard::file(&path);
        guard.reset().unwrap();
        std::fs::write(sibling(&path, file), "").ok();
        if file.is_empty() {
            // A whole state, so that only the mode is wrong.
            std::fs::write(
                &path,
                format!(
                    r#"{{"version":1,"salt":"{}","consecutive_failures":0,"rejected":[]}}"#,
                    "0".repeat(64)
                ),
            )
            .unwrap();
        }
        std::fs::set_permissions(sibling(&path, file), std::fs::Permissions::from_mode(mode))
            .unwrap();
        refused(&env, &path, "chmod 600");
        clean(&path);
    }
}

#[test]
fn a_symbolic_link_is_never_followed() {
    let env = env();
    let path = guard_path();
    clean(&path);
    // A link to a configuration file: the guard must neither read nor replace it.
    let config = sibling(&path, ".config");
    std::fs::write(&config, "important = true\n").unwrap();
    symlink(&config, &path).unwrap();
    refused(&env, &path, "symbolic link");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "important = true\n"
    );
    assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
    std::fs::remove_file(&path).unwrap();

    // A dangling link: its target is not created.
    let target = sibling(&path, ".target");
    let _ = std::fs::remove_file(&target);
    symlink(&target, &path).unwrap();
    refused(&env, &path, "symbolic link");
    assert!(!target.exists());
    std::fs::remove_file(&path).unwrap();

    // The lock file is not followed either.
    clean(&path);
    symlink(&config, sibling(&path, ".lock")).unwrap();
    refused(&env, &path, "symbolic link");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "important = true\n"
    );
    clean(&path);
    std::fs::remove_file(&config).unwrap();
}

#[test]
fn a_file_of_another_user_is_refused() {
    let env = env();
    let me = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1);
    if me == 0 {
        // Root can give a file away: the store must refuse what it did not create.
        let path = guard_path();
        clean(&path);
        LockoutGuard::file(&path).reset().unwrap();
        std::fs::write(
            &path,
            format!(
                r#"{{"version":1,"salt":"{}","consecutive_failures":0,"rejected":[]}}"#,
                "0".repeat(64)
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        refused(&env, &path, "chown 0");
        clean(&path);
    } else {
        // Any other user reads a file of root's: the same rule, on a file root owns.
        let err = FileGuardStore::new("/etc/passwd").load().unwrap_err();
        assert!(err.contains("belongs to user id 0"), "{err}");
        assert!(err.contains(&format!("chown {me} /etc/passwd")), "{err}");
    }
}
