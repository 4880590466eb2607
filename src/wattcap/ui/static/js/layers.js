// How each profile purpose (a layer of the stack) is drawn: a colour from a palette readable with colour-vision
// deficiencies, a fill pattern, and a short text label, so colour is never the only thing that tells them apart.

import { h, s } from "./dom.js";

export const LAYERS = {
  ChargingStationMaxProfile: { label: "Station maximum", short: "MAX", colour: "#D55E00", pattern: "hatch" },
  ChargingStationExternalConstraints: { label: "External constraint", short: "EXT", colour: "#CC79A7", pattern: "cross" },
  TxDefaultProfile: { label: "Default (TxDefault)", short: "DEF", colour: "#0072B2", pattern: "dots" },
  TxProfile: { label: "Session (TxProfile)", short: "TX", colour: "#009E73", pattern: "vlines" },
  none: { label: "Station's own limit (no profile)", short: "—", colour: "#7a7f87", pattern: "plain" },
};

export const PURPOSE_ORDER = ["ChargingStationMaxProfile", "ChargingStationExternalConstraints", "TxDefaultProfile",
  "TxProfile"];

export function layerOf(purpose) {
  return LAYERS[purpose] || LAYERS.none;
}

/** The purpose that governs a composite period (its first attribution), or "none" (the station's own limit). */
export function governing(period) {
  return period.governedBy && period.governedBy.length ? period.governedBy[0].purpose : "none";
}

/** "ChargingStationMaxProfile #20000 (stack level 1, EVSE 0)" for each profile that sets a period. */
export function governingText(period) {
  if (!period.governedBy || !period.governedBy.length) return "Station's own limit (no profile)";
  return period.governedBy.map((r) => `${r.purpose} #${r.profileId} (stack level ${r.stackLevel}, EVSE ${r.evseId})`)
    .join(" + ");
}

/** SVG <defs> with one pattern per purpose; ids are prefixed so several charts can share a page. */
export function patternDefs(prefix) {
  const defs = s("defs");
  for (const [key, layer] of Object.entries(LAYERS)) {
    const id = `${prefix}-${key}`;
    const pattern = s("pattern", { id, width: 8, height: 8, patternUnits: "userSpaceOnUse" });
    pattern.append(s("rect", { width: 8, height: 8, fill: layer.colour, "fill-opacity": 0.22 }));
    const stroke = { stroke: layer.colour, "stroke-width": 1.6 };
    if (layer.pattern === "hatch") pattern.append(s("path", { d: "M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4", ...stroke }));
    if (layer.pattern === "cross") {
      pattern.append(s("path", { d: "M0,0 l8,8 M8,0 l-8,8", ...stroke, "stroke-width": 1.1 }));
    }
    if (layer.pattern === "dots") pattern.append(s("circle", { cx: 4, cy: 4, r: 1.6, fill: layer.colour }));
    if (layer.pattern === "vlines") pattern.append(s("path", { d: "M2,0 v8 M6,0 v8", ...stroke, "stroke-width": 1.1 }));
    defs.append(pattern);
  }
  return defs;
}

export function fillOf(prefix, purpose) {
  return `url(#${prefix}-${LAYERS[purpose] ? purpose : "none"})`;
}

/** A legend: swatch (pattern) + short label + name, for the purposes given. */
export function legend(purposes = [...PURPOSE_ORDER, "none"]) {
  const prefix = `lg${Math.random().toString(36).slice(2, 7)}`;
  return h("ul", { class: "legend", "aria-label": "Layers" }, purposes.map((purpose) => {
    const layer = layerOf(purpose);
    const swatch = s("svg", { width: 26, height: 14, "aria-hidden": "true" }, patternDefs(prefix),
      s("rect", { x: 0.5, y: 0.5, width: 25, height: 13, fill: fillOf(prefix, purpose), stroke: layer.colour }));
    return h("li", {}, swatch, h("b", {}, layer.short), " ", layer.label);
  }));
}
