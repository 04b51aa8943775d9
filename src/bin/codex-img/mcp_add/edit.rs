//! Putting a server entry into a config file's text, keeping everything else the user wrote: comments,
//! order, layout and every other server. TOML (Codex) through toml_edit, JSON with comments (Cursor,
//! Gemini CLI, VS Code, Claude Code) through jsonc-parser's CST.

use std::path::Path;

use jsonc_parser::cst::CstRootNode;
use jsonc_parser::ParseOptions;
use serde_json::Value;

use super::entry::{toml_to_json, Entry};
use super::error::ConfigError;

/// What adding the entry does to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The same entry is already there.
    Unchanged,
    /// The entry is new: the file's new text.
    Added(String),
    /// A different entry of that name was replaced (`--force`): the file's new text.
    Replaced(String),
}

/// Adds `entry` as `[servers_key.name]` to a Codex `config.toml` (`text` is `None` for a new file).
pub fn toml(
    text: Option<&str>,
    file: &Path,
    servers_key: &str,
    name: &str,
    entry: &Entry,
    force: bool,
) -> Result<Change, ConfigError> {
    let mut doc: toml_edit::DocumentMut =
        text.unwrap_or("")
            .parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Invalid {
                file: file.to_path_buf(),
                what: "TOML",
                reason: e.to_string(),
            })?;
    let invalid = |reason: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        what: "a Codex config",
        reason,
    };
    let servers = doc
        .entry(servers_key)
        .or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            // `[mcp_servers.NAME]` alone, without an empty `[mcp_servers]` header above it.
            table.set_implicit(true);
            toml_edit::Item::Table(table)
        })
        .as_table_like_mut()
        .ok_or_else(|| invalid(format!("`{servers_key}` is not a table")))?;
    let replaced = match servers.get(name) {
        None => false,
        Some(existing) => {
            let existing_json = toml_to_json(existing);
            if existing_json.as_ref() == Some(&entry.to_json()) {
                return Ok(Change::Unchanged);
            }
            if !force {
                return Err(ConfigError::Exists {
                    file: file.to_path_buf(),
                    name: name.to_owned(),
                    existing: existing.to_string().trim().to_owned(),
                });
            }
            true
        }
    };
    servers.insert(name, toml_edit::Item::Table(entry.to_toml()));
    let text = doc.to_string();
    Ok(if replaced {
        Change::Replaced(text)
    } else {
        Change::Added(text)
    })
}

/// Adds `entry` as `servers_key.name` to a JSON (with comments) config (`text` is `None` for a new
/// file).
pub fn json(
    text: Option<&str>,
    file: &Path,
    servers_key: &str,
    name: &str,
    entry: &Entry,
    force: bool,
) -> Result<Change, ConfigError> {
    let source = match text {
        Some(t) if !t.trim().is_empty() => t,
        _ => "{}\n",
    };
    let invalid = |reason: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        what: "JSON",
        reason,
    };
    let root =
        CstRootNode::parse(source, &ParseOptions::default()).map_err(|e| invalid(e.to_string()))?;
    let top = root
        .object_value()
        .ok_or_else(|| invalid("the top level is not an object".to_owned()))?;
    let servers = top
        .object_value_or_create(servers_key)
        .ok_or_else(|| invalid(format!("`{servers_key}` is not an object")))?;
    let replaced = match servers.get(name) {
        None => false,
        Some(existing) => {
            let existing_json = existing.value().and_then(|v| v.to_serde_value());
            if existing_json.as_ref() == Some(&entry.to_json()) {
                return Ok(Change::Unchanged);
            }
            if !force {
                return Err(ConfigError::Exists {
                    file: file.to_path_buf(),
                    name: name.to_owned(),
                    existing: serde_json::to_string_pretty(&existing_json.unwrap_or(Value::Null))
                        .unwrap_or_default(),
                });
            }
            existing.set_value(entry.to_cst());
            true
        }
    };
    if !replaced {
        servers.append(name, entry.to_cst());
    }
    let mut out = root.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(if replaced {
        Change::Replaced(out)
    } else {
        Change::Added(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp_add::entry::Field;
    use pretty_assertions::assert_eq;

    fn entry(command: &str) -> Entry {
        Entry::default()
            .with("command", Field::Text(command.into()))
            .with("args", Field::List(vec!["serve-mcp".into()]))
            .with("tool_timeout_sec", Field::Number(300))
    }

    fn file() -> &'static Path {
        Path::new("/home/u/config")
    }

    #[test]
    fn toml_keeps_comments_and_other_servers_and_adds_one_table() {
        let before = "# my settings\nmodel = \"o3\" # the best\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n";
        let Ok(Change::Added(after)) = toml(
            Some(before),
            file(),
            "mcp_servers",
            "codex-img",
            &entry("codex-img"),
            false,
        ) else {
            panic!("not added");
        };
        assert_eq!(
            after,
            "# my settings\nmodel = \"o3\" # the best\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n\n[mcp_servers.codex-img]\ncommand = \"codex-img\"\nargs = [\"serve-mcp\"]\ntool_timeout_sec = 300\n"
        );
        // Again: nothing to do.
        assert_eq!(
            toml(
                Some(&after),
                file(),
                "mcp_servers",
                "codex-img",
                &entry("codex-img"),
                false
            )
            .ok(),
            Some(Change::Unchanged)
        );
        // Different: refused, unless forced.
        let refused = toml(
            Some(&after),
            file(),
            "mcp_servers",
            "codex-img",
            &entry("other"),
            false,
        );
        assert_eq!(refused.map_err(|e| e.code()).err(), Some("config/exists"));
        let Ok(Change::Replaced(forced)) = toml(
            Some(&after),
            file(),
            "mcp_servers",
            "codex-img",
            &entry("other"),
            true,
        ) else {
            panic!("not replaced");
        };
        assert!(
            forced.starts_with("# my settings\nmodel = \"o3\" # the best\n"),
            "{forced}"
        );
        assert!(
            forced.contains("[mcp_servers.codex-img]\ncommand = \"other\"\n"),
            "{forced}"
        );
    }

    #[test]
    fn a_new_toml_file_gets_only_the_table() {
        let Ok(Change::Added(text)) =
            toml(None, file(), "mcp_servers", "codex-img", &entry("c"), false)
        else {
            panic!("not added");
        };
        assert_eq!(text, "[mcp_servers.codex-img]\ncommand = \"c\"\nargs = [\"serve-mcp\"]\ntool_timeout_sec = 300\n");
    }

    #[test]
    fn json_with_comments_keeps_them_and_other_servers() {
        let before = "{\n  // my theme\n  \"theme\": \"dark\",\n  \"mcpServers\": {\n    \"docs\": { \"command\": \"docs-mcp\" }, // docs\n  },\n}\n";
        let Ok(Change::Added(after)) = json(
            Some(before),
            file(),
            "mcpServers",
            "codex-img",
            &entry("codex-img"),
            false,
        ) else {
            panic!("not added");
        };
        assert!(
            after.contains("// my theme\n  \"theme\": \"dark\","),
            "{after}"
        );
        assert!(
            after.contains("\"docs\": { \"command\": \"docs-mcp\" }, // docs"),
            "{after}"
        );
        let parsed = jsonc_parser::parse_to_serde_value::<Value>(&after, &ParseOptions::default())
            .expect("parses");
        assert_eq!(
            parsed["mcpServers"]["codex-img"],
            entry("codex-img").to_json()
        );
        assert_eq!(parsed["mcpServers"]["docs"]["command"], "docs-mcp");
        assert_eq!(
            json(
                Some(&after),
                file(),
                "mcpServers",
                "codex-img",
                &entry("codex-img"),
                false
            )
            .ok(),
            Some(Change::Unchanged)
        );
        assert_eq!(
            json(
                Some(&after),
                file(),
                "mcpServers",
                "codex-img",
                &entry("x"),
                false
            )
            .map_err(|e| e.code())
            .err(),
            Some("config/exists")
        );
        let Ok(Change::Replaced(forced)) = json(
            Some(&after),
            file(),
            "mcpServers",
            "codex-img",
            &entry("x"),
            true,
        ) else {
            panic!("not replaced");
        };
        let parsed = jsonc_parser::parse_to_serde_value::<Value>(&forced, &ParseOptions::default())
            .expect("parses");
        assert_eq!(parsed["mcpServers"]["codex-img"]["command"], "x");
    }

    #[test]
    fn missing_or_empty_json_becomes_an_object_and_bad_json_is_refused() {
        for text in [None, Some(""), Some("  \n")] {
            let Ok(Change::Added(out)) =
                json(text, file(), "servers", "codex-img", &entry("c"), false)
            else {
                panic!("not added");
            };
            let parsed =
                jsonc_parser::parse_to_serde_value::<Value>(&out, &ParseOptions::default())
                    .expect("parses");
            assert_eq!(parsed["servers"]["codex-img"]["command"], "c");
        }
        for bad in ["[1, 2]", "{\"mcpServers\": 3}", "{ not json"] {
            let got = json(
                Some(bad),
                file(),
                "mcpServers",
                "codex-img",
                &entry("c"),
                false,
            );
            assert_eq!(
                got.map_err(|e| e.code()).err(),
                Some("config/invalid"),
                "{bad}"
            );
        }
        let got = toml(
            Some("mcp_servers = 3\n"),
            file(),
            "mcp_servers",
            "codex-img",
            &entry("c"),
            false,
        );
        assert_eq!(got.map_err(|e| e.code()).err(), Some("config/invalid"));
    }
}
