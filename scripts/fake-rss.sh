#!/usr/bin/env bash
# Memory of `qwenctl serve --fake-upstream` under sustained traffic, one command:
# `bash scripts/fake-rss.sh` (about two minutes after the release build).
#
# Builds qwenctl, the fake and the load generator with --release, then:
#   1. starts `qwenctl serve --fake-upstream` on 127.0.0.1 (port 0, its own scratch
#      database, default settings) and drives it with examples/loadgen.rs in four kinds of
#      chat completions: new conversations and 4-turn conversations (each client resends its
#      history, so serve continues the upstream chat), each non-stream and streamed;
#   2. for comparison, starts the fake on its own (examples/fake_qwen.rs with the limits
#      serve uses, `--limits small`) and drives it directly with the same number of
#      exchanges (a new chat plus one streamed completion each).
# For each process it reads VmRSS from /proc/PID/status after the first FAKE_RSS_WARM
# exchanges (default 1,000) and four more times up to FAKE_RSS_TOTAL (default 20,000). It
# fails when a request failed or when serve's last reading is more than FAKE_RSS_LIMIT_KB
# (default 2048) above its first. Everything is bounded by the request counts; the servers
# are stopped on exit.
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

cargo build --release --locked --quiet --bin qwenctl --example fake_qwen --example loadgen

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
target="$(target_dir)"
bin="$target/release/qwenctl"
fake_bin="$target/release/examples/fake_qwen"
loadgen="$target/release/examples/loadgen"
: >"$work/runs.jsonl"

# VmRSS, RssAnon (heap) and RssFile (mapped files, e.g. SQLite's WAL index) of $1, in KiB.
rss_kb() {
  awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2}' "/proc/$1/status"
}

# $1 requests to serve in four equal parts: new and continued conversations, non-stream
# and stream.
drive_serve() {
  local part=$(($1 / 4)) extra=$(($1 % 4)) i=0 turns stream n
  for turns in 1 4; do
    for stream in "" --stream; do
      n=$part
      [ "$i" -lt "$extra" ] && n=$((n + 1))
      i=$((i + 1))
      [ "$n" -gt 0 ] || continue
      # shellcheck disable=SC2086  # $stream is empty or one flag
      "$loadgen" --url "$target_url" --requests "$n" --concurrency "$conc" --turns "$turns" \
        $stream --timeout 30 >>"$work/runs.jsonl"
    done
  done
}

# $1 exchanges straight to the fake: a new chat and one streamed completion each.
drive_fake() {
  "$loadgen" --url "$target_url" --target qwen --requests "$1" --concurrency "$conc" \
    --timeout 30 >>"$work/runs.jsonl"
}

# Settles (in-flight answers are recorded, serve's 5 s housekeeping tick runs), then
# appends "<name> <exchanges> <VmRSS> <anon> <file>" to the readings.
reading() {
  sleep 6
  local rss anon file
  read -r rss anon file <<<"$(rss_kb "$target_pid")"
  printf '%-6s %6d exchanges: VmRSS %6d KiB (anon %d, file %d)\n' \
    "$1" "$2" "$rss" "$anon" "$file" >&2
  echo "$1 $2 $rss $anon $file" >>"$work/readings"
}

# The warm-up and four more steps up to $total against $target_url, with drive_$1.
measure() {
  local name="$1" done_count step next
  "drive_$name" "$warm"
  reading "$name" "$warm"
  done_count=$warm
  for step in 1 2 3 4; do
    next=$((warm + (total - warm) * step / 4))
    "drive_$name" $((next - done_count))
    done_count=$next
    reading "$name" "$done_count"
  done
  kill "$target_pid"
  wait "$target_pid" 2>/dev/null || true
}

# shellcheck disable=SC2086  # FAKE_RSS_ENV is meant to split into words
start serve env -i "PATH=$PATH" "HOME=$work" "XDG_DATA_HOME=$work/data" \
  "XDG_CACHE_HOME=$work/cache" "XDG_CONFIG_HOME=$work/config" "HOST=127.0.0.1" "PORT=0" \
  "LOG_LEVEL=warn" "DATABASE_PATH=$work/serve.db" ${FAKE_RSS_ENV:-} "$bin" serve --fake-upstream
target_url="$url"
target_pid="$pid"
echo "fake-rss: serve --fake-upstream at $target_url, $conc clients" >&2
measure serve

start fake "$fake_bin" --port 0 --limits small
target_url="$url"
target_pid="$pid"
echo "fake-rss: fake_qwen --limits small at $target_url, $conc clients" >&2
measure fake

python3 - "$work/runs.jsonl" "$work/readings" "$limit_kb" <<'PY'
import json, sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
readings = {}
for line in open(sys.argv[2]):
    name, n, rss, anon, file = line.split()
    readings.setdefault(name, []).append((int(n), int(rss), int(anon), int(file)))
limit = int(sys.argv[3])
ok = sum(r["requests_ok"] for r in runs)
errors = sum(r["errors"] for r in runs)
print(f"requests: {ok} ok, {errors} failed")
growth = {}
for name, title in (("serve", "serve --fake-upstream"), ("fake", "the fake alone")):
    rows = readings[name]
    (n0, rss0, anon0, file0), (n1, rss1, anon1, file1) = rows[0], rows[-1]
    growth[name] = rss1 - rss0
    print(f"{title}: VmRSS after " + ", ".join(f"{n:,}: {kb / 1024:.1f} MiB" for n, kb, _, _ in rows))
    print(f"  growth from {n0:,} to {n1:,}: {rss1 - rss0:+d} KiB "
          f"(anon {anon1 - anon0:+d}, file {file1 - file0:+d})")
print(f"serve --fake-upstream: {growth['serve']:+d} KiB against a limit of {limit} KiB")
sys.exit(0 if errors == 0 and growth["serve"] <= limit else 1)
PY
