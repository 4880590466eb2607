// Station / EVSE: the profiles wattcap manages there grouped by purpose and stack level, external limits, the
// stacking preview over a window (now → +24 h or a chosen day), the charger's reported composite overlaid on the
// expected one with the differences marked, and measured power on the same time axis.

import * as api from "../api.js";
import * as auth from "../auth.js";
import { badge, debounce, errorBox, h, limitText, replace, verdictBadge } from "../dom.js";
import { PURPOSE_ORDER, layerOf, legend } from "../layers.js";
import { bucketFor } from "../charts/timechart.js";
import { stackChart } from "../charts/stackchart.js";
import { dayWindow, formatDate, formatTime, offsetClock, offsetMinutes, offsetText, parseIso } from "../time.js";

export async function timeZoneOf(station) {
  if (!station.site) return "UTC";
  const sites = (await api.maybe("/sites")) || [];
  return sites.find((x) => x.id === station.site)?.time_zone || "UTC";
}

export function periodsText(schedule, tz) {
  const start = parseIso(schedule.startSchedule);
  return schedule.chargingSchedulePeriod.map((p) => {
    const at = start !== null ? formatTime(tz, start + p.startPeriod * 1000) : offsetClock(p.startPeriod);
    return `${at} ${limitText(p.limit, schedule.chargingRateUnit)}`;
  }).join(" · ");
}

export async function render(root, params, { stream, navigate }) {
  const id = params.station;
  const path = `/stations/${encodeURIComponent(id)}`;
  const station = await api.get(path);
  const tz = await timeZoneOf(station);
  const [capabilities, evses] = await Promise.all([api.maybe(`${path}/capabilities`), api.get(`${path}/evses`)]);
  const evseIds = evses.map((e) => e.evse_id);
  const state = {
    evse: params.query.has("evse") ? Number(params.query.get("evse")) : (evseIds[0] ?? 0),
    mode: params.query.get("day") ? "day" : params.query.get("window") === "around" ? "around" : "now",
    day: params.query.get("day") || formatDate(tz, Date.now()),
    verification: null,
  };
  const editable = auth.canEditProfiles();
  const caps = capabilities?.summary || {};

  const profilesBox = h("div", { id: "profiles" });
  const previewBox = h("div", { id: "preview", "aria-live": "polite" });
  const verifyBox = h("div", { id: "verification", role: "status" });
  const evseButtons = [0, ...evseIds].map((e) => h("button", {
    type: "button", class: "seg-button", "aria-pressed": String(e === state.evse), "data-evse": e,
    onclick: () => { state.evse = e; evseButtons.forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.evse) === e))); state.verification = null; loadVerification(); loadPreview(); },
  }, e === 0 ? "Station (EVSE 0)" : `EVSE ${e}`));
  const dayInput = h("input", { type: "date", id: "preview-day", value: state.day, "aria-label": `Day (${tz})`,
    onchange: () => { state.day = dayInput.value; state.mode = "day"; modeDay.checked = true; loadPreview(); } });
  const modeNow = h("input", { type: "radio", name: "window", id: "window-now", checked: state.mode === "now",
    onchange: () => { state.mode = "now"; loadPreview(); } });
  const modeDay = h("input", { type: "radio", name: "window", id: "window-day", checked: state.mode === "day",
    onchange: () => { state.mode = "day"; loadPreview(); } });
  const modeAround = h("input", { type: "radio", name: "window", id: "window-around", checked: state.mode === "around",
    onchange: () => { state.mode = "around"; loadPreview(); } });
  const verifyButton = auth.canWrite() ? h("button", { type: "button", id: "verify", onclick: () => verifyNow() }, "Verify now (read back from the charger)") : null;

  replace(root,
    h("div", { class: "page-head" },
      h("h1", {}, `Station ${id}`),
      h("p", { class: "tz" }, `Times in ${tz} (${offsetText(offsetMinutes(tz, Date.now()))}); profiles are stored in UTC`)),
    h("dl", { class: "facts" },
      h("dt", {}, "Connection"), h("dd", {}, station.connection.connected ? badge("● connected", "ok") : badge("○ offline", "warn")),
      h("dt", {}, "OCPP"), h("dd", {}, station.connection.ocpp_version || "–"),
      h("dt", {}, "Site"), h("dd", {}, station.site ? h("a", { href: `#/site/${encodeURIComponent(station.site)}` }, station.site) : "none"),
      h("dt", {}, "Vendor / model"), h("dd", {}, [station.vendor, station.model].filter(Boolean).join(" / ") || "–"),
      h("dt", {}, "Stack levels"), h("dd", {}, caps.maxStackLevel ?? "not reported"),
      h("dt", {}, "Rate units"), h("dd", {}, (caps.rateUnits || []).join(", ") || "not reported"),
      h("dt", {}, "Periods per schedule"), h("dd", {}, caps.maxPeriodsPerSchedule ?? "not reported"),
      h("dt", {}, "Profiles installed max"), h("dd", {}, caps.maxInstalledProfiles ?? "not reported"),
      h("dt", {}, "EVSEs"), h("dd", {}, evses.map((e) => `${e.evse_id}: ${e.connectors.map((c) => c.status).join("/") || "?"}${e.transaction ? ` (tx ${e.transaction.transaction_id})` : ""}`).join(", ") || "–")),
    h("div", { class: "toolbar" },
      h("div", { class: "segmented", role: "group", "aria-label": "EVSE" }, evseButtons),
      editable ? h("a", { class: "button primary", id: "new-schedule", href: `#/editor/${encodeURIComponent(id)}?evse=${state.evse}` }, "New schedule…") : null),
    h("section", { "aria-labelledby": "stack-title" },
      h("h2", { id: "stack-title" }, "Stacking preview"),
      h("fieldset", { class: "window" }, h("legend", {}, "Window"),
        h("label", {}, modeAround, " −1 h → +1 h"),
        h("label", {}, modeNow, " now → +24 h"),
        h("label", {}, modeDay, " a day: "), dayInput),
      legend(),
      previewBox,
      h("div", { class: "verify-row" }, verifyButton, verifyBox)),
    h("section", { "aria-labelledby": "profiles-title" }, h("h2", { id: "profiles-title" }, "Installed profiles by purpose and stack level"), profilesBox));

  async function loadProfiles() {
    const [profiles, limits] = await Promise.all([api.get(`${path}/profiles`), api.get(`${path}/limits`)]);
    const sources = new Map(limits.profiles.map((p) => [p.profile_id, p]));
    const bands = new Set(auth.grantedBands());
    const groups = PURPOSE_ORDER.map((purpose) => [purpose, profiles.filter((p) => p.purpose === purpose)
      .sort((a, b) => b.stack_level - a.stack_level || a.evse_id - b.evse_id)]).filter(([, list]) => list.length);
    const rows = groups.map(([purpose, list]) => [
      h("tr", { class: "group" }, h("th", { colspan: 9, scope: "rowgroup" }, h("b", {}, layerOf(purpose).short), ` ${purpose}`)),
      ...list.map((p) => {
        const schedule = p.profile.chargingSchedule[0];
        const source = sources.get(p.profile_id);
        const canChange = editable && bands.has(p.band);
        return h("tr", { "data-profile": p.profile_id, class: p.evse_id === state.evse || p.evse_id === 0 ? "applies" : "" },
          h("td", { class: "n" }, p.stack_level),
          h("td", {}, `#${p.profile_id}`),
          h("td", {}, p.evse_id === 0 ? "station" : `EVSE ${p.evse_id}`),
          h("td", {}, p.band, source ? h("span", { class: "sub" }, ` ${source.source}${source.set_by ? ` · ${source.set_by}` : ""}`) : ""),
          h("td", {}, p.status === "installed" ? badge(p.status, "ok") : badge(p.status, p.status === "pending" ? "neutral" : "warn")),
          h("td", {}, p.profile.chargingProfileKind, p.profile.recurrencyKind ? ` ${p.profile.recurrencyKind}` : "",
            p.transaction_id ? h("span", { class: "sub" }, ` tx ${p.transaction_id}`) : ""),
          h("td", {}, [p.profile.validFrom && `from ${formatTime(tz, parseIso(p.profile.validFrom), { date: true })}`,
            p.profile.validTo && `to ${formatTime(tz, parseIso(p.profile.validTo), { date: true })}`].filter(Boolean).join(" ") || "always"),
          h("td", {}, periodsText(schedule, tz), schedule.duration ? h("span", { class: "sub" }, ` for ${Math.round(schedule.duration / 60)} min`) : ""),
          h("td", { class: "actions" }, canChange ? [
            h("a", { class: "button small", href: `#/editor/${encodeURIComponent(id)}?profile=${p.profile_id}` }, "Edit"),
            h("button", { type: "button", class: "small danger", onclick: () => clearProfile(p) }, "Clear"),
          ] : null));
      })]);
    const external = limits.external.map((x) => h("tr", { class: "external" },
      h("td", {}, "–"), h("td", {}, "external"), h("td", {}, x.evse_id === 0 ? "station" : `EVSE ${x.evse_id}`),
      h("td", { colspan: 5 }, `${x.external_source}${x.is_grid_critical ? " (grid critical)" : ""}, notified ${formatTime(tz, parseIso(x.notified_at), { date: true })}`),
      h("td", {})));
    replace(profilesBox, rows.length || external.length ? h("table", { class: "data profiles" },
      h("thead", {}, h("tr", {}, ["Stack level", "Id", "On", "Band · source", "Status", "Kind", "Valid", "Periods", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows, external.length ? [h("tr", { class: "group" }, h("th", { colspan: 9, scope: "rowgroup" }, "External limits reported by the charger")), external] : null))
      : h("p", {}, "wattcap manages no profile on this station."));
  }

  async function clearProfile(p) {
    if (!confirm(`Clear profile #${p.profile_id} (${p.purpose}, stack level ${p.stack_level}) from ${id}?`)) return;
    try {
      const result = await api.del(`${path}/profiles/${p.profile_id}`, { reason: "cleared in the UI" });
      replace(verifyBox, "Cleared: ", verdictBadge(result.verdict), result.reason ? ` ${result.reason}` : "");
    } catch (error) {
      replace(verifyBox, errorBox(error));
    }
    loadProfiles();
    loadPreview();
  }

  function window_() {
    if (state.mode === "day" && state.day) return dayWindow(tz, state.day);
    const now = Math.floor(Date.now() / 60000) * 60000;
    if (state.mode === "around") return { start: now - 3_600_000, end: now + 3_600_000 };
    return { start: now, end: now + 86_400_000 };
  }

  async function loadVerification() {
    const found = await api.get(`${path}/verifications`, { evse: state.evse || undefined, limit: 10 });
    const last = found.find((v) => v.verdict !== "violation" && (v.evse_id === state.evse || state.evse === 0));
    if (!last) {
      state.verification = null;
      replace(verifyBox, "Not verified yet.");
      return;
    }
    const expectedStart = parseIso(last.expected?.scheduleStart);
    state.verification = {
      verdict: last.verdict, at: parseIso(last.checked_at), evse: last.evse_id, reported: last.reported_composite,
      differences: (last.differences || []).map((d) => ({ from: expectedStart + d.start * 1000, to: expectedStart + d.end * 1000, expected: d.expected, reported: d.reported })),
      detail: last.detail,
    };
    showVerification();
  }

  function showVerification() {
    const v = state.verification;
    if (!v) return;
    replace(verifyBox, "Last verification ", h("span", { id: "verdict" }, verdictBadge(v.verdict)),
      ` on EVSE ${v.evse} at ${formatTime(tz, v.at, { date: true, seconds: true })}`,
      v.reported ? " — the charger's composite is overlaid (dashed)" : " — the charger reported no schedule",
      v.differences.length ? `, ${v.differences.length} difference(s) marked ≠` : "", v.detail ? `: ${v.detail}` : "");
  }

  async function verifyNow() {
    verifyButton.disabled = true;
    replace(verifyBox, "Reading the composite back from the charger…");
    try {
      const result = await api.post(`${path}/verify?evse=${state.evse}`);
      const check = result.checks.find((c) => c.evse_id === state.evse) || result.checks[0];
      if (check) {
        const expectedStart = parseIso(check.expected?.scheduleStart);
        state.verification = {
          verdict: check.verdict, at: Date.now(), evse: check.evse_id, reported: check.reported, detail: check.reason,
          differences: check.differences.map((d) => ({ from: expectedStart + d.start * 1000, to: expectedStart + d.end * 1000, expected: d.expected, reported: d.reported })),
        };
        showVerification();
      } else {
        replace(verifyBox, verdictBadge(result.verdict), result.reason ? ` ${result.reason}` : "");
      }
      renderPreview();
    } catch (error) {
      replace(verifyBox, errorBox(error));
    } finally {
      verifyButton.disabled = false;
    }
  }

  let preview = null;
  async function loadPreview() {
    const { start, end } = window_();
    const duration = Math.round((end - start) / 1000);
    const query = { evse: state.evse, start: api.iso(start), duration };
    try {
      const composite = await api.get(`${path}/composite`, { ...query });
      const otherUnit = composite.chargingRateUnit === "A" ? "W" : "A";
      const alternate = await api.get(`${path}/composite`, { ...query, unit: otherUnit }).catch(() => null);
      const measuredEnd = Math.min(end, Date.now());
      let measured = [];
      let measuredPower = [];
      if (measuredEnd > start) {
        const meter = await api.get(`${path}/meter`, { start: api.iso(start), end: api.iso(measuredEnd), evse: state.evse || undefined,
          bucket_s: bucketFor(measuredEnd - start), measurand: ["Current.Import", "Power.Active.Import"] });
        ({ measured, measuredPower } = measuredSeries(meter.buckets, composite.chargingRateUnit));
      }
      preview = { start, end, composite, alternate, measured, measuredPower };
      renderPreview();
    } catch (error) {
      replace(previewBox, errorBox(error));
    }
  }

  function renderPreview() {
    if (!preview) return;
    const v = state.verification;
    const relevant = v && (v.evse === state.evse || state.evse === 0) ? v : null;
    replace(previewBox, stackChart({
      tz, start: preview.start, end: preview.end, composite: preview.composite, alternate: preview.alternate,
      reported: relevant?.reported || null, differences: relevant?.differences || [],
      measured: preview.measured, measuredPower: preview.measuredPower,
      width: Math.max(640, previewBox.clientWidth || 900),
      title: `Stacking preview of ${id} ${state.evse ? `EVSE ${state.evse}` : "(station)"}`,
    }));
  }

  const reload = debounce(() => { loadProfiles(); loadPreview(); }, 400);
  const redraw = debounce(() => loadPreview(), 5000);
  const offs = [
    stream.on("limit", (m) => { if (m.station === id) reload(); }),
    stream.on("verdict", (m) => { if (m.station === id) reload(); }),
    stream.on("meter", (m) => { if (m.station === id && state.mode !== "day" && (state.evse === 0 || m.evse === state.evse)) redraw(); }),
    stream.on("resync", reload),
  ];
  await Promise.all([loadProfiles(), loadVerification()]);
  await loadPreview();
  void navigate;
  return () => { offs.forEach((off) => off()); reload.cancel(); redraw.cancel(); };
}

/** Bucketed meter values as the composite's unit (A: the highest phase current; W: power) and power in W; the
 * EVSEs of a station view are added up. */
function measuredSeries(buckets, unit) {
  const current = new Map();
  const power = new Map();
  for (const b of buckets) {
    const t = Date.parse(b.start);
    if (b.measurand === "Current.Import" && b.phase) {
      const key = `${t}|${b.phase}`;
      current.set(key, (current.get(key) || 0) + b.avg);
    } else if (b.measurand === "Power.Active.Import" && !b.phase) {
      power.set(t, (power.get(t) || 0) + b.avg);
    }
  }
  const perTime = new Map();
  for (const [key, value] of current) {
    const t = Number(key.split("|")[0]);
    perTime.set(t, Math.max(perTime.get(t) || 0, value));
  }
  const measuredPower = [...power.entries()].sort((a, b) => a[0] - b[0]);
  const measured = unit === "W" ? measuredPower : [...perTime.entries()].sort((a, b) => a[0] - b[0]);
  return { measured, measuredPower };
}
