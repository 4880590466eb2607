// Building DOM and SVG without a framework: h() for HTML, s() for SVG, and a few formatters.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the UI's content security policy
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("button", {class: "primary", onclick: f}, "Apply"). */
export function h(tag, attrs = {}, ...children) {
  return apply(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs = {}, ...children) {
  return apply(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return apply(el, {}, children);
}

/** A number with at most `digits` fraction digits, without trailing zeros. */
export function num(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits, useGrouping: false });
}

export function amps(value) {
  return value === null || value === undefined ? "–" : `${num(value, 1)} A`;
}

export function watts(value) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 1000 ? `${num(value / 1000, 2)} kW` : `${num(value, 0)} W`;
}

export function limitText(value, unit) {
  return unit === "W" ? watts(value) : amps(value);
}

/** A small status badge whose meaning is carried by its text, not only its colour. */
export function badge(text, kind = "neutral", title = null) {
  return h("span", { class: `badge badge-${kind}`, title }, text);
}

export function verdictBadge(verdict) {
  const kind = { applied: "ok", mismatch: "bad", rejected: "bad", violation: "bad", unsupported: "warn",
    no_answer: "warn" }[verdict] || "neutral";
  const mark = kind === "ok" ? "✓ " : kind === "bad" ? "✗ " : kind === "warn" ? "! " : "";
  return badge(`${mark}${verdict}`, kind);
}

/** Call `fn` at most once per `ms`, with the latest arguments, trailing. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Run `fn` at most once per animation frame. */
export function perFrame(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fn(); });
  };
}

export function errorBox(error) {
  return h("div", { class: "error", role: "alert" }, error?.message || String(error));
}
