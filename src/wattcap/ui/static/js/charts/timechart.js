// A time-series chart in hand-written SVG: lines or steps over a time axis in the site's time zone, horizontal
// reference lines (a cap, a safe share), a hover read-out, and cheap live appends (one re-render per frame at
// most; each series is one <polyline>, so a thousand points per series stay smooth).

import { h, num, perFrame, s } from "../dom.js";
import { formatTime } from "../time.js";
import { linear, niceMax, timeAxis, valueAxis, valueTicks } from "./axes.js";

const MARGIN = { left: 46, right: 12, top: 14, bottom: 24 };

function bisect(points, t) {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class TimeChart {
  /** `options`: {tz, unit, label (for screen readers), height, minMax, live: keep the window ending now}. */
  constructor(options) {
    this.options = { height: 220, minMax: 10, ...options };
    this.series = new Map();
    this.refs = [];
    this.start = Date.now() - 3600_000;
    this.end = Date.now();
    this.svg = s("svg", { class: "chart timechart", role: "img", "aria-label": options.label });
    this.tooltip = h("div", { class: "tooltip", role: "status", hidden: true });
    this.element = h("figure", { class: "chart-wrap" }, this.svg, this.tooltip);
    this.scheduled = perFrame(() => this.render());
    this.svg.addEventListener("pointermove", (event) => this.hover(event));
    this.svg.addEventListener("pointerleave", () => { this.tooltip.hidden = true; this.cursor?.remove(); });
    new ResizeObserver(() => this.scheduled()).observe(this.element);
  }

  setWindow(start, end) {
    this.start = start;
    this.end = end;
    this.scheduled();
  }

  /** Replace a series: {label, points: [[ms, value], …], step: draw as steps, className}. */
  setSeries(key, series) {
    this.series.set(key, { points: [], step: false, ...series });
    this.scheduled();
  }

  /** Append one point; one older than the newest (several stations' clocks) updates the newest instead. */
  append(key, t, value) {
    const series = this.series.get(key);
    if (!series) return;
    const last = series.points[series.points.length - 1];
    if (last && t <= last[0]) last[1] = value;
    else series.points.push([t, value]);
    while (series.points.length > 2 && series.points[1][0] < this.start) series.points.shift();
    this.scheduled();
  }

  /** Horizontal reference lines: [{label, value, className}]. */
  setReferences(refs) {
    this.refs = refs.filter((r) => r.value !== null && r.value !== undefined);
    this.scheduled();
  }

  latest(key) {
    const points = this.series.get(key)?.points || [];
    return points.length ? points[points.length - 1] : null;
  }

  render() {
    const width = Math.max(320, this.element.clientWidth || 640);
    const height = this.options.height;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.svg.replaceChildren();
    const x = linear(this.start, this.end, MARGIN.left, width - MARGIN.right);
    let max = this.options.minMax;
    for (const series of this.series.values()) {
      for (const [t, v] of series.points) if (t >= this.start && v > max) max = v;
    }
    for (const ref of this.refs) max = Math.max(max, ref.value);
    max = niceMax(max * 1.08);
    const y = linear(0, max, height - MARGIN.bottom, MARGIN.top);
    this.x = x;
    this.y = y;
    const axes = s("g", { class: "axes", "aria-hidden": "true" });
    valueAxis(axes, y, { x: MARGIN.left, x2: width - MARGIN.right, unit: this.options.unit, ticks: valueTicks(max) });
    timeAxis(axes, x, { tz: this.options.tz, y: height - MARGIN.bottom, top: MARGIN.top });
    this.svg.append(axes);
    for (const ref of this.refs) {
      const py = y(ref.value);
      this.svg.append(s("g", { class: `ref ${ref.className || ""}` },
        s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: py, y2: py }),
        s("text", { x: width - MARGIN.right - 4, y: py - 4, "text-anchor": "end" }, `${ref.label} ${num(ref.value)}`)));
    }
    const plot = s("g", { class: "series" });
    for (const [key, series] of this.series) {
      const coords = [];
      let previous = null;
      for (const [t, v] of series.points) {
        if (t < this.start && previous === null) { previous = [t, v]; continue; }
        const px = x(Math.max(t, this.start)).toFixed(1);
        const py = y(v).toFixed(1);
        if (previous !== null && coords.length === 0) coords.push(`${x(this.start).toFixed(1)},${y(previous[1]).toFixed(1)}`);
        if (series.step && coords.length) coords.push(`${px},${coords[coords.length - 1].split(",")[1]}`);
        coords.push(`${px},${py}`);
        previous = [t, v];
      }
      plot.append(s("polyline", { class: `line ${series.className || ""}`, points: coords.join(" "),
        "data-series": key }));
    }
    this.svg.append(plot);
  }

  hover(event) {
    if (!this.x) return;
    const box = this.svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * this.svg.viewBox.baseVal.width;
    const t = this.x.invert(px);
    if (t < this.start || t > this.end) return;
    const lines = [formatTime(this.options.tz, t, { date: true, seconds: true })];
    for (const series of this.series.values()) {
      const i = bisect(series.points, t);
      if (i >= 0) lines.push(`${series.label}: ${num(series.points[i][1])} ${this.options.unit}`);
    }
    this.tooltip.replaceChildren(...lines.map((line) => h("div", {}, line)));
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(box.width - 180, Math.max(0, event.clientX - box.left + 12))}px`;
    this.cursor?.remove();
    this.cursor = s("line", { class: "cursor", x1: px, x2: px, y1: MARGIN.top, y2: this.y.range[0] });
    this.svg.append(this.cursor);
  }
}

/** The bucket width (s) that keeps a range at most `points` buckets per series (the API's widths). */
export function bucketFor(rangeMs, points = 1000) {
  const widths = [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 14400, 86400];
  const seconds = rangeMs / 1000;
  return widths.find((w) => seconds / w <= points) || widths[widths.length - 1];
}
