// Every station the client sees, with its site, connection and capabilities status.

import * as api from "../api.js";
import { badge, h, replace } from "../dom.js";

export async function render(root) {
  const stations = await api.get("/stations");
  replace(root,
    h("div", { class: "page-head" }, h("h1", {}, "Stations")),
    h("table", { class: "data", id: "station-list" },
      h("thead", {}, h("tr", {}, ["Station", "Site", "Connection", "OCPP", "Vendor / model", "Capabilities"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, stations.map((x) => h("tr", { "data-station": x.id },
        h("th", { scope: "row" }, h("a", { href: `#/station/${encodeURIComponent(x.id)}` }, x.id)),
        h("td", {}, x.site ? h("a", { href: `#/site/${encodeURIComponent(x.site)}` }, x.site) : "–"),
        h("td", {}, x.connection.connected ? badge("● connected", "ok") : badge("○ offline", "warn")),
        h("td", {}, x.connection.ocpp_version || "–"),
        h("td", {}, [x.vendor, x.model].filter(Boolean).join(" / ") || "–"),
        h("td", {}, x.capability_status || "not read"))))));
  return null;
}
