#!/usr/bin/env bash
# What one Claude Code turn costs `serve` in CPU, end to end: the real recorded requests of
# tests/compat/fixtures/claude-code (a ~48 KB body, 11 tools, a large system prompt), sent
# as Claude Code sends them (streamed, `?beta=true`, its headers) to a release `serve` in front
# of the standalone fake, persistence on. Counts serve's user+system CPU (from /proc) over
# BENCH_TURNS turns (default 300) of each recorded turn, and prints it per turn: the figure
# docs/BENCHMARKS.md records ("Tool turns"). Everything listens on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
turns="${BENCH_TURNS:-300}"

cargo build --release --locked --quiet --bin qwenctl --example fake_qwen
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
bin="$(target_dir)/release/qwenctl"
fake_bin="$(target_dir)/release/examples/fake_qwen"
cookie='token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig'

start fake "$fake_bin" --port 0
fake_url="$url"
start serve env -i "PATH=$PATH" "HOME=$work" "QWEN_BASE_URL=$fake_url" "QWEN_COOKIES=$cookie" \
  "QWEN_TOKEN=bench" "PORT=0" "LOG_LEVEL=warn" "DATABASE_PATH=$work/serve.db" \
  "MODEL_ALIASES=claude-*=qwen3-max" "$bin" serve
serve_url="$url"
serve_pid="$pid"

python3 - "$serve_url" "$serve_pid" "$turns" "$root/tests/compat/fixtures/claude-code" <<'PY'
import json, os, sys, time, http.client, urllib.parse

url, pid, turns, fixtures = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
host = urllib.parse.urlparse(url)
tick = os.sysconf("SC_CLK_TCK")

def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick

conn = http.client.HTTPConnection(host.hostname, host.port)
def send(body, headers):
    conn.request("POST", "/v1/messages?beta=true", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status == 200, (resp.status, data[:300])
    assert b"event: message_stop" in data, data[-300:]

for name in ("messages-write-turn1.json", "messages-write-turn2.json"):
    recorded = json.load(open(os.path.join(fixtures, name)))
    body = json.dumps(recorded["body"]).encode()
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
               "x-api-key": "unused", "anthropic-beta": "claude-code-20250219"}
    for _ in range(10):
        send(body, headers)
    before, start = cpu(), time.perf_counter()
    for _ in range(turns):
        send(body, headers)
    used, wall = cpu() - before, time.perf_counter() - start
    print(f"{name}: {len(body) // 1024} KB body, {turns} turns: serve CPU "
          f"{used * 1000 / turns:.2f} ms per turn (wall {wall * 1000 / turns:.1f} ms per turn)")
PY
