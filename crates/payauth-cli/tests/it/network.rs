//! `--proxy`, `--ca-cert` and `--client-cert` reach every client's network settings.

use std::net::TcpListener;

use crate::{PAYROC_KEY, Run, temp_dir};

#[test]
fn a_dead_proxy_is_named_without_its_password_and_exits_8() {
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    // A vendor environment: not loopback, so the proxy is used (and nothing leaves the machine).
    let out = Run::new(&["--env", "uat", "payroc", "session", "--terminal", "1234001"])
        .env(
            "PAYAUTH_PROXY",
            format!("http://ops:pr0xy-s3cret@{dead_addr}"),
        )
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(out.code, 8, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("through proxy http://{dead_addr}")),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("identity.uat.payroc.com:443"),
        "{out:?}"
    );
    assert!(!out.all().contains("pr0xy-s3cret"), "{out:?}");
    assert!(!out.all().contains(PAYROC_KEY), "{out:?}");

    let bad = Run::new(&["--env", "uat", "payroc", "session", "--terminal", "1234001"])
        .env("PAYAUTH_PROXY", "ftp://ops:pr0xy-s3cret@proxy")
        .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
        .run();
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(!bad.all().contains("pr0xy-s3cret"), "{bad:?}");
}

#[test]
fn a_client_certificate_from_files_reaches_a_server_that_requires_one() {
    let dir = temp_dir("client-cert");
    let (chain, key) = payauth_sandbox::Sandbox::client_certificate_pem();
    let (chain_path, key_path) = (dir.join("client.pem"), dir.join("client-key.pem"));
    std::fs::write(&chain_path, chain).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let sandbox = payauth_sandbox::Sandbox::builder()
        .require_client_certificate()
        .start()
        .unwrap();
    let files = payauth_sandbox::Sandbox::write_certificates(&dir).unwrap();
    let run = |with_cert: bool| {
        let mut args = vec!["--json", "--ca-cert"];
        args.push(files.ca_pem.to_str().unwrap());
        if with_cert {
            args.extend([
                "--client-cert",
                chain_path.to_str().unwrap(),
                "--client-key",
                key_path.to_str().unwrap(),
            ]);
        }
        args.extend(["payroc", "session", "--terminal", "1234001"]);
        Run::new(&args)
            .env("PAYAUTH_SANDBOX", sandbox.url())
            .env("PAYAUTH_PAYROC_API_KEY", PAYROC_KEY)
            .run()
    };
    let without = run(false);
    assert_eq!(without.code, 8, "{without:?}");
    let with = run(true);
    assert_eq!(with.code, 0, "{with:?}");
    assert_eq!(sandbox.counters().sessions_created, 1);
    assert!(!with.all().contains("PRIVATE KEY"), "{with:?}");
}
