"""The official `anthropic` Python SDK against qwenctl's Anthropic Messages API.

    pip install anthropic
    python3 examples/anthropic_python.py

One message, the same question streamed, a tool_use -> tool_result loop and a token count,
all on Qwen through `qwenctl serve` (docs/API.md, "Anthropic Messages API"). Against
`qwenctl serve --fake-upstream` the answers are the fake's deterministic ones: "You said: …",
the tool called with arguments made from its schema, then "Done. get_weather returned: …".
Reads ANTHROPIC_BASE_URL (default http://127.0.0.1:3000), ANTHROPIC_API_KEY (default
"unused"; one of the server's API_KEYS when it has any) and QWEN_MODEL (default qwen3-max;
with MODEL_ALIASES=claude-*=qwen3-max a Claude model name works as well).
"""

import os

import anthropic

client = anthropic.Anthropic(
    base_url=os.environ.get("ANTHROPIC_BASE_URL", "http://127.0.0.1:3000"),
    api_key=os.environ.get("ANTHROPIC_API_KEY", "unused"),
)
model = os.environ.get("QWEN_MODEL", "qwen3-max")

reply = client.messages.create(
    model=model,
    max_tokens=512,
    messages=[{"role": "user", "content": "Hello from the Anthropic Python SDK!"}],
)
print(reply.content[0].text)

with client.messages.stream(
    model=model,
    max_tokens=512,
    messages=[{"role": "user", "content": "Stream this answer."}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
print()

tools = [
    {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
messages = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
while True:
    reply = client.messages.create(
        model=model, max_tokens=1024, tools=tools, messages=messages
    )
    if reply.stop_reason != "tool_use":
        print(reply.content[-1].text)
        break
    messages.append({"role": "assistant", "content": reply.content})
    results = []
    for block in reply.content:
        if block.type == "tool_use":
            print(f"→ {block.name}({block.input})")
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block.id,
                    "content": f"Sunny, 21 °C in {block.input['city']}",
                }
            )
    messages.append({"role": "user", "content": results})

count = client.messages.count_tokens(
    model=model, messages=[{"role": "user", "content": "How many tokens is this?"}]
)
print(f"{count.input_tokens} input tokens")
