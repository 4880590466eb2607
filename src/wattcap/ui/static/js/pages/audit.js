// The audit log with its filters (station, actor, action or action prefix, time range): every change, who made
// it and why, with the composites before and after; older entries page in.

import * as api from "../api.js";
import { errorBox, h, replace } from "../dom.js";
import { fromLocalInput, formatTime, toLocalInput } from "../time.js";

const TZ = "UTC";

export async function render(root, params, { navigate }) {
  const stations = await api.get("/stations");
  const q = params.query;
  const station = h("select", { id: "audit-station", name: "station" }, h("option", { value: "" }, "all"),
    stations.map((x) => h("option", { value: x.id, selected: q.get("station") === x.id }, x.id)));
  const actor = h("input", { id: "audit-actor", name: "actor", value: q.get("actor") || "", placeholder: "api:fleet" });
  const action = h("input", { id: "audit-action", name: "action", value: q.get("action") || "", placeholder: "api.profile.set" });
  const prefix = h("input", { id: "audit-prefix", name: "action_prefix", value: q.get("action_prefix") || "", placeholder: "profile." });
  const since = h("input", { id: "audit-since", type: "datetime-local", value: toLocalInput(TZ, q.get("since") ? Date.parse(q.get("since")) : null) });
  const until = h("input", { id: "audit-until", type: "datetime-local", value: toLocalInput(TZ, q.get("until") ? Date.parse(q.get("until")) : null) });
  const body = h("tbody");
  const status = h("p", { role: "status", class: "hint" });
  const more = h("button", { type: "button", id: "audit-more" }, "Older entries");
  const form = h("form", { class: "filters", id: "audit-filters" },
    h("label", {}, "Station ", station), h("label", {}, "Actor ", actor), h("label", {}, "Action ", action),
    h("label", {}, "Action prefix ", prefix), h("label", {}, "Since (UTC) ", since), h("label", {}, "Until (UTC) ", until),
    h("button", { type: "submit", class: "primary" }, "Filter"));
  replace(root, h("div", { class: "page-head" }, h("h1", {}, "Audit log")), form,
    h("table", { class: "data", id: "audit" },
      h("thead", {}, h("tr", {}, ["At (UTC)", "Actor", "Action", "Target", "Reason", "Details"].map((c) => h("th", { scope: "col" }, c)))),
      body), status, more);

  const filters = () => ({
    station: station.value || undefined, actor: actor.value.trim() || undefined, action: action.value.trim() || undefined,
    action_prefix: prefix.value.trim() || undefined,
    since: since.value ? api.iso(fromLocalInput(TZ, since.value)) : undefined,
    until: until.value ? api.iso(fromLocalInput(TZ, until.value)) : undefined,
  });
  let oldest = null;

  async function load(append) {
    const query = { ...filters(), limit: 100 };
    if (append && oldest) query.until = oldest;
    try {
      const entries = await api.get("/audit", query);
      if (!append) body.replaceChildren();
      for (const e of entries) {
        body.append(h("tr", { "data-id": e.id, "data-action": e.action },
          h("td", {}, formatTime(TZ, Date.parse(e.at), { date: true, seconds: true })),
          h("td", {}, e.actor), h("td", { class: "mono" }, e.action), h("td", {}, e.target || "–"), h("td", {}, e.reason || "–"),
          h("td", {}, e.before || e.after ? h("details", {}, h("summary", {}, "Inspect"),
            e.before ? [h("h3", {}, "Before"), h("pre", { class: "json" }, JSON.stringify(e.before, null, 2))] : null,
            e.after ? [h("h3", {}, "After"), h("pre", { class: "json" }, JSON.stringify(e.after, null, 2))] : null) : "–")));
      }
      oldest = entries.length ? entries[entries.length - 1].at : oldest;
      more.hidden = entries.length < 100;
      status.textContent = `${body.children.length} entries`;
    } catch (error) {
      replace(status, errorBox(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
    navigate(`/audit${query.toString() ? `?${query}` : ""}`);
  });
  more.addEventListener("click", () => load(true));
  await load(false);
  return null;
}
