"""Shared by the Python compat tests: where serve and the fake listen (exported by run.sh), and
what reached the fake upstream for one conversation.

Each tool test puts a fresh nonce in its first user message and finds its upstream chat by
it, so the assertions hold whatever else ran before (or at the same time, from Node).
"""

import json
import os
import re
import urllib.request
import uuid

import pytest

URL = os.environ["QWENCTL_URL"]
FAKE_URL = os.environ["FAKE_URL"]

# One tool result as qwenctl sends it upstream (design.md §9).
RESULT_BLOCK = re.compile(
    r'<<<TOOL_RESULT name="([^"]*)" id="([^"]*)">>>\n(.*?)\n<<<END_TOOL_RESULT>>>', re.DOTALL
)
CALL_ID = re.compile(r"call_[A-Za-z0-9]{24}")


def fake_requests():
    with urllib.request.urlopen(f"{FAKE_URL}/__fake/requests") as r:
        return json.load(r)


def message_text(body):
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def upstream_turns(nonce):
    """The completion requests that reached the fake for the conversation holding `nonce`,
    oldest first. Fails unless exactly one upstream chat ever saw the nonce: a conversation
    that qwenctl failed to continue would be folded into a second chat, nonce and all."""
    completions = [
        r["body"] for r in fake_requests() if r["path"] == "/api/v2/chat/completions"
    ]
    chats = {c["chat_id"] for c in completions if nonce in message_text(c)}
    assert len(chats) == 1, f"{len(chats)} upstream chats saw {nonce}"
    (chat,) = chats
    return [c for c in completions if c["chat_id"] == chat]


def result_blocks(body):
    """(name, id, content) of each result block of one upstream message, asserting that
    the message holds nothing else."""
    (message,) = body["messages"]
    text = message["content"]
    assert RESULT_BLOCK.sub("", text).strip() == "", f"more than result blocks: {text!r}"
    return RESULT_BLOCK.findall(text)


def fake_summary(name, content):
    """The fake's answer to one tool result (crates/qwen-fake/src/tools.rs, `summary`): its
    first non-empty line, trailing dots dropped, cut at 80 characters."""
    line = next((l.strip() for l in content.splitlines() if l.strip()), "").rstrip(".")
    if not line:
        return f"Done. {name} returned nothing."
    if len(line) > 80:
        return f"Done. {name} returned: {line[:80]}…."
    return f"Done. {name} returned: {line}."


@pytest.fixture
def nonce():
    return f"n{uuid.uuid4().hex[:12]}"
