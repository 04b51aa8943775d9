//! One server entry of an agent's MCP configuration, as ordered fields, and its three spellings: JSON
//! for comparing, the JSONC editor's input and a TOML table.

use serde_json::{json, Value};

/// A field's value: all an MCP server entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    Number(u64),
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

/// A server entry: its fields in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub fields: Vec<(&'static str, Field)>,
}

impl Entry {
    pub fn with(mut self, key: &'static str, value: Field) -> Self {
        self.fields.push((key, value));
        self
    }

    /// The entry as JSON, for comparing with what a config already holds.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        for (key, field) in &self.fields {
            let value = match field {
                Field::Text(s) => json!(s),
                Field::Number(n) => json!(n),
                Field::List(items) => json!(items),
                Field::Map(pairs) => {
                    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
                }
            };
            object.insert((*key).to_owned(), value);
        }
        Value::Object(object)
    }

    /// The entry as the JSONC editor's input, fields in order.
    pub fn to_cst(&self) -> jsonc_parser::cst::CstInputValue {
        use jsonc_parser::cst::CstInputValue as V;
        V::Object(
            self.fields
                .iter()
                .map(|(key, field)| {
                    let value = match field {
                        Field::Text(s) => V::String(s.clone()),
                        Field::Number(n) => V::Number(n.to_string()),
                        Field::List(items) => {
                            V::Array(items.iter().map(|i| V::String(i.clone())).collect())
                        }
                        Field::Map(pairs) => V::Object(
                            pairs
                                .iter()
                                .map(|(k, v)| (k.clone(), V::String(v.clone())))
                                .collect(),
                        ),
                    };
                    ((*key).to_owned(), value)
                })
                .collect(),
        )
    }

    /// The entry as a TOML table (`[mcp_servers.NAME]`), a map as an inline table.
    pub fn to_toml(&self) -> toml_edit::Table {
        let mut table = toml_edit::Table::new();
        for (key, field) in &self.fields {
            let value: toml_edit::Value = match field {
                Field::Text(s) => s.as_str().into(),
                Field::Number(n) => i64::try_from(*n).unwrap_or(i64::MAX).into(),
                Field::List(items) => items
                    .iter()
                    .map(String::as_str)
                    .collect::<toml_edit::Array>()
                    .into(),
                Field::Map(pairs) => {
                    let mut inline = toml_edit::InlineTable::new();
                    for (k, v) in pairs {
                        inline.insert(k, v.as_str().into());
                    }
                    inline.into()
                }
            };
            table.insert(key, toml_edit::Item::Value(value));
        }
        table
    }
}

/// A TOML item as JSON, for comparing an existing `[mcp_servers.NAME]` with an [`Entry`]; `None` for
/// what an entry never holds (dates, floats).
pub fn toml_to_json(item: &toml_edit::Item) -> Option<Value> {
    match item {
        toml_edit::Item::Value(value) => toml_value_to_json(value),
        toml_edit::Item::Table(table) => table_to_json(table.iter()),
        _ => None,
    }
}

fn toml_value_to_json(value: &toml_edit::Value) -> Option<Value> {
    Some(match value {
        toml_edit::Value::String(s) => json!(s.value()),
        toml_edit::Value::Integer(i) => json!(i.value()),
        toml_edit::Value::Boolean(b) => json!(b.value()),
        toml_edit::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(toml_value_to_json)
                .collect::<Option<Vec<_>>>()?,
        ),
        toml_edit::Value::InlineTable(table) => {
            let mut object = serde_json::Map::new();
            for (k, v) in table.iter() {
                object.insert(k.to_owned(), toml_value_to_json(v)?);
            }
            Value::Object(object)
        }
        _ => return None,
    })
}

fn table_to_json<'a>(items: impl Iterator<Item = (&'a str, &'a toml_edit::Item)>) -> Option<Value> {
    let mut object = serde_json::Map::new();
    for (k, v) in items {
        object.insert(k.to_owned(), toml_to_json(v)?);
    }
    Some(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn sample() -> Entry {
        Entry::default()
            .with("command", Field::Text("npx".into()))
            .with("args", Field::List(vec!["-y".into(), "codex-img".into()]))
            .with("env", Field::Map(vec![("A".into(), "b".into())]))
            .with("tool_timeout_sec", Field::Number(300))
    }

    #[test]
    fn the_toml_spelling_reads_back_as_the_same_json() {
        let mut doc = toml_edit::DocumentMut::new();
        doc.insert("x", toml_edit::Item::Table(sample().to_toml()));
        assert_eq!(
            doc.to_string(),
            "[x]\ncommand = \"npx\"\nargs = [\"-y\", \"codex-img\"]\nenv = { A = \"b\" }\ntool_timeout_sec = 300\n"
        );
        assert_eq!(toml_to_json(&doc["x"]), Some(sample().to_json()));
    }

    #[test]
    fn json_keeps_every_field() {
        assert_eq!(
            sample().to_json(),
            json!({"command": "npx", "args": ["-y", "codex-img"], "env": {"A": "b"}, "tool_timeout_sec": 300})
        );
    }
}
