//! `GET /v1/models` and `GET /v1/models/{model}`: the upstream list as OpenAI model objects,
//! plus the virtual `-thinking` and `-search` variants.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::{ApiError, AppState};
use crate::openai;

pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let models = super::completions::upstream_models(&state).await?;
    Ok(Json(openai::models::model_list(&models)))
}

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let models = super::completions::upstream_models(&state).await?;
    openai::model_entry(&model, &models)
        .map(Json)
        .ok_or_else(|| {
            let mut e = ApiError::not_found(format!("The model `{model}` does not exist"));
            e.param = Some("model".into());
            e.code = Some("model_not_found");
            e
        })
}
