// Site signals: the limit in force on every node and which signal set it (stale signals fall back to the safe
// limit), and every signal posted (the audit log's signal.* entries), filtered by site and kind, each inspectable.

import * as api from "../api.js";
import { amps, badge, debounce, h, num, replace } from "../dom.js";
import { formatTime } from "../time.js";

const KINDS = ["site_limit", "building_load", "price", "solar"];

function summary(after) {
  if (!after || typeof after !== "object") return "–";
  const parts = [];
  if (after.node) parts.push(`node ${after.node}`);
  if (after.current_a !== undefined) parts.push(`${Array.isArray(after.current_a) ? after.current_a.map((v) => num(v)).join(" / ") : num(after.current_a)} A`);
  if (after.power_w !== undefined && after.power_w !== null) parts.push(`${num(after.power_w, 0)} W`);
  if (Array.isArray(after.points)) parts.push(`${after.points.length} point(s)`);
  if (after.ttl_s !== undefined) parts.push(`TTL ${after.ttl_s} s`);
  return parts.join(", ") || "–";
}

export async function render(root, params, { stream }) {
  const sites = (await api.maybe("/sites")) || [];
  const siteFilter = h("select", { id: "signal-site" }, h("option", { value: "" }, "all sites"), sites.map((x) => h("option", { value: x.id }, x.id)));
  const kindFilter = h("select", { id: "signal-kind" }, h("option", { value: "" }, "all kinds"), KINDS.map((k) => h("option", { value: k }, k)));
  const limitsBox = h("div", { id: "signal-limits" });
  const body = h("tbody");
  replace(root,
    h("div", { class: "page-head" }, h("h1", {}, "Signals")),
    sites.length ? null : h("p", { class: "notice" }, "No site is configured: signals are posted to sites (",
      h("code", {}, "wattcap serve --sites"), ")."),
    h("section", { "aria-labelledby": "in-force-title" }, h("h2", { id: "in-force-title" }, "Limits in force now"), limitsBox),
    h("section", { "aria-labelledby": "posted-title" }, h("h2", { id: "posted-title" }, "Signals posted"),
      h("div", { class: "toolbar" }, h("label", { for: "signal-site" }, "Site"), siteFilter, h("label", { for: "signal-kind" }, "Kind"), kindFilter),
      h("table", { class: "data", id: "signal-log" },
        h("thead", {}, h("tr", {}, ["Received", "Site", "Kind", "From", "Content", ""].map((c) => h("th", { scope: "col" }, c)))),
        body)));

  async function loadLimits() {
    const details = await Promise.all(sites.map((x) => api.get(`/sites/${encodeURIComponent(x.id)}`)));
    replace(limitsBox, details.length ? details.map((site) => h("table", { class: "data" },
      h("caption", {}, `Site ${site.id} (${site.time_zone})`),
      h("thead", {}, h("tr", {}, ["Node", "Current", "Power", "Non-EV load", "Source"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, Object.entries(site.limits).map(([node, lim]) => h("tr", {},
        h("th", { scope: "row" }, node), h("td", {}, amps(lim.current_a)), h("td", {}, lim.power_w === null ? "–" : `${num(lim.power_w, 0)} W`),
        h("td", {}, (lim.non_ev_load_a || []).map((v) => num(v)).join(" / ") + " A"),
        h("td", {}, String(lim.source).startsWith("safe") ? badge(`stale → ${lim.source}`, "warn") : lim.source))))))
      : h("p", {}, "–"));
  }

  async function loadLog() {
    const kind = kindFilter.value;
    const entries = await api.get("/audit", { action_prefix: kind ? undefined : "signal.", action: kind ? `signal.${kind}` : undefined, limit: 200 });
    const shown = entries.filter((e) => !siteFilter.value || e.target === siteFilter.value);
    const tzOf = (site) => sites.find((x) => x.id === site)?.time_zone || "UTC";
    replace(body, shown.length ? shown.map((e) => h("tr", { "data-id": e.id },
      h("td", {}, formatTime(tzOf(e.target), Date.parse(e.at), { date: true, seconds: true })),
      h("td", {}, e.target || "–"),
      h("td", {}, e.action.replace(/^signal\./, "")),
      h("td", {}, e.actor),
      h("td", {}, summary(e.after)),
      h("td", {}, h("details", {}, h("summary", {}, "Inspect"), h("pre", { class: "json" }, JSON.stringify(e.after, null, 2))))))
      : h("tr", {}, h("td", { colspan: 6 }, "No signal posted yet.")));
  }

  siteFilter.addEventListener("change", loadLog);
  kindFilter.addEventListener("change", loadLog);
  const refresh = debounce(loadLimits, 2000);
  const off = stream.on("allocation", refresh);
  await Promise.all([loadLimits(), loadLog()]);
  return () => { off(); refresh.cancel(); };
}
