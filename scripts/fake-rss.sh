#!/usr/bin/env bash
# Memory of `qwenctl serve --fake-upstream` under sustained traffic, one command:
# `bash scripts/fake-rss.sh` (about a minute after the release build).
#
# Builds qwenctl and the load generator with --release, starts `qwenctl serve
# --fake-upstream` on 127.0.0.1 (port 0, its own scratch database, default settings), and
# drives it with examples/loadgen.rs in four interleaved kinds of chat completions: new
# conversations and 4-turn conversations (each client resends its history, so serve
# continues the upstream chat), each non-stream and streamed. It reads VmRSS from
# /proc/PID/status after the first FAKE_RSS_WARM requests (default 1,000) and then four
# more times up to FAKE_RSS_TOTAL (default 20,000), and fails when the last reading is more
# than FAKE_RSS_LIMIT_KB (default 2048) above the first, or when any request failed. The
# process holds both the proxy and the in-process fake, so both must stay flat.
# Everything is bounded by the request counts; the server is stopped on exit.
#
# Environment: FAKE_RSS_WARM, FAKE_RSS_TOTAL, FAKE_RSS_CONCURRENCY (default 8),
# FAKE_RSS_LIMIT_KB, and FAKE_RSS_ENV: extra VAR=value words for serve's environment, to
# see what a setting changes (e.g. FAKE_RSS_ENV="SESSION_TIMEOUT=10000").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

warm="${FAKE_RSS_WARM:-1000}"
total="${FAKE_RSS_TOTAL:-20000}"
conc="${FAKE_RSS_CONCURRENCY:-8}"
limit_kb="${FAKE_RSS_LIMIT_KB:-2048}"
if [ "$total" -le "$warm" ]; then
  echo "fake-rss: FAKE_RSS_TOTAL must exceed FAKE_RSS_WARM" >&2
  exit 2
fi

cargo build --release --locked --quiet --bin qwenctl --example loadgen

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
target="$(target_dir)"
bin="$target/release/qwenctl"
loadgen="$target/release/examples/loadgen"

# shellcheck disable=SC2086  # FAKE_RSS_ENV is meant to split into words
start serve env -i "PATH=$PATH" "HOME=$work" "XDG_DATA_HOME=$work/data" \
  "XDG_CACHE_HOME=$work/cache" "XDG_CONFIG_HOME=$work/config" "HOST=127.0.0.1" "PORT=0" \
  "LOG_LEVEL=warn" "DATABASE_PATH=$work/serve.db" ${FAKE_RSS_ENV:-} "$bin" serve --fake-upstream
serve_url="$url"
serve_pid="$pid"

# VmRSS, RssAnon (heap) and RssFile (mapped files, e.g. SQLite's WAL index) in KiB.
rss_kb() {
  awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2}' "/proc/$serve_pid/status"
}

# $1 requests in four equal parts: new and continued conversations, non-stream and stream.
drive() {
  local part=$(($1 / 4)) extra=$(($1 % 4)) i=0 turns stream n
  for turns in 1 4; do
    for stream in "" --stream; do
      n=$part
      [ "$i" -lt "$extra" ] && n=$((n + 1))
      i=$((i + 1))
      [ "$n" -gt 0 ] || continue
      # shellcheck disable=SC2086  # $stream is empty or one flag
      "$loadgen" --url "$serve_url" --requests "$n" --concurrency "$conc" --turns "$turns" \
        $stream --timeout 30 --label "turns=$turns${stream:+ stream}" >>"$work/runs.jsonl"
    done
  done
}

# Settles (in-flight answers are recorded, the 5 s housekeeping tick runs), then reads RSS.
reading() {
  sleep 6
  local rss anon file
  read -r rss anon file <<<"$(rss_kb)"
  printf '%6d requests: VmRSS %6d KiB (anon %d, file %d)\n' "$1" "$rss" "$anon" "$file" >&2
  echo "$1 $rss" >>"$work/readings"
}

echo "fake-rss: serve --fake-upstream at $serve_url (pid $serve_pid), $conc clients" >&2
drive "$warm"
reading "$warm"
done_count=$warm
for step in 1 2 3 4; do
  next=$((warm + (total - warm) * step / 4))
  drive $((next - done_count))
  done_count=$next
  reading "$done_count"
done

python3 - "$work/runs.jsonl" "$work/readings" "$limit_kb" <<'PY'
import json, sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
readings = [tuple(map(int, line.split())) for line in open(sys.argv[2]) if line.strip()]
limit = int(sys.argv[3])
ok = sum(r["requests_ok"] for r in runs)
errors = sum(r["errors"] for r in runs)
(first_n, first_kb), (last_n, last_kb) = readings[0], readings[-1]
growth = last_kb - first_kb
print(f"requests: {ok} ok, {errors} failed")
print("VmRSS after " + ", ".join(f"{n:,}: {kb / 1024:.1f} MiB" for n, kb in readings))
print(f"growth from {first_n:,} to {last_n:,} requests: {growth:+d} KiB (limit {limit} KiB)")
sys.exit(0 if errors == 0 and growth <= limit else 1)
PY
