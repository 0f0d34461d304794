"""Mints the cross-implementation test tokens with PyJWT (run once; the
output file is committed). Claims are fixed, exp is 2100-01-01.

Run: /work/main/.tools/venv/bin/python gen_pyjwt_tokens.py
"""
import json

import jwt

CLAIMS = {
    "iss": "https://issuer.test/",
    "aud": "api",
    "sub": "pyjwt-user",
    "scope": "users:read",
    "iat": 1700000000,
    "nbf": 1700000000,
    "exp": 4102444800,
}
HS_SECRET = "pyjwt-test-secret-at-least-32-bytes-long"


def pem(name):
    with open(f"{name}_private.pem", "rb") as f:
        return f.read()


tokens = {
    "HS256": jwt.encode(CLAIMS, HS_SECRET, algorithm="HS256"),
    "RS256": jwt.encode(CLAIMS, pem("rsa"), algorithm="RS256", headers={"kid": "rsa-1"}),
    "PS256": jwt.encode(CLAIMS, pem("rsa"), algorithm="PS256", headers={"kid": "rsa-1"}),
    "ES256": jwt.encode(CLAIMS, pem("ec256"), algorithm="ES256", headers={"kid": "ec256-1"}),
    "ES384": jwt.encode(CLAIMS, pem("ec384"), algorithm="ES384", headers={"kid": "ec384-1"}),
    "EdDSA": jwt.encode(CLAIMS, pem("ed25519"), algorithm="EdDSA", headers={"kid": "ed-1"}),
}
with open("pyjwt_tokens.json", "w") as f:
    json.dump({"pyjwt_version": jwt.__version__, "hs_secret": HS_SECRET, "tokens": tokens}, f, indent=2)
    f.write("\n")
