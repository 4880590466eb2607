// Rules and acceptance reports: the governance rules (GET /governance), the fleet rules in force with their
// sessions and a dry run (GET/PUT /fleet/rules, POST /fleet/rules/dry-run, GET /fleet/sessions). The acceptance
// runner has no API yet, and this page says so rather than showing made-up data.

import * as api from "../api.js";
import { canWrite } from "../auth.js";
import { badge, h, replace, watts } from "../dom.js";

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
    await fleetSection(),
    h("section", { "aria-labelledby": "acc-title" }, h("h2", { id: "acc-title" }, "Acceptance reports"),
      h("p", { class: "notice", id: "acceptance-unavailable" }, "Not available yet: acceptance runs are not served over the API in this version of wattcap.")));
  return null;
}

async function fleetSection() {
  const [rules, sessions] = await Promise.all([api.maybe("/fleet/rules"), api.maybe("/fleet/sessions")]);
  const section = h("section", { "aria-labelledby": "fleet-title" }, h("h2", { id: "fleet-title" }, "Fleet rules"));
  if (rules === null && sessions === null) {
    section.append(h("p", { class: "notice", id: "rules-unavailable" },
      "No fleet rules service: start wattcap with --rules FILE to decide every session's TxProfile by rules."));
    return section;
  }
  section.append(
    h("p", {}, rules ? `${rules.rules.length} rules in force (times in ${rules.timezone}), tried in this order; the first that matches applies.`
      : "No rules are in force."),
    rules ? h("table", { class: "data", id: "fleet-rules" },
      h("thead", {}, h("tr", {}, ["Rule", "Line", "Precedence", "Does"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rules.rules.map((r) => h("tr", {}, h("th", { scope: "row", class: "mono" }, r.name),
        h("td", {}, r.line ?? "–"), h("td", {}, r.precedence), h("td", {}, r.actions.join("; ")))))) : null,
    sessionsTable(sessions ? sessions.sessions : []),
    dryRunForm(),
    canWrite() ? rulesEditor(rules) : null);
  return section;
}

function sessionsTable(sessions) {
  if (!sessions.length) return h("p", { id: "fleet-sessions-empty" }, "No session is running.");
  return h("table", { class: "data", id: "fleet-sessions" },
    h("caption", {}, "Running sessions: the rule that applies, the goal and the plan"),
    h("thead", {}, h("tr", {}, ["EVSE", "Rule", "Vehicle", "Goal", "Plan now", "Delivered", "Notes"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, sessions.map((s) => h("tr", {},
      h("th", { scope: "row", class: "mono" }, `${s.station_id}/${s.evse_id}`),
      h("td", {}, s.rule ?? "defaults"),
      h("td", {}, s.vehicle ?? "–"),
      h("td", {}, s.goal ? `${s.goal.energy_wh ? watts(s.goal.energy_wh).replace("W", "Wh") : `${s.goal.soc_percent} %`} by ${s.goal.departure.slice(0, 16)}Z, ${s.goal.strategy}` : "–"),
      h("td", {}, s.plan ? [watts(s.plan.power_now_w), " ", s.plan.feasible ? badge("feasible", "ok") : badge(`short ${watts(s.plan.shortfall_wh).replace("W", "Wh")}`, "bad")] : "–"),
      h("td", {}, watts(s.delivered_wh).replace("W", "Wh")),
      h("td", {}, s.notes.join("; ") || "")))));
}

function field(label, name, placeholder = "") {
  return h("label", {}, label, " ", h("input", { name, placeholder, size: 14 }));
}

function dryRunForm() {
  const out = h("div", { id: "dry-run-result", "aria-live": "polite" });
  const form = h("form", { id: "dry-run", class: "inline-form" },
    h("h3", {}, "Dry run: which rule applies to a session, and why"),
    field("Station", "station_id", "SIM-001"), field("EVSE", "evse_id", "1"), field("Id token", "id_token"),
    field("Group", "id_token_group"), field("Vehicle type", "vehicle_type"),
    h("button", { type: "submit" }, "Explain"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    const facts = { station_id: data.station_id || "SIM-001", evse_id: Number(data.evse_id || 1) };
    for (const key of ["id_token", "id_token_group", "vehicle_type"]) if (data[key]) facts[key] = data[key];
    try {
      const result = await api.post("/fleet/rules/dry-run", { facts });
      replace(out,
        h("p", {}, result.policy.rule ? ["Applies: ", h("strong", {}, result.policy.rule)] : "No rule matches: the defaults apply."),
        h("table", { class: "data", id: "dry-run-trace" },
          h("thead", {}, h("tr", {}, ["Rule", "Outcome", "Why"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, result.trace.map((t) => h("tr", {},
            h("th", { scope: "row", class: "mono" }, t.rule),
            h("td", {}, t.applied ? badge("applied", "ok") : t.matched ? badge("matched, not reached", "neutral") : badge("no match", "neutral")),
            h("td", {}, t.checks.map((c) => h("div", {}, `${c.held ? "✓" : "✗"} ${c.reason}`))))))),
        h("p", {}, result.policy.notes.join(" · ")));
    } catch (error) {
      replace(out, h("p", { class: "error" }, error.message));
    }
  });
  return form;
}

function rulesEditor(rules) {
  const area = h("textarea", { id: "rules-text", rows: 14, cols: 90, spellcheck: "false", class: "mono" }, rules?.text ?? "");
  const out = h("div", { id: "rules-findings", "aria-live": "polite" });
  const button = h("button", { type: "button", id: "rules-apply" }, "Check and put in force");
  button.addEventListener("click", async () => {
    try {
      const applied = await api.putText("/fleet/rules", area.value, "application/yaml");
      replace(out, h("p", {}, `In force: ${applied.rules.length} rules.`));
    } catch (error) {
      replace(out, h("div", { class: "error" }, h("p", {}, "Refused, nothing changed:"),
        h("ul", {}, (error.findings.length ? error.findings.map((f) => f.message) : [error.message]).map((m) => h("li", {}, m)))));
    }
  });
  return h("div", { class: "rules-editor" }, h("h3", {}, "Edit the rules (YAML)"), area, h("div", {}, button), out);
}
