"""A minimal MCP server on stdio that answers every call of a tool with a fixed result.

Used by the agent tests to check the harness itself: that a result of the shape codex-img aims for
(text and one small image, no structuredContent; an error as text) reaches each agent's model intact,
and that the tests' targets accept it. Standard library only.

    python3 shaped_server.py PLAN.json

PLAN.json: {"tools": [<MCP tool>...], "results": {"<tool name>": <CallToolResult>}}
"""

import json
import sys


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        plan = json.load(f)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        message = json.loads(line)
        if "id" not in message or "method" not in message:
            continue  # a notification, or a response to nothing we asked
        method = message["method"]
        params = message.get("params") or {}
        if method == "initialize":
            result = {
                "protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "shaped", "version": "0.0.0"},
            }
        elif method == "tools/list":
            result = {"tools": plan["tools"]}
        elif method == "tools/call":
            name = params.get("name")
            if name not in plan["results"]:
                reply(message["id"], error={"code": -32602, "message": f"unknown tool {name}"})
                continue
            result = plan["results"][name]
        elif method == "ping":
            result = {}
        else:
            reply(message["id"], error={"code": -32601, "message": f"no method {method}"})
            continue
        reply(message["id"], result=result)


def reply(request_id, result=None, error=None) -> None:
    out = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        out["error"] = error
    else:
        out["result"] = result
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
