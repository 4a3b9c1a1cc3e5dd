// The web console in a real browser (run by run.sh, which starts `serve --fake-upstream`
// with API keys and passes its URL and key). Seeds conversations over HTTP — one with a tool
// call and its result, one with a regenerated branch, one whose prompt and answer carry
// <script>, <img onerror> and a javascript: link — then drives Debian's Chromium through
// every view: the key prompt, the overview against /v1/responses/stats, search, a session
// with its tool calls, live events, and the hostile conversation rendering inert everywhere.
// Screenshots of every view (desktop and phone width, light and dark) go to $SCREENSHOTS.

import { chromium } from "playwright-core";

const base = process.env.QWENCTL_URL;
const key = process.env.QWENCTL_KEY;
const shots = process.env.SCREENSHOTS;
const profile = process.env.PROFILE_DIR;
if (!base || !key || !shots || !profile) throw new Error("run me through tests/browser/run.sh");

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(err && err.stack ? err.stack : err).split("\n").join("\n     ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// --- Seeding over HTTP ---------------------------------------------------------------------

async function call(path, body) {
  const response = await fetch(base + path, {
    method: body ? "POST" : "GET",
    headers: { Authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  assert(response.ok, `${path}: ${response.status} ${JSON.stringify(json)}`);
  return { json, requestId: response.headers.get("x-request-id") };
}
const chat = (messages, extra = {}) => call("/v1/chat/completions", { model: "qwen3-max", messages, ...extra });

const XSS =
  'Hostile <script>window.__xss="script"</script> text <img src=x onerror="window.__xss=\'img\'"> ' +
  "and [click me](javascript:window.__xss='link') with **bold**";

const aurora1 = [{ role: "user", content: "Tell me about the aurora borealis over Tromsø." }];
const a1 = (await chat(aurora1)).json.choices[0].message;
const aurora2 = [...aurora1, a1, { role: "user", content: "And when is the best season to see it?" }];
await chat(aurora2);
await chat(aurora2); // the same request again: a regenerated answer, a second branch

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const weather1 = [{ role: "user", content: 'What is the weather in Paris? [[call:get_weather {"city":"Paris"}]]' }];
const w1 = (await chat(weather1, { tools })).json.choices[0].message;
assert(w1.tool_calls && w1.tool_calls.length === 1, "the fake made no tool call: " + JSON.stringify(w1));
await chat([...weather1, w1, { role: "tool", tool_call_id: w1.tool_calls[0].id, content: '{"temperature_c":21,"sky":"clear"}' }], { tools });

const hostile = (await chat([{ role: "user", content: XSS }])).json.choices[0].message.content;
assert(hostile.includes("<script>") && hostile.includes("javascript:"), "the fake did not echo the payload: " + hostile);

const MARKDOWN =
  "Markdown check\n\n## Steps\n\n1. first *step*\n2. second `code`\n\n> quoted\n\n" +
  "```js\nconsole.log(1 < 2);\n```\n\nSee [the docs](https://example.com/docs) or <mailto:a@example.com>.";
await chat([{ role: "user", content: MARKDOWN }]);
await call("/v1/chat/completions", { model: "qwen3.7-plus-thinking", messages: [{ role: "user", content: "Ponder the primes." }] });

// One the upstream fails (after serve's retries): an error to count by class.
const refused = await fetch(base + "/v1/chat/completions", {
  method: "POST",
  headers: { Authorization: `Bearer ${key}`, "content-type": "application/json" },
  body: JSON.stringify({ model: "qwen3-max", messages: [{ role: "user", content: "Rate me [[fake:ratelimit]]" }] }),
});
assert(refused.status === 429, "the injected rate limit answered " + refused.status);

const sessions = (await call("/v1/sessions?limit=100")).json.data;
const sessionOf = (word) => sessions.find((s) => s.title.includes(word));
const auroraId = sessionOf("aurora").id;
const weatherId = sessionOf("weather").id;
const hostileId = sessionOf("Hostile").id;
const markdownId = sessionOf("Markdown check").id;
const thinkingId = sessionOf("Ponder").id;

// --- The browser ---------------------------------------------------------------------------

const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});

const dialogs = [];
const pageErrors = [];
async function newPage() {
  const page = await context.newPage();
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  return page;
}

/** Enters the key when the console asks for it (once per tab: it lives in sessionStorage). */
async function enterKey(page) {
  const input = page.locator("dialog input#api-key");
  await input.waitFor({ state: "visible", timeout: 10000 });
  await input.fill(key);
  await input.press("Enter");
  await input.waitFor({ state: "detached", timeout: 10000 });
}

/** Nothing hostile ran or exists: no flag, no dialog, no script or handler in the DOM. */
async function assertInert(page, where) {
  const found = await page.evaluate(() => ({
    flag: window.__xss ?? null,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src.includes("/ui/assets/")).length,
    handlers: document.querySelectorAll("[onerror], [onload], [onclick]").length,
    imgs: document.querySelectorAll("main img").length,
    jsLinks: [...document.querySelectorAll("a[href]")].filter((a) => !/^(https?|mailto|blob):/.test(a.href)).length,
  }));
  assert(found.flag === null, `${where}: a payload ran (window.__xss = ${found.flag})`);
  assert(dialogs.length === 0, `${where}: a dialog opened: ${dialogs}`);
  assert(found.scripts === 0, `${where}: ${found.scripts} foreign <script> element(s) in the DOM`);
  assert(found.handlers === 0, `${where}: elements with inline event handlers in the DOM`);
  assert(found.imgs === 0, `${where}: an <img> from stored text in the DOM`);
  assert(found.jsLinks === 0, `${where}: a link that is not http(s)/mailto`);
}

const page = await newPage();
let cspResponse;

await check("/ui asks for the key and shows the overview", async () => {
  cspResponse = await page.goto(base + "/ui");
  await enterKey(page);
  await page.locator("[data-stat=total_requests]").waitFor();
});

await check("every /ui answer carries the CSP, nosniff and no-referrer", async () => {
  const headers = cspResponse.headers();
  const csp = headers["content-security-policy"] || "";
  for (const part of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
    assert(csp.includes(part), `CSP lacks ${part}: ${csp}`);
  }
  assert(!csp.includes("unsafe-inline"), "CSP allows inline scripts");
  assert(headers["x-content-type-options"] === "nosniff", "no nosniff");
  assert(headers["referrer-policy"] === "no-referrer", "no Referrer-Policy");
  const asset = await fetch(base + "/ui/assets/console.js");
  assert(asset.ok, "an asset needs a key");
  assert(asset.headers.get("content-security-policy") === csp, "the asset's CSP differs");
});

await check("the overview's numbers equal /v1/responses/stats", async () => {
  const source = await page.locator(".cards").getAttribute("data-source");
  assert(source && source.startsWith("/v1/responses/stats"), "no data-source: " + source);
  const stats = (await call(source)).json.statistics;
  assert(stats.total_requests >= 6, "the seeded requests are not counted: " + JSON.stringify(stats));
  for (const stat of ["total_requests", "total_tokens", "errors", "avg_duration_ms", "avg_first_token_ms"]) {
    const shown = await page.locator(`[data-stat=${stat}]`).getAttribute("data-value");
    assert(Number(shown) === stats[stat], `${stat}: page shows ${shown}, the API says ${stats[stat]}`);
  }
  const text = await page.locator("[data-stat=total_requests]").textContent();
  assert(text.replace(/\D/g, "") === String(stats.total_requests), `requests shown as ${text}`);
  // The first chart is requests per hour: its bars add up to the same total.
  await page.locator("svg.chart").first().waitFor();
  const bars = await page.locator("svg.chart").first().locator("rect").evaluateAll((rs) => rs.map((r) => Number(r.dataset.value)));
  assert(bars.length >= 24, `${bars.length} hourly bars`);
  assert(bars.reduce((a, b) => a + b, 0) === stats.total_requests, "the hourly bars add up to " + bars);
  const models = await page.locator("table.numbers tbody th").allTextContents();
  assert(models.includes("qwen3-max"), "no percentile row for qwen3-max: " + models);
  await page.getByRole("heading", { name: "Errors by class" }).waitFor();
  const classes = (await call(source)).json.errors_by_class;
  assert(Object.keys(classes).length >= 1, "the rate limit is not counted: " + JSON.stringify(classes));
  for (const [name, n] of Object.entries(classes)) {
    const row = page.locator(".panel", { hasText: "Errors by class" }).locator("tr", { hasText: name });
    assert((await row.locator("td").textContent()) === String(n), `errors of class ${name}`);
  }
  await page.getByRole("heading", { name: "Upstream" }).waitFor();
  await assertInert(page, "overview");
});

await check("'/' focuses search; a search finds the conversation, which opens", async () => {
  await page.getByRole("link", { name: "Sessions", exact: true }).click();
  await page.locator("li.session").first().waitFor();
  await assertInert(page, "sessions list");
  await page.locator("body").press("/");
  assert((await page.evaluate(() => document.activeElement && document.activeElement.id)) === "search", "'/' did not focus the search box");
  await page.keyboard.type("aurora");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/ui\/sessions\?q=aurora/);
  const hit = page.locator(`li.session[data-session-id="${auroraId}"]`);
  await hit.waitFor();
  const others = await page.locator("li.session").count();
  assert(others === 1, `the search for 'aurora' lists ${others} sessions`);
  const marked = await hit.locator("mark").allTextContents();
  assert(marked.some((m) => m.toLowerCase() === "aurora"), "no highlighted match in the snippet: " + marked);
  await hit.getByRole("link").click();
  await page.waitForURL(new RegExp(`/ui/sessions/${auroraId}$`));
  await page.locator("article.turn").first().waitFor();
  const text = await page.locator(".conversation").textContent();
  assert(text.includes("best season"), "the conversation is not shown");
  assert((await page.locator(".branch").count()) === 2, "the regenerated answer is not shown as a branch");
  // Back returns to the search, with its query.
  await page.goBack();
  await page.waitForURL(/q=aurora/);
  assert((await page.locator("#search").inputValue()) === "aurora", "the search box lost its query");
});

await check("a session shows its tool calls and tool results as such", async () => {
  await page.goto(`${base}/ui/sessions/${weatherId}`);
  await page.locator("article.turn").nth(1).waitFor();
  const call = page.locator(".tool-call").first();
  assert((await call.locator("code").first().textContent()) === "get_weather", "the tool call's name is not shown");
  assert((await call.locator("pre").textContent()).includes('"city": "Paris"'), "the arguments are not shown");
  const result = page.locator(".msg-tool").first();
  assert((await result.textContent()).includes('"temperature_c": 21'), "the tool result is not shown");
  assert((await page.locator(".conversation").textContent()).includes("get_weather returned"), "the final answer is missing");
  await page.locator(".meta").first().waitFor();
  await assertInert(page, "tool session");
});

await check("the hostile conversation renders inert, as visible text", async () => {
  await page.goto(`${base}/ui/sessions/${hostileId}`);
  await page.locator("article.turn").waitFor();
  const text = await page.locator(".conversation").textContent();
  assert(text.includes('<script>window.__xss="script"</script>'), "the <script> text is not shown as text");
  assert(text.includes("onerror="), "the <img> text is not shown as text");
  assert(text.includes("[click me](javascript:"), "the javascript: link is not shown as text");
  assert((await page.locator(".conversation strong").count()) >= 1, "Markdown beside it is not rendered");
  assert((await page.locator("h1").textContent()).includes("<script>"), "the title is not shown as text");
  await assertInert(page, "hostile session");
  await page.goto(`${base}/ui/sessions?q=Hostile`);
  await page.locator(`li.session[data-session-id="${hostileId}"]`).waitFor();
  await assertInert(page, "hostile search result");
  await page.goto(`${base}/ui`);
  await page.locator("[data-stat=total_requests]").waitFor();
  await assertInert(page, "overview after the hostile conversation");
});

await check("Markdown renders as elements: headings, lists, quotes, code, safe links", async () => {
  await page.goto(`${base}/ui/sessions/${markdownId}`);
  const user = page.locator(".msg-user .md");
  await user.waitFor();
  const found = await user.evaluate((el) => ({
    heading: el.querySelector("h4") && el.querySelector("h4").textContent,
    items: el.querySelectorAll("ol > li").length,
    em: el.querySelector("li em") && el.querySelector("li em").textContent,
    code: el.querySelector("li code") && el.querySelector("li code").textContent,
    quote: el.querySelector("blockquote") && el.querySelector("blockquote").textContent.trim(),
    block: el.querySelector("pre code[data-lang=js]") && el.querySelector("pre code").textContent,
    links: [...el.querySelectorAll("a")].map((a) => a.href),
  }));
  assert(found.heading === "Steps", "heading: " + found.heading);
  assert(found.items === 2 && found.em === "step" && found.code === "code", JSON.stringify(found));
  assert(found.quote === "quoted", "quote: " + found.quote);
  assert(found.block === "console.log(1 < 2);", "code block: " + found.block);
  assert(
    found.links.length === 2 && found.links[0] === "https://example.com/docs" && found.links[1] === "mailto:a@example.com",
    "links: " + found.links,
  );
  await assertInert(page, "markdown session");
});

await check("reasoning is folded away in <details>", async () => {
  await page.goto(`${base}/ui/sessions/${thinkingId}`);
  const details = page.locator(".msg-assistant details.reasoning");
  await details.waitFor();
  assert((await details.getAttribute("open")) === null, "the reasoning is unfolded");
  assert((await details.locator("summary").textContent()) === "Reasoning", "no summary");
  assert(((await details.locator(".md").textContent()) || "").trim().length > 0, "empty reasoning");
  await details.locator("summary").click();
  assert((await details.getAttribute("open")) !== null, "the reasoning does not unfold");
});

await check("a session downloads as Markdown and JSON", async () => {
  await page.goto(`${base}/ui/sessions/${weatherId}`);
  await page.locator("article.turn").first().waitFor();
  for (const [label, ext, needle] of [
    ["Download Markdown", ".md", "get_weather"],
    ["Download JSON", ".json", '"tool_calls"'],
  ]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: label }).click()]);
    assert(download.suggestedFilename().endsWith(ext), "file name " + download.suggestedFilename());
    const path = await download.path();
    const { readFile } = await import("node:fs/promises");
    const body = await readFile(path, "utf8");
    assert(body.includes(needle), `${label}: ${body.slice(0, 200)}`);
  }
});

/** Opens the live view, sends `messages`, and waits for its row. */
async function liveExchange(p, messages) {
  await p.goto(`${base}/ui/live`);
  if (await p.locator("dialog input#api-key").isVisible().catch(() => false)) await enterKey(p);
  const status = p.locator("main [role=status]", { hasText: /Connected|does not publish/ });
  await status.waitFor();
  const said = await status.textContent();
  assert(said.startsWith("Connected"), "the live view did not connect: " + said);
  const { requestId } = await chat(messages);
  await p.locator(`tr[data-request-id="${requestId}"]`).waitFor();
  return requestId;
}

await check("a new exchange appears live", async () => {
  const id = await liveExchange(page, [{ role: "user", content: "A live probe about the aurora." }]);
  const row = await page.locator(`tr[data-request-id="${id}"]`).textContent();
  assert(row.includes("qwen3-max") && row.includes("ok"), "the row lacks model or status: " + row);
  await liveExchange(page, [{ role: "user", content: XSS }]);
  await assertInert(page, "live view");
});

await check("no script errors on any page", async () => {
  assert(pageErrors.length === 0, pageErrors.join("\n"));
});

// --- Screenshots ---------------------------------------------------------------------------

const VARIANTS = [
  ["desktop", { width: 1280, height: 900 }, "light"],
  ["desktop", { width: 1280, height: 900 }, "dark"],
  ["phone", { width: 390, height: 844 }, "light"],
  ["phone", { width: 390, height: 844 }, "dark"],
];

/** A fresh tab of this size and colour scheme, with the key entered. */
async function variantPage(viewport, scheme) {
  const p = await newPage();
  await p.setViewportSize(viewport);
  await p.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
  await p.goto(base + "/ui");
  await enterKey(p);
  return p;
}

await check("screenshots of every view, desktop and phone, light and dark", async () => {
  const views = [
    ["overview", "/ui", "[data-stat=total_requests]"],
    ["sessions", "/ui/sessions", "li.session"],
    ["search", "/ui/sessions?q=aurora", "li.session"],
    ["session", `/ui/sessions/${weatherId}`, "article.turn"],
    ["branches", `/ui/sessions/${auroraId}`, ".branch"],
    ["hostile", `/ui/sessions/${hostileId}`, "article.turn"],
  ];
  for (const [size, viewport, scheme] of VARIANTS) {
    const p = await variantPage(viewport, scheme);
    for (const [name, path, ready] of views) {
      await p.goto(base + path);
      await p.locator(ready).first().waitFor();
      await p.screenshot({ path: `${shots}/${name}-${size}-${scheme}.png`, fullPage: size === "phone" });
    }
    await assertInert(p, `${size} ${scheme}`);
    await p.close();
  }
});

await check("screenshots of the live view, desktop and phone, light and dark", async () => {
  for (const [size, viewport, scheme] of VARIANTS) {
    const p = await variantPage(viewport, scheme);
    await liveExchange(p, [{ role: "user", content: `Screenshot probe, ${size} ${scheme}.` }]);
    await p.screenshot({ path: `${shots}/live-${size}-${scheme}.png` });
    await assertInert(p, `live ${size} ${scheme}`);
    await p.close();
  }
});

await context.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
