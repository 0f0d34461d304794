#!/usr/bin/env python3
"""Writes the conformance suite's fixed TEST-ONLY keys (run once; the output is
committed so that every run and every runtime signs with the same keys).

  rsa.pem / rsa.pub.pem          RSA 2048   (RS256; also the PEM of the
                                             RS256->HS256 confusion attack)
  ec.pem                         EC P-256   (ES256)
  ed25519.pem                    Ed25519    (EdDSA)
  attacker.pem                   RSA 2048   the attacker's own key (jwk / jku attacks)
  public.jwks.json               the public halves as JWKs, by file name
                                 (backends.py serves them; it needs no crypto library)

Usage: .tools/venv/bin/python tests/conformance/keys/make_keys.py [--force]
"""

import json
import os
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = os.path.dirname(os.path.abspath(__file__))


def write_private(name, key):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(pem)


def main():
    if os.path.exists(os.path.join(HERE, "rsa.pem")) and "--force" not in sys.argv:
        print("keys exist; --force to replace them (then update gateway.yaml's public_key_pem)")
        return 1
    keys = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "attacker": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    jwks = {}
    for name, key in keys.items():
        write_private(f"{name}.pem", key)
        alg = {"rsa": "RS256", "attacker": "RS256", "ec": "ES256", "ed25519": "EdDSA"}[name]
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
        jwk.pop("key_ops", None)  # backends.py adds kid, alg and use per key set
        jwks[name] = jwk
    with open(os.path.join(HERE, "rsa.pub.pem"), "wb") as f:
        f.write(keys["rsa"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with open(os.path.join(HERE, "public.jwks.json"), "w") as f:
        json.dump(jwks, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote", ", ".join(sorted(os.listdir(HERE))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
