//! Reading the app-server JSON Schema bundle: definition lookup, `$ref` resolution, and the shape
//! classification the emitter works from.
//!
//! Only the patterns that the emitted types use are understood; anything else is an error that names
//! the definition, so a schema change that the generator cannot follow is loud, not silently wrong.

use serde_json::Value;

pub struct Bundle {
    root: Value,
}

/// What a definition is, as far as Rust is concerned.
pub enum Shape<'a> {
    /// An object: its own properties plus, merged in as optional, those of `anyOf` object alternatives.
    Struct,
    /// Only strings: every alternative is a string enum.
    OpenEnum(Vec<String>),
    /// Objects told apart by a `type` string.
    Tagged(Vec<&'a Value>),
    /// Strings and single-key objects (`"decline"` or `{"httpConnectionFailed": {...}}`).
    External(Vec<&'a Value>),
}

impl Bundle {
    pub fn parse(text: &str) -> Result<Self, String> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| format!("invalid schema JSON: {e}"))?;
        Ok(Self { root })
    }

    /// The definition at `path` (`v2/ThreadItem` or `InitializeParams`), if the bundle has it.
    pub fn def(&self, path: &str) -> Option<&Value> {
        path.split('/')
            .try_fold(self.root.get("definitions")?, |v, seg| v.get(seg))
    }

    pub fn expect(&self, path: &str) -> Result<&Value, String> {
        self.def(path)
            .ok_or_else(|| format!("definition `{path}` is not in the schema bundle"))
    }

    /// The method names of a method union such as `ServerNotification`, with each one's params schema.
    pub fn methods(&self, union: &str) -> Result<Vec<(String, Option<&Value>)>, String> {
        let alts =
            alternatives(self.expect(union)?).ok_or_else(|| format!("`{union}` is not a union"))?;
        alts.iter()
            .map(|alt| {
                let method = alt
                    .pointer("/properties/method/enum/0")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("an alternative of `{union}` has no method"))?;
                Ok((method.to_owned(), alt.pointer("/properties/params")))
            })
            .collect()
    }
}

/// `#/definitions/v2/Thread` -> `v2/Thread`.
pub fn ref_path(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

/// The Rust name of a definition: its last path segment.
pub fn type_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub fn alternatives(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()
}

fn string_enum(schema: &Value) -> Option<Vec<String>> {
    schema
        .get("enum")?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The one key of an externally tagged object alternative.
pub fn single_key(alt: &Value) -> Option<&str> {
    match alt.get("required")?.as_array()?.as_slice() {
        [Value::String(k)] if alt.pointer("/properties")?.as_object()?.len() == 1 => Some(k),
        _ => None,
    }
}

/// The catch-all alternative some unions end with (`{"type": ["string", "object"]}`): it is what the
/// generated fallback variant already covers.
fn is_catch_all(alt: &Value) -> bool {
    alt.get("properties").is_none()
        && alt.get("enum").is_none()
        && alt.get("type").is_some_and(Value::is_array)
}

pub fn classify<'a>(path: &str, schema: &'a Value) -> Result<Shape<'a>, String> {
    if let Some(values) = string_enum(schema) {
        return Ok(Shape::OpenEnum(values));
    }
    if let Some(alts) = alternatives(schema) {
        let alts: Vec<&Value> = alts.iter().filter(|a| !is_catch_all(a)).collect();
        if alts.iter().all(|a| string_enum(a).is_some()) {
            return Ok(Shape::OpenEnum(
                alts.iter()
                    .filter_map(|a| string_enum(a))
                    .flatten()
                    .collect(),
            ));
        }
        if alts
            .iter()
            .all(|a| a.pointer("/properties/type/enum/0").is_some())
        {
            return Ok(Shape::Tagged(alts));
        }
    }
    // An object whose `anyOf` alternatives only add properties (`result` or `fileId`) is one struct.
    if schema.get("properties").is_some() {
        return Ok(Shape::Struct);
    }
    if let Some(alts) = alternatives(schema) {
        let alts: Vec<&Value> = alts.iter().filter(|a| !is_catch_all(a)).collect();
        if alts
            .iter()
            .all(|a| string_enum(a).is_some() || single_key(a).is_some())
        {
            return Ok(Shape::External(alts));
        }
        return Err(format!(
            "`{path}`: a union the generator does not understand"
        ));
    }
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        return Ok(Shape::Struct);
    }
    Err(format!(
        "`{path}`: a shape the generator does not understand"
    ))
}

/// Every property of an object schema, including those of its `anyOf` object alternatives, with
/// whether the schema requires it. Alternative properties are never required: only one of them is there.
pub fn properties(schema: &Value) -> Vec<(&str, &Value, bool)> {
    let required = |s: &Value, k: &str| {
        s.get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == k))
    };
    let mut out: Vec<(&str, &Value, bool)> = Vec::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(
            props
                .iter()
                .map(|(k, v)| (k.as_str(), v, required(schema, k))),
        );
    }
    for alt in alternatives(schema).into_iter().flatten() {
        for (k, v) in alt
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if !out.iter().any(|(name, _, _)| name == k) {
                out.push((k.as_str(), v, false));
            }
        }
    }
    out
}

/// Whether `schema` requires property `key`.
pub fn requires(schema: &Value, key: &str) -> bool {
    properties(schema)
        .iter()
        .any(|(k, _, req)| *k == key && *req)
}
