// The schedule editor: draw a charging schedule by dragging, set its purpose, kind, recurrence, validity, unit
// and phases; every change is checked against the target station by the API's dry run (its findings shown next
// to the field their JSON path names) and previewed against what the station holds; apply sends it and shows the
// verdict. Times are entered and shown in the site's time zone; the profile is sent in UTC.

import * as api from "../api.js";
import * as auth from "../auth.js";
import { badge, debounce, errorBox, h, limitText, num, replace, verdictBadge } from "../dom.js";
import { legend } from "../layers.js";
import { stackChart } from "../charts/stackchart.js";
import { ScheduleCanvas } from "../editor/canvas.js";
import { DAY_S, WEEK_S, fieldOf, fromProfile, horizon, snapLimit, toProfile } from "../editor/schedule.js";
import { dstChanges, formatDate, formatTime, fromLocalInput, offsetClock, offsetMinutes, offsetText, toLocalInput } from "../time.js";
import { timeZoneOf } from "./station.js";

const PURPOSES = ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"];
const NOMINAL_W_PER_A = 230 * 3;

function field(key, labelText, control, hint = null) {
  control.id = `ed-${key}`;
  return h("div", { class: "field", "data-field": key },
    h("label", { for: control.id }, labelText), control,
    hint ? h("span", { class: "hint", id: `ed-${key}-hint` }, hint) : null,
    h("div", { class: "findings-slot" }));
}

function select(options, value) {
  return h("select", {}, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
}

export async function render(root, params, { stream }) {
  const stationId = params.station;
  const path = `/stations/${encodeURIComponent(stationId)}`;
  const station = await api.get(path);
  const tz = await timeZoneOf(station);
  const back = h("a", { href: `#/station/${encodeURIComponent(stationId)}` }, `← Station ${stationId}`);
  if (!auth.canEditProfiles()) {
    replace(root, back, h("h1", {}, "Schedule editor"),
      h("p", { class: "notice", id: "read-only-note" }, "This token may only read: it cannot set or change profiles. ",
        "Ask for a grant with a band (", h("code", {}, "wattcap token create --band …"), ")."));
    return null;
  }
  const profileId = params.query.get("profile") ? Number(params.query.get("profile")) : null;
  const [capabilities, evses, governance, existing, held] = await Promise.all([
    api.maybe(`${path}/capabilities`), api.get(`${path}/evses`), api.get("/governance"),
    profileId ? api.get(`${path}/profiles/${profileId}`) : null, api.get(`${path}/profiles`),
  ]);
  const caps = capabilities?.summary || {};
  const granted = new Set(auth.grantedBands());
  const bands = governance.bands.filter((b) => granted.has(b.name));
  const units = caps.rateUnits?.length ? caps.rateUnits : ["A", "W"];
  const evseIds = evses.map((e) => e.evse_id);
  const todayMidnight = fromLocalInput(tz, `${formatDate(tz, Date.now())}T00:00`);

  const state = existing ? {
    ...fromProfile(existing.profile), evse: existing.evse_id, band: existing.band, reason: "",
  } : (() => {
    const purpose = bands.some((b) => b.purpose === "TxDefaultProfile") ? "TxDefaultProfile" : bands[0]?.purpose;
    const unit = units.includes("A") ? "A" : units[0];
    const level = (a) => (unit === "A" ? a : snapLimit(a * NOMINAL_W_PER_A, "W"));
    const evse = params.query.has("evse") ? Number(params.query.get("evse")) : (evseIds[0] ?? 0);
    return {
      purpose, band: bands.find((b) => b.purpose === purpose)?.name, evse: purpose === "ChargingStationMaxProfile" ? 0 : evse,
      kind: "Absolute", recurrencyKind: "Daily", startSchedule: todayMidnight, validFrom: null, validTo: null,
      duration: null, unit, phases: null, transactionId: null, reason: "",
      periods: [{ startPeriod: 0, limit: level(16) }, { startPeriod: 8 * 3600, limit: level(10) }, { startPeriod: 18 * 3600, limit: level(16) }],
    };
  })();
  state.selected = null;
  state.previewEvse = state.evse || evseIds[0] || 0;
  let findings = [];
  let lastRun = null;
  let sequence = 0;

  // ---- controls ----
  const evseSelect = select([[0, "Station (EVSE 0)"], ...evseIds.map((e) => [e, `EVSE ${e}`])], state.evse);
  const purposeSelect = select(PURPOSES.filter((p) => bands.some((b) => b.purpose === p)).map((p) => [p, p]), state.purpose);
  const bandSelect = h("select");
  const kindSelect = select([["Absolute", "Absolute (from a start time)"], ["Recurring", "Recurring"], ["Relative", "Relative (from the session start)"]], state.kind);
  const recurrencySelect = select([["Daily", "Daily"], ["Weekly", "Weekly"]], state.recurrencyKind);
  const startInput = h("input", { type: "datetime-local", step: 60, value: toLocalInput(tz, state.startSchedule) });
  const durationInput = h("input", { type: "number", min: 0.25, step: 0.25, placeholder: "no end", value: state.duration ? state.duration / 3600 : "" });
  const validFromInput = h("input", { type: "datetime-local", step: 60, value: toLocalInput(tz, state.validFrom) });
  const validToInput = h("input", { type: "datetime-local", step: 60, value: toLocalInput(tz, state.validTo) });
  const unitSelect = select([["A", "A (current per phase)"], ["W", "W (power)"]], state.unit);
  const phasesSelect = select([["", "not set"], [1, "1"], [3, "3"]], state.phases ?? "");
  const txSelect = h("select");
  const reasonInput = h("input", { type: "text", maxlength: 500, placeholder: "why (goes to the audit log)" });
  const startUtc = h("span", { class: "hint mono" });
  // an update keeps the id, EVSE and band; after a new profile is applied the editor goes on editing it
  const editing = { id: existing ? profileId : null };
  const lockTarget = () => { for (const control of [evseSelect, purposeSelect, bandSelect]) control.disabled = true; };
  if (editing.id) lockTarget();

  const canvas = new ScheduleCanvas({
    label: "Schedule: drag a boundary left or right, a level up or down",
    onChange: (periods, selected) => { state.periods = periods; state.selected = selected; changed(); },
  });
  const addButton = h("button", { type: "button", id: "ed-add", onclick: () => canvas.addAtSelection() || null }, "+ Add boundary");
  const removeButton = h("button", { type: "button", id: "ed-remove", onclick: () => canvas.removeSelected() }, "− Delete boundary");
  const periodsBody = h("tbody");
  const generalFindings = h("div", { id: "ed-findings", role: "alert", class: "findings-general" });
  const checkStatus = h("span", { id: "ed-check", class: "hint", role: "status" });
  const previewBox = h("div", { id: "ed-preview" });
  const previewEvseSelect = select(evseIds.map((e) => [e, `EVSE ${e}`]), state.previewEvse);
  previewEvseSelect.id = "ed-preview-evse";
  const jsonBox = h("pre", { id: "profile-json", class: "json", tabindex: 0, "aria-label": "The profile as it will be sent" });
  const dstBox = h("div", { id: "ed-dst", class: "dst-notes" });
  const applyButton = h("button", { type: "button", class: "primary", id: "ed-apply" }, editing.id ? `Apply to profile #${editing.id}` : "Apply to the station");
  const title = h("h1", {}, editing.id ? `Edit profile #${editing.id} on ${stationId}` : `New schedule for ${stationId}`);
  const verdictBox = h("div", { id: "ed-verdict", role: "status", "aria-live": "polite" });

  replace(root,
    back,
    h("div", { class: "page-head" },
      title,
      h("p", { class: "tz" }, `Times in ${tz} (${offsetText(offsetMinutes(tz, Date.now()))}); the profile is sent in UTC`)),
    h("form", { class: "editor", onsubmit: (e) => e.preventDefault(), "aria-describedby": "ed-findings" },
      h("div", { class: "editor-fields" },
        field("evse", "Where", evseSelect),
        field("purpose", "Purpose", purposeSelect),
        field("band", "Band", bandSelect, "sets the stack level"),
        field("kind", "Kind", kindSelect),
        field("recurrency", "Recurs", recurrencySelect),
        field("start", `Starts (${tz})`, startInput),
        field("duration", "Ends after (hours)", durationInput),
        field("valid-from", `Valid from (${tz})`, validFromInput),
        field("valid-to", `Valid to (${tz})`, validToInput),
        field("unit", "Unit", unitSelect, `the station takes ${units.join(" and ")}`),
        field("phases", "Phases", phasesSelect),
        field("tx", "Transaction", txSelect),
        field("reason", "Reason", reasonInput)),
      startUtc,
      dstBox,
      h("section", { class: "editor-draw", "aria-labelledby": "draw-title" },
        h("h2", { id: "draw-title" }, "Draw the schedule"),
        h("p", { class: "help", id: "ed-help" }, "Drag a boundary sideways (15 min steps) or a level up and down (",
          state.unit === "W" ? "100 W" : "0.1 A", " steps); double-click to add a boundary. Keyboard: Tab to a handle, ",
          "arrows move it (Shift: bigger steps), Delete removes a boundary, Insert or + splits the period."),
        canvas.element,
        h("div", { class: "toolbar" }, addButton, removeButton,
          h("span", { class: "hint" }, caps.maxPeriodsPerSchedule ? `the station takes up to ${caps.maxPeriodsPerSchedule} periods` : "")),
        h("div", { class: "field", "data-field": "periods" },
          h("table", { class: "data periods", id: "ed-periods", "aria-label": "Periods" },
            h("thead", {}, h("tr", {}, ["#", "Starts after", "Local time", "Limit", ""].map((c) => h("th", { scope: "col" }, c)))),
            periodsBody),
          h("div", { class: "findings-slot" }))),
      generalFindings,
      h("section", { class: "editor-preview", "aria-labelledby": "preview-title" },
        h("h2", { id: "preview-title" }, "Preview against what the station holds ", checkStatus),
        h("div", { class: "toolbar" }, h("label", { for: "ed-preview-evse" }, "Composite of"), previewEvseSelect),
        legend(), previewBox),
      h("details", { class: "json-box", open: true }, h("summary", {}, "Profile JSON (OCPP 2.0.1, times in UTC)"), jsonBox),
      h("div", { class: "apply-row" }, applyButton, verdictBox)));

  // ---- behaviour ----
  function fillBands() {
    const options = bands.filter((b) => b.purpose === state.purpose);
    if (!options.some((b) => b.name === state.band)) state.band = options[0]?.name;
    replace(bandSelect, options.map((b) => h("option", { value: b.name, selected: b.name === state.band },
      `${b.name} (stack ${b.stack_level_low}${b.stack_level_high !== b.stack_level_low ? `–${b.stack_level_high}` : ""})`)));
    showOccupied();
  }

  /** A new profile in a band that already holds one on this EVSE may find no free stack level: offer to edit. */
  function showOccupied() {
    const hint = root.querySelector("#ed-band-hint");
    if (!hint || editing.id) return;
    const taken = held.filter((p) => p.band === state.band && p.evse_id === state.evse && p.status !== "clearing");
    replace(hint, taken.length ? ["already holds ", taken.map((p, i) => [i ? ", " : "",
      h("a", { href: `#/editor/${encodeURIComponent(stationId)}?profile=${p.profile_id}` }, `#${p.profile_id}`)]), " here: edit it instead?"]
      : "sets the stack level");
  }

  function fillTransactions() {
    const running = evses.filter((e) => e.transaction && (state.evse === 0 || e.evse_id === state.evse));
    if (state.purpose === "TxProfile" && !state.transactionId && running.length) state.transactionId = running[0].transaction.transaction_id;
    replace(txSelect, h("option", { value: "" }, running.length ? "(none)" : "no session running"),
      running.map((e) => h("option", { value: e.transaction.transaction_id, selected: e.transaction.transaction_id === state.transactionId },
        `${e.transaction.transaction_id} on EVSE ${e.evse_id}`)));
  }

  function show(key, visible) {
    root.querySelector(`[data-field="${key}"]`).hidden = !visible;
  }

  function windowOf() {
    const span = Math.min(horizon(state), WEEK_S);
    if (state.kind === "Relative" || state.startSchedule === null) {
      return { start: Math.floor(Date.now() / 60000) * 60000, span, relative: true };
    }
    let start = state.startSchedule;
    if (state.kind === "Recurring" && Date.now() > start) {
      const period = (state.recurrencyKind === "Weekly" ? WEEK_S : DAY_S) * 1000;
      start += Math.floor((Date.now() - start) / period) * period;
    }
    return { start, span, relative: false };
  }

  function renderTable() {
    const focusedId = document.activeElement?.id;
    const { start, relative } = windowOf();
    replace(periodsBody, state.periods.map((p, i) => {
      const startCell = i === 0 ? h("span", {}, "+00:00")
        : h("input", { id: `ed-p-${i}-start`, type: "text", inputmode: "numeric", pattern: "\\d+:\\d{2}", size: 6,
          value: offsetClock(p.startPeriod).slice(1), "aria-label": `Period ${i + 1} starts after (hours:minutes)`,
          onchange: (e) => {
            const m = /^(\d+):(\d{2})$/.exec(e.target.value.trim());
            if (!m) return;
            state.periods = state.periods.map((q, j) => (j === i ? { ...q, startPeriod: Number(m[1]) * 3600 + Number(m[2]) * 60 } : q))
              .sort((a, b) => a.startPeriod - b.startPeriod);
            changed();
          } });
      return h("tr", { "data-period": i, class: state.selected?.index === i ? "selected" : "" },
        h("td", {}, String(i + 1)),
        h("td", { "data-field": `p-${i}-start` }, startCell, h("div", { class: "findings-slot" })),
        h("td", {}, relative ? "–" : formatTime(tz, start + p.startPeriod * 1000, { date: true })),
        h("td", { "data-field": `p-${i}-limit` },
          h("input", { id: `ed-p-${i}-limit`, type: "number", step: state.unit === "W" ? 100 : 0.1, min: 0, value: p.limit,
            "aria-label": `Period ${i + 1} limit (${state.unit})`,
            onchange: (e) => {
              const v = Number(e.target.value);
              if (Number.isNaN(v)) return;
              state.periods = state.periods.map((q, j) => (j === i ? { ...q, limit: v } : q));
              changed();
            } }), ` ${state.unit}`, h("div", { class: "findings-slot" })),
        h("td", {}, i > 0 ? h("button", { type: "button", class: "small", "aria-label": `Delete boundary ${i}`,
          onclick: () => { state.periods = state.periods.filter((_, j) => j !== i); state.selected = null; changed(); } }, "Delete") : ""));
    }));
    if (focusedId && focusedId.startsWith("ed-p-")) document.getElementById(focusedId)?.focus();
  }

  function renderDst() {
    const { start, span } = windowOf();
    const notes = dstChanges(tz, start, start + span * 1000).map((c) =>
      `The drawn window crosses a DST change at ${formatTime(tz, c.at, { date: true })} (${offsetText(c.from)} → ${offsetText(c.to)}): `
      + "periods after it start at other local clock times, as the profile runs in UTC.");
    if (state.kind === "Recurring" && state.startSchedule !== null) {
      const year = dstChanges(tz, Date.now(), Date.now() + 366 * DAY_S * 1000)[0];
      if (year) {
        const local = formatTime(tz, state.startSchedule);
        const shifted = formatTime(tz, state.startSchedule + (year.from - year.to) * 60000);
        notes.push(`This ${state.recurrencyKind.toLowerCase()} profile repeats in UTC: after the DST change on `
          + `${formatTime(tz, year.at, { date: true })} it starts at ${shifted} local time instead of ${local}.`);
      }
    }
    replace(dstBox, notes.map((text) => h("p", { class: "notice dst-note" }, "⚠ ", text)));
  }

  function renderJson() {
    jsonBox.textContent = JSON.stringify(toProfile(state), null, 2);
    startUtc.textContent = state.kind === "Relative" || state.startSchedule === null ? "" : `starts ${new Date(state.startSchedule).toISOString().replace(".000", "")} in UTC`;
  }

  function applyFindings() {
    for (const el of root.querySelectorAll(".findings-slot")) el.replaceChildren();
    for (const el of root.querySelectorAll("[aria-invalid]")) { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-errormessage"); }
    const general = [];
    findings.forEach((f, n) => {
      const key = fieldOf(f.path);
      const container = key ? root.querySelector(`[data-field="${key}"]`) : null;
      const slot = container && !container.hidden ? container.querySelector(":scope > .findings-slot") : null;
      const item = h("p", { class: `finding finding-${f.severity}`, id: `finding-${n}`, "data-path": f.path, "data-rule": f.rule_id },
        h("b", {}, f.severity === "error" ? "✗ " : "! ", f.rule_id), " ", f.message,
        f.response ? h("span", { class: "sub" }, ` — the charger would answer ${f.response}${f.reason_code ? ` (${f.reason_code})` : ""}`) : "");
      if (slot) {
        slot.append(item);
        const control = container.querySelector("input, select, table");
        if (control && f.severity === "error") { control.setAttribute("aria-invalid", "true"); control.setAttribute("aria-errormessage", item.id); }
      } else {
        general.push(item);
      }
    });
    replace(generalFindings, general.length ? [h("p", {}, h("b", {}, "The station would not take this as it is:")), general] : []);
  }

  function renderPreview(result) {
    if (!result) return;
    const { start, span } = windowOf();
    const preview = result.composites.find((c) => c.evse_id === state.previewEvse) || result.composites[0];
    if (!preview) {
      replace(previewBox, h("p", {}, result.allowed ? "Nothing to preview." : "No preview: the change would be refused."));
      return;
    }
    replace(previewBox, stackChart({
      tz, start, end: start + span * 1000, composite: preview.after, before: preview.before,
      width: Math.max(640, previewBox.clientWidth || 900),
      title: `Composite of EVSE ${preview.evse_id} after the change (before: dashed)`,
    }));
  }

  function changed() {
    show("recurrency", state.kind === "Recurring");
    show("start", state.kind !== "Relative");
    show("tx", state.purpose === "TxProfile");
    removeButton.disabled = state.selected?.type !== "boundary";
    const { start, span, relative } = windowOf();
    canvas.update({ periods: state.periods, unit: state.unit, end: span, start: relative ? null : start, tz,
      selected: state.selected, hint: state.unit === "A" ? 32 : 22000 });
    renderTable();
    renderJson();
    renderDst();
    applyFindings();
    replace(checkStatus, "checking…");
    check();
  }

  const check = debounce(async () => {
    const mine = ++sequence;
    const { start, span } = windowOf();
    const body = editing.id
      ? { profile_id: editing.id, profile: toProfile(state), start: api.iso(start), duration: span }
      : { evse_id: state.evse, band: state.band, profile: toProfile(state), start: api.iso(start), duration: span };
    try {
      const result = await api.post(`${path}/profiles/dry-run`, body);
      if (mine !== sequence) return;
      lastRun = result;
      findings = result.findings;
      if (result.refusal) findings = [...findings, { path: "", rule_id: "WC-LIFECYCLE", severity: "error", message: result.refusal }];
      replace(checkStatus, result.allowed ? badge("✓ the station would take it", "ok") : badge("✗ would be refused", "bad"));
      applyFindings();
      renderPreview(result);
    } catch (error) {
      if (mine !== sequence) return;
      lastRun = null;
      findings = error.findings?.length ? error.findings
        : [{ path: "", rule_id: error.rule || error.code, severity: "error", message: error.message }];
      replace(checkStatus, badge(`✗ ${error.status === 403 ? "not allowed" : "invalid"}`, "bad"));
      applyFindings();
    }
  }, 250);

  async function apply() {
    applyButton.disabled = true;
    replace(verdictBox, "Sending to the station and reading its composite back…");
    const profile = toProfile(state);
    const reason = state.reason || undefined;
    try {
      const result = editing.id
        ? await api.put(`${path}/profiles/${editing.id}`, { profile, reason })
        : await api.post(`${path}/profiles`, { evse_id: state.evse, band: state.band, profile, reason });
      const stored = result.profile;
      replace(verdictBox,
        h("p", {}, "Verdict: ", h("span", { id: "ed-verdict-value", "data-verdict": result.verdict }, verdictBadge(result.verdict)),
          stored ? ` — profile #${stored.profile_id} at stack level ${stored.stack_level}, status ${stored.status}` : "",
          result.reason ? `: ${result.reason}` : ""),
        result.verdict === "no_answer" ? h("p", {}, "The station did not answer (offline?): it gets the profile when it reconnects.") : null,
        result.checks.length ? h("ul", {}, result.checks.map((c) => h("li", {}, `EVSE ${c.evse_id}: `, verdictBadge(c.verdict),
          c.differences.length ? ` ${c.differences.length} difference(s): ${c.differences.map((d) => `${offsetClock(d.start)}–${offsetClock(d.end)} expected ${d.expected ?? "no limit"}, reported ${d.reported ?? "no limit"}`).join("; ")}` : " composite read back as expected"))) : null,
        result.warnings.length ? h("ul", {}, result.warnings.map((w) => h("li", { class: "finding finding-warning" }, `${w.rule_id}: ${w.message}`))) : null,
        h("p", {}, h("a", { href: `#/station/${encodeURIComponent(stationId)}?evse=${state.evse}` }, "See it on the station page")));
      if (!editing.id && stored && ["applied", "mismatch", "no_answer"].includes(result.verdict)) {
        editing.id = stored.profile_id;
        lockTarget();
        title.textContent = `Edit profile #${editing.id} on ${stationId}`;
        applyButton.textContent = `Apply to profile #${editing.id}`;
        history.replaceState(null, "", `#/editor/${encodeURIComponent(stationId)}?profile=${editing.id}`);
      }
    } catch (error) {
      findings = error.findings || [];
      applyFindings();
      replace(verdictBox, errorBox(error), error.refusals?.length ? h("ul", {}, error.refusals.map((r) => h("li", {}, `${r.rule}: ${r.message}`))) : null);
    } finally {
      applyButton.disabled = false;
    }
  }

  // ---- wiring ----
  evseSelect.addEventListener("change", () => {
    state.evse = Number(evseSelect.value);
    if (state.evse) { state.previewEvse = state.evse; previewEvseSelect.value = state.evse; }
    fillTransactions(); showOccupied(); changed();
  });
  purposeSelect.addEventListener("change", () => {
    state.purpose = purposeSelect.value;
    if (state.purpose === "ChargingStationMaxProfile") { state.evse = 0; evseSelect.value = "0"; }
    fillBands(); fillTransactions(); changed();
  });
  bandSelect.addEventListener("change", () => { state.band = bandSelect.value; showOccupied(); changed(); });
  kindSelect.addEventListener("change", () => {
    state.kind = kindSelect.value;
    if (state.kind !== "Relative" && state.startSchedule === null) { state.startSchedule = todayMidnight; startInput.value = toLocalInput(tz, todayMidnight); }
    changed();
  });
  recurrencySelect.addEventListener("change", () => { state.recurrencyKind = recurrencySelect.value; changed(); });
  startInput.addEventListener("change", () => { state.startSchedule = fromLocalInput(tz, startInput.value); changed(); });
  durationInput.addEventListener("change", () => {
    const hours = Number(durationInput.value);
    state.duration = durationInput.value && hours > 0 ? Math.round(hours * 3600) : null;
    changed();
  });
  validFromInput.addEventListener("change", () => { state.validFrom = fromLocalInput(tz, validFromInput.value); changed(); });
  validToInput.addEventListener("change", () => { state.validTo = fromLocalInput(tz, validToInput.value); changed(); });
  unitSelect.addEventListener("change", () => {
    const to = unitSelect.value;
    if (to !== state.unit) {
      state.periods = state.periods.map((p) => ({ ...p, limit: snapLimit(to === "W" ? p.limit * NOMINAL_W_PER_A : p.limit / NOMINAL_W_PER_A, to) }));
      state.unit = to;
    }
    changed();
  });
  phasesSelect.addEventListener("change", () => { state.phases = phasesSelect.value ? Number(phasesSelect.value) : null; changed(); });
  txSelect.addEventListener("change", () => { state.transactionId = txSelect.value || null; changed(); });
  reasonInput.addEventListener("input", () => { state.reason = reasonInput.value; });
  previewEvseSelect.addEventListener("change", () => { state.previewEvse = Number(previewEvseSelect.value); renderPreview(lastRun); });
  applyButton.addEventListener("click", apply);

  fillBands();
  fillTransactions();
  changed();
  const off = stream.on("limit", (m) => { if (m.station === stationId) check(); });
  void num; void limitText;
  return () => { off(); check.cancel(); };
}
