//! TEMPORARY stub.
use serde_json::Value;
pub(crate) fn validate(value: &Value, schema: &Value) -> Result<(), String> {
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req {
            if let Some(r) = r.as_str()
                && value.get(r).is_none()
            {
                return Err(format!("`{r}` is required"));
            }
        }
    }
    Ok(())
}
