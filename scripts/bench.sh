#!/usr/bin/env bash
# The benchmarks of issues 8 and 17, one command: `bash scripts/bench.sh`.
#
# Builds qwenctl, the fake upstream and the load generator with --release, then runs two
# scenarios (docs/BENCHMARKS.md describes both):
#
# Chat load (issue 8). For a paced fake (16 answer chunks x 10 ms) and a zero-delay fake (16
# chunks, no pauses):
#   - drives the fake directly (what serve asks of it per request: new chat + streamed
#     completion) at 1, 100 and 1,000 concurrent clients, as the baseline;
#   - drives a fresh `qwenctl serve` per scenario, persistence on and off, non-stream and
#     stream, at 1, 100 and 1,000 concurrent clients;
# plus the targets' own loads: 200 concurrent paced streams (serve vs. direct), a paced 200
# non-stream requests/s (added latency), and the open-streams runs of issue 17's memory
# targets (1,000 and 10,000 clients each holding one stream open at once, against a fake that
# takes 16 x 1 s per answer: errors, serve's RSS with the most streams open, KiB per stream).
# Every run is bounded (BENCH_SECONDS, default 8 s; the target runs BENCH_TARGET_SECONDS,
# default 10 s; an open-streams run ends when its one stream per client has).
#
# Agent load (issue 17). For each wire format (chat completions, Anthropic messages,
# Responses resending the input, Responses with `previous_response_id`) and each number of
# sessions (10, 100): a fresh zero-delay fake and a fresh serve (persistence on); one session
# first, whose upstream messages the fake's log keeps (also the warm-up); then the sessions in
# lock step, 100 streamed turns each, 20 tools, ~3 KB more history per turn (to ~300 KB),
# every turn a tool call and its result; then the captured upstream messages replayed
# straight to a fresh fake by as many sessions, the baseline of the added latency. Per turn:
# latencies, serve's CPU and RSS, database growth, bytes sent upstream. Then the conversation
# index under many sessions: 1,000 chat sessions of as many turns, with small requests (2
# tools, ~300 bytes a turn), whose turn time must not grow with the history.
#
# Everything listens on 127.0.0.1. Results go between the markers of docs/BENCHMARKS.md
# (`bench:` for the chat load, `bench-agent:` for the agent load; the rest of the file is
# prose that the script leaves alone); raw JSON lines are kept in target/bench/.
#
# Options: --quick (seconds-long runs and 2 agent sessions of 6 turns, to see that everything
# runs; writes target/bench/BENCHMARKS.quick.md instead of docs/BENCHMARKS.md unless BENCH_OUT
# is set), --only chat|agent (one scenario; the other's block is left as it is).
# Environment: BENCH_SECONDS, BENCH_TARGET_SECONDS, BENCH_CONCURRENCY (default "1 100 1000"),
# BENCH_AGENT_SESSIONS (default "10 100"), BENCH_AGENT_TURNS (default 100),
# BENCH_INDEX_SESSIONS (default 1000: the conversation-index run),
# BENCH_AGENT_APIS (default "chat messages responses responses-chained"), BENCH_OUT,
# BENCH_OPEN_STREAMS (default "1000 10000"; --quick: 1000), BENCH_HOLD_DELAY_MS (the hold
# fake's pause before each chunk: default 1000; --quick: 250).
#
# `bash scripts/bench.sh --stores` runs the chat-load rows instead (serve with persistence
# on, both fakes, both modes, every concurrency, and the two target loads) once on SQLite and
# once on PostgreSQL, side by side, and writes them between the bench-stores markers of the
# same file. The PostgreSQL server is QWENCTL_TEST_PG_URL's, or a private one started by
# scripts/pg.sh with PostgreSQL's default durability; each run gets a schema of its own.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

quick=""
stores_mode=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --stores) stores_mode=1 ;;
    --only)
      only="${2:-}"
      shift
      [ "$only" = chat ] || [ "$only" = agent ] || { echo "--only takes chat or agent" >&2; exit 2; }
      ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
run_chat=1
run_agent=1
[ "$only" = agent ] && run_chat=""
[ "$only" = chat ] && run_agent=""

# Open streams (issue 17's memory targets): this many clients each open one stream at once.
# The hold fake paces its 16 chunks so that the first stream is still open when the last
# one starts (opening 10,000 takes serve a few seconds).
if [ -n "$quick" ]; then
  open_streams="${BENCH_OPEN_STREAMS:-1000}"
  hold_delay_ms="${BENCH_HOLD_DELAY_MS:-250}"
else
  open_streams="${BENCH_OPEN_STREAMS:-1000 10000}"
  hold_delay_ms="${BENCH_HOLD_DELAY_MS:-1000}"
fi

if [ -n "$quick" ]; then
  secs="${BENCH_SECONDS:-1}"
  target_secs="${BENCH_TARGET_SECONDS:-1}"
  levels="${BENCH_CONCURRENCY:-1 10}"
  agent_sessions="${BENCH_AGENT_SESSIONS:-2}"
  agent_turns="${BENCH_AGENT_TURNS:-6}"
  index_sessions="${BENCH_INDEX_SESSIONS:-20}"
else
  secs="${BENCH_SECONDS:-8}"
  target_secs="${BENCH_TARGET_SECONDS:-10}"
  levels="${BENCH_CONCURRENCY:-1 100 1000}"
  agent_sessions="${BENCH_AGENT_SESSIONS:-10 100}"
  agent_turns="${BENCH_AGENT_TURNS:-100}"
  index_sessions="${BENCH_INDEX_SESSIONS:-1000}"
fi
agent_apis="${BENCH_AGENT_APIS:-chat messages responses responses-chained}"
started_at="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
load_before="$(uptime)"

cargo build --release --locked --quiet --bin qwenctl --example fake_qwen --example loadgen
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/qwenctl"
fake_bin="$target_dir/release/examples/fake_qwen"
loadgen="$target_dir/release/examples/loadgen"
clk_tck="$(getconf CLK_TCK)"

if [ -n "${BENCH_OUT:-}" ]; then
  out_doc="$BENCH_OUT"
elif [ -n "$quick" ]; then
  out_doc="$target_dir/bench/BENCHMARKS.quick.md"
  mkdir -p "$target_dir/bench"
  cp docs/BENCHMARKS.md "$out_doc"
else
  out_doc="docs/BENCHMARKS.md"
fi

# 1,000 clients need ~3,000 descriptors across the three processes, 10,000 open streams
# 20,000 in serve alone (a client and an upstream connection each); ask for plenty.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
files="$(ulimit -n)"
[ "$files" = unlimited ] && files=1048576

results_dir="$target_dir/bench"
mkdir -p "$results_dir"
results="$results_dir/results.jsonl"
extras="$results_dir/extras.jsonl"
: >"$results"
: >"$extras"

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

cookie='token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig'

# The store of the next serve: `sqlite` (a file of its own) or `postgres` (a schema of its
# own in $pg_url).
store=sqlite
serve_schema=""

# Starts a fresh serve (own database) against $1 with persistence $2; sets $serve_url,
# $serve_pid, $serve_db (and $serve_schema on PostgreSQL).
start_serve() {
  local fake_url="$1" persist="$2" name="$3"
  serve_db="$work/$name.db"
  local database=("DATABASE_PATH=$serve_db")
  serve_schema=""
  if [ "$store" = postgres ]; then
    serve_schema="bench_${name//-/_}"
    psql -q "$pg_url" -c "CREATE SCHEMA $serve_schema" >/dev/null
    local sep='?'
    case "$pg_url" in *'?'*) sep='&' ;; esac
    database=("DATABASE_URL=$pg_url${sep}options=-c%20search_path%3D$serve_schema")
  fi
  start "$name" env -i "PATH=$PATH" "HOME=$work" "XDG_DATA_HOME=$work/data" \
    "XDG_CACHE_HOME=$work/cache" "QWEN_BASE_URL=$fake_url" "QWEN_COOKIES=$cookie" \
    "QWEN_TOKEN=bench-umid" "HOST=127.0.0.1" "PORT=0" "LOG_LEVEL=warn" \
    "${database[@]}" "ENABLE_PERSISTENCE=$persist" "$bin" serve
  serve_url="$url"
  serve_pid="$pid"
}

# Stops serve gracefully (SIGTERM) and waits for it.
stop_serve() {
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}

db_bytes() {
  if [ -n "$serve_schema" ]; then
    psql -qtA "$pg_url" -c "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = '$serve_schema' AND c.relkind = 'r'"
    return
  fi
  local total=0 f
  for f in "$serve_db" "$serve_db-wal"; do
    [ -f "$f" ] && total=$((total + $(stat -c %s "$f")))
  done
  echo "$total"
}

db_rows() {
  if [ -n "$serve_schema" ]; then
    psql -qtA "$pg_url" -c "SELECT count(*) FROM $serve_schema.responses"
    return
  fi
  [ -f "$serve_db" ] || { echo 0; return; }
  python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from responses").fetchone()[0])' "$serve_db"
}

# One loadgen run; extra arguments go to loadgen. Appends its JSON line to $results.
run_load() {
  "$loadgen" --clk-tck "$clk_tck" "$@" >>"$results"
  tail -1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
t = r["ttfb_ms"] or {}
label, rps, errors = r["label"], r["requests_per_s"], r["errors"]
p50, p99 = t.get("p50", 0), t.get("p99", 0)
print(f"  {label:<58} {rps:>9.1f} req/s  ttfb p50 {p50:>8.2f} ms  p99 {p99:>8.2f} ms  errors {errors}", file=sys.stderr)'
}

# A fresh fake upstream paced at $1 ms per chunk; sets $fake_url and $fake_pid. Each
# scenario gets a new one, so no run inherits the fake's history (its request log and
# chats, bounded but up to 4,096 of each) from the runs before it.
start_fake() {
  local more=()
  # Room for every chat of an open-streams run (the default keeps 4,096).
  [ "${2:-}" = hold ] && more=(--chats 32768)
  start "fake-$RANDOM" "$fake_bin" --port 0 --chunk-delay-ms "$1" --answer-chunks 16 "${more[@]}"
  fake_url="$url"
  fake_pid="$pid"
}

stop_fake() {
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
}

# The fakes by name: paced (10 ms per chunk), zero (no pause), hold (slow enough that every
# stream of an open-streams run is open at once; see below).
delay_of() {
  case "$1" in
    paced) echo 10 ;;
    hold) echo "$hold_delay_ms" ;;
    *) echo 0 ;;
  esac
}

# A whole serve scenario: fresh fake, fresh serve, idle RSS, warm-up, load, graceful stop,
# database size. Arguments: fake persist mode clients seconds [label suffix [loadgen args]].
serve_scenario() {
  local fake_name="$1" persist="$2" mode="$3" conc="$4" dur="$5"
  local suffix="${6:-}"
  shift 6 || shift $#
  local label="serve fake=$fake_name persist=$persist mode=$mode c=$conc$suffix"
  local stream_flag=()
  [ "$mode" = stream ] && stream_flag=(--stream)
  start_fake "$(delay_of "$fake_name")" "$fake_name"
  start_serve "$fake_url" "$persist" "serve-$RANDOM"
  sleep 0.5
  local idle_start
  idle_start="$(rss_kb "$serve_pid")"
  # Warm-up (5 requests): the model list, the first chat, the database pages; not measured.
  # On the hold fake, whose answers take seconds, all five at once.
  local warm_conc=1
  [ "$fake_name" = hold ] && warm_conc=5
  "$loadgen" --url "$serve_url" --requests 5 --concurrency "$warm_conc" "${stream_flag[@]}" >/dev/null
  sleep 0.3
  local idle_warm
  idle_warm="$(rss_kb "$serve_pid")"
  run_load --url "$serve_url" --concurrency "$conc" --duration "$dur" "${stream_flag[@]}" \
    --pid "$serve_pid" --pid "$fake_pid" --label "$label" --timeout 60 "$@"
  stop_serve
  stop_fake
  local bytes rows
  bytes="$(db_bytes)"
  rows="$(db_rows)"
  printf '{"label": "%s", "idle_rss_start_kb": %s, "idle_rss_warm_kb": %s, "db_bytes": %s, "db_rows": %s}\n' \
    "$label" "$idle_start" "$idle_warm" "$bytes" "$rows" >>"$extras"
}

# The same load straight to a fresh fake. Arguments: fake clients seconds [suffix [args]].
direct_scenario() {
  local fake_name="$1" conc="$2" dur="$3"
  local suffix="${4:-}"
  shift 4 || shift $#
  start_fake "$(delay_of "$fake_name")"
  # Warm-up, as for serve.
  "$loadgen" --url "$fake_url" --target qwen --requests 5 >/dev/null
  run_load --url "$fake_url" --target qwen --concurrency "$conc" --duration "$dur" \
    --pid "$fake_pid" --label "direct fake=$fake_name c=$conc$suffix" --timeout 60 "$@"
  stop_fake
}

if [ -n "$stores_mode" ]; then
  if [ -z "${QWENCTL_TEST_PG_URL:-}" ]; then
    # With PostgreSQL's default durability (fsync on every commit), unlike the tests.
    export QWENCTL_PG_DURABLE=1
    # shellcheck source=scripts/pg.sh
    source "$root/scripts/pg.sh"
    # pg.sh's exit trap replaces lib.sh's: stop both.
    trap 'pg_stop; cleanup' EXIT
  fi
  pg_url="$QWENCTL_TEST_PG_URL"
  pg_version="$(psql -qtA "$pg_url" -c 'SHOW server_version' | awk '{print $1}')"
  echo "benchmark --stores: ${secs}s per run, ${target_secs}s per target run, concurrency: $levels, PostgreSQL $pg_version" >&2
  for fake_name in paced zero; do
    for mode in nonstream stream; do
      for conc in $levels; do
        for store in sqlite postgres; do
          serve_scenario "$fake_name" true "$mode" "$conc" "$secs" " store=$store"
        done
      done
    done
  done
  for round in 1 2; do
    for store in sqlite postgres; do
      serve_scenario paced true stream 200 "$target_secs" " store=$store target=200-streams round=$round"
      serve_scenario zero true nonstream 50 "$target_secs" " store=$store target=rate-200 round=$round" --rate 200
    done
  done
  BENCH_LEVELS="$levels" BENCH_SECS="$secs" BENCH_TARGET_SECS="$target_secs" \
  BENCH_STARTED="$started_at" BENCH_FINISHED="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
  BENCH_LOAD_BEFORE="$load_before" BENCH_LOAD_AFTER="$(uptime)" BENCH_PG="$pg_version" \
  python3 - "$results" "$extras" "$out_doc" <<'PY'
import json, os, subprocess, sys

results_path, extras_path, doc_path = sys.argv[1:4]
runs = {}
for path in (results_path, extras_path):
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            runs.setdefault(r["label"], {}).update(r)
env = os.environ
levels = env["BENCH_LEVELS"].split()

def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()

def pct(r, key, p):
    return (r.get(key) or {}).get(p)

def ms(v):
    return "–" if v is None else f"{v:.2f}"

def proc(r):
    ps = r.get("processes") or []
    return ps[0] if ps else {}

def label(fake, mode, c, store, suffix=""):
    return f"serve fake={fake} persist=true mode={mode} c={c} store={store}{suffix}"

def per_req(r):
    rows = r.get("db_rows") or 0
    return "–" if not rows or r.get("db_bytes") is None else f"{int(r['db_bytes']) / int(rows):.0f}"

lines = []
w = lines.append
w(f"Command: `bash scripts/bench.sh --stores` (BENCH_SECONDS={env['BENCH_SECS']}, BENCH_TARGET_SECONDS={env['BENCH_TARGET_SECS']})  ")
w(f"Date: {env['BENCH_STARTED']} to {env['BENCH_FINISHED']}  ")
w(f"Machine: {sh(['nproc'])} cores, {sh(['uname', '-sr'])}; PostgreSQL {env['BENCH_PG']} on the same machine (its CPU is not in the serve columns)  ")
w(f"Commit: {sh(['git', 'rev-parse', '--short', 'HEAD'])} (plus uncommitted changes: {'yes' if sh(['git', 'status', '--porcelain']) else 'no'})  ")
w(f"Load before: `{env['BENCH_LOAD_BEFORE'].strip()}`  ")
w(f"Load after: `{env['BENCH_LOAD_AFTER'].strip()}`")
w("")
w("| Fake | Mode | Clients | Store | req/s | TTFB p50 / p99 ms | total p50 / p99 ms | errors | peak RSS MB | serve CPU-s / 1k req | responses | DB bytes / req |")
w("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
def row(name, r, fake, mode, c, store):
    w(f"| {fake} | {mode} | {c} | {store} | {r['requests_per_s']:.1f} | {ms(pct(r, 'ttfb_ms', 'p50'))} / {ms(pct(r, 'ttfb_ms', 'p99'))} | "
      f"{ms(pct(r, 'total_ms', 'p50'))} / {ms(pct(r, 'total_ms', 'p99'))} | {r['errors']} | "
      f"{(proc(r).get('hwm_kb') or 0) / 1024:.1f} | {proc(r).get('cpu_s_per_1000_requests', 0):.2f} | {r.get('db_rows', '–')} | {per_req(r)} |")
for fake in ("paced", "zero"):
    for mode in ("nonstream", "stream"):
        for c in levels:
            for store in ("sqlite", "postgres"):
                r = runs.get(label(fake, mode, c, store))
                if r and "requests_per_s" in r:
                    row(None, r, fake, mode, c, store)
w("")
w("Target loads (200 paced streams; a paced 200 non-stream requests/s), two rounds each:")
w("")
w("| Fake | Mode | Clients | Store | req/s | TTFB p50 / p99 ms | total p50 / p99 ms | errors | peak RSS MB | serve CPU-s / 1k req | responses | DB bytes / req |")
w("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for rnd in ("1", "2"):
    for fake, mode, c, target in (("paced", "stream", "200", "200-streams"), ("zero", "nonstream", "50", "rate-200")):
        for store in ("sqlite", "postgres"):
            r = runs.get(label(fake, mode, c, store, f" target={target} round={rnd}"))
            if r and "requests_per_s" in r:
                row(None, r, fake, mode, f"{c} ({target}, round {rnd})", store)
generated = "\n".join(lines)
begin, end = "<!-- bench-stores:begin -->", "<!-- bench-stores:end -->"
doc = open(doc_path).read()
if begin not in doc or end not in doc:
    doc = doc.rstrip() + f"\n\n{begin}\n{end}\n"
head, rest = doc.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc_path, "w").write(f"{head}{begin}\n{generated}\n{end}{tail}")
print(generated)
PY
  echo "wrote $out_doc" >&2
  exit 0
fi

# The size of a database that holds nothing yet (migrations only).
start_fake 0
start_serve "$fake_url" true serve-empty
sleep 0.3
stop_serve
stop_fake
empty_db_bytes="$(db_bytes)"

# One agent scenario (see the top of this file). Arguments: api sessions turns, then an
# optional run name (default `agent`) and loadgen options for the requests' shape.
agent_scenario() {
  local api="$1" sessions="$2" turns="$3" name="${4:-agent}"
  local shape=("${@:5}")
  local label="$name api=$api sessions=$sessions"
  local replay="$work/replay-$name-$api-$sessions.json"
  start_fake 0
  start_serve "$fake_url" true "serve-$RANDOM"
  sleep 0.5
  local idle_start
  idle_start="$(rss_kb "$serve_pid")"
  # One session first: its upstream messages become the direct baseline, and it warms up
  # serve (model list, database pages). Not measured.
  "$loadgen" --agent --api "$api" --stream --url "$serve_url" --concurrency 1 --turns "$turns" \
    "${shape[@]}" --fake-url "$fake_url" --capture "$replay" --label "capture $label" >/dev/null
  run_agent --agent --api "$api" --stream --url "$serve_url" --concurrency "$sessions" \
    --turns "$turns" "${shape[@]}" --pid "$serve_pid" --pid "$fake_pid" --fake-url "$fake_url" \
    --db "$serve_db" --label "$label"
  stop_serve
  stop_fake
  printf '{"label": "%s", "idle_rss_start_kb": %s, "db_bytes": %s}\n' \
    "$label" "$idle_start" "$(db_bytes)" >>"$extras"
  # The same upstream work straight to a fresh fake.
  start_fake 0
  run_agent --agent --target qwen --replay "$replay" --url "$fake_url" \
    --concurrency "$sessions" --turns "$turns" "${shape[@]}" --pid "$fake_pid" \
    --fake-url "$fake_url" --label "$name-direct api=$api sessions=$sessions"
  stop_fake
}

# One agent run of loadgen; appends its JSON line to $results.
run_agent() {
  "$loadgen" --clk-tck "$clk_tck" "$@" >>"$results"
  tail -1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
t = r["total_ms"] or {}
label, ok, errors = r["label"], r["turns_ok"], r["errors"]
p50, p99 = t.get("p50", 0), t.get("p99", 0)
print(f"  {label:<50} {ok:>6} turns  p50 {p50:>8.2f} ms  p99 {p99:>8.2f} ms  errors {errors}", file=sys.stderr)'
}

if [ -n "$run_chat" ]; then
  echo "chat load: ${secs}s per run, ${target_secs}s per target run, concurrency: $levels" >&2
  for fake_name in paced zero; do
    for conc in $levels; do
      direct_scenario "$fake_name" "$conc" "$secs"
    done
    for persist in true false; do
      for mode in nonstream stream; do
        for conc in $levels; do
          serve_scenario "$fake_name" "$persist" "$mode" "$conc" "$secs"
        done
      done
    done
  done
  # The targets' own loads, interleaved and repeated so that a burst of other work on a
  # shared machine does not land on one side of a comparison only.
  for round in 1 2; do
    # 200 concurrent paced streams: serve (persistence on and off) vs. straight to the fake.
    direct_scenario paced 200 "$target_secs" " target=200-streams round=$round"
    serve_scenario paced true stream 200 "$target_secs" " target=200-streams round=$round"
    serve_scenario paced false stream 200 "$target_secs" " target=200-streams round=$round"
    # A paced 200 non-stream requests/s: the latency serve adds.
    direct_scenario zero 50 "$target_secs" " target=rate-200 round=$round" --rate 200
    serve_scenario zero true nonstream 50 "$target_secs" " target=rate-200 round=$round" --rate 200
    serve_scenario zero false nonstream 50 "$target_secs" " target=rate-200 round=$round" --rate 200
  done
fi

# N clients each open one stream through serve at once (the hold fake keeps them open for
# 16 x BENCH_HOLD_DELAY_MS); loadgen counts the answers open at each 50 ms sample and serve's
# RSS then. serve's `auto` MAX_CONNECTIONS is half the file limit past 64 descriptors (each
# stream holds a client and an upstream connection); where the hard limit is lower than N
# needs, the run opens as many as serve may hold and the table says so.
if [ -n "$run_chat" ]; then
  max_streams=$(( (files - 64) / 2 ))
  for n in $open_streams; do
    held="$n"
    [ "$held" -gt "$max_streams" ] && held="$max_streams"
    serve_scenario hold true stream "$held" 120 " target=open-streams asked=$n" \
      --requests "$held"
  done
fi

if [ -n "$run_agent" ]; then
  echo "agent load: $agent_turns turns per session, sessions: $agent_sessions, APIs: $agent_apis" >&2
  for sessions in $agent_sessions; do
    for api in $agent_apis; do
      agent_scenario "$api" "$sessions" "$agent_turns"
    done
  done
  # The conversation index under many sessions: $index_sessions concurrent chat sessions of
  # the same number of turns, with small requests (2 tools, ~300 bytes a turn) so that the
  # run is about finding each conversation, not about parsing 300 KB.
  agent_scenario chat "$index_sessions" "$agent_turns" index --tools 2 --turn-bytes 300
fi

load_after="$(uptime)"
finished_at="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

BENCH_EMPTY_DB="$empty_db_bytes" BENCH_LEVELS="$levels" BENCH_SECS="$secs" \
BENCH_RUN_CHAT="$run_chat" BENCH_RUN_AGENT="$run_agent" BENCH_QUICK="$quick" \
BENCH_AGENT_TURNS="$agent_turns" BENCH_AGENT_SESSIONS="$agent_sessions" \
BENCH_INDEX_SESSIONS="$index_sessions" \
BENCH_TARGET_SECS="$target_secs" BENCH_STARTED="$started_at" BENCH_FINISHED="$finished_at" \
BENCH_FILES="$files" BENCH_HOLD_DELAY_MS="$hold_delay_ms" \
BENCH_LOAD_BEFORE="$load_before" BENCH_LOAD_AFTER="$load_after" \
python3 - "$results" "$extras" "$out_doc" <<'PY'
import json, os, sys, subprocess

results_path, extras_path, doc_path = sys.argv[1:4]
runs = {}
for line in open(results_path):
    line = line.strip()
    if line:
        r = json.loads(line)
        runs[r["label"]] = r
for line in open(extras_path):
    line = line.strip()
    if line:
        e = json.loads(line)
        runs.setdefault(e["label"], {}).update(e)

env = os.environ
empty_db = int(env.get("BENCH_EMPTY_DB") or 0)
levels = env["BENCH_LEVELS"].split()

def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else 0.0

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"

def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"

def proc(r, i=0):
    ps = r.get("processes") or []
    return ps[i] if len(ps) > i else {}

def pct(r, key, p):
    v = r.get(key) or {}
    return v.get(p)

def ms(v):
    return "–" if v is None else f"{v:.2f}"

def mb(kb):
    return "–" if not kb else f"{kb / 1024:.1f}"

def serve_label(fake, persist, mode, c, suffix=""):
    return f"serve fake={fake} persist={persist} mode={mode} c={c}{suffix}"

def direct_label(fake, c, suffix=""):
    return f"direct fake={fake} c={c}{suffix}"

def other(r):
    m = r.get("machine") or {}
    return "–" if "other_cores" not in m else f"{m['other_cores']:.2f}"

def db_per_request(r):
    rows = r.get("db_rows") or 0
    if not rows or r.get("db_bytes") is None:
        return None
    return max(0, r["db_bytes"] - empty_db) / rows

def header(kind, command):
    """The lines every block starts with: command, date, machine, commit, load."""
    lines = []
    w = lines.append
    w(f"Command: {command}  ")
    w(f"Date: {env['BENCH_STARTED']} to {env['BENCH_FINISHED']}  ")
    w(f"Machine: {sh(['nproc'])} cores, {cpu_model()}, {mem_total()} RAM, {sh(['uname', '-sr'])}, {sh(['rustc', '--version'])}  ")
    w(f"Commit: {sh(['git', 'rev-parse', '--short', 'HEAD'])} (plus uncommitted changes: {'yes' if sh(['git', 'status', '--porcelain']) else 'no'})  ")
    w(f"Load before: `{env['BENCH_LOAD_BEFORE'].strip()}`  ")
    w(f"Load after: `{env['BENCH_LOAD_AFTER'].strip()}`  ")
    others = [r["machine"]["other_cores"] for k, r in runs.items()
              if (k.startswith(("agent", "index")) == (kind == "agent")) and "other_cores" in (r.get("machine") or {})]
    if others:
        w(f"Other processes on the machine (not serve, the fake or the load generator) used {mean(others):.2f} cores on average "
          f"during the measured windows, {max(others):.2f} at most (column \"other load\"; the machine has {sh(['nproc'])}).")
    w("")
    return lines

quick_note = " --quick" if env.get("BENCH_QUICK") else ""


def open_stream_runs():
    """The open-streams runs (one per number of streams asked), fewest first."""
    found = []
    for k, r in runs.items():
        if " target=open-streams asked=" in k and "requests_ok" in r:
            r = dict(r, asked=int(k.rsplit("asked=", 1)[1]), files=env.get("BENCH_FILES", "?"))
            found.append(r)
    return sorted(found, key=lambda r: r["asked"])

def kib_per_stream(r):
    """serve's RSS with the most streams open, minus its idle RSS after the warm-up, per stream."""
    opened, at, idle = r.get("open_answers_max"), r.get("rss_at_open_answers_max_kb"), r.get("idle_rss_warm_kb")
    if not opened or not at or not idle:
        return None
    return (at - idle) / opened

def chat_block():
    lines = header("chat", f"`bash scripts/bench.sh{quick_note}` (BENCH_SECONDS={env['BENCH_SECS']}, BENCH_TARGET_SECONDS={env['BENCH_TARGET_SECS']})")
    w = lines.append
    # ---- targets ----
    targets = []
    def target(name, measured, ok, gap):
        targets.append((name, measured, "met" if ok else f"**missed** ({gap})"))

    idle = [r.get("idle_rss_start_kb") for k, r in runs.items() if k.startswith("serve ") and r.get("idle_rss_start_kb")]
    idle_warm = [r.get("idle_rss_warm_kb") for k, r in runs.items() if k.startswith("serve ") and r.get("idle_rss_warm_kb")]
    if idle:
        worst = max(idle)
        target("Idle RSS <= 10 MB", f"{mb(worst)} MB at start (worst of {len(idle)} starts); {mb(max(idle_warm))} MB idle after 5 warm-up requests",
               worst <= 10 * 1024, f"by {mb(worst - 10 * 1024)} MB")

    for persist in ("true", "false"):
        r = runs.get(serve_label("paced", persist, "stream", 1000))
        if r and "requests_ok" in r:
            peak = proc(r).get("hwm_kb", 0)
            ok = r["errors"] == 0 and peak < 100 * 1024
            gap = []
            if r["errors"]:
                gap.append(f"{r['errors']} errors: {r['error_kinds']}")
            if peak >= 100 * 1024:
                gap.append(f"RSS over by {mb(peak - 100 * 1024)} MB")
            target(f"1,000 concurrent paced streams, persistence {'on' if persist == 'true' else 'off'}: 0 errors, RSS < 100 MB",
                   f"{r['errors']} errors in {r['requests_ok'] + r['errors']} streams, peak RSS {mb(peak)} MB", ok, "; ".join(gap))

    # Open streams (issue 17): every client holds one stream open at once.
    for r in open_stream_runs():
        asked, held = r["asked"], r["concurrency"]
        errors, peak = r["errors"], proc(r).get("hwm_kb", 0)
        opened = r.get("open_answers_max") or 0
        per = kib_per_stream(r)
        files = f"{int(r['files']):,}" if str(r["files"]).isdigit() else r["files"]
        note = "" if held == asked else f" (of {asked:,} asked: serve's file limit, {files}, lets it hold {held:,})"
        if asked >= 10000:
            ok = errors == 0 and peak <= 256 * 1024 and held == asked
            gap = []
            if held != asked:
                gap.append(f"{held:,} streams, not {asked:,}: the file limit")
            if errors:
                gap.append(f"{errors} errors: {r['error_kinds']}")
            if peak > 256 * 1024:
                gap.append(f"RSS over by {mb(peak - 256 * 1024)} MB")
            target(f"{asked:,} concurrent streams, persistence on: 0 errors, RSS <= 256 MB",
                   f"{errors} errors in {r['requests_ok'] + errors:,} streams{note}, {opened:,} open at once; peak RSS {mb(peak)} MB",
                   ok, "; ".join(gap))
        if per is not None:
            target(f"<= 24 KiB per open stream ({held:,} streams)",
                   f"{per:.1f} KiB: RSS {mb(r.get('rss_at_open_answers_max_kb'))} MB with {opened:,} open, {mb(r.get('idle_rss_warm_kb'))} MB idle after warm-up",
                   per <= 24, f"by {per - 24:.1f} KiB")

    def rounds(label):
        """The runs of a repeated target load, in order."""
        return [r for k, r in runs.items() if k.startswith(label + " round=") and "requests_per_s" in r]

    def each(values, fmt="{:.0f}"):
        return ", ".join(fmt.format(v) for v in values)

    d = rounds(direct_label("paced", 200, " target=200-streams"))
    off_runs = rounds(serve_label("paced", "false", "stream", 200, " target=200-streams"))
    on_runs = rounds(serve_label("paced", "true", "stream", 200, " target=200-streams"))
    for persist, s_runs in (("true", on_runs), ("false", off_runs)):
        if d and s_runs:
            d_rps = mean(r["requests_per_s"] for r in d)
            s_rps = mean(r["requests_per_s"] for r in s_runs)
            ratio = s_rps / d_rps if d_rps else 0
            p = "on" if persist == "true" else "off"
            target(f"200 paced streams, persistence {p}: >= 80% of direct throughput",
                   f"{s_rps:.0f} vs {d_rps:.0f} req/s direct = {ratio * 100:.0f}% (rounds: serve {each(r['requests_per_s'] for r in s_runs)}, direct {each(r['requests_per_s'] for r in d)}; 0 errors: {all(r['errors'] == 0 for r in s_runs)})",
                   ratio >= 0.8, f"by {(0.8 - ratio) * 100:.0f} points")
            cpu = sum(proc(r).get("cpu_s", 0) for r in s_runs)
            ok = sum(r["requests_ok"] for r in s_runs)
            rpc = ok / cpu if cpu else 0
            target(f"200 paced streams, persistence {p}: >= 65 requests per CPU-second of serve",
                   f"{rpc:.0f} req per CPU-s ({cpu:.2f} CPU-s for {ok} requests)",
                   rpc >= 65, f"by {65 - rpc:.0f} req/CPU-s")

    d = rounds(direct_label("zero", 50, " target=rate-200"))
    for persist in ("true", "false"):
        s_runs = rounds(serve_label("zero", persist, "nonstream", 50, " target=rate-200"))
        if not (d and s_runs and all(r.get("total_ms") for r in d + s_runs)):
            continue
        added50 = [s["total_ms"]["p50"] - x["total_ms"]["p50"] for s, x in zip(s_runs, d)]
        added99 = [s["total_ms"]["p99"] - x["total_ms"]["p99"] for s, x in zip(s_runs, d)]
        worst99 = max(added99)
        p = "on" if persist == "true" else "off"
        target(f"Added latency p99 < 2 ms at 200 non-stream req/s, persistence {p}",
               f"added p50 {each(added50, '{:+.2f}')} ms, p99 {each(added99, '{:+.2f}')} ms in the two rounds (serve total p50 {each((r['total_ms']['p50'] for r in s_runs), '{:.2f}')} ms, p99 {each((r['total_ms']['p99'] for r in s_runs), '{:.2f}')} ms; direct p50 {each((r['total_ms']['p50'] for r in d), '{:.2f}')} ms, p99 {each((r['total_ms']['p99'] for r in d), '{:.2f}')} ms; {mean(r['requests_per_s'] for r in s_runs):.0f} req/s achieved)",
               worst99 < 2.0, f"by {worst99 - 2.0:.2f} ms")

    if on_runs and off_runs:
        on_rps = mean(r["requests_per_s"] for r in on_runs)
        off_rps = mean(r["requests_per_s"] for r in off_runs)
        cost = 1 - on_rps / off_rps if off_rps else 0
        target("Persistence costs < 10% of throughput (200 paced streams)",
               f"{on_rps:.0f} on vs {off_rps:.0f} off = {cost * 100:+.1f}%",
               cost < 0.10, f"by {(cost - 0.10) * 100:.1f} points")
    worst_cost = None
    for fake in ("paced", "zero"):
        for mode in ("nonstream", "stream"):
            for c in levels:
                a = runs.get(serve_label(fake, "true", mode, c))
                b = runs.get(serve_label(fake, "false", mode, c))
                if a and b and b.get("requests_per_s"):
                    cost = 1 - a["requests_per_s"] / b["requests_per_s"]
                    if worst_cost is None or cost > worst_cost[0]:
                        worst_cost = (cost, fake, mode, c)
    if worst_cost:
        cost, fake, mode, c = worst_cost
        target("Persistence costs < 10% of throughput (worst scenario of the matrix)",
               f"{cost * 100:+.1f}% ({fake} fake, {mode}, {c} clients)", cost < 0.10,
               f"by {(cost - 0.10) * 100:.1f} points")

    w("### Targets")
    w("")
    w("| Target | Measured | Verdict |")
    w("|---|---|---|")
    for name, measured, verdict in targets:
        w(f"| {name} | {measured} | {verdict} |")
    w("")

    # ---- matrix ----
    for fake, title in (("paced", "Paced fake (16 chunks x 10 ms)"), ("zero", "Zero-delay fake (16 chunks)")):
        w(f"### {title}")
        w("")
        w("Direct to the fake (new chat + streamed completion per request, the upstream work serve does):")
        w("")
        w("| Clients | req/s | TTFB p50 / p99 ms | total p50 / p99 ms | errors | fake CPU-s / 1k req | other load (cores) |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for c in levels:
            r = runs.get(direct_label(fake, c))
            if not r or "requests_per_s" not in r:
                continue
            w(f"| {c} | {r['requests_per_s']:.1f} | {ms(pct(r, 'ttfb_ms', 'p50'))} / {ms(pct(r, 'ttfb_ms', 'p99'))} | "
              f"{ms(pct(r, 'total_ms', 'p50'))} / {ms(pct(r, 'total_ms', 'p99'))} | {r['errors']} | "
              f"{proc(r).get('cpu_s_per_1000_requests', 0):.2f} | {other(r)} |")
        w("")
        w("Through `qwenctl serve` (a fresh process per row). Added = serve minus direct at the same "
          "client count (TTFB for streams, total for non-stream, where the whole JSON is the first byte).")
        w("")
        w("| Mode | Persist | Clients | req/s | % of direct | TTFB p50 / p99 ms | added p50 / p99 ms | chunks/s | errors | "
          "idle RSS MB | peak RSS MB | serve CPU-s / 1k req | req / serve CPU-s | DB bytes / req | other load (cores) |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for mode in ("nonstream", "stream"):
            for persist in ("true", "false"):
                for c in levels:
                    r = runs.get(serve_label(fake, persist, mode, c))
                    if not r or "requests_per_s" not in r:
                        continue
                    d = runs.get(direct_label(fake, c)) or {}
                    key = "ttfb_ms" if mode == "stream" else "total_ms"
                    dkey = "ttfb_ms" if mode == "stream" else "total_ms"
                    a50 = a99 = None
                    if pct(r, key, "p50") is not None and pct(d, dkey, "p50") is not None:
                        a50 = pct(r, key, "p50") - pct(d, dkey, "p50")
                        a99 = pct(r, key, "p99") - pct(d, dkey, "p99")
                    share = f"{r['requests_per_s'] / d['requests_per_s'] * 100:.0f}%" if d.get("requests_per_s") else "–"
                    dbr = db_per_request(r)
                    w(f"| {mode} | {'on' if persist == 'true' else 'off'} | {c} | {r['requests_per_s']:.1f} | {share} | "
                      f"{ms(pct(r, 'ttfb_ms', 'p50'))} / {ms(pct(r, 'ttfb_ms', 'p99'))} | {ms(a50)} / {ms(a99)} | "
                      f"{r['chunks_per_s']:.0f} | {r['errors']} | {mb(r.get('idle_rss_start_kb'))} | {mb(proc(r).get('hwm_kb'))} | "
                      f"{proc(r).get('cpu_s_per_1000_requests', 0):.2f} | {proc(r).get('requests_per_cpu_s', 0):.0f} | "
                      f"{'–' if dbr is None else f'{dbr:.0f}'} | {other(r)} |")
        w("")

    opens = open_stream_runs()
    if opens:
        w("### Open streams")
        w("")
        w(f"Each client opens one stream through a fresh serve (persistence on) at once; the fake paces 16 chunks "
          f"{env.get('BENCH_HOLD_DELAY_MS', '?')} ms apart, so the first stream is still open when the last one starts. "
          "Open = answers whose head arrived and whose body has not ended, counted every 50 ms; "
          "KiB per stream = (serve's RSS at the sample with the most open - its idle RSS after the warm-up) / that count.")
        w("")
        w("| Streams asked | clients | most open at once | errors | idle RSS MB (start / warm) | RSS at most open MB | peak RSS MB | KiB per open stream | TTFB p50 / p99 ms | serve CPU-s | other load (cores) |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in opens:
            per = kib_per_stream(r)
            w(f"| {r['asked']:,} | {r['concurrency']:,} | {r.get('open_answers_max', 0):,} | {r['errors']} | "
              f"{mb(r.get('idle_rss_start_kb'))} / {mb(r.get('idle_rss_warm_kb'))} | {mb(r.get('rss_at_open_answers_max_kb'))} | "
              f"{mb(proc(r).get('hwm_kb'))} | {'–' if per is None else f'{per:.1f}'} | "
              f"{ms(pct(r, 'ttfb_ms', 'p50'))} / {ms(pct(r, 'ttfb_ms', 'p99'))} | {proc(r).get('cpu_s', 0):.2f} | {other(r)} |")
        w("")

    w("### Target runs")
    w("")
    w("| Run | req/s | TTFB p50 / p99 ms | total p50 / p99 ms | errors | serve CPU-s | req / serve CPU-s | serve peak RSS MB | other load (cores) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in runs.items():
        if "target=" not in label or "target=open-streams" in label or "requests_per_s" not in r:
            continue
        is_serve = label.startswith("serve")
        w(f"| {label} | {r['requests_per_s']:.1f} | {ms(pct(r, 'ttfb_ms', 'p50'))} / {ms(pct(r, 'ttfb_ms', 'p99'))} | "
          f"{ms(pct(r, 'total_ms', 'p50'))} / {ms(pct(r, 'total_ms', 'p99'))} | {r['errors']} | "
          f"{proc(r).get('cpu_s', 0):.2f}{'' if is_serve else ' (fake)'} | "
          f"{proc(r).get('requests_per_cpu_s', 0):.0f}{'' if is_serve else ' (fake)'} | {mb(proc(r).get('hwm_kb')) if is_serve else '–'} | {other(r)} |")
    w("")
    w(f"Empty database (migrations only): {empty_db} bytes. Raw results: `target/bench/results.jsonl`.")
    return lines


def agent_block():
    sessions_list = [int(n) for n in env["BENCH_AGENT_SESSIONS"].split()]
    lines = header("agent", f"`bash scripts/bench.sh{quick_note}` (agent load: {env['BENCH_AGENT_TURNS']} turns per session, "
                            f"{' and '.join(map(str, sessions_list))} sessions)")
    w = lines.append
    apis = []
    for k, r in runs.items():
        if k.startswith("agent api=") and r.get("api") and r["api"] not in apis:
            apis.append(r["api"])

    def serve_run(api, n):
        return runs.get(f"agent api={api} sessions={n}") or {}

    def direct_run(api, n):
        return runs.get(f"agent-direct api={api} sessions={n}") or {}

    def pct_of(values, p):
        values = sorted(values)
        if not values:
            return None
        rank = max(1, min(len(values), int(-(-p * len(values) // 100))))
        return values[rank - 1] / 1000.0

    def tenths(r):
        """The run's turns in (at most) ten buckets of consecutive turns."""
        rounds = r.get("rounds") or []
        if not rounds:
            return []
        k = min(10, len(rounds))
        size = -(-len(rounds) // k)
        return [rounds[i:i + size] for i in range(0, len(rounds), size)]

    def bucket(rounds, tick):
        ok = sum(x["ok"] for x in rounds) or 0
        samples = [u for x in rounds for u in x.get("total_us") or []]
        cpu = sum((x.get("cpu_ticks") or [0])[0] for x in rounds) / tick
        db = [x["db_growth_bytes"] for x in rounds if x.get("db_growth_bytes") is not None]
        up = [x["upstream_bytes"] for x in rounds if x.get("upstream_bytes") is not None]
        upn = [x["upstream_completions"] for x in rounds if x.get("upstream_completions") is not None]
        rss = [(x.get("rss_kb") or [0])[0] for x in rounds]
        return {
            "first": rounds[0]["turn"], "last": rounds[-1]["turn"], "ok": ok,
            "request_kb": mean(x["request_bytes"] for x in rounds) / 1024,
            "p50": pct_of(samples, 50), "p99": pct_of(samples, 99),
            "cpu_ms": cpu * 1000 / ok if ok else None,
            "db_kb": sum(db) / ok / 1024 if ok and db else None,
            "up_b": sum(up) / ok if ok and up else None,
            "up_n": sum(upn) / ok if ok and upn else None,
            "rss_mb": max(rss) / 1024 if rss else None,
        }

    def buckets(r):
        tick = r.get("clk_tck") or 100
        return [bucket(b, tick) for b in tenths(r)]

    def f(v, fmt="{:.2f}"):
        return "–" if v is None else fmt.format(v)

    def all_samples(r):
        return [u for x in r.get("rounds") or [] for u in x.get("total_us") or []]

    # ---- targets ----
    targets = []
    def target(name, measured, ok, gap):
        targets.append((name, measured, "met" if ok else f"**missed** ({gap})"))

    for n in sessions_list:
        rows = [(api, serve_run(api, n), direct_run(api, n)) for api in apis]
        rows = [(api, s_, d_) for api, s_, d_ in rows if s_.get("rounds")]
        if not rows:
            continue
        # CPU per turn at the longest history (the last tenth of the turns).
        parts, worst = [], 0.0
        for api, s_, _ in rows:
            last = buckets(s_)[-1]
            parts.append(f"{api} {f(last['cpu_ms'])} ms (turns {last['first']}–{last['last']}, {last['request_kb']:.0f} KB requests)")
            worst = max(worst, last["cpu_ms"] or 0)
        target(f"Agent load, {n} sessions: <= 3 ms of serve CPU per turn at a 300 KB history",
               "; ".join(parts), worst <= 3.0, f"worst {worst:.2f} ms, by {worst - 3.0:.2f} ms")
        # Added latency p99 over all turns.
        parts, worst = [], None
        for api, s_, d_ in rows:
            sp99, dp99 = pct_of(all_samples(s_), 99), pct_of(all_samples(d_), 99)
            sp50, dp50 = pct_of(all_samples(s_), 50), pct_of(all_samples(d_), 50)
            if sp99 is None or dp99 is None:
                parts.append(f"{api}: no direct baseline")
                continue
            added = sp99 - dp99
            worst = added if worst is None else max(worst, added)
            parts.append(f"{api} p99 {added:+.2f} ms (p50 {sp50 - dp50:+.2f}; serve p99 {sp99:.2f}, direct {dp99:.2f})")
        target(f"Agent load, {n} sessions: added p99 <= 5 ms", "; ".join(parts),
               worst is not None and worst <= 5.0, f"worst {f(worst)} ms" if worst is not None else "not measured")
        # Database growth per turn flat: the last tenth against the second.
        def flat(key, unit, scale, limit, label, name):
            parts, ok_all, worst_ratio = [], True, 0.0
            for api, s_, _ in rows:
                b = buckets(s_)
                if len(b) < 3 or b[1][key] is None or b[-1][key] is None:
                    parts.append(f"{api}: too few turns")
                    ok_all = False
                    continue
                early, late = b[1][key], b[-1][key]
                ratio = late / early if early else float("inf")
                worst_ratio = max(worst_ratio, ratio)
                ok_all &= ratio <= limit
                parts.append(f"{api} {early * scale:.1f} → {late * scale:.1f} {unit} ({ratio:.2f}x; "
                             f"{b[1]['request_kb']:.0f} → {b[-1]['request_kb']:.0f} KB requests)")
            target(f"Agent load, {n} sessions: {name}", "; ".join(parts), ok_all,
                   f"{label} up to {worst_ratio:.2f}x the second tenth's, limit {limit}x")
        flat("db_kb", "KB per turn", 1, 1.25, "growth", "database growth per turn flat (last tenth of the turns at most 1.25x the second)")
        flat("up_b", "bytes per turn", 1, 1.10, "bytes", "upstream bytes per continued turn independent of the history (last tenth at most 1.1x the second)")
        flat("p50", "ms p50", 1, 1.5, "p50", "turn time flat in the history length (p50 of the last tenth at most 1.5x the second)")

    # The conversation index under many sessions: turn time flat in the history length.
    n_index = int(env["BENCH_INDEX_SESSIONS"])
    index_run = runs.get(f"index api=chat sessions={n_index}") or {}
    index_direct = runs.get(f"index-direct api=chat sessions={n_index}") or {}
    if index_run.get("rounds"):
        b = buckets(index_run)
        if len(b) >= 3 and b[1]["p50"] and b[-1]["p50"]:
            ratio = b[-1]["p50"] / b[1]["p50"]
            target(f"{n_index} concurrent agent sessions: conversation lookups O(new messages), turn time flat in the history length "
                   "(p50 of the last tenth at most 1.5x the second)",
                   f"p50 {b[1]['p50']:.2f} → {b[-1]['p50']:.2f} ms ({ratio:.2f}x) while the history grows from "
                   f"{b[1]['request_kb']:.0f} to {b[-1]['request_kb']:.0f} KB; serve CPU {f(b[1]['cpu_ms'])} → {f(b[-1]['cpu_ms'])} ms per turn; "
                   f"{index_run['turns_ok']} turns, {index_run['errors']} errors",
                   ratio <= 1.5 and not index_run["errors"], f"{ratio:.2f}x")

    w("### Targets")
    w("")
    w("| Target | Measured | Verdict |")
    w("|---|---|---|")
    for name, measured, verdict in targets:
        w(f"| {name} | {measured} | {verdict} |")
    w("")

    # ---- one row per run ----
    w("### Runs")
    w("")
    w("Turn time = request sent to last byte of the streamed answer (the tool call is complete only at the end). "
      "Direct = the same upstream messages, captured from one session through serve, sent straight to a fresh fake by as many sessions. "
      "Per turn: serve CPU (`utime + stime`), database growth (pages in use), bytes of completion bodies the fake received.")
    w("")
    w("| API | Sessions | turns ok | errors | serve CPU ms / turn | turn p50 / p99 ms | direct p50 / p99 ms | added p50 / p99 ms | "
      "DB KB / turn | upstream bytes / continued turn | upstream requests / turn | last request KB | idle RSS MB | peak RSS MB | other load (cores) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sessions_list:
        for api in apis:
            s_, d_ = serve_run(api, n), direct_run(api, n)
            if not s_.get("rounds"):
                continue
            ss, ds = all_samples(s_), all_samples(d_)
            sp50, sp99, dp50, dp99 = pct_of(ss, 50), pct_of(ss, 99), pct_of(ds, 50), pct_of(ds, 99)
            rounds = s_["rounds"]
            later = rounds[1:]
            ok_later = sum(x["ok"] for x in later) or 1
            db = [x["db_growth_bytes"] for x in rounds if x.get("db_growth_bytes") is not None]
            up = [x["upstream_bytes"] for x in later if x.get("upstream_bytes") is not None]
            upn = [x["upstream_completions"] for x in rounds if x.get("upstream_completions") is not None]
            ok = s_["turns_ok"] or 1
            added = (f"{sp50 - dp50:+.2f} / {sp99 - dp99:+.2f}" if None not in (sp50, sp99, dp50, dp99) else "–")
            w(f"| {api} | {n} | {s_['turns_ok']} | {s_['errors']} | {proc(s_).get('cpu_ms_per_turn', 0):.2f} | "
              f"{f(sp50)} / {f(sp99)} | {f(dp50)} / {f(dp99)} | {added} | "
              f"{(sum(db) / ok / 1024) if db else 0:.1f} | {(sum(up) / ok_later) if up else 0:.0f} | "
              f"{(sum(upn) / ok) if upn else 0:.2f} | {rounds[-1]['request_bytes'] / 1024:.0f} | "
              f"{mb(s_.get('idle_rss_start_kb'))} | {mb(proc(s_).get('hwm_kb'))} | {other(s_)} |")
    w("")

    def curve(s_, d_):
        """A run's turns by tenths, beside its direct baseline's."""
        w("| Turns | request KB | turn p50 / p99 ms | direct p50 / p99 ms | serve CPU ms / turn | DB KB / turn | upstream bytes / turn | upstream requests / turn | serve RSS MB |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        direct = {(b["first"], b["last"]): b for b in buckets(d_)} if d_.get("rounds") else {}
        for b in buckets(s_):
            d = direct.get((b["first"], b["last"]), {})
            w(f"| {b['first']}–{b['last']} | {b['request_kb']:.0f} | {f(b['p50'])} / {f(b['p99'])} | "
              f"{f(d.get('p50'))} / {f(d.get('p99'))} | {f(b['cpu_ms'])} | {f(b['db_kb'], '{:.1f}')} | "
              f"{f(b['up_b'], '{:.0f}')} | {f(b['up_n'])} | {f(b['rss_mb'], '{:.1f}')} |")
        w("")

    # ---- curves ----
    n = max(sessions_list)
    w(f"### Turn curves ({n} sessions)")
    w("")
    w("Each row is a tenth of the turns: the history grows from row to row, so a flat column does not depend on its length.")
    w("")
    for api in apis:
        s_, d_ = serve_run(api, n), direct_run(api, n)
        if not s_.get("rounds"):
            continue
        w(f"{api}:")
        w("")
        curve(s_, d_)
    if index_run.get("rounds"):
        w(f"### Conversation index: {n_index} concurrent sessions")
        w("")
        w(f"Chat completions, {n_index} sessions in lock step, 2 tools and ~300 bytes per turn (small requests, so the turn is "
          "mostly finding the conversation and continuing it). Each row is a tenth of the turns; the number of answers in "
          "each history grows from row to row.")
        w("")
        curve(index_run, index_direct)
    w("Raw results: `target/bench/results.jsonl` (one line per run, a row per turn).")
    return lines


def write_block(doc, name, generated):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in doc or end not in doc:
        doc = doc.rstrip() + f"\n\n{begin}\n{end}\n"
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{generated}\n{end}{tail}"


try:
    doc = open(doc_path).read()
except FileNotFoundError:
    doc = "# Benchmarks\n"
if env.get("BENCH_RUN_CHAT"):
    generated = "\n".join(chat_block())
    doc = write_block(doc, "bench", generated)
    print(generated)
if env.get("BENCH_RUN_AGENT"):
    generated = "\n".join(agent_block())
    doc = write_block(doc, "bench-agent", generated)
    print(generated)
open(doc_path, "w").write(doc)
PY
echo "wrote $out_doc" >&2
