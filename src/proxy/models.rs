//! `GET /v1/models` and `GET /v1/models/{model}`: the engine's model catalog (upstream
//! models plus the virtual `-thinking` and `-search` variants) as OpenAI model objects.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::{ApiError, AppState, exchange};
use crate::openai;

pub(super) async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let models = exchange::models(&state).await?;
    Ok(Json(openai::model_list(&models)))
}

pub(super) async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let models = exchange::models(&state).await?;
    // An alias answers as the model it names, under the name asked for.
    openai::model_entry(state.engine.alias(&model), &models)
        .map(|mut entry| {
            entry["id"] = Value::String(model.clone());
            Json(entry)
        })
        .ok_or_else(|| {
            let mut e = ApiError::unknown_model(&model);
            e.message = format!("The model `{model}` does not exist");
            e
        })
}
