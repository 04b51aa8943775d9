//! The JSON Schema bundles in `schemas/` as test oracles: validation against one definition, and the
//! members an instance carries that the definition does not declare.
//!
//! Shared by `protocol::conformance` (the protocol's own values) and
//! `src/session/conformance_tests.rs` (what the session builds), through `#[path]`, so both hold
//! codex-img to the same checks.
#![allow(dead_code)]

use std::path::Path;

use serde_json::{json, Value};

pub(crate) const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

pub(crate) struct Bundle {
    /// The release, for messages.
    pub name: String,
    /// Whether this is the pinned bundle (not the floor).
    pub pinned: bool,
    pub doc: Value,
}

impl Bundle {
    pub(crate) fn load(name: String, pinned: bool, relative: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self {
            name,
            pinned,
            doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    pub(crate) fn current() -> Self {
        let version = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/VERSION");
        let version = std::fs::read_to_string(&version)
            .unwrap_or_else(|e| panic!("{}: {e}", version.display()));
        Self::load(
            version.trim().to_owned(),
            true,
            "schemas/codex_app_server_protocol.schemas.json",
        )
    }

    pub(crate) fn floor() -> Self {
        Self::load(
            "0.122.0 floor".to_owned(),
            false,
            "schemas/floor/codex_app_server_protocol.schemas.json",
        )
    }

    /// The definition at `path` below `#/definitions/` (`v2/ThreadStartParams`), if the bundle has it.
    pub(crate) fn definition(&self, path: &str) -> Option<&Value> {
        self.doc["definitions"].pointer(&format!("/{path}"))
    }

    /// A validator for `#/definitions/<path>`, with the whole bundle's definitions in reach.
    pub(crate) fn validator(&self, path: &str) -> jsonschema::Validator {
        assert!(
            self.definition(path).is_some(),
            "{}: no #/definitions/{path}",
            self.name
        );
        let schema = json!({
            "$schema": DRAFT_07,
            "definitions": self.doc["definitions"],
            "allOf": [{"$ref": format!("#/definitions/{path}")}],
        });
        jsonschema::draft7::options()
            .build(&schema)
            .unwrap_or_else(|e| panic!("{}: cannot build a validator for {path}: {e}", self.name))
    }

    /// Validates `instance` against `#/definitions/<path>` and checks that it carries no member the
    /// definition does not declare.
    pub(crate) fn check(&self, label: &str, path: &str, instance: &Value) {
        let validator = self.validator(path);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("  {e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{label} does not validate against #/definitions/{path} in the {} bundle:\n{}\n{instance:#}",
            self.name,
            errors.join("\n")
        );
        let mut undeclared = Vec::new();
        let schema = json!({"$ref": format!("#/definitions/{path}")});
        self.undeclared(&schema, instance, String::new(), &mut undeclared);
        assert!(
            undeclared.is_empty(),
            "{label} carries members that #/definitions/{path} in the {} bundle does not declare: {undeclared:?}",
            self.name
        );
    }

    pub(crate) fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external $ref {r}"));
                self.resolve(
                    self.doc
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("{}: dangling {r}", self.name)),
                )
            }
            None => schema,
        }
    }

    /// The property schemas `schema` declares for `instance` (through `$ref`, `allOf`, and the `anyOf` /
    /// `oneOf` branches whose `type` tag, if any, matches the instance), and whether other members are allowed.
    pub(crate) fn declared<'a>(
        &'a self,
        schema: &'a Value,
        instance: &Value,
        out: &mut Vec<(&'a str, &'a Value)>,
    ) -> bool {
        let schema = self.resolve(schema);
        let mut open = matches!(
            schema.get("additionalProperties"),
            Some(Value::Bool(true)) | Some(Value::Object(_))
        );
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            out.extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            open |= self.declared(branch, instance, out);
        }
        let tag = instance.get("type").and_then(Value::as_str);
        for key in ["anyOf", "oneOf"] {
            for branch in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let resolved = self.resolve(branch);
                let tags = resolved
                    .pointer("/properties/type/enum")
                    .and_then(Value::as_array);
                let matches = match (tag, tags) {
                    (Some(tag), Some(tags)) => tags.iter().any(|t| t == tag),
                    _ => true,
                };
                if matches {
                    open |= self.declared(branch, instance, out);
                }
            }
        }
        open
    }

    pub(crate) fn undeclared(
        &self,
        schema: &Value,
        instance: &Value,
        at: String,
        out: &mut Vec<String>,
    ) {
        match instance {
            Value::Object(map) => {
                let mut declared = Vec::new();
                let open = self.declared(schema, instance, &mut declared);
                for (key, value) in map {
                    let schemas: Vec<&Value> = declared
                        .iter()
                        .filter(|(k, _)| k == key)
                        .map(|(_, s)| *s)
                        .collect();
                    if schemas.is_empty() && !open {
                        out.push(format!("{at}/{key}"));
                    }
                    // Check nested members against the first declaration that knows them.
                    if let Some(schema) = schemas.first() {
                        self.undeclared(schema, value, format!("{at}/{key}"), out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = self.items(schema) {
                    for (i, item) in items.iter().enumerate() {
                        self.undeclared(item_schema, item, format!("{at}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }

    pub(crate) fn items<'a>(&'a self, schema: &'a Value) -> Option<&'a Value> {
        let schema = self.resolve(schema);
        if let Some(items) = schema.get("items") {
            return Some(items);
        }
        ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten()
            .find_map(|branch| self.items(branch))
    }

    /// The `ClientRequest` variant of `method`, if this release knows it.
    pub(crate) fn client_request(&self, method: &str) -> Option<&Value> {
        self.doc["definitions"]["ClientRequest"]["oneOf"]
            .as_array()
            .expect("ClientRequest union")
            .iter()
            .find(|v| {
                v.pointer("/properties/method/enum/0")
                    .and_then(Value::as_str)
                    == Some(method)
            })
    }

    /// Every server request: method and the definition path of its params.
    pub(crate) fn server_requests(&self) -> Vec<(String, String)> {
        self.doc["definitions"]["ServerRequest"]["oneOf"]
            .as_array()
            .expect("ServerRequest union")
            .iter()
            .map(|v| {
                let method = v
                    .pointer("/properties/method/enum/0")
                    .and_then(Value::as_str)
                    .expect("method");
                let params = v
                    .pointer("/properties/params/$ref")
                    .and_then(Value::as_str)
                    .expect("params $ref");
                (
                    method.to_owned(),
                    params.trim_start_matches("#/definitions/").to_owned(),
                )
            })
            .collect()
    }
}
