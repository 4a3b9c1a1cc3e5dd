"""The official `openai` Python SDK against `qwenctl serve` in front of the fake upstream.

Started by tests/compat/run.sh, which exports QWENCTL_URL (serve without keys),
QWENCTL_KEYED_URL (serve with API_KEYS=sk-compat) and FAKE_URL (the fake upstream, whose
/__fake/requests shows what reached "Qwen").
"""

import json
import os
import urllib.request

import openai
import pytest

URL = os.environ["QWENCTL_URL"]
KEYED_URL = os.environ["QWENCTL_KEYED_URL"]
FAKE_URL = os.environ["FAKE_URL"]


@pytest.fixture
def client():
    return openai.OpenAI(base_url=f"{URL}/v1", api_key="unused", max_retries=0)


def fake_requests():
    with urllib.request.urlopen(f"{FAKE_URL}/__fake/requests") as r:
        return json.load(r)


def test_models_list_and_retrieve(client):
    ids = [m.id for m in client.models.list()]
    assert "qwen3-max" in ids
    assert "qwen3.7-plus-thinking" in ids
    model = client.models.retrieve("qwen3-max")
    assert model.id == "qwen3-max"
    assert model.object == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_chat_non_stream(client):
    r = client.chat.completions.create(
        model="qwen3-max", messages=[{"role": "user", "content": "hello sdk"}]
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "You said: hello sdk"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_chat_stream_with_usage(client):
    chunks = list(
        client.chat.completions.create(
            model="qwen3-max",
            messages=[{"role": "user", "content": "stream via sdk"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    assert {c.model for c in chunks} == {"qwen3-max"}
    body, usage_chunk = chunks[:-1], chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.total_tokens > 0
    assert all(c.choices[0].finish_reason is None for c in body[:-1])
    assert body[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in body)
    assert text == "You said: stream via sdk"


def test_legacy_completions(client):
    r = client.completions.create(model="qwen3-max", prompt="legacy sdk")
    assert r.object == "text_completion"
    assert r.choices[0].text == "You said: legacy sdk"
    chunks = list(client.completions.create(model="qwen3-max", prompt="legacy stream", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "You said: legacy stream"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_thinking_model_reasoning_content(client):
    r = client.chat.completions.create(
        model="qwen3.7-plus-thinking", messages=[{"role": "user", "content": "ponder"}]
    )
    message = r.choices[0].message
    assert message.content == "You said: ponder"
    assert getattr(message, "reasoning_content", "")
    assert r.usage.completion_tokens_details.reasoning_tokens > 0

    chunks = list(
        client.chat.completions.create(
            model="qwen3.7-plus-thinking",
            messages=[{"role": "user", "content": "ponder more"}],
            stream=True,
        )
    )
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning
    assert content == "You said: ponder more"


def test_rate_limit_is_the_sdk_rate_limit_error(client):
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(
            model="qwen3-max", messages=[{"role": "user", "content": "[[fake:ratelimit]] hi"}]
        )
    assert err.value.response.headers.get("retry-after") == "7200"
    assert err.value.code == "rate_limited"


def test_wrong_api_key_is_the_sdk_authentication_error():
    bad = openai.OpenAI(base_url=f"{KEYED_URL}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    good = openai.OpenAI(base_url=f"{KEYED_URL}/v1", api_key="sk-compat", max_retries=0)
    assert any(m.id == "qwen3-max" for m in good.models.list())


def test_three_turn_conversation_keeps_context_upstream(client):
    before = fake_requests()
    history = [{"role": "user", "content": "Hello, my name is Alice."}]
    for follow_up in ["Tell me something about tea.", "What is my name?"]:
        r = client.chat.completions.create(model="qwen3-max", messages=history)
        history.append({"role": "assistant", "content": r.choices[0].message.content})
        history.append({"role": "user", "content": follow_up})
    third = client.chat.completions.create(model="qwen3-max", messages=history)
    assert third.choices[0].message.content == "Your name is Alice."

    new = fake_requests()[len(before):]
    chats = [r for r in new if r["path"] == "/api/v2/chats/new"]
    completions = [r["body"] for r in new if r["path"] == "/api/v2/chat/completions"]
    assert len(chats) == 1
    assert len(completions) == 3
    assert len({c["chat_id"] for c in completions}) == 1
    sent = [c["messages"] for c in completions]
    assert all(len(m) == 1 for m in sent)
    assert [m[0]["content"] for m in sent] == [
        "Hello, my name is Alice.",
        "Tell me something about tea.",
        "What is my name?",
    ]
    assert completions[0]["parent_id"] in (None, "")
    assert completions[1]["parent_id"] and completions[2]["parent_id"]
    assert completions[1]["parent_id"] != completions[2]["parent_id"]
