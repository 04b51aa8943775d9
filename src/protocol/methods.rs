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

macro_rules! client_requests {
    ($($marker:ident => $method:literal, $params:ty, $response:ty;)*) => {
        /// Marker types for the requests codex-img sends.
        pub mod request {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("`", $method, "`")]
                #[derive(Debug)]
                pub enum $marker {}
                impl $crate::protocol::ClientRequest for $marker {
                    const METHOD: &'static str = $method;
                    type Params = $params;
                    type Response = $response;
                }
            )*
        }

        /// Every request codex-img sends: method, params type, response type.
        pub const CLIENT_REQUESTS: &[$crate::protocol::MethodEntry] = &[
            $($crate::protocol::MethodEntry {
                method: $method,
                params: stringify!($params),
                response: stringify!($response),
            },)*
        ];
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
        /// A notification from the app-server.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ServerNotification {
            $(#[doc = concat!("`", $method, "`")] $variant($params),)*
            /// A method codex-img does not model (see [`IGNORED_SERVER_NOTIFICATIONS`]) or does not know.
            Unrecognized {
                /// The method name, as sent.
                method: String,
                /// The params, as sent.
                params: serde_json::Value,
            },
        }

        impl ServerNotification {
            /// The methods decoded into typed variants.
            pub const MODELLED: &'static [&'static str] = &[$($method),*];

            /// Decodes a notification's params by its method.
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
        /// A request from the app-server. Every one must be answered, or the turn waiting on it hangs.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ServerRequest {
            $(#[doc = concat!("`", $method, "`")] $variant($params),)*
            /// A method this codex-img does not know: it is answered with -32601.
            Unrecognized {
                /// The method name, as sent.
                method: String,
                /// The params, as sent.
                params: serde_json::Value,
            },
        }

        impl ServerRequest {
            /// Every server request method in the pinned bundle.
            pub const MODELLED: &'static [&'static str] = &[$($method),*];

            /// Decodes a request's params by its method.
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

        /// Marker types for the requests the app-server sends, tying each to its response type.
        pub mod server_request {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[doc = concat!("`", $method, "`")]
                #[derive(Debug)]
                pub enum $variant {}
                impl $crate::protocol::ServerRequestMethod for $variant {
                    const METHOD: &'static str = $method;
                    type Params = $params;
                    type Response = $response;
                }
            )*
        }

        /// Every server request: method, params type, response type.
        pub const SERVER_REQUESTS: &[$crate::protocol::MethodEntry] = &[
            $($crate::protocol::MethodEntry {
                method: $method,
                params: stringify!($params),
                response: stringify!($response),
            },)*
        ];
    };
}

pub(crate) use {client_notifications, client_requests, server_notifications, server_requests};
