"""Finding the codex-img command this extension runs as `<command> serve-stdio`.

In order: the `CODEX_IMG_BIN` environment variable, `"codex_img"` in the extension's settings.json,
`codex-img` on PATH, then the folders installers put it in (a desktop app started from a dock or a
start menu often has a shorter PATH than a terminal). The first two may name the executable or a
whole command: `npx -y codex-img`, `uvx codex-img`, or the executable with options of its own
(`codex-img -c key=value`). settings.json may give the command as a list of arguments, which needs
no quoting.

settings.json may also give `"codex_bin"`: the `codex` executable, passed to codex-img as `CODEX_BIN`
unless that variable is already set.
"""

import json
import os
import shlex
import shutil
from pathlib import Path

from .errors import coded

ENV_VAR = "CODEX_IMG_BIN"
SETTINGS_FILE = "settings.json"
SETTINGS_KEY = "codex_img"
EXECUTABLE = "codex-img"


def settings(ext_dir):
    """The extension's settings.json as a dict (empty when the file does not exist)."""
    path = Path(ext_dir) / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise coded("preflight/invalid_settings", f"cannot read {path}: {e}") from None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise coded("preflight/invalid_settings", f"{path} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise coded("preflight/invalid_settings", f"{path} must hold a JSON object")
    return value


def command(ext_dir, environ=None, usual_dirs=None):
    """The argument list that starts codex-img (without `serve-stdio`)."""
    environ = os.environ if environ is None else environ
    settings_path = Path(ext_dir) / SETTINGS_FILE
    given = environ.get(ENV_VAR, "").strip()
    if given:
        return _resolve(given, ENV_VAR, environ)
    configured = settings(ext_dir).get(SETTINGS_KEY)
    if configured:
        return _resolve(configured, f'"{SETTINGS_KEY}" in {settings_path}', environ)
    found = shutil.which(EXECUTABLE, path=environ.get("PATH"))
    if found:
        return [found]
    for folder in _usual_dirs(environ) if usual_dirs is None else usual_dirs:
        for name in _names():
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [str(candidate)]
    raise coded(
        "preflight/codex_img_missing",
        f"codex-img was not found: it is not on PATH, {ENV_VAR} is not set, and {settings_path} "
        f'has no "{SETTINGS_KEY}". Install codex-img, or set {ENV_VAR} (or "{SETTINGS_KEY}" in '
        f"settings.json) to its path or to a command that runs it, such as `npx -y codex-img` or "
        f"`uvx codex-img`",
    )


def codex_bin(ext_dir, environ=None):
    """`"codex_bin"` from settings.json when `CODEX_BIN` is not set, else None."""
    environ = os.environ if environ is None else environ
    if environ.get("CODEX_BIN"):
        return None
    value = settings(ext_dir).get("codex_bin")
    return str(value) if value else None


def _resolve(value, source, environ):
    if isinstance(value, list):
        argv = [str(a) for a in value]
    elif isinstance(value, str):
        # A path to an existing file is taken whole, spaces and backslashes included.
        if Path(value).expanduser().is_file():
            return [str(Path(value).expanduser())]
        argv = split(value)
    else:
        raise coded("preflight/invalid_settings", f"{source} must be a string or a list of strings")
    if not argv or not argv[0]:
        raise coded("preflight/codex_img_missing", f"{source} is empty")
    program = str(Path(argv[0]).expanduser())
    if os.sep in program or (os.altsep and os.altsep in program):
        if not Path(program).is_file():
            raise coded("preflight/codex_img_missing", f"{source} names {program}, which does not exist")
        return [program] + argv[1:]
    found = shutil.which(program, path=environ.get("PATH"))
    if not found:
        raise coded(
            "preflight/codex_img_missing",
            f"{source} runs `{program}`, which is not on PATH; give its full path instead",
        )
    return [found] + argv[1:]


def split(text):
    """A command line split into arguments: POSIX shell quoting, except on Windows, where a
    backslash is a path separator and only double quotes group."""
    if os.name != "nt":
        return shlex.split(text)
    lexer = shlex.shlex(text, posix=False)
    lexer.whitespace_split = True
    return [t[1:-1] if len(t) >= 2 and t[0] == t[-1] == '"' else t for t in lexer]


def _names():
    if os.name == "nt":
        return [EXECUTABLE + ".exe", EXECUTABLE + ".cmd"]
    return [EXECUTABLE]


def _usual_dirs(environ):
    home = Path(environ.get("USERPROFILE") or environ.get("HOME") or Path.home())
    dirs = [home / ".cargo" / "bin", home / ".local" / "bin"]
    if os.name == "nt":
        if environ.get("APPDATA"):
            dirs.append(Path(environ["APPDATA"]) / "npm")
    else:
        dirs += [Path("/opt/homebrew/bin"), Path("/usr/local/bin")]
    return dirs
