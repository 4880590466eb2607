// The stacking preview: one lane per profile layer (purpose) over a window, the composite drawn on top with each
// segment filled with the pattern of the layer that governs it and named in text, the charger's reported
// composite overlaid with the differences marked, and measured draw on the same time axis. A table lists every
// composite segment (the accessible form of the chart, and what a test reads).

import { h, limitText, num, s, watts } from "../dom.js";
import { LAYERS, PURPOSE_ORDER, fillOf, governing, governingText, layerOf, patternDefs } from "../layers.js";
import { formatTime } from "../time.js";
import { linear, niceMax, timeAxis, valueAxis, valueTicks } from "./axes.js";

const LEFT = 172;
const RIGHT = 14;
const LANE = 30;
const PANEL = 170;
const MEASURED = 70;
let counter = 0;

/** The periods of an (annotated or reported) composite as [{from, to, limit, period}] in ms. */
export function segments(composite) {
  if (!composite) return [];
  const t0 = Date.parse(composite.scheduleStart);
  const end = composite.duration ? t0 + composite.duration * 1000 : null;
  const periods = composite.chargingSchedulePeriod || composite.periods || [];
  return periods.map((p, i) => {
    const next = periods[i + 1];
    return { from: t0 + p.startPeriod * 1000, to: next ? t0 + next.startPeriod * 1000 : end, limit: p.limit, period: p };
  }).filter((seg) => seg.to === null || seg.to > seg.from);
}

function layerSegments(layer, t0, end) {
  return layer.periods.map((p, i) => {
    const next = layer.periods[i + 1];
    return { from: t0 + p.startPeriod * 1000, to: next ? t0 + next.startPeriod * 1000 : end, period: p };
  });
}

function valueAt(composite, t) {
  const seg = segments(composite).find((x) => x.from <= t && (x.to === null || t < x.to));
  return seg ? seg.limit : null;
}

/**
 * Render into a new element. `options`: {tz, start, end, composite, alternate (the same composite in the other
 * unit), before (a composite to compare with, drawn dashed), reported (normalised answer), differences
 * ([{from, to, expected, reported}] ms), measured ([[ms, value]] in the composite's unit), measuredPower
 * ([[ms, W]]), title}.
 */
export function stackChart(options) {
  const { tz, start, end, composite } = options;
  const prefix = `st${++counter}`;
  const unit = composite.chargingRateUnit;
  const altUnit = options.alternate?.chargingRateUnit;
  const layers = [...(composite.layers || [])].sort((a, b) => PURPOSE_ORDER.indexOf(a.purpose)
    - PURPOSE_ORDER.indexOf(b.purpose) || a.evseId - b.evseId);
  const width = options.width || 900;
  const lanesHeight = layers.length * LANE;
  const panelTop = 16 + lanesHeight + (layers.length ? 14 : 0);
  const panelBottom = panelTop + PANEL;
  const measuredTop = panelBottom + 30;
  const hasPower = options.measuredPower && options.measuredPower.length > 0;
  const height = (hasPower ? measuredTop + MEASURED : panelBottom) + 26;
  const x = linear(start, end, LEFT, width - RIGHT);
  const clip = (t) => Math.min(Math.max(t ?? end, start), end);

  const svg = s("svg", { class: "chart stackchart", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "group", "aria-label": options.title || "Stacking preview" });
  svg.append(patternDefs(prefix));
  const tooltip = h("div", { class: "tooltip", role: "status", hidden: true });
  const show = (event, lines) => {
    tooltip.replaceChildren(...lines.map((line) => h("div", {}, line)));
    tooltip.hidden = false;
    const box = svg.getBoundingClientRect();
    const px = event.clientX !== undefined ? event.clientX - box.left : x(start) + 20;
    tooltip.style.left = `${Math.min(box.width - 260, Math.max(0, px + 12))}px`;
    tooltip.style.top = `${event.clientY !== undefined ? event.clientY - box.top + 12 : panelTop}px`;
  };
  const hide = () => { tooltip.hidden = true; };
  const interactive = (g, lines) => {
    g.setAttribute("tabindex", "0");
    g.addEventListener("pointerenter", (e) => show(e, lines));
    g.addEventListener("pointermove", (e) => show(e, lines));
    g.addEventListener("pointerleave", hide);
    g.addEventListener("focus", () => show({ clientX: undefined }, lines));
    g.addEventListener("blur", hide);
  };

  // lanes: one per layer
  const t0 = Date.parse(composite.scheduleStart);
  const compositeEnd = t0 + composite.duration * 1000;
  layers.forEach((layer, index) => {
    const top = 16 + index * LANE;
    const style = layerOf(layer.purpose);
    const lane = s("g", { class: "lane", "data-purpose": layer.purpose });
    lane.append(s("text", { class: "lane-label", x: 6, y: top + LANE / 2 + 4 },
      `${style.short} ${layer.purpose.replace("ChargingStation", "Station").replace("Profile", "")}${layer.evseId ? ` · EVSE ${layer.evseId}` : " · station"}`));
    lane.append(s("line", { class: "lane-base", x1: LEFT, x2: width - RIGHT, y1: top + LANE - 3, y2: top + LANE - 3 }));
    for (const seg of layerSegments(layer, t0, compositeEnd)) {
      const x0 = x(clip(seg.from));
      const x1 = x(clip(seg.to));
      if (x1 - x0 < 0.5 || seg.period.limit === null) continue;
      const p = seg.period;
      const text = `${limitText(p.limit, p.unit || unit)}${p.source ? ` · #${p.source.profileId}` : ""}`;
      const g = s("g", { class: "lane-seg" },
        s("rect", { x: x0, y: top + 3, width: x1 - x0, height: LANE - 7, fill: fillOf(prefix, layer.purpose),
          stroke: style.colour }),
        x1 - x0 > 70 ? s("text", { x: x0 + 4, y: top + LANE / 2 + 3 }, text) : null);
      interactive(g, [`${layer.purpose}${layer.evseId ? ` on EVSE ${layer.evseId}` : ""}`,
        `${formatTime(tz, seg.from, { date: true })} – ${formatTime(tz, seg.to ?? end, { date: true })}`,
        `limit ${limitText(p.limit, p.unit || unit)}${p.numberPhases ? ` × ${p.numberPhases} phases` : ""}`,
        p.source ? `profile #${p.source.profileId}, stack level ${p.source.stackLevel}, EVSE ${p.source.evseId}` : ""]);
      lane.append(g);
    }
    svg.append(lane);
  });

  // the composite panel
  const compSegs = segments(composite);
  let max = 1;
  for (const seg of compSegs) if (seg.to === null || seg.to > start) max = Math.max(max, seg.limit);
  for (const seg of segments(options.before)) max = Math.max(max, seg.limit);
  for (const seg of segments(options.reported)) max = Math.max(max, seg.limit);
  for (const [, v] of options.measured || []) max = Math.max(max, v);
  max = niceMax(max * 1.1);
  const y = linear(0, max, panelBottom, panelTop + 8);
  const axes = s("g", { class: "axes", "aria-hidden": "true" });
  valueAxis(axes, y, { x: LEFT, x2: width - RIGHT, unit, ticks: valueTicks(max) });
  const changes = timeAxis(axes, x, { tz, y: hasPower ? measuredTop + MEASURED : panelBottom, top: 12 });
  svg.append(axes);
  svg.append(s("text", { class: "lane-label", x: 6, y: panelTop + 14 }, "Composite"));
  svg.append(s("text", { class: "lane-sub", x: 6, y: panelTop + 30 }, "(what the charger"));
  svg.append(s("text", { class: "lane-sub", x: 6, y: panelTop + 43 }, "should do)"));

  const comp = s("g", { class: "composite" });
  compSegs.forEach((seg, index) => {
    const x0 = x(clip(seg.from));
    const x1 = x(clip(seg.to));
    if (x1 - x0 < 0.5) return;
    const purpose = governing(seg.period);
    const style = layerOf(purpose);
    const alt = options.alternate ? valueAt(options.alternate, Math.max(seg.from, start)) : null;
    const label = `${formatTime(tz, Math.max(seg.from, start), { date: true })} – ${formatTime(tz, clip(seg.to), { date: true })}: `
      + `${limitText(seg.limit, unit)}${alt !== null ? ` (${limitText(alt, altUnit)})` : ""}, governed by ${governingText(seg.period)}`;
    const g = s("g", { class: "seg", "data-governing": purpose, "data-index": index, "aria-label": label },
      s("title", {}, label),
      s("rect", { x: x0, y: y(seg.limit), width: x1 - x0, height: Math.max(0, panelBottom - y(seg.limit)),
        fill: fillOf(prefix, purpose) }),
      s("line", { class: "seg-top", x1: x0, x2: x1, y1: y(seg.limit), y2: y(seg.limit), stroke: style.colour }),
      x1 - x0 > 46 ? s("text", { class: "seg-label", x: x0 + 4, y: Math.min(panelBottom - 4, y(seg.limit) + 14) },
        `${style.short} ${num(seg.limit)}`) : null);
    interactive(g, [
      `${formatTime(tz, Math.max(seg.from, start), { date: true })} – ${formatTime(tz, clip(seg.to), { date: true })}`,
      `limit ${limitText(seg.limit, unit)}${alt !== null ? ` = ${limitText(alt, altUnit)}` : ""}`
        + `${seg.period.numberPhases ? ` × ${seg.period.numberPhases} phases` : ""}`,
      `governed by ${governingText(seg.period)}`,
      seg.period.periodTransformed ? "converted from the other unit by the engine" : "",
    ].filter(Boolean));
    comp.append(g);
  });
  svg.append(comp);

  const stepLine = (composite2, className, label) => {
    const points = [];
    for (const seg of segments(composite2)) {
      const x0 = x(clip(seg.from));
      const x1 = x(clip(seg.to));
      if (x1 - x0 < 0.1) continue;
      points.push(`${x0.toFixed(1)},${y(seg.limit).toFixed(1)}`, `${x1.toFixed(1)},${y(seg.limit).toFixed(1)}`);
    }
    if (points.length) svg.append(s("polyline", { class: `step ${className}`, points: points.join(" ") }, s("title", {}, label)));
  };
  if (options.before) stepLine(options.before, "before", "before the change");
  if (options.reported && options.reported.chargingRateUnit === unit) stepLine(options.reported, "reported", "reported by the charger");
  for (const diff of options.differences || []) {
    const x0 = x(clip(diff.from));
    const x1 = Math.max(x0 + 3, x(clip(diff.to)));
    const text = `Difference ${formatTime(tz, diff.from)}–${formatTime(tz, diff.to)}: expected ${diff.expected ?? "no limit"}, `
      + `reported ${diff.reported ?? "no limit"} ${unit}`;
    const g = s("g", { class: "diff", "aria-label": text }, s("title", {}, text),
      s("rect", { x: x0, y: panelTop, width: x1 - x0, height: PANEL }),
      s("text", { x: x0 + 2, y: panelTop + 12 }, "≠"));
    interactive(g, [text]);
    svg.append(g);
  }
  if (options.measured && options.measured.length) {
    const pts = options.measured.filter(([t]) => t >= start && t <= end)
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    svg.append(s("polyline", { class: "measured", points: pts.join(" ") }, s("title", {}, "measured")));
  }
  const now = Date.now();
  if (now > start && now < end) {
    svg.append(s("line", { class: "now", x1: x(now), x2: x(now), y1: 10, y2: panelBottom }));
    svg.append(s("text", { class: "now-label", x: x(now) + 3, y: 10 }, "now"));
  }
  if (hasPower) {
    let pmax = 1000;
    for (const [, v] of options.measuredPower) pmax = Math.max(pmax, v);
    pmax = niceMax(pmax * 1.1);
    const py = linear(0, pmax / 1000, measuredTop + MEASURED, measuredTop + 6);
    const g = s("g", { class: "measured-lane" });
    valueAxis(g, py, { x: LEFT, x2: width - RIGHT, unit: "kW", ticks: valueTicks(pmax / 1000, 2) });
    g.append(s("text", { class: "lane-label", x: 6, y: measuredTop + 20 }, "Measured power"));
    const pts = options.measuredPower.filter(([t]) => t >= start && t <= end)
      .map(([t, v]) => `${x(t).toFixed(1)},${py(v / 1000).toFixed(1)}`);
    g.append(s("polyline", { class: "measured", points: pts.join(" ") }));
    svg.append(g);
  }

  const legendItems = [h("li", {}, h("span", { class: "key key-composite" }), "composite (expected)")];
  if (options.before) legendItems.push(h("li", {}, h("span", { class: "key key-before" }), "before the change"));
  if (options.reported) {
    legendItems.push(h("li", {}, h("span", { class: "key key-reported" }),
      options.reported.chargingRateUnit === unit ? "reported by the charger"
        : `reported in ${options.reported.chargingRateUnit} (not drawn)`));
  }
  if (options.differences?.length) legendItems.push(h("li", {}, h("span", { class: "key key-diff" }), "≠ differs"));
  if (options.measured?.length) legendItems.push(h("li", {}, h("span", { class: "key key-measured" }), "measured"));
  for (const change of changes) legendItems.push(h("li", { class: "dst-note" }, "⚠ ", h("span", {}, changeText(tz, change))));

  const table = segmentTable(compSegs, { tz, start, end, unit, alternate: options.alternate, altUnit });
  return h("div", { class: "stack" },
    h("figure", { class: "chart-wrap" }, svg, tooltip),
    h("ul", { class: "chart-keys" }, legendItems),
    table);
}

function changeText(tz, change) {
  const forward = change.to > change.from;
  return `DST change ${formatTime(tz, change.at, { date: true })}: local clocks go ${forward ? "forward" : "back"}; `
    + "profiles stay in UTC";
}

function segmentTable(compSegs, { tz, start, end, unit, alternate, altUnit }) {
  const rows = compSegs.filter((seg) => (seg.to === null || seg.to > start) && seg.from < end).map((seg) => {
    const purpose = governing(seg.period);
    const alt = alternate ? valueAt(alternate, Math.max(seg.from, start)) : null;
    const aValue = unit === "A" ? seg.limit : altUnit === "A" ? alt : null;
    const wValue = unit === "W" ? seg.limit : altUnit === "W" ? alt : null;
    return h("tr", { "data-governing": purpose },
      h("td", {}, formatTime(tz, Math.max(seg.from, start), { date: true })),
      h("td", {}, formatTime(tz, Math.min(seg.to ?? end, end), { date: true })),
      h("td", { class: "n" }, aValue === null ? "–" : num(aValue)),
      h("td", { class: "n" }, wValue === null ? "–" : watts(wValue)),
      h("td", { class: "governing" }, h("b", {}, layerOf(purpose).short), " ", purpose === "none" ? LAYERS.none.label : purpose),
      h("td", {}, seg.period.governedBy?.map((r) => `#${r.profileId} (L${r.stackLevel}, EVSE ${r.evseId})`).join(", ") || "–"));
  });
  return h("table", { class: "segments" },
    h("caption", {}, "Composite segments (times in ", tz, ")"),
    h("thead", {}, h("tr", {}, ["From", "To", "A", "W", "Governing layer", "Profiles"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows));
}
