"""A multi-turn conversation through qwenctl with the official OpenAI Python SDK.

    pip install openai
    python3 examples/python_multiturn.py

Like every OpenAI client, this one resends the whole history each turn. qwenctl recognises
the history it answered before and continues the same upstream Qwen chat, sending only the
new message, so Qwen keeps the context itself (docs/ARCHITECTURE.md, "Conversations").
Against `qwenctl serve --fake-upstream` the last line printed is "Your name is Alice.".
Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1), OPENAI_API_KEY (default "unused")
and QWEN_MODEL (default qwen3-max).
"""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
model = os.environ.get("QWEN_MODEL", "qwen3-max")

messages = []
for question in ["Hi, my name is Alice.", "What is my name?"]:
    messages.append({"role": "user", "content": question})
    reply = client.chat.completions.create(model=model, messages=messages)
    answer = reply.choices[0].message.content
    messages.append({"role": "assistant", "content": answer})
    print(f"> {question}")
    print(answer)
