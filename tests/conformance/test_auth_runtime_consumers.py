"""Consumers issued at run time (spec §3 consumers, §6 "where state lives"):
a record written into the platform's key-value store while the gateway runs
is used by the very next request, with no redeploy and no restart, and a
record removed again stops working the same way.

Records, as the gateway reads them: `apikey:<64 lowercase hex of the key's
SHA-256>` or `subject:<issuer>:<JWT sub>` → `{"id": "<consumer id>"}`. They are
written here the way an operator would, straight into the store:

- lambda: the DynamoDB table (item `pk = "kv#" + key`, value in `v`), at
  DYNAMODB_ENDPOINT (scripts/conformance.sh runs scripts/dynamodb-emulator.py
  and exports it; table TOLLGATE_TABLE, default `tollgate`);
- cloudflare: the local Workers KV namespace `TOLLGATE_KV`, through
  `wrangler kv key put --local --persist-to $WRANGLER_STATE` (the directory
  `wrangler dev` was started with; scripts/conformance.sh exports it);
- local: skipped, see LOCAL_MEMORY.

Routes: /auth/key/… (api_key in `x-api-key`), /auth/hs/… (HS256 JWT).
Every key and subject is fresh per run, so a rerun against the same store
never finds an old record.
"""

import hashlib
import json
import os
import secrets
import subprocess
import time

import pytest

from conftest import RUNTIME, echo_header, echo_of, skip_on

LOCAL_MEMORY = (
    "the local server keeps run-time consumers in its own memory and has no endpoint to issue them "
    "yet, so nothing outside the process can write one"
)
CONSUMER = "issued-at-runtime"
RECORD = json.dumps({"id": CONSUMER}, separators=(",", ":"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRANGLER_CONFIG = "tests/conformance/wrangler.toml"
JWT_SECRET = os.environ.get("JWT_SECRET", "conformance-hs256-secret-not-for-production-use-0001")

pytestmark = skip_on("local", LOCAL_MEMORY)


def _apikey_record(key: str) -> str:
    return "apikey:" + hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Writing into the platform's store


class DynamoStore:
    def __init__(self, endpoint: str):
        import boto3  # only the lambda run needs it (moto brings it into .tools/venv)

        self.table = os.environ.get("TOLLGATE_TABLE", "tollgate")
        self.client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def put(self, key: str, value: str):
        self.client.put_item(TableName=self.table, Item={"pk": {"S": "kv#" + key}, "v": {"B": value.encode()}})

    def delete(self, key: str):
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": "kv#" + key}})


class WorkersKvStore:
    def __init__(self, state_dir: str):
        self.state_dir = state_dir

    def _wrangler(self, *args: str):
        cmd = ["npx", "--no-install", "wrangler", "kv", "key", *args, "--binding", "TOLLGATE_KV", "--local",
               "--persist-to", self.state_dir, "-c", WRANGLER_CONFIG]
        env = dict(os.environ, WRANGLER_SEND_METRICS="false")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"

    def put(self, key: str, value: str):
        self._wrangler("put", key, value)

    def delete(self, key: str):
        self._wrangler("delete", key)


@pytest.fixture(scope="module")
def store():
    if RUNTIME == "lambda":
        endpoint = os.environ.get("DYNAMODB_ENDPOINT", "").strip()
        if not endpoint:
            pytest.skip("[lambda] DYNAMODB_ENDPOINT is not set: run the gateway with TOLLGATE_TABLE on a DynamoDB "
                        "emulator and export its endpoint (scripts/conformance.sh does both)")
        return DynamoStore(endpoint)
    if RUNTIME == "cloudflare":
        state = os.environ.get("WRANGLER_STATE", "").strip()
        if not state:
            pytest.skip("[cloudflare] WRANGLER_STATE is not set: export the --persist-to directory of wrangler dev "
                        "(scripts/conformance.sh does)")
        return WorkersKvStore(state)
    pytest.fail(f"no store for runtime {RUNTIME!r}")


def _hs256(sub: str) -> str:
    import jwt  # PyJWT, as the rest of the suite uses

    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + 600}, JWT_SECRET, algorithm="HS256")


# ---------------------------------------------------------------------------


def test_api_key_issued_at_run_time(gw, store):
    key = "runtime-" + secrets.token_hex(16)
    record = _apikey_record(key)

    before = gw.get("/auth/key/issued", [("X-Api-Key", key)])
    assert before.status == 401, f"a key nobody issued was accepted:\n{before.describe()}"

    store.put(record, RECORD)
    try:
        r = gw.get("/auth/key/issued", [("X-Api-Key", key)])
        assert r.status == 200, f"the key issued at run time was refused:\n{r.describe()}"
        echo = echo_of(r)
        assert echo_header(echo, "x-consumer-id") == [CONSUMER]
        assert echo_header(echo, "x-api-key") == [], "the checked key is not forwarded"
    finally:
        store.delete(record)

    after = gw.get("/auth/key/issued", [("X-Api-Key", key)])
    assert after.status == 401, f"the key still works after its record was removed:\n{after.describe()}"


def test_client_cannot_claim_a_run_time_consumer(gw, store):
    key = "runtime-" + secrets.token_hex(16)
    record = _apikey_record(key)
    store.put(record, RECORD)
    try:
        # The record's name presented as a key is not the key.
        r = gw.get("/auth/key/issued", [("X-Api-Key", record)])
        assert r.status == 401, r.describe()
        # The issued key plus a spoofed consumer header: the stored consumer wins.
        r = gw.get("/auth/key/issued", [("X-Api-Key", key), ("X-Consumer-Id", "someone-else")])
        assert r.status == 200, r.describe()
        assert echo_header(echo_of(r), "x-consumer-id") == [CONSUMER]
    finally:
        store.delete(record)


def test_jwt_subject_mapped_at_run_time(gw, store):
    sub = "runtime-sub-" + secrets.token_hex(8)
    token = _hs256(sub)

    r = gw.get("/auth/hs/issued", [("Authorization", f"Bearer {token}")])
    echo = echo_of(r)
    assert echo_header(echo, "x-consumer-id") == [], "an unmapped subject has no consumer"
    assert echo_header(echo, "x-user-id") == [sub]

    store.put("subject:hs:" + sub, RECORD)
    try:
        r = gw.get("/auth/hs/issued", [("Authorization", f"Bearer {token}")])
        echo = echo_of(r)
        assert echo_header(echo, "x-consumer-id") == [CONSUMER], r.describe()
        assert echo_header(echo, "x-user-id") == [sub]
    finally:
        store.delete("subject:hs:" + sub)
