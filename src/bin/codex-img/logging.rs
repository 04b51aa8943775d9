//! Logs: `tracing` to stderr only, so stdout stays for results (and, in `serve-stdio`, for the bridge).
//!
//! `RUST_LOG` wins when set; otherwise `-v` raises codex-img's own level (`-v` info, `-vv` debug,
//! `-vvv` trace) over a default of `warn`. The library never puts tokens or email addresses in its
//! messages, and this binary never logs account details.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set.
fn default_directives(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "warn,codex_img=info",
        2 => "warn,codex_img=debug",
        _ => "warn,codex_img=trace",
    }
}

pub fn init(verbose: u8) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default_directives(verbose)));
    // A second subscriber cannot be installed; there is only one call, so ignoring that case is safe.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_only_raises_our_own_level() {
        assert_eq!(default_directives(0), "warn");
        assert_eq!(default_directives(2), "warn,codex_img=debug");
        assert_eq!(default_directives(9), "warn,codex_img=trace");
    }
}
