//! The `outputSchema` of each tool, written out by hand because the reports are the library's own
//! types (shared by every face, without a schema derive). Tests keep the two honest: real reports must
//! validate, and every field a report writes must be declared here.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{json, Value};

fn object(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn error_report() -> Value {
    json!({
        "type": "object",
        "description": "A failure, as the CLI's --json prints it.",
        "properties": {
            "ok": {"const": false},
            "code": {"type": "string", "description": "Stable code, such as runtime/usage_limit."},
            "message": {"type": "string"},
            "retryable": {"type": "boolean", "description": "Whether the same call may work later. A timeout is never retryable: it may have spent quota."},
            "resets_at": {"type": "integer", "description": "For runtime/usage_limit: when the limit resets, in unix seconds."},
            "resets_at_text": {"type": "string", "description": "The same, in RFC 3339."},
            "limit_id": {"type": "string", "description": "For runtime/usage_limit: the usage bucket that is spent (image_gen, codex, ...), when Codex named it."},
            "refused_locally": {"type": "boolean", "description": "For runtime/usage_limit: present and true when codex-img refused the call itself, without a model request, from a limit Codex reported earlier; ignore_known_usage_limit sends it anyway."},
            "recovered_path": {"type": "string", "description": "When the image was generated but could not be saved as asked: the file it was kept in instead."},
            "base64": {"type": "string", "description": "The image that could not be saved, when the bytes were asked for."}
        },
        "required": ["ok", "code", "message", "retryable"]
    })
}

/// `generate_image`: the saved image's report (`n = 1`) or the batch report (`n > 1`), the same
/// objects as `codex-img generate --json`.
pub(crate) fn generate_report() -> Arc<JsonObject> {
    object(json!({
        "type": "object",
        "anyOf": [image_report(), batch_report()]
    }))
}

fn batch_report() -> Value {
    json!({
        "type": "object",
        "description": "Several images (n > 1): every delivered image and every failure, by index.",
        "properties": {
            "ok": {"type": "boolean", "description": "True when every image was delivered."},
            "images": {"type": "array", "items": image_report()},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer", "minimum": 1},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "retryable": {"type": "boolean"},
                        "refused_locally": {"type": "boolean", "description": "Present and true when codex-img refused that image itself, without a model request, from a usage limit."},
                        "recovered_path": {"type": "string", "description": "When the image was generated but could not be saved as asked: the file it was kept in instead."}
                    },
                    "required": ["index", "code", "message", "retryable"]
                }
            }
        },
        "required": ["ok", "images", "errors"]
    })
}

fn image_report() -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    let ms_or_null = json!({"type": ["integer", "null"], "minimum": 0});
    let size_or_null = json!({
        "type": ["object", "null"],
        "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
        "required": ["width", "height"]
    });
    json!({
        "type": "object",
        "description": "One image, as the CLI's --json prints it.",
        "properties": {
            "ok": {"const": true},
            "path": {"type": "string", "description": "The absolute path of the saved file."},
            "format": {"type": "string", "enum": ["png", "jpeg", "webp", "gif"], "description": "Measured from the bytes."},
            "mime": {"type": "string"},
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "bytes": count,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "revised_prompt": {"type": ["string", "null"], "description": "The prompt the image tool used, when Codex reports it."},
            "codex_version": {"type": "string"},
            "ids": {
                "type": "object",
                "properties": {
                    "thread_id": {"type": "string"},
                    "turn_id": {"type": "string"},
                    "item_id": {"type": "string"}
                },
                "required": ["thread_id", "turn_id", "item_id"]
            },
            "timings": {
                "type": "object",
                "properties": {
                    "queue_wait_ms": count,
                    "process_start_ms": ms_or_null,
                    "thread_start_ms": count,
                    "time_to_image_ms": count,
                    "total_ms": count
                },
                "required": ["queue_wait_ms", "process_start_ms", "thread_start_ms", "time_to_image_ms", "total_ms"]
            },
            "alpha": {"type": "string", "enum": ["native", "keyed", "none"], "description": "Where the transparency came from: Codex (native), codex-img's key (keyed), or none."},
            "requested": size_or_null.clone(),
            "fit": {"type": ["string", "null"], "enum": ["cover", "contain", "fill", null], "description": "How the image was fitted to the requested size or aspect; null when it was not resized."},
            "original": size_or_null
        },
        "required": ["ok", "path", "format", "mime", "width", "height", "bytes", "sha256", "revised_prompt", "codex_version", "ids", "timings", "alpha", "requested", "fit", "original"]
    })
}

/// `codex_status`: the doctor report, plus `ready` and the blocking error (as `codex-img doctor --json`
/// and the bridge's `codex/doctor`).
pub(crate) fn status_report() -> Arc<JsonObject> {
    let text_or_null = json!({"type": ["string", "null"]});
    object(json!({
        "type": "object",
        "properties": {
            "ready": {"type": "boolean", "description": "True when a generation would not fail on any check."},
            "blocking": {"anyOf": [{"type": "null"}, error_report()], "description": "The first blocking problem, as the error a generation would give."},
            "binary": text_or_null,
            "version": text_or_null,
            "previous_version": {"type": ["string", "null"], "description": "The Codex version that ran before, when Codex changed while codex-img ran."},
            "min_version": {"type": "string"},
            "login": text_or_null,
            "plan": text_or_null,
            "image_generation": {"type": ["boolean", "null"]},
            "app_server": {
                "anyOf": [{"type": "null"}, {
                    "type": "object",
                    "properties": {
                        "images": {"type": "integer", "description": "Images made on the process serving now."},
                        "tree_rss_bytes": {"type": ["integer", "null"], "description": "The memory its process tree holds."},
                        "recycles": {"type": "integer", "description": "Idle app-servers replaced so far."}
                    },
                    "required": ["images", "tree_rss_bytes", "recycles"]
                }]
            },
            "rate_limits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "limit_id": {"type": ["string", "null"], "description": "The bucket: codex (the model), image_gen (images), or another."},
                        "used_percent": {"type": "integer"},
                        "window_minutes": {"type": ["integer", "null"]},
                        "resets_at": {"type": ["integer", "null"]}
                    },
                    "required": ["limit_id", "used_percent", "window_minutes", "resets_at"]
                }
            },
            "checks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "status": {"type": "string", "enum": ["pass", "warn", "fail", "skipped"]},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "fix": {"type": "string"}
                    },
                    "required": ["name", "status", "detail"]
                }
            }
        },
        "required": ["ready", "blocking", "binary", "version", "previous_version", "min_version", "login", "plan", "image_generation", "app_server", "rate_limits", "checks"]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::report::{BatchReport, ErrorReport, ImageReport};
    use crate::image::ImageFormat;
    use crate::types::output::{CodexIds, GeneratedImage, Timings};
    use crate::{Alpha, BatchOutcome, Delivered, Failed, Fit, Size};
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn check(schema: &Arc<JsonObject>, instance: &Value) {
        let schema = Value::Object(schema.as_ref().clone());
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{instance}");
        // Every field the report writes is declared (at the root, or in a branch of `anyOf`).
        let branches =
            std::iter::once(&schema).chain(schema["anyOf"].as_array().into_iter().flatten());
        let declared: Vec<&String> = branches
            .filter_map(|b| b["properties"].as_object())
            .flat_map(|p| p.keys())
            .collect();
        for key in instance.as_object().expect("an object").keys() {
            assert!(declared.contains(&key), "`{key}` is not in the schema");
        }
    }

    fn sample(process_start: Option<Duration>) -> GeneratedImage {
        GeneratedImage {
            bytes: vec![1, 2, 3],
            format: ImageFormat::Png,
            width: 64,
            height: 48,
            sha256: "a".repeat(64),
            revised_prompt: None,
            ids: CodexIds {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "ig_1".into(),
            },
            timings: Timings {
                process_start,
                ..Timings::default()
            },
            codex_version: "0.171.0".into(),
            alpha: Alpha::Keyed,
            requested: Some(Size {
                width: 64,
                height: 48,
            }),
            fit: Some(Fit::Cover),
            recovery_dir: None,
            original: Some(Size {
                width: 80,
                height: 80,
            }),
        }
    }

    #[test]
    fn image_and_batch_reports_fit_the_output_schema() {
        let output = generate_report();
        for process_start in [None, Some(Duration::from_millis(212))] {
            let mut image = sample(process_start);
            let report = ImageReport::new(&image, Some("/tmp/a.png".as_ref()));
            let value = serde_json::to_value(report).expect("json");
            check(&object(image_report()), &value);
            check(&output, &value);
            (image.alpha, image.requested, image.fit, image.original) =
                (Alpha::None, None, None, None);
            let plain = ImageReport::new(&image, Some("/tmp/b.png".as_ref()));
            check(&output, &serde_json::to_value(plain).expect("json"));
        }
        let outcome = BatchOutcome {
            delivered: vec![Delivered {
                index: 1,
                image: sample(None),
                path: Some("/tmp/a-1.png".into()),
                sidecar: None,
            }],
            failed: vec![Failed {
                index: 2,
                error: crate::Error::NoImage { detail: "x".into() },
            }],
        };
        let batch = serde_json::to_value(BatchReport::new(&outcome, false)).expect("json");
        check(&object(batch_report()), &batch);
        check(&output, &batch);
        // An error report is not a result of this tool.
        let error =
            serde_json::to_value(ErrorReport::from(&crate::Error::Cancelled)).expect("json");
        let schema = Value::Object(output.as_ref().clone());
        assert!(!jsonschema::is_valid(&schema, &error));
    }

    #[test]
    fn error_reports_fit_their_schema() {
        let limit = crate::Error::UsageLimit {
            limit_id: None,
            resets_at: Some(1_800_000_000),
            message: String::new(),
            refused_locally: true,
        };
        let schema = object(error_report());
        for e in [limit, crate::Error::Cancelled] {
            check(
                &schema,
                &serde_json::to_value(ErrorReport::from(&e)).expect("json"),
            );
        }
    }
}
