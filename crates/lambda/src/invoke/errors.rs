//! What goes wrong with an invoke, as the upstream port's errors: the SDK's
//! (not sent, refused, timed out), a function error, an unreadable answer.
//! Messages are for the log; the client's problem never repeats them.

use crate::payload::FunctionFailure;
use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use tollgate_core::platform::UpstreamError;

/// An SDK failure: a timeout, or a connect error (not sent, or refused by
/// Lambda before the function ran).
pub(super) fn sdk_error<E, R>(function: &str, error: &SdkError<E, R>) -> UpstreamError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = || format!("invoking `{function}`: {}", DisplayErrorContext(error));
    match error {
        SdkError::TimeoutError(_) => UpstreamError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => UpstreamError::Timeout,
        // Not sent, or refused by Lambda before the function ran (no such
        // function, throttled, access denied, payload too large).
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) | SdkError::ServiceError(_) => {
            UpstreamError::Connect(detail())
        }
        _ => UpstreamError::Protocol(detail()),
    }
}

/// The message of a function error: its type and Lambda's `errorType` /
/// `errorMessage` when the payload has them (shortened).
pub(super) fn function_error(function: &str, kind: &str, payload: &[u8]) -> String {
    let failure = FunctionFailure::read(payload).unwrap_or_default();
    let short = |s: &Option<String>| s.as_deref().map(|s| shorten(s, 200));
    let mut message = format!("function `{function}` failed ({})", shorten(kind, 40));
    match (short(&failure.error_type), short(&failure.error_message)) {
        (Some(t), Some(m)) => message.push_str(&format!(": {t}: {m}")),
        (Some(x), None) | (None, Some(x)) => message.push_str(&format!(": {x}")),
        (None, None) => {}
    }
    message
}

pub(super) fn protocol(message: impl Into<String>) -> UpstreamError {
    UpstreamError::Protocol(message.into())
}

/// `s` cut to at most `max_chars` characters (with `…` when cut).
pub(super) fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_name_the_function_and_the_error() {
        let payload = br#"{"errorType":"TypeError","errorMessage":"x is undefined"}"#;
        assert_eq!(
            function_error("pricing", "Unhandled", payload),
            "function `pricing` failed (Unhandled): TypeError: x is undefined"
        );
        assert_eq!(function_error("pricing", "Unhandled", b"\xff"), "function `pricing` failed (Unhandled)");
        let long = "é".repeat(500);
        let payload = serde_json::json!({ "errorMessage": long }).to_string();
        assert!(function_error("f", "Handled", payload.as_bytes()).chars().count() < 260);
        // Odd payloads: fields of another type, or not an object, are left out.
        assert_eq!(
            function_error("f", "Unhandled", br#"{"errorType":1,"errorMessage":"m"}"#),
            "function `f` failed (Unhandled): m"
        );
        assert_eq!(function_error("f", "Unhandled", br#"["TypeError","m"]"#), "function `f` failed (Unhandled)");
        assert_eq!(function_error("f", "Unhandled", b""), "function `f` failed (Unhandled)");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "abc…");
        assert_eq!(shorten("ééé", 2), "éé…");
    }
}
