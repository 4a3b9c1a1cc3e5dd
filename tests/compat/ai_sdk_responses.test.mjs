// The Vercel AI SDK's default OpenAI provider, `openai(model)` from `@ai-sdk/openai` v3, which
// speaks the Responses API (design.md §11), against `qwenctl serve` in front of the fake
// upstream: text with generateText and streamText, and a multi-step tool loop, which the
// provider continues by resending every item. The fake answers like a tool-calling model
// (crates/qwen-fake/src/tools.rs). Started by tests/compat/run.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { CALL_ID, nonce, resultBlocks, upstreamTurns } from './upstream.mjs';

const openai = createOpenAI({ baseURL: `${process.env.QWENCTL_URL}/v1`, apiKey: 'unused' });
const model = openai('qwen3-max');

test('generateText answers text', async () => {
  const n = nonce();
  const result = await generateText({ model, prompt: `Hello ${n}` });
  assert.equal(result.text, `You said: Hello ${n}`);
  assert.equal(result.finishReason, 'stop');
  assert.match(result.response.id, /^resp_/);
  assert.equal(result.response.modelId, 'qwen3-max');
  assert.ok(result.usage.inputTokens > 0);
  assert.ok(result.usage.outputTokens > 0);
});

test('streamText streams text', async () => {
  const n = nonce();
  const result = streamText({ model, prompt: `Stream ${n}` });
  const deltas = [];
  for await (const delta of result.textStream) deltas.push(delta);
  assert.ok(deltas.length > 1, 'more than one delta');
  assert.equal(deltas.join(''), `You said: Stream ${n}`);
  assert.equal(await result.finishReason, 'stop');
  assert.ok((await result.usage).outputTokens > 0);
});

test('system prompt goes upstream ahead of the prompt', async () => {
  const n = nonce();
  const result = await generateText({ model, system: 'Be terse.', prompt: `Hi ${n}` });
  const [turn] = await upstreamTurns(n);
  assert.equal(result.text, `You said: ${turn.messages[0].content}`);
  assert.ok(turn.messages[0].content.indexOf('Be terse.') < turn.messages[0].content.indexOf(n));
});

function weatherTools(calls) {
  return {
    getWeather: tool({
      description: 'Current weather in a city.',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `${city === 'Paris' ? 'sunny' : 'rainy'} in ${city}\nwind 10 km/h`;
      },
    }),
  };
}

// Step 1: two parallel calls; step 2: one more; then the fake's summary.
const SCRIPT =
  '[[call:getWeather {"city": "Paris"}]] [[call:getWeather {"city": "Oslo"}]] [[then]] [[call:getWeather {"city": "Lyon"}]]';
const FINAL = 'Done. getWeather returned: rainy in Lyon.';

// One upstream chat for the whole loop; later turns only carry the results.
async function assertOneChat(n, steps) {
  const turns = await upstreamTurns(n);
  const sent = steps
    .filter((s) => s.toolResults.length)
    .map((s) => s.toolResults.map((r) => [r.toolName, r.toolCallId, r.output]));
  assert.equal(turns.length, 1 + sent.length);
  assert.deepEqual(turns.slice(1).map(resultBlocks), sent);
}

for (const [name, run] of [
  ['generateText', (args) => generateText(args)],
  [
    'streamText',
    async (args) => {
      const result = streamText(args);
      let text = '';
      for await (const delta of result.textStream) text += delta;
      return { text, finishReason: await result.finishReason, steps: await result.steps };
    },
  ],
]) {
  test(`${name} runs a multi-step tool loop`, async () => {
    const n = nonce();
    const calls = [];
    const result = await run({
      model,
      tools: weatherTools(calls),
      stopWhen: stepCountIs(5),
      prompt: `Plan a trip (${n}). ${SCRIPT}`,
    });
    assert.deepEqual(calls, ['Paris', 'Oslo', 'Lyon']);
    assert.equal(result.text, FINAL);
    assert.equal(result.finishReason, 'stop');
    assert.deepEqual(
      result.steps.map((s) => s.finishReason),
      ['tool-calls', 'tool-calls', 'stop'],
    );
    for (const s of result.steps) for (const c of s.toolCalls) assert.match(c.toolCallId, CALL_ID);
    await assertOneChat(n, result.steps);
  });
}
