"""Drives `codex-img serve-mcp` with the official MCP Python SDK (PyPI `mcp`), for the integration tests (`tests/it/support/mcp`) and the live tests.

Usage: python client.py PLAN.json

The plan names the server to spawn and the steps to run on one session:

  {"command": "...", "args": [...], "env": {...}, "cwd": "...", "errlog": "stderr.log",
   "steps": [{"op": "list_tools"},
             {"op": "call", "tool": "generate_image", "arguments": {...}, "progress": true},
             {"op": "cancel", "tool": "generate_image", "arguments": {...}, "after_phase": "generating"}]}

It prints one JSON object on stdout: the initialize result and, per step, what the SDK returned (results
as the SDK parsed them, with `isError`, `structuredContent` and every content block; progress
notifications as received; an exception's type and text). It judges nothing: the Rust tests do.
"""

import json
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

# Any single step may take this long; a test that needs more is broken.
STEP_TIMEOUT = 120


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def call(session, step):
    progress = []

    async def on_progress(value, total, message):
        progress.append({"progress": value, "total": total, "message": message})

    out = {"op": "call", "tool": step["tool"]}
    try:
        result = await session.call_tool(
            step["tool"],
            step.get("arguments", {}),
            progress_callback=on_progress if step.get("progress") else None,
        )
        out["result"] = dump(result)
    except Exception as e:  # the SDK's own verdict (a schema violation, a protocol error) is data here
        out["exception"] = {"type": type(e).__name__, "text": str(e)}
    out["progress"] = progress
    return out


async def cancel(session, step):
    """Calls a tool, and cancels the call (the SDK sends notifications/cancelled) once a progress
    notification for `after_phase` arrives."""
    progress = []
    reached = anyio.Event()
    out = {"op": "cancel", "tool": step["tool"], "cancelled": False}

    async def on_progress(value, total, message):
        progress.append({"progress": value, "total": total, "message": message})
        if message and message.startswith(step["after_phase"] + ":"):
            reached.set()

    async def run(scope):
        try:
            out["result"] = dump(
                await session.call_tool(step["tool"], step.get("arguments", {}), progress_callback=on_progress)
            )
        except Exception as e:
            out["exception"] = {"type": type(e).__name__, "text": str(e)}
        reached.set()

    async with anyio.create_task_group() as tg:
        scope = anyio.CancelScope()

        async def guarded():
            with scope:
                await run(scope)

        tg.start_soon(guarded)
        await reached.wait()
        if "result" not in out and "exception" not in out:
            scope.cancel()
            out["cancelled"] = True
    out["progress"] = progress
    return out


async def main(plan):
    params = StdioServerParameters(
        command=plan["command"],
        args=plan.get("args", []),
        env=plan.get("env"),
        cwd=plan.get("cwd"),
    )
    report = {"steps": []}
    with open(plan["errlog"], "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                with anyio.fail_after(STEP_TIMEOUT):
                    report["initialize"] = dump(await session.initialize())
                for step in plan["steps"]:
                    with anyio.fail_after(STEP_TIMEOUT):
                        if step["op"] == "list_tools":
                            report["steps"].append({"op": "list_tools", "result": dump(await session.list_tools())})
                        elif step["op"] == "call":
                            report["steps"].append(await call(session, step))
                        elif step["op"] == "cancel":
                            report["steps"].append(await cancel(session, step))
                        else:
                            raise ValueError(f"unknown step {step['op']}")
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        anyio.run(main, json.load(f))
