//! Bytes and files: test images, hashes, base64, and folder listings.

use std::path::Path;

use serde_json::Value;

/// A valid PNG of the given size, for input images; `seed` varies its pixels.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    test_png::test_png(width, height, u32::from(seed))
}

/// Lowercase hex SHA-256 (computed here, not by the library under test).
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Standard base64, as every face takes image bytes.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The names in `dir`, sorted; empty when it cannot be read.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `(file name, sha256)` of each image staged for a turn the fake recorded (a `turn_inputs` event).
pub fn staged(turn: &Value) -> Vec<(String, String)> {
    turn["localImages"]
        .as_array()
        .expect("localImages")
        .iter()
        .map(|i| {
            let path = Path::new(i["path"].as_str().expect("path"));
            (
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                i["sha256"].as_str().expect("sha256").to_owned(),
            )
        })
        .collect()
}
