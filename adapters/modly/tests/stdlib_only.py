"""Checks that codex-img's Modly extension and its tests need nothing beyond Python's standard
library (Modly's extension virtualenv is empty) and parse as Python 3.9 (Modly ships 3.11).

    python3 adapters/modly/tests/stdlib_only.py

Exits 1 naming each file and import that is not in the standard library, or that does not parse.
"""

import ast
import sys
from pathlib import Path

EXTENSION = Path(__file__).resolve().parent.parent
# The extension's own modules, and Modly's API, which errors.py imports only when Modly provides it.
OWN = {"generator", "codex_img_modly", "modly_runner", "host", "services"}
OLDEST = (3, 9)


def problems():
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(EXTENSION.rglob("*.py")):
        if "venv" in path.relative_to(EXTENSION).parts:
            continue
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, str(path), feature_version=OLDEST)
        except SyntaxError as e:
            yield f"{path}: does not parse as Python {OLDEST[0]}.{OLDEST[1]}: {e}"
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in OWN:
                    yield f"{path}:{node.lineno}: imports {name}, which is not in the standard library"


def main():
    found = list(problems())
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        return 1
    print(f"the Modly extension uses the standard library only ({EXTENSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
