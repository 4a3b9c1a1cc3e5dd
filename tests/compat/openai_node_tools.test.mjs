// Tool calling and structured outputs (design.md §9) through the official `openai` npm SDK:
// its tool runner (`chat.completions.runTools`), a streamed call accumulated by index, and
// `chat.completions.parse` with zod. The fake upstream answers like a tool-calling model
// (crates/qwen-fake/src/tools.rs). Started by tests/compat/run.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { CALL_ID, nonce, resultBlocks, upstreamTurns } from './upstream.mjs';

const client = new OpenAI({ baseURL: `${process.env.QWENCTL_URL}/v1`, apiKey: 'unused', maxRetries: 0 });
const model = 'qwen3-max';

const weather = (city) => `${city === 'Paris' ? 'sunny' : 'rainy'} in ${city}\nwind 10 km/h`;

// Runnable tools for runTools; `calls` records what the runner called them with.
function runnableTools(calls) {
  return [
    {
      type: 'function',
      function: {
        function: async function getWeather(args) {
          calls.push(['getWeather', args]);
          return weather(args.city);
        },
        parse: JSON.parse,
        description: 'Current weather in a city.',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
    {
      type: 'function',
      function: {
        function: async function getTime(args) {
          calls.push(['getTime', args]);
          return `12:00 in ${args.tz}`;
        },
        parse: JSON.parse,
        description: 'Local time in a time zone.',
        parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
      },
    },
  ];
}

const SCRIPT =
  '[[call:getWeather {"city": "Paris"}]] [[call:getTime {"tz": "Europe/Paris"}]] [[then]] [[call:getWeather {"city": "Lyon"}]]';
const EXPECTED_CALLS = [
  ['getWeather', { city: 'Paris' }],
  ['getTime', { tz: 'Europe/Paris' }],
  ['getWeather', { city: 'Lyon' }],
];
const FINAL = 'Done. getWeather returned: rainy in Lyon.';

// The loop was one upstream chat, and every later turn only carried the results the runner
// sent, in its order: [name, id, content] of each tool message, grouped per turn.
async function assertOneChat(n, runnerMessages) {
  const turns = await upstreamTurns(n);
  const sent = [];
  for (const m of runnerMessages) {
    if (m.role === 'assistant' && m.tool_calls?.length) sent.push([]);
    if (m.role === 'tool') {
      const name = runnerMessages
        .flatMap((a) => a.tool_calls ?? [])
        .find((c) => c.id === m.tool_call_id).function.name;
      sent.at(-1).push([name, m.tool_call_id, m.content]);
    }
  }
  assert.equal(turns.length, 1 + sent.length);
  assert.deepEqual(turns.slice(1).map(resultBlocks), sent);
}

for (const stream of [false, true]) {
  test(`runTools loop${stream ? ' (stream)' : ''}`, async () => {
    const n = nonce();
    const calls = [];
    const runner = client.chat.completions.runTools({
      model,
      messages: [{ role: 'user', content: `Plan a day out (${n}). ${SCRIPT}` }],
      tools: runnableTools(calls),
      ...(stream ? { stream: true } : {}),
    });
    assert.equal(await runner.finalContent(), FINAL);
    assert.deepEqual(calls, EXPECTED_CALLS);
    const assistant = runner.messages.filter((m) => m.role === 'assistant');
    assert.deepEqual(
      assistant.map((m) => m.tool_calls?.length ?? 0),
      [2, 1, 0],
    );
    for (const call of assistant.flatMap((m) => m.tool_calls ?? [])) assert.match(call.id, CALL_ID);
    await assertOneChat(n, runner.messages);
  });
}

test('streamed parallel tool calls accumulate by index', async () => {
  const n = nonce();
  const stream = await client.chat.completions.create({
    model,
    messages: [
      { role: 'user', content: `(${n}) [[call:getWeather {"city": "Oslo"}]] [[call:getTime {"tz": "UTC"}]]` },
    ],
    tools: runnableTools([]).map(({ function: f }) => ({
      type: 'function',
      function: { name: f.function.name, description: f.description, parameters: f.parameters },
    })),
    stream: true,
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
  chunks.slice(0, -1).forEach((c) => assert.equal(c.choices[0].finish_reason, null));
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
  const calls = [];
  for (const c of chunks) {
    for (const tc of c.choices[0].delta.tool_calls ?? []) {
      if (!calls[tc.index]) {
        assert.match(tc.id, CALL_ID);
        assert.equal(tc.type, 'function');
        calls[tc.index] = { name: tc.function.name, arguments: '' };
      }
      calls[tc.index].arguments += tc.function?.arguments ?? '';
    }
  }
  assert.deepEqual(
    calls.map((c) => [c.name, JSON.parse(c.arguments)]),
    [
      ['getWeather', { city: 'Oslo' }],
      ['getTime', { tz: 'UTC' }],
    ],
  );
});

test('tool_choice required calls the first tool with schema-shaped arguments', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Hello there.' }],
    tools: [zodFunction({ name: 'lookup', parameters: z.object({ query: z.string(), limit: z.number().int() }) })],
    tool_choice: 'required',
  });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const [call] = r.choices[0].message.tool_calls;
  assert.equal(call.function.name, 'lookup');
  assert.deepEqual(JSON.parse(call.function.arguments), { query: 'example', limit: 1 });
});

const Report = z.object({
  city: z.string(),
  temperature: z.number().int(),
  humidity: z.number(),
  sunny: z.boolean(),
  sky: z.enum(['clear', 'cloudy']),
  nearby: z.array(z.object({ name: z.string(), population: z.number().int() })),
});

test('parse with zodResponseFormat', async () => {
  const r = await client.chat.completions.parse({
    model,
    messages: [{ role: 'user', content: 'Weather report for Paris.' }],
    response_format: zodResponseFormat(Report, 'report'),
  });
  const message = r.choices[0].message;
  const expected = {
    city: 'example',
    temperature: 1,
    humidity: 1.5,
    sunny: true,
    sky: 'clear',
    nearby: [{ name: 'example', population: 1 }],
  };
  assert.deepEqual(message.parsed, expected);
  assert.deepEqual(JSON.parse(message.content), expected);
});

test('parse with a zod tool gives parsed_arguments', async () => {
  const r = await client.chat.completions.parse({
    model,
    messages: [{ role: 'user', content: 'Weather? [[call:get_weather {"city": "Rome", "unit": "celsius"}]]' }],
    tools: [zodFunction({ name: 'get_weather', parameters: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }) })],
  });
  const [call] = r.choices[0].message.tool_calls;
  assert.deepEqual(call.function.parsed_arguments, { city: 'Rome', unit: 'celsius' });
});
