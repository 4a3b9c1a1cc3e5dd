"""Tool calling and structured outputs (design.md §9) through the official `openai` Python SDK,
against `qwenctl serve` in front of the fake upstream, which answers like a tool-calling model
(crates/qwen-fake/src/tools.rs: `[[call:NAME {args}]]`, `[[then]]`, `[[json:{...}]]`, schema
synthesis). Started by tests/compat/run.sh.
"""

import json
from typing import List, Literal

import openai
import pytest
from pydantic import BaseModel

from conftest import CALL_ID, URL, result_blocks, upstream_turns

MODEL = "qwen3-max"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Local time in a time zone.",
            "parameters": {
                "type": "object",
                "properties": {"tz": {"type": "string"}},
                "required": ["tz"],
            },
        },
    },
]


def get_weather(city):
    # Two lines: the fake's summary quotes only the first.
    return f"{'sunny' if city == 'Paris' else 'rainy'} in {city}\nwind 10 km/h"


def get_time(tz):
    return f"12:00 in {tz}"


IMPLS = {"get_weather": get_weather, "get_time": get_time}

# Step 1: two parallel calls; step 2 (after their results): one call; then the summary.
SCRIPT = (
    '[[call:get_weather {"city": "Paris"}]] [[call:get_time {"tz": "Europe/Paris"}]]'
    ' [[then]] [[call:get_weather {"city": "Lyon"}]]'
)
EXPECTED_CALLS = [
    ("get_weather", {"city": "Paris"}),
    ("get_time", {"tz": "Europe/Paris"}),
    ("get_weather", {"city": "Lyon"}),
]
FINAL = "Done. get_weather returned: rainy in Lyon."


@pytest.fixture
def client():
    return openai.OpenAI(base_url=f"{URL}/v1", api_key="unused", max_retries=0)


def assert_loop_stayed_in_one_chat(nonce, calls_per_turn):
    """The loop was one upstream chat: the first message carried the request, every later
    one only the result blocks of the previous turn's calls, in order."""
    turns = upstream_turns(nonce)
    assert len(turns) == 1 + len(calls_per_turn)
    assert "get_weather" in turns[0]["messages"][0]["content"]
    for turn, calls in zip(turns[1:], calls_per_turn):
        assert result_blocks(turn) == [
            (name, call_id, IMPLS[name](**args)) for call_id, name, args in calls
        ]


def test_tool_loop_non_stream(client, nonce):
    messages = [{"role": "user", "content": f"Plan a day out ({nonce}). {SCRIPT}"}]
    calls_per_turn = []
    for _ in range(5):
        r = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        choice = r.choices[0]
        if choice.finish_reason != "tool_calls":
            break
        message = choice.message
        assert message.content is None
        assert message.tool_calls
        messages.append(message.model_dump())
        calls = []
        for call in message.tool_calls:
            assert CALL_ID.fullmatch(call.id)
            assert call.type == "function"
            args = json.loads(call.function.arguments)
            calls.append((call.id, call.function.name, args))
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": IMPLS[call.function.name](**args)}
            )
        calls_per_turn.append(calls)

    assert [(name, args) for turn in calls_per_turn for _, name, args in turn] == EXPECTED_CALLS
    assert [len(turn) for turn in calls_per_turn] == [2, 1]
    assert choice.finish_reason == "stop"
    assert choice.message.content == FINAL
    assert not choice.message.tool_calls
    assert_loop_stayed_in_one_chat(nonce, calls_per_turn)


def test_text_before_the_calls_is_content_and_the_loop_goes_on(client, nonce):
    messages = [
        {
            "role": "user",
            "content": f'({nonce}) [[form:prose-before]] [[call:get_weather {{"city": "Paris"}}]]',
        }
    ]
    r = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    message = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls"
    assert message.content.strip() == "Let me check."
    (call,) = message.tool_calls
    # Sent back as the SDK serialises it (the model object itself), content and all.
    messages += [message, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    assert final.choices[0].message.content == "Done. get_weather returned: sunny."
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    assert result_blocks(turns[1]) == [("get_weather", call.id, "sunny")]


def stream_turn(client, messages, **kwargs):
    """One streamed answer: its text, its tool calls accumulated by `index` (as the SDK docs
    show) and its finish reason, after checking the chunk shapes."""
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=messages, tools=TOOLS, stream=True, **kwargs
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    text = ""
    calls = {}
    for chunk in chunks:
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for tc in delta.tool_calls or []:
            if tc.index not in calls:
                # The first delta of a call names it.
                assert CALL_ID.fullmatch(tc.id)
                assert tc.type == "function"
                assert tc.function.name
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            calls[tc.index]["arguments"] += tc.function.arguments or ""
    assert sorted(calls) == list(range(len(calls)))
    return text, [calls[i] for i in sorted(calls)], chunks[-1].choices[0].finish_reason


def test_tool_loop_stream(client, nonce):
    messages = [{"role": "user", "content": f"Plan a day out, streamed ({nonce}). {SCRIPT}"}]
    calls_per_turn = []
    for _ in range(5):
        text, calls, finish = stream_turn(client, messages)
        if finish != "tool_calls":
            break
        assert text == ""
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls
                ],
            }
        )
        turn = []
        for c in calls:
            args = json.loads(c["arguments"])
            turn.append((c["id"], c["name"], args))
            messages.append(
                {"role": "tool", "tool_call_id": c["id"], "content": IMPLS[c["name"]](**args)}
            )
        calls_per_turn.append(turn)

    assert [(name, args) for turn in calls_per_turn for _, name, args in turn] == EXPECTED_CALLS
    assert finish == "stop"
    assert text == FINAL
    assert calls == []
    assert_loop_stayed_in_one_chat(nonce, calls_per_turn)


def test_stream_helper_final_completion_has_the_calls(client, nonce):
    # The SDK's own accumulator (`client.chat.completions.stream`), not ours.
    with client.chat.completions.stream(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": f'({nonce}) [[call:get_weather {{"city": "Oslo"}}]] [[call:get_time {{"tz": "UTC"}}]]',
            }
        ],
        tools=TOOLS,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"tz": "UTC"}),
    ]
    assert len({c.id for c in choice.message.tool_calls}) == 2


def calls_of(r):
    return [(c.function.name, json.loads(c.function.arguments)) for c in r.choices[0].message.tool_calls or []]


def test_tool_choice_required_calls_the_first_tool(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hello there."}],
        tools=TOOLS,
        tool_choice="required",
    )
    assert r.choices[0].finish_reason == "tool_calls"
    # The fake synthesises arguments from the schema: strings are "example".
    assert calls_of(r) == [("get_weather", {"city": "example"})]


def test_tool_choice_named(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hello there."}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert r.choices[0].finish_reason == "tool_calls"
    assert calls_of(r) == [("get_time", {"tz": "example"})]


def test_tool_choice_auto_and_none(client):
    auto = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Please use get_time."}],
        tools=TOOLS,
    )
    assert calls_of(auto) == [("get_time", {"tz": "example"})]

    none = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Please use get_time."}],
        tools=TOOLS,
        tool_choice="none",
    )
    assert none.choices[0].finish_reason == "stop"
    assert not none.choices[0].message.tool_calls
    assert none.choices[0].message.content
    assert "<<<" not in none.choices[0].message.content


def test_parallel_tool_calls_false_gives_one_call(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Please use get_weather and use get_time."}],
        tools=TOOLS,
        parallel_tool_calls=False,
    )
    assert r.choices[0].finish_reason == "tool_calls"
    assert len(r.choices[0].message.tool_calls) == 1


class Place(BaseModel):
    name: str
    population: int


class Report(BaseModel):
    city: str
    temperature: int
    humidity: float
    sunny: bool
    sky: Literal["clear", "cloudy"]
    nearby: List[Place]


def test_parse_pydantic_response_format(client):
    r = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather report for Paris."}],
        response_format=Report,
    )
    message = r.choices[0].message
    assert r.choices[0].finish_reason == "stop"
    # Values synthesised from the schema by the fake.
    assert message.parsed == Report(
        city="example",
        temperature=1,
        humidity=1.5,
        sunny=True,
        sky="clear",
        nearby=[Place(name="example", population=1)],
    )
    # `content` is exactly the JSON, nothing around it.
    assert json.loads(message.content) == message.parsed.model_dump()
    assert message.content.strip()[0] == "{"


def test_parse_strips_prose_and_fence(client):
    value = {
        "city": "Nice",
        "temperature": 24,
        "humidity": 0.4,
        "sunny": False,
        "sky": "cloudy",
        "nearby": [{"name": "Antibes", "population": 73000}],
    }
    r = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": f"Report for Nice. [[json:{json.dumps(value)}]]"}],
        response_format=Report,
    )
    message = r.choices[0].message
    assert message.parsed == Report(**value)
    assert json.loads(message.content) == value
    assert "```" not in message.content and "Here is" not in message.content


class GetWeather(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"]


def test_parse_with_strict_pydantic_tool(client):
    r = client.chat.completions.parse(
        model=MODEL,
        messages=[
            {"role": "user", "content": 'Weather? [[call:GetWeather {"city": "Rome", "unit": "celsius"}]]'}
        ],
        tools=[openai.pydantic_function_tool(GetWeather)],
    )
    (call,) = r.choices[0].message.tool_calls
    assert call.function.name == "GetWeather"
    assert call.function.parsed_arguments == GetWeather(city="Rome", unit="celsius")
