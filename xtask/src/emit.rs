//! Turning the manifest's definitions into Rust source.
//!
//! Tolerance is decided here, once: a field is required only when both the pinned bundle and the floor
//! release's bundle require it and it is not nullable; every union gets an `Unrecognized(Value)` fallback; every
//! string enum is open. Sent params may only carry fields the floor release knows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::manifest::{self, Ty};
use crate::schema::{self, Bundle, Shape};

pub struct Emitter<'a> {
    pinned: &'a Bundle,
    floor: &'a Bundle,
    /// Emitted type name -> definition path.
    emitted: BTreeMap<String, String>,
    out: String,
}

const VALUE: &str = "serde_json::Value";

impl<'a> Emitter<'a> {
    pub fn new(pinned: &'a Bundle, floor: &'a Bundle) -> Result<Self, String> {
        let mut emitted = BTreeMap::new();
        for ty in manifest::TYPES {
            pinned.expect(ty.path)?;
            if emitted
                .insert(schema::type_name(ty.path).to_owned(), ty.path.to_owned())
                .is_some()
            {
                return Err(format!(
                    "two manifest entries are named `{}`",
                    schema::type_name(ty.path)
                ));
            }
        }
        Ok(Self {
            pinned,
            floor,
            emitted,
            out: String::new(),
        })
    }

    pub fn run(mut self, header: &str) -> Result<String, String> {
        self.out.push_str(header);
        for ty in manifest::TYPES {
            self.emit_type(ty)?;
        }
        self.check_sent_params()?;
        self.emit_methods()?;
        Ok(self.out)
    }

    fn emit_type(&mut self, ty: &Ty) -> Result<(), String> {
        let name = schema::type_name(ty.path).to_owned();
        let def = self.pinned.expect(ty.path)?;
        let floor = self.floor.def(ty.path);
        match schema::classify(ty.path, def)? {
            Shape::Struct => self.emit_struct(&name, def, floor, ty.only, None),
            Shape::OpenEnum(values) => {
                self.emit_open_enum(&name, def, &values, ty.only);
                Ok(())
            }
            Shape::Tagged(alts) => self.emit_tagged(&name, def, &alts, floor, ty.only),
            Shape::External(alts) => self.emit_external(&name, def, &alts, ty.only),
        }
    }

    fn emit_struct(
        &mut self,
        name: &str,
        def: &Value,
        floor: Option<&Value>,
        only: Option<&[&str]>,
        skip: Option<&str>,
    ) -> Result<(), String> {
        let props = schema::properties(def);
        if let Some(only) = only {
            if let Some(missing) = only.iter().find(|k| !props.iter().any(|(p, _, _)| p == *k)) {
                return Err(format!("`{name}` has no property `{missing}`"));
            }
        }
        let mut fields = String::new();
        let mut defaultable = true;
        for (wire, prop, required) in props {
            if Some(wire) == skip || only.is_some_and(|o| !o.contains(&wire)) {
                continue;
            }
            let (ty, nullable) = self.rust_type(prop)?;
            let floor_requires = floor.is_none_or(|f| schema::requires(f, wire));
            let required = required && !nullable && floor_requires;
            doc_or(&mut fields, prop, "    ", &format!("Wire field `{wire}`."));
            let field = field_name(wire);
            let rename = if field.trim_start_matches("r#") == wire {
                String::new()
            } else {
                format!("rename = \"{wire}\", ")
            };
            if required {
                defaultable &= is_defaultable(&ty);
                if !rename.is_empty() {
                    let _ = writeln!(fields, "    #[serde({})]", rename.trim_end_matches(", "));
                }
                let _ = writeln!(fields, "    pub {field}: {ty},");
            } else if ty.starts_with("Vec<") {
                // Releases send `null` for absent lists (0.160's `agentMessage.questions`), which
                // `default` alone does not accept.
                let _ = writeln!(
                    fields,
                    "    #[serde({rename}default, deserialize_with = \"super::support::null_as_default\", skip_serializing_if = \"Vec::is_empty\")]"
                );
                let _ = writeln!(fields, "    pub {field}: {ty},");
            } else {
                let _ = writeln!(
                    fields,
                    "    #[serde({rename}default, skip_serializing_if = \"Option::is_none\")]"
                );
                let _ = writeln!(fields, "    pub {field}: Option<{ty}>,");
            }
        }
        doc_or(&mut self.out, def, "", &format!("Wire object `{name}`."));
        let default = if defaultable { "Default, " } else { "" };
        let _ = writeln!(
            self.out,
            "#[derive(Debug, Clone, {default}PartialEq, Serialize, Deserialize)]\npub struct {name} {{\n{fields}}}\n"
        );
        Ok(())
    }

    fn emit_open_enum(
        &mut self,
        name: &str,
        def: &Value,
        values: &[String],
        only: Option<&[&str]>,
    ) {
        self.out.push_str("open_enum! {\n");
        doc_or(
            &mut self.out,
            def,
            "    ",
            &format!("Wire string `{name}`, open to values this release does not know."),
        );
        let _ = writeln!(self.out, "    pub enum {name} {{");
        for v in values
            .iter()
            .filter(|v| only.is_none_or(|o| o.contains(&v.as_str())))
        {
            let _ = writeln!(self.out, "        {} => \"{v}\",", pascal(v));
        }
        self.out.push_str("    }\n}\n\n");
    }

    fn emit_tagged(
        &mut self,
        name: &str,
        def: &Value,
        alts: &[&Value],
        floor: Option<&Value>,
        only: Option<&[&str]>,
    ) -> Result<(), String> {
        let mut variants = Vec::new();
        for alt in alts {
            let tag = alt
                .pointer("/properties/type/enum/0")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if only.is_some_and(|o| !o.contains(&tag)) {
                continue;
            }
            let struct_name = alt
                .get("title")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{}{name}", pascal(tag)), str::to_owned);
            variants.push((tag.to_owned(), pascal(tag), struct_name, *alt));
        }
        doc_or(
            &mut self.out,
            def,
            "",
            &format!("Wire union `{name}`, told apart by its `type` tag."),
        );
        let _ = writeln!(
            self.out,
            "#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{"
        );
        for (tag, variant, struct_name, alt) in &variants {
            doc(&mut self.out, alt, "    ");
            let _ = writeln!(
                self.out,
                "    /// Wire tag `{tag}`.\n    {variant}({struct_name}),"
            );
        }
        let _ = writeln!(
            self.out,
            "    /// A variant this codex-img does not model, kept as the raw JSON.\n    Unrecognized({VALUE}),\n}}\n"
        );
        let arms: Vec<String> = variants
            .iter()
            .map(|(t, v, _, _)| format!("\"{t}\" => {v}"))
            .collect();
        let _ = writeln!(
            self.out,
            "tagged_union!({name}, \"type\", {{ {} }});\n",
            arms.join(", ")
        );
        let floor_alts = floor.and_then(schema::alternatives);
        for (tag, _, struct_name, alt) in variants {
            let floor_alt = floor_alts.and_then(|fa| {
                fa.iter().find(|a| {
                    a.pointer("/properties/type/enum/0").and_then(Value::as_str) == Some(&tag)
                })
            });
            // Properties declared on the union itself (`startedAtMs`) belong to every variant.
            let mut merged = alt.clone();
            if let (Some(own), Some(shared)) = (
                merged.get_mut("properties").and_then(Value::as_object_mut),
                def.get("properties").and_then(Value::as_object),
            ) {
                for (k, v) in shared {
                    own.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            self.emit_struct(&struct_name, &merged, floor_alt, None, Some("type"))?;
        }
        Ok(())
    }

    fn emit_external(
        &mut self,
        name: &str,
        def: &Value,
        alts: &[&Value],
        only: Option<&[&str]>,
    ) -> Result<(), String> {
        let keep = |k: &str| only.is_none_or(|o| o.contains(&k));
        let mut units = Vec::new();
        let mut objects = Vec::new();
        for alt in alts {
            if let Some(key) = schema::single_key(alt) {
                if keep(key) {
                    let inner_name = alt
                        .get("title")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("{}{name}", pascal(key)), str::to_owned);
                    objects.push((key.to_owned(), inner_name, *alt));
                }
            } else {
                let values = alt
                    .get("enum")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                for v in values.filter_map(Value::as_str).filter(|v| keep(v)) {
                    units.push((v.to_owned(), *alt));
                }
            }
        }
        doc_or(
            &mut self.out,
            def,
            "",
            &format!("Wire union `{name}`: a string or a single-key object."),
        );
        let _ = writeln!(
            self.out,
            "#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{"
        );
        for (v, alt) in &units {
            doc(&mut self.out, alt, "    ");
            let _ = writeln!(
                self.out,
                "    /// Wire value `\"{v}\"`.\n    {},",
                pascal(v)
            );
        }
        for (key, inner, alt) in &objects {
            doc(&mut self.out, alt, "    ");
            let _ = writeln!(
                self.out,
                "    /// Wire object `{{\"{key}\": ...}}`.\n    {}({inner}),",
                pascal(key)
            );
        }
        let _ = writeln!(
            self.out,
            "    /// A value this codex-img does not model, kept as the raw JSON.\n    Unrecognized({VALUE}),\n}}\n"
        );
        let unit_arms: Vec<String> = units
            .iter()
            .map(|(v, _)| format!("\"{v}\" => {}", pascal(v)))
            .collect();
        let obj_arms: Vec<String> = objects
            .iter()
            .map(|(k, _, _)| format!("\"{k}\" => {}", pascal(k)))
            .collect();
        let _ = writeln!(
            self.out,
            "external_union!({name}, {{ {} }}, {{ {} }});\n",
            unit_arms.join(", "),
            obj_arms.join(", ")
        );
        for (key, inner, alt) in objects {
            let body = alt
                .pointer(&format!("/properties/{key}"))
                .ok_or("missing inner object")?;
            self.emit_struct(&inner, body, None, None, None)?;
        }
        Ok(())
    }

    /// The Rust type of a property schema, and whether the schema allows `null`.
    fn rust_type(&self, s: &Value) -> Result<(String, bool), String> {
        if let Some(path) = schema::ref_path(s) {
            return Ok((self.named(path)?, false));
        }
        if let Some(alts) = schema::alternatives(s) {
            let non_null: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type") != Some(&"null".into()))
                .collect();
            return match non_null.as_slice() {
                [one] => Ok((self.rust_type(one)?.0, non_null.len() < alts.len())),
                _ => Ok((VALUE.to_owned(), false)),
            };
        }
        if let Some([one]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            return self.rust_type(one);
        }
        match s.get("type") {
            Some(Value::String(t)) => Ok((self.primitive(t, s)?, false)),
            Some(Value::Array(ts)) => {
                let non_null: Vec<&str> = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                let nullable = non_null.len() < ts.len();
                match non_null.as_slice() {
                    [one] => Ok((self.primitive(one, s)?, nullable)),
                    _ => Ok((VALUE.to_owned(), nullable)),
                }
            }
            _ => Ok((VALUE.to_owned(), false)),
        }
    }

    fn primitive(&self, t: &str, s: &Value) -> Result<String, String> {
        Ok(match t {
            "string" => "String".to_owned(),
            "boolean" => "bool".to_owned(),
            "number" => "f64".to_owned(),
            "integer" => match s.get("format").and_then(Value::as_str) {
                Some("int32") => "i32",
                Some("uint16") => "u16",
                Some("uint32") => "u32",
                Some("uint64") | Some("uint") => "u64",
                _ => "i64",
            }
            .to_owned(),
            "array" => match s.get("items") {
                Some(items) => format!("Vec<{}>", self.rust_type(items)?.0),
                None => format!("Vec<{VALUE}>"),
            },
            _ => VALUE.to_owned(),
        })
    }

    /// A referenced definition: its emitted name, the primitive it aliases, or raw JSON.
    fn named(&self, path: &str) -> Result<String, String> {
        let name = schema::type_name(path);
        if self.emitted.contains_key(name) {
            return Ok(name.to_owned());
        }
        let def = self.pinned.expect(path)?;
        match def.get("type").and_then(Value::as_str) {
            Some(t @ ("string" | "integer" | "boolean" | "number"))
                if def.get("enum").is_none() =>
            {
                self.primitive(t, def)
            }
            Some("string") => Ok("String".to_owned()),
            _ => Ok(VALUE.to_owned()),
        }
    }

    /// Params that codex-img sends must carry only fields that the floor release accepts: an unknown
    /// field is rejected by older servers (`-32600 unknown variant`), which would break the floor.
    fn check_sent_params(&self) -> Result<(), String> {
        for (method, _, params, _) in manifest::CLIENT_REQUESTS {
            let Some(path) = self.emitted.get(*params) else {
                continue;
            };
            let (Some(floor), Some(ty)) = (
                self.floor.def(path),
                manifest::TYPES.iter().find(|t| t.path == path),
            ) else {
                continue;
            };
            let floor_props = schema::properties(floor);
            for (wire, _, _) in schema::properties(self.pinned.expect(path)?) {
                if ty.only.is_none_or(|o| o.contains(&wire))
                    && !floor_props.iter().any(|(k, _, _)| *k == wire)
                {
                    return Err(format!(
                        "`{method}` would send `{params}.{wire}`, which the floor release does not know; drop it from the manifest or gate it by version"
                    ));
                }
            }
        }
        Ok(())
    }

    /// No request with side effects on the user's Codex config may ever be in the sent table.
    fn check_no_side_effects(&self) -> Result<(), String> {
        refuse_side_effects(manifest::CLIENT_REQUESTS.iter().map(|(m, _, _, _)| *m))
    }

    fn emit_methods(&mut self) -> Result<(), String> {
        self.check_no_side_effects()?;
        let bundle_requests = self.pinned.methods("ClientRequest")?;
        self.out.push_str("client_requests! {\n");
        for (method, marker, params, response) in manifest::CLIENT_REQUESTS {
            let (_, schema_params) = bundle_requests
                .iter()
                .find(|(m, _)| m == method)
                .ok_or_else(|| format!("the bundle has no client request `{method}`"))?;
            let declared = schema_params
                .map(|p| self.rust_type(p))
                .transpose()?
                .map(|(t, _)| t);
            if *params != "()" && declared.as_deref() != Some(*params) {
                return Err(format!(
                    "`{method}` takes {declared:?} in the bundle, not `{params}`"
                ));
            }
            self.ensure_emitted(response)?;
            let _ = writeln!(
                self.out,
                "    {marker} => \"{method}\", {params}, {response};"
            );
        }
        self.out.push_str("}\n\nclient_notifications! {\n");
        for (method, marker) in manifest::CLIENT_NOTIFICATIONS {
            let _ = writeln!(self.out, "    {marker} => \"{method}\";");
        }
        self.out.push_str("}\n\n");

        let bundle_notifications = self.pinned.methods("ServerNotification")?;
        let known = |m: &str| {
            manifest::SERVER_NOTIFICATIONS.iter().any(|(k, _)| *k == m)
                || manifest::IGNORED_NOTIFICATIONS.contains(&m)
        };
        let unlisted: Vec<&str> = bundle_notifications
            .iter()
            .map(|(m, _)| m.as_str())
            .filter(|m| !known(m))
            .collect();
        if !unlisted.is_empty() {
            return Err(format!(
                "server notifications neither modelled nor ignored in xtask/src/manifest.rs: {unlisted:?}"
            ));
        }
        self.out.push_str("server_notifications! {\n");
        for (method, variant) in manifest::SERVER_NOTIFICATIONS {
            let params = self.params_of(&bundle_notifications, method)?;
            let _ = writeln!(self.out, "    {variant} => \"{method}\", {params};");
        }
        self.out.push_str("}\n\n/// Server notifications deliberately decoded as `ServerNotification::Unrecognized`.\n");
        let _ = writeln!(
            self.out,
            "pub const IGNORED_SERVER_NOTIFICATIONS: &[&str] = &[{}];\n",
            manifest::IGNORED_NOTIFICATIONS
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );

        let bundle_server_requests = self.pinned.methods("ServerRequest")?;
        let unlisted: Vec<&str> = bundle_server_requests
            .iter()
            .map(|(m, _)| m.as_str())
            .filter(|m| !manifest::SERVER_REQUESTS.iter().any(|(k, _)| k == m))
            .collect();
        if !unlisted.is_empty() {
            return Err(format!(
                "server requests not modelled in xtask/src/manifest.rs: {unlisted:?}"
            ));
        }
        self.out.push_str("server_requests! {\n");
        for (method, variant) in manifest::SERVER_REQUESTS {
            let params = self.params_of(&bundle_server_requests, method)?;
            let response = params.replace("Params", "Response");
            self.ensure_emitted(&response)?;
            let _ = writeln!(
                self.out,
                "    {variant} => \"{method}\", {params}, {response};"
            );
        }
        self.out.push_str("}\n");
        Ok(())
    }

    fn params_of(
        &self,
        methods: &[(String, Option<&Value>)],
        method: &str,
    ) -> Result<String, String> {
        let (_, params) = methods
            .iter()
            .find(|(m, _)| m == method)
            .ok_or_else(|| format!("the bundle has no server method `{method}`"))?;
        let ty = params
            .map(|p| self.rust_type(p))
            .transpose()?
            .map(|(t, _)| t)
            .unwrap_or_default();
        self.ensure_emitted(&ty)?;
        Ok(ty)
    }

    fn ensure_emitted(&self, name: &str) -> Result<(), String> {
        if self.emitted.contains_key(name) {
            Ok(())
        } else {
            Err(format!(
                "`{name}` is used by a method but not listed in manifest::TYPES"
            ))
        }
    }
}

/// Fails on the first method that [`manifest::forbidden_to_send`] refuses.
fn refuse_side_effects<'m>(methods: impl IntoIterator<Item = &'m str>) -> Result<(), String> {
    match methods.into_iter().find(|m| manifest::forbidden_to_send(m)) {
        Some(method) => Err(format!(
            "`{method}` changes the user's own Codex setup (config.toml, skills, plugins, files or credit); codex-img must never send it: remove it from manifest::CLIENT_REQUESTS"
        )),
        None => Ok(()),
    }
}

fn is_defaultable(ty: &str) -> bool {
    matches!(
        ty,
        "String" | "bool" | "i32" | "i64" | "u16" | "u32" | "u64" | "f64" | VALUE
    ) || ty.starts_with("Vec<")
}

/// The schema's `description` as doc lines, or `fallback` when it has none, so every public item the
/// generator writes is documented (the crate warns on missing docs).
fn doc_or(out: &mut String, schema: &Value, indent: &str, fallback: &str) {
    if !doc(out, schema, indent) {
        let _ = writeln!(out, "{indent}/// {fallback}");
    }
}

/// Writes the schema's `description` as doc lines; whether it had one.
fn doc(out: &mut String, schema: &Value, indent: &str) -> bool {
    let text = schema
        .get("description")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty());
    if let Some(text) = text {
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                let _ = writeln!(out, "{indent}///");
            } else {
                let _ = writeln!(
                    out,
                    "{indent}/// {}",
                    line.replace('[', "\\[").replace(']', "\\]")
                );
            }
        }
    }
    text.is_some()
}

/// `threadId` -> `thread_id`; `type` -> `kind`; keywords are escaped.
fn field_name(wire: &str) -> String {
    let mut out = String::new();
    for (i, c) in wire.trim_start_matches('_').chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    match out.as_str() {
        "type" => "kind".to_owned(),
        "ref" | "self" | "move" | "match" | "use" | "mod" | "fn" | "loop" | "in" | "as" => {
            format!("r#{out}")
        }
        _ => out,
    }
}

/// `on-request` / `approved_for_session` / `inProgress` -> `OnRequest` / `ApprovedForSession` / `InProgress`.
fn pascal(wire: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in wire.chars() {
        if c == '-' || c == '_' || c == '/' || c == '.' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(field_name("threadId"), "thread_id");
        assert_eq!(field_name("type"), "kind");
        assert_eq!(field_name("_meta"), "meta");
        assert_eq!(field_name("text_elements"), "text_elements");
        assert_eq!(pascal("on-request"), "OnRequest");
        assert_eq!(pascal("approved_for_session"), "ApprovedForSession");
        assert_eq!(pascal("inProgress"), "InProgress");
    }

    #[test]
    fn every_item_gets_a_doc_line() {
        let mut out = String::new();
        doc_or(&mut out, &serde_json::json!({}), "    ", "Wire field `x`.");
        doc_or(
            &mut out,
            &serde_json::json!({"description": "  "}),
            "",
            "Wire object `Y`.",
        );
        doc_or(
            &mut out,
            &serde_json::json!({"description": "See [the docs].\n\nMore."}),
            "",
            "unused",
        );
        assert_eq!(
            out,
            "    /// Wire field `x`.\n/// Wire object `Y`.\n/// See \\[the docs\\].\n///\n/// More.\n"
        );
    }

    #[test]
    fn the_sent_table_refuses_config_writers() {
        for method in [
            "modelProvider/default/set",
            "config/value/write",
            "config/batchWrite",
            "modelProvider/config/write",
            "future/thing/set",
        ] {
            let err = refuse_side_effects(["initialize", method]).unwrap_err();
            assert!(err.contains(method), "{err}");
        }
        assert_eq!(
            refuse_side_effects([
                "initialize",
                "turn/start",
                "modelProvider/capabilities/read"
            ]),
            Ok(())
        );
        // And the manifest as it stands passes.
        assert_eq!(
            refuse_side_effects(manifest::CLIENT_REQUESTS.iter().map(|(m, _, _, _)| *m)),
            Ok(())
        );
    }
}
