// Finds the native codex-img binary for this machine: which platform package should hold it (one per
// operating system, CPU and, on Linux, C library), and where that package was installed. Shared by the
// launcher (bin/codex-img) and the install script (install.js), so both decide the same way.
"use strict";

const fs = require("fs");
const path = require("path");

const SCOPE = "@codex-img";

// `process.platform-process.arch` pairs that have a platform package. Linux ones come in a glibc and a
// musl build; every other system has one.
const SUPPORTED = new Set(["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64"]);

// True on a musl system (Alpine, ...). glibc's `ldd` is a script that names glibc, musl's names musl;
// reading it is much faster than `process.report`, which is the fallback when there is no `ldd`.
function isMusl() {
  try {
    return fs.readFileSync("/usr/bin/ldd", "latin1").includes("musl");
  } catch (_) {
    const report = process.report && process.report.getReport();
    return !(report && report.header && report.header.glibcVersionRuntime);
  }
}

// The platform packages that can run here, best first. The musl builds are static, so a glibc system
// can fall back to one; a glibc build cannot run on musl.
function candidates() {
  const key = `${process.platform}-${process.arch}`;
  if (!SUPPORTED.has(key)) return [];
  if (process.platform !== "linux") return [`${SCOPE}/${key}`];
  return isMusl() ? [`${SCOPE}/${key}-musl`] : [`${SCOPE}/${key}-gnu`, `${SCOPE}/${key}-musl`];
}

// `{bin, pkg}` for the first candidate that is installed, or `{missing: [names], key}` when none is.
function locate() {
  const exe = process.platform === "win32" ? "codex-img.exe" : "codex-img";
  const names = candidates();
  for (const pkg of names) {
    let manifest;
    try {
      manifest = require.resolve(`${pkg}/package.json`, { paths: [path.join(__dirname, "..")] });
    } catch (_) {
      continue;
    }
    const bin = path.join(path.dirname(manifest), "bin", exe);
    if (fs.existsSync(bin)) return { bin, pkg };
  }
  return { missing: names, key: `${process.platform}-${process.arch}` };
}

// What to tell a person when `locate` found nothing.
function missingMessage(found) {
  const cargo = "or install from source with a Rust toolchain: cargo install codex-img";
  if (found.missing.length === 0) {
    return `codex-img: there is no prebuilt binary for ${found.key}; ${cargo}\n`;
  }
  return (
    `codex-img: the native binary for ${found.key} is missing: the package ${found.missing[0]} ` +
    `is not installed.\nnpm installs it as an optional dependency of codex-img; it is skipped with ` +
    `--omit=optional or --no-optional, or when the lockfile was made on another platform.\n` +
    `Reinstall with optional dependencies (npm install codex-img --include=optional), ` +
    `install it directly (npm install ${found.missing[0]}), ${cargo}\n`
  );
}

module.exports = { candidates, locate, missingMessage };
