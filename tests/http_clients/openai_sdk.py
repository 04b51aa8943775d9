"""The official `openai` Python SDK against `codex-img serve-http` (driven by tests/it/http/sdk.rs).

Prints one JSON object with what the SDK returned and raised; the Rust test checks it against the fake
app-server's record. Every call keeps the SDK's default retries, so a wrongly retryable answer would show
up as extra turns in the record.
"""

import base64
import hashlib
import json
import os

import openai
from openai import OpenAI

base_url = os.environ["CODEX_IMG_BASE_URL"]
key = os.environ["CODEX_IMG_KEY"]
client = OpenAI(base_url=base_url, api_key=key, timeout=60)
out = {"sdk": "python", "version": openai.__version__}


def sha(b64):
    return hashlib.sha256(base64.b64decode(b64)).hexdigest()


r = client.images.generate(model="gpt-image-1", prompt="a lighthouse [fake:complete]", size="1024x1024")
out["generate"] = {"sha256": sha(r.data[0].b64_json), "size": r.size, "output_format": r.output_format}

with open(os.environ["CODEX_IMG_INPUT"], "rb") as f:
    r = client.images.edit(model="gpt-image-1", image=f, prompt="make it night [fake:complete]")
out["edit"] = {"sha256": sha(r.data[0].b64_json)}

r = client.images.generate(prompt="two foxes [fake:complete]", n=2, output_format="webp")
blobs = [base64.b64decode(d.b64_json) for d in r.data]
out["n2_webp"] = {
    "count": len(blobs),
    "webp": all(b[:4] == b"RIFF" and b[8:12] == b"WEBP" for b in blobs),
    "distinct": len(set(blobs)) == len(blobs),
    "output_format": r.output_format,
}

try:
    OpenAI(base_url=base_url, api_key="wrong-key-0123456789").images.generate(prompt="x")
    out["wrong_key"] = "no error"
except openai.AuthenticationError as e:
    out["wrong_key"] = [e.status_code, e.code]

try:
    client.images.generate(prompt="x", response_format="url")
    out["bad_input"] = "no error"
except openai.BadRequestError as e:
    out["bad_input"] = [e.status_code, e.code, e.param]

try:
    client.images.generate(prompt="a fox [fake:usage-limit-item]")
    out["usage_limit"] = "no error"
except openai.RateLimitError as e:
    out["usage_limit"] = [e.status_code, e.code, e.response.headers.get("retry-after")]

# The limit is now known: the next request is refused with no turn, unless it asks to try anyway
# (`ignore_known_usage_limit`, sent with the SDK's `extra_body`).
try:
    client.images.generate(prompt="a boat [fake:complete]")
    out["known_limit"] = "no error"
except openai.RateLimitError as e:
    out["known_limit"] = [e.status_code, e.code]
r = client.images.generate(
    prompt="a boat anyway [fake:complete]", extra_body={"ignore_known_usage_limit": True}
)
out["tried_anyway"] = {"count": len(r.data), "sha256": sha(r.data[0].b64_json)}

print(json.dumps(out))
