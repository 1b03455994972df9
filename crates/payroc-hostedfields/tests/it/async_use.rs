//! Use from a tokio service, as the README shows: the blocking call goes to the runtime's
//! blocking pool with `spawn_blocking`, one client (an `Arc` inside) serves every task.

use std::collections::HashSet;
use std::time::Duration;

use payauth_sandbox::Fault;
use payroc_hostedfields::Client;

use crate::support::{env, payment};

/// The async side of a checkout page: the session call on the blocking pool.
async fn session_for_page(client: Client) -> (String, String) {
    tokio::task::spawn_blocking(move || {
        let session = client.create_session(&payment()).unwrap();
        (
            session.token().secret().to_owned(),
            session.idempotency_key().to_string(),
        )
    })
    .await
    .unwrap()
}

#[test]
fn sessions_from_many_tokio_tasks_share_one_client_and_one_token() {
    let env = env();
    let client = env.client();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| tokio::spawn(session_for_page(client.clone())))
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    let tokens: HashSet<_> = results.iter().map(|(token, _)| token).collect();
    let keys: HashSet<_> = results.iter().map(|(_, key)| key).collect();
    assert_eq!(tokens.len(), 16, "one session per task");
    assert_eq!(keys.len(), 16, "one idempotency key per call");
    assert_eq!(env.sessions_created(), 16);
    // One Bearer token for every task; the next page load takes it from the cache.
    assert_eq!(env.authorize_calls(), 1);
    runtime.block_on(session_for_page(client.clone()));
    assert_eq!(env.authorize_calls(), 1);
    assert_eq!(env.sessions_created(), 17);
}

#[test]
fn a_single_threaded_runtime_keeps_running_while_a_call_waits_on_the_network() {
    let env = env();
    let client = env.client();
    // The token first, so the one request in flight below is the session request.
    client.bearer().unwrap();
    // The sandbox holds the session request before answering: the call is in flight until then.
    env.sandbox
        .inject(&env.sessions_path(), Fault::Delay(Duration::from_secs(3)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = runtime.block_on(async {
        let call = tokio::spawn(session_for_page(client.clone()));
        // The runtime's only thread goes on running tasks while the call blocks a pool thread:
        // this loop sees the request reach the sandbox while the call has not returned.
        while !env
            .sandbox
            .arrivals()
            .iter()
            .any(|a| a.path == env.sessions_path())
        {
            tokio::task::yield_now().await;
        }
        assert!(!call.is_finished(), "the call returned before its answer");
        call.await.unwrap()
    });
    assert!(!session.0.is_empty());
    assert_eq!(env.sessions_created(), 1);
}
