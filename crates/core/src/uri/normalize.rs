//! Path normalisation, the first stage of the pipeline (spec §4 Matching):
//! percent-encoded unreserved characters decoded, dot segments removed, `//`
//! collapsed. Paths that escape the root or hide a `/`, `\`, NUL, a matrix
//! parameter or a double-encoded separator are refused: the normalised path is
//! both what is matched and what is forwarded, so nothing downstream can see a
//! different path than the router saw. Double encoding is judged on the
//! decoded segment (its hex digits may arrive encoded too), so normalising a
//! normalised path again changes nothing (tests/path_props.rs).

/// Why a path was refused (each becomes a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A `..` segment climbs above the root.
    EscapesRoot,
    /// An encoded `/` (`%2F`).
    EncodedSlash,
    /// A backslash, raw or encoded (`%5C`).
    Backslash,
    /// An encoded NUL (`%00`).
    Nul,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// `%25` followed by the hex digits of a separator, dot, `%`, NUL or control
    /// character.
    DoubleEncoded,
    /// A `;` (matrix parameters, spec §7).
    MatrixParameter,
    /// A control character (below 0x20, or 0x7F), raw or encoded.
    ControlCharacter,
}

impl PathError {
    /// The sentence for the 400 answer's `detail`.
    pub fn describe(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "The path must start with `/`.",
            PathError::EscapesRoot => "The path climbs above the root with `..`.",
            PathError::EncodedSlash => "The path holds an encoded `/` (%2F).",
            PathError::Backslash => "The path holds a backslash, raw or encoded (%5C).",
            PathError::Nul => "The path holds an encoded NUL (%00).",
            PathError::BadEscape => "The path holds a malformed percent-escape.",
            PathError::DoubleEncoded => {
                "The path holds a double-encoded separator, dot, `%`, NUL or control character (%25...)."
            }
            PathError::MatrixParameter => "The path holds a `;` (matrix parameters are not accepted).",
            PathError::ControlCharacter => "The path holds a control character.",
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes the unreserved escapes of one segment and checks it.
fn segment(raw: &[u8], out: &mut String) -> Result<(), PathError> {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'%' => {
                let (Some(h), Some(l)) = (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex))
                else {
                    return Err(PathError::BadEscape);
                };
                let v = h * 16 + l;
                match v {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    0 => return Err(PathError::Nul),
                    b'%' => out.push_str("%25"),
                    v if unreserved(v) => out.push(char::from(v)),
                    v if v < 0x20 || v == 0x7f => return Err(PathError::ControlCharacter),
                    v => {
                        const HEX: &[u8; 16] = b"0123456789ABCDEF";
                        out.push('%');
                        out.push(char::from(HEX[usize::from(v >> 4)]));
                        out.push(char::from(HEX[usize::from(v & 15)]));
                    }
                }
                i += 3;
                continue;
            }
            b'\\' => return Err(PathError::Backslash),
            b';' => return Err(PathError::MatrixParameter),
            b if b < 0x20 || b == 0x7f => return Err(PathError::ControlCharacter),
            _ => {
                // Multi-byte UTF-8 is copied through as it came (the URI parser
                // only lets ASCII in; this keeps any other input intact).
                let start = i;
                let mut end = i + 1;
                while end < raw.len()
                    && !matches!(raw[end], b'%' | b'\\' | b';')
                    && raw[end] >= 0x20
                    && raw[end] != 0x7f
                {
                    end += 1;
                }
                out.push_str(&String::from_utf8_lossy(&raw[start..end]));
                i = end;
            }
        }
    }
    double_encoded(out)
}

/// Whether a byte that a second decoding would produce is one this module
/// refuses: a separator, a dot, `%` (a third decoding would go on), NUL or a
/// control character.
fn dangerous_when_decoded(v: u8) -> bool {
    matches!(v, b'.' | b'/' | b'\\' | b'%') || v < 0x20 || v == 0x7f
}

/// Checks a segment *after* decoding: `%25` followed by two hex digits that
/// spell a dangerous byte. The digits may have arrived encoded themselves
/// (`%25%32%65` decodes to `%252e`), so only the decoded text tells; once
/// it passes, normalising the result again changes nothing.
fn double_encoded(decoded: &str) -> Result<(), PathError> {
    let b = decoded.as_bytes();
    let mut i = 0;
    while let Some(at) = b.get(i..).and_then(|rest| rest.windows(3).position(|w| w == b"%25")) {
        let next = i + at + 3;
        let pair = (b.get(next).copied().and_then(hex), b.get(next + 1).copied().and_then(hex));
        if let (Some(h), Some(l)) = pair
            && dangerous_when_decoded(h * 16 + l)
        {
            return Err(PathError::DoubleEncoded);
        }
        i = next;
    }
    Ok(())
}

/// Normalises the path part of a request target (without the query).
pub fn normalize(path: &str) -> Result<String, PathError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathError::NotAbsolute);
    };
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len().saturating_sub(1);
    for (n, raw) in parts.iter().enumerate() {
        let mut seg = String::with_capacity(raw.len());
        segment(raw.as_bytes(), &mut seg)?;
        let is_last = n == last;
        match seg.as_str() {
            "" => trailing_slash = is_last,
            "." => trailing_slash = is_last,
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::EscapesRoot);
                }
                trailing_slash = is_last;
            }
            _ => {
                segments.push(seg);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_paths_normalise_to() {
        let cases = [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a/b/", "/a/b/"),
            ("//admin", "/admin"),
            ("/a//b///c", "/a/b/c"),
            ("/public/../admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/public/%2E%2E/admin", "/admin"),
            ("/public/./x", "/public/x"),
            ("/a/.", "/a/"),
            ("/a/b/..", "/a/"),
            ("/%61dmin", "/admin"),
            ("/%7euser", "/~user"),
            ("/a%20b", "/a%20b"),
            ("/a%2cb", "/a%2Cb"),
            ("/a%3Bb", "/a%3Bb"),
            ("/100%25", "/100%25"),
            ("/v1/users/%C3%A9", "/v1/users/%C3%A9"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), Ok(want.to_owned()), "{input}");
        }
    }

    #[test]
    fn refused_paths_say_why() {
        let cases = [
            ("admin", PathError::NotAbsolute),
            ("/..", PathError::EscapesRoot),
            ("/a/../..", PathError::EscapesRoot),
            ("/%2e%2e/x", PathError::EscapesRoot),
            ("/a%2Fb", PathError::EncodedSlash),
            ("/a%2fb", PathError::EncodedSlash),
            ("/a%5Cb", PathError::Backslash),
            ("/a\\b", PathError::Backslash),
            ("/a%00b", PathError::Nul),
            ("/a%zz", PathError::BadEscape),
            ("/a%2", PathError::BadEscape),
            ("/public/%252e%252e/admin", PathError::DoubleEncoded),
            ("/a%252Fb", PathError::DoubleEncoded),
            ("/a%2525", PathError::DoubleEncoded),
            ("/admin;jsessionid=1", PathError::MatrixParameter),
            ("/a%0Ab", PathError::ControlCharacter),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), Err(want), "{input}");
        }
    }

    /// `%25` whose following hex digits are themselves percent-encoded (or
    /// encoded twice more): one decoding leaves `%25XY`, a second one the
    /// byte `XY`. Each is refused whatever the case of the digits.
    #[test]
    fn double_encoding_through_encoded_hex_digits_is_refused() {
        let cases = [
            // '.' = %2e: both digits encoded, lower and upper case, mixed.
            "/public/%25%32%65%25%32%65/admin",
            "/public/%25%32%45%25%32%45/admin",
            "/public/%25%32%65/admin",
            "/public/%25%32e/admin",
            "/public/%252%65/admin",
            "/public/%252%45/admin",
            "/public/%25%32E/admin",
            // '/' = %2f
            "/a/%25%32%46b",
            "/a/%25%32%66b",
            "/a/%25%32Fb",
            "/a/%252%66b",
            // '\' = %5c
            "/a/%25%35%43b",
            "/a/%25%35%63b",
            "/a/%25%35cb",
            "/a/%255%43b",
            // NUL = %00
            "/a/%25%30%30b",
            "/a/%25%300b",
            "/a/%250%30b",
            // '%' = %25: a third decoding would go on
            "/a/%25%32%35b",
            "/a/%25%325b",
            // control characters (%0a, %7f)
            "/a/%25%30%41b",
            "/a/%25%30%61b",
            "/a/%25%37%46b",
            "/a/%250ab",
            // triple encoding: %25 25 2e, the middle pair encoded as well
            "/a/%25%32%35%32%65b",
            "/a/%25%32%35%32%45/x",
            "/a/%2525%32%65b",
            "/a/%2525%32%66",
            // the encoded dot segment as a whole segment and at the end
            "/%25%32%65%25%32%65",
            "/x/%25%32%65",
        ];
        for input in cases {
            assert_eq!(normalize(input), Err(PathError::DoubleEncoded), "{input}");
        }
    }

    /// A `%25` before harmless hex digits, encoded or not, stays accepted.
    #[test]
    fn percent_before_harmless_digits_is_kept() {
        let cases = [
            ("/100%25", "/100%25"),
            ("/a%2541", "/a%2541"),
            ("/a%25%34%31", "/a%2541"),
            ("/a%25zz", "/a%25zz"),
            ("/a%25%2e", "/a%25."),
            ("/a%25/b", "/a%25/b"),
            ("/a%25%20", "/a%25%20"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), Ok(want.to_owned()), "{input}");
            assert_eq!(normalize(want), Ok(want.to_owned()), "{want} again");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for input in ["/a/./b/../c//d/", "/%61/%2e/b", "/x%20y/%7E"] {
            let once = normalize(input).expect("valid");
            assert_eq!(normalize(&once), Ok(once.clone()), "{input}");
        }
    }
}
