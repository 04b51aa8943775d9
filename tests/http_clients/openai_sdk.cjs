// The official `openai` Node SDK against `codex-img serve-http` (driven by tests/it/http/sdk.rs).
//
// Prints one JSON object with what the SDK returned and threw; the Rust test checks it against the fake
// app-server's record. Default retries are kept, so a wrongly retryable answer shows up as extra turns.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const sdk = require(path.join(process.env.CODEX_IMG_NPM_DIR, 'node_modules', 'openai'));
const { OpenAI, toFile } = sdk;
const baseURL = process.env.CODEX_IMG_BASE_URL;
const client = new OpenAI({ baseURL, apiKey: process.env.CODEX_IMG_KEY, timeout: 60000 });
const sha = (b64) => crypto.createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');

async function caught(what, fn) {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    return [e.constructor.name, e.status, e.code, e.headers ? e.headers.get('retry-after') : null, what];
  }
}

(async () => {
  const pkg = require(path.join(process.env.CODEX_IMG_NPM_DIR, 'node_modules', 'openai', 'package.json'));
  const out = { sdk: 'node', version: pkg.version };
  let r = await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse [fake:complete]', size: '1536x1024' });
  out.generate = { sha256: sha(r.data[0].b64_json), size: r.size, output_format: r.output_format };
  const input = fs.readFileSync(process.env.CODEX_IMG_INPUT);
  r = await client.images.edit({
    model: 'gpt-image-1',
    image: await toFile(input, 'my-private-name.png', { type: 'image/png' }),
    prompt: 'make it night [fake:complete]',
  });
  out.edit = { sha256: sha(r.data[0].b64_json) };
  r = await client.images.generate({ prompt: 'two foxes [fake:complete]', n: 2, output_format: 'webp' });
  const blobs = r.data.map((d) => Buffer.from(d.b64_json, 'base64'));
  out.n2_webp = {
    count: blobs.length,
    webp: blobs.every((b) => b.subarray(0, 4).toString() === 'RIFF' && b.subarray(8, 12).toString() === 'WEBP'),
    distinct: new Set(blobs.map((b) => b.toString('base64'))).size === blobs.length,
    output_format: r.output_format,
  };
  out.wrong_key = await caught('wrong key', () =>
    new OpenAI({ baseURL, apiKey: 'wrong-key-0123456789' }).images.generate({ prompt: 'x' }));
  out.bad_input = await caught('bad input', () => client.images.generate({ prompt: 'x', response_format: 'url' }));
  out.usage_limit = await caught('usage limit', () => client.images.generate({ prompt: 'a fox [fake:usage-limit-item]' }));
  // The limit is now known: the next request is refused with no turn, unless it asks to try anyway
  // (`ignore_known_usage_limit`, an extra body field the SDK passes through).
  out.known_limit = await caught('known limit', () => client.images.generate({ prompt: 'a boat [fake:complete]' }));
  r = await client.images.generate({ prompt: 'a boat anyway [fake:complete]', ignore_known_usage_limit: true });
  out.tried_anyway = { count: r.data.length, sha256: sha(r.data[0].b64_json) };
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
