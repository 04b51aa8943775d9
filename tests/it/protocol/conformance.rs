//! The protocol's own values against the JSON Schema bundles (the pinned one in `schemas/`, see
//! `schemas/VERSION`, and the 0.122.0 floor in `schemas/floor/`), and the schema oracle itself.
//!
//! The oracle (`tests/it/support/bundle.rs`) makes three checks per value: it validates against
//! the named definition (`#/definitions/v2/ThreadStartParams`, ...); every member it carries is declared
//! by that definition (the bundles never say `additionalProperties: false`, so schema validation alone
//! would let a member through that a release silently ignores); and whole lines validate against the
//! bundle's method unions. What the session builds (every params value, every answer to a server request)
//! is checked with the same oracle by the crate's own unit tests, in `src/session/conformance_tests.rs`.

use codex_img::protocol::envelope::Notification;
use codex_img::protocol::{notification, Message};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::bundle::Bundle;

/// The JSON line codex-img writes for `message`.
fn wire(message: &Message) -> Value {
    serde_json::from_slice(&message.to_line()).expect("a line of JSON")
}

#[test]
fn the_initialized_notification_validates_against_both_bundles() {
    let line = wire(&Message::Notification(Notification {
        method: notification::INITIALIZED.into(),
        params: None,
    }));
    assert_eq!(line, json!({"method": "initialized"}));
    for bundle in [Bundle::current(), Bundle::floor()] {
        assert!(
            bundle.validator("ClientNotification").is_valid(&line),
            "{}",
            bundle.name
        );
    }
}

/// The validator itself must reject what the bundle forbids, or the checks above prove nothing.
#[test]
fn the_checks_reject_bad_values() {
    let bundle = Bundle::current();
    let validator = bundle.validator("v2/ThreadStartParams");
    assert!(
        !validator.is_valid(&json!({"approvalPolicy": "on-failure"})),
        "removed in 0.145"
    );
    assert!(!validator.is_valid(&json!({"sandbox": "read-write"})));
    assert!(!validator.is_valid(&json!({"ephemeral": "yes"})));
    assert!(validator
        .is_valid(&json!({"approvalPolicy": "never", "sandbox": "read-only", "ephemeral": true})));
    let turn = bundle.validator("v2/TurnStartParams");
    assert!(
        !turn.is_valid(&json!({"threadId": "t", "input": [{"type": "localImage"}]})),
        "path is required"
    );
    assert!(
        !turn.is_valid(&json!({"input": []})),
        "threadId is required"
    );
    let floor = Bundle::floor();
    assert!(
        !floor
            .validator("v2/ThreadStartParams")
            .is_valid(&json!({"approvalsReviewer": "auto_review"})),
        "0.122.0 rejects approvalsReviewer auto_review"
    );

    let undeclared = |bundle: &Bundle, path: &str, instance: Value| {
        let mut out = Vec::new();
        bundle.undeclared(
            &json!({"$ref": format!("#/definitions/{path}")}),
            &instance,
            String::new(),
            &mut out,
        );
        out
    };
    assert_eq!(
        undeclared(
            &bundle,
            "v2/ThreadStartParams",
            json!({"cwd": "/x", "colour": "red"})
        ),
        vec!["/colour"]
    );
    assert_eq!(
        undeclared(
            &bundle,
            "v2/TurnStartParams",
            json!({"threadId": "t", "input": [{"type": "localImage", "path": "/p", "zoom": 2}]})
        ),
        vec!["/input/0/zoom"]
    );
    assert_eq!(
        undeclared(
            &bundle,
            "v2/ThreadStartParams",
            json!({"config": {"anything": {"goes": 1}}})
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        undeclared(
            &floor,
            "v2/ThreadStartParams",
            json!({"cwd": "/x", "threadSource": null})
        ),
        vec!["/threadSource"],
        "a member newer than the floor"
    );
}
