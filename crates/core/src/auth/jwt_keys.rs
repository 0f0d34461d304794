//! Key material for JWT verification (part of `auth::jwt`, used when the
//! pipeline authenticates a bearer token): the supported algorithms, the key
//! types they need, keys read from `secret` / `public_key_pem` at compile
//! time, and the one place where a signature is checked (jsonwebtoken's
//! RustCrypto provider, called directly: no claim or time validation of its
//! own, so it never reads the system clock).

use jsonwebtoken::{Algorithm, DecodingKey};

/// Smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits or larger).
pub(super) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (bounds the cost of one verification).
pub(super) const MAX_RSA_BITS: usize = 8192;
/// Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size).
pub(super) const MIN_SECRET_BYTES: usize = 32;

/// A JWS algorithm the gateway verifies (RFC 7518 names, case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl Alg {
    pub(super) const ALL: [Alg; 12] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// Exact, case-sensitive match: `none`, `None`, `hs256` are not algorithms.
    pub(super) fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The only key type this algorithm may be verified with.
    pub(super) fn key_kind(self) -> KeyKind {
        match self {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => KeyKind::Hmac,
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => KeyKind::Rsa,
            Alg::ES256 => KeyKind::EcP256,
            Alg::ES384 => KeyKind::EcP384,
            Alg::EdDSA => KeyKind::Ed25519,
        }
    }

    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Alg::HS256 => Algorithm::HS256,
            Alg::HS384 => Algorithm::HS384,
            Alg::HS512 => Algorithm::HS512,
            Alg::RS256 => Algorithm::RS256,
            Alg::RS384 => Algorithm::RS384,
            Alg::RS512 => Algorithm::RS512,
            Alg::PS256 => Algorithm::PS256,
            Alg::PS384 => Algorithm::PS384,
            Alg::PS512 => Algorithm::PS512,
            Alg::ES256 => Algorithm::ES256,
            Alg::ES384 => Algorithm::ES384,
            Alg::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// The type of a verification key. A token's `alg` selects the kind it
/// needs; the kind of a key comes from the config or the JWKS, never from
/// the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Hmac,
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyKind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            KeyKind::Hmac => "an HMAC secret",
            KeyKind::Rsa => "an RSA key",
            KeyKind::EcP256 => "an EC P-256 key",
            KeyKind::EcP384 => "an EC P-384 key",
            KeyKind::Ed25519 => "an Ed25519 key",
        }
    }
}

/// One key a token may be verified with.
#[derive(Clone)]
pub(super) struct VerifyKey {
    /// The JWKS `kid` (static keys have none).
    pub kid: Option<String>,
    /// The JWKS `alg`: when given, the token's `alg` must equal it.
    pub alg: Option<Alg>,
    pub kind: KeyKind,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey").field("kid", &self.kid).field("alg", &self.alg).field("kind", &self.kind).finish()
    }
}

impl VerifyKey {
    /// Whether a token signed with `alg` may be checked against this key.
    pub(super) fn fits(&self, alg: Alg) -> bool {
        self.kind == alg.key_kind() && self.alg.is_none_or(|a| a == alg)
    }

    /// Checks `signature` (already base64url-decoded) over `message`
    /// (`header.payload` as sent). A key that does not suit `alg` never verifies.
    pub(super) fn verifies(&self, alg: Alg, message: &[u8], signature: &Vec<u8>) -> bool {
        if !self.fits(alg) {
            return false;
        }
        match (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(&alg.to_jsonwebtoken(), &self.key)
        {
            Ok(verifier) => verifier.verify(message, signature).is_ok(),
            Err(_) => false,
        }
    }

    /// An HMAC secret (the config's `secret`, used as raw bytes).
    pub(super) fn hmac(secret: &[u8]) -> Result<VerifyKey, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "`secret` is {} bytes long; HMAC secrets must be at least {MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)",
                secret.len()
            ));
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| format!("`secret` is not usable: {e}"))?;
        Ok(VerifyKey { kid: None, alg: None, kind: KeyKind::Hmac, key })
    }

    /// An RSA public key from its big-endian modulus and exponent.
    pub(super) fn rsa(kid: Option<String>, alg: Option<Alg>, n: &[u8], e: &[u8]) -> Result<VerifyKey, String> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_length(n);
        if bits < MIN_RSA_BITS {
            return Err(format!("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"));
        }
        if bits > MAX_RSA_BITS {
            return Err(format!("the RSA key has {bits} bits; at most {MAX_RSA_BITS} are supported"));
        }
        // A usable public exponent is odd, greater than 1 and fits in 64 bits.
        if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) || e == [1] {
            return Err("the RSA public exponent is not usable".to_owned());
        }
        let key = DecodingKey::from_rsa_raw_components(n, e);
        Ok(VerifyKey { kid, alg, kind: KeyKind::Rsa, key })
    }

    /// An EC public key from its affine coordinates (checked to be on the curve).
    pub(super) fn ec(
        kid: Option<String>,
        alg: Option<Alg>,
        kind: KeyKind,
        x: &[u8],
        y: &[u8],
    ) -> Result<VerifyKey, String> {
        let size = match kind {
            KeyKind::EcP256 => 32,
            KeyKind::EcP384 => 48,
            _ => return Err("not an EC key type".to_owned()),
        };
        if x.len() != size || y.len() != size {
            return Err(format!("EC coordinates must be {size} bytes each"));
        }
        let mut point = Vec::with_capacity(1 + 2 * size);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Self::checked(VerifyKey { kid, alg, kind, key: DecodingKey::from_ec_der(&point) })
    }

    /// An Ed25519 public key from its 32 bytes (checked to be a curve point).
    pub(super) fn ed25519(kid: Option<String>, alg: Option<Alg>, x: &[u8]) -> Result<VerifyKey, String> {
        if x.len() != 32 {
            return Err("an Ed25519 public key is 32 bytes".to_owned());
        }
        Self::checked(VerifyKey { kid, alg, kind: KeyKind::Ed25519, key: DecodingKey::from_ed_der(x) })
    }

    /// Lets the crypto provider parse the key once, so a bad key is refused
    /// when loaded rather than failing every request.
    fn checked(key: VerifyKey) -> Result<VerifyKey, String> {
        let alg = match key.kind {
            KeyKind::EcP256 => Alg::ES256,
            KeyKind::EcP384 => Alg::ES384,
            KeyKind::Ed25519 => Alg::EdDSA,
            KeyKind::Hmac | KeyKind::Rsa => return Ok(key),
        };
        match (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(&alg.to_jsonwebtoken(), &key.key) {
            Ok(_) => Ok(key),
            Err(_) => Err(format!("{} is not a valid point", key.kind.describe())),
        }
    }

    /// A public key in PEM (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`):
    /// RSA, EC P-256/P-384 or Ed25519.
    pub(super) fn from_pem(pem: &str) -> Result<VerifyKey, String> {
        // A PEM passed through an environment variable sometimes arrives with
        // literal `\n` instead of line breaks.
        let pem = if !pem.contains('\n') && pem.contains("\\n") { pem.replace("\\n", "\n") } else { pem.to_owned() };
        let label = pem_label(&pem).ok_or("`public_key_pem` is not PEM (no `-----BEGIN …-----` line)")?;
        match label {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
            l if l.contains("PRIVATE KEY") => {
                return Err(
                    "`public_key_pem` holds a private key; give the public key (-----BEGIN PUBLIC KEY-----)".to_owned()
                );
            }
            "CERTIFICATE" => {
                return Err("`public_key_pem` holds a certificate; give its public key \
                     (`openssl x509 -pubkey -noout`)"
                    .to_owned());
            }
            other => return Err(format!("`public_key_pem` holds a `{other}`; expected -----BEGIN PUBLIC KEY-----")),
        }
        let bytes = pem.as_bytes();
        if let Ok(key) = DecodingKey::from_rsa_pem(bytes) {
            let der = key.try_get_as_bytes().map_err(|e| format!("`public_key_pem`: {e}"))?;
            let (n, e) =
                (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.key_utils.rsa_pub_components_from_public_key)(der)
                    .map_err(|e| format!("`public_key_pem` is not a valid RSA public key: {e}"))?;
            return VerifyKey::rsa(None, None, &n, &e).map_err(|e| format!("`public_key_pem`: {e}"));
        }
        if let Ok(key) = DecodingKey::from_ec_pem(bytes) {
            let point = key.try_get_as_bytes().map_err(|e| format!("`public_key_pem`: {e}"))?;
            let kind = match point.len() {
                65 => KeyKind::EcP256,
                97 => KeyKind::EcP384,
                _ => return Err("`public_key_pem`: only EC keys on P-256 and P-384 are supported".to_owned()),
            };
            let half = (point.len() - 1) / 2;
            if point.first() != Some(&0x04) {
                return Err("`public_key_pem`: the EC point must be uncompressed".to_owned());
            }
            let (x, y) = point[1..].split_at(half);
            return VerifyKey::ec(None, None, kind, x, y).map_err(|e| format!("`public_key_pem`: {e}"));
        }
        if let Ok(key) = DecodingKey::from_ed_pem(bytes) {
            let x = key.try_get_as_bytes().map_err(|e| format!("`public_key_pem`: {e}"))?;
            return VerifyKey::ed25519(None, None, x).map_err(|e| format!("`public_key_pem`: {e}"));
        }
        Err("`public_key_pem` is not an RSA, EC (P-256/P-384) or Ed25519 public key".to_owned())
    }
}

/// The label of the first `-----BEGIN LABEL-----` line.
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &pem[start..];
    let end = rest.find("-----")?;
    Some(rest[..end].trim())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(top) => bytes.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}
