// The Vercel AI SDK (`ai` with `@ai-sdk/openai`'s chat-completions provider, `.chat()`)
// against `qwenctl serve` in front of the fake upstream: a multi-step tool loop with
// generateText and streamText, and structured outputs with generateObject and
// `Output.object`. The fake answers like a tool-calling model (crates/qwen-fake/src/tools.rs).
// Started by tests/compat/run.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { CALL_ID, nonce, resultBlocks, upstreamTurns } from './upstream.mjs';

const openai = createOpenAI({ baseURL: `${process.env.QWENCTL_URL}/v1`, apiKey: 'unused' });
const model = openai.chat('qwen3-max');

function weatherTools(calls) {
  return {
    getWeather: tool({
      description: 'Current weather in a city.',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(['getWeather', { city }]);
        return `${city === 'Paris' ? 'sunny' : 'rainy'} in ${city}\nwind 10 km/h`;
      },
    }),
    getTime: tool({
      description: 'Local time in a time zone.',
      inputSchema: z.object({ tz: z.string() }),
      // An object result: the SDK sends it as JSON text.
      execute: async ({ tz }) => {
        calls.push(['getTime', { tz }]);
        return { time: '12:00', tz };
      },
    }),
  };
}

const SCRIPT =
  '[[call:getWeather {"city": "Paris"}]] [[call:getTime {"tz": "CET"}]] [[then]] [[call:getWeather {"city": "Lyon"}]]';
const EXPECTED_CALLS = [
  ['getWeather', { city: 'Paris' }],
  ['getTime', { tz: 'CET' }],
  ['getWeather', { city: 'Lyon' }],
];
const FINAL = 'Done. getWeather returned: rainy in Lyon.';

// One upstream chat for the whole loop; later turns only carry the results, as the SDK sent
// them (strings as they are, objects as JSON).
async function assertOneChat(n, steps) {
  const turns = await upstreamTurns(n);
  const sent = steps
    .filter((s) => s.toolResults.length)
    .map((s) =>
      s.toolResults.map((r) => [
        r.toolName,
        r.toolCallId,
        typeof r.output === 'string' ? r.output : JSON.stringify(r.output),
      ]),
    );
  assert.equal(turns.length, 1 + sent.length);
  assert.deepEqual(turns.slice(1).map(resultBlocks), sent);
}

test('generateText runs a multi-step tool loop', async () => {
  const n = nonce();
  const calls = [];
  const result = await generateText({
    model,
    tools: weatherTools(calls),
    stopWhen: stepCountIs(5),
    prompt: `Plan a day out (${n}). ${SCRIPT}`,
  });
  assert.deepEqual(calls, EXPECTED_CALLS);
  assert.equal(result.text, FINAL);
  assert.equal(result.finishReason, 'stop');
  assert.deepEqual(
    result.steps.map((s) => s.finishReason),
    ['tool-calls', 'tool-calls', 'stop'],
  );
  for (const s of result.steps) for (const c of s.toolCalls) assert.match(c.toolCallId, CALL_ID);
  await assertOneChat(n, result.steps);
});

test('streamText runs the same loop streamed', async () => {
  const n = nonce();
  const calls = [];
  const result = streamText({
    model,
    tools: weatherTools(calls),
    stopWhen: stepCountIs(5),
    prompt: `Plan a day out, streamed (${n}). ${SCRIPT}`,
  });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  assert.deepEqual(calls, EXPECTED_CALLS);
  assert.equal(text, FINAL);
  assert.equal(await result.finishReason, 'stop');
  await assertOneChat(n, await result.steps);
});

test('toolChoice required without a directive calls with schema-shaped input', async () => {
  const calls = [];
  const result = await generateText({
    model,
    tools: weatherTools(calls),
    toolChoice: 'required',
    prompt: 'Hello there.',
  });
  assert.deepEqual(calls, [['getWeather', { city: 'example' }]]);
  assert.equal(result.finishReason, 'tool-calls');
});

const Forecast = z.object({
  city: z.string(),
  high: z.number().int(),
  rain: z.number(),
  windy: z.boolean(),
  sky: z.enum(['clear', 'cloudy']),
  hours: z.array(z.object({ hour: z.number().int(), label: z.string() })),
});
const SYNTHESISED = {
  city: 'example',
  high: 1,
  rain: 1.5,
  windy: true,
  sky: 'clear',
  hours: [{ hour: 1, label: 'example' }],
};

test('generateObject with a zod schema', async () => {
  const { object, finishReason } = await generateObject({
    model,
    schema: Forecast,
    prompt: 'Forecast for Paris.',
  });
  assert.deepEqual(object, SYNTHESISED);
  assert.equal(finishReason, 'stop');
});

test('generateObject strips prose and fence around scripted JSON', async () => {
  const value = { city: 'Bergen', high: 9, rain: 12.5, windy: false, sky: 'cloudy', hours: [] };
  const { object } = await generateObject({
    model,
    schema: Forecast,
    prompt: `Forecast for Bergen. [[json:${JSON.stringify(value)}]]`,
  });
  assert.deepEqual(object, value);
});

test('generateText with Output.object', async () => {
  const { output } = await generateText({
    model,
    output: Output.object({ schema: Forecast }),
    prompt: 'Forecast for Paris.',
  });
  assert.deepEqual(output, SYNTHESISED);
});
