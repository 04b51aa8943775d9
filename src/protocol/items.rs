//! Hand-written conveniences over the generated types: the image payload of an `imageGeneration` item,
//! and the usage-limit reading of errors.

use crate::protocol::generated::{
    CodexErrorInfo, ImageGenerationFailure, ImageGenerationThreadItem,
};

/// Where an `imageGeneration` item keeps its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePayload<'a> {
    /// Base64 bytes inline (every release; the only form up to 0.160).
    Inline(&'a str),
    /// A durable attachment-store id (0.165 and later), which codex-img cannot fetch itself.
    FileId(&'a str),
    /// Neither: an empty `result` and no `fileId`.
    Missing,
}

impl ImageGenerationThreadItem {
    /// The payload, preferring inline bytes: rollouts written during Codex's migration carry both an
    /// empty `result` and a `fileId`, so an empty `result` counts as absent.
    pub fn payload(&self) -> ImagePayload<'_> {
        match (self.result.as_deref(), self.file_id.as_deref()) {
            (Some(b64), _) if !b64.is_empty() => ImagePayload::Inline(b64),
            (_, Some(id)) if !id.is_empty() => ImagePayload::FileId(id),
            _ => ImagePayload::Missing,
        }
    }

    /// The usage-limit failure on the item, with its reset time (unix seconds) when Codex gives one.
    pub fn usage_limit(&self) -> Option<Option<i64>> {
        match self.failure.as_ref()? {
            ImageGenerationFailure::UsageLimitExceeded(f) => Some(f.resets_at),
            ImageGenerationFailure::Unrecognized(_) => None,
        }
    }
}

impl CodexErrorInfo {
    /// The wire name of the value (`"usageLimitExceeded"`, `"responseStreamDisconnected"`, or whatever an
    /// unknown one says), for messages and logs.
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
            _ => "other".to_owned(),
        }
    }
}
