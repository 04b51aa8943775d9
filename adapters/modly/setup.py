"""Modly's install step for codex-img's extension: makes the extension's virtualenv.

Modly runs `python setup.py '<json>'` when it installs an extension (and on "Repair"), with
`python_exe` (Modly's Python) and `ext_dir` (the extension folder) in the JSON. The extension uses
Python's standard library only, so the virtualenv is empty (`--without-pip`: nothing to install, no
network). It exists because Modly runs an extension that has one in a process of its own, under its
runner, where a cancel and a killed runner are handled at their cleanest. Without it Modly loads the
extension into its own process, which works too; so a virtualenv that cannot be made is reported,
not fatal.

By hand: python setup.py '{"python_exe": "/path/to/python3", "ext_dir": "/path/to/extensions/codex-img"}'
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def venv_python(venv):
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def main(argv):
    payload = json.loads(argv[1]) if len(argv) > 1 and argv[1].strip() else {}
    python = payload.get("python_exe") or sys.executable
    ext_dir = Path(payload.get("ext_dir") or Path(__file__).resolve().parent)
    venv = ext_dir / "venv"
    if venv_python(venv).exists():
        print(f"[codex-img] the extension's virtualenv is already there: {venv}")
        return 0
    print(f"[codex-img] making the extension's virtualenv (standard library only): {venv}")
    result = subprocess.run([python, "-m", "venv", "--without-pip", str(venv)])
    if result.returncode != 0 or not venv_python(venv).exists():
        shutil.rmtree(venv, ignore_errors=True)  # no half-made virtualenv left behind
        print(
            f"[codex-img] could not make {venv} with {python} (exit {result.returncode}); Modly "
            "will load the extension into its own process instead, which works too",
            file=sys.stderr,
        )
        return 0
    print("[codex-img] done; Modly will run the extension under its runner")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
