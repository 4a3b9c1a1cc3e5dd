//! `GET /v1/models` and `GET /v1/models/{model}`: the engine's model catalog (upstream
//! models plus the virtual `-thinking` and `-search` variants) as OpenAI model objects, or
//! in Anthropic's shape when the request carries `anthropic-version` (design.md §10).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ApiError, AppState, ErrorShape, exchange};
use crate::{anthropic, openai};

pub(super) async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let shape = ErrorShape::of("", &headers);
    match exchange::models(&state).await {
        Ok(models) if shape == ErrorShape::Anthropic => {
            Json(anthropic::model_list(&models)).into_response()
        }
        Ok(models) => Json(openai::model_list(&models)).into_response(),
        Err(err) => ApiError::from(err).shaped(shape),
    }
}

pub(super) async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
    headers: HeaderMap,
) -> Response {
    let shape = ErrorShape::of("", &headers);
    let models = match exchange::models(&state).await {
        Ok(models) => models,
        Err(err) => return ApiError::from(err).shaped(shape),
    };
    // An alias answers as the model it names, under the name asked for.
    let name = state.engine.alias(&model);
    let entry = match shape {
        ErrorShape::Anthropic => anthropic::model_entry(name, &models),
        ErrorShape::OpenAi => openai::model_entry(name, &models),
    };
    match entry {
        Some(mut entry) => {
            entry["id"] = Value::String(model);
            Json(entry).into_response()
        }
        None => {
            let mut e = ApiError::unknown_model(&model);
            e.message = format!("The model `{model}` does not exist");
            e.shaped(shape)
        }
    }
}
