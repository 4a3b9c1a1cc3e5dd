//! Field readers shared by the request parsers, worded the way Anthropic's API words its own
//! validation errors (pydantic's: `messages.2.role: Input should be 'user' or 'assistant'`).
//!
//! A field is named by its path with dots and indices (`tools.3.input_schema`), the message
//! after a colon. As in the OpenAI parser, an explicit `null` counts as absent: several client
//! libraries serialise every unset option as `null`.

use serde_json::{Map, Value};

use super::request::InvalidRequest;

/// A JSON object of the request.
pub(super) type Object = Map<String, Value>;

/// The field, unless it is missing or `null`.
pub(super) fn present<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// `path.key`, or `key` at the top level (empty `path`).
pub(super) fn join(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `{path}: {message}`.
pub(super) fn at(path: &str, message: impl std::fmt::Display) -> InvalidRequest {
    InvalidRequest {
        message: format!("{path}: {message}"),
    }
}

/// `{path}: Field required`.
pub(super) fn missing(path: &str) -> InvalidRequest {
    at(path, "Field required")
}

/// `{path}: Input should be {expected}`, e.g. `a valid string`.
pub(super) fn expected(path: &str, expected: &str) -> InvalidRequest {
    at(path, format!("Input should be {expected}"))
}

/// The literal-choice error: `Input should be 'a', 'b' or 'c'`.
pub(super) fn one_of(path: &str, choices: &[&str]) -> InvalidRequest {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    let list = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    expected(path, &list)
}

/// An object value, named `path` when it is not one.
pub(super) fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Object, InvalidRequest> {
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(expected(path, "a valid dictionary")),
    }
}

/// A required string field.
pub(super) fn required_str<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<&'a str, InvalidRequest> {
    // The path is spelled out only for an error: this runs for every block of a history.
    match present(obj, key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(expected(&join(path, key), "a valid string")),
        None => Err(missing(&join(path, key))),
    }
}

/// An optional string field.
pub(super) fn opt_str<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(expected(&join(path, key), "a valid string")),
    }
}

/// An optional boolean field.
pub(super) fn opt_bool(
    obj: &Object,
    key: &str,
    path: &str,
) -> Result<Option<bool>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(expected(&join(path, key), "a valid boolean")),
    }
}

/// An optional object field.
pub(super) fn opt_object<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a Object>, InvalidRequest> {
    present(obj, key)
        .map(|value| object(value, &join(path, key)))
        .transpose()
}

/// An optional integer field of at least `min`. As pydantic does, a float without a fractional
/// part (`1024.0`) is an integer; values beyond `u64` saturate, which is no limit.
pub(super) fn opt_int(
    obj: &Object,
    key: &str,
    path: &str,
    min: u64,
) -> Result<Option<u64>, InvalidRequest> {
    let Some(value) = present(obj, key) else {
        return Ok(None);
    };
    let path = join(path, key);
    let n = match value {
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                Some(n)
            } else if n.is_i64() {
                None
            } else {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if x.fract() != 0.0 || !x.is_finite() {
                    return Err(expected(
                        &path,
                        "a valid integer, got a number with a fractional part",
                    ));
                }
                // Saturating casts: a negative float reads as 0, a huge one as u64::MAX.
                (x >= 0.0).then_some(x as u64)
            }
        }
        _ => return Err(expected(&path, "a valid integer")),
    };
    match n {
        Some(n) if n >= min => Ok(Some(n)),
        _ => Err(expected(&path, &format!("greater than or equal to {min}"))),
    }
}

/// An optional number field within `lo..=hi`.
pub(super) fn opt_number_in(
    obj: &Object,
    key: &str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, InvalidRequest> {
    let Some(value) = present(obj, key) else {
        return Ok(None);
    };
    let Some(x) = value.as_f64() else {
        return Err(expected(key, "a valid number"));
    };
    if x < lo {
        return Err(expected(key, &format!("greater than or equal to {lo}")));
    }
    if x > hi {
        return Err(expected(key, &format!("less than or equal to {hi}")));
    }
    Ok(Some(x))
}
