"""The real Codex CLI (`@openai/codex` from npm, installed by run.sh into
tests/compat/node_modules) run headless (`codex exec`) against `qwenctl serve`'s Responses API,
in front of the fake upstream, which is told to call Codex's own shell tool, `exec_command`.
Codex runs the command, sends its output back, prints the fake's final answer and exits 0;
the command's effect is checked on disk. What Codex sends is described in
fixtures/codex/README.md.

Offline by construction: a fresh CODEX_HOME holding only config.toml, which names serve as a
custom provider and turns off what would call OpenAI or GitHub (update check, analytics,
feedback, the curated-plugins sync); the API key is a dummy that only serve sees. The sandbox
is bypassed, because bubblewrap's namespaces are not available on every machine.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import CALL_ID, URL, fake_summary, result_blocks, upstream_turns

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "node_modules" / "@openai" / "codex"
TIMEOUT = 120
CONTENT = "hello from qwenctl"

CONFIG = """\
model = "{model}"
model_provider = "qwenctl"
check_for_update_on_startup = false

[model_providers.qwenctl]
name = "qwenctl"
base_url = "{url}/v1"
wire_api = "responses"
env_key = "QWENCTL_API_KEY"

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
"""


def run_codex(tmp_path, prompt, *args, model="qwen3-max"):
    """Runs `codex exec ARGS PROMPT` with CODEX_HOME and the working directory in `tmp_path`
    (kept between runs, so `resume --last` finds the session); returns the working directory
    and the finished process (the final answer alone on stdout, the log on stderr)."""
    home = tmp_path / "codex-home"
    cwd = tmp_path / "project"
    home.mkdir(exist_ok=True)
    cwd.mkdir(exist_ok=True)
    (home / "config.toml").write_text(CONFIG.format(model=model, url=URL))
    if not PACKAGE.is_dir():
        pytest.fail(f"{PACKAGE} is missing: run tests/compat/run.sh (npm ci)")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CODEX_HOME": str(home),
        "QWENCTL_API_KEY": "sk-compat-unused",
    }
    command = [
        "node", str(PACKAGE / "bin" / "codex.js"), "exec", "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox", "--color", "never", *args, prompt,
    ]
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"codex did not finish in {TIMEOUT} s\nstdout: {e.stdout}\nstderr: {e.stderr}")
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return cwd, done


def shell_call(nonce):
    call = json.dumps({"cmd": f"echo {CONTENT} > out.txt"})
    return f"Create the file ({nonce}). [[call:exec_command {call}]]"


# `qwen3-max`, unknown to Codex, gets its fallback prompt and tool set; `gpt-5.5-codex` (mapped
# to qwen3-max by serve's MODEL_ALIASES) its own, with `reasoning.effort` and a `custom`
# apply_patch tool, which is not offered upstream.
@pytest.mark.parametrize("model", ["qwen3-max", "gpt-5.5-codex"])
def test_codex_runs_a_shell_command_through_a_tool_call(tmp_path, nonce, model):
    cwd, done = run_codex(tmp_path, shell_call(nonce), model=model)

    assert (cwd / "out.txt").read_text() == f"{CONTENT}\n"
    assert f"echo {CONTENT} > out.txt" in done.stderr  # Codex's log of the command it ran
    # Codex asks gpt-5.5-codex for reasoning: the upstream's thinking, streamed as reasoning
    # summaries, reaches Codex's log (the fake thinks "The user wrote N characters.").
    assert ("The user wrote" in done.stderr) == (model == "gpt-5.5-codex")

    # One upstream chat: Codex's ~40 KB first request (developer messages, environment,
    # tools) went up once; the second turn carried only the command's output, though Codex
    # resent everything with `store: false`.
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    (first,) = turns[0]["messages"]
    first = first["content"]
    assert "Codex" in first  # the developer messages
    assert f"<cwd>{cwd}</cwd>" in first  # the environment context, a user message
    assert "exec_command" in first and '"cmd"' in first  # the tool
    assert first.endswith(shell_call(nonce))
    ((name, call_id, output),) = result_blocks(turns[1])
    assert name == "exec_command"
    assert CALL_ID.fullmatch(call_id)
    assert "Process exited with code 0" in output
    # The final answer printed is the fake's summary of that output.
    assert done.stdout.strip() == fake_summary("exec_command", output)


@pytest.mark.parametrize("model", ["qwen3-max", "gpt-5.5-codex"])
def test_codex_resume_stays_in_one_upstream_chat(tmp_path, nonce, model):
    # `codex exec resume --last` rebuilds the history from its session file and sends it all
    # again (with gpt-5.5-codex, its reasoning items too); serve recognises it and sends only
    # the new prompt.
    cwd, first = run_codex(tmp_path, f"My name is Ada. {shell_call(nonce)}", model=model)
    _cwd, second = run_codex(tmp_path, "What is my name?", "resume", "--last", model=model)
    assert (cwd / "out.txt").read_text() == f"{CONTENT}\n"
    assert first.stdout.startswith("Done. exec_command returned: ")
    assert second.stdout.strip() == "Your name is Ada."
    turns = [t["messages"] for t in upstream_turns(nonce)]
    assert len(turns) == 3
    assert all(len(messages) == 1 for messages in turns)
    assert turns[2][0]["content"] == "What is my name?"


# Codex's recorded requests (fixtures/codex), replayed as sent: same path, same headers, same
# bodies, always streamed. They hold no nonce, so nothing here looks at the fake's log.
FIXTURES = HERE / "fixtures" / "codex"
SENT_HEADERS = {"accept", "content-type", "originator", "user-agent", "session-id",
                "thread-id", "x-client-request-id", "x-codex-beta-features",
                "x-codex-turn-metadata", "x-codex-window-id"}


def replay(name):
    """Sends a recorded request to serve; returns the status and the events' data."""
    sent = json.loads((FIXTURES / name).read_text())
    headers = {k: v for k, v in sent["headers"].items() if k in SENT_HEADERS}
    headers["authorization"] = "Bearer sk-compat-unused"
    data = json.dumps(sent["body"]).encode()
    request = urllib.request.Request(f"{URL}{sent['path']}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, ctype, text = r.status, r.headers.get("content-type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    assert ctype.startswith("text/event-stream"), ctype
    events = []
    for chunk in text.split("\n\n"):
        lines = dict(l.split(": ", 1) for l in chunk.splitlines() if ": " in l)
        if "event" in lines:
            data = json.loads(lines["data"])
            assert data["type"] == lines["event"]
            events.append(data)
    return status, events


def test_recorded_first_turn_gets_a_streamed_exec_command_call():
    status, events = replay("responses-exec-turn1.json")
    assert status == 200, events
    assert events[0]["type"] == "response.created"
    done = events[-1]
    assert done["type"] == "response.completed"
    response = done["response"]
    assert response["model"] == "qwen3-max"
    assert response["store"] is False
    assert response["usage"]["input_tokens"] > 5000
    (call,) = response["output"]
    assert call["type"] == "function_call"
    assert call["name"] == "exec_command"
    assert json.loads(call["arguments"]) == {"cmd": f"echo {CONTENT} > out.txt"}


def test_recorded_second_turn_is_answered_from_its_history():
    # Its call_id is the capture server's, not one serve gave out: serve cannot continue a
    # chat it never had and folds the history into a new one; the answer is the same.
    status, events = replay("responses-exec-turn2.json")
    assert status == 200, events
    response = events[-1]["response"]
    assert response["status"] == "completed"
    (message,) = response["output"]
    assert message["type"] == "message"
    assert message["content"][0]["text"] == "Done. exec_command returned: Chunk ID: eb2f45."
