"""An agent loop and a structured output through qwenctl with the official OpenAI Python SDK.

    pip install openai
    python3 examples/python_tools.py

qwenctl emulates tool calling and structured outputs on Qwen's web chat (docs/API.md,
"Tools and structured outputs"): the model's calls come back as `message.tool_calls`, the
results go back as `tool` messages, and each result turn continues the same upstream chat with
only the results. Against `qwenctl serve --fake-upstream`, the fake calls the tool the prompt
names with arguments made from its schema ({"city": "example"}), then summarises the result
("Done. get_weather returned: …"), and answers the structured output with a value made from
the schema. Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1), OPENAI_API_KEY (default
"unused") and QWEN_MODEL (default qwen3-max).
"""

import json
import os

from openai import OpenAI
from pydantic import BaseModel

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
model = os.environ.get("QWEN_MODEL", "qwen3-max")

tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def get_weather(city):
    return f"Sunny, 21 °C in {city}"


messages = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
while True:
    reply = client.chat.completions.create(model=model, messages=messages, tools=tools)
    message = reply.choices[0].message
    if not message.tool_calls:
        print(message.content)
        break
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls:
        args = json.loads(call.function.arguments)
        print(f"→ {call.function.name}({json.dumps(args)})")
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": get_weather(**args)}
        )


class Weather(BaseModel):
    city: str
    temp_c: int


parsed = client.chat.completions.parse(
    model=model,
    messages=[{"role": "user", "content": "The weather in Paris, as data."}],
    response_format=Weather,
)
print(parsed.choices[0].message.parsed)
