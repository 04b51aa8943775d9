//! Playing an agent's model: the script it follows, and what it got back.
//!
//! The agent tests run real coding agents (Claude Code, and Codex under `codex exec`) as MCP clients of
//! codex-img, each against a loopback stand-in of its own model: [`crate::anthropic`] for Claude Code,
//! and the backend's [`Mode::Agent`](crate::Mode::Agent) for Codex. Both stand-ins follow the same
//! [`Script`]: search the agent's hidden tools, call an MCP tool, say something. The step a request
//! gets is the number of answers the model already gave in that conversation (each one is in the
//! request's history), so a retried request gets the same answer, and a side request of the agent
//! (a title, a quota probe) does not move the script on.
//!
//! What the model received back for each call is read from the request that followed it, the way the
//! agent put it in the conversation: [`ToolReturn`], whose [`Block`]s are text, images (decoded from
//! base64 or a data URL, with their media type) and the tools a search loaded.

use base64::Engine as _;
use serde_json::Value;

/// One answer of a scripted agent model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Search the agent's deferred tools. Claude Code: `ToolSearch {"query": ...}` (keywords, or
    /// `select:<name>` to load a tool by name). Codex: a client `tool_search_call` with `{query,
    /// limit}`.
    Search(String),
    /// Call tool `tool` of the MCP server named `server` in the agent's configuration.
    Call {
        /// The server's name in the agent's MCP configuration, such as `codex-img`.
        server: String,
        /// The tool's name as the server lists it, such as `generate_image`.
        tool: String,
        /// The call's arguments.
        arguments: Value,
    },
    /// Answer with text, which ends the agent's turn.
    Say(String),
}

impl Step {
    /// A call of `tool` on `server`.
    pub fn call(server: &str, tool: &str, arguments: Value) -> Step {
        Step::Call {
            server: server.to_owned(),
            tool: tool.to_owned(),
            arguments,
        }
    }
}

/// The model's answers, in order. Past the last step the model says it is done.
pub type Script = Vec<Step>;

/// The text the model says once the script is over.
pub const DONE: &str = "Done.";

/// The step for a request whose conversation already holds `answered` answers of the model.
pub(crate) fn step_at(script: &[Step], answered: usize) -> Step {
    script
        .get(answered)
        .cloned()
        .unwrap_or_else(|| Step::Say(DONE.to_owned()))
}

/// What the agent's model got back for one of its calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolReturn {
    /// The tool's name as the model called it: `ToolSearch` or `mcp__<server>__<tool>` (Claude Code),
    /// `tool_search` or `<namespace>.<tool>` such as `mcp__codex_img.generate_image` (Codex).
    pub name: String,
    /// The call's arguments as the model sent them.
    pub input: Value,
    /// Whether the agent told the model the call failed: Claude Code's `is_error`; `None` where the
    /// agent passes no such flag (Codex's `function_call_output`).
    pub is_error: Option<bool>,
    /// What the model received, in order.
    pub blocks: Vec<Block>,
    /// The result as the agent sent it, for a failure message.
    pub raw: Value,
}

impl ToolReturn {
    /// Every text block, joined with newlines.
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every image, in order: (media type, bytes).
    pub fn images(&self) -> Vec<(&str, &[u8])> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Image { media_type, data } => Some((media_type.as_str(), data.as_slice())),
                _ => None,
            })
            .collect()
    }

    /// The tools a search loaded, in the order the agent listed them.
    pub fn tools(&self) -> Vec<&str> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Tool(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// One piece of what the model received.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Text.
    Text(String),
    /// An image, decoded.
    Image {
        /// Its media type as the agent declared it, such as `image/png`.
        media_type: String,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A tool that a search loaded: Claude Code's `tool_reference` (`mcp__<server>__<tool>`), or a
    /// function of a namespace in Codex's `tool_search_output` (`<namespace>.<tool>`).
    Tool(String),
    /// Anything else, as sent.
    Other(Value),
}

/// Decodes standard base64 (with or without padding, ignoring whitespace).
pub(crate) fn decode_base64(data: &str) -> Option<Vec<u8>> {
    let clean: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.as_bytes()))
        .ok()
}

/// A `data:<type>;base64,<data>` URL's media type and bytes.
pub(crate) fn decode_data_url(url: &str) -> Option<(String, Vec<u8>)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?.to_owned();
    Some((media_type, decode_base64(data)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn past_the_script_the_model_is_done() {
        let script = vec![Step::Search("x".into()), Step::call("s", "t", json!({}))];
        assert_eq!(step_at(&script, 0), Step::Search("x".into()));
        assert_eq!(step_at(&script, 2), Step::Say(DONE.into()));
    }

    #[test]
    fn decodes_data_urls() {
        assert_eq!(
            decode_data_url("data:image/png;base64,AAE="),
            Some(("image/png".to_owned(), vec![0, 1]))
        );
        assert_eq!(decode_data_url("https://x/y.png"), None);
    }
}
