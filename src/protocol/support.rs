//! The three union patterns the generated types use, as macros, so `generated.rs` stays declarative.
//!
//! Each pattern is tolerant by construction: an open enum keeps an unknown string in `Unrecognized`, and a union keeps an
//! unknown tag or key as raw JSON in `Unrecognized`. Codex adds values in almost every release, and a decoder that
//! failed on them would turn a new release into a hang or a lost image.

use serde_json::Value;

/// A string enum that keeps values it does not know in `Unknown`.
macro_rules! open_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("Wire value `\"", $wire, "\"`.")] $variant,)*
            /// A value this codex-img does not know, as sent.
            Unrecognized(String),
        }

        impl $name {
            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unrecognized(s) => s,
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($wire => Self::$variant,)*
                    other => Self::Unrecognized(other.to_owned()),
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(s.parse().unwrap_or_else(|never: ::std::convert::Infallible| match never {}))
            }
        }
    };
}

/// Objects told apart by a tag property; unknown tags decode into `Unrecognized(Value)`.
macro_rules! tagged_union {
    ($name:ident, $tag:literal, { $($wire:literal => $variant:ident),* $(,)? }) => {
        impl $name {
            /// Every tag this type models.
            pub const TAGS: &'static [&'static str] = &[$($wire),*];
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(inner) => $crate::protocol::support::with_tag(s, $tag, $wire, inner),)*
                    Self::Unrecognized(raw) => serde::Serialize::serialize(raw, s),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = serde_json::Value::deserialize(d)?;
                match raw.get($tag).and_then(serde_json::Value::as_str) {
                    $(Some($wire) => $crate::protocol::support::decode(raw, $wire).map(Self::$variant),)*
                    _ => Ok(Self::Unrecognized(raw)),
                }
            }
        }
    };
}

/// Strings and single-key objects (`"decline"`, `{"httpConnectionFailed": {...}}`); anything else
/// decodes into `Unrecognized(Value)`.
macro_rules! external_union {
    ($name:ident, { $($unit_wire:literal => $unit:ident),* $(,)? }, { $($obj_wire:literal => $obj:ident),* $(,)? }) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$unit => s.serialize_str($unit_wire),)*
                    $(Self::$obj(inner) => {
                        use serde::ser::SerializeMap as _;
                        let mut map = s.serialize_map(Some(1))?;
                        map.serialize_entry($obj_wire, inner)?;
                        map.end()
                    })*
                    Self::Unrecognized(raw) => serde::Serialize::serialize(raw, s),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = serde_json::Value::deserialize(d)?;
                #[allow(unused_variables)]
                let key = $crate::protocol::support::single_key(&raw);
                match raw.as_str() {
                    $(Some($unit_wire) => return Ok(Self::$unit),)*
                    _ => {}
                }
                match key {
                    $(Some($obj_wire) => $crate::protocol::support::decode_entry(raw, $obj_wire).map(Self::$obj),)*
                    _ => Ok(Self::Unrecognized(raw)),
                }
            }
        }
    };
}

pub(crate) use {external_union, open_enum, tagged_union};

/// Serializes `inner` (an object) with `tag: wire` added.
pub(crate) fn with_tag<S: serde::Serializer, T: serde::Serialize>(
    s: S,
    tag: &str,
    wire: &str,
    inner: &T,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    let mut value = serde_json::to_value(inner).map_err(S::Error::custom)?;
    match value.as_object_mut() {
        Some(map) => {
            map.insert(tag.to_owned(), Value::String(wire.to_owned()));
        }
        None => {
            return Err(S::Error::custom(format!(
                "`{wire}` must serialize to an object"
            )))
        }
    }
    serde::Serialize::serialize(&value, s)
}

/// Decodes a known variant, naming it in the error.
pub(crate) fn decode<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    raw: Value,
    wire: &str,
) -> Result<T, E> {
    serde_json::from_value(raw).map_err(|e| E::custom(format!("`{wire}`: {e}")))
}

/// The key of a one-entry object.
pub(crate) fn single_key(raw: &Value) -> Option<&str> {
    match raw.as_object() {
        Some(map) if map.len() == 1 => map.keys().next().map(String::as_str),
        _ => None,
    }
}

/// Decodes the value of a one-entry object.
pub(crate) fn decode_entry<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    raw: Value,
    key: &str,
) -> Result<T, E> {
    match raw {
        Value::Object(mut map) => decode(map.remove(key).unwrap_or(Value::Null), key),
        _ => Err(E::custom(format!("`{key}`: expected an object"))),
    }
}

/// Decodes `null` as the type's default: some releases send `null` where the schema's list is absent.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}
