// The console's four views. Each takes the <main> element, the URL's query, an AbortSignal
// that fires when the person leaves the view, and (for a session) its id; each reads what it
// shows from the data API and builds its DOM with dom.js, so stored text stays text.

import { ApiError, api, fill, getJson, h, ms, num, query, sinceMs, svg, time, when } from "./dom.js";
import { markdown } from "./markdown.js";

const PAGE = 25;

function go(url, replace = false) {
  window.dispatchEvent(new CustomEvent("qwenctl:navigate", { detail: { url, replace } }));
}

function link(href, ...children) {
  return h("a", { href }, ...children);
}

function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

function table(headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      rows instanceof HTMLTableSectionElement ? rows : h("tbody", {}, rows),
    ),
  );
}

function badge(status) {
  const s = status || "pending";
  return h("span", { class: "badge badge-" + s.replace(/[^a-z_]/g, "") }, s);
}

// --- Overview ------------------------------------------------------------------------------

const PERIODS = [
  ["24h", "Last 24 hours", "hour"],
  ["7d", "Last 7 days", "day"],
  ["30d", "Last 30 days", "day"],
];

export async function overviewView(main, params, signal) {
  const since = PERIODS.some(([p]) => p === params.get("since")) ? params.get("since") : "24h";
  const groupBy = PERIODS.find(([p]) => p === since)[2];
  const from = sinceMs(since);
  const statsUrl = "/v1/responses/stats" + query({ since: from, group_by: groupBy });
  const modelsUrl = "/v1/responses/stats" + query({ since: from, group_by: "model" });
  const [stats, byModel, health] = await Promise.all([
    getJson(statsUrl, { signal }),
    getJson(modelsUrl, { signal }),
    fetch("/health", { signal }).then((r) => r.json()).catch(() => null),
  ]);
  const s = stats.statistics || {};
  const card = (label, key, value, shown) =>
    h("div", { class: "card" }, h("span", { class: "label" }, label), h("span", { class: "value", "data-stat": key, "data-value": value ?? "" }, shown));
  fill(
    main,
    h("h1", {}, "Overview"),
    h(
      "nav",
      { class: "periods", "aria-label": "Period" },
      PERIODS.map(([p, label]) => h("a", { href: "/ui?since=" + p, "aria-current": p === since ? "page" : null }, label)),
    ),
    h(
      "div",
      { class: "cards", "data-source": statsUrl },
      card("Requests", "total_requests", s.total_requests, num(s.total_requests)),
      card("Tokens", "total_tokens", s.total_tokens, num(s.total_tokens)),
      card("Errors", "errors", s.errors, num(s.errors)),
      card("Avg duration", "avg_duration_ms", s.avg_duration_ms, ms(s.avg_duration_ms)),
      card("Avg first token", "avg_first_token_ms", s.avg_first_token_ms, ms(s.avg_first_token_ms)),
    ),
    charts(Array.isArray(stats.groups) ? timeline(stats.groups, groupBy, from) : null, groupBy),
    percentiles(byModel.groups),
    errorsByClass(stats.errors_by_class),
    healthPanel(health),
  );
}

/** The store's key of the UTC hour or day holding `t`. */
function slotKey(t, groupBy) {
  const iso = new Date(t).toISOString();
  return groupBy === "hour" ? iso.slice(0, 13) + ":00:00Z" : iso.slice(0, 10);
}

/** Every hour or day from `from` to now, with the groups the store reported (it leaves out
 * empty ones) and zeros between them, so the charts are a time line. */
function timeline(groups, groupBy, from) {
  const step = groupBy === "hour" ? 3600e3 : 86400e3;
  const byKey = new Map(groups.map((g) => [String(g.key), g]));
  const slots = [];
  const now = Date.now();
  for (let t = from - (from % step); t <= now && slots.length < 1000; t += step) {
    const key = slotKey(t, groupBy);
    slots.push(byKey.get(key) || { key, requests: 0, total_tokens: 0, errors: 0 });
    byKey.delete(key);
  }
  // Groups outside the window (clock skew) are still shown rather than lost.
  return [...slots, ...byKey.values()];
}

/** An hour key as local "HH:00", a day as it is. */
function slotLabel(key) {
  return /T\d\d:00:00Z$/.test(key) ? new Date(key).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" }) : key;
}

function charts(groups, groupBy) {
  if (!Array.isArray(groups)) {
    return section("Activity", h("p", { class: "muted" }, "This server does not report figures per " + groupBy + "."));
  }
  const per = "per " + groupBy;
  return h(
    "div",
    { class: "charts" },
    barChart("Requests " + per, groups, (g) => g.requests),
    barChart("Tokens " + per, groups, (g) => g.total_tokens ?? (g.prompt_tokens || 0) + (g.completion_tokens || 0)),
    barChart("Errors " + per, groups, (g) => g.errors, "bar-error"),
  );
}

/** A bar chart of `value` per group, as SVG built element by element. */
function barChart(title, groups, value, barClass = "bar") {
  const width = 300;
  const height = 120;
  const values = groups.map((g) => Number(value(g)) || 0);
  const top = Math.max(0, ...values);
  const max = Math.max(1, top);
  const slot = width / Math.max(groups.length, 1);
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height + 16}`, role: "img", "aria-label": title, class: "chart", preserveAspectRatio: "none" },
    svg("title", {}, title),
    svg("line", { x1: 0, y1: height, x2: width, y2: height, class: "axis" }),
    groups.map((g, i) => {
      const bar = Math.max((values[i] / max) * (height - 4), values[i] ? 1 : 0);
      return svg(
        "rect",
        { x: i * slot + slot * 0.1, y: height - bar, width: slot * 0.8, height: bar, class: barClass, "data-value": values[i] },
        svg("title", {}, `${slotLabel(String(g.key))}: ${num(values[i])}`),
      );
    }),
  );
  const first = groups.length ? slotLabel(String(groups[0].key)) : "";
  const last = groups.length ? slotLabel(String(groups[groups.length - 1].key)) : "";
  return section(
    title,
    groups.length ? chart : h("p", { class: "muted" }, "Nothing in this period."),
    groups.length ? h("p", { class: "axis-labels" }, h("span", {}, first), h("span", {}, "max " + num(top)), h("span", {}, last)) : null,
  );
}

function percentiles(groups) {
  if (!Array.isArray(groups)) return null;
  const p = (d, k) => (d && typeof d === "object" ? ms(d[k]) : "–");
  const rows = groups.map((g) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, String(g.key)),
      h("td", {}, num(g.requests)),
      h("td", {}, num(g.errors)),
      ["p50", "p90", "p99"].map((k) => h("td", {}, p(g.first_token_ms, k))),
      ["avg", "p50", "p90", "p99"].map((k) => h("td", {}, p(g.duration_ms, k))),
    ),
  );
  return section(
    "Time to first token and duration, by model",
    rows.length
      ? table(["Model", "Requests", "Errors", "TTFT p50", "TTFT p90", "TTFT p99", "Duration avg", "p50", "p90", "p99"], rows, { class: "numbers" })
      : h("p", { class: "muted" }, "Nothing in this period."),
  );
}

function errorsByClass(classes) {
  if (!classes || typeof classes !== "object") return null;
  const entries = (Array.isArray(classes) ? classes.map((c) => [c.class ?? c.key, c.count ?? c.errors]) : Object.entries(classes)).filter(([, n]) => n);
  return section(
    "Errors by class",
    entries.length
      ? table(["Class", "Count"], entries.map(([k, n]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, num(n)))))
      : h("p", { class: "muted" }, "No errors in this period."),
  );
}

/** Seconds, milliseconds or a date string as something readable. */
function moment(value) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "number") return when(value > 1e12 ? value : value * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? String(value) : when(t);
}

function healthPanel(health) {
  if (!health) return section("Upstream", h("p", { class: "error" }, "/health did not answer."));
  const checks = health.checks || {};
  const rows = [
    ["Status", badge(health.status)],
    ["Upstream authentication", badge(checks.authentication)],
    ["Database", String(checks.database ?? "–")],
    ["Persistence", checks.persistence ? "on" : "off"],
    ["Active sessions", num(health.metrics && health.metrics.activeSessions)],
    ["Uptime", num(health.uptime) + " s"],
  ].map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)));
  const accounts = Array.isArray(checks.accounts) ? checks.accounts : null;
  return h(
    "div",
    { class: "charts" },
    section("Upstream", h("div", { class: "table-wrap" }, h("table", { class: "kv" }, h("tbody", {}, rows)))),
    accounts
      ? section(
          "Accounts",
          accounts.length
            ? table(
                ["Account", "State", "Cooling down until", "Token expires"],
                accounts.map((a) =>
                  h("tr", {}, h("th", { scope: "row" }, String(a.name ?? "–")), h("td", {}, badge(a.status)), h("td", {}, moment(a.cooldown_until)), h("td", {}, moment(a.token_expires_at))),
                ),
              )
            : h("p", { class: "muted" }, "No accounts configured."),
        )
      : null,
  );
}

// --- Sessions ------------------------------------------------------------------------------

const SINCE_CHOICES = [
  ["", "Any time"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
];

function snippet(parts) {
  if (!Array.isArray(parts) || !parts.length) return null;
  return h(
    "p",
    { class: "snippet" },
    parts.map((part) => (part.match ? h("mark", {}, String(part.text)) : String(part.text))),
  );
}

export async function sessionsView(main, params, signal) {
  const q = params.get("q") || "";
  const model = params.get("model") || "";
  const since = params.get("since") || "";
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const isDate = /^\d{4}-\d{2}-\d{2}$/.test(since);

  const search = h("input", { type: "search", id: "search", name: "q", value: q, placeholder: "Search messages and answers", "aria-keyshortcuts": "/" });
  const modelInput = h("input", { type: "text", id: "model", name: "model", value: model, placeholder: "any", spellcheck: "false" });
  const sinceSelect = h(
    "select",
    { id: "since", name: "since" },
    SINCE_CHOICES.map(([v, label]) => h("option", { value: v, selected: v === since || (v === "" && isDate) }, label)),
  );
  const fromInput = h("input", { type: "date", id: "from", name: "from", value: isDate ? since : "" });
  const form = h(
    "form",
    {
      role: "search",
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const chosen = fromInput.value || sinceSelect.value;
        go("/ui/sessions" + query({ q: search.value.trim(), model: modelInput.value.trim(), since: chosen }));
      },
    },
    h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search),
    h("div", { class: "field" }, h("label", { for: "model" }, "Model"), modelInput),
    h("div", { class: "field" }, h("label", { for: "since" }, "Period"), sinceSelect),
    h("div", { class: "field" }, h("label", { for: "from" }, "Or from date"), fromInput),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Apply")),
  );
  const results = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  fill(main, h("h1", {}, "Sessions"), form, results);
  if (params.get("focus")) search.focus();

  const page = await getJson(
    "/v1/sessions" + query({ q, model, since: since ? sinceMs(since) : null, limit: PAGE, offset }),
    { signal },
  );
  const here = { q, model, since };
  const items = page.data.map((s) =>
    h(
      "li",
      { class: "session", "data-session-id": s.id },
      h("h2", {}, link("/ui/sessions/" + encodeURIComponent(s.id), s.title || "(untitled)")),
      h(
        "p",
        { class: "meta" },
        h("span", {}, s.model),
        h("span", {}, num(s.turns) + (s.turns === 1 ? " turn" : " turns")),
        h("span", {}, num(s.total_tokens) + " tokens"),
        s.tool_calls ? h("span", {}, num(s.tool_calls) + " tool calls") : null,
        h("span", {}, time(s.updated_at)),
      ),
      snippet(s.snippet),
    ),
  );
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    offset > 0 ? link("/ui/sessions" + query({ ...here, offset: Math.max(0, offset - PAGE) || null }), "← Newer") : h("span"),
    h("span", { class: "muted" }, page.data.length ? `${offset + 1}–${offset + page.data.length}` : ""),
    page.has_more ? link("/ui/sessions" + query({ ...here, offset: offset + PAGE }), "Older →") : h("span"),
  );
  fill(
    results,
    items.length
      ? h("ol", { class: "sessions" }, items)
      : h("p", { class: "muted" }, q || model || since ? "No session matches." : "No sessions recorded yet."),
    pager,
  );
}

// --- One session ---------------------------------------------------------------------------

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool(items, limit, work) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function allRequests(id, signal) {
  const rows = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await getJson(`/v1/sessions/${encodeURIComponent(id)}/requests?limit=1000&offset=${offset}`, { signal });
    rows.push(...page.data);
    if (!page.has_more) return rows;
  }
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text);
  }
}

function toolCall(call) {
  return h(
    "div",
    { class: "tool-call" },
    h("p", { class: "tool-head" }, h("span", { class: "tag" }, "Tool call"), " ", h("code", {}, String(call.name)), h("span", { class: "muted" }, " " + String(call.id || ""))),
    h("pre", {}, h("code", {}, pretty(call.arguments))),
  );
}

const ROLE_NAMES = { system: "System", user: "User", assistant: "Assistant", tool: "Tool result" };

function message(m) {
  const role = ROLE_NAMES[m.role] ? m.role : "other";
  if (m.role === "tool") {
    return h(
      "div",
      { class: "msg msg-tool" },
      h("p", { class: "msg-head" }, h("span", { class: "tag" }, "Tool result"), " ", m.name ? h("code", {}, String(m.name)) : null, h("span", { class: "muted" }, " " + String(m.tool_call_id || ""))),
      h("pre", {}, h("code", {}, pretty(m.content))),
    );
  }
  return h(
    "div",
    { class: "msg msg-" + role },
    h("p", { class: "msg-head" }, ROLE_NAMES[m.role] || String(m.role)),
    m.content ? h("div", { class: "md" }, markdown(m.content)) : null,
    (m.tool_calls || []).map(toolCall),
  );
}

function answer(summary, response) {
  if (!response) {
    return h("div", { class: "msg msg-assistant" }, h("p", { class: "msg-head" }, "Assistant ", badge(summary.status)), h("p", { class: "muted" }, "No answer recorded."));
  }
  const meta = [
    response.model,
    `${num(response.prompt_tokens)} in / ${num(response.completion_tokens)} out` + (response.reasoning_tokens ? ` (${num(response.reasoning_tokens)} reasoning)` : ""),
    "first token " + ms(response.first_token_ms),
    "total " + ms(response.duration_ms),
    response.finish_reason ? "finish: " + response.finish_reason : null,
  ].filter(Boolean);
  return h(
    "div",
    { class: "msg msg-assistant" },
    h("p", { class: "msg-head" }, "Assistant ", badge(response.status)),
    response.reasoning ? h("details", { class: "reasoning" }, h("summary", {}, "Reasoning"), h("div", { class: "md" }, markdown(response.reasoning))) : null,
    response.content ? h("div", { class: "md" }, markdown(response.content)) : null,
    (response.tool_calls || []).map(toolCall),
    response.error_message ? h("p", { class: "error" }, (response.error_kind ? response.error_kind + ": " : "") + response.error_message) : null,
    h("p", { class: "meta" }, meta.map((t) => h("span", {}, t))),
  );
}

function turn(node) {
  const { summary, detail, response } = node;
  return h(
    "article",
    { class: "turn", id: "turn-" + summary.id, "data-request-id": summary.id },
    h("p", { class: "turn-head muted" }, time(summary.received_at), " · ", summary.endpoint, " · ", summary.model),
    (detail ? detail.new_messages : []).map(message),
    answer(summary, response),
  );
}

/** The turns that continue `children`'s parent, as one line or as labelled branches. */
function thread(children, byParent) {
  if (children.length === 1) {
    const node = children[0];
    return [turn(node), thread(byParent.get(node.summary.id) || [], byParent)];
  }
  return children.map((node, i) =>
    h(
      "section",
      { class: "branch", "aria-label": `Branch ${i + 1} of ${children.length}` },
      h("p", { class: "branch-label" }, `Branch ${i + 1} of ${children.length}`),
      turn(node),
      thread(byParent.get(node.summary.id) || [], byParent),
    ),
  );
}

async function download(id, format, button) {
  button.disabled = true;
  try {
    const response = await api(`/v1/sessions/${encodeURIComponent(id)}/export?format=${format}`);
    const url = URL.createObjectURL(await response.blob());
    const a = h("a", { href: url, download: `session-${id}.${format === "markdown" ? "md" : "json"}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } finally {
    button.disabled = false;
  }
}

export async function sessionView(main, params, signal, id) {
  let session;
  try {
    session = await getJson(`/v1/sessions/${encodeURIComponent(id)}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      fill(main, h("h1", {}, "No such session"), h("p", {}, err.message), h("p", {}, link("/ui/sessions", "All sessions")));
      return;
    }
    throw err;
  }
  const summaries = (await allRequests(id, signal)).sort((a, b) => a.received_at - b.received_at);
  const nodes = await pool(summaries, 6, async (summary) => {
    const rid = encodeURIComponent(summary.id);
    const [detail, response] = await Promise.all([
      getJson(`/v1/requests/${rid}`, { signal }).catch(() => null),
      summary.status ? getJson(`/v1/requests/${rid}/response`, { signal }).catch(() => null) : null,
    ]);
    return { summary, detail, response };
  });
  const ids = new Set(summaries.map((s) => s.id));
  const byParent = new Map();
  const roots = [];
  for (const node of nodes) {
    const parent = node.summary.prior_request_id;
    if (parent && ids.has(parent)) {
      if (!byParent.has(parent)) byParent.set(parent, []);
      byParent.get(parent).push(node);
    } else {
      roots.push(node);
    }
  }
  const md = h("button", { type: "button", onclick: (e) => download(id, "markdown", e.currentTarget) }, "Download Markdown");
  const json = h("button", { type: "button", onclick: (e) => download(id, "json", e.currentTarget) }, "Download JSON");
  fill(
    main,
    h("p", { class: "crumbs" }, link("/ui/sessions", "← Sessions")),
    h("h1", {}, session.title || "(untitled)"),
    h(
      "p",
      { class: "meta" },
      h("span", {}, session.model),
      h("span", {}, num(session.turns) + (session.turns === 1 ? " turn" : " turns")),
      h("span", {}, num(session.prompt_tokens) + " in / " + num(session.completion_tokens) + " out tokens"),
      h("span", {}, "started ", time(session.created_at)),
      h("span", { class: "muted" }, session.id),
    ),
    h("div", { class: "actions" }, md, json),
    h("div", { class: "conversation" }, roots.length ? thread(roots, byParent) : h("p", { class: "muted" }, "No turns recorded.")),
  );
}

// --- Live ----------------------------------------------------------------------------------

const LIVE_ROWS = 200;

/** The time of day, for rows that all happened today. */
function clock(unixMs) {
  return h("time", { datetime: new Date(unixMs).toISOString(), title: when(unixMs) }, new Date(unixMs).toLocaleTimeString());
}

function liveRow(e) {
  const tokens = e.total_tokens ?? (e.prompt_tokens != null || e.completion_tokens != null ? (e.prompt_tokens || 0) + (e.completion_tokens || 0) : null);
  return h(
    "tr",
    { class: "fresh", "data-request-id": e.id || "" },
    h("td", {}, clock(e.received_at || Date.now())),
    h("td", {}, String(e.endpoint || "–")),
    h("td", {}, String(e.model || "–")),
    h("td", {}, badge(e.status), e.error_kind ? " " + String(e.error_kind) : null),
    h("td", {}, num(tokens), e.tool_calls ? ` (${num(e.tool_calls)} tool calls)` : null),
    h("td", {}, ms(e.first_token_ms)),
    h("td", {}, ms(e.duration_ms)),
    h("td", {}, e.session_id ? link("/ui/sessions/" + encodeURIComponent(e.session_id), "open") : "–"),
  );
}

/** Reads a server-sent event stream, calling `onEvent(name, data)` for each event. */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  }
}

export async function liveView(main, params, signal) {
  const status = h("p", { class: "muted", role: "status" }, "Connecting…");
  const body = h("tbody", {});
  const empty = h("p", { class: "muted" }, "Waiting for the next exchange…");
  fill(
    main,
    h("h1", {}, "Live"),
    status,
    table(["Time", "Endpoint", "Model", "Status", "Tokens", "First token", "Duration", "Session"], body, { class: "numbers live" }),
    empty,
  );
  const onEvent = (name, data) => {
    if (name === "lagged") {
      let missed = null;
      try {
        missed = JSON.parse(data).missed;
      } catch {
        // The count is a courtesy; the note stands without it.
      }
      const what = missed ? `${num(missed)} exchanges were` : "Some exchanges were";
      body.prepend(h("tr", { class: "lagged" }, h("td", { colspan: 8 }, `${what} skipped: the console fell behind (they are in the sessions).`)));
      return;
    }
    if (name !== "exchange") return;
    let e;
    try {
      e = JSON.parse(data);
    } catch {
      return;
    }
    empty.hidden = true;
    body.prepend(liveRow(e));
    while (body.rows.length > LIVE_ROWS) body.lastElementChild.remove();
  };
  // Reconnects until the person leaves the view; the fetch carries the key, which an
  // EventSource could not.
  (async () => {
    let wait = 1000;
    while (!signal.aborted) {
      try {
        const response = await api("/v1/events", { signal, headers: { Accept: "text/event-stream" } });
        status.textContent = "Connected: new exchanges appear here as they happen.";
        wait = 1000;
        await readEvents(response, onEvent);
        if (signal.aborted) return;
        status.textContent = "The stream ended; reconnecting…";
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) {
          status.textContent = "This server does not publish live events (/v1/events).";
          return;
        }
        status.textContent = "Disconnected (" + (err.message || err) + "); reconnecting…";
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 15000);
    }
  })();
}
