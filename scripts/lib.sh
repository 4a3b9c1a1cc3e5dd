# Shared by the test scripts (sourced, not run): a scratch directory, background servers that
# are stopped on exit, and the paths of the built binaries. Everything listens on 127.0.0.1.

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a command in the background (in this shell, so cleanup can stop it); once its
# stdout names a URL, sets $url to it, and $pid to its process id.
start() {
  local name="$1"; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  pids+=("$pid")
  url=""
  for _ in $(seq 1 200); do
    if grep -q 'http://' "$work/$name.out" 2>/dev/null; then
      url="$(grep -o 'http://[0-9.:]*' "$work/$name.out" | head -1)"
      return 0
    fi
    sleep 0.05
  done
  echo "$name did not start:" >&2
  cat "$work/$name.err" >&2
  return 1
}

# Cargo's target directory (it may be shared or moved by CARGO_TARGET_DIR).
target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}
