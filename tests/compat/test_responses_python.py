"""The OpenAI Responses API (design.md §11) through the official `openai` Python SDK, against
`qwenctl serve` in front of the fake upstream, which answers like a tool-calling model
(crates/qwen-fake/src/tools.rs: `[[call:NAME {args}]]`, `[[json:{...}]]`). Started by
tests/compat/run.sh.

Tool round trips are checked upstream too: one chat, and the second upstream message is
only the result block, whether the client continues with `previous_response_id` or resends
every item with `store=False` (as Codex does).
"""

import json
from typing import List

import openai
import pytest
from pydantic import BaseModel

from conftest import CALL_ID, URL, result_blocks, upstream_turns

MODEL = "qwen3-max"

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
    # Declared on every Codex turn; not offered to the model, and no reason to refuse.
    {"type": "web_search"},
]
# Two lines: the fake's summary quotes only the first.
WEATHER = "sunny in Paris\nwind 10 km/h"
FINAL = "Done. get_weather returned: sunny in Paris."


@pytest.fixture
def client():
    return openai.OpenAI(base_url=f"{URL}/v1", api_key="unused", max_retries=0)


def ask_for_weather(nonce):
    return f'Weather in Paris? ({nonce}) [[call:get_weather {{"city": "Paris"}}]]'


def test_create_answers_text(client, nonce):
    r = client.responses.create(
        model=MODEL, instructions="Answer briefly.", input=f"Hello there {nonce}"
    )
    assert r.id.startswith("resp_")
    assert r.object == "response"
    assert r.status == "completed"
    assert r.model == MODEL
    assert r.instructions == "Answer briefly."
    # The fake echoes its one upstream message: the instructions folded in front of the input.
    assert r.output_text.startswith("You said: ")
    assert r.output_text.endswith(f"Hello there {nonce}")
    assert r.output_text.index("Answer briefly.") < r.output_text.index(nonce)
    (message,) = r.output
    assert message.type == "message" and message.role == "assistant"
    assert message.status == "completed"
    assert [c.type for c in message.content] == ["output_text"]
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    ((upstream,),) = [t["messages"] for t in upstream_turns(nonce)]
    assert r.output_text == f"You said: {upstream['content']}"


def test_create_streamed_events(client, nonce):
    events = list(client.responses.create(model=MODEL, input=f"Hello {nonce}", stream=True))
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == f"You said: Hello {nonce}"
    assert events[0].response.status == "in_progress"
    final = events[-1].response
    assert final.id == events[0].response.id
    assert final.status == "completed"
    assert final.output_text == deltas
    assert final.usage.output_tokens > 0
    # Each event names the item it belongs to by the final item's id.
    (item,) = final.output
    assert {e.item_id for e in events if hasattr(e, "item_id")} == {item.id}


def test_stream_helper_and_final_response(client, nonce):
    with client.responses.stream(model=MODEL, input=f"Stream me {nonce}") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == f"You said: Stream me {nonce}"
    assert final.output_text == text
    assert final.status == "completed"


def assert_one_chat(nonce, call_id, output=WEATHER):
    """The round trip was one upstream chat whose second message held only the result."""
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    assert "get_weather" in turns[0]["messages"][0]["content"]
    assert result_blocks(turns[1]) == [("get_weather", call_id, output)]


def function_call_of(response):
    (call,) = response.output
    assert call.type == "function_call"
    assert call.id.startswith("fc_")
    assert CALL_ID.fullmatch(call.call_id)
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert call.status == "completed"
    return call


def test_tool_round_trip_with_previous_response_id(client, nonce):
    r1 = client.responses.create(model=MODEL, input=ask_for_weather(nonce), tools=TOOLS)
    assert r1.status == "completed"
    assert r1.output_text == ""
    call = function_call_of(r1)
    assert [t.type for t in r1.tools] == ["function", "web_search"]

    r2 = client.responses.create(
        model=MODEL,
        previous_response_id=r1.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": WEATHER}],
        tools=TOOLS,
    )
    assert r2.status == "completed"
    assert r2.previous_response_id == r1.id
    assert r2.output_text == FINAL
    assert_one_chat(nonce, call.call_id)


def test_streamed_tool_round_trip_with_previous_response_id(client, nonce):
    events = list(
        client.responses.create(
            model=MODEL, input=ask_for_weather(nonce), tools=TOOLS, stream=True
        )
    )
    types = [e.type for e in events if e.type != "response.function_call_arguments.delta"]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2].item, events[-2].item
    assert added.type == "function_call" and added.id == done.id
    arguments = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert json.loads(arguments) == {"city": "Paris"}
    r1 = events[-1].response
    call = function_call_of(r1)
    assert call.id == done.id and call.call_id == done.call_id

    with client.responses.stream(
        model=MODEL,
        previous_response_id=r1.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": WEATHER}],
        tools=TOOLS,
    ) as stream:
        r2 = stream.get_final_response()
    assert r2.output_text == FINAL
    assert_one_chat(nonce, call.call_id)


def test_tool_round_trip_resending_every_item_unstored(client, nonce):
    # As Codex does: store=False, the whole input again, the call item as the API gave it
    # (ids, status and all), then its output. Prefix matching keeps the upstream chat.
    history = [
        {"role": "developer", "content": "You are a weather bot."},
        {"role": "user", "content": ask_for_weather(nonce)},
    ]
    r1 = client.responses.create(model=MODEL, input=history, tools=TOOLS, store=False)
    call = function_call_of(r1)
    assert r1.store is False
    history += [
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": WEATHER},
    ]
    r2 = client.responses.create(model=MODEL, input=history, tools=TOOLS, store=False)
    assert r2.output_text == FINAL
    assert_one_chat(nonce, call.call_id)
    # Not stored, so neither retrievable nor a valid previous_response_id.
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r1.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="Again.", previous_response_id=r2.id)


def test_retrieve_returns_the_response_as_created(client, nonce):
    created = client.responses.create(
        model=MODEL, input=ask_for_weather(nonce), tools=TOOLS, metadata={"k": "v"}
    )
    got = client.responses.retrieve(created.id)
    assert got.id == created.id
    assert got.status == created.status == "completed"
    assert got.model == created.model
    assert got.created_at == created.created_at
    assert got.metadata == {"k": "v"}
    assert [o.model_dump() for o in got.output] == [o.model_dump() for o in created.output]
    assert got.usage.output_tokens == created.usage.output_tokens


def test_retrieve_a_streamed_response(client, nonce):
    events = list(client.responses.create(model=MODEL, input=f"Hi {nonce}", stream=True))
    streamed = events[-1].response
    got = client.responses.retrieve(streamed.id)
    assert got.output_text == streamed.output_text == f"You said: Hi {nonce}"
    assert [o.id for o in got.output] == [o.id for o in streamed.output]


def test_input_items(client, nonce):
    r1 = client.responses.create(
        model=MODEL,
        instructions="Be brief.",
        input=[
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": ask_for_weather(nonce)},
        ],
        tools=TOOLS,
    )
    call = function_call_of(r1)
    items = client.responses.input_items.list(r1.id, order="asc")
    # The input as given; the instructions are not an item.
    assert [(i.type, i.role) for i in items.data] == [
        ("message", "developer"),
        ("message", "user"),
    ]
    assert items.data[1].content[0].text == ask_for_weather(nonce)
    assert [i.id for i in client.responses.input_items.list(r1.id).data] == [
        i.id for i in reversed(items.data)
    ]

    output = {"type": "function_call_output", "call_id": call.call_id, "output": WEATHER}
    r2 = client.responses.create(
        model=MODEL, previous_response_id=r1.id, input=[output], tools=TOOLS
    )
    # After a previous_response_id, only what the request added.
    (item,) = client.responses.input_items.list(r2.id).data
    assert item.type == "function_call_output"
    assert item.call_id == call.call_id
    assert item.output == WEATHER


def test_delete_then_retrieve_is_not_found(client, nonce):
    r = client.responses.create(model=MODEL, input=f"Forget me {nonce}")
    client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError) as e:
        client.responses.create(model=MODEL, input="Go on.", previous_response_id=r.id)
    assert e.value.param == "previous_response_id"


def test_unknown_previous_response_id_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.responses.create(
            model=MODEL, input="Go on.", previous_response_id="resp_doesnotexist"
        )
    assert e.value.param == "previous_response_id"
    assert e.value.code == "previous_response_not_found"


def test_max_output_tokens_makes_it_incomplete(client):
    r = client.responses.create(model=MODEL, input="word " * 200, max_output_tokens=16)
    assert r.status == "incomplete"
    assert r.incomplete_details.reason == "max_output_tokens"
    assert 0 < r.usage.output_tokens <= 16
    assert r.output_text.startswith("You said: word word")
    assert len(r.output_text) < 200


class Hour(BaseModel):
    hour: int
    label: str


class Forecast(BaseModel):
    city: str
    high: int
    windy: bool
    hours: List[Hour]


def test_parse_with_a_pydantic_model(client):
    value = {"city": "Bergen", "high": 9, "windy": False, "hours": [{"hour": 6, "label": "rain"}]}
    r = client.responses.parse(
        model=MODEL,
        input=f"Forecast for Bergen. [[json:{json.dumps(value)}]]",
        text_format=Forecast,
    )
    assert r.status == "completed"
    assert r.output_parsed == Forecast(**value)
    # The text is exactly the JSON: the fake's prose and fence around it were removed.
    assert json.loads(r.output_text) == value
    assert r.text.format.type == "json_schema"


def test_json_schema_without_a_directive_gets_a_valid_value(client):
    schema = Forecast.model_json_schema()
    r = client.responses.create(
        model=MODEL,
        input="Forecast for Paris.",
        text={"format": {"type": "json_schema", "name": "forecast", "schema": schema}},
    )
    Forecast.model_validate_json(r.output_text)


THOUGHT = "The user wrote"  # how the fake's thinking begins


def test_reasoning_effort_turns_thinking_on(client, nonce):
    r = client.responses.create(
        model=MODEL, input=f"Think {nonce}", reasoning={"effort": "high", "summary": "auto"}
    )
    reasoning, message = r.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    (summary,) = reasoning.summary
    assert summary.type == "summary_text" and summary.text.startswith(THOUGHT)
    assert message.type == "message"
    assert r.output_text == f"You said: Think {nonce}"
    assert r.usage.output_tokens_details.reasoning_tokens > 0
    got = client.responses.retrieve(r.id)
    assert [o.model_dump() for o in got.output] == [o.model_dump() for o in r.output]
    # `none` turns it off.
    r = client.responses.create(model=MODEL, input=f"Quick {nonce}", reasoning={"effort": "none"})
    assert [o.type for o in r.output] == ["message"]


def test_streamed_reasoning_summary_then_text(client, nonce):
    events = list(
        client.responses.create(
            model=MODEL, input=f"Think {nonce}", reasoning={"effort": "medium"}, stream=True
        )
    )
    types = [e.type for e in events if not e.type.endswith(".delta")]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    thought = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    final = events[-1].response
    assert thought.startswith(THOUGHT)
    assert final.output[0].summary[0].text == thought
    assert final.output_text == f"You said: Think {nonce}"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_upstream_rate_limit_is_a_rate_limit_error(client, stream):
    # serve learns of the limit before it answers, so a stream fails with a status too.
    with pytest.raises(openai.RateLimitError) as e:
        client.responses.create(model=MODEL, input="Hello. [[fake:ratelimit]]", stream=stream)
    assert e.value.status_code == 429
    assert e.value.response.headers.get("retry-after")
