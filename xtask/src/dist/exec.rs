//! Running the packaging tools: every command has a deadline (a hung registry or build is killed with its
//! children and reported), and the tools `cargo xtask dist` needs are installed on first use into
//! `.cache/` at pinned versions: maturin and zig in a Python virtualenv, the official MCPB CLI in an
//! npm folder. Nothing is installed globally.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// maturin builds the wheel (the standard builder of Rust binary wheels: ruff and uv ship with it).
pub const MATURIN: &str = "maturin==1.16.0";
/// zig, as a linker targeting glibc 2.17 or musl whatever the build machine has (`maturin --zig`).
pub const ZIG: &str = "ziglang==0.17.1";
/// The official MCPB CLI (`mcpb validate`, `mcpb pack`).
pub const MCPB: (&str, &str) = ("@anthropic-ai/mcpb", "2.1.2");

/// Runs `command` with its output shown, failing when it fails or outlives `deadline`.
pub fn run(command: &mut Command, deadline: Duration) -> Result<(), String> {
    let what = describe(command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    succeeded(&what, wait_within(&mut child, &what, deadline)?)
}

/// Runs `command` and returns its stdout (stderr is shown), with the same deadline rule.
pub fn output(command: &mut Command, deadline: Duration) -> Result<String, String> {
    let what = describe(command);
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    // Read on a thread while waiting: a command that fills the pipe would otherwise never exit.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let status = wait_within(&mut child, &what, deadline)?;
    let text = reader
        .join()
        .map_err(|_| "stdout reader panicked".to_owned())?
        .map_err(|e| format!("reading the output of `{what}`: {e}"))?;
    succeeded(&what, status).map(|()| text)
}

/// Waits for `child`, killing it with its descendants once it outlives `deadline`.
fn wait_within(child: &mut Child, what: &str, deadline: Duration) -> Result<ExitStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for `{what}`: {e}"))?
        {
            return Ok(status);
        }
        if started.elapsed() > deadline {
            kill_tree(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{what}` did not finish within {}s and was stopped",
                deadline.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn succeeded(what: &str, status: ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})"))
    }
}

fn describe(command: &Command) -> String {
    let mut parts = vec![command.get_program().to_string_lossy().into_owned()];
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Kills the descendants of `pid` (Linux: read from /proc), so a build stopped at its deadline leaves
/// no compiler or download behind. Elsewhere only the direct child is killed by the caller.
fn kill_tree(pid: u32) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // The parent pid is the second field after the parenthesised command name.
            let after = &stat[stat.rfind(')')? + 2..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut queue = vec![pid];
    let mut all = Vec::new();
    while let Some(p) = queue.pop() {
        for (child, parent) in &parents {
            if *parent == p {
                queue.push(*child);
                all.push(*child);
            }
        }
    }
    for p in all {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
}

/// Where the tools live, under the repository's `.cache/`.
pub struct Tools {
    venv: PathBuf,
    npm_prefix: PathBuf,
}

impl Tools {
    /// Makes sure the pinned tools are installed (installing what is missing), and returns them.
    pub fn ensure(root: &Path, need_zig: bool) -> Result<Self, String> {
        let tools = Self {
            venv: root.join(".cache/dist-venv"),
            npm_prefix: root.join(".cache/dist-npm"),
        };
        let mut wanted = vec![MATURIN];
        if need_zig {
            wanted.push(ZIG);
        }
        if !tools.python().is_file() {
            eprintln!("dist: creating {}", tools.venv.display());
            run(
                Command::new(python3())
                    .args(["-m", "venv"])
                    .arg(&tools.venv),
                Duration::from_secs(120),
            )?;
        }
        let missing: Vec<&str> = wanted
            .into_iter()
            .filter(|spec| !tools.has_python_package(spec))
            .collect();
        if !missing.is_empty() {
            eprintln!("dist: installing {}", missing.join(" "));
            run(
                Command::new(tools.python())
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(&missing),
                Duration::from_secs(600),
            )?;
        }
        let (name, version) = MCPB;
        let manifest = tools
            .npm_prefix
            .join("node_modules")
            .join(name)
            .join("package.json");
        let installed = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["version"].as_str().map(str::to_owned));
        if installed.as_deref() != Some(version) {
            eprintln!("dist: installing {name}@{version}");
            run(
                Command::new(npm())
                    .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                    .arg(&tools.npm_prefix)
                    .arg(format!("{name}@{version}")),
                Duration::from_secs(600),
            )?;
        }
        Ok(tools)
    }

    /// The virtualenv's Python.
    pub fn python(&self) -> PathBuf {
        if cfg!(windows) {
            self.venv.join("Scripts/python.exe")
        } else {
            self.venv.join("bin/python")
        }
    }

    /// `maturin`, with the virtualenv first on PATH: maturin finds zig as `python -m ziglang` there.
    /// zig's cache and maturin's zig wrappers go to `.cache/dist-xdg`, not the user's `~/.cache`.
    pub fn maturin(&self) -> Command {
        let bin = self
            .python()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut command = Command::new(self.python());
        command.args(["-m", "maturin"]);
        if let Ok(path) = std::env::join_paths(paths) {
            command.env("PATH", path);
        }
        let cache = self.venv.with_file_name("dist-xdg");
        command
            .env("XDG_CACHE_HOME", &cache)
            .env("ZIG_GLOBAL_CACHE_DIR", cache.join("zig"));
        command
    }

    /// `mcpb`, the official CLI, run with node.
    pub fn mcpb(&self) -> Command {
        let mut command = Command::new("node");
        command.arg(
            self.npm_prefix
                .join("node_modules/@anthropic-ai/mcpb/dist/cli/cli.js"),
        );
        command
    }

    fn has_python_package(&self, spec: &str) -> bool {
        let (name, version) = spec.split_once("==").unwrap_or((spec, ""));
        let probe = format!(
            "import importlib.metadata as m, sys; sys.exit(m.version({name:?}) != {version:?})"
        );
        Command::new(self.python())
            .args(["-c", &probe])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// npm (a `.cmd` script on Windows, which `Command` does not find by its bare name).
pub fn npm() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

fn python3() -> &'static str {
    if cfg!(windows) {
        "python"
    } else {
        "python3"
    }
}
