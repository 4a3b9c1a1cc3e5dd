//! TEMPORARY stub.
use serde_json::Value;
pub(crate) fn extract(text: &str) -> Option<(Value, String)> {
    let v: Value = serde_json::from_str(text.trim()).ok()?;
    let s = v.to_string();
    Some((v, s))
}
