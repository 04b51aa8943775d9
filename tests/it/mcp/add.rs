//! `codex-img mcp add` as a user runs it, against temporary homes: each agent's file gets the entry
//! with its settings, a file's comments and other servers survive, the same entry twice changes
//! nothing, a different one is refused (exit 8, file untouched) unless `--force`, `--dry-run` writes
//! nothing, and Claude Code is changed through its own `claude mcp add`. The configuration
//! blocks for Codex and Claude Code are what the command prints, so the documentation cannot drift.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::support::{
    entries,
    run::{OutputWithin as _, RUN_DEADLINE},
    BIN,
};

fn codex_img(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("PATH", home.join("bin"))
        .env_remove("CODEX_HOME")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .output_within(RUN_DEADLINE)
        .expect("run codex-img")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("bin")).expect("bin");
    dir
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the config");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// This binary's path, as `mcp add` writes it when it was started by neither npx nor uvx.
fn exe() -> String {
    PathBuf::from(BIN)
        .canonicalize()
        .expect("canonical")
        .display()
        .to_string()
}

#[test]
fn codex_gets_its_timeouts_and_approval_and_keeps_the_users_file() {
    let dir = home();
    let config = dir.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("parent")).expect("mkdir");
    let mine = "# my Codex settings\nmodel = \"o3\" # the best\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n";
    std::fs::write(&config, mine).expect("write");

    let dry = codex_img(dir.path(), &["mcp", "add", "codex", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        mine,
        "a dry run writes nothing"
    );

    let added = codex_img(dir.path(), &["mcp", "add", "codex"]);
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let table = format!(
        "[mcp_servers.codex-img]\ncommand = \"{}\"\nargs = [\"serve-mcp\", \"--timeout\", \"280\"]\nstartup_timeout_sec = 60\ntool_timeout_sec = 300\ndefault_tools_approval_mode = \"approve\"\n",
        exe()
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        format!("{mine}\n{table}")
    );
    assert!(
        text(&added.stdout).contains(&table),
        "{}",
        text(&added.stdout)
    );

    let again = codex_img(dir.path(), &["mcp", "add", "codex"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stdout).contains("nothing changed"),
        "{}",
        text(&again.stdout)
    );

    // Another launch is another entry: refused, the file untouched, until --force.
    let before = std::fs::read_to_string(&config).expect("read");
    let refused = codex_img(dir.path(), &["mcp", "add", "codex", "--via", "npx"]);
    assert_eq!(refused.status.code(), Some(8));
    assert!(
        text(&refused.stderr).starts_with(&format!(
            "error[config/exists]: {} already has an MCP server named `codex-img`, with other settings:\n",
            config.display()
        )),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(std::fs::read_to_string(&config).expect("read"), before);
    let forced = codex_img(
        dir.path(),
        &["mcp", "add", "codex", "--via", "npx", "--force"],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let after = std::fs::read_to_string(&config).expect("read");
    assert!(after.starts_with(mine), "{after}");
    assert!(
        after.contains("command = \"npx\"\nargs = [\"-y\", \"codex-img\", \"serve-mcp\", \"--timeout\", \"280\"]\n"),
        "{after}"
    );
    assert_eq!(files(&config), ["config.toml"], "no temp file left");
}

/// The names beside `path`, sorted.
fn files(path: &Path) -> Vec<String> {
    entries(path.parent().expect("parent"))
}

#[test]
fn the_json_agents_get_their_own_shape_and_arguments_for_serve_mcp() {
    let dir = home();
    let run = |agent: &str| {
        let out = codex_img(
            dir.path(),
            &[
                "mcp",
                "add",
                agent,
                "--via",
                "npx",
                "--env",
                "CODEX_HOME=/c",
                "--",
                "--root",
                "/img",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{agent}: {}", text(&out.stderr));
    };
    for agent in ["cursor", "gemini", "vscode"] {
        run(agent);
    }
    let args = json!(["-y", "codex-img", "serve-mcp", "--root", "/img"]);
    let env = json!({"CODEX_HOME": "/c"});
    assert_eq!(
        read_json(&dir.path().join(".cursor/mcp.json")),
        json!({"mcpServers": {"codex-img": {"command": "npx", "args": args, "env": env}}})
    );
    assert_eq!(
        read_json(&dir.path().join(".gemini/settings.json")),
        json!({"mcpServers": {"codex-img": {"command": "npx",
            "args": ["-y", "codex-img", "serve-mcp", "--timeout", "280", "--root", "/img"],
            "env": env, "timeout": 300000}}})
    );
    assert_eq!(
        read_json(&dir.path().join(".config/Code/User/mcp.json")),
        json!({"servers": {"codex-img": {"type": "stdio", "command": "npx", "args": args, "env": env}}})
    );
}

#[test]
fn a_json_file_with_comments_keeps_them_and_a_broken_one_is_left_alone() {
    let dir = home();
    let file = dir.path().join("project/.mcp.json");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &file,
        "{\n  // shared with the team\n  \"mcpServers\": {\n    \"docs\": {\"command\": \"docs-mcp\"}, // keep\n  },\n}\n",
    )
    .expect("write");
    let out = codex_img(
        dir.path(),
        &[
            "mcp",
            "add",
            "claude-code",
            "--via",
            "uvx",
            "--file",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&file).expect("read");
    assert!(after.contains("// shared with the team"), "{after}");
    assert!(
        after.contains("\"docs\": {\"command\": \"docs-mcp\"}, // keep"),
        "{after}"
    );
    // The new entry follows the file's own style (here, trailing commas).
    let parsed: Value =
        jsonc_parser::parse_to_serde_value(&after, &Default::default()).expect("still JSONC");
    assert_eq!(
        parsed["mcpServers"]["codex-img"],
        json!({"type": "stdio", "command": "uvx", "args": ["codex-img", "serve-mcp"]})
    );
    assert_eq!(parsed["mcpServers"]["docs"], json!({"command": "docs-mcp"}));

    std::fs::write(&file, "{ not json").expect("write");
    let out = codex_img(
        dir.path(),
        &[
            "mcp",
            "add",
            "claude-code",
            "--file",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(8));
    assert!(
        text(&out.stderr).starts_with("error[config/invalid]: "),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "{ not json");
}

#[cfg(unix)]
#[test]
fn claude_code_is_changed_through_its_own_command() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = home();
    // Without `claude` on PATH: a coded refusal naming both ways out.
    let out = codex_img(dir.path(), &["mcp", "add", "claude-code"]);
    assert_eq!(out.status.code(), Some(8));
    assert!(
        text(&out.stderr)
            .starts_with("error[config/agent_missing]: `claude` was not found on PATH"),
        "{}",
        text(&out.stderr)
    );
    // A stand-in `claude` that records its arguments, one per line.
    let log = dir.path().join("claude-args");
    let claude = dir.path().join("bin/claude");
    std::fs::write(
        &claude,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\necho added\n",
            log.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = codex_img(dir.path(), &["mcp", "add", "claude-code", "--env", "A=b"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exe = exe();
    assert_eq!(
        std::fs::read_to_string(&log).expect("the log"),
        format!("mcp\nadd\n--scope\nuser\ncodex-img\n-e\nA=b\n--\n{exe}\nserve-mcp\n")
    );
    // Once Claude Code holds the same entry, nothing runs; a different one needs --force, which removes
    // the old one first.
    let entry = json!({"type": "stdio", "command": exe, "args": ["serve-mcp"], "env": {"A": "b"}});
    std::fs::write(
        dir.path().join(".claude.json"),
        json!({"numStartups": 3, "mcpServers": {"codex-img": entry}}).to_string(),
    )
    .expect("write");
    std::fs::remove_file(&log).expect("rm");
    let out = codex_img(dir.path(), &["mcp", "add", "claude-code", "--env", "A=b"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("nothing changed"),
        "{}",
        text(&out.stdout)
    );
    assert!(!log.exists(), "claude was not run");
    let out = codex_img(dir.path(), &["mcp", "add", "claude-code"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stdout));
    let out = codex_img(dir.path(), &["mcp", "add", "claude-code", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&log).expect("the log"),
        format!("mcp\nremove\n--scope\nuser\ncodex-img\nmcp\nadd\n--scope\nuser\ncodex-img\n--\n{exe}\nserve-mcp\n")
    );
}

/// The fenced block after `<!-- mcp add AGENT -->` in docs/mcp.md.
fn readme_block(agent: &str) -> String {
    let readme = include_str!("../../../docs/mcp.md");
    let marker = format!("<!-- mcp add {agent} -->\n");
    let after = readme
        .split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("docs/mcp.md has no {marker:?}"));
    let body = after
        .split_once('\n')
        .map(|(_fence, rest)| rest)
        .expect("a fenced block");
    body.split("```").next().expect("the block").to_owned()
}

#[test]
fn the_readme_shows_exactly_what_mcp_add_writes() {
    let dir = home();
    let out = codex_img(
        dir.path(),
        &["mcp", "add", "codex", "--via", "npx", "--dry-run"],
    );
    let stdout = text(&out.stdout);
    let table = stdout
        .split_once("\n\n")
        .map(|(_, t)| t)
        .expect("the table");
    assert_eq!(readme_block("codex"), table);
    let out = codex_img(
        dir.path(),
        &["mcp", "add", "claude-code", "--via", "npx", "--dry-run"],
    );
    let stdout = text(&out.stdout);
    let line = stdout.split_once("\n\n").map(|(_, t)| t).expect("the line");
    assert_eq!(readme_block("claude-code"), line);
}
