// The official `openai` npm SDK against `qwenctl serve` in front of the fake upstream.
// Started by tests/compat/run.sh (QWENCTL_URL, QWENCTL_KEYED_URL, FAKE_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const URL = process.env.QWENCTL_URL;
const KEYED_URL = process.env.QWENCTL_KEYED_URL;
const client = new OpenAI({ baseURL: `${URL}/v1`, apiKey: 'unused', maxRetries: 0 });

test('models list and retrieve', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('qwen3-max'));
  assert.ok(ids.includes('qwen3.7-plus-thinking'));
  const m = await client.models.retrieve('qwen3-max');
  assert.equal(m.object, 'model');
});

test('chat non-stream', async () => {
  const r = await client.chat.completions.create({
    model: 'qwen3-max',
    messages: [{ role: 'user', content: 'hello node' }],
  });
  assert.equal(r.choices[0].message.content, 'You said: hello node');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.total_tokens > 0);
});

test('chat stream with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'qwen3-max',
    messages: [{ role: 'user', content: 'stream node' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.ok(usage.usage.total_tokens > 0);
  const body = chunks.slice(0, -1);
  body.slice(0, -1).forEach((c) => assert.equal(c.choices[0].finish_reason, null));
  assert.equal(body.at(-1).choices[0].finish_reason, 'stop');
  assert.equal(body.map((c) => c.choices[0].delta.content ?? '').join(''), 'You said: stream node');
});

test('legacy completions', async () => {
  const r = await client.completions.create({ model: 'qwen3-max', prompt: 'legacy node' });
  assert.equal(r.choices[0].text, 'You said: legacy node');
  const stream = await client.completions.create({ model: 'qwen3-max', prompt: 'legacy node stream', stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0].text;
  assert.equal(text, 'You said: legacy node stream');
});

test('thinking model gives reasoning_content apart from content', async () => {
  const r = await client.chat.completions.create({
    model: 'qwen3.7-plus-thinking',
    messages: [{ role: 'user', content: 'ponder node' }],
  });
  assert.equal(r.choices[0].message.content, 'You said: ponder node');
  assert.ok(r.choices[0].message.reasoning_content.length > 0);
});

test('rate limit surfaces as RateLimitError', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'qwen3-max',
      messages: [{ role: 'user', content: '[[fake:ratelimit]] node' }],
    }),
    (err) => err instanceof OpenAI.RateLimitError && err.code === 'rate_limited',
  );
});

test('wrong API key surfaces as AuthenticationError', async () => {
  const bad = new OpenAI({ baseURL: `${KEYED_URL}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (err) => err instanceof OpenAI.AuthenticationError);
});
