#!/usr/bin/env bash
# Drives a real `qwenctl serve` (in front of the standalone fake upstream) with the official
# OpenAI SDKs: Python `openai` from PyPI and `openai` from npm. Installs both itself, into
# tests/compat/.venv and tests/compat/node_modules. Everything listens on 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

cargo build --locked --quiet --bin qwenctl --example fake_qwen
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/qwenctl"
fake_bin="$target_dir/debug/examples/fake_qwen"

if [ ! -x "$here/.venv/bin/pytest" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
(cd "$here" && npm ci --no-audit --no-fund --silent)

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a command whose first stdout line names its URL; sets $url to it. (Not run in a
# subshell, so the pid lands in $pids and cleanup can stop it.)
start() {
  local name="$1"; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=("$!")
  url=""
  for _ in $(seq 1 100); do
    if grep -q 'http://' "$work/$name.out" 2>/dev/null; then
      url="$(grep -o 'http://[0-9.:]*' "$work/$name.out" | head -1)"
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$work/$name.err" >&2
  return 1
}

start fake "$fake_bin" --port 0
fake_url="$url"
cookie='token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig'
common=(env -i "PATH=$PATH" "HOME=$work" "QWEN_BASE_URL=$fake_url" "QWEN_COOKIES=$cookie"
  "QWEN_TOKEN=compat-umid" "PORT=0" "LOG_LEVEL=warn")
start serve "${common[@]}" "DATABASE_PATH=$work/open.db" "$bin" serve
serve_url="$url"
start keyed "${common[@]}" "DATABASE_PATH=$work/keyed.db" "API_KEYS=sk-compat" "$bin" serve
keyed_url="$url"

export QWENCTL_URL="$serve_url" QWENCTL_KEYED_URL="$keyed_url" FAKE_URL="$fake_url"
echo "compat: serve $serve_url, keyed $keyed_url, fake $fake_url"
"$here/.venv/bin/pytest" -q -p no:cacheprovider "$here/test_openai_python.py"
(cd "$here" && node --test openai_node.test.mjs)
