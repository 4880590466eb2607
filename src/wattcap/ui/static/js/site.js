// Site arithmetic for the overview: measured currents per EVSE phase mapped through the EVSE's wiring onto the
// grid phases, and added up per node of the tree (a node carries everything below it).

export const PHASES = ["L1", "L2", "L3"];

/** {node id: [ids of the node and every node below it]}. */
export function subtrees(nodes) {
  const children = new Map(nodes.map((n) => [n.id, []]));
  for (const n of nodes) if (n.parent) children.get(n.parent)?.push(n.id);
  const out = {};
  const walk = (id) => [id, ...(children.get(id) || []).flatMap(walk)];
  for (const n of nodes) out[n.id] = walk(n.id);
  return out;
}

/** What one EVSE draws on each grid phase, from its latest values {L1, L2, L3, I (no phase), power}: AC phase
 * currents through the wiring; a phase-less AC current on every phase it supplies; a DC EVSE's power spread evenly
 * over the three grid phases at the nominal voltage (the AC side of its rectifier, losses ignored). */
export function gridCurrents(evse, measured) {
  const out = [0, 0, 0];
  if (!measured) return out;
  const wiring = evse.wiring || PHASES;
  if (evse.current_type === "DC") {
    if (measured.power !== undefined && measured.power !== null) {
      const perPhase = measured.power / (3 * (evse.voltage_v || 230));
      return [perPhase, perPhase, perPhase];
    }
    return out;
  }
  const phased = PHASES.some((p) => measured[p] !== undefined);
  PHASES.forEach((phase, i) => {
    const grid = PHASES.indexOf(wiring[i] || phase);
    if (phased) out[grid] += measured[phase] || 0;
    else if (measured.I !== undefined && (i === 0 || (evse.phases ?? 3) > 1)) out[grid] += measured.I;
  });
  return out;
}

/** Per node: [L1, L2, L3] grid-phase current of the EVSEs below it. `currents`: {"CP/1": {L1, L2, L3, I, power}}. */
export function nodeLoads(topology, currents) {
  const trees = subtrees(topology.nodes);
  const byNode = Object.fromEntries(topology.nodes.map((n) => [n.id, [0, 0, 0]]));
  for (const evse of topology.evses) {
    const grid = gridCurrents(evse, currents[`${evse.station_id}/${evse.evse_id}`]);
    grid.forEach((v, i) => { byNode[evse.node][i] += v; });
  }
  const out = {};
  for (const node of topology.nodes) {
    const sum = [0, 0, 0];
    for (const id of trees[node.id]) byNode[id].forEach((v, i) => { sum[i] += v; });
    out[node.id] = sum;
  }
  return out;
}

/** A topology for stations without a site: one node, every EVSE wired L1L2L3. */
export function flatTopology(evseKeys) {
  return {
    root: "all", time_zone: "UTC",
    nodes: [{ id: "all", parent: null, max_current_a: null, safe_current_a: null }],
    evses: evseKeys.map((key) => {
      const [station, evse] = key.split("/");
      return { station_id: station, evse_id: Number(evse), node: "all", wiring: PHASES };
    }),
  };
}

/** Meter buckets as the latest-values shape of one bucket: {"CP/1": Map(ms -> {L1, L2, L3, I, power})}. */
function bucketValues(bucketsByStation, wanted) {
  const out = new Map();
  for (const [station, buckets] of Object.entries(bucketsByStation)) {
    for (const b of buckets) {
      const key = `${station}/${b.evse_id}`;
      if (!wanted.has(key)) continue;
      let name = null;
      if (b.measurand === "Current.Import") name = PHASES.includes(b.phase) ? b.phase : b.phase ? null : "I";
      else if (b.measurand === "Power.Active.Import" && !b.phase) name = "power";
      if (!name) continue;
      if (!out.has(key)) out.set(key, new Map());
      const t = Date.parse(b.start);
      const values = out.get(key).get(t) || {};
      values[name] = b.avg;
      out.get(key).set(t, values);
    }
  }
  return out;
}

/** From meter buckets of several EVSEs: the grid-phase series of `nodeId`: {L1: [[ms, A]…], …}. A bucket an EVSE
 * has no value in repeats its previous one (a sample lost is not a drop to zero). */
export function phaseSeries(topology, bucketsByStation, nodeId) {
  const inside = new Set(subtrees(topology.nodes)[nodeId]);
  const evses = new Map(topology.evses.filter((e) => inside.has(e.node)).map((e) => [`${e.station_id}/${e.evse_id}`, e]));
  const values = bucketValues(bucketsByStation, new Set(evses.keys()));
  const times = [...new Set([...values.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const out = { L1: [], L2: [], L3: [] };
  const last = new Map();
  for (const t of times) {
    const sum = [0, 0, 0];
    for (const [key, series] of values) {
      if (series.has(t)) last.set(key, series.get(t));
      gridCurrents(evses.get(key), last.get(key)).forEach((v, i) => { sum[i] += v; });
    }
    PHASES.forEach((p, i) => out[p].push([t, sum[i]]));
  }
  return out;
}

/** The latest values of one meter event's samples: {L1, L2, L3 (A), power (W), energy (Wh), at}. */
export function readSamples(samples, previous = {}) {
  const out = { ...previous };
  let at = previous.at || 0;
  for (const sample of samples) {
    const t = Date.parse(sample.at);
    if (t > at) at = t;
    if (sample.measurand === "Current.Import" && PHASES.includes(sample.phase)) out[sample.phase] = sample.value;
    else if (sample.measurand === "Current.Import" && !sample.phase) out.I = sample.value;
    else if (sample.measurand === "Power.Active.Import" && !sample.phase) out.power = sample.value;
    else if (sample.measurand === "Energy.Active.Import.Register" && !sample.phase) {
      out.energy = sample.unit === "kWh" ? sample.value * 1000 : sample.value;
    }
  }
  out.at = at;
  return out;
}
