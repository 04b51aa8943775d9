"""The parts of codex-img's Modly extension that `generator.py` puts together.

- `errors`: coded errors, shaped so that Modly shows `"<code>: <message>"`.
- `locate`: finding the codex-img command (CODEX_IMG_BIN, settings.json, PATH, the usual install folders).
- `bridge`: one `codex-img serve-stdio` child and JSON-RPC 2.0 over its stdio.
- `request`: a node's Modly parameters turned into an `image/generate` request.
- `progress`: codex-img's phases turned into Modly's `progress {pct, step}`.
- `stdin_watch`: Modly's `cancel` read while Modly's runner is busy in `generate`.
- `nodes`: the two nodes of manifest.json and which one this process serves.

Standard library only, so Modly's plain extension virtualenv (or Modly's own Python) is enough.
"""
