#!/usr/bin/env bash
# qwenctl's HTTP API with nothing but curl: models, a chat completion, a streamed one, and
# the data endpoints that show what was recorded.
#
#   bash examples/curl.sh
#
# Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1), OPENAI_API_KEY (default
# "unused"; one of qwenctl's API_KEYS when the server has any) and QWEN_MODEL (default
# qwen3-max). Uses jq to pretty-print when it is installed.
set -euo pipefail

base="${OPENAI_BASE_URL:-http://127.0.0.1:3000/v1}"
base="${base%/}"
key="${OPENAI_API_KEY:-unused}"
model="${QWEN_MODEL:-qwen3-max}"

# --fail-with-body: a non-2xx answer (e.g. 401 invalid_api_key) prints its OpenAI-style error
# and stops the script.
api() {
  curl --silent --show-error --fail-with-body -H "Authorization: Bearer $key" "$@"
}
pretty() {
  if command -v jq >/dev/null 2>&1; then jq .; else cat; echo; fi
}

echo "== GET $base/models"
api "$base/models" | pretty

echo "== POST $base/chat/completions"
api "$base/chat/completions" -H 'Content-Type: application/json' -d @- <<JSON | pretty
{"model": "$model", "messages": [{"role": "user", "content": "Hello from curl!"}]}
JSON

echo "== POST $base/chat/completions (stream)"
# --no-buffer prints each server-sent event as it arrives; the stream ends with data: [DONE].
api --no-buffer "$base/chat/completions" -H 'Content-Type: application/json' -d @- <<JSON
{"model": "$model", "stream": true, "stream_options": {"include_usage": true},
 "messages": [{"role": "user", "content": "Stream this, please."}]}
JSON

echo "== GET $base/sessions?limit=2 (what the store recorded)"
api "$base/sessions?limit=2" | pretty

echo "== GET $base/responses/stats"
api "$base/responses/stats" | pretty
