//! `codex-img`: generate images through your own signed-in Codex CLI, from a terminal or a script.
//!
//! This file holds the argument definitions and the dispatch; each subcommand lives in its own file.
//! Every path ends the same way: the warm app-server is shut down (no orphan process), then the process
//! exits with a code from [`exit::TABLE`].

mod doctor;
mod exit;
mod generate;
#[cfg(feature = "http")]
mod http;
mod logging;
#[cfg(feature = "mcp")]
mod mcp;
#[cfg(feature = "mcp")]
mod mcp_add;
mod print;
mod progress;
mod serve;
mod shared;
mod signal;
mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use codex_img::{Client, ClientBuilder};

use print::{print_error, print_json, print_stdout};
use signal::{interrupted, Interrupted};

const MAIN_EXAMPLES: &str = "\
Examples:
  codex-img doctor
  codex-img generate \"a lighthouse at dawn, watercolour\" -o lighthouse.png
  codex-img generate \"make the sky stormy\" --image photo.jpg -o out/ --json
  CODEX_HOME=~/.codex-work codex-img -c model_reasoning_effort=low doctor --json
";

const GENERATE_HELP: &str = "\
Examples:
  codex-img generate \"a red fox in the snow, woodcut\" -o fox.png
  codex-img generate \"the same fox, at night\" --image fox.png --overwrite -o fox.png
  codex-img generate \"a poster in this style\" --ref style1.png --ref style2.jpg --aspect 2:3 -o posters/
  codex-img generate \"an app icon\" --size 1024x1024 --background transparent -o icon.png --json
  codex-img generate \"a fox mascot\" --key auto -o fox.webp
  codex-img generate \"a banner\" --size 1500x500 --fit cover --compression 85 -o banner.jpg
  codex-img generate \"a sticker of a cat\" -n 4 --background transparent --sidecar -o stickers/cat.png

Progress goes to stderr; the saved path and a summary (or, with --json, one JSON object; with -n above
1, one batch object) go to stdout. OUT, every numbered target and the options are checked before any
quota is spent: an existing file needs --overwrite, a symlink is refused, the parent directory must
exist, and transparency with a JPEG target is refused. Size, aspect and quality are hints to the model;
a transparent background is asked of the image tool (native from Codex 0.150), and the report's alpha
says what came back (native, keyed or none). Format, fit and key are done locally; without --fit
nothing is resized. With -n, a failed image never loses the others, and the exit code is non-zero when
any failed.

Exit codes: 0 success, 3 preflight, 4 request, 5 runtime, 6 output, 7 protocol, 130 Ctrl-C, 143 SIGTERM
(see `codex-img --help`).
";

const DOCTOR_HELP: &str = "\
Examples:
  codex-img doctor
  codex-img doctor --json | jq .ready
  CODEX_BIN=/opt/codex/bin/codex codex-img doctor

Checks, in order: binary, version, app_server, login, image_generation, backend, quota. Each failure
shows the exact fix. Doctor starts Codex's app-server but no turn, so it spends no quota. It exits 0
when a generation would not fail on any check, otherwise with the exit code of the first failure's
category (3 preflight, 5 runtime for an exhausted quota).
";

const SERVE_HELP: &str = "\
Example:
  codex-img serve-stdio --root ~/projects/site/images

Speaks JSON-RPC 2.0 on stdin and stdout, one message per line, until stdin closes or a host sends
bridge/shutdown. Ctrl-C or SIGTERM interrupts every turn in flight, answers its request with
runtime/shutting_down, stops the app-server and exits.
Logs go to stderr.
Exit code: 0 when stdin closed normally, 130 on Ctrl-C, 143 on SIGTERM, 1 otherwise.
";

/// Generate images through your own signed-in Codex CLI: no API key, one warm `codex app-server`.
#[derive(Debug, Parser)]
#[command(name = "codex-img", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

const GLOBAL: &str = "Global options";

/// Options for every subcommand.
#[derive(Debug, Args)]
struct Global {
    /// A Codex config override, passed to Codex as `-c key=value`; repeatable.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true, help_heading = GLOBAL,
          value_parser = parse_override)]
    config: Vec<String>,

    /// The `codex` executable (default: `codex` on PATH).
    #[arg(
        long,
        value_name = "PATH",
        env = "CODEX_BIN",
        hide_env_values = true,
        global = true, help_heading = GLOBAL
    )]
    codex_bin: Option<PathBuf>,

    /// Codex's home directory (default: Codex's own, ~/.codex).
    #[arg(
        long,
        value_name = "DIR",
        env = "CODEX_HOME",
        hide_env_values = true,
        global = true, help_heading = GLOBAL
    )]
    codex_home: Option<PathBuf>,

    /// The oldest Codex version accepted (default: CODEX_IMG_MIN_VERSION, else 0.122.0).
    #[arg(long, value_name = "X.Y.Z", global = true, help_heading = GLOBAL)]
    min_version: Option<semver::Version>,

    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG wins when set.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate one image and save it.
    #[command(after_help = GENERATE_HELP)]
    Generate(generate::GenerateArgs),
    /// Check that image generation would work, without spending quota.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(doctor::DoctorArgs),
    /// Serve the JSON-RPC bridge on stdin/stdout for hosts in any language.
    #[command(name = "serve-stdio", after_help = SERVE_HELP)]
    ServeStdio(serve::ServeArgs),
    /// Serve MCP on stdin/stdout, so coding agents can generate images.
    #[cfg(feature = "mcp")]
    #[command(name = "serve-mcp", after_help = mcp::HELP)]
    ServeMcp(mcp::McpArgs),

    /// Add codex-img to a coding agent's MCP configuration (`codex-img mcp add codex`).
    #[cfg(feature = "mcp")]
    #[command(subcommand)]
    Mcp(mcp_add::McpCommand),

    /// Serve an OpenAI-compatible Images API on loopback, for apps and the openai SDKs.
    #[cfg(feature = "http")]
    #[command(name = "serve-http", after_help = http::HELP)]
    ServeHttp(http::HttpArgs),
}

fn parse_override(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(s.to_owned()),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (for example model=gpt-5.4)"
        )),
    }
}

impl Command {
    /// The client this subcommand runs on: the global options, then the subcommand's own
    /// (`--concurrency`, the servers' recycle bounds, serve-mcp's `--timeout`), applied here for every
    /// subcommand alike.
    fn configure(&self, builder: ClientBuilder) -> ClientBuilder {
        match self {
            Command::Generate(args) => args.concurrency.apply(builder),
            Command::ServeStdio(args) => args.recycle.apply(args.concurrency.apply(builder)),
            #[cfg(feature = "mcp")]
            Command::ServeMcp(args) => args.configure(builder),
            #[cfg(feature = "http")]
            Command::ServeHttp(args) => args.recycle.apply(args.concurrency.apply(builder)),
            _ => builder,
        }
    }
}

impl Global {
    fn builder(&self) -> ClientBuilder {
        let mut builder = Client::builder();
        if let Some(bin) = self
            .codex_bin
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            builder = builder.codex_bin(bin.clone());
        }
        if let Some(home) = self
            .codex_home
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            builder = builder.codex_home(home.clone());
        }
        for key_value in &self.config {
            builder = builder.config_override(key_value.clone());
        }
        if let Some(version) = &self.min_version {
            builder = builder.min_version(version.clone());
        }
        builder
    }
}

async fn run(cli: Cli) -> u8 {
    #[cfg(feature = "mcp")]
    if let Command::Mcp(command) = &cli.command {
        // It changes a file; no Codex is started.
        return mcp_add::run(command, cli.global.codex_home.as_deref());
    }
    let builder = cli.command.configure(cli.global.builder());
    #[cfg(feature = "http")]
    if let Command::ServeHttp(args) = &cli.command {
        // It builds its client once its key and address are settled, and stops it itself.
        return http::run(builder, args, interrupted()).await;
    }
    let client = builder.build();
    let code = match &cli.command {
        Command::Generate(args) => generate::run(&client, args, interrupted()).await,
        Command::Doctor(args) => doctor::run(&client, args, interrupted()).await,
        Command::ServeStdio(args) => serve::run(&client, args, interrupted()).await,
        #[cfg(feature = "mcp")]
        Command::ServeMcp(args) => mcp::run(&client, args, interrupted()).await,
        #[cfg(feature = "http")]
        // Served above, with a client of its own.
        Command::ServeHttp(_) => exit::USAGE,
        #[cfg(feature = "mcp")]
        // Run above, without a client.
        Command::Mcp(_) => exit::USAGE,
    };
    client.shutdown().await;
    code
}

/// Parses the arguments; `--help` ends with the examples and the exit-code table.
fn parse() -> Result<Cli, clap::Error> {
    let command = Cli::command().after_help(format!("{MAIN_EXAMPLES}\n{}", exit::help_text()));
    let matches = command.try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

fn main() -> ExitCode {
    unset_empty_paths();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version arrive here too, to be printed on stdout with exit 0.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    logging::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("codex-img: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    let code = runtime.block_on(run(cli));
    ExitCode::from(code)
}

/// `CODEX_HOME=` and `CODEX_BIN=` (set, but empty) mean "not set", as for Codex itself; clap would
/// refuse them as a missing value. Runs first, while the process has one thread.
fn unset_empty_paths() {
    for name in ["CODEX_HOME", "CODEX_BIN"] {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn size_and_aspect_conflict() {
        let parsed = Cli::try_parse_from([
            "codex-img",
            "generate",
            "x",
            "-o",
            "a.png",
            "--size",
            "10x10",
            "--aspect",
            "1:1",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn global_options_go_after_the_subcommand_too() {
        let cli = Cli::try_parse_from([
            "codex-img",
            "doctor",
            "-c",
            "model=x",
            "--min-version",
            "0.150.0",
            "-vv",
        ])
        .map_err(|e| e.to_string());
        let cli = match cli {
            Ok(cli) => cli,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cli.global.config, ["model=x"]);
        assert_eq!(
            cli.global.min_version,
            Some(semver::Version::new(0, 150, 0))
        );
        assert_eq!(cli.global.verbose, 2);
        assert!(Cli::try_parse_from(["codex-img", "-c", "novalue", "doctor"]).is_err());
    }

    #[test]
    fn every_command_that_generates_takes_concurrency_the_same_way() {
        // The builder's own Debug shows what reached it.
        let configured = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|cli| format!("{:?}", cli.command.configure(Client::builder())))
                .map_err(|e| e.kind())
        };
        let base = ["codex-img"];
        for command in [
            &["generate", "x", "-o", "a.png"][..],
            &["serve-stdio"],
            &["serve-mcp"],
            &["serve-http"],
        ] {
            let with = |extra: &[&str]| {
                let args: Vec<&str> = base.iter().chain(command).chain(extra).copied().collect();
                configured(&args)
            };
            let three = with(&["--concurrency", "3"]).expect("parses");
            assert!(three.contains("concurrency: 3,"), "{command:?}: {three}");
            let default = with(&[]).expect("parses");
            assert!(
                default.contains("concurrency: 4,"),
                "{command:?}: {default}"
            );
            assert!(with(&["--concurrency", "0"]).is_err(), "{command:?}");
        }
        assert!(configured(&["codex-img", "doctor", "--concurrency", "2"]).is_err());
    }
}
