"""Generates the fixed JWT test keys (run once; the PEM files are committed).

Run: /work/main/.tools/venv/bin/python gen_keys.py
"""
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PRIV = dict(encoding=serialization.Encoding.PEM, format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption())
PUB = dict(encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo)

keys = {
    "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa_other": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ec256": ec.generate_private_key(ec.SECP256R1()),
    "ec256_other": ec.generate_private_key(ec.SECP256R1()),
    "ec384": ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}
for name, key in keys.items():
    with open(f"{name}_private.pem", "wb") as f:
        f.write(key.private_bytes(**PRIV))
    with open(f"{name}_public.pem", "wb") as f:
        f.write(key.public_key().public_bytes(**PUB))
