//! The method table: each method string tied to its params and response types, in one declarative
//! invocation per direction (written by the generator, expanded by these macros).
//!
//! Client requests become marker types implementing [`ClientRequest`], so the session layer can send
//! `request::<TurnStart>(params)` and get a typed response back. Server notifications and server requests
//! become enums with an `Unrecognized` fallback that keeps the method and the raw params.

use serde::{de::DeserializeOwned, Serialize};

/// A request codex-img sends to the app-server.
pub trait ClientRequest {
    /// The method name on the wire.
    const METHOD: &'static str;
    /// What the request carries as `params` (`()` for none).
    type Params: Serialize;
    /// What a successful response's `result` decodes into.
    type Response: DeserializeOwned;
}

/// A request the app-server sends to codex-img, with the response it expects.
pub trait ServerRequestMethod {
    /// The method name on the wire.
    const METHOD: &'static str;
    /// What the request's `params` decode into.
    type Params: DeserializeOwned;
    /// What codex-img answers with.
    type Response: Serialize;
}

/// One row of a method table, for documentation and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodEntry {
    /// The method name on the wire.
    pub method: &'static str,
    /// The Rust params type, as written in the table.
    pub params: &'static str,
    /// The Rust response type, as written in the table.
    pub response: &'static str,
}

/// Marker types, one per method, each tying its method string to its params and response types.
macro_rules! method_markers {
    ($module:ident, $doc:literal, $trait:ident; $($marker:ident => $method:literal, $params:ty, $response:ty;)*) => {
        #[doc = $doc]
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("`", $method, "`")]
                #[derive(Debug)]
                pub enum $marker {}
                impl $crate::protocol::$trait for $marker {
                    const METHOD: &'static str = $method;
                    type Params = $params;
                    type Response = $response;
                }
            )*
        }
    };
}

/// A table of methods: method, params type, response type.
macro_rules! method_table {
    ($name:ident, $doc:literal; $($method:literal, $params:ty, $response:ty;)*) => {
        #[doc = $doc]
        pub const $name: &[$crate::protocol::MethodEntry] = &[
            $($crate::protocol::MethodEntry {
                method: $method,
                params: stringify!($params),
                response: stringify!($response),
            },)*
        ];
    };
}

/// A message the app-server sends, as an enum with one variant per method and an `Unrecognized`
/// fallback that keeps the method and the raw params; with the list of modelled methods, decoding by
/// method, and the method of a value.
macro_rules! incoming_enum {
    ($name:ident, $doc:literal, $unrecognized:literal; $($variant:ident => $method:literal, $params:ty;)*) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $(#[doc = concat!("`", $method, "`")] $variant($params),)*
            #[doc = $unrecognized]
            Unrecognized {
                /// The method name, as sent.
                method: String,
                /// The params, as sent.
                params: serde_json::Value,
            },
        }

        impl $name {
            /// The methods decoded into typed variants.
            pub const MODELLED: &'static [&'static str] = &[$($method),*];

            /// Decodes the params by the method.
            pub fn decode(method: &str, params: serde_json::Value) -> Result<Self, serde_json::Error> {
                match method {
                    $($method => serde_json::from_value(params).map(Self::$variant),)*
                    _ => Ok(Self::Unrecognized { method: method.to_owned(), params }),
                }
            }

            /// The method name on the wire.
            pub fn method(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $method,)*
                    Self::Unrecognized { method, .. } => method,
                }
            }
        }
    };
}

macro_rules! client_requests {
    ($($marker:ident => $method:literal, $params:ty, $response:ty;)*) => {
        $crate::protocol::methods::method_markers! {
            request, "Marker types for the requests codex-img sends.", ClientRequest;
            $($marker => $method, $params, $response;)*
        }
        $crate::protocol::methods::method_table! {
            CLIENT_REQUESTS, "Every request codex-img sends: method, params type, response type.";
            $($method, $params, $response;)*
        }
    };
}

macro_rules! client_notifications {
    ($($marker:ident => $method:literal;)*) => {
        /// Notifications codex-img sends.
        pub mod notification {
            $(
                #[doc = concat!("`", $method, "`")]
                pub const $marker: &str = $method;
            )*
        }
    };
}

macro_rules! server_notifications {
    ($($variant:ident => $method:literal, $params:ty;)*) => {
        $crate::protocol::methods::incoming_enum! {
            ServerNotification,
            "A notification from the app-server.",
            "A method codex-img does not model (see [`IGNORED_SERVER_NOTIFICATIONS`]) or does not know.";
            $($variant => $method, $params;)*
        }

        impl ServerNotification {
            /// The params as JSON (for writing the notification).
            pub fn params(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $(Self::$variant(p) => serde_json::to_value(p),)*
                    Self::Unrecognized { params, .. } => Ok(params.clone()),
                }
            }
        }
    };
}

macro_rules! server_requests {
    ($($variant:ident => $method:literal, $params:ty, $response:ty;)*) => {
        $crate::protocol::methods::incoming_enum! {
            ServerRequest,
            "A request from the app-server. Every one must be answered, or the turn waiting on it hangs.",
            "A method this codex-img does not know: it is answered with -32601.";
            $($variant => $method, $params;)*
        }
        $crate::protocol::methods::method_markers! {
            server_request,
            "Marker types for the requests the app-server sends, tying each to its response type.",
            ServerRequestMethod;
            $($variant => $method, $params, $response;)*
        }
        $crate::protocol::methods::method_table! {
            SERVER_REQUESTS, "Every server request: method, params type, response type.";
            $($method, $params, $response;)*
        }
    };
}

pub(crate) use {
    client_notifications, client_requests, incoming_enum, method_markers, method_table,
    server_notifications, server_requests,
};
