//! Property tests of `--root` confinement: paths built from `..`, `.`, absolute prefixes, links that lead
//! out or stay in, dangling links, NULs and Windows shapes. Whatever is accepted lies inside the root by
//! every reading, and plain relative paths are always accepted.

use std::path::{Component, Path, PathBuf};

use proptest::prelude::*;

use super::Root;

/// `base/root` (reached through `base/root-link`, so the root as given is not canonical) holding `sub/`,
/// `in.png` and links `escape -> ../outside`, `inner -> sub`, `leak.png -> ../outside/secret.png`,
/// `dangling -> ../outside/nowhere`; `base/outside/` holding `secret.png`.
struct Layout {
    _dir: tempfile::TempDir,
    base: PathBuf,
    root: Root,
    given: PathBuf,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().canonicalize().expect("canonical");
    let root_dir = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(root_dir.join("sub")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.png"), b"x").expect("write");
    std::fs::write(root_dir.join("in.png"), b"x").expect("write");
    let given = base.join("root-link");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(&root_dir, &given).expect("link");
        symlink(&outside, root_dir.join("escape")).expect("link");
        symlink(root_dir.join("sub"), root_dir.join("inner")).expect("link");
        symlink(outside.join("secret.png"), root_dir.join("leak.png")).expect("link");
        symlink(outside.join("nowhere"), root_dir.join("dangling")).expect("link");
    }
    #[cfg(not(unix))]
    let given = root_dir.clone();
    let root = Root::new(&given).expect("root");
    Layout {
        _dir: dir,
        base,
        root,
        given,
    }
}

const PARTS: &[&str] = &[
    "a",
    "b.png",
    "sub",
    "in.png",
    "..",
    ".",
    "",
    "escape",
    "inner",
    "leak.png",
    "dangling",
    "secret.png",
    "C:",
    "C:\\x.png",
    "..\\x.png",
    "\\\\server\\share",
    "a\\..\\..\\b",
    "x\0y",
    "~",
    "...",
];

#[derive(Debug, Clone)]
enum Prefix {
    Relative,
    Slash,
    RootGiven,
    RootCanonical,
    Base,
}

fn raw_path() -> impl Strategy<Value = (Prefix, Vec<&'static str>, bool)> {
    (
        prop_oneof![
            4 => Just(Prefix::Relative),
            1 => Just(Prefix::Slash),
            2 => Just(Prefix::RootGiven),
            2 => Just(Prefix::RootCanonical),
            1 => Just(Prefix::Base),
        ],
        prop::collection::vec(prop::sample::select(PARTS), 0..6),
        any::<bool>(),
    )
}

fn render(l: &Layout, prefix: &Prefix, parts: &[&str], trailing: bool) -> String {
    let mut text = match prefix {
        Prefix::Relative => String::new(),
        Prefix::Slash => "/".to_owned(),
        Prefix::RootGiven => format!("{}/", l.given.display()),
        Prefix::RootCanonical => format!("{}/", l.root.path().display()),
        Prefix::Base => format!("{}/", l.base.display()),
    };
    text.push_str(&parts.join("/"));
    if trailing {
        text.push('/');
    }
    text
}

/// Canonicalizes the deepest part of `path` that exists.
fn deepest_existing(path: &Path) -> PathBuf {
    let mut probe = path.to_path_buf();
    loop {
        if let Ok(real) = probe.canonicalize() {
            return real;
        }
        if !probe.pop() {
            return PathBuf::new();
        }
    }
}

/// What every accepted path must satisfy, output or input.
fn inside(l: &Layout, raw: &str, accepted: &Path) -> Result<(), TestCaseError> {
    let root = l.root.path();
    prop_assert!(
        accepted.starts_with(root),
        "{} for {raw:?}",
        accepted.display()
    );
    prop_assert!(
        accepted.components().all(|c| c != Component::ParentDir),
        "{} has `..`",
        accepted.display()
    );
    prop_assert!(
        deepest_existing(accepted).starts_with(root),
        "{} resolves outside through a link",
        accepted.display()
    );
    prop_assert!(!raw.contains('\\') || cfg!(windows), "accepted {raw:?}");
    prop_assert!(!raw.contains('\0'), "accepted {raw:?}");
    Ok(())
}

proptest! {
    #[test]
    fn accepted_outputs_stay_inside((prefix, parts, trailing) in raw_path()) {
        let l = layout();
        let raw = render(&l, &prefix, &parts, trailing);
        if let Ok(target) = l.root.output_target(&raw) {
            inside(&l, &raw, &target)?;
            // The saver never writes through a link, so an output target is never one.
            let is_link = std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink());
            prop_assert!(!is_link, "{} is a link", target.display());
        }
    }

    #[test]
    fn accepted_inputs_stay_inside((prefix, parts, trailing) in raw_path()) {
        let l = layout();
        let raw = render(&l, &prefix, &parts, trailing);
        if let Ok(path) = l.root.input_image(&raw, "input image") {
            inside(&l, &raw, &path)?;
            if let Ok(real) = path.canonicalize() {
                prop_assert!(real.starts_with(l.root.path()), "{} reads {}", raw, real.display());
            }
        }
    }

    /// The other side: a path of plain names inside the root is never refused.
    #[test]
    fn plain_relative_paths_are_accepted(
        through_link in any::<bool>(),
        parts in prop::collection::vec(prop::sample::select(&["a", "b.png", "sub", "new dir", "ab:c"][..]), 1..5),
    ) {
        let l = layout();
        // `inner` links to `sub`, inside the root: a folder on the way may be such a link.
        let parts: Vec<&str> = through_link.then_some("inner").into_iter().chain(parts).collect();
        let raw = parts.join("/");
        let want = parts.iter().fold(l.root.path().to_path_buf(), |p, n| p.join(n));
        prop_assert_eq!(l.root.output_target(&raw).ok(), Some(want.clone()));
        prop_assert_eq!(l.root.input_image(&raw, "input image").ok(), Some(want));
    }
}
