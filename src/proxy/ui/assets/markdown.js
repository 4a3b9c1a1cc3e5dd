// A small Markdown renderer that builds DOM elements, never HTML text: paragraphs, headings,
// lists, block quotes, fenced code blocks, rules, emphasis, inline code and links. Raw HTML
// in the source is shown as the text it is. Links are made only for http, https and mailto
// URLs; any other link (javascript:, data:, relative paths) stays visible as plain text.

import { h } from "./dom.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([A-Za-z0-9_+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+/;
const SCHEMES = ["http:", "https:", "mailto:"];

/** The Markdown `text` as a fragment of elements. */
export function markdown(text) {
  const fragment = document.createDocumentFragment();
  fragment.append(...blocks(String(text).replace(/\r\n?/g, "\n").split("\n")));
  return fragment;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++;
      const code = h("code", m[2] ? { class: "language-" + m[2], "data-lang": m[2] } : {}, body.join("\n"));
      out.push(h("pre", {}, code));
    } else if ((m = HEADING.exec(line))) {
      // Conversations sit under the page's own headings: # becomes h3.
      out.push(h("h" + Math.min(m[1].length + 2, 6), {}, inline(m[2])));
      i++;
    } else if (RULE.test(line)) {
      out.push(h("hr"));
      i++;
    } else if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && lines[i].trim() && (QUOTE.test(lines[i]) || !startsBlock(lines[i]))) {
        body.push(lines[i++].replace(QUOTE, ""));
      }
      out.push(h("blockquote", {}, blocks(body)));
    } else if ((m = ITEM.exec(line))) {
      const ordered = /\d/.test(m[2]);
      const list = h(ordered ? "ol" : "ul");
      if (ordered && parseInt(m[2], 10) !== 1) list.setAttribute("start", String(parseInt(m[2], 10)));
      while (i < lines.length) {
        const im = ITEM.exec(lines[i]);
        if (!im || /\d/.test(im[2]) !== ordered) break;
        const indent = im[0].length;
        const body = [lines[i].slice(indent)];
        i++;
        while (i < lines.length) {
          const next = lines[i];
          if (!next.trim()) {
            // A blank line ends the item unless an indented line follows.
            if (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1])) {
              body.push("");
              i++;
              continue;
            }
            break;
          }
          const nested = /^\s{2,}/.test(next);
          if (!nested && startsBlock(next)) break;
          body.push(nested ? next.replace(/^\s{1,4}/, "") : next);
          i++;
        }
        const content = blocks(body);
        // A tight item holds its text directly, not in a paragraph.
        if (content.length && content[0].tagName === "P") content.splice(0, 1, ...content[0].childNodes);
        list.append(h("li", {}, content));
        if (i < lines.length && !lines[i].trim()) i++;
      }
      out.push(list);
    } else {
      const body = [];
      while (i < lines.length && lines[i].trim() && (body.length === 0 || !startsBlock(lines[i]))) {
        body.push(lines[i++].trim());
      }
      const p = h("p");
      body.forEach((text, n) => {
        if (n) p.append(h("br"));
        p.append(...inline(text));
      });
      out.push(p);
    }
  }
  return out;
}

/** The URL when it is one we link to, else null. */
function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return SCHEMES.includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The index of the `close` that balances the `open` at `from`, or -1. */
function balanced(text, from, open, close) {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === open) depth++;
    else if (text[i] === close && --depth === 0) return i;
  }
  return -1;
}

/** Where the emphasis opened by `mark` before `from` closes, or -1. */
function closing(text, mark, from) {
  for (let end = text.indexOf(mark, from + 1); end > 0; end = text.indexOf(mark, end + 1)) {
    const after = text[end + mark.length];
    if (/\s/.test(text[end - 1]) || text[end + mark.length] === mark[0]) continue;
    if (mark[0] === "_" && after !== undefined && /\w/.test(after)) continue;
    return end;
  }
  return -1;
}

function inline(text) {
  const out = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push(document.createTextNode(plain));
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(run, i + run.length);
      if (end > i) {
        flush();
        out.push(h("code", {}, text.slice(i + run.length, end).replace(/^ (.*) $/, "$1")));
        i = end + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    if (c === "*" || c === "_") {
      const double = text[i + 1] === c;
      const mark = double ? c + c : c;
      const start = i + mark.length;
      const end = closing(text, mark, start);
      // Underscores inside words (snake_case, __dunder__ in code) are not emphasis.
      const wordBefore = c === "_" && i > 0 && /\w/.test(text[i - 1]);
      if (end > start && !wordBefore && !/\s/.test(text[start])) {
        flush();
        out.push(h(double ? "strong" : "em", {}, inline(text.slice(start, end))));
        i = end + mark.length;
        continue;
      }
    }
    if (c === "[") {
      const close = balanced(text, i, "[", "]");
      if (close > 0 && text[close + 1] === "(") {
        const end = balanced(text, close + 1, "(", ")");
        if (end > 0) {
          const target = text.slice(close + 2, end).trim().replace(/\s+"[^"]*"$/, "").replace(/^<(.*)>$/, "$1");
          const href = safeUrl(target);
          if (href) {
            flush();
            out.push(h("a", { href, rel: "noopener noreferrer nofollow" }, inline(text.slice(i + 1, close))));
          } else {
            // Not a URL we link to: shown as written, so a reader sees what was there.
            plain += text.slice(i, end + 1);
          }
          i = end + 1;
          continue;
        }
      }
    }
    if (c === "<") {
      const m = /^<((?:https?|mailto):[^\s<>]+)>/i.exec(text.slice(i));
      const href = m && safeUrl(m[1]);
      if (href) {
        flush();
        out.push(h("a", { href, rel: "noopener noreferrer nofollow" }, m[1]));
        i += m[0].length;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
  return out;
}
