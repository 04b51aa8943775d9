//! The Claude Desktop bundle (`.mcpb`, manifest spec 0.3): `packaging/mcpb/manifest.json` with this
//! target's platform, the binary in `server/`, and the licences, checked with `mcpb validate` and packed
//! with `mcpb pack` (the official CLI, `@anthropic-ai/mcpb`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use super::exec::{self, Tools};
use super::npm::{copy, licences, write};
use super::targets::Target;
use super::wheel::make_executable;

/// Packs the bundle into `dist`; returns its path.
pub fn pack(
    root: &Path,
    tools: &Tools,
    target: &Target,
    version: &str,
    binary: &Path,
    stage: &Path,
    dist: &Path,
) -> Result<PathBuf, String> {
    let dir = stage.join("mcpb");
    let template = std::fs::read_to_string(root.join("packaging/mcpb/manifest.json"))
        .map_err(|e| format!("cannot read packaging/mcpb/manifest.json: {e}"))?;
    let template: Value = serde_json::from_str(&template)
        .map_err(|e| format!("packaging/mcpb/manifest.json is not JSON: {e}"))?;
    let manifest = for_target(template, target);
    write(
        &dir.join("manifest.json"),
        &(serde_json::to_string_pretty(&manifest).expect("json") + "\n"),
    )?;
    let server = dir.join("server").join(target.exe());
    copy(binary, &server)?;
    make_executable(&server)?;
    licences(root, &dir)?;
    exec::run(
        tools
            .mcpb()
            .arg("validate")
            .arg(dir.join("manifest.json"))
            .stdin(Stdio::null()),
        Duration::from_secs(120),
    )?;
    let bundle = dist.join(target.mcpb_file(version));
    exec::run(
        tools
            .mcpb()
            .arg("pack")
            .arg(&dir)
            .arg(&bundle)
            .stdin(Stdio::null()),
        Duration::from_secs(300),
    )?;
    Ok(bundle)
}

/// The manifest for one target: its platform only, and the `.exe` name on Windows.
pub fn for_target(mut manifest: Value, target: &Target) -> Value {
    manifest["compatibility"]["platforms"] = json!([target.os]);
    if target.os == "win32" {
        manifest["server"]["entry_point"] = json!("server/codex-img.exe");
        manifest["server"]["mcp_config"]["command"] = json!("${__dirname}/server/codex-img.exe");
    }
    manifest
}

#[cfg(test)]
mod tests {
    use super::super::targets::TARGETS;
    use super::*;

    #[test]
    fn each_bundle_names_its_platform_and_binary() {
        let template: Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/mcpb/manifest.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for target in TARGETS.iter().filter(|t| t.mcpb) {
            let m = for_target(template.clone(), target);
            assert_eq!(m["compatibility"]["platforms"], json!([target.os]));
            let entry = m["server"]["entry_point"].as_str().unwrap();
            assert_eq!(entry, format!("server/{}", target.exe()));
            assert_eq!(
                m["server"]["mcp_config"]["command"],
                json!(format!("${{__dirname}}/{entry}"))
            );
        }
    }
}
