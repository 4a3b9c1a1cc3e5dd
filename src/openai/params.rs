//! Field validators shared by the chat and the legacy completion parser.
//!
//! Each one reads a single top-level field of the request object and, when it is wrong, returns
//! an [`InvalidRequest`] naming exactly that field, worded like the OpenAI API's own messages so
//! that clients surface something familiar. An explicit `null` counts as absent throughout:
//! several client libraries serialize every unset option as `null`, and OpenAI accepts that.
//! Kept whole: it is the table of top-level parameters, each validator beside its neighbours,
//! with the list of parameters accepted and ignored (and why) at the end.

use serde_json::{Map, Value};

use super::request::InvalidRequest;

/// The request body as a JSON object.
pub(crate) type Object = Map<String, Value>;

/// The field, unless it is missing or `null`.
pub(crate) fn present<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// How OpenAI names a JSON type in its "Invalid type" messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// "Invalid type for 'x': expected …, but got … instead." for `param`.
pub(crate) fn wrong_type(param: &str, expected: &str, got: &Value) -> InvalidRequest {
    InvalidRequest::at(
        param,
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
    )
}

/// "Missing required parameter: 'x'." for `param`.
pub(crate) fn missing(param: &str) -> InvalidRequest {
    InvalidRequest::at(param, format!("Missing required parameter: '{param}'."))
}

/// `model`: required, a non-empty string.
pub(crate) fn model(obj: &Object) -> Result<String, InvalidRequest> {
    match present(obj, "model") {
        None => Err(InvalidRequest::at(
            "model",
            "you must provide a model parameter",
        )),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(InvalidRequest::at(
            "model",
            "Invalid 'model': expected a non-empty string.",
        )),
        Some(other) => Err(wrong_type("model", "a string", other)),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(obj: &Object, key: &str) -> Result<Option<bool>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(key, "a boolean", other)),
    }
}

/// An optional string field.
pub(crate) fn opt_string(obj: &Object, key: &str) -> Result<Option<String>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(key, "a string", other)),
    }
}

/// `stream` and `stream_options.include_usage`.
pub(crate) fn stream(obj: &Object) -> Result<(bool, bool), InvalidRequest> {
    let stream = opt_bool(obj, "stream")?.unwrap_or(false);
    let include_usage = match present(obj, "stream_options") {
        None => false,
        Some(Value::Object(options)) => match present(options, "include_usage") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(wrong_type(
                    "stream_options.include_usage",
                    "a boolean",
                    other,
                ));
            }
        },
        Some(other) => return Err(wrong_type("stream_options", "an object", other)),
    };
    Ok((stream, include_usage))
}

/// An optional integer >= 1. Floats (even `100.0`) are refused: OpenAI does the same, and a
/// silent truncation would hide a client bug. Values beyond `u32` saturate, which is no limit.
fn opt_positive(obj: &Object, key: &str) -> Result<Option<u32>, InvalidRequest> {
    let Some(value) = present(obj, key) else {
        return Ok(None);
    };
    match value.as_u64() {
        Some(0) => Err(InvalidRequest::at(
            key,
            format!(
                "Invalid '{key}': integer below minimum value. Expected a value >= 1, but got 0 instead."
            ),
        )),
        Some(n) => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
        None if value.is_i64() => Err(InvalidRequest::at(
            key,
            format!(
                "Invalid '{key}': integer below minimum value. Expected a value >= 1, but got {value} instead."
            ),
        )),
        None => Err(wrong_type(key, "an integer", value)),
    }
}

/// `max_completion_tokens` (the current name) wins over `max_tokens` (deprecated for chat);
/// both are validated.
pub(crate) fn max_tokens(obj: &Object) -> Result<Option<u32>, InvalidRequest> {
    let legacy = opt_positive(obj, "max_tokens")?;
    let current = opt_positive(obj, "max_completion_tokens")?;
    Ok(current.or(legacy))
}

/// `n`: only 1 is possible, the upstream produces one answer per turn.
pub(crate) fn check_n(obj: &Object) -> Result<(), InvalidRequest> {
    match opt_positive(obj, "n")? {
        Some(n) if n > 1 => Err(InvalidRequest::at(
            "n",
            format!(
                "n > 1 is not supported: the upstream produces one answer per request (got n = {n})."
            ),
        )),
        _ => Ok(()),
    }
}

/// `stop`: a string or an array of up to 4 strings. Empty strings are dropped, since an empty
/// stop sequence would end every answer before its first character.
pub(crate) fn stop(obj: &Object) -> Result<Vec<String>, InvalidRequest> {
    let list = match present(obj, "stop") {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            if items.len() > 4 {
                return Err(InvalidRequest::at(
                    "stop",
                    format!(
                        "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.",
                        items.len()
                    ),
                ));
            }
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => list.push(s.clone()),
                    other => return Err(wrong_type("stop", "an array of strings", other)),
                }
            }
            list
        }
        Some(other) => return Err(wrong_type("stop", "a string or an array of strings", other)),
    };
    Ok(list.into_iter().filter(|s| !s.is_empty()).collect())
}

/// `temperature`, `top_p` and the penalties: checked for type and range, then ignored, because
/// the web chat exposes no sampling controls. Checking still matters: a client sending
/// `temperature: 7` has a bug it should hear about.
pub(crate) fn check_sampling(obj: &Object) -> Result<(), InvalidRequest> {
    const RANGES: [(&str, f64, f64); 4] = [
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    ];
    for (key, lo, hi) in RANGES {
        let Some(value) = present(obj, key) else {
            continue;
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
    }
    Ok(())
}

/// Thinking on or off: `enable_thinking` (the Qwen/DashScope spelling) wins over
/// `reasoning_effort` (the OpenAI one, where `none`/`minimal` mean off). `None` leaves the choice
/// to the model name (`-thinking` variants).
pub(crate) fn thinking(obj: &Object) -> Result<Option<bool>, InvalidRequest> {
    let explicit = opt_bool(obj, "enable_thinking")?;
    let effort = match present(obj, "reasoning_effort") {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "none" | "minimal" => Some(false),
            "low" | "medium" | "high" => Some(true),
            _ => {
                return Err(InvalidRequest::at(
                    "reasoning_effort",
                    format!(
                        "Invalid value: '{s}'. Supported values are: 'none', 'minimal', 'low', 'medium', and 'high'."
                    ),
                ));
            }
        },
        Some(other) => return Err(wrong_type("reasoning_effort", "a string", other)),
    };
    Ok(explicit.or(effort))
}

/// Chat parameters that are read, type-checked and then ignored, with why ignoring them is
/// harmless: none changes what a correct answer is. Docs cite this list; a unit test checks
/// that every parameter of the chat-completions reference is honoured, refused or listed here.
pub const IGNORED: &[(&str, &str)] = &[
    (
        "temperature",
        "the web chat has no sampling controls; checked for type and range, then ignored",
    ),
    (
        "top_p",
        "the web chat has no sampling controls; checked for type and range, then ignored",
    ),
    (
        "presence_penalty",
        "the web chat has no sampling controls; checked for type and range, then ignored",
    ),
    (
        "frequency_penalty",
        "the web chat has no sampling controls; checked for type and range, then ignored",
    ),
    (
        "seed",
        "determinism is best effort at OpenAI too; the web chat takes no seed",
    ),
    (
        "store",
        "asks OpenAI to keep the completion; qwenctl records exchanges in its own store \
         (ENABLE_PERSISTENCE) either way",
    ),
    (
        "metadata",
        "tags for completions stored at OpenAI; nothing in the answer depends on them",
    ),
    (
        "service_tier",
        "an OpenAI billing and latency class; the web chat has one tier",
    ),
    (
        "prompt_cache_key",
        "routes requests to OpenAI's prompt cache; qwenctl continues conversations upstream \
         instead, which needs no key",
    ),
    (
        "safety_identifier",
        "an end-user id for OpenAI's abuse monitoring; there is nobody to report it to",
    ),
    (
        "verbosity",
        "a hint at answer length, not a contract: a shorter or longer answer is still correct",
    ),
    (
        "prediction",
        "predicted outputs only make generation faster; the answer is the same without them",
    ),
];

/// What a legacy completion cannot honour and a client would rely on: token `logprobs`,
/// `best_of` candidates, and a `suffix` to insert before. `logprobs: 0`/`null`, `best_of: 1`
/// and an empty suffix change nothing and pass.
pub(crate) fn check_legacy_unsupported(obj: &Object) -> Result<(), InvalidRequest> {
    if let Some(value) = present(obj, "logprobs") {
        match value.as_u64() {
            Some(0) => {}
            Some(_) => {
                return Err(InvalidRequest::at(
                    "logprobs",
                    "logprobs are not supported: the upstream does not report token probabilities.",
                ));
            }
            None => return Err(wrong_type("logprobs", "an integer", value)),
        }
    }
    if let Some(value) = present(obj, "best_of") {
        match value.as_u64() {
            Some(0 | 1) => {}
            Some(n) => {
                return Err(InvalidRequest::at(
                    "best_of",
                    format!(
                        "best_of > 1 is not supported: the upstream produces one answer per request (got best_of = {n})."
                    ),
                ));
            }
            None => return Err(wrong_type("best_of", "an integer", value)),
        }
    }
    match opt_string(obj, "suffix")?.as_deref() {
        None | Some("") => Ok(()),
        Some(_) => Err(InvalidRequest::at(
            "suffix",
            "suffix is not supported: the upstream only continues text, it does not insert it.",
        )),
    }
}

/// The ignored parameters of [`IGNORED`] that a sampling check does not cover: still
/// type-checked, since a wrong type is a client bug worth hearing about.
pub(crate) fn check_ignored(obj: &Object) -> Result<(), InvalidRequest> {
    if let Some(seed) = present(obj, "seed").filter(|v| !v.is_i64() && !v.is_u64()) {
        return Err(wrong_type("seed", "an integer", seed));
    }
    opt_bool(obj, "store")?;
    for key in ["metadata", "prediction"] {
        if let Some(value) = present(obj, key).filter(|v| !v.is_object()) {
            return Err(wrong_type(key, "an object", value));
        }
    }
    for key in ["service_tier", "prompt_cache_key", "safety_identifier"] {
        opt_string(obj, key)?;
    }
    match opt_string(obj, "verbosity")?.as_deref() {
        None | Some("low" | "medium" | "high") => Ok(()),
        Some(other) => Err(InvalidRequest::at(
            "verbosity",
            format!("Invalid value: '{other}'. Supported values are: 'low', 'medium', and 'high'."),
        )),
    }
}

/// Parameters whose meaning-changing values qwenctl cannot honour and whose absence the client
/// would rely on: refused by name, never answered with a 200 that ignores them (design.md
/// §3.1).
pub(crate) fn check_unsupported(obj: &Object) -> Result<(), InvalidRequest> {
    const NO_LOGPROBS: &str = "the upstream does not expose token probabilities";
    if opt_bool(obj, "logprobs")? == Some(true) {
        return Err(InvalidRequest::at(
            "logprobs",
            format!("logprobs are not supported: {NO_LOGPROBS}."),
        ));
    }
    if let Some(value) = present(obj, "top_logprobs") {
        if !value.is_u64() {
            return Err(wrong_type("top_logprobs", "an integer", value));
        }
        return Err(InvalidRequest::at(
            "top_logprobs",
            format!("top_logprobs is not supported: {NO_LOGPROBS}."),
        ));
    }
    check_modalities(obj)?;
    if present(obj, "audio").is_some() {
        return Err(InvalidRequest::at(
            "audio",
            "audio output is not supported: this proxy returns text only.",
        ));
    }
    match present(obj, "logit_bias") {
        None => {}
        Some(Value::Object(bias)) if bias.is_empty() => {}
        Some(Value::Object(_)) => {
            return Err(InvalidRequest::at(
                "logit_bias",
                "logit_bias is not supported: the upstream exposes no token-level sampling \
                 controls, and an answer without the bias could differ from the one asked for.",
            ));
        }
        Some(other) => return Err(wrong_type("logit_bias", "an object", other)),
    }
    if present(obj, "web_search_options").is_some() {
        return Err(InvalidRequest::at(
            "web_search_options",
            "web_search_options is not supported: ask for the model's '-search' variant \
             instead (e.g. 'qwen3-max-search'; GET /v1/models lists them), which answers with \
             web search.",
        ));
    }
    Ok(())
}

/// `modalities`: an array of `"text"` / `"audio"`; asking for audio is refused.
fn check_modalities(obj: &Object) -> Result<(), InvalidRequest> {
    let Some(value) = present(obj, "modalities") else {
        return Ok(());
    };
    let Value::Array(items) = value else {
        return Err(wrong_type("modalities", "an array of strings", value));
    };
    for item in items {
        match item.as_str() {
            Some("text") => {}
            Some("audio") => {
                return Err(InvalidRequest::at(
                    "modalities",
                    "audio output is not supported: this proxy returns text only. Ask for \
                     [\"text\"] or leave 'modalities' out.",
                ));
            }
            Some(other) => {
                return Err(InvalidRequest::at(
                    "modalities",
                    format!("Invalid value: '{other}'. Supported values are: 'text' and 'audio'."),
                ));
            }
            None => return Err(wrong_type("modalities", "an array of strings", item)),
        }
    }
    Ok(())
}
