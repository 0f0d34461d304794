//! What the DynamoDB store tests share: a client for an endpoint, the
//! emulator's endpoint (asserted reachable), the wall clock as a
//! `Timestamp`, and a fresh table laid out as template.yaml's.

#![allow(dead_code)] // each test file uses its own part of this

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_core::platform::Timestamp;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:18500";

pub fn client_with(endpoint: &str, timeouts: TimeoutConfig) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tollgate-tests"))
        .endpoint_url(endpoint)
        .timeout_config(timeouts)
        .build();
    Client::from_conf(config)
}

/// The emulator's endpoint. The store tests are `#[ignore]`d and run by
/// scripts/conformance.sh (`--ignored`) while it runs the emulator, so a
/// missing emulator is a failure, not a skip.
pub fn emulator(test: &str) -> String {
    let endpoint = std::env::var("TOLLGATE_TEST_DYNAMODB")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    let authority = endpoint.trim().trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    let reachable = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok());
    assert!(
        reachable,
        "{test}: no DynamoDB emulator at {endpoint} (start scripts/dynamodb-emulator.py, or set TOLLGATE_TEST_DYNAMODB)"
    );
    endpoint
}

pub fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

/// A fresh table laid out as template.yaml's.
pub async fn fresh_table(client: &Client, test: &str) -> String {
    let table = format!("tollgate-test-{test}-{}-{}", std::process::id(), now().as_micros());
    client
        .create_table()
        .table_name(&table)
        .key_schema(
            KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().expect("key schema"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    table
}
