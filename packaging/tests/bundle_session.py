"""Runs the Claude Desktop bundle the way Claude Desktop would: the command and arguments that the
official library resolved from its manifest (see packaging/mcpb/resolve-config.mjs), driven by the
official MCP Python SDK (tests/it/support/mcp/client.py). Checks that the bundle's tool list matches what its
manifest declares, that codex_status answers, and that an image made without `output` lands in the
output folder the user chose (the `--root` setting).

Usage: python3 bundle_session.py RESOLVED_CONFIG_JSON MANIFEST OUTPUT_DIR WORK_DIR
(with the SDK's Python as python3 and CODEX_BIN naming the fake app-server).
"""

import json
import os
import subprocess
import sys

config, manifest_path, output_dir, work = sys.argv[1:]
config = json.loads(config)
manifest = json.load(open(manifest_path))
client = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "it", "support", "mcp", "client.py")

os.makedirs(os.path.join(work, "home"), exist_ok=True)
plan = {
    "command": config["command"],
    "args": config["args"],
    "env": {
        **config.get("env", {}),
        "PATH": os.environ["PATH"],
        "CODEX_BIN": os.environ["CODEX_BIN"],
        "CODEX_HOME": os.path.join(work, "home"),
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
    },
    "cwd": work,
    "errlog": os.path.join(work, "server-stderr.log"),
    "steps": [
        {"op": "list_tools"},
        {"op": "call", "tool": "codex_status", "arguments": {}, "progress": False},
        {"op": "call", "tool": "generate_image", "arguments": {"prompt": "a fox [fake:complete]"}, "progress": False},
    ],
}
plan_file = os.path.join(work, "plan.json")
json.dump(plan, open(plan_file, "w"))
out = subprocess.run([sys.executable, client, plan_file], capture_output=True, timeout=300)
if out.returncode != 0:
    sys.exit(f"the MCP client failed:\n{out.stderr.decode()}\n{open(plan['errlog']).read()}")
report = json.loads(out.stdout)
tools, status, image = report["steps"]

served = sorted(t["name"] for t in tools["result"]["tools"])
declared = sorted(t["name"] for t in manifest["tools"])
problems = []
if served != declared:
    problems.append(f"the server offers {served}, the manifest declares {declared}")
# The bundle runs serve-mcp as Claude Desktop does, with the shape made for agents: everything is in the
# text (no structuredContent), so that is what is read here.
def text(step):
    return "\n".join(b.get("text", "") for b in step["result"].get("content", []) if b.get("type") == "text")

if not text(status).rstrip().endswith("Ready: generate_image can make images with this Codex."):
    problems.append(f"codex_status is not ready: {status}")
first = text(image).split("\n", 1)[0]
prefix = "Saved the image to "
saved = first[len(prefix):].split(": ", 1)[0] if first.startswith(prefix) else ""
if not saved.startswith(os.path.realpath(output_dir) + os.sep) or not os.path.isfile(saved):
    problems.append(f"the image was not saved in the output folder {output_dir}: {image}")
for p in problems:
    print("FAIL", p)
print(f"{3 - len(problems)} passed, {len(problems)} failed")
sys.exit(1 if problems else 0)
