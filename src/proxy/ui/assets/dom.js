// DOM building and data-API access for the console. Everything here builds elements with
// createElement and puts stored text in with textContent: stored text is data, never markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/** An element: h("a", {href: "/ui", class: "x"}, "text", child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, built the same way. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// --- Formatting ----------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat();

export function num(n) {
  return n === null || n === undefined ? "–" : numberFormat.format(Math.round(n));
}

export function ms(n) {
  if (n === null || n === undefined) return "–";
  return n >= 10000 ? (n / 1000).toFixed(1) + " s" : Math.round(n) + " ms";
}

export function when(unixMs) {
  if (!unixMs) return "–";
  return new Date(unixMs).toLocaleString();
}

/** A `<time>` element for unix milliseconds. */
export function time(unixMs) {
  return h("time", { datetime: new Date(unixMs).toISOString() }, when(unixMs));
}

/** `24h`, `7d`, `30m` or a date as unix milliseconds for the data API; null when empty. */
export function sinceMs(since) {
  if (!since) return null;
  const m = /^(\d+)\s*([mhdw])$/.exec(since.trim());
  if (m) {
    const unit = { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2]];
    return Date.now() - Number(m[1]) * unit;
  }
  const t = Date.parse(since);
  return Number.isNaN(t) ? null : t;
}

// --- The data API --------------------------------------------------------------------------

const KEY = "qwenctl.apiKey";
let asking = null;

/** Thrown for an answer that is not a success; `status` is its HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

function headers() {
  const key = storedKey();
  return key ? { Authorization: "Bearer " + key } : {};
}

/**
 * Asks for the API key once, however many calls were refused at the same time: every one
 * waits for the same answer.
 */
function askForKey(refused) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const input = h("input", {
        type: "password",
        id: "api-key",
        name: "key",
        autocomplete: "current-password",
        required: true,
      });
      const dialog = h(
        "dialog",
        { class: "key-dialog", "aria-labelledby": "key-title" },
        h(
          "form",
          {
            method: "dialog",
            onsubmit: (event) => {
              event.preventDefault();
              const key = input.value.trim();
              if (!key) return;
              sessionStorage.setItem(KEY, key);
              dialog.close();
              dialog.remove();
              asking = null;
              document.getElementById("forget-key").hidden = false;
              resolve();
            },
          },
          h("h2", { id: "key-title" }, "API key"),
          h(
            "p",
            {},
            refused
              ? "That key was refused. Enter one of this server's API keys."
              : "This server asks for an API key. It is kept for this browser tab only.",
          ),
          h("label", { for: "api-key" }, "Key"),
          input,
          h("div", { class: "actions" }, h("button", { type: "submit" }, "Continue")),
        ),
      );
      // Escape must not leave the page without a key and without a way to enter one.
      dialog.addEventListener("cancel", (event) => event.preventDefault());
      document.body.append(dialog);
      dialog.showModal();
      input.focus();
    });
  }
  return asking;
}

/** A data-API call with the key; asks for the key on a 401 and tries again. */
export async function api(path, options = {}) {
  for (;;) {
    const response = await fetch(path, {
      ...options,
      headers: { ...headers(), ...(options.headers || {}) },
    });
    if (response.status === 401) {
      const hadKey = storedKey() !== null;
      forgetKey();
      await askForKey(hadKey);
      continue;
    }
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try {
        const body = await response.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch {
        // Not JSON: the status says enough.
      }
      throw new ApiError(response.status, message);
    }
    return response;
  }
}

/** A data-API call's JSON. */
export async function getJson(path, options) {
  return (await api(path, options)).json();
}

/** A query string from the entries that have a value. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}
