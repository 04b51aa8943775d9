//! `server.json`, codex-img's entry in the MCP registry, checked the way the registry checks it, and the
//! ownership marker each listed package must carry. The rules follow the registry's published format
//! (schema 2025-12-11, `modelcontextprotocol/registry`: `docs/reference/server-json/` and the publish
//! validators in `internal/validators/`):
//!
//! - the server: `name` is `io.github.<owner>/<server>` (3 to 200 characters, one `/`), `description`
//!   1 to 100 characters, `version` an exact version (no ranges), a GitHub `repository`;
//! - every package: `registryType`, `identifier` (no spaces), `transport`, and an exact `version`
//!   (never `latest`) except for `mcpb`;
//! - npm: `mcpName` in `package.json` equals the server name; PyPI: the package README (PyPI's project
//!   description) contains `mcp-name: <name>`; cargo: the crate README contains it as visible text
//!   (crates.io drops HTML comments when it renders the README); mcpb: an HTTPS GitHub release asset
//!   whose URL contains `mcp`, with `fileSha256` and without `version` or `registryBaseUrl`.
//!
//! The `mcpb` hashes exist only once the bundles are built: the committed file lists the bundles
//! without them, `cargo xtask dist` fills in the one it built (`dist/server.json`), and the release
//! fills in all of them and publishes that file ([`Mode::Release`]).

use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::targets::TARGETS;

/// The schema version the file declares and these rules follow.
pub const SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// The GitHub repository; its owner is the registry namespace (`io.github.<owner>`).
pub const REPOSITORY: &str = "https://github.com/codex-img/codex-img";

/// The server's name in the registry.
pub const NAME: &str = "io.github.codex-img/codex-img";

/// How complete the `mcpb` entries must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The committed file: hashes may be missing (they are filled at build time).
    Source,
    /// What gets published: every `mcpb` entry has its hash.
    Release,
}

/// What the packages themselves say, read from the repository: the other half of each ownership check.
#[derive(Debug, Clone)]
pub struct Packages {
    /// The crate's version (the one version every artifact carries).
    pub version: String,
    /// The crate's name, and the text of the README crates.io shows.
    pub crate_name: String,
    pub crate_readme: String,
    /// The PyPI project name, and the text of the README PyPI shows.
    pub pypi_name: String,
    pub pypi_readme: String,
    /// The npm launcher's `package.json`.
    pub npm_manifest: Value,
    /// The Claude Desktop bundle's `manifest.json`.
    pub mcpb_manifest: Value,
}

impl Packages {
    /// Reads them from the repository at `root`.
    pub fn read(root: &Path) -> Result<Self, String> {
        let read = |rel: &str| {
            std::fs::read_to_string(root.join(rel)).map_err(|e| format!("cannot read {rel}: {e}"))
        };
        let json = |rel: &str| -> Result<Value, String> {
            serde_json::from_str(&read(rel)?).map_err(|e| format!("{rel} is not JSON: {e}"))
        };
        let cargo = read("Cargo.toml")?;
        let crate_name = toml_string(&cargo, "package", "name")?;
        let version = toml_string(&cargo, "package", "version")?;
        let crate_readme = read(&toml_string(&cargo, "package", "readme")?)?;
        let pyproject = read("pyproject.toml")?;
        let pypi_name = toml_string(&pyproject, "project", "name")?;
        let pypi_readme = read(&toml_string(&pyproject, "project", "readme")?)?;
        if !pyproject.contains("dynamic = [\"version\"]") {
            return Err(
                "pyproject.toml must take its version from Cargo.toml (dynamic = [\"version\"])"
                    .into(),
            );
        }
        Ok(Self {
            version,
            crate_name,
            crate_readme,
            pypi_name,
            pypi_readme,
            npm_manifest: json("packaging/npm/codex-img/package.json")?,
            mcpb_manifest: json("packaging/mcpb/manifest.json")?,
        })
    }
}

/// The value of `key = "..."` in the `[table]` of a TOML file (only the simple form those files use).
fn toml_string(text: &str, table: &str, key: &str) -> Result<String, String> {
    let header = format!("[{table}]");
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                let v = v.trim();
                if let Some(s) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    return Ok(s.to_owned());
                }
                return Err(format!("[{table}] {key} is not a plain string: {v}"));
            }
        }
    }
    Err(format!("no `{key}` in [{table}]"))
}

/// Every problem with `server` (empty when there is none).
pub fn check(server: &Value, packages: &Packages, mode: Mode) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |p: String| problems.push(p);
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);

    let allowed = [
        "$schema",
        "name",
        "title",
        "description",
        "version",
        "repository",
        "websiteUrl",
        "icons",
        "packages",
        "remotes",
        "_meta",
    ];
    match server.as_object() {
        Some(map) => {
            for key in map.keys() {
                if !allowed.contains(&key.as_str()) {
                    fail(format!("unknown field `{key}`"));
                }
            }
        }
        None => return vec!["server.json is not a JSON object".into()],
    }
    if str_of(server, "$schema").as_deref() != Some(SCHEMA) {
        fail(format!("`$schema` must be {SCHEMA}"));
    }
    let name = str_of(server, "name").unwrap_or_default();
    if name != NAME {
        fail(format!("`name` is {name:?}, not {NAME:?}"));
    }
    if let Some(p) = name_problem(&name) {
        fail(p);
    }
    let description = str_of(server, "description").unwrap_or_default();
    if !(1..=100).contains(&description.chars().count()) {
        fail(format!(
            "`description` must have 1 to 100 characters, not {}",
            description.chars().count()
        ));
    }
    if let Some(title) = server.get("title") {
        let n = title.as_str().map_or(0, |t| t.chars().count());
        if !(1..=100).contains(&n) {
            fail("`title` must be a string of 1 to 100 characters".into());
        }
    }
    let version = str_of(server, "version").unwrap_or_default();
    if version != packages.version {
        fail(format!(
            "`version` is {version:?}, the crate's is {:?}",
            packages.version
        ));
    }
    if let Some(p) = version_problem(&version) {
        fail(format!("`version`: {p}"));
    }
    let repo = server.get("repository");
    if repo.and_then(|r| str_of(r, "url")).as_deref() != Some(REPOSITORY)
        || repo.and_then(|r| str_of(r, "source")).as_deref() != Some("github")
    {
        fail(format!(
            "`repository` must be {{\"url\": \"{REPOSITORY}\", \"source\": \"github\"}}"
        ));
    }
    if let Some(url) = server.get("websiteUrl") {
        if !url.as_str().is_some_and(|u| u.starts_with("https://")) {
            fail("`websiteUrl` must be an https URL".into());
        }
    }
    if let Some(meta) = server.get("_meta").and_then(Value::as_object) {
        for key in meta.keys() {
            if key != "io.modelcontextprotocol.registry/publisher-provided" {
                fail(format!("`_meta.{key}` would be dropped by the registry"));
            }
        }
    }

    let list = server
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen_types = Vec::new();
    let mut mcpb_files = Vec::new();
    for (i, package) in list.iter().enumerate() {
        let kind = str_of(package, "registryType").unwrap_or_default();
        let at = format!("packages[{i}] ({kind})");
        for p in package_problems(package, &kind, &version, packages, mode) {
            fail(format!("{at}: {p}"));
        }
        if kind == "mcpb" {
            let id = str_of(package, "identifier").unwrap_or_default();
            mcpb_files.push(id.rsplit('/').next().unwrap_or_default().to_owned());
        } else if seen_types.contains(&kind) {
            fail(format!("{at}: listed twice"));
        } else {
            seen_types.push(kind);
        }
    }
    for kind in ["npm", "pypi", "cargo"] {
        if !seen_types.iter().any(|k| k == kind) {
            fail(format!("no `{kind}` package"));
        }
    }
    let mut expected: Vec<String> = TARGETS
        .iter()
        .filter(|t| t.mcpb)
        .map(|t| t.mcpb_file(&packages.version))
        .collect();
    expected.sort();
    mcpb_files.sort();
    if mcpb_files != expected {
        fail(format!(
            "the `mcpb` packages are {mcpb_files:?}, the bundles built are {expected:?}"
        ));
    }
    problems
}

/// The problems of one package entry of type `kind`.
fn package_problems(
    package: &Value,
    kind: &str,
    server_version: &str,
    packages: &Packages,
    mode: Mode,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |p: String| problems.push(p);
    let get = |key: &str| package.get(key).and_then(Value::as_str).map(str::to_owned);
    let allowed = [
        "registryType",
        "registryBaseUrl",
        "identifier",
        "version",
        "fileSha256",
        "runtimeHint",
        "transport",
        "runtimeArguments",
        "packageArguments",
        "environmentVariables",
    ];
    if let Some(map) = package.as_object() {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                fail(format!("unknown field `{key}`"));
            }
        }
    }
    let identifier = get("identifier").unwrap_or_default();
    if identifier.is_empty() || identifier.contains(char::is_whitespace) {
        fail(format!(
            "`identifier` {identifier:?} must be non-empty, without spaces"
        ));
    }
    if package.pointer("/transport/type").and_then(Value::as_str) != Some("stdio") {
        fail(
            "`transport` must be {\"type\": \"stdio\"} (codex-img serve-mcp speaks MCP on stdio)"
                .into(),
        );
    }
    if let Some(args) = package.get("packageArguments") {
        for arg in args.as_array().into_iter().flatten() {
            let ok = match arg.get("type").and_then(Value::as_str) {
                Some("positional") => arg.get("value").is_some() || arg.get("valueHint").is_some(),
                Some("named") => arg.get("name").and_then(Value::as_str).is_some(),
                _ => false,
            };
            if !ok {
                fail(format!("bad argument {arg}"));
            }
        }
    }
    let version = get("version");
    let sha = get("fileSha256");
    if kind == "mcpb" {
        if version.is_some() {
            fail("an `mcpb` package must not have `version` (the URL carries it)".into());
        }
        if package.get("registryBaseUrl").is_some() {
            fail("an `mcpb` package must not have `registryBaseUrl`".into());
        }
        match &sha {
            Some(sha) if !is_sha256(sha) => fail(format!(
                "`fileSha256` {sha:?} is not 64 lowercase hex digits"
            )),
            None if mode == Mode::Release => {
                fail("`fileSha256` is required for an `mcpb` package".into())
            }
            _ => {}
        }
        if let Some(p) = mcpb_url_problem(&identifier, server_version) {
            fail(p);
        }
        return problems;
    }
    if sha.is_some() {
        fail("only `mcpb` packages have `fileSha256`".into());
    }
    match &version {
        Some(v) if v == server_version => {}
        Some(v) => fail(format!(
            "`version` {v:?} differs from the server's {server_version:?}"
        )),
        None => fail(format!("a `{kind}` package needs `version`")),
    }
    if let Some(p) = version.as_deref().and_then(version_problem) {
        fail(format!("`version`: {p}"));
    }
    let (base, hint) = match kind {
        "npm" => ("https://registry.npmjs.org", Some("npx")),
        "pypi" => ("https://pypi.org", Some("uvx")),
        "cargo" => ("https://crates.io", None),
        other => {
            fail(format!("codex-img ships no `{other}` package"));
            return problems;
        }
    };
    if let Some(url) = get("registryBaseUrl") {
        if url != base {
            fail(format!(
                "`registryBaseUrl` must be {base} (the only one the registry accepts)"
            ));
        }
    }
    if get("runtimeHint").as_deref() != hint {
        fail(format!("`runtimeHint` must be {hint:?}"));
    }
    let marker = format!("mcp-name: {NAME}");
    match kind {
        "npm" => {
            let manifest = &packages.npm_manifest;
            if manifest.get("name").and_then(Value::as_str) != Some(identifier.as_str()) {
                fail(format!(
                    "packaging/npm/codex-img/package.json is not named {identifier:?}"
                ));
            }
            if manifest.get("mcpName").and_then(Value::as_str) != Some(NAME) {
                fail(format!(
                    "packaging/npm/codex-img/package.json needs \"mcpName\": \"{NAME}\""
                ));
            }
        }
        "pypi" => {
            if packages.pypi_name != identifier {
                fail(format!(
                    "pyproject.toml names the project {:?}",
                    packages.pypi_name
                ));
            }
            if !has_marker(&packages.pypi_readme, &marker) {
                fail(format!(
                    "the PyPI README (pyproject.toml `readme`) needs the line `{marker}`"
                ));
            }
        }
        _ => {
            if packages.crate_name != identifier {
                fail(format!(
                    "Cargo.toml names the crate {:?}",
                    packages.crate_name
                ));
            }
            if !has_marker(&visible_text(&packages.crate_readme), &marker) {
                fail(format!(
                    "the crate README needs `{marker}` as visible text (crates.io drops HTML comments)"
                ));
            }
        }
    }
    problems
}

/// Why `name` is not a valid registry name for this GitHub repository, if it is not.
fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(3..=200).contains(&len) {
        return Some(format!("`name` must have 3 to 200 characters, not {len}"));
    }
    let Some((namespace, server)) = name.split_once('/') else {
        return Some(format!(
            "`name` {name:?} needs a `/` between namespace and server"
        ));
    };
    let ns_ok = !namespace.is_empty()
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let server_ok = !server.is_empty()
        && server
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-');
    if !ns_ok || !server_ok {
        return Some(format!(
            "`name` {name:?} does not match ^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$"
        ));
    }
    let owner = REPOSITORY
        .trim_start_matches("https://github.com/")
        .split('/')
        .next()?;
    if namespace != format!("io.github.{owner}") {
        return Some(format!(
            "`name` must be in the namespace io.github.{owner}, the one a GitHub login for {REPOSITORY} may publish"
        ));
    }
    None
}

/// Why `version` is not an exact version, if it is not (the registry rejects ranges and `latest`).
fn version_problem(version: &str) -> Option<String> {
    if version.is_empty() || version.len() > 255 {
        return Some("must have 1 to 255 characters".into());
    }
    if version == "latest"
        || version.contains(['^', '~', '>', '<', '*', ' ', '|'])
        || version.split('.').any(|part| part == "x" || part == "X")
    {
        return Some(format!("{version:?} is not one exact version"));
    }
    None
}

/// Why `url` is not a bundle URL the registry accepts for this repository and `version`.
fn mcpb_url_problem(url: &str, version: &str) -> Option<String> {
    let expected_prefix = format!("{REPOSITORY}/releases/download/v{version}/");
    let Some(file) = url.strip_prefix(&expected_prefix) else {
        return Some(format!(
            "`identifier` must be a GitHub release asset, {expected_prefix}<file>"
        ));
    };
    if file.is_empty() || file.contains('/') {
        return Some(format!("`identifier` has no single file name: {url}"));
    }
    if !url.to_ascii_lowercase().contains("mcp") {
        return Some("a bundle URL must contain `mcp`".into());
    }
    None
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `text` holds `marker` as a whole token: what follows is not a character that could continue
/// a server name (the registry's own rule, so `.../codex-img-pro` does not count for `.../codex-img`).
fn has_marker(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(at, _)| {
        let rest = &text[at + marker.len()..];
        rest.starts_with("-->")
            || !rest
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
    })
}

/// `markdown` without its HTML comments: what crates.io shows.
fn visible_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Puts the SHA-256 of each bundle found in `dir` into its `mcpb` entry; returns how many were filled.
pub fn fill_hashes(server: &mut Value, dir: &Path) -> Result<usize, String> {
    let mut filled = 0;
    let Some(list) = server.get_mut("packages").and_then(Value::as_array_mut) else {
        return Ok(0);
    };
    for package in list {
        if package.get("registryType").and_then(Value::as_str) != Some("mcpb") {
            continue;
        }
        let url = package
            .get("identifier")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let file = dir.join(url.rsplit('/').next().unwrap_or_default());
        if !file.is_file() {
            continue;
        }
        let bytes =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        package["fileSha256"] = Value::String(sha256_hex(&bytes));
        filled += 1;
    }
    Ok(filled)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The committed files agree with each other: every package carries the crate's version, the npm
/// launcher depends on exactly the platform packages of [`TARGETS`], and the bundle manifest runs
/// `serve-mcp` from its own folder.
pub fn check_packages(packages: &Packages) -> Vec<String> {
    let mut problems = Vec::new();
    let v = &packages.version;
    let npm = &packages.npm_manifest;
    if npm.get("version").and_then(Value::as_str) != Some(v) {
        problems.push(format!(
            "packaging/npm/codex-img/package.json: version must be {v}"
        ));
    }
    let deps = npm.get("optionalDependencies").and_then(Value::as_object);
    let mut listed: Vec<(String, String)> = deps
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = TARGETS
        .iter()
        .map(|t| (t.npm_package(), v.clone()))
        .collect();
    expected.sort();
    if listed != expected {
        problems.push(format!(
            "packaging/npm/codex-img/package.json: optionalDependencies must be {expected:?}, not {listed:?}"
        ));
    }
    let mcpb = &packages.mcpb_manifest;
    if mcpb.get("version").and_then(Value::as_str) != Some(v) {
        problems.push(format!("packaging/mcpb/manifest.json: version must be {v}"));
    }
    if mcpb.get("manifest_version").and_then(Value::as_str) != Some("0.3") {
        problems.push("packaging/mcpb/manifest.json: manifest_version must be \"0.3\"".into());
    }
    let config = mcpb.pointer("/server/mcp_config");
    if config
        .and_then(|c| c.get("command"))
        .and_then(Value::as_str)
        != Some("${__dirname}/server/codex-img")
        || config
            .and_then(|c| c.pointer("/args/0"))
            .and_then(Value::as_str)
            != Some("serve-mcp")
    {
        problems.push(
            "packaging/mcpb/manifest.json: mcp_config must run ${__dirname}/server/codex-img serve-mcp"
                .into(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn committed() -> (Value, Packages) {
        let root = root();
        let server = std::fs::read_to_string(root.join("server.json")).expect("server.json");
        let server: Value = serde_json::from_str(&server).expect("server.json is JSON");
        (server, Packages::read(&root).expect("the packages' files"))
    }

    /// The committed `server.json` passes every rule but the bundle hashes, and the packages agree.
    #[test]
    fn the_committed_files_pass() {
        let (server, packages) = committed();
        assert_eq!(
            check(&server, &packages, Mode::Source),
            Vec::<String>::new()
        );
        assert_eq!(check_packages(&packages), Vec::<String>::new());
        // Published as is, it would lack the hashes.
        assert!(check(&server, &packages, Mode::Release)
            .iter()
            .any(|p| p.contains("`fileSha256` is required")));
    }

    #[test]
    fn filled_hashes_satisfy_a_release() {
        let (mut server, packages) = committed();
        let dir = tempfile_dir();
        for t in TARGETS.iter().filter(|t| t.mcpb) {
            std::fs::write(dir.join(t.mcpb_file(&packages.version)), t.npm).unwrap();
        }
        let filled = fill_hashes(&mut server, &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(filled, TARGETS.iter().filter(|t| t.mcpb).count());
        assert_eq!(
            check(&server, &packages, Mode::Release),
            Vec::<String>::new()
        );
        assert_eq!(
            server["packages"][3]["fileSha256"].as_str().map(str::len),
            Some(64)
        );
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Each rule fires: a broken copy of the committed file names the problem.
    #[test]
    fn each_rule_names_its_problem() {
        let (server, packages) = committed();
        let broken = |edit: &dyn Fn(&mut Value), expected: &str| {
            let mut s = server.clone();
            edit(&mut s);
            let problems = check(&s, &packages, Mode::Source);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "expected a problem containing {expected:?}, got {problems:?}"
            );
        };
        broken(
            &|s| s["name"] = json!("io.github.someone/codex-img"),
            "namespace",
        );
        broken(&|s| s["name"] = json!("codex-img"), "needs a `/`");
        broken(&|s| s["description"] = json!("x".repeat(101)), "1 to 100");
        broken(&|s| s["version"] = json!("^0.1.0"), "`version`");
        broken(
            &|s| s["packages"][0]["version"] = json!("latest"),
            "`version`",
        );
        broken(&|s| s["packages"][1]["version"] = json!("0.0.9"), "differs");
        broken(
            &|s| {
                s["packages"][2].as_object_mut().unwrap().remove("version");
            },
            "needs `version`",
        );
        broken(
            &|s| s["packages"][0]["fileSha256"] = json!("0".repeat(64)),
            "only `mcpb`",
        );
        broken(
            &|s| s["packages"][0]["registryBaseUrl"] = json!("https://npm.example"),
            "registryBaseUrl",
        );
        broken(
            &|s| s["packages"][3]["version"] = json!("0.1.0"),
            "must not have `version`",
        );
        broken(
            &|s| s["packages"][3]["fileSha256"] = json!("ABC"),
            "64 lowercase hex",
        );
        broken(
            &|s| s["packages"][3]["identifier"] = json!("https://example.com/codex-img.mcpb"),
            "GitHub release asset",
        );
        broken(
            &|s| s["packages"][0]["transport"] = json!({"type": "sse"}),
            "stdio",
        );
        broken(
            &|s| {
                s["packages"].as_array_mut().unwrap().remove(4);
            },
            "bundles built",
        );
        broken(
            &|s| {
                s["packages"].as_array_mut().unwrap().remove(2);
            },
            "no `cargo` package",
        );
        broken(&|s| s["homepage"] = json!("https://x"), "unknown field");
    }

    #[test]
    fn ownership_markers_are_required() {
        let (server, packages) = committed();
        let problems = |p: &Packages| check(&server, p, Mode::Source);
        let mut p = packages.clone();
        p.npm_manifest["mcpName"] = json!("io.github.other/thing");
        assert!(problems(&p).iter().any(|x| x.contains("mcpName")));
        let mut p = packages.clone();
        p.pypi_readme = "# codex-img\n".into();
        assert!(problems(&p).iter().any(|x| x.contains("PyPI README")));
        let mut p = packages.clone();
        p.crate_readme = format!("# codex-img\n<!-- mcp-name: {NAME} -->\n");
        assert!(problems(&p).iter().any(|x| x.contains("visible text")));
        let mut p = packages;
        p.crate_readme = format!("mcp-name: {NAME}-pro\n");
        assert!(problems(&p).iter().any(|x| x.contains("visible text")));
    }

    #[test]
    fn markers_match_whole_names_only() {
        assert!(has_marker(
            "a\nmcp-name: io.github.a/b\n",
            "mcp-name: io.github.a/b"
        ));
        assert!(has_marker(
            "<!-- mcp-name: io.github.a/b-->",
            "mcp-name: io.github.a/b"
        ));
        assert!(!has_marker(
            "mcp-name: io.github.a/b-c",
            "mcp-name: io.github.a/b"
        ));
        assert_eq!(visible_text("a<!-- b -->c<!-- d"), "ac");
    }

    #[test]
    fn toml_values_come_from_their_own_table() {
        let text = "[workspace]\nname = \"w\"\n[package]\nname = \"p\"\nversion = \"1.2.3\"\n";
        assert_eq!(toml_string(text, "package", "name").unwrap(), "p");
        assert!(toml_string(text, "package", "readme").is_err());
    }

    #[test]
    fn the_launcher_lists_every_platform_package() {
        let (_, mut packages) = committed();
        packages.npm_manifest["optionalDependencies"]
            .as_object_mut()
            .unwrap()
            .remove("@codex-img/win32-x64");
        assert!(check_packages(&packages)[0].contains("optionalDependencies"));
    }
}
