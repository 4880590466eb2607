// The schedule drawn as levels over time, edited by dragging: period boundaries left and right (snapped to
// 15 min), levels up and down (snapped to 0.1 A or 100 W). Double-click adds a boundary. Every handle is a
// focusable slider: arrow keys move the selected boundary or level (Shift: 1 h or 1 A / 1 kW), Delete removes
// the selected boundary, Insert or "+" splits the selected period.

import { h, limitText, num, s } from "../dom.js";
import { linear, niceMax, timeAxis, valueAxis, valueTicks } from "../charts/axes.js";
import { formatTime, offsetClock } from "../time.js";
import { SNAP_S, addBoundary, limitStep, middleOf, moveBoundary, removeBoundary, setLimit } from "./schedule.js";

const M = { left: 56, right: 18, top: 22, bottom: 30 };
const HEIGHT = 260;

export class ScheduleCanvas {
  /** `onChange(periods, selected)` gets every edit; `selected` is {type: "boundary"|"level", index}. */
  constructor({ label, onChange, readOnly = false }) {
    this.onChange = onChange;
    this.readOnly = readOnly;
    this.svg = s("svg", { class: "chart editor-canvas", role: "group", "aria-label": label });
    this.element = h("figure", { class: "chart-wrap" }, this.svg);
    this.config = null;
    this.drag = null;
    this.ymax = 0;
    this.svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    this.svg.addEventListener("pointercancel", (e) => this.pointerUp(e));
    this.svg.addEventListener("dblclick", (e) => this.doubleClick(e));
    this.svg.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => this.config && this.render()).observe(this.element);
  }

  /** `config`: {periods, unit, end (s), start (ms of second 0, or null for a Relative schedule), tz, selected, hint}. */
  update(config) {
    this.config = config;
    this.render();
  }

  describeTime(seconds) {
    const { start, tz } = this.config;
    return start === null ? offsetClock(seconds) : `${formatTime(tz, start + seconds * 1000, { date: true })} (${offsetClock(seconds)})`;
  }

  render() {
    const { periods, unit, end, start, tz, selected, hint } = this.config;
    const width = Math.max(480, this.element.clientWidth || 800);
    const focused = this.svg.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const top = Math.max(...periods.map((p) => p.limit), hint || 0, unit === "W" ? 1000 : 6);
    if (top > this.ymax * 0.92 || this.ymax === 0 || this.unit !== unit) this.ymax = niceMax(top * 1.25);
    this.unit = unit;
    const x = linear(0, end, M.left, width - M.right);
    const y = linear(0, this.ymax, HEIGHT - M.bottom, M.top);
    this.x = x;
    this.y = y;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", HEIGHT);
    this.svg.replaceChildren();
    const axes = s("g", { class: "axes", "aria-hidden": "true" });
    valueAxis(axes, y, { x: M.left, x2: width - M.right, unit, ticks: valueTicks(this.ymax) });
    if (start !== null) {
      timeAxis(axes, linear(start, start + end * 1000, M.left, width - M.right), { tz, y: HEIGHT - M.bottom, top: M.top, maxTicks: 12 });
    } else {
      const step = end > 2 * 86400 ? 86400 : end > 43200 ? 7200 : 3600;
      axes.append(s("line", { class: "axis", x1: M.left, x2: width - M.right, y1: HEIGHT - M.bottom, y2: HEIGHT - M.bottom }));
      for (let t = step; t < end; t += step) {
        axes.append(s("line", { class: "grid", x1: x(t), x2: x(t), y1: M.top, y2: HEIGHT - M.bottom }));
        axes.append(s("text", { class: "tick", x: x(t), y: HEIGHT - M.bottom + 14, "text-anchor": "middle" }, offsetClock(t)));
      }
    }
    this.svg.append(axes);
    this.svg.append(s("rect", { class: "canvas-bg", x: M.left, y: M.top, width: width - M.left - M.right,
      height: HEIGHT - M.top - M.bottom }));

    const areas = s("g", { class: "areas", "aria-hidden": "true" });
    const levels = s("g", { class: "levels" });
    const bounds = s("g", { class: "boundaries" });
    periods.forEach((p, i) => {
      const stop = i + 1 < periods.length ? periods[i + 1].startPeriod : end;
      const x0 = x(p.startPeriod);
      const x1 = x(stop);
      const py = y(p.limit);
      areas.append(s("rect", { class: "period-area", x: x0, y: py, width: Math.max(0, x1 - x0), height: HEIGHT - M.bottom - py }));
      const isSel = selected?.type === "level" && selected.index === i;
      const text = `${limitText(p.limit, unit)} from ${this.describeTime(p.startPeriod)} to ${this.describeTime(stop)}`;
      levels.append(s("g", {
        class: `level-handle${isSel ? " selected" : ""}`, tabindex: this.readOnly ? null : 0, role: "slider",
        "data-handle": "level", "data-index": i, "data-key": `level-${i}`,
        "aria-label": `Period ${i + 1} limit`, "aria-valuemin": 0, "aria-valuemax": this.ymax, "aria-valuenow": p.limit,
        "aria-valuetext": text, "aria-orientation": "vertical",
      }, s("title", {}, text),
      s("line", { class: "hit", x1: x0, x2: x1, y1: py, y2: py }),
      s("line", { class: "level", x1: x0, x2: x1, y1: py, y2: py }),
      x1 - x0 > 40 ? s("text", { class: "level-label", x: (x0 + x1) / 2, y: py - 6, "text-anchor": "middle" }, `${num(p.limit)} ${unit}`) : null));
      if (i === 0) {
        bounds.append(s("line", { class: "start-line", x1: x0, x2: x0, y1: M.top, y2: HEIGHT - M.bottom }));
        return;
      }
      const bSel = selected?.type === "boundary" && selected.index === i;
      const bText = `starts ${this.describeTime(p.startPeriod)}`;
      bounds.append(s("g", {
        class: `boundary-handle${bSel ? " selected" : ""}`, tabindex: this.readOnly ? null : 0, role: "slider",
        "data-handle": "boundary", "data-index": i, "data-key": `boundary-${i}`,
        "aria-label": `Boundary ${i}: start of period ${i + 1}`, "aria-valuemin": 0, "aria-valuemax": end,
        "aria-valuenow": p.startPeriod, "aria-valuetext": bText,
      }, s("title", {}, `Period ${i + 1} ${bText}`),
      s("rect", { class: "hit", x: x0 - 7, y: M.top, width: 14, height: HEIGHT - M.top - M.bottom }),
      s("line", { class: "boundary", x1: x0, x2: x0, y1: M.top, y2: HEIGHT - M.bottom }),
      s("rect", { class: "grip", x: x0 - 5, y: M.top - 12, width: 10, height: 12, rx: 2 })));
    });
    this.svg.append(areas, levels, bounds);
    if (focused) this.svg.querySelector(`[data-key="${focused}"]`)?.focus();
  }

  emit(periods, selected) {
    this.onChange(periods, selected);
  }

  secondsAt(event) {
    const box = this.svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * this.svg.viewBox.baseVal.width;
    return this.x.invert(px);
  }

  valueAt(event) {
    const box = this.svg.getBoundingClientRect();
    const py = ((event.clientY - box.top) / box.height) * this.svg.viewBox.baseVal.height;
    return this.y.invert(py);
  }

  pointerDown(event) {
    if (this.readOnly) return;
    const handle = event.target.closest("[data-handle]");
    if (!handle) return;
    event.preventDefault();
    const index = Number(handle.dataset.index);
    const type = handle.dataset.handle;
    this.drag = { type, index, id: event.pointerId };
    this.svg.setPointerCapture(event.pointerId);
    handle.focus();
    this.emit(this.config.periods, { type, index });
  }

  pointerMove(event) {
    if (!this.drag || event.pointerId !== this.drag.id) return;
    const { periods, unit, end } = this.config;
    const { type, index } = this.drag;
    const next = type === "boundary"
      ? moveBoundary(periods, index, this.secondsAt(event), end)
      : setLimit(periods, index, Math.min(Math.max(this.valueAt(event), 0), this.ymax), unit);
    const changed = next.some((p, i) => p.startPeriod !== periods[i].startPeriod || p.limit !== periods[i].limit);
    if (changed) this.emit(next, { type, index });
  }

  pointerUp(event) {
    if (!this.drag || event.pointerId !== this.drag.id) return;
    this.svg.releasePointerCapture(event.pointerId);
    this.drag = null;
  }

  doubleClick(event) {
    if (this.readOnly || event.target.closest("[data-handle]")) return;
    const added = addBoundary(this.config.periods, this.secondsAt(event), this.config.end);
    if (added) this.emit(added.periods, { type: "boundary", index: added.index });
  }

  /** Split the selected period (or the last one) in the middle. */
  addAtSelection() {
    const { periods, end, selected } = this.config;
    const index = selected ? (selected.type === "boundary" ? selected.index : selected.index) : periods.length - 1;
    const added = addBoundary(periods, middleOf(periods, index, end), end);
    if (added) {
      this.emit(added.periods, { type: "boundary", index: added.index });
      this.svg.querySelector(`[data-key="boundary-${added.index}"]`)?.focus();
    }
    return !!added;
  }

  removeSelected() {
    const { periods, selected } = this.config;
    if (!selected || selected.type !== "boundary") return false;
    const next = removeBoundary(periods, selected.index);
    const index = Math.max(0, selected.index - 1);
    this.emit(next, { type: "level", index });
    this.svg.querySelector(`[data-key="level-${index}"]`)?.focus();
    return true;
  }

  key(event) {
    if (this.readOnly) return;
    const handle = event.target.closest("[data-handle]");
    if (!handle) return;
    const { periods, unit, end } = this.config;
    const index = Number(handle.dataset.index);
    const type = handle.dataset.handle;
    let next = null;
    if (type === "boundary" && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      const step = (event.shiftKey ? 4 : 1) * SNAP_S * (event.key === "ArrowLeft" ? -1 : 1);
      next = moveBoundary(periods, index, periods[index].startPeriod + step, end);
    } else if (type === "level" && ["ArrowUp", "ArrowDown", "PageUp", "PageDown"].includes(event.key)) {
      const big = event.shiftKey || event.key.startsWith("Page");
      const step = limitStep(unit) * (big ? 10 : 1) * (event.key === "ArrowDown" || event.key === "PageDown" ? -1 : 1);
      next = setLimit(periods, index, periods[index].limit + step, unit);
    } else if (type === "boundary" && (event.key === "Delete" || event.key === "Backspace")) {
      event.preventDefault();
      this.config.selected = { type, index };
      this.removeSelected();
      return;
    } else if (event.key === "Insert" || event.key === "+") {
      event.preventDefault();
      this.config.selected = { type, index };
      this.addAtSelection();
      return;
    } else {
      return;
    }
    event.preventDefault();
    this.emit(next, { type, index });
  }
}
