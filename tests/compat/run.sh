#!/usr/bin/env bash
# Drives a real `qwenctl serve` (in front of the standalone fake upstream) with the official
# clients: the `openai` and `anthropic` SDKs, LangChain (`langchain-openai`) and the OpenAI
# Agents SDK (`openai-agents`) from PyPI, the `openai` SDK, the Vercel AI SDK (`ai`,
# `@ai-sdk/openai`), the Claude Code CLI (`@anthropic-ai/claude-code`, run headless by
# test_claude_code.py) and the Codex CLI (`@openai/codex`, run by test_codex.py) from npm.
# Installs them itself, into tests/compat/.venv and tests/compat/node_modules. Everything
# listens on 127.0.0.1 only. serve maps the clients' default model names (`claude-*`,
# `gpt-*`) to qwen3-max.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

cargo build --locked --quiet --bin qwenctl --example fake_qwen
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
bin="$(target_dir)/debug/qwenctl"
fake_bin="$(target_dir)/debug/examples/fake_qwen"

# The venv is kept between runs and reinstalled when requirements.txt changes.
if ! cmp -s "$here/requirements.txt" "$here/.venv/requirements.installed" 2>/dev/null; then
  [ -x "$here/.venv/bin/pip" ] || python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$here/.venv/requirements.installed"
fi
# node_modules likewise (the native binaries of Claude Code and Codex make `npm ci` cost
# seconds and ~0.5-1 GB).
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.lock.installed" 2>/dev/null; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
  cp "$here/package-lock.json" "$here/node_modules/.lock.installed"
fi

start fake "$fake_bin" --port 0
fake_url="$url"
cookie='token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig'
common=(env -i "PATH=$PATH" "HOME=$work" "QWEN_BASE_URL=$fake_url" "QWEN_COOKIES=$cookie"
  "QWEN_TOKEN=compat-umid" "PORT=0" "LOG_LEVEL=warn" "MODEL_ALIASES=claude-*=qwen3-max,gpt-*=qwen3-max")
start serve "${common[@]}" "DATABASE_PATH=$work/open.db" "$bin" serve
serve_url="$url"
start keyed "${common[@]}" "DATABASE_PATH=$work/keyed.db" "API_KEYS=sk-compat" "$bin" serve
keyed_url="$url"

export QWENCTL_URL="$serve_url" QWENCTL_KEYED_URL="$keyed_url" FAKE_URL="$fake_url"
echo "compat: serve $serve_url, keyed $keyed_url, fake $fake_url"
# Both suites run even when the first fails, so one run shows every failure.
status=0
"$here/.venv/bin/pytest" -q -p no:cacheprovider "$here"/test_*.py || status=1
(cd "$here" && node --test ./*.test.mjs) || status=1
exit "$status"
