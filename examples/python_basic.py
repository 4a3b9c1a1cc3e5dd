"""One chat completion through qwenctl with the official OpenAI Python SDK.

    pip install openai
    python3 examples/python_basic.py "Why is the sky blue?"

Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1) and OPENAI_API_KEY (default
"unused"; set it to one of qwenctl's API_KEYS when the server has any). QWEN_MODEL picks
the model (default qwen3-max; `qwenctl models` lists them).
"""

import os
import sys

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
prompt = " ".join(sys.argv[1:]) or "Hello from the OpenAI Python SDK!"

completion = client.chat.completions.create(
    model=os.environ.get("QWEN_MODEL", "qwen3-max"),
    messages=[{"role": "user", "content": prompt}],
)
print(completion.choices[0].message.content)
usage = completion.usage
print(
    f"[{completion.model}, finish_reason={completion.choices[0].finish_reason}, "
    f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens]",
    file=sys.stderr,
)
