#!/usr/bin/env node
// A Node.js host for `codex-img serve-stdio`, with no dependencies (child_process + readline).
//
//   CODEX_IMG_BIN=/path/to/codex-img node client.mjs [OUTPUT_DIR]
//
// It spawns the bridge confined to OUTPUT_DIR (default: the current directory), checks readiness with
// codex/doctor, generates one image with progress on stderr, shows how an error comes back (asking for
// the same file again gives output/exists), and shuts the bridge down. It exits non-zero if anything
// unexpected happens.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

const bin = process.env.CODEX_IMG_BIN || 'codex-img';
const outDir = resolve(process.argv[2] || '.');

/** A JSON-RPC 2.0 client over the bridge's stdin and stdout, one message per line. */
class Bridge {
  constructor(bin, args) {
    this.child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, onProgress }
    this.exited = new Promise((done, fail) => {
      this.child.on('error', fail);
      this.child.on('exit', (code, signal) => done({ code, signal }));
    });
    this.exited.then(() => this.failAll(new Error('the bridge exited')), (e) => this.failAll(e));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
  }

  onLine(line) {
    const msg = JSON.parse(line);
    if (msg.jsonrpc !== '2.0') throw new Error(`not JSON-RPC 2.0: ${line}`);
    if (msg.method === 'image/progress') {
      this.pending.get(msg.params.id)?.onProgress?.(msg.params);
      return;
    }
    const waiter = this.pending.get(msg.id);
    if (!waiter) throw new Error(`an answer to no request: ${line}`);
    this.pending.delete(msg.id);
    if ('error' in msg) waiter.reject(Object.assign(new Error(msg.error.message), msg.error));
    else waiter.resolve(msg.result);
  }

  failAll(error) {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  request(method, params, onProgress) {
    const id = this.nextId++;
    const message = { jsonrpc: '2.0', id, method };
    if (params !== undefined) message.params = params;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
  }
}

async function main() {
  const bridge = new Bridge(bin, ['serve-stdio', '--root', outDir]);

  const doctor = await bridge.request('codex/doctor');
  if (!doctor.ready) {
    throw new Error(`Codex is not ready: ${doctor.blocking.code}: ${doctor.blocking.message}`);
  }
  console.log(`codex ${doctor.version}, signed in with ${doctor.login}`);

  const params = { prompt: 'a lighthouse at dawn, watercolour', output: 'lighthouse.png', aspect: '3:2' };
  const image = await bridge.request('image/generate', params, (p) => {
    process.stderr.write(`  ${p.phase} after ${(p.elapsedMs / 1000).toFixed(1)}s\n`);
  });
  console.log(`saved ${image.path} (${image.width}x${image.height} ${image.format}, sha256 ${image.sha256.slice(0, 12)})`);

  // An application error: the file exists now. `error.data` is shaped like the CLI's --json error.
  try {
    await bridge.request('image/generate', params);
    throw new Error('generating onto an existing file should have failed');
  } catch (e) {
    if (e.data?.code !== 'output/exists') throw e;
    console.log(`handled ${e.data.code} (JSON-RPC ${e.code}, retryable: ${e.data.retryable}): ${e.data.message}`);
  }

  await bridge.request('bridge/shutdown');
  bridge.child.stdin.end();
  const { code, signal } = await bridge.exited;
  if (code !== 0) throw new Error(`the bridge exited with ${code ?? signal}`);
  console.log('done');
}

const deadline = setTimeout(() => {
  console.error('error: no result in 5 minutes');
  process.exit(1);
}, 5 * 60 * 1000);

main().then(
  () => clearTimeout(deadline),
  (e) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
