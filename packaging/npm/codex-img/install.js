// The package's install script: puts the native binary itself at bin/codex-img (a hard link to the one in
// the platform package, or a copy where linking fails), so running `codex-img` starts no Node process,
// the way Claude Code's npm package does. Everything here is an optimisation: on any failure, and on
// Windows (where npm's shims start bin/codex-img with node), the JavaScript launcher stays in place and
// works the same, only slower to start. It never fails the install.
"use strict";

const fs = require("fs");
const path = require("path");
const { locate } = require("./lib/platform");

function linkNative() {
  if (process.platform === "win32") return;
  const found = locate();
  if (!found.bin) return; // the launcher explains what is missing when it runs
  const target = path.join(__dirname, "bin", "codex-img");
  const temp = `${target}.${process.pid}.tmp`;
  try {
    try {
      fs.linkSync(found.bin, temp);
    } catch (_) {
      fs.copyFileSync(found.bin, temp);
    }
    fs.chmodSync(temp, 0o755);
    // A rename replaces the directory entry, never the launcher's bytes: package managers that share
    // one copy of a file between projects (pnpm's store) keep an intact launcher.
    fs.renameSync(temp, target);
  } catch (_) {
    try {
      fs.unlinkSync(temp);
    } catch (_) {
      // Nothing was created.
    }
  }
}

try {
  linkNative();
} catch (_) {
  // The launcher stays.
}
