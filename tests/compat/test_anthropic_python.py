"""The official `anthropic` Python SDK against `qwenctl serve`'s Messages API (design.md §10),
in front of the fake upstream, which echoes (`You said: …`), answers like a tool-calling model
(crates/qwen-fake/src/tools.rs: `[[call:NAME {args}]]`) and fails on demand
(`[[fake:ratelimit]]`). Started by tests/compat/run.sh, which gives serve
`MODEL_ALIASES=claude-*=qwen3-max`.
"""

import os
import re

import anthropic
import pytest

from conftest import URL, result_blocks, upstream_turns

KEYED_URL = os.environ["QWENCTL_KEYED_URL"]
MODEL = "claude-opus-5-5"  # what Claude Code 2.1 asks for
TOOL_USE_ID = re.compile(r"toolu_[A-Za-z0-9]{24}")
MESSAGE_ID = re.compile(r"msg_\w+")
RATE_LIMITED = "Hello. [[fake:ratelimit]]"

TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
    {
        "name": "get_time",
        "description": "Local time in a time zone.",
        "input_schema": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
]


def get_weather(city):
    # Two lines: the fake's summary quotes only the first.
    return f"sunny in {city}\nwind 10 km/h"


@pytest.fixture
def client():
    return anthropic.Anthropic(base_url=URL, api_key="unused", max_retries=0)


def test_create(client):
    r = client.messages.create(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "hello anthropic"}]
    )
    assert MESSAGE_ID.fullmatch(r.id)
    assert r.type == "message"
    assert r.role == "assistant"
    assert r.model == MODEL
    assert [b.type for b in r.content] == ["text"]
    assert r.content[0].text == "You said: hello anthropic"
    assert r.stop_reason == "end_turn"
    assert r.usage.input_tokens > 0
    assert r.usage.output_tokens > 0


def test_create_with_system_blocks_and_a_continued_conversation(client):
    first = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "My name is Ada."}]}],
    )
    second = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system=[{"type": "text", "text": "Be brief."}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "My name is Ada."}]},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert "Ada" in second.content[0].text


def test_stream_text(client):
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "stream anthropic"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "You said: stream anthropic"
    assert final.content[0].text == "You said: stream anthropic"
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


def test_stream_events_in_order(client):
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "events please"}]
    ) as stream:
        types = [e.type for e in stream if e.type != "ping"]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert "content_block_start" in types and "content_block_stop" in types
    assert types.index("content_block_start") < types.index("content_block_stop")


def run_tool_loop(client, nonce, stream):
    messages = [
        {
            "role": "user",
            "content": f'Weather please ({nonce}). [[call:get_weather {{"city":"Paris"}}]]',
        }
    ]
    uses = []
    for _ in range(4):
        if stream:
            with client.messages.stream(
                model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages
            ) as s:
                r = s.get_final_message()
        else:
            r = client.messages.create(
                model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages
            )
        if r.stop_reason != "tool_use":
            return r, uses
        messages.append({"role": "assistant", "content": r.content})
        results = []
        for block in r.content:
            if block.type != "tool_use":
                continue
            assert TOOL_USE_ID.fullmatch(block.id)
            uses.append(block)
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block.id,
                    "content": get_weather(**block.input),
                }
            )
        messages.append({"role": "user", "content": results})
    raise AssertionError("the tool loop did not end")


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_tool_use_loop(client, nonce, stream):
    final, uses = run_tool_loop(client, nonce, stream)
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "Paris"})]
    assert final.stop_reason == "end_turn"
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == "Done. get_weather returned: sunny in Paris."
    # One upstream chat: the request (with the tools stated), then only the result block.
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    assert "get_weather" in turns[0]["messages"][0]["content"]
    assert result_blocks(turns[1]) == [("get_weather", uses[0].id, get_weather("Paris"))]


def test_count_tokens(client):
    messages = [{"role": "user", "content": "count these tokens, please"}]
    small = client.messages.count_tokens(model=MODEL, messages=messages)
    assert small.input_tokens > 0
    big = client.messages.count_tokens(
        model=MODEL, messages=messages, system="A much longer system prompt. " * 20, tools=TOOLS
    )
    assert big.input_tokens > small.input_tokens
    # The same estimator as `usage`.
    r = client.messages.create(model=MODEL, max_tokens=256, messages=messages)
    assert r.usage.input_tokens == small.input_tokens


def test_rate_limit_is_a_rate_limit_error(client):
    with pytest.raises(anthropic.RateLimitError) as e:
        client.messages.create(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": RATE_LIMITED}]
        )
    assert e.value.status_code == 429
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert e.value.response.headers.get("retry-after") == "7200"  # the fake's two hours


def test_rate_limit_while_streaming_is_a_rate_limit_error(client):
    # Before the first event: a status Claude Code (which always streams) can act on.
    with pytest.raises(anthropic.RateLimitError) as e:
        with client.messages.stream(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": RATE_LIMITED}]
        ) as stream:
            list(stream.text_stream)
    assert e.value.status_code == 429
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert e.value.response.headers.get("retry-after") == "7200"


PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
UNKNOWN = {"type": "no_such_block", "text": "hi"}


@pytest.mark.parametrize(
    "messages, named",
    [
        ([], "messages"),
        ([{"role": "user", "content": [UNKNOWN]}], "messages.0.content.0"),
        ([{"role": "user", "content": [{"type": "image", "source": PNG}]}], "image"),
    ],
    ids=["no-messages", "unknown-block", "image"],
)
def test_invalid_request_is_a_bad_request_error(client, messages, named):
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model=MODEL, max_tokens=256, messages=messages)
    assert e.value.status_code == 400
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "invalid_request_error"
    assert named in e.value.body["error"]["message"]


def test_models_list_in_anthropic_shape(client):
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert "qwen3-max" in ids
    assert all(m.type == "model" and m.display_name for m in models)


def test_x_api_key():
    good = anthropic.Anthropic(base_url=KEYED_URL, api_key="sk-compat", max_retries=0)
    r = good.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "keyed"}]
    )
    assert r.content[0].text == "You said: keyed"
    bad = anthropic.Anthropic(base_url=KEYED_URL, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e:
        bad.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "keyed"}]
        )
    assert e.value.body["error"]["type"] == "authentication_error"
