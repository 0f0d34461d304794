//! JWT verification for one issuer (`auth.jwt.NAME`), called by the pipeline's
//! authentication step with the compact token it extracted: size and shape
//! checks, the header (algorithm allowlist, `crit`), key selection by `kid`
//! from the configured key or the issuer's JWKS (the key type must fit the
//! `alg`; the token never chooses it), the signature, then the claims
//! (`exp`, `nbf`, `iat` with the leeway against the `Clock` port; `iss`,
//! `aud` when configured). Where the token is read, which claims are
//! forwarded and what the client sees are the caller's business.

#[path = "jwks.rs"]
mod jwks;

pub(crate) use jwks::JwksCache;
#[path = "jwt_keys.rs"]
mod keys;
#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;

use crate::config::JwtConfig;
use crate::platform::{Clock, Platform, Timestamp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keys::{Alg, VerifyKey};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The verified claims (always a JSON object).
pub(crate) use crate::identity::Claims;

/// Longer tokens are refused before any decoding (spec §7).
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp`, `nbf` and `iat` unless configured.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);

/// Why a token was refused (logged, never sent: every 401 body is the same).
/// The variants follow the order of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    TooLong,
    /// Not three non-empty base64url segments separated by dots.
    Malformed,
    /// The header is not a base64url JSON object with a string `alg` (and
    /// a string `kid`, if any).
    BadHeader,
    /// The header's `alg` (shown escaped and truncated) is not in the
    /// issuer's allowlist; `none` never is.
    AlgorithmNotAllowed(String),
    /// The header has a `crit` member: no extension is understood.
    CriticalHeader,
    /// The issuer's JWKS has never been fetched successfully.
    NoKeys,
    /// No JWKS key has the token's `kid` (also after the refresh it may trigger).
    UnknownKid,
    /// No key of the type the token's `alg` needs (or whose own `alg` agrees).
    NoSuitableKey,
    /// The signature does not verify with any candidate key.
    BadSignature,
    /// The payload is not base64url-encoded JSON.
    BadPayload,
    /// The payload is JSON but not an object.
    ClaimsNotObject,
    /// No `exp` claim.
    MissingExp,
    /// A registered claim has the wrong type (`exp`/`nbf`/`iat` not a
    /// number, `aud` neither a string nor an array of strings).
    BadClaim(&'static str),
    /// `exp` + leeway is in the past.
    Expired,
    /// `nbf` is later than now + leeway.
    NotYetValid,
    /// `iat` is later than now + leeway.
    IssuedInFuture,
    /// An issuer is configured and the token has no `iss`.
    MissingIssuer,
    /// `iss` differs from the configured issuer.
    WrongIssuer,
    /// An audience is configured and the token has no `aud`.
    MissingAudience,
    /// `aud` holds none of the configured audiences.
    WrongAudience,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::TooLong => write!(f, "token longer than {MAX_TOKEN_BYTES} bytes"),
            JwtError::Malformed => f.write_str("token is not three base64url segments"),
            JwtError::BadHeader => f.write_str("token header is not valid JSON with a string alg"),
            JwtError::AlgorithmNotAllowed(alg) => write!(f, "algorithm {alg:?} is not allowed for this issuer"),
            JwtError::CriticalHeader => f.write_str("token header has crit extensions that are not understood"),
            JwtError::NoKeys => f.write_str("no signing keys available (JWKS not fetched)"),
            JwtError::UnknownKid => f.write_str("no key has the token's kid"),
            JwtError::NoSuitableKey => f.write_str("no key of the type the token's alg needs"),
            JwtError::BadSignature => f.write_str("signature does not verify"),
            JwtError::BadPayload => f.write_str("token payload is not base64url JSON"),
            JwtError::ClaimsNotObject => f.write_str("token claims are not a JSON object"),
            JwtError::MissingExp => f.write_str("token has no exp claim"),
            JwtError::BadClaim(name) => write!(f, "token claim {name} has the wrong type"),
            JwtError::Expired => f.write_str("token expired"),
            JwtError::NotYetValid => f.write_str("token not valid yet (nbf)"),
            JwtError::IssuedInFuture => f.write_str("token issued in the future (iat)"),
            JwtError::MissingIssuer => f.write_str("token has no iss claim"),
            JwtError::WrongIssuer => f.write_str("token iss is not the configured issuer"),
            JwtError::MissingAudience => f.write_str("token has no aud claim"),
            JwtError::WrongAudience => f.write_str("token aud holds none of the configured audiences"),
        }
    }
}

impl std::error::Error for JwtError {}

/// Where an issuer's keys come from.
enum Keys {
    /// `secret` or `public_key_pem`: one key, whatever the token's `kid`.
    Static(Vec<VerifyKey>),
    Jwks(jwks::JwksSource),
}

/// One compiled issuer.
pub(crate) struct JwtIssuer {
    pub name: String,
    algorithms: Vec<Alg>,
    keys: Keys,
    issuer: Option<String>,
    /// Empty: `aud` is not checked.
    audience: Vec<String>,
    leeway: Duration,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("name", &self.name)
            .field("algorithms", &self.algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtIssuer {
    /// Compiles the issuer's config; each problem is one message (the caller
    /// locates it at `auth.jwt.NAME`).
    pub(crate) fn compile(name: &str, cfg: &JwtConfig) -> Result<JwtIssuer, Vec<String>> {
        let mut errors = Vec::new();

        let mut algorithms = Vec::new();
        if cfg.algorithms.is_empty() {
            errors.push("`algorithms` must list at least one algorithm, e.g. [RS256]".to_owned());
        }
        for text in &cfg.algorithms {
            match Alg::parse(text) {
                Some(alg) if !algorithms.contains(&alg) => algorithms.push(alg),
                Some(_) => {}
                None if text.eq_ignore_ascii_case("none") => {
                    errors.push(format!("algorithm `{text}` is never accepted: tokens must be signed"));
                }
                None => errors
                    .push(format!("`{text}` is not a supported algorithm; use {}", Alg::ALL.map(Alg::name).join(", "))),
            }
        }

        let sources: Vec<&str> = [
            cfg.secret.as_ref().map(|_| "secret"),
            cfg.public_key_pem.as_ref().map(|_| "public_key_pem"),
            cfg.jwks_url.as_ref().map(|_| "jwks_url"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let keys = match (sources.len(), &cfg.secret, &cfg.public_key_pem, &cfg.jwks_url) {
            (0, ..) => {
                errors.push("a key is required: one of `secret`, `public_key_pem` or `jwks_url`".to_owned());
                None
            }
            (2.., ..) => {
                errors.push(format!(
                    "give exactly one of `secret`, `public_key_pem` or `jwks_url` (found {})",
                    sources.join(" and ")
                ));
                None
            }
            (_, Some(secret), ..) => {
                for alg in algorithms.iter().filter(|a| a.key_kind() != keys::KeyKind::Hmac) {
                    errors.push(format!(
                        "`{}` needs a public key (`public_key_pem` or `jwks_url`); `secret` only verifies HS256, HS384 and HS512",
                        alg.name()
                    ));
                }
                match VerifyKey::hmac(secret.as_bytes()) {
                    Ok(key) => Some(Keys::Static(vec![key])),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            }
            (_, None, Some(pem), _) => match VerifyKey::from_pem(pem) {
                Ok(key) => {
                    for alg in algorithms.iter().filter(|a| a.key_kind() != key.kind) {
                        errors.push(format!(
                            "`{}` needs {}, but `public_key_pem` is {}",
                            alg.name(),
                            alg.key_kind().describe(),
                            key.kind.describe()
                        ));
                    }
                    Some(Keys::Static(vec![key]))
                }
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            (_, None, None, Some(url)) => {
                for alg in algorithms.iter().filter(|a| a.key_kind() == keys::KeyKind::Hmac) {
                    errors.push(format!("`{}` needs `secret`: a JWKS never provides HMAC secrets", alg.name()));
                }
                match jwks_uri(url) {
                    Ok(uri) => Some(Keys::Jwks(jwks::JwksSource::new(name, uri))),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            }
            (_, None, None, None) => None,
        };

        let issuer = cfg.issuer.clone();
        if issuer.as_deref().is_some_and(str::is_empty) {
            errors.push("`issuer` is empty (leave it out to accept any iss)".to_owned());
        }
        let audience = cfg.audience.as_ref().map(|a| a.to_vec()).unwrap_or_default();
        if cfg.audience.is_some() && audience.is_empty() {
            errors.push("`audience` lists no audience (leave it out to accept any aud)".to_owned());
        }
        if audience.iter().any(String::is_empty) {
            errors.push("`audience` holds an empty string".to_owned());
        }
        let leeway = cfg.leeway.map_or(DEFAULT_LEEWAY, |d| d.0);
        if leeway > MAX_LEEWAY {
            errors.push(format!("`leeway` is at most {}s", MAX_LEEWAY.as_secs()));
        }

        match keys {
            Some(keys) if errors.is_empty() => {
                Ok(JwtIssuer { name: name.to_owned(), algorithms, keys, issuer, audience, leeway })
            }
            _ => Err(errors),
        }
    }

    /// Verifies `token` (the compact JWS, without `Bearer `). Fetches or
    /// refreshes the JWKS through `platform.upstream()` into `cache` when
    /// needed.
    pub(crate) async fn verify<P: Platform>(
        &self,
        platform: &P,
        cache: &JwksCache,
        token: &str,
    ) -> Result<Claims, JwtError> {
        let now = platform.clock().now();
        let parts = Parts::split(token)?;
        let header = parse_header(parts.header)?;
        let alg = Alg::parse(&header.alg)
            .filter(|alg| self.algorithms.contains(alg))
            .ok_or_else(|| JwtError::AlgorithmNotAllowed(printable(&header.alg)))?;
        if header.crit {
            return Err(JwtError::CriticalHeader);
        }
        let signature = URL_SAFE_NO_PAD.decode(parts.signature).map_err(|_| JwtError::Malformed)?;
        let kid = header.kid.as_deref();
        match &self.keys {
            Keys::Static(keys) => check_signature(keys, None, alg, parts.signed, &signature)?,
            Keys::Jwks(source) => {
                let jwks = source.with(cache);
                let (keys, fetched) = jwks.keys(platform, now, false).await?;
                match check_signature(&keys, kid, alg, parts.signed, &signature) {
                    Err(JwtError::UnknownKid) if !fetched => {
                        // Possibly a rotation: refresh (rate limited) and look again.
                        let (keys, _) = jwks.keys(platform, now, true).await?;
                        check_signature(&keys, kid, alg, parts.signed, &signature)?;
                    }
                    other => other?,
                }
            }
        }
        let claims = parse_claims(parts.payload)?;
        self.check_claims(&claims, now)?;
        Ok(claims)
    }

    /// The time and identity claims, against `now` and the config.
    fn check_claims(&self, claims: &Claims, now: Timestamp) -> Result<(), JwtError> {
        let now = now.as_micros() as f64 / 1e6;
        let leeway = self.leeway.as_secs_f64();
        let exp = numeric(claims, "exp")?.ok_or(JwtError::MissingExp)?;
        if now > exp + leeway {
            return Err(JwtError::Expired);
        }
        if numeric(claims, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
            return Err(JwtError::NotYetValid);
        }
        if numeric(claims, "iat")?.is_some_and(|iat| iat > now + leeway) {
            return Err(JwtError::IssuedInFuture);
        }
        if let Some(expected) = &self.issuer {
            match claims.get("iss") {
                None => return Err(JwtError::MissingIssuer),
                Some(Value::String(iss)) if iss == expected => {}
                Some(_) => return Err(JwtError::WrongIssuer),
            }
        }
        if !self.audience.is_empty() {
            let ours = |aud: &str| self.audience.iter().any(|a| a == aud);
            let matched = match claims.get("aud") {
                None => return Err(JwtError::MissingAudience),
                Some(Value::String(aud)) => ours(aud),
                Some(Value::Array(items)) => {
                    let mut matched = false;
                    for item in items {
                        let Value::String(aud) = item else { return Err(JwtError::BadClaim("aud")) };
                        matched |= ours(aud);
                    }
                    matched
                }
                Some(_) => return Err(JwtError::BadClaim("aud")),
            };
            if !matched {
                return Err(JwtError::WrongAudience);
            }
        }
        Ok(())
    }
}

/// The three segments of a compact JWS, unchecked beyond their alphabet.
struct Parts<'t> {
    header: &'t str,
    payload: &'t str,
    signature: &'t str,
    /// `header.payload`: the signed bytes.
    signed: &'t [u8],
}

impl<'t> Parts<'t> {
    fn split(token: &'t str) -> Result<Parts<'t>, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLong);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(JwtError::Malformed);
        };
        let base64url =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !(base64url(header) && base64url(payload) && base64url(signature)) {
            return Err(JwtError::Malformed);
        }
        let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
        Ok(Parts { header, payload, signature, signed })
    }
}

/// The header members we act on; all others (`typ`, `cty`, `jku`, `jwk`,
/// `x5u`, `x5c`, …) are ignored: keys never come from the token.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Whether a `crit` member is present at all (whatever its value).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}

fn parse_header(segment: &str) -> Result<Header, JwtError> {
    let json = URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::BadHeader)?;
    // The whole header must be UTF-8 JSON (RFC 7515 §5.2), members we
    // ignore included: serde skips ignored strings without checking them.
    let json = std::str::from_utf8(&json).map_err(|_| JwtError::BadHeader)?;
    // serde would also read a struct from a JSON array: insist on an object.
    if json.trim_ascii_start().as_bytes().first() != Some(&b'{') {
        return Err(JwtError::BadHeader);
    }
    serde_json::from_str(json).map_err(|_| JwtError::BadHeader)
}

fn parse_claims(segment: &str) -> Result<Claims, JwtError> {
    let json = URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::BadPayload)?;
    match serde_json::from_slice(&json).map_err(|_| JwtError::BadPayload)? {
        Value::Object(claims) => Ok(claims),
        _ => Err(JwtError::ClaimsNotObject),
    }
}

/// Tries the candidate keys in turn: those with the token's `kid` when it
/// has one (a `kid` is only compared, never interpreted), else every key,
/// keeping only keys whose type fits `alg`.
fn check_signature(
    keys: &[VerifyKey],
    kid: Option<&str>,
    alg: Alg,
    signed: &[u8],
    signature: &Vec<u8>,
) -> Result<(), JwtError> {
    let mut kid_found = false;
    let mut candidates = 0usize;
    for key in keys {
        if kid.is_some() && key.kid.as_deref() != kid {
            continue;
        }
        kid_found = true;
        if !key.fits(alg) {
            continue;
        }
        candidates += 1;
        if key.verifies(alg, signed, signature) {
            return Ok(());
        }
    }
    Err(if !kid_found && kid.is_some() {
        JwtError::UnknownKid
    } else if candidates == 0 {
        JwtError::NoSuitableKey
    } else {
        JwtError::BadSignature
    })
}

/// A NumericDate claim: absent, or a JSON number (fractions allowed).
fn numeric(claims: &Claims, name: &'static str) -> Result<Option<f64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(JwtError::BadClaim(name)),
        Some(_) => Err(JwtError::BadClaim(name)),
    }
}

/// A token-supplied string made safe for a log line: at most 16 characters,
/// anything but printable ASCII replaced.
fn printable(text: &str) -> String {
    let mut out: String =
        text.chars().take(16).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    if text.chars().nth(16).is_some() {
        out.push('…');
    }
    out
}

/// `jwks_url` must be https, or http to a loopback host (spec §7).
fn jwks_uri(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("`jwks_url` `{url}` is not a valid absolute URL"))?;
    let Some(host) = uri.host() else {
        return Err(format!("`jwks_url` `{url}` is not a valid absolute URL"));
    };
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(format!(
            "`jwks_url` must use https (plain http only to a loopback host: 127.0.0.0/8, ::1, localhost); got `{url}`"
        )),
        _ => Err(format!("`jwks_url` `{url}` must be an https URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}
