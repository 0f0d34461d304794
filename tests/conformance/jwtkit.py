"""Tokens and credentials for the authentication tests, made by an implementation
independent of the gateway's: PyJWT and `cryptography` with the fixed test-only
keys in keys/ (see keys/README.md). Well-formed tokens come from PyJWT's own
encoder; the attack tokens that PyJWT refuses to make (alg "None", a public key
as an HMAC secret, non-object claims, all-zero signatures) are put together
by hand from the same pieces (`raw`, `sign`).

The values here must match gateway.yaml and what the gateway was given
(run.sh / wrangler.toml / scripts/conformance.sh): JWT_SECRET, ADMIN_TOKEN,
JWKS_URL, the issuer, audience, kids and API keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from typing import Any, Callable, Optional, Union

import jwt
from cryptography.hazmat.primitives import serialization

from conftest import assert_problem

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS_DIR = os.path.join(HERE, "keys")

JWT_SECRET = os.environ.get("JWT_SECRET", "conformance-hs256-secret-not-for-production-use-0001")
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "conformance-admin-token")
JWKS_URL = os.environ.get("JWKS_URL", "http://127.0.0.1:18105").rstrip("/")
CANARY_PORT = 18106  # jku / x5u point here; nothing may ever connect

ISSUER = "https://issuer.test/"
AUDIENCE = "api"
LEEWAY = 30  # seconds, every issuer in gateway.yaml

# API keys (gateway.yaml stores their sha256)
ACME_KEY = "conformance-acme-key-7f3a91"
BETA_KEY = "conformance-beta-key-2c64d0"


def stored_form(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _load_private(name: str):
    with open(os.path.join(KEYS_DIR, name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


RSA = _load_private("rsa.pem")
EC = _load_private("ec.pem")
ED = _load_private("ed25519.pem")
ATTACKER = _load_private("attacker.pem")
with open(os.path.join(KEYS_DIR, "rsa.pub.pem"), "rb") as _f:
    RSA_PUBLIC_PEM = _f.read()

# kid of each key in backends.py's "main" set (/jwks.json)
KID = {"rsa": "rsa-1", "ec": "ec-1", "ed": "ed-1"}
KEY = {"rsa": RSA, "ec": EC, "ed": ED, "attacker": ATTACKER}
ALG = {"rsa": "RS256", "ec": "ES256", "ed": "EdDSA", "attacker": "RS256"}

_ALGS = jwt.algorithms.get_default_algorithms()


def public_jwk(private_key, alg: str, kid: Optional[str] = None) -> dict:
    """The public JWK of a key, as PyJWT writes it (plus kid/alg/use)."""
    jwk = json.loads(_ALGS[alg].to_jwk(private_key.public_key()))
    jwk.pop("key_ops", None)
    jwk.update({"alg": alg, "use": "sig"})
    if kid:
        jwk["kid"] = kid
    return jwk


# ---------------------------------------------------------------------------
# Claims


def now() -> int:
    return int(time.time())


_DROP = object()


def claims(**over: Any) -> dict:
    """A valid claim set for the `main` issuer (iss, aud, sub, iat, exp in 10
    minutes); keyword arguments replace claims (`name=DROP` leaves one out)."""
    t = now()
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": t, "exp": t + 600}
    for k, v in over.items():
        if v is _DROP:
            c.pop(k, None)
        else:
            c[k] = v
    return c


DROP = _DROP


# ---------------------------------------------------------------------------
# Tokens


def b64u(data: Union[bytes, str]) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":")).encode()


_DEFAULT = object()


def mint(key: str = "rsa", claim_set: Any = _DEFAULT, *, kid: Any = "default", headers: Optional[dict] = None,
         alg: Optional[str] = None) -> str:
    """A token from PyJWT. `key`: rsa | ec | ed | attacker | hs (the shared
    secret). `kid`: "default" = the key's kid in the main set (none for hs),
    None = no kid, else that kid."""
    claim_set = claims() if claim_set is _DEFAULT else claim_set
    hdrs = dict(headers or {})
    if key == "hs":
        signing_key: Any = JWT_SECRET
        algorithm = alg or "HS256"
        default_kid = None
    else:
        signing_key = KEY[key]
        algorithm = alg or ALG[key]
        default_kid = KID.get(key)
    k = default_kid if kid == "default" else kid
    if k is not None:
        hdrs["kid"] = k
    payload = _json(claim_set) if not isinstance(claim_set, dict) else None
    if payload is not None:
        # not a JSON object: PyJWT's JWT layer refuses, its JWS layer signs any bytes
        return jwt.api_jws.PyJWS().encode(payload, signing_key, algorithm=algorithm, headers=hdrs or None)
    return jwt.encode(claim_set, signing_key, algorithm=algorithm, headers=hdrs or None)


def sign(alg: str, key: Any, signing_input: bytes) -> bytes:
    """A signature made by PyJWT's algorithm `alg` with `key` (a key object, or
    bytes for HMAC, taken as they are: no key-type checks)."""
    if alg.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        return hmac.new(key if isinstance(key, bytes) else key.encode(), signing_input, digest).digest()
    return _ALGS[alg].sign(signing_input, key)


def raw(header: Any, payload: Any, signature: Union[bytes, str, Callable[[bytes], bytes], None] = b"") -> str:
    """A compact JWS put together by hand: header and payload are JSON values
    (or raw bytes), signature is bytes, a ready base64url string, or a function
    of the signing input."""
    signing_input = (b64u(_json(header)) + "." + b64u(_json(payload))).encode()
    if callable(signature):
        signature = signature(signing_input)
    if isinstance(signature, bytes):
        signature = b64u(signature)
    return signing_input.decode() + "." + (signature or "")


def segments(token: str) -> list:
    return token.split(".")


# ---------------------------------------------------------------------------
# 401 answers


def www_authenticate(resp) -> tuple:
    """(scheme, {param: value}) of the one WWW-Authenticate challenge."""
    values = resp.header_all("www-authenticate")
    assert len(values) == 1, f"expected one WWW-Authenticate, got {values}:\n{resp.describe()}"
    value = values[0].strip()
    scheme, _, rest = value.partition(" ")
    params = {m.group(1).lower(): m.group(2) for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"', rest)}
    return scheme, params


def bearer(token: str) -> list:
    return [("Authorization", f"Bearer {token}")]


def assert_401(resp, presented: bool = True) -> dict:
    """A gateway 401 (problem+json, never reaching the upstream) with
    `WWW-Authenticate: Bearer`, carrying `error="invalid_token"` exactly when
    a credential was presented (spec §7). Returns the problem body."""
    body = assert_problem(resp, 401)
    scheme, params = www_authenticate(resp)
    assert scheme.lower() == "bearer", resp.describe()
    if presented:
        assert params.get("error") == "invalid_token", f"a credential was presented:\n{resp.describe()}"
    else:
        assert "error" not in params, f"no credential was presented:\n{resp.describe()}"
    return body


def assert_not_accepted(resp, *statuses: int) -> None:
    """Refused with one of `statuses` (a gateway problem, or for 431 possibly
    the platform's own answer); never proxied, never a 5xx."""
    assert resp.status in statuses, f"expected one of {statuses}\n{resp.describe()}"
    assert not resp.has("x-echo-backend"), resp.describe()
    if resp.status == 401:
        assert_401(resp)
