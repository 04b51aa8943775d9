//! Shared cases for the bad-input tables of every face: input image files that are each wrong in one
//! way, prompts that are each refused, and the checks that nothing was spent or written.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;

use super::{entries, png, World};

/// A PNG header (signature and IHDR) declaring `width` x `height`, then one tiny IDAT and IEND: a file
/// of a few dozen bytes that claims any canvas, as a decompression bomb does.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(b"\0\0\0\x0aIDATx\x9c\x63\0\x01\0\0\x05\0\x01\0\0\0\0");
    out.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
    out
}

/// Input images that must each be refused with `request/invalid_image`, made in `dir`:
/// `(label, path)`. Running as root, permissions do not stop a read, so "unreadable" is a path whose
/// parent is a file, a folder, and a FIFO (which must be refused without blocking on it).
pub fn bad_image_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let text = dir.join("notes.png");
    std::fs::write(&text, "not an image, whatever the name says\n").expect("write");
    let full = png(32, 32, 3);
    let truncated = dir.join("truncated.png");
    std::fs::write(&truncated, &full[..20]).expect("write");
    let huge = dir.join("huge.png");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(21 * 1024 * 1024).expect("sparse 21 MiB");
    let bomb = dir.join("bomb.png");
    std::fs::write(&bomb, png_claiming(200_000, 200_000)).expect("write");
    let folder = dir.join("folder.png");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let fifo = dir.join("fifo.png");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success(), "mkfifo failed");
    vec![
        ("missing", dir.join("missing.png")),
        ("unreadable", text.join("inside-a-file.png")),
        ("a folder", folder),
        ("a fifo", fifo),
        ("not an image", text),
        ("truncated", truncated),
        ("over 20 MiB", huge),
        ("a decompression bomb", bomb),
    ]
}

/// A valid input image in `dir`.
pub fn good_image(dir: &Path) -> PathBuf {
    let path = dir.join("good.png");
    std::fs::write(&path, png(16, 16, 1)).expect("write");
    path
}

/// Prompts that must each be refused with `request/invalid_prompt`: `(label, prompt)`.
pub fn bad_prompts() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("only whitespace", " \n\t \r\n ".to_owned()),
        ("over 32,000 characters", "a".repeat(32_001)),
        ("an escape sequence", "a fox \u{1b}[2J in snow".to_owned()),
        ("a NUL", "a fox\0".to_owned()),
        ("a DEL", "a \u{7f}fox".to_owned()),
    ]
}

/// Every `turn/start` the fake received: there must be none after bad input.
pub fn turn_starts(world: &World) -> Vec<Value> {
    world
        .log()
        .into_iter()
        .filter(|e| e["dir"] == "in" && e["msg"]["method"] == "turn/start")
        .chain(world.events("turn_inputs"))
        .collect()
}

/// Bad input reached no turn, and `root` holds what it held before (`before`, its [`entries`]).
pub fn assert_untouched(world: &World, root: &Path, before: &[String]) {
    assert_eq!(
        turn_starts(world),
        Vec::<Value>::new(),
        "bad input reached a turn"
    );
    assert_eq!(entries(root), before, "something was written in the root");
}
