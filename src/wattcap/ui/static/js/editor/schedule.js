// The schedule editor's model, pure functions only: periods as {startPeriod (s), limit}, snapping (15 min,
// 0.1 A or 100 W), moving, adding and removing boundaries, the profile JSON the API takes, and which form field
// a finding's JSON path points at.

export const SNAP_S = 900;
export const DAY_S = 86_400;
export const WEEK_S = 7 * DAY_S;

export function limitStep(unit) {
  return unit === "W" ? 100 : 0.1;
}

export function snapLimit(value, unit) {
  const step = limitStep(unit);
  const snapped = Math.max(0, Math.round(value / step) * step);
  return unit === "W" ? Math.round(snapped) : Math.round(snapped * 10) / 10;
}

export function snapTime(seconds, step = SNAP_S) {
  return Math.round(seconds / step) * step;
}

/** How many seconds of the schedule the editor shows: its duration, a recurrence period, or a day (longer if a
 * period starts later). */
export function horizon(state) {
  if (state.duration) return state.duration;
  if (state.kind === "Recurring") return state.recurrencyKind === "Weekly" ? WEEK_S : DAY_S;
  const last = state.periods[state.periods.length - 1]?.startPeriod || 0;
  return Math.max(DAY_S, Math.ceil((last + 4 * 3600) / DAY_S) * DAY_S);
}

function sorted(periods) {
  return [...periods].sort((a, b) => a.startPeriod - b.startPeriod);
}

/** Boundary `index` (≥ 1) moved to `seconds` (snapped), kept between its neighbours and inside the horizon. */
export function moveBoundary(periods, index, seconds, end, step = SNAP_S) {
  if (index < 1 || index >= periods.length) return periods;
  const lower = periods[index - 1].startPeriod + step;
  const upper = (index + 1 < periods.length ? periods[index + 1].startPeriod : end) - step;
  const at = Math.min(Math.max(snapTime(seconds, step), lower), upper);
  if (upper < lower) return periods;
  return periods.map((p, i) => (i === index ? { ...p, startPeriod: at } : p));
}

export function setLimit(periods, index, value, unit) {
  return periods.map((p, i) => (i === index ? { ...p, limit: snapLimit(value, unit) } : p));
}

/** A boundary at `seconds` (snapped): the period it falls in is split in two with the same limit. Returns the new
 * periods and the new boundary's index, or null when there is no room. */
export function addBoundary(periods, seconds, end, step = SNAP_S) {
  const at = snapTime(seconds, step);
  if (at <= 0 || at >= end || periods.some((p) => p.startPeriod === at)) return null;
  const inside = periods.filter((p) => p.startPeriod < at).pop();
  const next = sorted([...periods, { ...inside, startPeriod: at }]);
  return { periods: next, index: next.findIndex((p) => p.startPeriod === at) };
}

/** The boundary `index` (≥ 1) removed: the period before it runs on. */
export function removeBoundary(periods, index) {
  if (index < 1 || index >= periods.length) return periods;
  return periods.filter((_, i) => i !== index);
}

/** Midway through period `index` (where "add a boundary" puts one). */
export function middleOf(periods, index, end) {
  const start = periods[index].startPeriod;
  const stop = index + 1 < periods.length ? periods[index + 1].startPeriod : end;
  return start + (stop - start) / 2;
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The profile as POST /stations/{id}/profiles takes it (OCPP 2.0.1 ChargingProfileType without id/stackLevel). */
export function toProfile(state) {
  const schedule = { chargingRateUnit: state.unit };
  if (state.kind !== "Relative" && state.startSchedule !== null) schedule.startSchedule = iso(state.startSchedule);
  if (state.duration) schedule.duration = state.duration;
  schedule.chargingSchedulePeriod = state.periods.map((p) => {
    const period = { startPeriod: p.startPeriod, limit: p.limit };
    if (state.phases) period.numberPhases = state.phases;
    return period;
  });
  const profile = { chargingProfilePurpose: state.purpose, chargingProfileKind: state.kind };
  if (state.kind === "Recurring") profile.recurrencyKind = state.recurrencyKind;
  if (state.validFrom !== null) profile.validFrom = iso(state.validFrom);
  if (state.validTo !== null) profile.validTo = iso(state.validTo);
  if (state.purpose === "TxProfile" && state.transactionId) profile.transactionId = state.transactionId;
  profile.chargingSchedule = [schedule];
  return profile;
}

/** Editor fields from a stored profile (the API's OCPP 2.0.1 form). */
export function fromProfile(profile) {
  const schedule = profile.chargingSchedule[0];
  const phases = schedule.chargingSchedulePeriod.find((p) => p.numberPhases)?.numberPhases ?? null;
  return {
    purpose: profile.chargingProfilePurpose,
    kind: profile.chargingProfileKind,
    recurrencyKind: profile.recurrencyKind || "Daily",
    startSchedule: schedule.startSchedule ? Date.parse(schedule.startSchedule) : null,
    validFrom: profile.validFrom ? Date.parse(profile.validFrom) : null,
    validTo: profile.validTo ? Date.parse(profile.validTo) : null,
    duration: schedule.duration ?? null,
    unit: schedule.chargingRateUnit,
    phases,
    transactionId: profile.transactionId || null,
    periods: schedule.chargingSchedulePeriod.map((p) => ({ startPeriod: p.startPeriod, limit: p.limit })),
  };
}

const FIELDS = [
  [/^body\.evse_id$/, "evse"],
  [/^body\.band$/, "band"],
  [/^body\.profile_id$/, "band"],
  [/^body\.profile\.chargingProfilePurpose$/, "purpose"],
  [/^body\.profile\.chargingProfileKind$/, "kind"],
  [/^body\.profile\.recurrencyKind$/, "recurrency"],
  [/^body\.profile\.validFrom$/, "valid-from"],
  [/^body\.profile\.validTo$/, "valid-to"],
  [/^body\.profile\.transactionId$/, "tx"],
  [/^body\.profile\.chargingSchedule\[0\]\.startSchedule$/, "start"],
  [/^body\.profile\.chargingSchedule\[0\]\.duration$/, "duration"],
  [/^body\.profile\.chargingSchedule\[0\]\.chargingRateUnit$/, "unit"],
  [/^body\.profile\.chargingSchedule\[0\]\.minChargingRate$/, "unit"],
  [/^body\.profile\.chargingSchedule\[0\]\.chargingSchedulePeriod\[(\d+)\]\.(numberPhases|phaseToUse)$/, "phases"],
  [/^body\.profile\.chargingSchedule\[0\]\.chargingSchedulePeriod\[(\d+)\]\.limit$/, (m) => `p-${m[1]}-limit`],
  [/^body\.profile\.chargingSchedule\[0\]\.chargingSchedulePeriod\[(\d+)\]\.startPeriod$/, (m) => `p-${m[1]}-start`],
  [/^body\.profile\.chargingSchedule\[0\]\.chargingSchedulePeriod(\[\d+\])?$/, "periods"],
];

/** The editor field a finding's JSON path (``body.profile.chargingSchedule[0].chargingRateUnit``) belongs to, or
 * null (shown with the form as a whole). */
export function fieldOf(path) {
  for (const [pattern, field] of FIELDS) {
    const m = pattern.exec(path || "");
    if (m) return typeof field === "function" ? field(m) : field;
  }
  return null;
}
