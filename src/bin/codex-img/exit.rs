//! Exit codes: one table, so `--help`, docs/errors.md and the code cannot drift apart.
//!
//! Each family of error codes (`preflight/*`, `request/*`, ...) gets its own exit code, so a script can
//! tell "fix your setup" from "fix your request" from "try again later" without parsing text.

use codex_img::{Category, Error};

pub const SUCCESS: u8 = 0;
pub const OTHER: u8 = 1;
pub const USAGE: u8 = 2;
pub const PREFLIGHT: u8 = 3;
pub const REQUEST: u8 = 4;
pub const RUNTIME: u8 = 5;
pub const OUTPUT: u8 = 6;
pub const PROTOCOL: u8 = 7;
/// `config/*`: `mcp add` could not change an agent's configuration.
pub const CONFIG: u8 = 8;
/// Ctrl-C: the conventional 128 + SIGINT.
pub const INTERRUPTED: u8 = 130;
/// SIGTERM: 128 + 15.
pub const TERMINATED: u8 = 143;

/// Every exit code and what it means, in order.
pub const TABLE: &[(u8, &str)] = &[
    (SUCCESS, "success"),
    (OTHER, "any other failure (for example serve-stdio stopping with an I/O error)"),
    (USAGE, "usage error: bad arguments (reported by the argument parser)"),
    (PREFLIGHT, "preflight/*: Codex missing, too old, not signed in with ChatGPT, no image generation, backend unreachable"),
    (REQUEST, "request/*: invalid prompt or input image"),
    (RUNTIME, "runtime/*: usage limit, refusal, no image, timeout, app-server exit, overload"),
    (OUTPUT, "output/*: the output exists, is an invalid target, or could not be written"),
    (PROTOCOL, "protocol/*: Codex sent a message codex-img cannot read"),
    (CONFIG, "config/*: mcp add could not change an agent's configuration (an entry with other settings needs --force)"),
    (INTERRUPTED, "interrupted by Ctrl-C (the turn was cancelled)"),
    (TERMINATED, "terminated by SIGTERM (the turn was cancelled)"),
];

/// The exit code for an error, by its category.
pub fn for_error(error: &Error) -> u8 {
    match error.category() {
        Category::Preflight => PREFLIGHT,
        Category::Request => REQUEST,
        Category::Runtime => RUNTIME,
        Category::Output => OUTPUT,
        Category::Protocol => PROTOCOL,
    }
}

/// The table as `--help` shows it.
pub fn help_text() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        text.push_str(&format!("  {code:<4}{meaning}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The rows of the `## Exit codes` table in docs/errors.md, code spans unquoted.
    fn readme_table() -> Vec<(u8, String)> {
        let readme = include_str!("../../../docs/errors.md");
        let section = readme
            .split("\n## Exit codes\n")
            .nth(1)
            .expect("docs/errors.md has an `## Exit codes` section");
        section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .skip(2) // the header and the `|---|---|` line
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
                assert_eq!(cells.len(), 2, "not a two-column row: {line}");
                let code = cells[0]
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}: {line}"));
                (code, cells[1].trim().replace('`', ""))
            })
            .collect()
    }

    #[test]
    fn the_docs_table_is_the_table() {
        let table: Vec<(u8, String)> = TABLE
            .iter()
            .map(|(code, meaning)| (*code, (*meaning).to_owned()))
            .collect();
        assert_eq!(readme_table(), table);
    }

    #[test]
    fn help_text_is_the_table() {
        assert_eq!(
            help_text().lines().nth(4),
            Some("  3   preflight/*: Codex missing, too old, not signed in with ChatGPT, no image generation, backend unreachable")
        );
        assert_eq!(help_text().lines().count(), TABLE.len() + 1);
    }
    #[test]
    fn categories_map_to_distinct_codes() {
        let cases = [
            (Error::NotSignedIn, PREFLIGHT),
            (
                Error::InvalidPrompt {
                    reason: String::new(),
                },
                REQUEST,
            ),
            (Error::Cancelled, RUNTIME),
            (
                Error::OutputExists {
                    path: "a.png".into(),
                },
                OUTPUT,
            ),
            (
                Error::InvalidMessage {
                    detail: String::new(),
                },
                PROTOCOL,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(for_error(&error), code, "{}", error.code());
        }
    }
}
