#!/usr/bin/env bash
# Reads on a large store, one command: `bash scripts/store-reads.sh` (a few minutes after the
# release build). The figures of docs/STORE.md, "Reads on a large store (measured)".
#
# Builds qwenctl, the store generator and the load generator with --release, then:
#   1. writes a store of STORE_SESSIONS sessions of 10 exchanges (default 4,700: about
#      300 MB) with examples/gen_store.rs, leaving the planner statistics of a short first
#      run in it (finding 1 of issue 18), unless STORE_DB names an existing file to use;
#   2. times the read commands on it, each its own process opening the file read-only:
#      `stats` (all, by model, by day), `sessions export --all` (to a file), `sessions show`
#      of one session, with their peak RSS;
#   3. starts `qwenctl serve --fake-upstream` on it and times the data API's reads of one
#      session and of everything with curl;
#   4. drives that serve with examples/loadgen.rs for 60 s (STORE_LOAD_CONCURRENCY clients,
#      4-turn conversations) while `sessions export --all` and `stats` run beside it,
#      sampling the WAL's size every 100 ms; reports the chats' latency, the largest WAL,
#      and the WAL's size once the load has stopped and the store has been idle for 3 s.
# Each figure is one line `name seconds [peak_rss_kib]`; nothing is asserted (the bounds are
# asserted by the tests, on plans, row counts and WAL sizes, not on timings).
#
# Environment: STORE_SESSIONS, STORE_DB, STORE_BIN (another qwenctl binary to measure, e.g.
# an older release), STORE_LOAD_CONCURRENCY (default 8).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

sessions="${STORE_SESSIONS:-4700}"
conc="${STORE_LOAD_CONCURRENCY:-8}"

cargo build --release --locked --quiet --bin qwenctl --example gen_store --example loadgen

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
target="$(target_dir)"
bin="${STORE_BIN:-$target/release/qwenctl}"
loadgen="$target/release/examples/loadgen"

db="${STORE_DB:-}"
if [ -z "$db" ]; then
  db="$work/big.db"
  "$target/release/examples/gen_store" --out "$db" --sessions "$sessions" --stale-statistics
fi
echo "store $(stat -c %s "$db") bytes"
export DATABASE_PATH="$db" HOME="$work"

# `name seconds peak_rss_kib` for the command after the name.
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  echo "$name $(cat "$work/time")"
}

timed stats "$bin" stats
timed stats_by_model "$bin" stats --by model
timed stats_by_day "$bin" stats --by day
timed export_all "$bin" sessions export --all -o "$work/all.jsonl"
echo "export_all_bytes $(stat -c %s "$work/all.jsonl")"
id="$("$bin" sessions list --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
timed sessions_show "$bin" sessions show "$id" --json
timed sessions_list "$bin" sessions list --json

start serve "$bin" serve --fake-upstream --port 0 --database "$db"
serve_pid="$pid"
get() {
  local name="$1" path="$2"
  echo "$name $(curl -s -o /dev/null -w '%{time_total}' "$url$path")"
}
get api_session "/v1/sessions/$id"
get api_session_requests "/v1/sessions/$id/requests"
get api_session_stats "/v1/sessions/$id/stats"
get api_session_responses "/v1/responses?session_id=$id"
get api_sessions "/v1/sessions"
get api_requests "/v1/requests"
get api_responses "/v1/responses"
get api_responses_model "/v1/responses?model=qwen3-max"
get api_responses_stats "/v1/responses/stats"

wal="$db-wal"
: >"$work/wal"
(
  while kill -0 "$serve_pid" 2>/dev/null; do
    stat -c %s "$wal" 2>/dev/null >>"$work/wal" || true
    sleep 0.1
  done
) &
pids+=("$!")
"$loadgen" --url "$url" --concurrency "$conc" --turns 4 --duration 60 --label load \
  >"$work/load.json" &
load_pid=$!
sleep 2
timed export_all_under_load "$bin" sessions export --all -o "$work/all2.jsonl"
timed stats_under_load "$bin" stats
wait "$load_pid"
python3 - "$work/load.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = r.get("total_ms") or {}
print("load_chats_ok", r.get("requests_ok"), "errors", r.get("errors"),
      "p50_ms", t.get("p50"), "p99_ms", t.get("p99"), "max_ms", t.get("max"))
EOF
echo "wal_max_bytes $(sort -n "$work/wal" | tail -1)"
sleep 3.5
echo "wal_idle_bytes $(stat -c %s "$wal" 2>/dev/null || echo 0)"
