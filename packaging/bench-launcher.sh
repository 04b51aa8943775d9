#!/usr/bin/env bash
# Measures what the npm package adds to starting codex-img: `codex-img --version` run bare (the binary in
# dist/'s platform package), through `npm install -g` (the install script links the binary in place of
# the launcher), through `npm install -g --ignore-scripts` (the JavaScript launcher) and through npx.
# Needs `cargo xtask dist` first and hyperfine (Debian: apt-get install hyperfine). Prints hyperfine's
# table and each mean as a ratio to the bare binary's. Installs into a temporary folder, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-100}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
launcher=$PWD/dist/codex-img-$version.tgz
platform_tgz=$(ls "$PWD"/dist/codex-img-*-"$version".tgz)
platform=$(basename "$platform_tgz" "-$version.tgz")
platform=${platform#codex-img-}
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-img-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export npm_config_cache=$work/npm-cache
offline=(--offline --no-audit --no-fund --loglevel=error)
timeout 300 npm install -g "${offline[@]}" --prefix "$work/linked" "$launcher" "$platform_tgz"
timeout 300 npm install -g "${offline[@]}" --ignore-scripts --prefix "$work/js" "$launcher" "$platform_tgz"
bare=$work/linked/lib/node_modules/@codex-img/$platform/bin/codex-img
npx="npx ${offline[*]} -y --package $launcher --package $platform_tgz codex-img"
$npx --version >/dev/null # the first npx run installs into its cache; the runs below reuse it
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $runs runs each"
timeout 1200 hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/times.json" \
  -n bare "$bare --version" \
  -n "npm -g (linked)" "$work/linked/bin/codex-img --version" \
  -n "npm -g --ignore-scripts (JS launcher)" "$work/js/bin/codex-img --version" \
  -n npx "$npx --version"
python3 - "$work/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["mean"]
for r in results:
    print(f"{r['command']:<40} mean {r['mean'] * 1000:8.1f} ms  median {r['median'] * 1000:8.1f} ms  {r['mean'] / base:6.1f}x bare")
PY
