// Scales and axes for the hand-written SVG charts: a time axis in the site's time zone (with DST changes
// marked) and a linear value axis.

import { s } from "../dom.js";
import { describeChange, dstChanges, formatTime, localTicks, wall } from "../time.js";

export function linear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = (v) => r0 + (v - d0) * k;
  f.invert = (p) => (k === 0 ? d0 : d0 + (p - r0) / k);
  f.domain = [d0, d1];
  f.range = [r0, r1];
  return f;
}

/** A round upper bound for values up to `max`. */
export function niceMax(max, minimum = 1) {
  const m = Math.max(max, minimum);
  const magnitude = 10 ** Math.floor(Math.log10(m));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= m) return step * magnitude;
  }
  return 10 * magnitude;
}

export function valueTicks(max, count = 4) {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((x) => x * magnitude).find((x) => x >= raw) || raw;
  const ticks = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

/** Time axis along the bottom of [x0, x1] at y, ticks in `tz`; DST changes in the window as labelled lines. */
export function timeAxis(g, x, { tz, y, top, maxTicks = 8 }) {
  const [start, end] = x.domain;
  const { ticks } = localTicks(tz, start, end, maxTicks);
  g.append(s("line", { class: "axis", x1: x.range[0], x2: x.range[1], y1: y, y2: y }));
  for (const tick of ticks) {
    const px = x(tick.at);
    g.append(s("line", { class: tick.day ? "grid grid-day" : "grid", x1: px, x2: px, y1: top, y2: y }));
    const w = wall(tz, tick.at);
    const label = tick.day ? `${w.weekday} ${w.day}` : formatTime(tz, tick.at);
    g.append(s("text", { class: "tick", x: px, y: y + 14, "text-anchor": "middle" }, label));
  }
  const changes = dstChanges(tz, start, end);
  for (const change of changes) {
    const px = x(change.at);
    const text = describeChange(tz, change);
    g.append(s("line", { class: "dst", x1: px, x2: px, y1: top - 4, y2: y }, s("title", {}, text)));
    g.append(s("text", { class: "dst-label", x: px + 3, y: top + 8 }, "DST"));
  }
  return changes;
}

export function valueAxis(g, yScale, { x, x2, unit, ticks }) {
  for (const v of ticks) {
    const py = yScale(v);
    g.append(s("line", { class: "grid", x1: x, x2, y1: py, y2: py }));
    g.append(s("text", { class: "tick", x: x - 6, y: py + 4, "text-anchor": "end" }, `${v}`));
  }
  g.append(s("text", { class: "unit", x: x + 4, y: yScale.range[1] - 4, "text-anchor": "start" }, unit));
}
