"""The OpenAI Agents SDK (`openai-agents` from PyPI) against `qwenctl serve` in front of the
fake upstream: an agent with one function tool, on the SDK's default API (Responses) and its
default model (a `gpt-*` name, which serve's MODEL_ALIASES maps to qwen3-max). The prompt
tells the fake to call the tool (crates/qwen-fake/src/tools.rs); the SDK runs it, sends the
result back and ends with the fake's summary. Started by tests/compat/run.sh.
"""

import asyncio

import pytest
from agents import (
    Agent,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
    set_tracing_disabled,
)
from agents.models.default_models import get_default_model
from openai import AsyncOpenAI

from conftest import URL, result_blocks, upstream_turns


@pytest.fixture(autouse=True)
def serve_as_openai():
    # Tracing would upload spans to OpenAI; the key is a dummy that only serve sees.
    set_tracing_disabled(True)
    set_default_openai_api("responses")
    set_default_openai_client(AsyncOpenAI(base_url=f"{URL}/v1", api_key="unused", max_retries=0))


def weather_agent(calls):
    @function_tool
    def get_weather(city: str) -> str:
        """Current weather in a city.

        Args:
            city: The city's name.
        """
        calls.append(city)
        return f"sunny in {city}\nwind 10 km/h"

    return Agent(name="Weather", instructions="You answer weather questions.", tools=[get_weather])


def assert_one_chat(nonce, result):
    """One upstream chat: the prompt, then only the tool's result block."""
    turns = upstream_turns(nonce)
    assert len(turns) == 2
    first = turns[0]["messages"][0]["content"]
    assert "You answer weather questions." in first
    assert "get_weather" in first
    ((name, call_id, content),) = result_blocks(turns[1])
    assert name == "get_weather"
    assert content == "sunny in Paris\nwind 10 km/h"
    (call,) = [i.raw_item for i in result.new_items if i.type == "tool_call_item"]
    assert call.call_id == call_id


def test_agent_runs_its_tool(nonce):
    assert get_default_model().startswith("gpt-")
    calls = []
    agent = weather_agent(calls)
    prompt = f'Weather in Paris? ({nonce}) [[call:get_weather {{"city": "Paris"}}]]'
    result = Runner.run_sync(agent, prompt)
    assert calls == ["Paris"]
    assert result.final_output == "Done. get_weather returned: sunny in Paris."
    assert [i.type for i in result.new_items] == [
        "tool_call_item",
        "tool_call_output_item",
        "message_output_item",
    ]
    assert_one_chat(nonce, result)


def test_agent_chains_its_turns_with_previous_response_id(nonce):
    # auto_previous_response_id: the second model call sends only the tool's output, with
    # `previous_response_id` and the agent's instructions again (OpenAI does not carry them
    # over); serve sends only the result upstream.
    calls = []
    agent = weather_agent(calls)
    prompt = f'Weather in Paris, chained? ({nonce}) [[call:get_weather {{"city": "Paris"}}]]'
    result = Runner.run_sync(agent, prompt, auto_previous_response_id=True)
    assert calls == ["Paris"]
    assert result.final_output == "Done. get_weather returned: sunny in Paris."
    assert result.last_response_id.startswith("resp_")
    assert_one_chat(nonce, result)

    # A later run continues from the last response: only the new prompt goes upstream.
    again = Runner.run_sync(agent, "Thanks.", previous_response_id=result.last_response_id)
    assert again.final_output == "You said: Thanks."
    turns = upstream_turns(nonce)
    assert len(turns) == 3
    assert turns[2]["messages"][0]["content"] == "Thanks."


def test_agent_runs_its_tool_streamed(nonce):
    calls = []
    agent = weather_agent(calls)
    prompt = f'Weather in Paris, streamed? ({nonce}) [[call:get_weather {{"city": "Paris"}}]]'

    async def run():
        result = Runner.run_streamed(agent, prompt)
        deltas = []
        async for event in result.stream_events():
            if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                deltas.append(event.data.delta)
        return result, "".join(deltas)

    result, text = asyncio.run(run())
    assert calls == ["Paris"]
    assert result.final_output == "Done. get_weather returned: sunny in Paris."
    assert text == result.final_output
    assert_one_chat(nonce, result)
