// Site overview: site draw against the cap and the safe offline share (live), per-node bars, stations with their
// connection, sessions with measured power against the limit in force, violations and verification verdicts.

import * as api from "../api.js";
import { amps, badge, debounce, h, num, replace, verdictBadge, watts } from "../dom.js";
import { PHASES, flatTopology, nodeLoads, phaseSeries, readSamples } from "../site.js";
import { TimeChart, bucketFor } from "../charts/timechart.js";
import { formatTime, offsetText, offsetMinutes } from "../time.js";

const RANGES = [["5 min", 300_000], ["1 h", 3600_000], ["24 h", 86_400_000], ["7 d", 7 * 86_400_000]];
const MEASURANDS = ["Current.Import", "Power.Active.Import", "Energy.Active.Import.Register"];

export async function render(root, params, { stream }) {
  const sites = (await api.maybe("/sites")) || [];
  const siteId = params.site || (sites.length ? sites[0].id : null);
  const summary = sites.find((x) => x.id === siteId);
  if (params.site && !summary) {
    replace(root, h("h1", {}, "No such site"), h("p", {}, `There is no site ${params.site} you may see.`));
    return null;
  }
  const allStations = await api.get("/stations");
  const stationIds = summary ? summary.stations : allStations.map((x) => x.id);
  const stations = new Map(allStations.filter((x) => stationIds.includes(x.id)).map((x) => [x.id, x]));
  const [topology, site] = summary
    ? await Promise.all([api.get(`/sites/${encodeURIComponent(siteId)}/topology`), api.get(`/sites/${encodeURIComponent(siteId)}`)])
    : [null, null];
  const tz = site?.time_zone || "UTC";
  const evses = new Map(); // "CP/1" -> {station, evse, connectors, transaction}
  await Promise.all([...stations.keys()].map(async (id) => {
    for (const e of await api.get(`/stations/${encodeURIComponent(id)}/evses`)) evses.set(`${id}/${e.evse_id}`, { station: id, ...e });
  }));
  const topo = topology || flatTopology([...evses.keys()]);
  const rootNode = topo.root;
  const state = {
    range: Number(params.query?.get("range")) || RANGES[1][1], site, latest: {}, limits: {}, verdicts: {}, violations: [], notices: site?.notices || [],
  };

  // ---- layout ----
  const rangeButtons = RANGES.map(([label, ms]) => h("button", {
    type: "button", class: "seg-button", "aria-pressed": String(ms === state.range),
    onclick: (click) => {
      state.range = ms;
      rangeButtons.forEach((b) => b.setAttribute("aria-pressed", String(b === click.currentTarget)));
      loadHistory();
    },
  }, label));
  const chart = new TimeChart({ tz, unit: "A", label: `Site draw per grid phase against the cap, ${summary ? siteId : "all stations"}` });
  const cards = h("div", { class: "cards", "aria-live": "polite" });
  const nodesBox = h("div", { class: "nodes" });
  const stationsBody = h("tbody");
  const sessionsBody = h("tbody");
  const eventsList = h("ul", { class: "events", "aria-live": "polite" });
  const noticesBox = h("div", { class: "notices" });
  const siteTabs = sites.length > 1 ? h("nav", { class: "tabs", "aria-label": "Sites" }, sites.map((x) => h("a", {
    href: `#/site/${encodeURIComponent(x.id)}`, "aria-current": x.id === siteId ? "page" : null }, x.id))) : null;

  replace(root,
    siteTabs,
    h("div", { class: "page-head" },
      h("h1", {}, summary ? `Site ${siteId}` : "All stations"),
      h("p", { class: "tz" }, `Times in ${tz} (${offsetText(offsetMinutes(tz, Date.now()))})`),
      h("div", { class: "segmented", role: "group", "aria-label": "Chart range" }, rangeButtons)),
    summary ? null : h("p", { class: "notice" }, "No site is configured for these stations (", h("code", {}, "wattcap serve --sites"),
      "): there is no cap to compare with; grid phases are assumed to be the EVSEs' own."),
    cards,
    h("section", { "aria-labelledby": "draw-title" },
      h("h2", { id: "draw-title" }, "EV draw per grid phase"),
      chart.element,
      h("ul", { class: "chart-keys" },
        PHASES.map((p) => h("li", {}, h("span", { class: `key key-${p}` }), `${p} (grid)`)),
        summary ? [h("li", {}, h("span", { class: "key key-cap" }), "cap in force now"),
          h("li", {}, h("span", { class: "key key-safe" }), "safe offline share")] : null)),
    summary ? h("section", { "aria-labelledby": "nodes-title" }, h("h2", { id: "nodes-title" }, "Circuits (nodes)"), nodesBox) : null,
    summary ? h("p", { class: "hint" }, "Bars: EV draw measured on each grid phase, after the building's own load where an EMS reports it; the black mark is the node's limit in force.") : null,
    h("section", { "aria-labelledby": "sessions-title" }, h("h2", { id: "sessions-title" }, "Sessions"),
      h("table", { class: "data", id: "sessions" },
        h("thead", {}, h("tr", {}, ["EVSE", "Transaction", "Measured", "Power", "Energy", "Limit in force", "Allocation",
          "Power vs limit", "Last value"].map((c) => h("th", { scope: "col" }, c)))),
        sessionsBody)),
    h("section", { "aria-labelledby": "stations-title" }, h("h2", { id: "stations-title" }, "Stations"),
      h("table", { class: "data", id: "stations" },
        h("thead", {}, h("tr", {}, ["Station", "Connection", "OCPP", "EVSEs", "Latest verdict"].map((c) => h("th", { scope: "col" }, c)))),
        stationsBody)),
    h("section", { "aria-labelledby": "events-title" }, h("h2", { id: "events-title" }, "Violations and verdicts"), eventsList, noticesBox));

  // ---- data ----
  const capOf = () => state.site?.limits?.[rootNode]?.current_a ?? null;
  const safeOf = () => topo.nodes.find((n) => n.id === rootNode)?.safe_current_a ?? null;
  const currents = () => Object.fromEntries(Object.entries(state.latest).map(([k, v]) => [k, v]));

  async function loadHistory() {
    const end = Date.now();
    const start = end - state.range;
    const bucket = bucketFor(state.range);
    const byStation = {};
    await Promise.all([...stations.keys()].map(async (id) => {
      const meter = await api.get(`/stations/${encodeURIComponent(id)}/meter`, {
        start: api.iso(start), end: api.iso(end), bucket_s: bucket, measurand: MEASURANDS });
      byStation[id] = meter.buckets;
    }));
    const series = phaseSeries(topo, byStation, rootNode);
    chart.setWindow(start, end);
    for (const p of PHASES) chart.setSeries(p, { label: `${p}`, points: series[p], className: `phase-${p}` });
    // the newest bucket of each EVSE seeds the session table until the stream brings fresher values
    for (const [id, buckets] of Object.entries(byStation)) {
      for (const b of buckets) {
        const key = `${id}/${b.evse_id}`;
        const t = Date.parse(b.start);
        const entry = state.latest[key] || { at: 0 };
        if (t < (entry.seededAt || 0)) continue;
        entry.seededAt = t;
        if (b.measurand === "Current.Import" && PHASES.includes(b.phase)) entry[b.phase] = b.avg;
        if (b.measurand === "Current.Import" && !b.phase) entry.I = b.avg;
        if (b.measurand === "Power.Active.Import" && !b.phase) entry.power = b.avg;
        if (b.measurand === "Energy.Active.Import.Register" && !b.phase) entry.energy = b.max;
        entry.at = Math.max(entry.at, t);
        state.latest[key] = entry;
      }
    }
    refresh();
  }

  async function loadLimits(stationId) {
    for (const [key, e] of evses) {
      if (e.station !== stationId || !e.transaction) continue;
      try {
        const comp = await api.get(`/stations/${encodeURIComponent(stationId)}/composite`, { evse: e.evse_id, duration: 60 });
        const first = comp.chargingSchedulePeriod[0];
        state.limits[key] = first ? { limit: first.limit, unit: comp.chargingRateUnit, by: first.governedBy } : null;
      } catch (error) {
        console.warn(`composite of ${key}`, error);
        state.limits[key] = { error: error.message };
      }
    }
    refresh();
  }

  async function loadVerdicts(stationId) {
    const [checks, violations] = await Promise.all([
      api.get(`/stations/${encodeURIComponent(stationId)}/verifications`, { limit: 20 }),
      api.get(`/stations/${encodeURIComponent(stationId)}/violations`, { limit: 5 }),
    ]);
    for (const v of [...checks].reverse()) {
      if (v.verdict !== "violation") state.verdicts[`${stationId}/${v.evse_id}`] = { verdict: v.verdict, at: Date.parse(v.checked_at), detail: v.detail };
    }
    for (const v of violations) {
      state.violations.push({ key: `${stationId}/${v.evse_id}`, at: Date.parse(v.checked_at), text: v.detail || "measured draw above the limit" });
    }
    refresh();
  }

  async function reloadEvses(stationId) {
    for (const e of await api.get(`/stations/${encodeURIComponent(stationId)}/evses`)) evses.set(`${stationId}/${e.evse_id}`, { station: stationId, ...e });
    await loadLimits(stationId);
  }

  // ---- rendering ----
  function refresh() {
    const loads = nodeLoads(topo, currents());
    const rootBuilding = state.site?.limits?.[rootNode]?.non_ev_load_a || [0, 0, 0];
    const rootLoad = (loads[rootNode] || [0, 0, 0]).map((v, i) => v + (rootBuilding[i] || 0));
    const cap = capOf();
    const safe = safeOf();
    const worst = Math.max(...rootLoad);
    const charging = [...evses.values()].filter((e) => e.transaction).length;
    const paused = Object.values(state.site?.evses || {}).filter((e) => e.allocation?.paused && e.session).length;
    const over = cap !== null && worst > cap;
    replace(cards,
      h("div", { class: `card stat ${over ? "bad" : ""}`, id: "site-draw" },
        h("span", { class: "stat-label" }, "Site draw now (highest grid phase, EVs and building)"),
        h("span", { class: "stat-value" }, amps(worst)),
        h("span", { class: "stat-sub" }, PHASES.map((p, i) => `${p} ${num(rootLoad[i])}`).join(" · ")),
        over ? badge("✗ above the cap", "bad") : null),
      summary ? h("div", { class: "card stat", id: "site-cap" },
        h("span", { class: "stat-label" }, "Cap in force"),
        h("span", { class: "stat-value" }, amps(cap)),
        h("span", { class: "stat-sub" }, `source: ${state.site?.limits?.[rootNode]?.source || "–"}`)) : null,
      summary ? h("div", { class: "card stat", id: "site-safe" },
        h("span", { class: "stat-label" }, "Safe offline share"),
        h("span", { class: "stat-value" }, amps(safe)),
        h("span", { class: "stat-sub" }, `fallback ${state.site?.fallback || "–"}, lease ${state.site?.lease_s ?? "–"} s`)) : null,
      h("div", { class: "card stat" },
        h("span", { class: "stat-label" }, "Sessions"),
        h("span", { class: "stat-value" }, String(charging)),
        h("span", { class: "stat-sub" }, paused ? `${paused} paused by the site cap` : "none paused")),
      h("div", { class: `card stat ${state.violations.length || state.site?.violations?.length ? "bad" : ""}` },
        h("span", { class: "stat-label" }, "Violations"),
        h("span", { class: "stat-value" }, String(state.violations.length + (state.site?.violations?.length || 0))),
        h("span", { class: "stat-sub" }, "measured draw above a limit, or a node over its limit")));
    chart.setReferences(summary ? [
      { label: "cap", value: cap, className: "ref-cap" },
      { label: "safe", value: safe, className: "ref-safe" },
    ] : []);
    if (summary) renderNodes(loads);
    renderStations();
    renderSessions();
    renderEvents();
  }

  function renderNodes(loads) {
    replace(nodesBox, topo.nodes.map((node) => {
      const limit = state.site?.limits?.[node.id]?.current_a ?? node.max_current_a;
      const ev = loads[node.id] || [0, 0, 0];
      const building = state.site?.limits?.[node.id]?.non_ev_load_a || [0, 0, 0];
      const load = ev.map((v, i) => v + (building[i] || 0));
      const scale = Math.max(limit || 0, ...load, 1) * 1.1;
      const depth = (() => { let d = 0; let p = node.parent; while (p) { d += 1; p = topo.nodes.find((n) => n.id === p)?.parent; } return d; })();
      return h("div", { class: "node", style: `--depth:${depth}`, "data-node": node.id },
        h("div", { class: "node-head" }, h("b", {}, node.id),
          ` limit ${amps(limit)}`, node.safe_current_a !== null && node.safe_current_a !== undefined ? ` · safe ${amps(node.safe_current_a)}` : "",
          node.margin_a ? ` · margin ${amps(node.margin_a)}` : "",
          state.site?.limits?.[node.id]?.source && state.site.limits[node.id].source !== "static" ? ` · ${state.site.limits[node.id].source}` : ""),
        PHASES.map((p, i) => {
          const over = limit !== null && load[i] > limit;
          return h("div", { class: `bar-row ${over ? "over" : ""}` },
            h("span", { class: "bar-label" }, p),
            h("div", { class: "bar", role: "meter", "aria-label": `${node.id} ${p}`, "aria-valuemin": 0,
              "aria-valuemax": limit ?? scale, "aria-valuenow": num(load[i]) },
            building[i] ? h("span", { class: "bar-building", style: `width:${(100 * building[i]) / scale}%` }) : null,
            h("span", { class: "bar-fill", style: `left:${(100 * (building[i] || 0)) / scale}%;width:${(100 * ev[i]) / scale}%` }),
            limit !== null ? h("span", { class: "bar-limit", style: `left:${(100 * limit) / scale}%` }) : null),
            h("span", { class: "bar-text" }, `${num(ev[i])}${building[i] ? ` + ${num(building[i])} bldg` : ""} / ${limit === null ? "–" : num(limit)} A`,
              over ? " ✗ over" : ""));
        }));
    }));
  }

  function renderStations() {
    replace(stationsBody, [...stations.values()].map((x) => {
      const mine = [...evses.values()].filter((e) => e.station === x.id);
      const verdicts = mine.map((e) => state.verdicts[`${x.id}/${e.evse_id}`]).filter(Boolean)
        .concat(state.verdicts[`${x.id}/0`] ? [state.verdicts[`${x.id}/0`]] : []);
      const latest = verdicts.sort((a, b) => b.at - a.at)[0];
      return h("tr", { "data-station": x.id, class: x.connection.connected ? "" : "offline" },
        h("th", { scope: "row" }, h("a", { href: `#/station/${encodeURIComponent(x.id)}` }, x.id)),
        h("td", {}, x.connection.connected ? badge("● connected", "ok") : badge("○ offline", "warn"),
          x.connection.connected ? "" : ` last seen ${x.connection.last_seen_at ? formatTime(tz, Date.parse(x.connection.last_seen_at), { date: true }) : "never"}`),
        h("td", {}, x.connection.ocpp_version || "–"),
        h("td", {}, mine.map((e) => `${e.evse_id}: ${e.connectors.map((c) => c.status).join("/") || "?"}`).join(", ") || "–"),
        h("td", {}, latest ? verdictBadge(latest.verdict) : "–"));
    }));
  }

  function renderSessions() {
    const rows = [...evses.entries()].filter(([, e]) => e.transaction).map(([key, e]) => {
      const m = state.latest[key] || {};
      const phased = PHASES.some((p) => m[p] !== undefined);
      const lim = state.limits[key];
      const siteEvse = state.site?.evses?.[key];
      const alloc = siteEvse?.allocation;
      // compared in the limit's unit: the highest phase current against A, power against W; a DC EVSE's current is
      // on its DC side, so its power is compared with the AC limit's power at the nominal voltage
      const spec = topo.evses.find((x) => `${x.station_id}/${x.evse_id}` === key);
      const dc = spec?.current_type === "DC";
      const byPower = lim?.unit === "W" || dc;
      const measured = byPower ? m.power ?? null : phased ? Math.max(m.L1 || 0, m.L2 || 0, m.L3 || 0) : m.I ?? null;
      let limit = lim && !lim.error ? lim.limit : null;
      if (limit !== null && dc && lim.unit === "A") limit *= (spec.phases || 3) * (spec.voltage_v || 230);
      const tolerance = byPower ? Math.max(300, (limit || 0) * 0.02) : 0.5;
      const over = limit !== null && measured !== null && measured > limit + tolerance;
      const violation = state.violations.some((v) => v.key === key);
      const share = limit && measured !== null ? Math.min(100, (100 * measured) / Math.max(limit, measured || 1)) : 0;
      return h("tr", { "data-evse": key, class: over || violation ? "alert" : "" },
        h("th", { scope: "row" }, h("a", { href: `#/station/${encodeURIComponent(e.station)}?evse=${e.evse_id}` }, key)),
        h("td", { class: "mono" }, e.transaction.transaction_id),
        h("td", { class: "n current" }, phased || m.I === undefined ? `${PHASES.map((p) => num(m[p])).join(" / ")} A` : `${num(m.I)} A${dc ? " DC" : ""}`),
        h("td", { class: "n power" }, watts(m.power)),
        h("td", { class: "n energy" }, m.energy === undefined ? "–" : `${num(m.energy / 1000, 3)} kWh`),
        h("td", { class: "n limit", title: lim?.error || null }, lim?.error ? "?" : lim ? `${num(lim.limit)} ${lim.unit}` : "–",
          lim?.by?.length ? h("span", { class: "sub" }, ` ${lim.by[0].purpose.replace("Profile", "")}`) : ""),
        h("td", { class: "alloc" }, alloc ? (alloc.paused ? badge("paused", "warn", `binding: ${alloc.binding}`)
          : `${num(alloc.current_a)} A × ${alloc.phases}, capped by ${alloc.binding}`) : summary ? "–" : "no site cap"),
        h("td", {}, h("div", { class: "bar small", role: "meter", "aria-label": `${key} measured against the limit`,
          "aria-valuemin": 0, "aria-valuemax": limit ?? 0, "aria-valuenow": measured === null ? null : num(measured) },
        h("span", { class: "bar-fill", style: `width:${share}%` })),
        over ? badge("✗ above limit", "bad") : null, violation ? badge("✗ violation", "bad") : null),
        h("td", { class: "at" }, m.at ? formatTime(tz, m.at, { seconds: true }) : "–"));
    });
    replace(sessionsBody, rows.length ? rows : h("tr", {}, h("td", { colspan: 9 }, "No session is running.")));
  }

  function renderEvents() {
    const items = [
      ...(state.site?.violations || []).map((v) => ({ at: Date.now(), kind: "bad", text: `Node ${v.node} over its limit (${v.dimension}): ${num(v.load)} > ${num(v.limit)}` })),
      ...state.violations.map((v) => ({ at: v.at, kind: "bad", text: `${v.key}: violation — ${v.text}` })),
      ...Object.entries(state.verdicts).filter(([, v]) => v.verdict !== "applied")
        .map(([key, v]) => ({ at: v.at, kind: "warn", text: `${key}: verification ${v.verdict}${v.detail ? ` — ${v.detail}` : ""}` })),
    ].sort((a, b) => b.at - a.at).slice(0, 30);
    replace(eventsList, items.length ? items.map((item) => h("li", { class: item.kind },
      badge(item.kind === "bad" ? "✗" : "!", item.kind), " ", item.at ? `${formatTime(tz, item.at, { seconds: true })} ` : "", item.text))
      : h("li", {}, "Nothing to report: every verification applied, no violation."));
    replace(noticesBox, state.notices.length ? h("details", {},
      h("summary", {}, `Site cap notices (${state.notices.length} latest)`),
      h("ul", { class: "events" }, [...state.notices].reverse().map((text) => h("li", { class: "warn" }, badge("!", "warn"), " ", text))))
      : null);
  }

  const refreshSoon = debounce(refresh, 150);
  const reloadSite = debounce(async () => {
    if (!summary) return;
    state.site = await api.get(`/sites/${encodeURIComponent(siteId)}`);
    state.notices = state.site.notices || [];
    refresh();
  }, 500);
  const limitReloads = new Map();

  // ---- live ----
  const mine = (message) => stations.has(message.station);
  const offs = [
    stream.on("meter", (message) => {
      if (!mine(message)) return;
      const key = `${message.station}/${message.evse}`;
      state.latest[key] = readSamples(message.data.samples, state.latest[key] || {});
      const loads = nodeLoads(topo, currents());
      const t = state.latest[key].at || Date.parse(message.at);
      const end = Math.max(Date.now(), t);
      chart.setWindow(end - state.range, end);
      PHASES.forEach((p, i) => chart.append(p, t, loads[rootNode][i]));
      refreshSoon();
    }),
    stream.on("allocation", (message) => {
      if (!summary || message.site !== siteId) return;
      state.site = { ...state.site, limits: { ...state.site.limits, ...Object.fromEntries(Object.entries(message.data.limits)
        .map(([node, lim]) => [node, { ...(state.site.limits[node] || {}), ...lim }])) } };
      for (const [key, alloc] of Object.entries(message.data.evses)) {
        state.site.evses[key] = { ...(state.site.evses[key] || {}), allocation: alloc, session: true };
      }
      refreshSoon();
      reloadSite();
    }),
    stream.on("session", (message) => { if (mine(message)) reloadEvses(message.station); }),
    stream.on("status", (message) => { if (mine(message)) reloadEvses(message.station); }),
    stream.on("connection", async (message) => {
      if (!mine(message)) return;
      stations.set(message.station, await api.get(`/stations/${encodeURIComponent(message.station)}`));
      refreshSoon();
    }),
    stream.on("limit", (message) => {
      if (!mine(message)) return;
      if (!limitReloads.has(message.station)) limitReloads.set(message.station, debounce(() => loadLimits(message.station), 400));
      limitReloads.get(message.station)();
    }),
    stream.on("verdict", (message) => {
      if (!mine(message)) return;
      state.verdicts[`${message.station}/${message.evse ?? 0}`] = { verdict: message.data.verdict, at: Date.parse(message.at), detail: message.data.reason };
      refreshSoon();
    }),
    stream.on("violation", (message) => {
      if (!mine(message)) return;
      state.violations.unshift({ key: `${message.station}/${message.evse}`, at: Date.parse(message.at), text: message.data.description });
      refreshSoon();
    }),
    stream.on("resync", () => { loadHistory(); reloadSite(); }),
  ];

  refresh();
  await Promise.all([loadHistory(), ...[...stations.keys()].flatMap((id) => [loadLimits(id), loadVerdicts(id)])]);
  return () => offs.forEach((off) => off());
}
