//! Installs the Codex releases the live tests use into the cache, ahead of the tests, so CI fails early
//! and clearly when the npm registry cannot serve one.
//!
//! `install-codex --ci` installs what every CI run covers (the floor, the newest, and the release below
//! the floor for the version gate); `install-codex --all` the whole matrix; or name versions.
//! `install-codex --list` installs nothing and prints the matrix (`RELEASES`), one release a line, for
//! `cargo xtask compat`.

use std::process::ExitCode;

use loopback_backend::{ensure_codex, BELOW_FLOOR, CI_RELEASES, RELEASES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let versions: Vec<String> = match args.first().map(String::as_str) {
        Some("--list") => {
            for version in RELEASES {
                println!("{version}");
            }
            return ExitCode::SUCCESS;
        }
        Some("--ci") => CI_RELEASES
            .iter()
            .chain([&BELOW_FLOOR])
            .map(|v| v.to_string())
            .collect(),
        Some("--all") => RELEASES
            .iter()
            .chain([&BELOW_FLOOR])
            .map(|v| v.to_string())
            .collect(),
        Some(_) => args,
        None => {
            eprintln!("usage: install-codex --ci | --all | --list | VERSION...");
            return ExitCode::from(2);
        }
    };
    for version in versions {
        match ensure_codex(&version) {
            Ok(path) => println!("codex {version}: {}", path.display()),
            Err(e) => {
                eprintln!("codex {version}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
