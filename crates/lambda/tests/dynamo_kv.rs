//! The key-value port on DynamoDB against a real endpoint.
//!
//! The store tests need a DynamoDB emulator at `TOLLGATE_TEST_DYNAMODB`
//! (default `http://127.0.0.1:18500`, where `scripts/dynamodb-emulator.py`
//! listens); they are `#[ignore]`d and scripts/conformance.sh runs them with
//! `--ignored` while the emulator runs, so a missing emulator is a failure.
//! Each creates its own table. The timeout test needs no emulator: its
//! endpoint accepts connections and never answers.

mod common;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use common::{client_with, emulator, fresh_table, now};
use std::net::TcpListener;
use std::time::Instant;
use tollgate_core::platform::{KeyValueStore, Timestamp};
use tollgate_lambda::dynamo_kv::{self, DynamoKv};

fn client(endpoint: &str) -> Client {
    client_with(endpoint, dynamo_kv::timeouts())
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn put_get_delete() {
    let endpoint = emulator("put_get_delete");
    let client = client(&endpoint);
    let table = fresh_table(&client, "crud").await;
    let kv = DynamoKv::new(client.clone(), &table);
    let t = now();

    assert_eq!(kv.get("apikey:none", t).await, Ok(None));
    kv.put("apikey:ab", Bytes::from_static(br#"{"id":"acme"}"#), None).await.expect("put");
    assert_eq!(kv.get("apikey:ab", t).await, Ok(Some(Bytes::from_static(br#"{"id":"acme"}"#))));

    // Overwrite, with bytes that are not UTF-8.
    let binary = Bytes::from_static(&[0, 0xff, 0x80, b'\n']);
    kv.put("apikey:ab", binary.clone(), None).await.expect("overwrite");
    assert_eq!(kv.get("apikey:ab", t).await, Ok(Some(binary)));

    // The item as stored: prefixed key, binary value, no ttl.
    let raw = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("kv#apikey:ab".into()))
        .send()
        .await
        .expect("raw get");
    let item = raw.item().expect("stored under kv#apikey:ab");
    assert!(matches!(item.get("v"), Some(AttributeValue::B(_))), "{item:?}");
    assert!(!item.contains_key("ttl"), "{item:?}");

    kv.delete("apikey:ab").await.expect("delete");
    assert_eq!(kv.get("apikey:ab", t).await, Ok(None));
    kv.delete("apikey:ab").await.expect("deleting a missing key is no error");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn expiry() {
    let endpoint = emulator("expiry");
    let client = client(&endpoint);
    let table = fresh_table(&client, "ttl").await;
    let kv = DynamoKv::new(client.clone(), &table);
    let t = now();
    let later = Timestamp(t.as_micros() + 3_600_000_000);

    kv.put("subject:alice", Bytes::from_static(b"a"), Some(later)).await.expect("put");
    assert_eq!(kv.get("subject:alice", t).await, Ok(Some(Bytes::from_static(b"a"))));
    assert_eq!(kv.get("subject:alice", later).await, Ok(None), "expired, though DynamoDB still holds it");

    let raw = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("kv#subject:alice".into()))
        .send()
        .await
        .expect("raw get");
    let ttl = raw.item().and_then(|item| item.get("ttl")).cloned();
    assert_eq!(ttl, Some(AttributeValue::N(later.as_secs().to_string())));

    // Written already expired (as a lazily deleted item looks): absent.
    kv.put("subject:bob", Bytes::from_static(b"b"), Some(Timestamp(t.as_micros() - 5_000_000))).await.expect("put");
    assert_eq!(kv.get("subject:bob", t).await, Ok(None));

    // A later put without expiry drops the ttl.
    kv.put("subject:alice", Bytes::from_static(b"c"), None).await.expect("put");
    assert_eq!(kv.get("subject:alice", Timestamp(u64::MAX)).await, Ok(Some(Bytes::from_static(b"c"))));
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator; scripts/conformance.sh runs it with --ignored"]
async fn missing_table_is_a_store_error_with_the_service_message() {
    let endpoint = emulator("missing_table_is_a_store_error_with_the_service_message");
    let kv = DynamoKv::new(client(&endpoint), "tollgate-no-such-table");
    let err = kv.get("apikey:ab", now()).await.expect_err("no such table");
    assert!(err.detail().contains("ResourceNotFoundException"), "{err}");
    assert!(err.detail().contains("GetItem"), "{err}");
    let err = kv.put("k", Bytes::new(), None).await.expect_err("no such table");
    assert!(err.detail().contains("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn a_silent_endpoint_fails_within_the_call_timeout() {
    // Accepts connections (the OS backlog does) and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let kv = DynamoKv::new(client(&endpoint), "t");
    let started = Instant::now();
    let err = kv.get("apikey:ab", now()).await.expect_err("no answer");
    let took = started.elapsed();
    assert!(took >= dynamo_kv::CALL_TIMEOUT / 2, "gave up too early ({took:?}): {err}");
    assert!(took < dynamo_kv::CALL_TIMEOUT * 3, "took {took:?}: {err}");
    assert!(err.detail().contains("GetItem") && err.detail().contains("timeout"), "{err}");
    drop(listener);
}
