"""The OpenAI Responses API through qwenctl with the official OpenAI Python SDK.

    pip install openai
    python3 examples/responses_python.py

One response, the same streamed, and a function tool round trip that continues with
`previous_response_id` (qwenctl continues that response's Qwen chat and sends only the
tool's output upstream), then the stored response retrieved (docs/API.md, "OpenAI Responses
API"). Against `qwenctl serve --fake-upstream`, the fake calls the tool the prompt names with
arguments made from its schema and then summarises the result ("Done. get_weather returned:
…"). Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1), OPENAI_API_KEY (default
"unused") and QWEN_MODEL (default qwen3-max).
"""

import json
import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
model = os.environ.get("QWEN_MODEL", "qwen3-max")

response = client.responses.create(model=model, input="Hello from the Responses API!")
print(response.output_text)

stream = client.responses.create(model=model, input="Stream this answer.", stream=True)
for event in stream:
    if event.type == "response.output_text.delta":
        print(event.delta, end="", flush=True)
print()

tools = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
response = client.responses.create(
    model=model, input="What is the weather in Paris? Use get_weather.", tools=tools
)
while True:
    calls = [item for item in response.output if item.type == "function_call"]
    if not calls:
        print(response.output_text)
        break
    outputs = []
    for call in calls:
        args = json.loads(call.arguments)
        print(f"→ {call.name}({json.dumps(args)})")
        outputs.append(
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": f"Sunny, 21 °C in {args['city']}",
            }
        )
    response = client.responses.create(
        model=model, previous_response_id=response.id, input=outputs, tools=tools
    )

stored = client.responses.retrieve(response.id)
print(f"stored: {stored.id} ({stored.status})")
