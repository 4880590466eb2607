// The live stream (/api/v1/stream): one WebSocket for the whole UI, authenticated by a first message (so the
// token never appears in a URL), reconnecting by itself with exponential backoff and jitter. Pages subscribe to
// event types; after a reconnect or a `gap` (events dropped for a slow reader) they get a `resync` to re-read
// the state over HTTP. The indicator in the header shows the state in words, not only in colour.

import { token } from "./auth.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

export class LiveStream {
  constructor({ onState = () => {}, onUnauthorized = () => {} } = {}) {
    this.handlers = new Map();
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.connectedOnce = false;
    this.state = "idle";
    this.events = 0;
  }

  /** Call `fn(message)` for each event of `type` ("meter", "limit" …, "*" for all, "resync"); returns an unsubscribe. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  emit(type, message) {
    for (const key of [type, "*"]) {
      for (const fn of this.handlers.get(key) || []) {
        try {
          fn(message);
        } catch (error) {
          console.error("stream handler failed", error);
        }
      }
    }
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
    this.setState("idle");
  }

  connect() {
    const t = token();
    if (!t || this.stopped) return;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/stream`);
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token: t })));
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "ready") {
      const again = this.connectedOnce;
      this.connectedOnce = true;
      this.attempt = 0;
      this.setState("live");
      if (again) this.emit("resync", { reason: "reconnected" });
      return;
    }
    if (message.type === "gap") {
      this.emit("resync", { reason: "gap", dropped: message.dropped });
      return;
    }
    if (message.type === "error") {
      this.lastError = message;
      return;
    }
    this.events += 1;
    this.emit(message.type, message);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stopped) return;
    if (event.code === 4401) {
      this.stopped = true;
      this.setState("refused", "the token was not accepted");
      this.onUnauthorized();
      return;
    }
    if (event.code === 4403) {
      this.stopped = true;
      this.setState("refused", "the grant does not allow the stream");
      return;
    }
    this.attempt += 1;
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (this.attempt - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.setState("waiting", `retrying in ${Math.ceil(delay / 1000)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Close the socket as a network failure would (for trying the reconnect by hand: wattcapStream.drop()). */
  drop() {
    this.socket?.close(4000, "dropped by the page");
  }
}

const LABELS = {
  idle: "Live: not connected",
  connecting: "Live: connecting…",
  reconnecting: "Live: reconnecting…",
  live: "Live: connected",
  waiting: "Live: disconnected",
  refused: "Live: refused",
};

export function showState(element, state, detail) {
  element.dataset.state = state;
  element.querySelector(".label").textContent = LABELS[state] + (detail ? ` (${detail})` : "");
}
