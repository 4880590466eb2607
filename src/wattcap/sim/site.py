"""A site file for a simulated fleet: the constraint tree the site cap needs, for the stations the simulator runs.

``wattcap demo`` runs the control plane with a site cap over its simulated depot; the tree has to name the same
stations and EVSEs the simulator builds (:func:`wattcap.sim.fleet.make_fleet`), so it is derived from the same
fleet options. The grid connection is sized below the fleet's hardware maximum on purpose: a site cap that never
binds demonstrates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from wattcap.core.station import CurrentType
from wattcap.sim.spec import StationSpec

__all__ = ["site_file_for"]

_ROTATIONS = ("L1L2L3", "L2L3L1", "L3L1L2")


def site_file_for(
    specs: Sequence[StationSpec], *, site_id: str = "demo", share: float = 0.4, lease_s: int = 120
) -> str:
    """A TOML site file: a grid connection carrying ``share`` of the fleet's per-phase hardware maximum (safe
    limit: half of that), two feeders (odd and even stations), every EVSE with its rotation, phases and limits."""
    total_a = 0.0
    evses: list[str] = []
    for n, spec in enumerate(specs):
        feeder = "feeder-a" if n % 2 == 0 else "feeder-b"
        for evse in spec.evses:
            rotation = _ROTATIONS[(n + evse.evse_id) % 3]
            if spec.current_type is CurrentType.AC:
                total_a += evse.max_current_a
                extra = f'max_current_a = {evse.max_current_a:g}\nphases = {spec.phases}\nwiring = "{rotation}"\n'
                if spec.phases == 3 and spec.capabilities.phase_switching_3to1:
                    extra += "can_switch_phases = true\n"
            else:
                per_phase = evse.max_power_w / (3 * 230.0)
                total_a += per_phase
                extra = (
                    f'current_type = "DC"\nmax_power_w = {evse.max_power_w:g}\n'
                    f"max_current_a = {per_phase:.1f}\nmin_power_w = 5000\n"
                )
            evses.append(
                f'[[sites.evses]]\nstation = "{spec.station_id}"\nevse = {evse.evse_id}\nnode = "{feeder}"\n{extra}'
            )
    cap = max(32.0, round(total_a * share))
    feeder_cap = max(32.0, round(cap * 0.7))
    head = (
        f'# Generated for the simulated fleet by wattcap.sim.site.site_file_for\n[[sites]]\nid = "{site_id}"\n'
        f'fallback = "minimum"\nlease_s = {lease_s}\n\n'
        f'[[sites.nodes]]\nid = "grid"\nmax_current_a = {cap:g}\nsafe_current_a = {round(cap / 2):g}\nmargin_a = 2\n\n'
        f'[[sites.nodes]]\nid = "feeder-a"\nparent = "grid"\nmax_current_a = {feeder_cap:g}\n\n'
        f'[[sites.nodes]]\nid = "feeder-b"\nparent = "grid"\nmax_current_a = {feeder_cap:g}\n\n'
    )
    return head + "\n".join(evses)
