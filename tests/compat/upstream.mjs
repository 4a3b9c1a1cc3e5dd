// Shared by the Node compat tests: what reached the fake upstream for one conversation.
// Each tool test puts a fresh nonce in its first user message and finds its upstream chat by
// it, so the assertions hold whatever else runs at the same time (node --test runs files in
// parallel, and pytest may have filled the fake's log before).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

const FAKE_URL = process.env.FAKE_URL;

// One tool result as qwenctl sends it upstream (design.md §9).
const RESULT_BLOCK = /<<<TOOL_RESULT name="([^"]*)" id="([^"]*)">>>\n([\s\S]*?)\n<<<END_TOOL_RESULT>>>/g;
export const CALL_ID = /^call_[A-Za-z0-9]{24}$/;

export const nonce = () => `n${randomUUID().replaceAll('-', '').slice(0, 12)}`;

const text = (body) => (body.messages ?? []).map((m) => String(m.content ?? '')).join('\n');

// The completion requests of the one upstream chat that saw `nonce`, oldest first. A
// conversation that qwenctl failed to continue would be folded into a second chat.
export async function upstreamTurns(nonce) {
  const all = await (await fetch(`${FAKE_URL}/__fake/requests`)).json();
  const completions = all.filter((r) => r.path === '/api/v2/chat/completions').map((r) => r.body);
  const chats = new Set(completions.filter((c) => text(c).includes(nonce)).map((c) => c.chat_id));
  assert.equal(chats.size, 1, `${chats.size} upstream chats saw ${nonce}`);
  const [chat] = chats;
  return completions.filter((c) => c.chat_id === chat);
}

// [name, id, content] of each result block of one upstream message, asserting that the
// message holds nothing else.
export function resultBlocks(body) {
  assert.equal(body.messages.length, 1);
  const content = body.messages[0].content;
  assert.equal(content.replace(RESULT_BLOCK, '').trim(), '', `more than result blocks: ${content}`);
  return [...content.matchAll(RESULT_BLOCK)].map((m) => [m[1], m[2], m[3]]);
}
