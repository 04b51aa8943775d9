//! The PyPI wheel: `maturin build` with `bindings = "bin"` (see `pyproject.toml`) puts the release binary
//! in `codex_img-<version>.data/scripts/`, so installers put it on PATH with no Python code. This is the
//! one release build of `cargo xtask dist`: the binary is then taken out of the wheel for every other
//! package, so all of them carry the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::exec::{self, Tools};
use super::targets::Target;

/// Builds the wheel into `dist`, and extracts its binary into `stage`; returns both paths.
pub fn build(
    root: &Path,
    tools: &Tools,
    target: &Target,
    stage: &Path,
    dist: &Path,
) -> Result<(PathBuf, PathBuf), String> {
    let out = stage.join("wheel");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    exec::run(
        tools
            .maturin()
            .args(["build", "--release", "--target", target.triple, "--out"])
            .arg(&out)
            .args(target.maturin)
            .current_dir(root),
        Duration::from_secs(3600),
    )?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| format!("cannot list {}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    let [built] = wheels.as_slice() else {
        return Err(format!(
            "expected one wheel in {}, found {wheels:?}",
            out.display()
        ));
    };
    let wheel = dist.join(built.file_name().ok_or("wheel without a name")?);
    std::fs::rename(built, &wheel).map_err(|e| format!("cannot move the wheel: {e}"))?;

    let binary = stage.join("bin").join(target.exe());
    std::fs::create_dir_all(binary.parent().ok_or("no parent")?)
        .map_err(|e| format!("cannot create {}: {e}", binary.display()))?;
    const EXTRACT: &str = "import sys, zipfile\n\
        wheel, name, out = sys.argv[1:]\n\
        with zipfile.ZipFile(wheel) as z:\n\
        \x20   found = [n for n in z.namelist() if n.endswith('.data/scripts/' + name)]\n\
        \x20   if len(found) != 1: sys.exit(f'{wheel}: expected one scripts/{name}, found {found}')\n\
        \x20   open(out, 'wb').write(z.read(found[0]))\n";
    exec::run(
        Command::new(tools.python())
            .args(["-c", EXTRACT])
            .arg(&wheel)
            .arg(target.exe())
            .arg(&binary),
        Duration::from_secs(120),
    )?;
    make_executable(&binary)?;
    Ok((wheel, binary))
}

/// Sets the executable bits (zip extraction does not keep them).
pub fn make_executable(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
