//! The platforms codex-img ships prebuilt binaries for, and how each one is named and built in every
//! package format. `cargo xtask dist --target TRIPLE` builds one row; the release workflow runs it once
//! per row. The npm launcher (`packaging/npm/codex-img/lib/platform.js`) derives the same package names
//! from `process.platform`, `process.arch` and the C library, and a test checks that the launcher's
//! `optionalDependencies` list exactly these.

/// One release platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The Rust target triple.
    pub triple: &'static str,
    /// The platform part of the npm package name (`@codex-img/<npm>`), also used in `.mcpb` file names.
    pub npm: &'static str,
    /// npm's `os` and the MCPB `compatibility.platforms` value (Node's `process.platform`).
    pub os: &'static str,
    /// npm's `cpu` (Node's `process.arch`).
    pub cpu: &'static str,
    /// npm's `libc`, on Linux.
    pub libc: Option<&'static str>,
    /// How a person would name it.
    pub label: &'static str,
    /// The extra `maturin build` arguments that give the wheel a tag other machines accept: on Linux,
    /// zig links against glibc 2.17 (manylinux2014) or musl, whatever glibc the build machine has.
    pub maturin: &'static [&'static str],
    /// Whether a Claude Desktop bundle is built (Claude Desktop runs on macOS and Windows; the Linux
    /// glibc bundles serve its Linux builds; the musl ones would only duplicate them).
    pub mcpb: bool,
}

impl Target {
    /// The binary's file name inside every package.
    pub fn exe(&self) -> &'static str {
        if self.os == "win32" {
            "codex-img.exe"
        } else {
            "codex-img"
        }
    }

    /// The npm platform package's name.
    pub fn npm_package(&self) -> String {
        format!("@codex-img/{}", self.npm)
    }

    /// The Claude Desktop bundle's file name for `version`.
    pub fn mcpb_file(&self, version: &str) -> String {
        format!("codex-img-{version}-{}.mcpb", self.npm)
    }
}

const MANYLINUX: &[&str] = &["--zig", "--compatibility", "manylinux2014"];
const MUSLLINUX: &[&str] = &["--zig", "--compatibility", "musllinux_1_2"];

/// Every release platform, in the order the release workflow lists them.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-gnu",
        npm: "linux-x64-gnu",
        os: "linux",
        cpu: "x64",
        libc: Some("glibc"),
        label: "Linux x86_64 (glibc 2.17 or later)",
        maturin: MANYLINUX,
        mcpb: true,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        npm: "linux-arm64-gnu",
        os: "linux",
        cpu: "arm64",
        libc: Some("glibc"),
        label: "Linux arm64 (glibc 2.17 or later)",
        maturin: MANYLINUX,
        mcpb: true,
    },
    Target {
        triple: "x86_64-unknown-linux-musl",
        npm: "linux-x64-musl",
        os: "linux",
        cpu: "x64",
        libc: Some("musl"),
        label: "Linux x86_64 (musl, static)",
        maturin: MUSLLINUX,
        mcpb: false,
    },
    Target {
        triple: "aarch64-unknown-linux-musl",
        npm: "linux-arm64-musl",
        os: "linux",
        cpu: "arm64",
        libc: Some("musl"),
        label: "Linux arm64 (musl, static)",
        maturin: MUSLLINUX,
        mcpb: false,
    },
    Target {
        triple: "aarch64-apple-darwin",
        npm: "darwin-arm64",
        os: "darwin",
        cpu: "arm64",
        libc: None,
        label: "macOS arm64",
        maturin: &[],
        mcpb: true,
    },
    Target {
        triple: "x86_64-apple-darwin",
        npm: "darwin-x64",
        os: "darwin",
        cpu: "x64",
        libc: None,
        label: "macOS x86_64",
        maturin: &[],
        mcpb: true,
    },
    Target {
        triple: "x86_64-pc-windows-msvc",
        npm: "win32-x64",
        os: "win32",
        cpu: "x64",
        libc: None,
        label: "Windows x86_64",
        maturin: &[],
        mcpb: true,
    },
];

/// The row for `triple`, or a message listing the supported ones.
pub fn find(triple: &str) -> Result<Target, String> {
    TARGETS
        .iter()
        .find(|t| t.triple == triple)
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
            format!(
                "no release platform for target `{triple}`; the supported targets are: {}",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_follow_nodes_platform_names() {
        let mut seen = std::collections::BTreeSet::new();
        for t in TARGETS {
            assert!(seen.insert(t.npm), "{} twice", t.npm);
            let expected = match t.libc {
                Some("glibc") => format!("{}-{}-gnu", t.os, t.cpu),
                Some(libc) => format!("{}-{}-{libc}", t.os, t.cpu),
                None => format!("{}-{}", t.os, t.cpu),
            };
            assert_eq!(t.npm, expected);
            assert_eq!(find(t.triple), Ok(*t));
        }
        assert!(find("riscv64gc-unknown-linux-gnu")
            .unwrap_err()
            .contains("x86_64-unknown-linux-gnu"));
    }
}
