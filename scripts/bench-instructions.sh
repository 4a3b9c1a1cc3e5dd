#!/usr/bin/env bash
# Instruction counts of an agent turn's hot path (src/perf.rs): parsing a ~300 KB body with
# 20 tools in each wire format, fingerprinting its messages and estimating its prompt
# tokens, framing and decoding upstream answers. Counted by callgrind, which measures the
# same figure on a busy machine as on an idle one (wall time does not), in the `profiling`
# build (release with symbols). Prints
# instructions per workload iteration, the figures docs/BENCHMARKS.md records
# ("Instruction counts"). BENCH_ANNOTATE=1 also prints each workload's top functions;
# BENCH_KEEP=DIR keeps the callgrind files there (for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }

# The lib's test binary in the profiling profile; cargo prints its path.
bin="$(cargo test --profile profiling --locked --lib --no-run --message-format json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m["target"]["name"] == "qwenctl" and m.get("executable"):
        print(m["executable"])')"
[ -x "$bin" ] || { echo "no test binary built" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# workload, measured function, iterations per run (src/perf.rs)
while read -r test func iterations unit; do
  file="$out/$test.out"
  [ -n "${BENCH_KEEP:-}" ] && file="$BENCH_KEEP/$test.out"
  valgrind --tool=callgrind --callgrind-out-file="$file" --toggle-collect="*perf::$func" \
    "$bin" --ignored --exact "perf::$test" --test-threads 1 >/dev/null 2>"$out/$test.err" ||
    { cat "$out/$test.err" >&2; exit 1; }
  total="$(awk '/^summary:/ {print $2}' "$file")"
  printf '%-22s %14s instructions per %s\n' "$test" "$((total / iterations))" "$unit"
  if [ -n "${BENCH_ANNOTATE:-}" ]; then
    callgrind_annotate --inclusive=no "$file" 2>/dev/null | sed -n '/^Ir/,$p' | head -25 || true
  fi
done <<'LIST'
hot_chat_parse measured_chat_parse 10 parse
hot_messages_parse measured_messages_parse 10 parse
hot_responses_parse measured_responses_parse 10 parse
hot_fingerprint measured_fingerprint 10 chain
hot_estimate_prompt measured_estimate_prompt 10 estimate
hot_upstream_decode measured_upstream_decode 200 set-of-7-streams
LIST
