//! Shapes that differ across the supported releases (0.122.0 to 0.171.0), each decoded from literal
//! JSON into the generated types: the `imageGeneration` item before and after `result | fileId`, its
//! `failure`, the lifecycle timestamps, and the fallback variants for what codex-img does not model.

use codex_img::protocol::items::ImagePayload;
use codex_img::protocol::SpentBucket;
use codex_img::protocol::{
    Account, AccountRateLimitsUpdatedNotification, AccountUpdatedNotification, ApiKeyAccount,
    AuthMode, ChatgptAccount, CodexErrorInfo, ErrorNotification, GetAccountRateLimitsResponse,
    HttpConnectionFailedCodexErrorInfo, ImageDetail, ImageGenerationFailure,
    ImageGenerationInputImage, ImageGenerationThreadItem, ImageUserInput,
    ItemCompletedNotification, ItemStartedNotification, LocalImageUserInput, Message,
    ModelProviderCapabilitiesReadResponse, PlanType, RateLimitReachedType, RateLimitSnapshot,
    RateLimitWindow, ResponseStreamDisconnectedCodexErrorInfo, ServerNotification, ServerRequest,
    TextUserInput, ThreadItem, Turn, TurnCompletedNotification, TurnError, TurnStatus,
    UsageLimitExceededImageGenerationFailure, UserInput, UserMessageThreadItem,
    IGNORED_SERVER_NOTIFICATIONS,
};
use pretty_assertions::assert_eq;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

fn decode<T: DeserializeOwned>(value: Value) -> T {
    match serde_json::from_value(value.clone()) {
        Ok(decoded) => decoded,
        Err(e) => panic!("cannot decode {value}: {e}"),
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("encodes")
}

fn image_item(value: Value) -> ImageGenerationThreadItem {
    match decode::<ThreadItem>(value) {
        ThreadItem::ImageGeneration(item) => item,
        other => panic!("not an imageGeneration item: {other:?}"),
    }
}

const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

// --- imageGeneration: `result` as a plain string (0.122 to 0.160) ---------------------------------

#[test]
fn image_generation_0_122_shape_has_a_plain_result_and_no_failure() {
    let wire = json!({
        "type": "imageGeneration",
        "id": "ig_0122",
        "status": "completed",
        "revisedPrompt": "A red square on white",
        "result": PNG_B64,
        "savedPath": "/home/a/.codex/generated_images/t/ig_0122.png",
    });
    let item = image_item(wire.clone());
    assert_eq!(
        item,
        ImageGenerationThreadItem {
            id: "ig_0122".into(),
            status: "completed".into(),
            revised_prompt: Some("A red square on white".into()),
            result: Some(PNG_B64.into()),
            saved_path: Some("/home/a/.codex/generated_images/t/ig_0122.png".into()),
            ..Default::default()
        }
    );
    assert_eq!(item.payload(), ImagePayload::Inline(PNG_B64));
    assert_eq!(item.usage_limit(), None);
    assert_eq!(encode(&ThreadItem::ImageGeneration(item)), wire);
}

#[test]
fn image_generation_0_150_shape_adds_failure_null_and_transparent_background() {
    let item = image_item(json!({
        "type": "imageGeneration",
        "id": "ig_0150",
        "status": "generating",
        "revisedPrompt": null,
        "result": PNG_B64,
        "savedPath": null,
        "failure": null,
        "transparentBackground": false,
    }));
    assert_eq!(
        item,
        ImageGenerationThreadItem {
            id: "ig_0150".into(),
            status: "generating".into(),
            result: Some(PNG_B64.into()),
            transparent_background: Some(false),
            ..Default::default()
        }
    );
    assert_eq!(item.payload(), ImagePayload::Inline(PNG_B64));
}

// --- imageGeneration: `result | fileId` (0.165 and later) -----------------------------------------

#[test]
fn image_generation_0_165_file_id_shape() {
    let item = image_item(json!({
        "type": "imageGeneration",
        "id": "ig_file",
        "status": "completed",
        "revisedPrompt": "A red square",
        "fileId": "file_0123abc",
        "savedPath": null,
        "failure": null,
        "transparentBackground": false,
        "inputImages": [],
    }));
    assert_eq!(
        item,
        ImageGenerationThreadItem {
            id: "ig_file".into(),
            status: "completed".into(),
            revised_prompt: Some("A red square".into()),
            file_id: Some("file_0123abc".into()),
            transparent_background: Some(false),
            ..Default::default()
        }
    );
    assert_eq!(item.payload(), ImagePayload::FileId("file_0123abc"));
}

#[test]
fn image_generation_0_169_result_shape_with_inputs_and_times() {
    let wire = json!({
        "type": "imageGeneration",
        "id": "ig_0169",
        "status": "completed",
        "revisedPrompt": "The logo, in red",
        "result": PNG_B64,
        "savedPath": "/home/a/.codex/generated_images/t/ig_0169.png",
        "failure": null,
        "transparentBackground": true,
        "generationId": "gen_42",
        "inputImages": [{"path": "/tmp/codex-img-in/image-1.png", "sha256": "ab".repeat(32)}],
        "startedAtMs": 1795448372788u64,
        "completedAtMs": 1795448380001u64,
    });
    let item = image_item(wire);
    assert_eq!(
        item,
        ImageGenerationThreadItem {
            id: "ig_0169".into(),
            status: "completed".into(),
            revised_prompt: Some("The logo, in red".into()),
            result: Some(PNG_B64.into()),
            saved_path: Some("/home/a/.codex/generated_images/t/ig_0169.png".into()),
            transparent_background: Some(true),
            generation_id: Some("gen_42".into()),
            input_images: vec![ImageGenerationInputImage {
                path: "/tmp/codex-img-in/image-1.png".into(),
                sha256: "ab".repeat(32),
            }],
            started_at_ms: Some(1_795_448_372_788),
            completed_at_ms: Some(1_795_448_380_001),
            ..Default::default()
        }
    );
    assert_eq!(item.payload(), ImagePayload::Inline(PNG_B64));
}

// --- failure --------------------------------------------------------------------------------------

#[test]
fn image_generation_usage_limit_failure() {
    let wire = json!({
        "type": "imageGeneration",
        "id": "ig_quota",
        "status": "failed",
        "result": "",
        "failure": {"type": "usageLimitExceeded", "limitId": "codex_images", "resetsAt": 1795450000},
    });
    let item = image_item(wire.clone());
    assert_eq!(
        item,
        ImageGenerationThreadItem {
            id: "ig_quota".into(),
            status: "failed".into(),
            result: Some(String::new()),
            failure: Some(ImageGenerationFailure::UsageLimitExceeded(
                UsageLimitExceededImageGenerationFailure {
                    limit_id: "codex_images".into(),
                    resets_at: Some(1_795_450_000),
                }
            )),
            ..Default::default()
        }
    );
    assert_eq!(
        item.usage_limit(),
        Some(SpentBucket {
            limit_id: Some("codex_images".into()),
            resets_at: Some(1_795_450_000)
        })
    );
    assert_eq!(item.payload(), ImagePayload::Missing);
    assert_eq!(encode(&ThreadItem::ImageGeneration(item)), wire);
}

#[test]
fn image_generation_usage_limit_failure_without_reset_time() {
    let item = image_item(json!({
        "type": "imageGeneration",
        "id": "ig_quota",
        "status": "failed",
        "failure": {"type": "usageLimitExceeded", "limitId": "codex_images", "resetsAt": null},
    }));
    assert_eq!(
        item.failure,
        Some(ImageGenerationFailure::UsageLimitExceeded(
            UsageLimitExceededImageGenerationFailure {
                limit_id: "codex_images".into(),
                resets_at: None,
            }
        ))
    );
    assert_eq!(
        item.usage_limit(),
        Some(SpentBucket {
            limit_id: Some("codex_images".into()),
            resets_at: None
        })
    );
}

#[test]
fn image_generation_unknown_failure_keeps_its_json() {
    let failure =
        json!({"type": "contentPolicy", "message": "refused", "details": {"category": "x"}});
    let item = image_item(json!({
        "type": "imageGeneration",
        "id": "ig_refused",
        "status": "failed",
        "failure": failure,
    }));
    assert_eq!(
        item.failure,
        Some(ImageGenerationFailure::Unrecognized(failure))
    );
    assert_eq!(item.usage_limit(), None);
    assert_eq!(item.payload(), ImagePayload::Missing);
}

#[test]
fn image_generation_failure_absent_before_0_150() {
    let item = image_item(
        json!({"type": "imageGeneration", "id": "ig", "status": "completed", "result": PNG_B64}),
    );
    assert_eq!(item.failure, None);
    assert_eq!(item.transparent_background, None);
    assert_eq!(item.usage_limit(), None);
}

// --- payload --------------------------------------------------------------------------------------

#[test]
fn image_payload_for_every_case() {
    let cases = [
        (json!({"result": PNG_B64}), ImagePayload::Inline(PNG_B64)),
        (
            json!({"result": PNG_B64, "fileId": "file_1"}),
            ImagePayload::Inline(PNG_B64),
        ),
        (json!({"fileId": "file_1"}), ImagePayload::FileId("file_1")),
        (
            json!({"result": null, "fileId": "file_1"}),
            ImagePayload::FileId("file_1"),
        ),
        // Rollouts written during Codex's migration carry both an empty `result` and a `fileId`.
        (
            json!({"result": "", "fileId": "file_1"}),
            ImagePayload::FileId("file_1"),
        ),
        (json!({"result": ""}), ImagePayload::Missing),
        (json!({"result": "", "fileId": ""}), ImagePayload::Missing),
        (json!({"fileId": ""}), ImagePayload::Missing),
        (json!({}), ImagePayload::Missing),
    ];
    for (fields, expected) in cases {
        let mut wire = json!({"type": "imageGeneration", "id": "ig", "status": "completed"});
        wire.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let item = image_item(wire.clone());
        assert_eq!(item.payload(), expected, "{wire}");
    }
}

// --- lifecycle timestamps -------------------------------------------------------------------------

fn user_message(started: Option<i64>, completed: Option<i64>) -> ThreadItem {
    ThreadItem::UserMessage(UserMessageThreadItem {
        client_id: None,
        content: vec![UserInput::Text(TextUserInput {
            text: "a red square".into(),
            text_elements: vec![],
        })],
        id: "m1".into(),
        completed_at_ms: completed,
        started_at_ms: started,
    })
}

#[test]
fn item_started_without_any_timestamps_0_122() {
    let params = json!({
        "item": {"type": "userMessage", "id": "m1", "content": [{"type": "text", "text": "a red square", "text_elements": []}]},
        "threadId": "t1",
        "turnId": "u1",
    });
    assert_eq!(
        ServerNotification::decode("item/started", params).unwrap(),
        ServerNotification::ItemStarted(ItemStartedNotification {
            item: user_message(None, None),
            started_at_ms: None,
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
}

#[test]
fn item_started_with_params_timestamp_only_0_150() {
    let params = json!({
        "item": {"type": "userMessage", "id": "m1", "clientId": null, "content": [{"type": "text", "text": "a red square", "text_elements": []}]},
        "threadId": "t1",
        "turnId": "u1",
        "startedAtMs": 1795448372921u64,
    });
    assert_eq!(
        ServerNotification::decode("item/started", params).unwrap(),
        ServerNotification::ItemStarted(ItemStartedNotification {
            item: user_message(None, None),
            started_at_ms: Some(1_795_448_372_921),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
}

#[test]
fn item_started_and_completed_with_item_timestamps_0_169() {
    let started = json!({
        "item": {
            "type": "userMessage", "id": "m1", "clientId": null,
            "content": [{"type": "text", "text": "a red square", "text_elements": []}],
            "startedAtMs": 1795448372788u64, "completedAtMs": null,
        },
        "threadId": "t1",
        "turnId": "u1",
        "startedAtMs": 1795448372788u64,
    });
    assert_eq!(
        ServerNotification::decode("item/started", started).unwrap(),
        ServerNotification::ItemStarted(ItemStartedNotification {
            item: user_message(Some(1_795_448_372_788), None),
            started_at_ms: Some(1_795_448_372_788),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
    let completed = json!({
        "item": {
            "type": "userMessage", "id": "m1", "clientId": null,
            "content": [{"type": "text", "text": "a red square", "text_elements": []}],
            "startedAtMs": 1795448372788u64, "completedAtMs": 1795448372790u64,
        },
        "threadId": "t1",
        "turnId": "u1",
        "contentTokenCount": null,
        "completedAtMs": 1795448372790u64,
    });
    assert_eq!(
        ServerNotification::decode("item/completed", completed).unwrap(),
        ServerNotification::ItemCompleted(ItemCompletedNotification {
            completed_at_ms: Some(1_795_448_372_790),
            content_token_count: None,
            item: user_message(Some(1_795_448_372_788), Some(1_795_448_372_790)),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
}

#[test]
fn item_completed_without_timestamps() {
    let params = json!({
        "item": {"type": "imageGeneration", "id": "ig", "status": "completed", "result": PNG_B64},
        "threadId": "t1",
        "turnId": "u1",
    });
    assert_eq!(
        ServerNotification::decode("item/completed", params).unwrap(),
        ServerNotification::ItemCompleted(ItemCompletedNotification {
            completed_at_ms: None,
            content_token_count: None,
            item: ThreadItem::ImageGeneration(ImageGenerationThreadItem {
                id: "ig".into(),
                status: "completed".into(),
                result: Some(PNG_B64.into()),
                ..Default::default()
            }),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
}

#[test]
fn emitted_at_ms_present_or_absent_on_notifications() {
    let params = json!({"threadId": "t1", "turn": {"id": "u1", "items": [], "status": "completed", "error": null}});
    let expected = ServerNotification::TurnCompleted(TurnCompletedNotification {
        thread_id: "t1".into(),
        turn: Turn {
            completed_at: None,
            duration_ms: None,
            error: None,
            id: "u1".into(),
            items: vec![],
            items_view: None,
            root_turn_id: None,
            started_at: None,
            status: TurnStatus::Completed,
        },
    });
    for line in [
        json!({"method": "turn/completed", "params": params}),
        json!({"method": "turn/completed", "params": params, "emittedAtMs": 1795448392789u64}),
    ] {
        let Message::Notification(n) = Message::from_value(line.clone()).unwrap() else {
            panic!("{line}")
        };
        assert_eq!(
            ServerNotification::decode(&n.method, n.params.unwrap()).unwrap(),
            expected,
            "{line}"
        );
    }
}

// --- fallbacks ------------------------------------------------------------------------------------

#[test]
fn unknown_item_type_keeps_the_raw_json_exactly() {
    let raw = json!({
        "type": "hologram",
        "id": "h1",
        "status": "inProgress",
        "payload": {"layers": [1, 2, 3], "note": null},
        "startedAtMs": 1795448372788u64,
    });
    let item: ThreadItem = decode(raw.clone());
    assert_eq!(item, ThreadItem::Unrecognized(raw.clone()));
    assert_eq!(encode(&item), raw);
}

#[test]
fn known_but_unmodelled_item_types_fall_back() {
    for raw in [
        json!({"type": "webSearch", "id": "ws", "query": "cats", "action": null}),
        json!({"type": "mcpToolCall", "id": "mcp", "server": "s", "tool": "t", "status": "completed"}),
        json!({"type": "fileChange", "id": "fc", "changes": [], "status": "completed"}),
        json!({"id": "no-type"}),
    ] {
        assert_eq!(
            decode::<ThreadItem>(raw.clone()),
            ThreadItem::Unrecognized(raw)
        );
    }
}

#[test]
fn unknown_item_inside_item_completed() {
    let raw_item = json!({"type": "hologram", "id": "h1"});
    let params = json!({"item": raw_item, "threadId": "t1", "turnId": "u1", "completedAtMs": 5});
    assert_eq!(
        ServerNotification::decode("item/completed", params).unwrap(),
        ServerNotification::ItemCompleted(ItemCompletedNotification {
            completed_at_ms: Some(5),
            content_token_count: None,
            item: ThreadItem::Unrecognized(raw_item),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
        })
    );
}

#[test]
fn unknown_notification_method_keeps_method_and_raw_params() {
    let params = json!({"threadId": "t1", "weather": {"sunny": true}, "list": [1, null]});
    let decoded = ServerNotification::decode("thread/weather/changed", params.clone()).unwrap();
    assert_eq!(
        decoded,
        ServerNotification::Unrecognized {
            method: "thread/weather/changed".into(),
            params: params.clone()
        }
    );
    assert_eq!(decoded.method(), "thread/weather/changed");
    assert_eq!(decoded.params().unwrap(), params);
}

#[test]
fn deliberately_ignored_notifications_fall_back_too() {
    let params = json!({"summary": "Codex could not find bubblewrap on PATH.", "details": null});
    assert_eq!(
        ServerNotification::decode("configWarning", params.clone()).unwrap(),
        ServerNotification::Unrecognized {
            method: "configWarning".into(),
            params
        }
    );
    assert_eq!(
        ServerNotification::decode("item/agentMessage/delta", Value::Null).unwrap(),
        ServerNotification::Unrecognized {
            method: "item/agentMessage/delta".into(),
            params: Value::Null
        }
    );
}

#[test]
fn unknown_server_request_keeps_method_and_raw_params() {
    let params = json!({"zone": "UTC"});
    let decoded = ServerRequest::decode("currentTime/read", params.clone()).unwrap();
    assert_eq!(
        decoded,
        ServerRequest::Unrecognized {
            method: "currentTime/read".into(),
            params
        }
    );
    assert_eq!(decoded.method(), "currentTime/read");
}

// --- open enums -----------------------------------------------------------------------------------

#[test]
fn plan_type_keeps_unknown_values_and_round_trips() {
    assert_eq!(decode::<PlanType>(json!("plus")), PlanType::Plus);
    assert_eq!(
        decode::<PlanType>(json!("self_serve_business_usage_based")),
        PlanType::SelfServeBusinessUsageBased
    );
    let ultra = decode::<PlanType>(json!("ultra"));
    assert_eq!(ultra, PlanType::Unrecognized("ultra".into()));
    assert_eq!(encode(&ultra), json!("ultra"));
    assert_eq!(ultra.as_str(), "ultra");

    let wire = json!({"type": "chatgpt", "email": "a@example.com", "planType": "ultra"});
    let account: Account = decode(wire.clone());
    assert_eq!(
        account,
        Account::Chatgpt(ChatgptAccount {
            email: Some("a@example.com".into()),
            plan_type: PlanType::Unrecognized("ultra".into()),
            workspace_name: None,
        })
    );
    assert_eq!(encode(&account), wire);
}

#[test]
fn account_variants_and_unknown_account_types() {
    assert_eq!(
        decode::<Account>(json!({"type": "apiKey"})),
        Account::ApiKey(ApiKeyAccount {})
    );
    assert_eq!(
        decode::<Account>(json!({"type": "chatgpt", "email": null, "planType": "pro"})),
        Account::Chatgpt(ChatgptAccount {
            email: None,
            plan_type: PlanType::Pro,
            workspace_name: None
        })
    );
    let raw = json!({"type": "azureFoundry", "endpoint": "https://x"});
    assert_eq!(
        decode::<Account>(raw.clone()),
        Account::Unrecognized(raw.clone())
    );
    assert_eq!(encode(&decode::<Account>(raw.clone())), raw);
}

#[test]
fn codex_error_info_known_and_unknown_strings_and_objects() {
    let cases = [
        (
            json!("usageLimitExceeded"),
            CodexErrorInfo::UsageLimitExceeded,
            "usageLimitExceeded",
        ),
        (json!("other"), CodexErrorInfo::Other, "other"),
        (
            json!("brandNewFailure"),
            CodexErrorInfo::Unrecognized(json!("brandNewFailure")),
            "brandNewFailure",
        ),
        (
            json!({"responseStreamDisconnected": {"httpStatusCode": 502}}),
            CodexErrorInfo::ResponseStreamDisconnected(ResponseStreamDisconnectedCodexErrorInfo {
                http_status_code: Some(502),
            }),
            "responseStreamDisconnected",
        ),
        (
            json!({"httpConnectionFailed": {"httpStatusCode": 503}}),
            CodexErrorInfo::HttpConnectionFailed(HttpConnectionFailedCodexErrorInfo {
                http_status_code: Some(503),
            }),
            "httpConnectionFailed",
        ),
        (
            json!({"quotaWobble": {"bucket": "images", "retryAfter": 3}}),
            CodexErrorInfo::Unrecognized(
                json!({"quotaWobble": {"bucket": "images", "retryAfter": 3}}),
            ),
            "quotaWobble",
        ),
    ];
    for (wire, expected, name) in cases {
        let decoded: CodexErrorInfo = decode(wire.clone());
        assert_eq!(decoded, expected, "{wire}");
        assert_eq!(decoded.name(), name, "{wire}");
        assert_eq!(encode(&decoded), wire, "{wire}");
    }
}

#[test]
fn codex_error_info_tolerates_null_status_and_extra_members() {
    // Every release sends `httpStatusCode: null` while retrying a dropped stream.
    assert_eq!(
        decode::<CodexErrorInfo>(json!({"responseStreamDisconnected": {"httpStatusCode": null}})),
        CodexErrorInfo::ResponseStreamDisconnected(ResponseStreamDisconnectedCodexErrorInfo {
            http_status_code: None
        })
    );
    assert_eq!(
        decode::<CodexErrorInfo>(
            json!({"responseStreamDisconnected": {"httpStatusCode": 429, "retryAfterMs": 900}})
        ),
        CodexErrorInfo::ResponseStreamDisconnected(ResponseStreamDisconnectedCodexErrorInfo {
            http_status_code: Some(429),
        })
    );
    let two_keys = json!({"responseStreamDisconnected": {}, "other": {}});
    assert_eq!(
        decode::<CodexErrorInfo>(two_keys.clone()),
        CodexErrorInfo::Unrecognized(two_keys)
    );
}

#[test]
fn error_notification_and_failed_turn_carry_codex_error_info() {
    let params = json!({
        "error": {
            "message": "You've hit your usage limit.",
            "codexErrorInfo": "usageLimitExceeded",
            "additionalDetails": null,
            "misalignment": null,
        },
        "willRetry": false,
        "threadId": "t1",
        "turnId": "u1",
    });
    let error = TurnError {
        additional_details: None,
        codex_error_info: Some(CodexErrorInfo::UsageLimitExceeded),
        message: "You've hit your usage limit.".into(),
        misalignment: None,
    };
    assert_eq!(
        ServerNotification::decode("error", params).unwrap(),
        ServerNotification::Error(ErrorNotification {
            error: error.clone(),
            thread_id: "t1".into(),
            turn_id: "u1".into(),
            will_retry: false,
        })
    );
    let turn: Turn = decode(json!({
        "id": "u1",
        "items": [],
        "status": "failed",
        "error": {"message": "You've hit your usage limit.", "codexErrorInfo": "usageLimitExceeded"},
        "startedAt": 1795448370,
        "completedAt": 1795448401,
        "durationMs": 31165,
    }));
    assert_eq!(
        turn,
        Turn {
            completed_at: Some(1_795_448_401),
            duration_ms: Some(31_165),
            error: Some(error),
            id: "u1".into(),
            items: vec![],
            items_view: None,
            root_turn_id: None,
            started_at: Some(1_795_448_370),
            status: TurnStatus::Failed,
        }
    );
}

#[test]
fn turn_status_values_including_unknown() {
    let cases = [
        ("completed", TurnStatus::Completed),
        ("interrupted", TurnStatus::Interrupted),
        ("failed", TurnStatus::Failed),
        ("inProgress", TurnStatus::InProgress),
        ("paused", TurnStatus::Unrecognized("paused".into())),
    ];
    for (wire, expected) in cases {
        let decoded: TurnStatus = decode(json!(wire));
        assert_eq!(decoded, expected);
        assert_eq!(encode(&decoded), json!(wire));
    }
}

// --- user input -----------------------------------------------------------------------------------

#[test]
fn user_input_round_trips() {
    let cases = [
        (
            json!({"type": "text", "text": "a red square"}),
            UserInput::Text(TextUserInput {
                text: "a red square".into(),
                text_elements: vec![],
            }),
        ),
        (
            json!({"type": "text", "text": "hi", "text_elements": [{"byteRange": {"start": 0, "end": 2}, "placeholder": null}]}),
            UserInput::Text(TextUserInput {
                text: "hi".into(),
                text_elements: vec![
                    json!({"byteRange": {"start": 0, "end": 2}, "placeholder": null}),
                ],
            }),
        ),
        (
            json!({"type": "localImage", "path": "/tmp/codex-img-in/image-1.png"}),
            UserInput::LocalImage(LocalImageUserInput {
                detail: None,
                path: "/tmp/codex-img-in/image-1.png".into(),
            }),
        ),
        (
            json!({"type": "localImage", "path": "/tmp/i.png", "detail": "high"}),
            UserInput::LocalImage(LocalImageUserInput {
                detail: Some(ImageDetail::High),
                path: "/tmp/i.png".into(),
            }),
        ),
        (
            json!({"type": "image", "url": "data:image/png;base64,iVBORw0KGgo="}),
            UserInput::Image(ImageUserInput {
                detail: None,
                url: Some("data:image/png;base64,iVBORw0KGgo=".into()),
                file_id: None,
            }),
        ),
        (
            json!({"type": "image", "fileId": "file_9", "detail": "auto"}),
            UserInput::Image(ImageUserInput {
                detail: Some(ImageDetail::Auto),
                url: None,
                file_id: Some("file_9".into()),
            }),
        ),
        (
            json!({"type": "hologram", "frames": 3}),
            UserInput::Unrecognized(json!({"type": "hologram", "frames": 3})),
        ),
    ];
    for (wire, expected) in cases {
        let decoded: UserInput = decode(wire.clone());
        assert_eq!(decoded, expected, "{wire}");
        assert_eq!(encode(&decoded), wire, "{wire}");
    }
}

#[test]
fn user_input_empty_text_elements_and_null_detail_are_read_and_omitted_on_write() {
    let decoded: UserInput = decode(json!({"type": "text", "text": "x", "text_elements": []}));
    assert_eq!(encode(&decoded), json!({"type": "text", "text": "x"}));
    let decoded: UserInput =
        decode(json!({"type": "localImage", "path": "/p.png", "detail": null}));
    assert_eq!(
        decoded,
        UserInput::LocalImage(LocalImageUserInput {
            detail: None,
            path: "/p.png".into()
        })
    );
    assert_eq!(
        encode(&decoded),
        json!({"type": "localImage", "path": "/p.png"})
    );
}

// --- preflight reads ------------------------------------------------------------------------------

#[test]
fn rate_limits_in_the_0_122_and_0_169_shapes() {
    let window = |used, mins, resets| RateLimitWindow {
        resets_at: resets,
        used_percent: used,
        window_duration_mins: mins,
    };
    let old: GetAccountRateLimitsResponse = decode(json!({
        "rateLimits": {
            "limitId": "codex",
            "limitName": null,
            "primary": {"usedPercent": 12, "windowDurationMins": 300, "resetsAt": 1795450000},
            "secondary": {"usedPercent": 40, "windowDurationMins": 10080, "resetsAt": null},
            "credits": {"hasCredits": false, "unlimited": false, "balance": null},
            "planType": "plus",
            "rateLimitReachedType": null,
        },
        "rateLimitsByLimitId": null,
    }));
    assert_eq!(
        old,
        GetAccountRateLimitsResponse {
            account_id: None,
            ordinary_usage_allowed: None,
            rate_limit_reset_credits: None,
            rate_limit_upsell: None,
            rate_limits: RateLimitSnapshot {
                limit_id: Some("codex".into()),
                limit_name: None,
                plan_type: Some(PlanType::Plus),
                primary: Some(window(12, Some(300), Some(1_795_450_000))),
                rate_limit_reached_type: None,
                secondary: Some(window(40, Some(10_080), None)),
            },
            rate_limits_by_limit_id: None,
        }
    );

    let by_limit = json!({"codex": {"limitId": "codex", "primary": {"usedPercent": 100}}});
    let new: GetAccountRateLimitsResponse = decode(json!({
        "accountId": "acct_1",
        "ordinaryUsageAllowed": false,
        "rateLimits": {
            "limitId": "codex",
            "primary": {"usedPercent": 100, "windowDurationMins": 300, "resetsAt": 1795450000},
            "secondary": null,
            "rateLimitReachedType": "workspace_quota_paused",
            "spendControlReached": null,
            "individualLimit": null,
            "normalModelSlug": null,
        },
        "rateLimitsByLimitId": by_limit,
    }));
    assert_eq!(
        new,
        GetAccountRateLimitsResponse {
            account_id: Some("acct_1".into()),
            ordinary_usage_allowed: Some(false),
            rate_limit_reset_credits: None,
            rate_limit_upsell: None,
            rate_limits: RateLimitSnapshot {
                limit_id: Some("codex".into()),
                limit_name: None,
                plan_type: None,
                primary: Some(window(100, Some(300), Some(1_795_450_000))),
                rate_limit_reached_type: Some(RateLimitReachedType::Unrecognized(
                    "workspace_quota_paused".into()
                )),
                secondary: None,
            },
            rate_limits_by_limit_id: Some(by_limit),
        }
    );
}

/// 0.171.0's `thread/search/partial` (rows of a `thread/search/stream` codex-img never sends) is ignored
/// on purpose: it decodes, without error, into the fallback variant, and names no thread of its own.
#[test]
fn thread_search_partial_is_ignored_deliberately() {
    assert!(IGNORED_SERVER_NOTIFICATIONS.contains(&"thread/search/partial"));
    assert!(!ServerNotification::MODELLED.contains(&"thread/search/partial"));
    let params = json!({"requestId": 7, "data": [{"thread": {"id": "01a2090c-2687-78f5-9b1e-000000000001"}}]});
    assert_eq!(
        ServerNotification::decode("thread/search/partial", params.clone()).unwrap(),
        ServerNotification::Unrecognized {
            method: "thread/search/partial".to_owned(),
            params
        }
    );
}

#[test]
fn account_notifications_as_0_169_sends_them() {
    assert_eq!(
        ServerNotification::decode(
            "account/updated",
            json!({"authMode": "chatgpt", "planType": "plus"})
        )
        .unwrap(),
        ServerNotification::AccountUpdated(AccountUpdatedNotification {
            auth_mode: Some(AuthMode::Chatgpt),
            plan_type: Some(PlanType::Plus),
            reason: None,
        })
    );
    assert_eq!(
        ServerNotification::decode(
            "account/updated",
            json!({"authMode": null, "planType": null})
        )
        .unwrap(),
        ServerNotification::AccountUpdated(AccountUpdatedNotification {
            auth_mode: None,
            plan_type: None,
            reason: None,
        })
    );
    assert_eq!(
        ServerNotification::decode(
            "account/rateLimits/updated",
            json!({"rateLimits": {"credits": null, "limitId": "codex", "limitName": null, "planType": null,
                "primary": null, "rateLimitReachedType": null, "secondary": null, "spendControlReached": null}})
        )
        .unwrap(),
        ServerNotification::AccountRateLimitsUpdated(AccountRateLimitsUpdatedNotification {
            rate_limits: RateLimitSnapshot {
                limit_id: Some("codex".into()),
                ..Default::default()
            },
        })
    );
}

#[test]
fn capabilities_without_namespace_tools_and_with() {
    for wire in [
        json!({"namespaceTools": true, "imageGeneration": true, "webSearch": true}),
        json!({"imageGeneration": true, "webSearch": true}),
    ] {
        assert_eq!(
            decode::<ModelProviderCapabilitiesReadResponse>(wire),
            ModelProviderCapabilitiesReadResponse {
                image_generation: true,
                web_search: true
            }
        );
    }
}

/// 0.160 and later send `"questions": null` on every agent message; a null list is an empty list.
#[test]
fn null_lists_decode_as_empty() {
    let item: codex_img::protocol::ThreadItem = serde_json::from_value(serde_json::json!({
        "type": "agentMessage", "id": "m", "text": "no image", "questions": null, "phase": null
    }))
    .expect("decodes");
    match item {
        codex_img::protocol::ThreadItem::AgentMessage(m) => {
            pretty_assertions::assert_eq!((m.text.as_str(), m.questions.len()), ("no image", 0))
        }
        other => panic!("{other:?}"),
    }
}
