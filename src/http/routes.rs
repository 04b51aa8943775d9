//! The endpoints: `POST /v1/images/generations`, `POST /v1/images/edits` (multipart or JSON),
//! `GET /v1/models`, and `GET /health`; the same paths without `/v1` for apps whose base URL omits it.
//! Anything else is an OpenAI-shaped 404 or 405.
//!
//! A handler owns its generation's future: when the client disconnects, hyper drops the handler and
//! with it the future, which interrupts the Codex turn. When the server stops, a handler still waiting
//! answers 503 `runtime/cancelled` at once (its turn is interrupted the same way).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use super::answer::ImagesResponse;
use super::edits;
use super::errors::ApiError;
use super::fields::{self, Fields, LISTED_MODELS};
use super::key::ApiKey;
use super::limits::{self, MAX_BODY_BYTES};
use super::security::{self, Hosts};
use crate::api::batch::{BatchOutcome, Delivered, Failed};
use crate::api::client::Client;
use crate::api::report::BatchReport;
use crate::face::params::{Refusal, Rules};
use crate::face::root::Root;
use crate::image::IfExists;
use crate::types::error::Error;
use crate::types::output::GeneratedImage;
use crate::types::request::ImageSource;

/// What every handler shares.
pub(crate) struct AppState {
    pub client: Client,
    pub key: ApiKey,
    pub hosts: Hosts,
    pub root: Option<Root>,
    pub receive_timeout: Duration,
    /// Turns `true` when the server stops.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    /// The shared rules on this face: an edit's `image_url` may name a file only inside `--root`, and
    /// none without one.
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules {
            root: self.root.as_ref(),
            paths: self.root.is_some(),
        }
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/images/generations", post(generations))
        .route("/images/edits", post(edits))
        .route("/models", get(models));
    Router::new()
        .nest("/v1", api.clone())
        .merge(api)
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::gate,
        ))
        .with_state(state)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "service": "codex-img", "version": env!("CARGO_PKG_VERSION")}))
}

async fn models() -> Json<Value> {
    let data: Vec<Value> = LISTED_MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "codex-img"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "http/not_found",
        format!(
            "no endpoint {}; use POST /v1/images/generations, POST /v1/images/edits or GET /v1/models",
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "http/method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_none_or(|m| m == "application/json")
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "request/invalid_json",
            None,
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(
            "request/invalid_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

async fn generations(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let deadline = limits::receive_deadline(started, state.receive_timeout);
    let bytes = match limits::read_body(&parts.headers, body, MAX_BODY_BYTES, deadline).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    if !is_json(&parts.headers) {
        return ApiError::bad_request(
            "request/invalid_content_type",
            None,
            "send the generation as JSON (Content-Type: application/json)",
        )
        .into_response();
    }
    let mapped = json_object(&bytes).and_then(|map| fields::map(&map));
    match mapped {
        Ok(fields) => generate(&state, fields, Vec::new()).await,
        Err(e) => e.into_response(),
    }
}

async fn edits(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let deadline = limits::receive_deadline(started, state.receive_timeout);
    let bytes = match limits::read_body(&parts.headers, body, MAX_BODY_BYTES, deadline).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let edit = match media_type(&parts.headers).as_deref() {
        Some("multipart/form-data") => edits::from_multipart(parts, bytes, state.rules()).await,
        None | Some("application/json") => {
            json_object(&bytes).and_then(|map| edits::from_json(map, state.rules()))
        }
        Some(other) => Err(ApiError::bad_request(
            "request/invalid_content_type",
            None,
            format!("an edit is multipart/form-data or application/json, not {other}"),
        )),
    };
    let mapped = edit.and_then(|edit| Ok((fields::map(&edit.fields)?, edit.images)));
    match mapped {
        Ok((fields, images)) => generate(&state, fields, images).await,
        Err(e) => e.into_response(),
    }
}

/// Runs the generation (`n` turns) and answers it; the image to edit first, then references.
async fn generate(state: &AppState, fields: Fields, images: Vec<ImageSource>) -> Response {
    let Fields { model, params } = fields;
    // The shared rules: the fields name no file and no output, and the images were read by `edits`.
    let job = match params.into_job(state.rules()) {
        Ok(job) => job,
        Err(Refusal::Arguments(message)) => {
            return ApiError::bad_request("request/invalid_field", None, message).into_response()
        }
        Err(Refusal::App(e)) => return failure(&e),
    };
    // A usage limit Codex reported earlier is the library's to enforce: until its reset the request
    // fails with `runtime/usage_limit` (429 with `Retry-After`) and starts no turn.
    let mut request = job.request;
    let mut images = images.into_iter();
    if let Some(first) = images.next() {
        request = request.image(first);
    }
    for reference in images {
        request = request.reference(reference);
    }
    let mut stopping = state.stopping.clone();
    // No target: the images stay in memory and go back in the answer. One image runs on this task, so
    // dropping it (a disconnect, a stop) interrupts its turn at once; a batch runs its turns on tasks.
    let work = async {
        if request.options.n == 1 {
            Ok(single(state.client.generate(request).await))
        } else {
            state
                .client
                .generate_batch(request, None, IfExists::Fail)
                .await
        }
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = stopping.wait_for(|stop| *stop) => Err(Error::Cancelled),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => return failure(&e),
    };
    for failed in &outcome.failed {
        tracing::info!(
            index = failed.index,
            code = failed.error.code(),
            "an image failed: {}",
            failed.error
        );
    }
    let errors = BatchReport::new(&outcome, false).errors;
    // Delivered images, and the untouched image of any whose post-processing failed: both were paid for.
    let mut delivered: Vec<(u32, &GeneratedImage)> = outcome
        .delivered
        .iter()
        .map(|d| (d.index, &d.image))
        .collect();
    for failed in &outcome.failed {
        if let Error::ProcessFailed { image, .. } = &failed.error {
            delivered.push((failed.index, image));
        }
    }
    delivered.sort_by_key(|(index, _)| *index);
    let images: Vec<&GeneratedImage> = delivered.into_iter().map(|(_, image)| image).collect();
    match ImagesResponse::new(&images, errors, &model, now()) {
        Some(answer) => Json(answer).into_response(),
        // Nothing finished: the first failure is the answer.
        None => match outcome.failed.first() {
            Some(failed) => failure(&failed.error),
            None => failure(&crate::face::answer::nothing()),
        },
    }
}

/// One image's result, shaped as a batch of one.
fn single(result: crate::Result<GeneratedImage>) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    match result {
        Ok(image) => outcome.delivered.push(Delivered {
            index: 1,
            image,
            path: None,
            sidecar: None,
        }),
        Err(error) => outcome.failed.push(Failed { index: 1, error }),
    }
    outcome
}

fn failure(e: &Error) -> Response {
    tracing::info!(code = e.code(), "a generation failed: {e}");
    let mut answer = ApiError::from_library(e, now());
    if matches!(e, Error::Cancelled) {
        answer.message = "the server is stopping; the generation was cancelled".to_owned();
        answer.close = true;
    }
    answer.into_response()
}
