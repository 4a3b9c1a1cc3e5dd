"""A streamed chat completion through qwenctl with the official OpenAI Python SDK.

    pip install openai
    python3 examples/python_streaming.py "Tell me a short story"
    QWEN_MODEL=qwen3.7-plus-thinking python3 examples/python_streaming.py "Why is the sky blue?"

The answer is printed to stdout as it arrives. A thinking model (a `-thinking` id from
`qwenctl models` or GET /v1/models) also streams its reasoning in `reasoning_content`, which
this example prints dimmed on stderr. With `stream_options.include_usage` the last chunk
carries the token usage. Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1),
OPENAI_API_KEY (default "unused") and QWEN_MODEL (default qwen3-max).
"""

import os
import sys

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
prompt = " ".join(sys.argv[1:]) or "Hello from a streaming client!"

stream = client.chat.completions.create(
    model=os.environ.get("QWEN_MODEL", "qwen3-max"),
    messages=[{"role": "user", "content": prompt}],
    stream=True,
    stream_options={"include_usage": True},
)
usage = None
thinking = False
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        # qwenctl's extension for thinking models (the field DeepSeek and Qwen's API use).
        reasoning = getattr(choice.delta, "reasoning_content", None)
        if reasoning:
            thinking = True
            print(f"\x1b[2m{reasoning}\x1b[0m", end="", file=sys.stderr, flush=True)
        if choice.delta.content:
            if thinking:
                print(file=sys.stderr)
                thinking = False
            print(choice.delta.content, end="", flush=True)
print()
if usage is not None:
    print(f"[{usage.total_tokens} tokens]", file=sys.stderr)
