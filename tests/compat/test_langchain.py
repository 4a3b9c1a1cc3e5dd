"""LangChain (`langchain-openai`'s ChatOpenAI) against `qwenctl serve` in front of the fake
upstream: tools bound with `bind_tools`, a tool loop with `ToolMessage`, and
`with_structured_output`. LangChain re-serialises tool-call arguments when it sends a history
back, which the conversation fingerprint must see through (design.md §9). Started by
tests/compat/run.sh.
"""

import json
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from conftest import CALL_ID, URL, result_blocks, upstream_turns


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}\nwind 10 km/h"


@tool
def get_time(tz: str) -> str:
    """Local time in a time zone."""
    return f"12:00 in {tz}"


TOOLS = {"get_weather": get_weather, "get_time": get_time}


@pytest.fixture
def llm():
    return ChatOpenAI(base_url=f"{URL}/v1", api_key="unused", model="qwen3-max", max_retries=0)


def test_bind_tools_loop(llm, nonce):
    bound = llm.bind_tools([get_weather, get_time])
    messages = [
        HumanMessage(
            f'Weather in Paris and Oslo? ({nonce}) [[call:get_weather {{"city": "Paris"}}]]'
            ' [[call:get_weather {"city": "Oslo"}]] [[then]] [[call:get_time {"tz": "CET"}]]'
        )
    ]
    seen = []
    for _ in range(5):
        ai = bound.invoke(messages)
        assert isinstance(ai, AIMessage)
        if not ai.tool_calls:
            break
        messages.append(ai)
        turn = []
        for call in ai.tool_calls:
            assert CALL_ID.fullmatch(call["id"])
            output = TOOLS[call["name"]].invoke(call["args"])
            turn.append((call["name"], call["id"], output))
            messages.append(ToolMessage(content=output, tool_call_id=call["id"]))
        seen.append(turn)

    assert [[(name, out) for name, _, out in turn] for turn in seen] == [
        [("get_weather", "sunny in Paris\nwind 10 km/h"), ("get_weather", "sunny in Oslo\nwind 10 km/h")],
        [("get_time", "12:00 in CET")],
    ]
    assert ai.content == "Done. get_time returned: 12:00 in CET."
    assert ai.response_metadata["finish_reason"] == "stop"

    # One upstream chat: the re-serialised history was recognised, only results went up.
    turns = upstream_turns(nonce)
    assert len(turns) == 3
    assert [result_blocks(t) for t in turns[1:]] == seen


def test_bind_tools_stream(llm, nonce):
    bound = llm.bind_tools([get_weather, get_time])
    chunks = list(
        bound.stream(
            f'({nonce}) [[call:get_weather {{"city": "Paris"}}]] [[call:get_time {{"tz": "UTC"}}]]'
        )
    )
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"tz": "UTC"}),
    ]
    assert merged.response_metadata["finish_reason"] == "tool_calls"


def test_tool_choice_by_name(llm):
    bound = llm.bind_tools([get_weather, get_time], tool_choice="get_time")
    ai = bound.invoke("What time is it?")
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_time", {"tz": "example"})]


class Forecast(BaseModel):
    """A weather forecast."""

    city: str = Field(description="The city")
    high: int
    rain: float
    windy: bool
    sky: Literal["clear", "cloudy"]


SYNTHESISED = Forecast(city="example", high=1, rain=1.5, windy=True, sky="clear")


def test_with_structured_output_default_method(llm):
    forecast = llm.with_structured_output(Forecast).invoke("Forecast for Paris.")
    assert forecast == SYNTHESISED


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_with_structured_output_method(llm, method):
    forecast = llm.with_structured_output(Forecast, method=method).invoke("Forecast for Paris.")
    assert forecast == SYNTHESISED


def test_with_structured_output_json_mode(llm):
    value = {"city": "Bergen", "high": 9, "rain": 12.5, "windy": True, "sky": "cloudy"}
    forecast = llm.with_structured_output(Forecast, method="json_mode").invoke(
        f"Forecast for Bergen as JSON. [[json:{json.dumps(value)}]]"
    )
    assert forecast == Forecast(**value)


def test_with_structured_output_include_raw(llm):
    out = llm.with_structured_output(Forecast, include_raw=True).invoke("Forecast for Paris.")
    assert out["parsing_error"] is None
    assert out["parsed"] == SYNTHESISED
    assert json.loads(out["raw"].content) == SYNTHESISED.model_dump()
