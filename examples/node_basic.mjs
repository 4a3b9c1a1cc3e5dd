// One chat completion, then the same question streamed, through qwenctl with the official
// OpenAI Node SDK (openai v6, Node 20+).
//
//   npm install openai
//   node examples/node_basic.mjs "Why is the sky blue?"
//
// Reads OPENAI_BASE_URL (default http://127.0.0.1:3000/v1), OPENAI_API_KEY (default
// "unused"; one of qwenctl's API_KEYS when the server has any) and QWEN_MODEL (default
// qwen3-max).
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:3000/v1',
  apiKey: process.env.OPENAI_API_KEY ?? 'unused',
});
const model = process.env.QWEN_MODEL ?? 'qwen3-max';
const prompt = process.argv.slice(2).join(' ') || 'Hello from the OpenAI Node SDK!';

const completion = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: prompt }],
});
console.log(completion.choices[0].message.content);

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: prompt }],
  stream: true,
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
}
process.stdout.write('\n');
