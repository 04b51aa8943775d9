//! Property tests of the message parser: no byte string or JSON value makes it panic, what it accepts
//! is classified by the members present, and every message it can write reads back as itself.

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{
    EnvelopeError, ErrorCode, ErrorObject, ErrorResponse, Message, Notification, Request,
    RequestId, Response,
};

/// JSON without floats (serde_json does not promise to round-trip every float exactly), nested a little.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object built from the envelope's own member names with values of any type, so the parser's
/// classification and typed decoding see every combination.
fn envelope_like() -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        Just("id"),
        Just("method"),
        Just("params"),
        Just("result"),
        Just("error"),
        Just("jsonrpc"),
        Just("other"),
    ];
    prop::collection::vec((member, json()), 0..6).prop_map(|members| {
        let map: Map<String, Value> = members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Value::Object(map)
    })
}

fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<i64>().prop_map(RequestId::Integer),
        ".{0,10}".prop_map(RequestId::String),
    ]
}

/// `params` and `data` that are present are never JSON `null`: on the wire `"params": null` and an
/// absent `params` are the same thing, and the parser reads both as absent.
fn present(value: Value) -> Option<Value> {
    (!value.is_null()).then_some(value)
}

fn message() -> impl Strategy<Value = Message> {
    let method = "[a-zA-Z/_]{1,24}";
    prop_oneof![
        (request_id(), method, json()).prop_map(|(id, method, params)| {
            Message::Request(Request {
                id,
                method,
                params: present(params),
            })
        }),
        (method, json()).prop_map(|(method, params)| {
            Message::Notification(Notification {
                method,
                params: present(params),
            })
        }),
        (request_id(), json()).prop_map(|(id, result)| Message::Response(Response { id, result })),
        (
            prop::option::of(request_id()),
            any::<i64>(),
            ".{0,20}",
            json()
        )
            .prop_map(|(id, code, message, data)| {
                Message::Error(ErrorResponse {
                    id,
                    error: ErrorObject {
                        code: ErrorCode(code),
                        message,
                        data: present(data),
                    },
                })
            }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Message::parse(&bytes);
    }

    /// A written message cut short or with one byte changed: an error or a message, never a panic.
    #[test]
    fn damaged_lines_never_panic(message in message(), at in any::<usize>(), byte in any::<u8>()) {
        let line = message.to_line();
        let at = at % line.len();
        let _ = Message::parse(&line[..at]);
        let mut changed = line.clone();
        changed[at] = byte;
        let _ = Message::parse(&changed);
    }

    /// Valid JSON of any shape: a message only when the object's members say which kind it is.
    #[test]
    fn any_json_is_classified_by_its_members(value in prop_oneof![json(), envelope_like()]) {
        let has = |k: &str| value.get(k).is_some();
        let kind = match Message::from_value(value.clone()) {
            Ok(Message::Request(_)) => "request",
            Ok(Message::Notification(_)) => "notification",
            Ok(Message::Response(_)) => "response",
            Ok(Message::Error(_)) => "error response",
            Err(EnvelopeError::NotJson(e)) => panic!("a parsed value cannot be non-JSON: {e}"),
            Err(EnvelopeError::NotAMessage(_)) => "none",
            Err(EnvelopeError::Invalid { kind, .. }) => kind,
        };
        let want = if !value.is_object() {
            "none"
        } else if has("method") {
            if has("id") { "request" } else { "notification" }
        } else if has("error") {
            "error response"
        } else if has("id") && has("result") {
            "response"
        } else {
            "none"
        };
        prop_assert_eq!(kind, want);
    }

    /// Whatever codex-img writes toward Codex reads back as the same message, from one line.
    #[test]
    fn written_messages_read_back(message in message()) {
        let line = message.to_line();
        prop_assert_eq!(line.last(), Some(&b'\n'));
        prop_assert!(!line[..line.len() - 1].contains(&b'\n'), "one message is one line");
        let back = Message::parse(&line[..line.len() - 1]);
        prop_assert!(back.is_ok(), "{:?}", back);
        if let Ok(back) = back {
            prop_assert_eq!(back, message);
        }
    }

    /// A message with `"jsonrpc"` and unknown members, as some peers send, reads as the same message.
    #[test]
    fn unknown_members_are_ignored(message in message(), extra in json()) {
        let mut value = serde_json::to_value(&message).expect("serializes");
        if let Value::Object(map) = &mut value {
            map.insert("jsonrpc".to_owned(), Value::from("2.0"));
            map.insert("x_unknown".to_owned(), extra);
        }
        let back = Message::from_value(value);
        prop_assert!(back.is_ok(), "{:?}", back);
        if let Ok(back) = back {
            prop_assert_eq!(back, message);
        }
    }
}

/// The one asymmetry the round trip avoids, pinned: `"params": null` reads as no params.
#[test]
fn null_params_read_as_absent() {
    let parsed = Message::parse(br#"{"method":"x","params":null}"#).map_err(|e| e.to_string());
    assert_eq!(
        parsed,
        Ok(Message::Notification(Notification {
            method: "x".into(),
            params: None,
        }))
    );
}
