// The console's entry point: routes location.pathname to a view, turns clicks on the
// console's own links into History API navigation (so every view keeps its own URL for
// bookmarks and the Back button), and wires the keyboard shortcut `/` to the search box.

import { fill, forgetKey, h, storedKey } from "./dom.js";
import { liveView, overviewView, sessionView, sessionsView } from "./views.js";

const main = document.getElementById("main");
let leave = null;

function route(pathname) {
  const path = pathname.replace(/\/+$/, "") || "/ui";
  if (path === "/ui") return ["overview", overviewView, []];
  if (path === "/ui/sessions") return ["sessions", sessionsView, []];
  if (path === "/ui/live") return ["live", liveView, []];
  const m = /^\/ui\/sessions\/([^/]+)$/.exec(path);
  if (m) return ["sessions", sessionView, [decodeURIComponent(m[1])]];
  return [null, notFound, []];
}

function notFound() {
  fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "/ui", "data-nav": true }, "Back to the overview")));
}

/** Shows the view of the current URL. */
async function render() {
  if (leave) leave();
  leave = null;
  const [name, view, args] = route(location.pathname);
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  fill(main, h("p", { class: "muted" }, "Loading…"));
  const controller = new AbortController();
  leave = () => controller.abort();
  try {
    await view(main, new URLSearchParams(location.search), controller.signal, ...args);
  } catch (err) {
    if (controller.signal.aborted) return;
    fill(main, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, String(err.message || err)));
  }
}

/** Goes to `url` inside the console without reloading the page. */
export function navigate(url, replace = false) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render().then(() => {
    if (!replace) main.focus({ preventScroll: true });
  });
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui")) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  event.preventDefault();
  const search = document.getElementById("search");
  if (search) search.focus();
  else navigate("/ui/sessions?focus=1");
});

window.addEventListener("popstate", () => render());
window.addEventListener("qwenctl:navigate", (event) => navigate(event.detail.url, event.detail.replace));

const forget = document.getElementById("forget-key");
forget.hidden = storedKey() === null;
forget.addEventListener("click", () => {
  forgetKey();
  forget.hidden = true;
  render();
});

render();
