#!/usr/bin/env bash
# Runs what the documentation shows, so it cannot rot: the shell blocks of README.md,
# examples/README.md and docs/*.md (docs/STORE.md and docs/BENCHMARKS.md excepted), which run
# the client examples in examples/, against a real `qwenctl serve` in front of the standalone
# fake upstream (`fake_qwen`), both started here on 127.0.0.1 with free ports.
#
# What counts as a runnable block, and how its outcome is checked:
# - a fenced block whose info string is `sh` or `bash`; other blocks (text, json, ini, …)
#   show output or file contents and are not run;
# - HTML comments directly above the fence steer it (they do not show when rendered):
#     <!-- not-run: REASON -->   skip it (deployment commands: systemctl, docker, …)
#     <!-- expect-exit: N -->    the block must exit N (default 0)
#     <!-- expect: TEXT -->      its stdout+stderr must contain TEXT (repeatable)
#     <!-- until: TEXT -->       a command that runs until stopped (`qwenctl serve`): it
#                                passes once its output contains TEXT, and is then stopped
# - each block runs on its own in `bash -e -o pipefail`, in a scratch directory holding a
#   `.env` that points at the fake upstream (so `qwenctl validate-config` and `qwenctl
#   models` work as the docs describe) and an `examples/` link to the repository's;
#   `python3` is the venv of tests/compat (with the `openai` package), `node` finds the
#   `openai` package of tests/compat/node_modules, and OPENAI_BASE_URL points at the server;
# - the docs are written for the default address, so in the block text `cargo run
#   [--release] --` becomes the built `qwenctl` (and `--example fake_qwen --` becomes
#   `fake_qwen`), `127.0.0.1:3000` becomes the test server, and a server the block starts
#   itself (`… serve …`, `… fake_qwen …`, in the background with `&` or as an `until:` block)
#   gets a free port instead of the documented one; after a background start the block waits
#   until that port accepts connections, as a person would before typing the next command.
#   Background processes end with the block.
#
# Besides the blocks it checks that every example file is run by some block, that
# docs/API.md names every route the server has, that docs/CONFIGURATION.md names every
# variable `qwenctl validate-config` knows, and that every `qwenctl …` command written inline
# in the checked files exists with the flags shown (`qwenctl <command> --help`).
#
# Usage: bash scripts/check-docs.sh [FILE…]   (FILEs: only their blocks, no coverage checks;
# CHECK_DOCS_SHOW=1 also prints every block's output, for copying into the docs).
# Needs: cargo, python3, node 20+ with npm, curl and jq (curl and jq are installed with apt-get
# when missing and run as root). Installs the SDKs into tests/compat, as tests/compat/run.sh
# does, when they are missing. Takes well under a minute once the binaries are built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

cargo build --locked --quiet --bin qwenctl --example fake_qwen
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
bin="$(target_dir)/debug/qwenctl"
fake_bin="$(target_dir)/debug/examples/fake_qwen"

command -v node >/dev/null 2>&1 || { echo "check-docs: needs node (20 or later)" >&2; exit 1; }
compat="$root/tests/compat"
if [ ! -x "$compat/.venv/bin/python" ] || ! "$compat/.venv/bin/python" -c 'import openai, anthropic' 2>/dev/null; then
  python3 -m venv "$compat/.venv"
  "$compat/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$compat/requirements.txt"
fi
if [ ! -f "$compat/node_modules/openai/package.json" ]; then
  (cd "$compat" && npm ci --no-audit --no-fund --silent)
fi
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "check-docs: missing ${missing[*]}; install them first" >&2
    exit 1
  fi
fi

mkdir -p "$work/bin" "$work/home" "$work/cwd"
ln -s "$bin" "$work/bin/qwenctl"
ln -s "$fake_bin" "$work/bin/fake_qwen"
ln -s "$root/examples" "$work/cwd/examples"
ln -s "$compat/node_modules" "$work/cwd/node_modules"

start fake "$fake_bin" --port 0
fake_url="$url"
# The fake accepts any token; a JWT ({"id":"fake-user","exp":4102444800}) lets
# validate-config show an expiry as it does for a real cookie.
cookie='token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig'
db="$work/qwen_proxy.db"
cat >"$work/cwd/.env" <<EOF
# Written by scripts/check-docs.sh: the standalone fake upstream stands in for chat.qwen.ai.
QWEN_BASE_URL=$fake_url
QWEN_COOKIES=$cookie
QWEN_TOKEN=check-docs-umidtoken
DATABASE_PATH=$db
EOF
start serve env -i "PATH=$PATH" "HOME=$work/home" "QWEN_BASE_URL=$fake_url" \
  "QWEN_COOKIES=$cookie" "QWEN_TOKEN=check-docs-umidtoken" "DATABASE_PATH=$db" "PORT=0" \
  "LOG_LEVEL=warn" "$bin" serve
serve_url="$url"
echo "check-docs: serve $serve_url, fake $fake_url"

export CHECK_ROOT="$root" CHECK_WORK="$work" CHECK_SERVE_URL="$serve_url" CHECK_FAKE_URL="$fake_url"
export CHECK_VENV_BIN="$compat/.venv/bin"
python3 - "$@" <<'PY'
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.environ["CHECK_ROOT"]
WORK = os.environ["CHECK_WORK"]
SERVE_URL = os.environ["CHECK_SERVE_URL"]
CWD = os.path.join(WORK, "cwd")
SERVE_HOSTPORT = SERVE_URL.split("//", 1)[1]
BLOCK_TIMEOUT = 60

# Checked files, in this order (later blocks may read what earlier ones recorded).
FILES = ["README.md", "examples/README.md", "docs/API.md", "docs/CONFIGURATION.md",
         "docs/TROUBLESHOOTING.md", "docs/DEPLOYMENT.md", "docs/ARCHITECTURE.md"]
# `check-docs.sh FILE…` runs only those files' blocks and skips the coverage checks.
PARTIAL = len(sys.argv) > 1
if PARTIAL:
    FILES = sys.argv[1:]

# README.md is not ours to annotate (yet): the same steering, keyed by a line of the block.
BUILTIN = {
    ("README.md", "bash scripts/test.sh"): {
        "skip": "the test suite itself, which runs this script; its `serve --fake-upstream` "
                "runs in the block below"},
    ("README.md", '"content":"Hi, my name is Alice."'): {
        "expect": ['"content":"You said: Hi, my name is Alice."']},
}

ENV = {
    "PATH": os.pathsep.join([os.path.join(WORK, "bin"), os.environ["CHECK_VENV_BIN"],
                             os.environ["PATH"]]),
    "HOME": os.path.join(WORK, "home"),
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "OPENAI_BASE_URL": SERVE_URL + "/v1",
    "OPENAI_API_KEY": "unused",
    # Resolve `openai` from the scratch directory's node_modules link, not from the real
    # location of examples/.
    "NODE_OPTIONS": "--preserve-symlinks --preserve-symlinks-main",
}

PRELUDE = r"""# Background processes of a block end with it (and are reaped by it).
trap '__rc=$?; set +e; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; exit $__rc' EXIT
__wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "check-docs: nothing listens on port $1" >&2; return 1
}
"""

failures = []
ran = []
skipped = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blocks(path):
    """(line number, info, code, markers) of every fenced block."""
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
    markers = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", line)
        if m:
            fence, info, start = m.group(2), m.group(3), i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i][len(m.group(1)):] if lines[i].startswith(m.group(1)) else lines[i])
                i += 1
            yield start, info, "\n".join(body), markers
            markers = []
        else:
            c = re.match(r"^\s*<!--\s*(not-run|expect-exit|expect|until)\s*:\s*(.*?)\s*-->\s*$", line)
            if c:
                markers.append((c.group(1), c.group(2)))
            elif line.strip():
                markers = []
        i += 1


SERVER_LINE = re.compile(r"(\bqwenctl\s+(?:\S+\s+)*?serve\b|\bfake_qwen\b)")


def transform(code, foreground=False):
    code = re.sub(r"cargo run (?:--release )?--example fake_qwen --", "fake_qwen", code)
    code = re.sub(r"cargo run (?:--release )?--example fake_qwen\b", "fake_qwen", code)
    code = re.sub(r"cargo run (?:--release )?--(?= )", "qwenctl", code)
    out = []
    ports = {}
    waits = {}
    joined = code.split("\n")
    for n, line in enumerate(joined):
        bare = re.sub(r"\s+#.*$", "", line).rstrip()
        background = bare.endswith("&") and not bare.endswith("&&")
        if (background or foreground) and SERVER_LINE.search(bare):
            m = re.search(r"(?:--port[ =]|PORT=)(\d+)", bare)
            doc_port = m.group(1) if m else ("8089" if "fake_qwen" in bare else "3000")
            ports.setdefault(doc_port, str(free_port()))
            if background:
                waits[n] = doc_port
    for doc_port, port in ports.items():
        code = re.sub(r"(?<=[:=\s])%s\b" % doc_port, port, code)
    if "3000" not in ports:
        code = re.sub(r"\b(?:127\.0\.0\.1|localhost):3000\b", SERVE_HOSTPORT, code)
    for n, line in enumerate(code.split("\n")):
        out.append(line)
        if n in waits:
            out.append("__wait_port %s" % ports[waits[n]])
    return "\n".join(out)


def run_block(path, lineno, code, markers):
    where = "%s:%d" % (path, lineno)
    expects = [v for k, v in markers if k == "expect"]
    exits = [v for k, v in markers if k == "expect-exit"]
    want_exit = int(exits[0]) if exits else 0
    until = [v for k, v in markers if k == "until"]
    script = transform(code, foreground=bool(until))
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        p = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", PRELUDE + script],
                             cwd=CWD, env=ENV, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if until:
                code_ = None
                while time.monotonic() - started < BLOCK_TIMEOUT:
                    out.seek(0)
                    if until[0] in out.read().decode("utf-8", "replace"):
                        code_ = want_exit  # it got there; stopping it is not a failure
                        break
                    if p.poll() is not None:
                        code_ = p.returncode
                        break
                    time.sleep(0.1)
            else:
                code_ = p.wait(timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            code_ = None
        finally:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        elapsed = time.monotonic() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    problems = []
    if code_ is None:
        problems.append("timed out after %ds" % BLOCK_TIMEOUT)
    elif until and until[0] not in text:
        problems.append("exited %s before printing %r" % (code_, until[0]))
    elif code_ != want_exit:
        problems.append("exit %s, expected %d" % (code_, want_exit))
    for e in expects:
        if e not in text:
            problems.append("output lacks %r" % e)
    ran.append((where, script))
    if problems:
        failures.append(where)
        print("FAIL %s (%.1fs): %s" % (where, elapsed, "; ".join(problems)))
        print("  --- block as run ---")
        print("\n".join("  | " + l for l in script.split("\n")))
        print("  --- output ---")
        print("\n".join("  | " + l for l in text.rstrip().split("\n")))
    else:
        print("ok   %s (%.1fs)" % (where, elapsed))
    if os.environ.get("CHECK_DOCS_SHOW"):
        print("\n".join("  > " + l for l in text.rstrip().split("\n")))


for path in FILES:
    if not os.path.exists(os.path.join(ROOT, path)):
        failures.append(path)
        print("FAIL %s: missing" % path)
        continue
    for lineno, info, code, markers in blocks(path):
        if info not in ("sh", "bash"):
            continue
        markers = list(markers)
        for (file, needle), rule in BUILTIN.items():
            if file == path and needle in code:
                if "skip" in rule:
                    markers.append(("not-run", rule["skip"]))
                markers += [("expect", e) for e in rule.get("expect", [])]
        reasons = [v for k, v in markers if k == "not-run"]
        if reasons:
            skipped.append("%s:%d" % (path, lineno))
            print("skip %s:%d (%s)" % (path, lineno, reasons[0]))
            continue
        run_block(path, lineno, code, markers)


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


if PARTIAL:
    print("check-docs: %d blocks run, %d skipped, %d failures (coverage checks skipped)"
          % (len(ran), len(skipped), len(failures)))
    sys.exit(1 if failures else 0)

# Every example is run by some block.
run_text = "\n".join(s for _, s in ran)
for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
    if name.endswith((".py", ".mjs", ".sh")) and "examples/" + name not in run_text:
        fail("examples/%s is not run by any documented block" % name)

# docs/API.md names every route.
api = open(os.path.join(ROOT, "docs/API.md"), encoding="utf-8").read()
routes = []
for src in ("src/proxy/mod.rs", "src/proxy/data.rs", "src/proxy/ui/mod.rs"):
    text = open(os.path.join(ROOT, src), encoding="utf-8").read()
    for m in re.finditer(r'\.route\(\s*"([^"]+)",\s*([^)]*\)(?:\.[a-z]+\([^)]*\))*)', text):
        for method in re.findall(r"\b(get|post|put|patch|delete)\(", m.group(2)):
            routes.append("%s %s" % (method.upper(), m.group(1).replace("{*", "{")))
for route in routes:
    if route not in api:
        fail("docs/API.md does not document %s" % route)

# docs/CONFIGURATION.md names every variable.
import json
report = subprocess.run(["qwenctl", "validate-config", "--json"], cwd=CWD, env=ENV,
                        capture_output=True, text=True)
conf = open(os.path.join(ROOT, "docs/CONFIGURATION.md"), encoding="utf-8").read()
variables = [v["var"] for v in json.loads(report.stdout)["variables"]]
for var in variables:
    if "`%s`" % var not in conf:
        fail("docs/CONFIGURATION.md does not document %s" % var)

# Every inline `qwenctl …` command exists, with the flags shown.
helps = {}


def help_of(path):
    key = tuple(path)
    if key not in helps:
        r = subprocess.run(["qwenctl", *path, "--help"], cwd=CWD, env=ENV,
                           capture_output=True, text=True)
        helps[key] = r.stdout if r.returncode == 0 else None
    return helps[key]


inline = 0
for path in FILES:
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    text = re.sub(r"(?ms)^\s*(```|~~~).*?^\s*\1", "", text)
    for span in re.findall(r"`(qwenctl(?: [^`]*)?)`", text):
        inline += 1
        words = span.split()[1:]
        cmd = []
        for w in words:
            if re.fullmatch(r"[a-z][a-z-]*", w) and help_of(cmd + [w]) is not None:
                cmd.append(w)
            else:
                if re.fullmatch(r"[a-z][a-z-]*", w) and "\nCommands:\n" in (help_of(cmd) or ""):
                    fail("%s: `%s`: qwenctl %s has no subcommand %s"
                         % (path, span, " ".join(cmd), w))
                break
        helptext = help_of(cmd) or ""
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", span):
            if not re.search(r"(?<![\w-])%s\b" % re.escape(flag), helptext):
                fail("%s: `%s`: qwenctl %s has no %s" % (path, span, " ".join(cmd), flag))

print("check-docs: %d blocks run, %d skipped; %d routes, %d variables and %d inline commands "
      "checked; %d failures" % (len(ran), len(skipped), len(routes), len(variables), inline,
                                len(failures)))
sys.exit(1 if failures else 0)
PY
