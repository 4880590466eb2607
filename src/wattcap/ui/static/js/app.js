// The UI shell: sign-in, the hash router (#/site/depot, #/station/CP1?evse=1, #/editor/CP1 …), the header with
// the connection indicator, and the live stream shared by every page.

import * as api from "./api.js";
import * as auth from "./auth.js";
import { badge, errorBox, h, replace } from "./dom.js";
import { LiveStream, showState } from "./stream.js";

const ROUTES = [
  [/^\/?$/, () => import("./pages/overview.js"), () => ({})],
  [/^\/site\/([^/]+)$/, () => import("./pages/overview.js"), (m) => ({ site: decodeURIComponent(m[1]) })],
  [/^\/stations$/, () => import("./pages/stations.js"), () => ({})],
  [/^\/station\/([^/]+)$/, () => import("./pages/station.js"), (m) => ({ station: decodeURIComponent(m[1]) })],
  [/^\/editor\/([^/]+)$/, () => import("./pages/editor.js"), (m) => ({ station: decodeURIComponent(m[1]) })],
  [/^\/signals$/, () => import("./pages/signals.js"), () => ({})],
  [/^\/audit$/, () => import("./pages/audit.js"), () => ({})],
  [/^\/acceptance$/, () => import("./pages/acceptance.js"), () => ({})],
];

const main = document.getElementById("main");
const who = document.getElementById("who");
const indicator = document.getElementById("conn");
const stream = new LiveStream({
  onState: (state, detail) => showState(indicator, state, detail),
  onUnauthorized: () => signOut("The token was refused: sign in again."),
});
window.wattcapStream = stream;
let cleanup = null;
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, query: new URLSearchParams(query) };
}

export function navigate(path) {
  location.hash = `#${path}`;
}

function signOut(message = null) {
  auth.signOut();
  stream.stop();
  renderWho();
  showLogin(message);
}

function renderWho() {
  const me = auth.current();
  if (!me) {
    replace(who);
    return;
  }
  replace(who,
    h("span", { class: "client", title: `audit actor ${me.actor}` }, me.client),
    me.grant.read_only ? badge("read-only", "warn", "This token may only read") : null,
    h("button", { type: "button", class: "link", onclick: () => signOut() }, "Sign out"));
}

function showLogin(message = null) {
  if (cleanup) cleanup();
  cleanup = null;
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true,
    spellcheck: "false", "aria-describedby": "token-help" });
  const status = h("div", { role: "alert", class: message ? "error" : "" }, message || "");
  const form = h("form", { class: "login card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in to wattcap"),
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { id: "token-help", class: "help" }, "A token from ", h("code", {}, "wattcap token create"),
      " (or the one ", h("code", {}, "wattcap demo"), " prints). It is kept in this tab only (sessionStorage)."),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    auth.setToken(input.value.trim());
    try {
      auth.setMe(await api.get("/me"));
    } catch (error) {
      auth.signOut();
      replace(status, error.status === 401 ? "This token is unknown or revoked." : error.message);
      status.className = "error";
      return;
    }
    start();
  });
  replace(main, form);
  input.focus();
}

async function route() {
  if (!auth.current()) return;
  const { path, query } = parseHash();
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    const active = target === "/" ? path === "/" || path.startsWith("/site/") : path.startsWith(target);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (cleanup) cleanup();
  cleanup = null;
  const mine = ++generation;
  if (!found) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the sites")));
    return;
  }
  const [pattern, load, params] = found;
  replace(main, h("p", { class: "loading", role: "status" }, "Loading…"));
  try {
    const page = await load();
    if (mine !== generation) return;
    const container = h("div", { class: "page" });
    replace(main, container);
    const done = await page.render(container, { ...params(path.match(pattern)), query }, { stream, navigate });
    if (mine !== generation) {
      if (typeof done === "function") done();
      return;
    }
    cleanup = typeof done === "function" ? done : null;
  } catch (error) {
    if (mine !== generation) return;
    console.error(error);
    replace(main, errorBox(error));
  }
}

function start() {
  renderWho();
  stream.start();
  route();
}

api.onUnauthorized(() => signOut("The token was refused: sign in again."));
window.addEventListener("hashchange", route);

(async () => {
  if (!auth.token()) {
    showLogin();
    return;
  }
  try {
    auth.setMe(await api.get("/me"));
    start();
  } catch (error) {
    signOut(error.status === 401 ? null : error.message);
  }
})();
