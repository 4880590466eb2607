// Rules and acceptance reports. The governance rules are real (GET /governance); the fleet rules engine and the
// acceptance runner have no API yet, and this page says so rather than showing made-up data.

import * as api from "../api.js";
import { h, replace } from "../dom.js";

export async function render(root) {
  const governance = await api.get("/governance");
  replace(root,
    h("div", { class: "page-head" }, h("h1", {}, "Rules and acceptance")),
    h("section", { "aria-labelledby": "gov-title" }, h("h2", { id: "gov-title" }, "Governance rules"),
      h("p", {}, "What the API refuses, and why (every 403 names one of these)."),
      h("table", { class: "data", id: "gov-rules" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Rule"), h("th", { scope: "col" }, "Refuses"))),
        h("tbody", {}, governance.rules.map((r) => h("tr", {}, h("th", { scope: "row", class: "mono" }, r.id), h("td", {}, r.description)))))),
    h("section", { "aria-labelledby": "bands-title" }, h("h2", { id: "bands-title" }, "Bands (where each source stacks)"),
      h("table", { class: "data", id: "bands" },
        h("thead", {}, h("tr", {}, ["Band", "Purpose", "Stack levels", "Owner"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, governance.bands.map((b) => h("tr", {}, h("th", { scope: "row" }, b.name), h("td", {}, b.purpose),
          h("td", {}, `${b.stack_level_low}–${b.stack_level_high}`), h("td", {}, b.owner)))))),
    h("section", { "aria-labelledby": "fleet-title" }, h("h2", { id: "fleet-title" }, "Fleet rules"),
      h("p", { class: "notice", id: "rules-unavailable" }, "Not available yet: the rules engine has no API in this version of wattcap.")),
    h("section", { "aria-labelledby": "acc-title" }, h("h2", { id: "acc-title" }, "Acceptance reports"),
      h("p", { class: "notice", id: "acceptance-unavailable" }, "Not available yet: acceptance runs are not served over the API in this version of wattcap.")));
  return null;
}
