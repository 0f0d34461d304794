//! The limiter port on DynamoDB against a real endpoint: exact under
//! concurrency, the same decisions as the in-memory limiter, expiry, release
//! and a store that is down.
//!
//! The store tests need a DynamoDB emulator at `TOLLGATE_TEST_DYNAMODB`
//! (default `http://127.0.0.1:18500`, where `scripts/dynamodb-emulator.py`
//! listens); they are `#[ignore]`d and scripts/conformance.sh runs them with
//! `--ignored` while the emulator runs, so a missing emulator is a failure.
//! Each test creates its own table. The store-down tests need no emulator.

mod common;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use common::{client_with, emulator, fresh_table, now};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tollgate_core::limit::{self, Limit};
use tollgate_core::platform::memory::MemoryLimiter;
use tollgate_core::platform::{LimiterStore, Timestamp};
use tollgate_lambda::dynamo_kv;
use tollgate_lambda::dynamo_limiter::DynamoLimiter;

const S: u64 = 1_000_000;
const HOUR: u64 = 3600 * S;

/// A client for the emulator. It serves one request at a time: the race's
/// 200 at once (and other tests' requests beside them) queue for longer than
/// the gateway's 1 s bound, so the emulator tests use a patient client.
fn client(endpoint: &str) -> Client {
    client_with(endpoint, TimeoutConfig::builder().operation_timeout(Duration::from_secs(60)).build())
}

/// A client with the gateway's timeouts (what the function uses).
fn gateway_client(endpoint: &str) -> Client {
    client_with(endpoint, dynamo_kv::timeouts())
}

async fn raw_item(client: &Client, table: &str, pk: &str) -> HashMap<String, AttributeValue> {
    let output = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get");
    output.item().cloned().unwrap_or_default()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse().expect("whole number"),
        other => panic!("{name}: {other:?} in {item:?}"),
    }
}

/// `tasks` concurrent acquires of one unit on one fresh key, spread over
/// `containers` stores (each with its own memory of keys, as separate Lambda
/// containers); the number admitted and the DynamoDB calls made.
async fn race(client: &Client, table: &str, key: &str, limit: Limit, tasks: usize, containers: usize) -> (usize, u64) {
    let stores: Vec<Arc<DynamoLimiter>> =
        (0..containers).map(|_| Arc::new(DynamoLimiter::new(client.clone(), table))).collect();
    let at = now();
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let store = Arc::clone(&stores[i % containers]);
        let key = key.to_owned();
        set.spawn(async move { store.acquire(&key, &limit, 1, at).await });
    }
    let mut admitted = 0;
    while let Some(joined) = set.join_next().await {
        let decision = joined.expect("task").expect("acquire");
        admitted += usize::from(decision.admitted);
    }
    (admitted, stores.iter().map(|s| s.calls()).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn concurrent_acquires_admit_exactly_the_limit() {
    let client = client(&emulator("concurrent_acquires_admit_exactly_the_limit"));
    let table = fresh_table(&client, "race").await;
    let limits = [
        ("rate", Limit::Rate { limit: 100, period_us: HOUR }),
        ("count", Limit::Count { limit: 100, window_end: Timestamp(now().as_micros() + 24 * HOUR) }),
    ];
    for (name, limit) in limits {
        for round in 0..5 {
            let key = format!("race:{name}:{round}");
            let (admitted, calls) = race(&client, &table, &key, limit, 200, 4).await;
            println!("{name} round {round}: {admitted} of 200 admitted, {calls} DynamoDB calls");
            assert_eq!(admitted, 100, "{name} round {round}");
            // One update each, plus one retry for those that guessed wrong.
            assert!(calls <= 2 * 200, "{name} round {round}: {calls} calls");
        }
    }
    // Once a container knows a key, each check is one call, admitted or not.
    let store = DynamoLimiter::new(client.clone(), &table);
    let limit = Limit::Rate { limit: 3, period_us: HOUR };
    let at = now();
    store.acquire("warm", &limit, 1, at).await.expect("first");
    let before = store.calls();
    let mut admitted = Vec::new();
    for _ in 0..4 {
        admitted.push(store.acquire("warm", &limit, 1, at).await.expect("acquire").admitted);
    }
    assert_eq!(admitted, [true, true, false, false]);
    assert_eq!(store.calls() - before, 4, "one call per check");
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn a_trace_decides_as_the_memory_limiter() {
    let client = client(&emulator("a_trace_decides_as_the_memory_limiter"));
    let table = fresh_table(&client, "trace").await;
    // Two stores: the shape each guesses differs, the decisions must not.
    let stores = [DynamoLimiter::new(client.clone(), &table), DynamoLimiter::new(client.clone(), &table)];
    let memory = MemoryLimiter::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let start = now().as_micros();
    let mut checks = 0;
    for round in 0..12u64 {
        let limit = match round % 3 {
            0 => Limit::Rate { limit: 1 + rng.below(5), period_us: S + rng.below(2 * S) },
            1 => Limit::Rate { limit: 10, period_us: S },
            _ => Limit::Count { limit: 1 + rng.below(6), window_end: Timestamp(start + S + rng.below(3 * S)) },
        };
        let key = format!("trace:{round}");
        let mut t = start;
        for step in 0..40 {
            t += rng.below(S / 4);
            let at = Timestamp(t);
            let store = &stores[usize::from(rng.below(2) == 0)];
            let cost = rng.below(4);
            if rng.below(5) == 0 {
                store.release(&key, &limit, cost, at).await.expect("release");
                memory.release(&key, &limit, cost, at).await.expect("release");
                continue;
            }
            let got = store.acquire(&key, &limit, cost, at).await.expect("acquire");
            let expected = memory.acquire(&key, &limit, cost, at).await.expect("acquire");
            assert_eq!(got, expected, "round {round} step {step}: {limit:?} cost {cost} at +{} µs", t - start);
            checks += 1;
        }
    }
    assert!(checks > 300, "{checks}");
    let calls: u64 = stores.iter().map(|s| s.calls()).sum();
    println!("trace: {checks} acquires and some releases, {calls} DynamoDB calls");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn expired_keys_start_fresh_and_items_carry_a_ttl() {
    let client = client(&emulator("expired_keys_start_fresh_and_items_carry_a_ttl"));
    let table = fresh_table(&client, "expiry").await;
    let store = DynamoLimiter::new(client.clone(), &table);
    let t = now();

    // A count: full until its window ends; the same key (e.g. a clock far
    // behind) counts from 0 once the item's exp is past.
    let end = Timestamp(t.as_micros() + 1_500_000);
    let count = Limit::Count { limit: 2, window_end: end };
    for admitted in [true, true, false] {
        assert_eq!(store.acquire("quota", &count, 1, t).await.map(|d| d.admitted), Ok(admitted));
    }
    let item = raw_item(&client, &table, "rl#quota").await;
    assert_eq!((number(&item, "v"), number(&item, "exp")), (2, end.as_micros()));
    assert_eq!(number(&item, "ttl"), end.as_micros().div_ceil(S), "ttl: exp rounded up to the second");
    let next = Limit::Count { limit: 2, window_end: Timestamp(end.as_micros() + 60 * S) };
    let fresh = store.acquire("quota", &next, 1, end).await.expect("acquire");
    assert_eq!((fresh.admitted, fresh.remaining), (true, 1), "expired window restarts from 0");
    assert_eq!(number(&raw_item(&client, &table, "rl#quota").await, "v"), 1);

    // A rate: emptied by a burst; at its tat (= exp) the bucket is full again.
    let rate = Limit::Rate { limit: 4, period_us: 2 * S }; // T = 0.5 s
    let burst = store.acquire("rate", &rate, 4, t).await.expect("burst");
    assert_eq!((burst.admitted, burst.remaining), (true, 0));
    assert!(!store.acquire("rate", &rate, 1, t).await.expect("denied").admitted);
    let item = raw_item(&client, &table, "rl#rate").await;
    let tat = t.as_micros() + 2 * S;
    assert_eq!((number(&item, "v"), number(&item, "exp")), (tat, tat));
    assert!(number(&item, "ttl") * S >= tat, "ttl ≥ exp: {item:?}");
    let later = store.acquire("rate", &rate, 1, Timestamp(tat)).await.expect("acquire");
    assert_eq!((later.admitted, later.remaining), (true, 3), "a full bucket again");
    // The busy update keeps exp = v and the ttl at or after it.
    store.acquire("rate", &rate, 2, Timestamp(tat)).await.expect("acquire");
    let item = raw_item(&client, &table, "rl#rate").await;
    let tat = tat + 3 * S / 2;
    assert_eq!((number(&item, "v"), number(&item, "exp")), (tat, tat));
    assert!(number(&item, "ttl") * S >= tat, "ttl ≥ exp: {item:?}");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn release_gives_units_back() {
    let client = client(&emulator("release_gives_units_back"));
    let table = fresh_table(&client, "release").await;
    let store = DynamoLimiter::new(client.clone(), &table);
    let t = now();
    let limits = [
        ("rate", Limit::Rate { limit: 5, period_us: HOUR }),
        ("count", Limit::Count { limit: 5, window_end: Timestamp(t.as_micros() + HOUR) }),
    ];
    for (key, limit) in limits {
        for _ in 0..5 {
            assert!(store.acquire(key, &limit, 1, t).await.expect("acquire").admitted, "{key}");
        }
        assert!(!store.acquire(key, &limit, 1, t).await.expect("acquire").admitted, "{key}");
        store.release(key, &limit, 1, t).await.expect("release");
        assert!(store.acquire(key, &limit, 1, t).await.expect("acquire").admitted, "{key}: given back");
        assert!(!store.acquire(key, &limit, 1, t).await.expect("acquire").admitted, "{key}: only once");
        // More given back than is left: the key is as new, no more.
        store.release(key, &limit, 3, t).await.expect("release");
        store.release(key, &limit, 9, t).await.expect("release");
        let probe = store.acquire(key, &limit, 0, t).await.expect("probe");
        assert_eq!(probe, limit::apply(&limit, None, 0, t).decision, "{key}");
        assert_eq!(probe.remaining, 5, "{key}");
    }
    // Nothing to give back: no error.
    let rate = Limit::Rate { limit: 5, period_us: HOUR };
    store.release("never-seen", &rate, 1, t).await.expect("release of a missing key");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn missing_table_is_a_store_error_with_the_service_message() {
    let store = DynamoLimiter::new(client(&emulator("missing_table")), "tollgate-no-such-table");
    let t = now();
    let rate = Limit::Rate { limit: 5, period_us: S };
    let err = store.acquire("k", &rate, 1, t).await.expect_err("no such table");
    assert!(err.detail().contains("ResourceNotFoundException") && err.detail().contains("UpdateItem"), "{err}");
    let err = store.acquire("k", &rate, 0, t).await.expect_err("no such table");
    assert!(err.detail().contains("ResourceNotFoundException") && err.detail().contains("GetItem"), "{err}");
    let err = store.release("k", &rate, 1, t).await.expect_err("no such table");
    assert!(err.detail().contains("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn a_store_that_is_down_fails_fast() {
    // A port nothing listens on: bound, then closed.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    // And one that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_endpoint = format!("http://{}", silent.local_addr().expect("address"));
    for endpoint in [format!("http://{closed}"), silent_endpoint] {
        let store = DynamoLimiter::new(gateway_client(&endpoint), "t");
        let limit = Limit::Rate { limit: 5, period_us: S };
        let started = Instant::now();
        let err = store.acquire("k", &limit, 1, now()).await.expect_err("store down");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{endpoint}: took {took:?}: {err}");
        assert!(err.detail().contains("UpdateItem"), "{err}");
        let err = store.release("k", &limit, 1, now()).await.expect_err("store down");
        assert!(err.detail().contains("UpdateItem"), "{err}");
        println!("{endpoint}: failed in {took:?}");
    }
    drop(silent);
}
