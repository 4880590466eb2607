"""The charger simulator: simulated OCPP 1.6J / 2.0.1 charging stations with EVs and vendor personalities.

Pure core: :mod:`.ev` (vehicles and charging curves), :mod:`.spec` and :mod:`.station` (a station's facts,
state and physics), :mod:`.enforcement` (limits, sharing, slow followers), :mod:`.personalities` (the vendor
catalogue), :mod:`.acceptance`, :mod:`.clock`, :mod:`.fleet`, :mod:`.scenario`.
Shell: :mod:`.protocol_v16` / :mod:`.protocol_v201` (the OCPP edges), :mod:`.outbox`, :mod:`.runner`
(connections, reconnects, the offline queue, the link switch), :mod:`.control` and :mod:`.launcher`
(``wattcap simulate``). See ``docs/simulator.md``.
"""

from wattcap.sim.clock import AcceleratedClock, Clock, RealClock, make_clock
from wattcap.sim.ev import EV, EV_MODELS, EVSpec, ev_model
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet, make_station
from wattcap.sim.personalities import PERSONALITIES, AcceptanceTest, Personality, get_personality
from wattcap.sim.runner import RunOptions, Simulation, StationRunner
from wattcap.sim.scenario import Arrival, arrivals_now, depot_day, load_arrivals
from wattcap.sim.spec import EvseSpec, StationSpec
from wattcap.sim.station import SimStation

__all__ = [
    "EV",
    "EV_MODELS",
    "PERSONALITIES",
    "AcceleratedClock",
    "AcceptanceTest",
    "Arrival",
    "Clock",
    "EVSpec",
    "EvseSpec",
    "FleetOptions",
    "Personality",
    "RealClock",
    "RunOptions",
    "SimStation",
    "Simulation",
    "StationRunner",
    "StationSpec",
    "VersionMix",
    "arrivals_now",
    "depot_day",
    "ev_model",
    "get_personality",
    "load_arrivals",
    "make_clock",
    "make_fleet",
    "make_station",
]
