"""The real Claude Code CLI (`@anthropic-ai/claude-code` from npm, installed by run.sh into
tests/compat/node_modules) run headless (`claude -p`) against `qwenctl serve`'s Messages API,
in front of the fake upstream, which is told to call Claude Code's own `Write` tool. Claude Code
writes the file, sends the tool result back, prints the fake's final answer and exits 0. What
Claude Code sends is described in fixtures/claude-code/README.md.

Offline by construction: a fresh HOME (no login, no settings), nonessential traffic and
telemetry off, the API key a dummy that only serve sees.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import urllib.error
import urllib.request

import pytest

from conftest import URL, fake_summary, result_blocks, upstream_turns

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "node_modules" / "@anthropic-ai" / "claude-code"
TIMEOUT = 120
CONTENT = "hello from qwenctl"
TOOL_USE_ID = re.compile(r"toolu_[A-Za-z0-9]{24}")


def claude_command():
    """The native binary that npm's postinstall put in place, or, where install scripts did
    not run, the package's own Node launcher (which finds the same binary)."""
    binary = PACKAGE / "bin" / "claude.exe"
    if not PACKAGE.is_dir():
        pytest.fail(f"{PACKAGE} is missing: run tests/compat/run.sh (npm ci)")
    with open(binary, "rb") as f:
        native = f.read(4) == b"\x7fELF" or binary.stat().st_size > 1_000_000
    return [str(binary)] if native else ["node", str(PACKAGE / "cli-wrapper.cjs")]


def run_claude(tmp_path, prompt, *args, status=0):
    """Runs `claude -p PROMPT ARGS` with HOME and the working directory in `tmp_path` (kept
    between runs, so `--continue` finds the session); returns the working directory and
    Claude Code's JSON result."""
    home = tmp_path / "home"
    cwd = tmp_path / "project"
    home.mkdir(exist_ok=True)
    cwd.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": URL,
        "ANTHROPIC_API_KEY": "sk-compat-unused",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    try:
        done = subprocess.run(
            [*claude_command(), "-p", prompt, "--output-format", "json", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"claude did not finish in {TIMEOUT} s\nstdout: {e.stdout}\nstderr: {e.stderr}")
    output = f"stdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == status, f"exit {done.returncode}\n{output}"
    return cwd, json.loads(done.stdout)


@pytest.mark.parametrize(
    "permission",
    [["--permission-mode", "acceptEdits"], ["--allowedTools", "Write"]],
    ids=["acceptEdits", "allowedTools"],
)
def test_claude_code_writes_a_file_through_a_tool_call(tmp_path, nonce, permission):
    target = tmp_path / "project" / "hello.txt"
    call = json.dumps({"file_path": str(target), "content": CONTENT})
    prompt = f"Create the file ({nonce}). [[call:Write {call}]]"
    cwd, result = run_claude(tmp_path, prompt, *permission)

    assert target.read_text() == CONTENT
    assert result["type"] == "result"
    assert result["subtype"] == "success"
    assert result["is_error"] is False
    assert result["num_turns"] == 2
    assert result["permission_denials"] == []

    # One upstream chat: Claude Code's prompt, ~50 KB of instructions and its tools went up
    # once; the second turn carried only the Write result, though Claude Code resent the whole
    # history reshaped (its `role: "system"` message turned from a block list into a string,
    # `cache_control` moved to the tool_result).
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    (first,) = turns[0]["messages"]
    first = first["content"]
    assert "Claude Agent SDK" in first  # `system`, as blocks
    assert f"Primary working directory: {cwd}" in first  # the `role: "system"` message
    assert "Write" in first and "file_path" in first  # the tools
    assert nonce in first
    ((name, _id, content),) = result_blocks(turns[1])
    assert name == "Write"
    assert content.startswith(f"File created successfully at: {target}")
    # The final answer printed is the fake's summary of that result.
    assert result["result"] == fake_summary("Write", content)


def test_claude_code_answers_text(tmp_path, nonce):
    _cwd, result = run_claude(tmp_path, f"[[say:Hello from the fake {nonce}.]]")
    assert result["is_error"] is False
    assert result["num_turns"] == 1
    assert result["result"] == f"Hello from the fake {nonce}."


def test_claude_code_continue_stays_in_one_upstream_chat(tmp_path, nonce):
    # Each `claude -p --continue` rebuilds the whole history from its session file and sends
    # it again; serve recognises it and sends only what is new.
    target = tmp_path / "project" / "x.txt"
    call = json.dumps({"file_path": str(target), "content": "x"})
    prompts = [
        f"My name is Ada ({nonce}). [[say:Noted.]]",
        "What is my name?",
        f"Create it. [[call:Write {call}]]",
        "Thanks.",
    ]
    answers = []
    for i, prompt in enumerate(prompts):
        args = ["--permission-mode", "acceptEdits"] + (["--continue"] if i else [])
        _cwd, result = run_claude(tmp_path, prompt, *args)
        assert result["is_error"] is False
        answers.append(result["result"])
    assert target.read_text() == "x"
    assert answers[:2] == ["Noted.", "Your name is Ada."]
    assert answers[2].startswith("Done. Write returned: File created successfully")
    assert answers[3] == "You said: Thanks."

    turns = [t["messages"] for t in upstream_turns(nonce)]
    assert len(turns) == 5
    assert all(len(messages) == 1 for messages in turns)
    assert turns[0][0]["content"].endswith(prompts[0])
    assert [m[0]["content"] for m in turns[1:3]] == prompts[1:3]
    ((name, _id, _content),) = result_blocks({"messages": turns[3]})
    assert name == "Write"
    assert turns[4][0]["content"] == "Thanks."


@pytest.mark.parametrize("base", [URL, os.environ["QWENCTL_KEYED_URL"]], ids=["open", "keyed"])
def test_preconnect_is_answered(base):
    # Without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, Claude Code first sends this, keyless.
    request = urllib.request.Request(f"{base}/api/hello", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200


def test_claude_code_reports_a_rate_limit(tmp_path):
    # serve answers 429 `rate_limit_error` with the upstream's `retry-after` (two hours, from
    # the fake), too long for Claude Code to wait: it gives up at once and says why.
    _cwd, result = run_claude(tmp_path, "Hello. [[fake:ratelimit]]", status=1)
    assert result["is_error"] is True
    assert result["api_error_status"] == 429
    assert result["api_error_type"] == "rate_limit_error"
    assert "429" in result["result"]


# Claude Code's recorded requests (fixtures/claude-code), replayed as sent: same path and query,
# same headers, same bodies, always streamed. They hold no nonce, so nothing here looks at the
# fake's log.
FIXTURES = HERE / "fixtures" / "claude-code"
SENT_HEADERS = {"anthropic-version", "anthropic-beta", "x-app", "user-agent", "content-type",
                "anthropic-dangerous-direct-browser-access", "x-claude-code-session-id"}


def recorded(name):
    return json.loads((FIXTURES / name).read_text())


def replay(name, path=None, body=None):
    """Sends a recorded request (or another `body` with its headers) to serve; returns the
    status and, for a stream, the events as (event, data) pairs, else the JSON body."""
    sent = recorded(name)
    headers = {k: v for k, v in sent["headers"].items() if k in SENT_HEADERS}
    headers["x-api-key"] = "sk-compat-unused"
    query = "&".join(f"{k}={v}" for k, values in sent["query"].items() for v in values)
    url = f"{URL}{path or sent['path']}" + (f"?{query}" if query else "")
    data = json.dumps(sent["body"] if body is None else body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, ctype, text = r.status, r.headers.get("content-type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        status, ctype, text = e.code, e.headers.get("content-type", ""), e.read().decode()
    if not ctype.startswith("text/event-stream"):
        return status, json.loads(text)
    events = []
    for chunk in text.split("\n\n"):
        lines = dict(l.split(": ", 1) for l in chunk.splitlines() if ": " in l)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return status, events


def rebuild(events):
    """The content blocks and stop reason a stream of events adds up to."""
    blocks, stop = [], None
    for event, data in events:
        if event == "content_block_start":
            blocks.append(dict(data["content_block"], partial=""))
        elif event == "content_block_delta":
            delta = data["delta"]
            block = blocks[data["index"]]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                block["partial"] += delta["partial_json"]
        elif event == "message_delta":
            stop = data["delta"]["stop_reason"]
    for block in blocks:
        partial = block.pop("partial")
        if block["type"] == "tool_use" and partial:
            block["input"] = json.loads(partial)
    return blocks, stop


def test_recorded_first_turn_gets_a_streamed_write_call():
    status, events = replay("messages-write-turn1.json")
    assert status == 200
    names = [e for e, _ in events if e != "ping"]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert events[0][1]["message"]["model"] == "claude-opus-5-5"
    assert events[0][1]["message"]["usage"]["input_tokens"] > 5000
    blocks, stop = rebuild(events)
    assert stop == "tool_use"
    (use,) = [b for b in blocks if b["type"] == "tool_use"]
    assert TOOL_USE_ID.fullmatch(use["id"])
    assert use["name"] == "Write"
    assert use["input"] == {"file_path": "/work/project/hello.txt", "content": CONTENT}


def test_recorded_second_turn_is_answered_from_its_history():
    # Its tool_use id is the capture server's, not one serve gave out: serve cannot continue a
    # chat it never had and folds the history into a new one; the answer is the same.
    status, events = replay("messages-write-turn2.json")
    assert status == 200
    blocks, stop = rebuild(events)
    assert stop == "end_turn"
    assert [b["type"] for b in blocks] == ["text"]
    assert blocks[0]["text"].startswith(
        "Done. Write returned: File created successfully at: /work/project/hello.txt"
    )


def test_recorded_title_request_gets_json_in_its_schema():
    status, events = replay("messages-title.json")
    assert status == 200
    blocks, stop = rebuild(events)
    assert stop == "end_turn"
    assert [b["type"] for b in blocks] == ["text"]
    title = json.loads(blocks[0]["text"])
    assert set(title) == {"title"} and isinstance(title["title"], str)


def test_recorded_turn_counts_its_tokens():
    sent = recorded("messages-write-turn1.json")["body"]
    body = {k: sent[k] for k in ("model", "messages", "system", "tools", "thinking")}
    status, counted = replay("messages-write-turn1.json", "/v1/messages/count_tokens", body)
    assert status == 200
    assert counted["input_tokens"] > 5000
