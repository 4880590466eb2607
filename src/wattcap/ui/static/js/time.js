// Times: profiles and the API are in UTC; the UI shows them in the site's time zone (IANA name, e.g.
// Europe/Berlin) and says so, and calls out DST changes inside a window, where local clock times jump.

const formatters = new Map();

function formatter(tz, options) {
  const key = tz + JSON.stringify(options);
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.DateTimeFormat("en-GB", { timeZone: tz, hourCycle: "h23", ...options }));
  }
  return formatters.get(key);
}

/** The wall-clock fields of instant `ms` in `tz`. */
export function wall(tz, ms) {
  const out = {};
  const f = formatter(tz, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", weekday: "short" });
  for (const part of f.formatToParts(new Date(ms))) {
    if (part.type !== "literal") out[part.type] = part.type === "weekday" ? part.value : Number(part.value);
  }
  out.hour %= 24;
  return out;
}

/** Minutes `tz` is ahead of UTC at `ms`. */
export function offsetMinutes(tz, ms) {
  const w = wall(tz, ms);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

export function offsetText(minutes) {
  const sign = minutes < 0 ? "−" : "+";
  const m = Math.abs(minutes);
  return `UTC${sign}${Math.floor(m / 60)}${m % 60 ? `:${String(m % 60).padStart(2, "0")}` : ""}`;
}

/** The UTC instant of a wall-clock time in `tz` (minutes may overflow: 0, 1500 is the next day 01:00). A time
 * skipped by a DST change maps to the instant after the gap; a repeated one to its first occurrence. */
export function wallToUtc(tz, year, month, day, hour = 0, minute = 0) {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const first = offsetMinutes(tz, guess);
  let utc = guess - first * 60000;
  const second = offsetMinutes(tz, utc);
  if (second !== first) {
    const other = guess - second * 60000;
    utc = offsetMinutes(tz, other) === second ? Math.min(utc, other) : Math.max(utc, other);
  }
  return utc;
}

/** Every change of the UTC offset in [start, end): [{at, from, to}] (to the minute). */
export function dstChanges(tz, start, end) {
  const changes = [];
  const step = 3600_000;
  let t = start;
  let before = offsetMinutes(tz, t);
  while (t < end) {
    const next = Math.min(t + step, end);
    const after = offsetMinutes(tz, next);
    if (after !== before) {
      let lo = t;
      let hi = next;
      while (hi - lo > 60_000) {
        const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
        if (mid <= lo) break;
        if (offsetMinutes(tz, mid) === before) lo = mid;
        else hi = mid;
      }
      changes.push({ at: hi, from: before, to: after });
      before = after;
    }
    t = next;
  }
  return changes;
}

export function describeChange(tz, change) {
  const forward = change.to > change.from;
  const local = formatTime(tz, change.at, { date: true });
  return `DST: clocks go ${forward ? "forward" : "back"} at ${local} (${offsetText(change.from)} → ${offsetText(change.to)})`;
}

/** "14:05", or with {date: true} "Tue 25 Nov 14:05", {seconds: true} adds seconds. */
export function formatTime(tz, ms, { date = false, seconds = false } = {}) {
  const w = wall(tz, ms);
  const pad = (n) => String(n).padStart(2, "0");
  let text = `${pad(w.hour)}:${pad(w.minute)}${seconds ? `:${pad(w.second)}` : ""}`;
  if (date) text = `${formatter(tz, { weekday: "short", day: "numeric", month: "short" }).format(new Date(ms))} ${text}`;
  return text;
}

export function formatDate(tz, ms) {
  const w = wall(tz, ms);
  return `${w.year}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

/** "2026-11-25T10:00" in `tz` for a datetime-local input. */
export function toLocalInput(tz, ms) {
  if (ms === null || ms === undefined) return "";
  const w = wall(tz, ms);
  return `${formatDate(tz, ms)}T${String(w.hour).padStart(2, "0")}:${String(w.minute).padStart(2, "0")}`;
}

/** The UTC instant of a datetime-local input's value read in `tz` (null when empty or malformed). */
export function fromLocalInput(tz, value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!m) return null;
  return wallToUtc(tz, +m[1], +m[2], +m[3], +m[4], +m[5]);
}

/** Local midnight to local midnight of the day `date` ("YYYY-MM-DD") in `tz`: 23, 24 or 25 hours. */
export function dayWindow(tz, date) {
  const [y, m, d] = date.split("-").map(Number);
  const start = wallToUtc(tz, y, m, d, 0, 0);
  const end = wallToUtc(tz, y, m, d + 1, 0, 0);
  return { start, end };
}

export const parseIso = (text) => (text ? Date.parse(text) : null);

/** "1 h 30 min" for seconds. */
export function durationText(seconds) {
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m || !parts.length) parts.push(`${m} min`);
  return parts.join(" ");
}

/** "+02:30" for an offset in seconds from a schedule start. */
export function offsetClock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `+${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** Tick instants between start and end, aligned to local clock times in `tz` (so ticks stay on the hour, and day
 * ticks on local midnight, across a DST change). */
export function localTicks(tz, start, end, maxTicks = 8) {
  const span = (end - start) / 60000;
  const steps = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];
  const step = steps.find((m) => span / m <= maxTicks) || steps[steps.length - 1];
  const w = wall(tz, start);
  const ticks = [];
  if (step >= 1440) {
    const days = step / 1440;
    for (let d = 1; ; d += days) {
      const t = wallToUtc(tz, w.year, w.month, w.day + d, 0, 0);
      if (t >= end) break;
      if (t > start) ticks.push({ at: t, day: true });
    }
    return { step, ticks };
  }
  const minuteOfDay = w.hour * 60 + w.minute;
  for (let m = Math.ceil(minuteOfDay / step) * step; ; m += step) {
    const t = wallToUtc(tz, w.year, w.month, w.day, 0, m);
    if (t >= end) break;
    if (t >= start && !ticks.some((x) => x.at === t)) {
      const lw = wall(tz, t);
      ticks.push({ at: t, day: lw.hour === 0 && lw.minute === 0 });
    }
    if (ticks.length > 200) break;
  }
  return { step, ticks };
}
