//! Field readers shared by the request parsers, worded the way the OpenAI API words its own
//! validation errors (`Invalid type for 'input[2].call_id': expected a string, but got an
//! integer instead.`), with the offending parameter in [`InvalidRequest::param`].
//!
//! The Responses API is OpenAI's, so its errors are OpenAI-shaped and reuse
//! [`crate::openai::InvalidRequest`] and the chat parser's basic readers (`present`,
//! `wrong_type`, `missing`, …); what is added here names nested parameters. As there, an
//! explicit `null` counts as absent: several client libraries serialise every unset option
//! as `null`.

use serde_json::Value;

pub(super) use crate::openai::InvalidRequest;
pub(super) use crate::openai::params::{Object, missing, present, type_name, wrong_type};

/// `param.key`, or `key` at the top level (empty `param`).
pub(super) fn join(param: &str, key: &str) -> String {
    if param.is_empty() {
        key.to_owned()
    } else {
        format!("{param}.{key}")
    }
}

/// "Invalid value: 'v'. Supported values are: 'a', 'b', and 'c'." for `param`.
pub(super) fn one_of(param: &str, value: &str, choices: &[&str]) -> InvalidRequest {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    let list = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, [one])) => format!("{one} and {last}"),
        Some((last, rest)) => format!("{}, and {last}", rest.join(", ")),
        None => String::new(),
    };
    InvalidRequest::at(
        param,
        format!("Invalid value: '{value}'. Supported values are: {list}."),
    )
}

/// `value` as an object, named `param` when it is not one.
pub(super) fn object<'a>(value: &'a Value, param: &str) -> Result<&'a Object, InvalidRequest> {
    match value {
        Value::Object(obj) => Ok(obj),
        other => Err(wrong_type(param, "an object", other)),
    }
}

/// A required string field `key` of `obj`, whose parameter is `param.key`.
pub(super) fn required_str<'a>(
    obj: &'a Object,
    key: &str,
    param: &str,
) -> Result<&'a str, InvalidRequest> {
    // The name is spelled out only for an error: this runs for every item of a history.
    match present(obj, key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(&join(param, key), "a string", other)),
        None => Err(missing(&join(param, key))),
    }
}

/// An optional string field `key` of `obj`, whose parameter is `param.key`.
pub(super) fn opt_str<'a>(
    obj: &'a Object,
    key: &str,
    param: &str,
) -> Result<Option<&'a str>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(&join(param, key), "a string", other)),
    }
}

/// An optional boolean field.
pub(super) fn opt_bool(
    obj: &Object,
    key: &str,
    param: &str,
) -> Result<Option<bool>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&join(param, key), "a boolean", other)),
    }
}

/// An optional object field.
pub(super) fn opt_object<'a>(
    obj: &'a Object,
    key: &str,
    param: &str,
) -> Result<Option<&'a Object>, InvalidRequest> {
    present(obj, key)
        .map(|value| object(value, &join(param, key)))
        .transpose()
}

/// An optional integer field of at least `min`. Floats (even `100.0`) are refused, as OpenAI
/// does; values beyond `u64` are not integers JSON can carry here, so they read as wrong.
pub(super) fn opt_int(obj: &Object, key: &str, min: u64) -> Result<Option<u64>, InvalidRequest> {
    let Some(value) = present(obj, key) else {
        return Ok(None);
    };
    match value.as_u64() {
        Some(n) if n >= min => Ok(Some(n)),
        Some(_) => Err(below_minimum(key, min, value)),
        None if value.is_i64() => Err(below_minimum(key, min, value)),
        None => Err(wrong_type(key, "an integer", value)),
    }
}

fn below_minimum(key: &str, min: u64, value: &Value) -> InvalidRequest {
    InvalidRequest::at(
        key,
        format!(
            "Invalid '{key}': integer below minimum value. Expected a value >= {min}, but got \
             {value} instead."
        ),
    )
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
        return Err(wrong_type(key, "a number", value));
    };
    if !(lo..=hi).contains(&x) {
        return Err(InvalidRequest::at(
            key,
            format!(
                "Invalid '{key}': expected a value between {lo} and {hi}, but got {value} instead."
            ),
        ));
    }
    Ok(Some(x))
}

/// A function or schema name: a string matching OpenAI's `^[a-zA-Z0-9_-]{1,64}$`, which also
/// keeps names safe to write into the calling convention upstream.
pub(super) fn name(obj: &Object, param: &str) -> Result<String, InvalidRequest> {
    const MAX_LEN: usize = 64;
    let name = required_str(obj, "name", param)?;
    let param = join(param, "name");
    if name.is_empty() {
        return Err(InvalidRequest::at(
            &param,
            format!(
                "Invalid '{param}': empty string. Expected a string with minimum length 1, but \
                 got an empty string instead."
            ),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(InvalidRequest::at(
            &param,
            format!(
                "Invalid '{param}': string does not match pattern. Expected a string that \
                 matches the pattern '^[a-zA-Z0-9_-]+$'."
            ),
        ));
    }
    if name.len() > MAX_LEN {
        return Err(InvalidRequest::at(
            &param,
            format!(
                "Invalid '{param}': string too long. Expected a string with maximum length \
                 {MAX_LEN}, but got a string with length {} instead.",
                name.len()
            ),
        ));
    }
    Ok(name.to_owned())
}
