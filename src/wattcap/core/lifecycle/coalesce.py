"""Charger write limits: which pending profile writes to send now, which to merge, and when to look again.

Every SetChargingProfile is persisted by the charger (E16 3.37, K01.FR.27); a control loop that rewrites a
limit every few seconds wears its flash out (A21), and OCPP 2.1 lets a charger refuse with ``RateLimitExceeded``
and a retry hint (K01.FR.56–59). So writes are paced per station and purpose:

* at most one batch per (station, purpose) every ``min_interval_s``; the first write after a quiet spell goes at
  once, so an operator's change is not delayed needlessly;
* writes queued for the same profile id while waiting collapse into the last one (the earlier ones are
  superseded: a limit that was already replaced is never sent);
* a charger's retry hint blocks its (station, purpose) until the hinted time.

The shell keeps the queue and the clock; this module only decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from wattcap.core.model import ChargingProfilePurpose


class WriteKey(NamedTuple):
    """What write pacing is counted per. ``purpose`` None: a write not tied to one purpose (a clear of an id
    wattcap does not know)."""

    station_id: str
    purpose: ChargingProfilePurpose | None


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write waiting to be sent. ``token`` identifies it to the shell; ``sequence`` orders submissions.

    An unpaced write (``paced=False``) ignores the minimum interval: the site cap's limit changes are safety
    writes whose own cadence is governed by the allocator's hysteresis and lease renewal, and a decrease held back
    15 s would let a site overdraw. A charger's retry hint still blocks it.
    """

    key: WriteKey
    profile_id: int
    sequence: int
    token: int
    paced: bool = True


@dataclass(frozen=True, slots=True)
class WritePlan:
    """``send_now`` in submission order; ``superseded`` maps a dropped write's token to the one replacing it;
    ``next_due`` is when a write still waiting becomes due (None: nothing waits)."""

    send_now: tuple[PendingWrite, ...]
    superseded: Mapping[int, int]
    next_due: datetime | None


def _latest_per_profile(pending: Sequence[PendingWrite]) -> tuple[list[PendingWrite], dict[int, int]]:
    latest: dict[tuple[WriteKey, int], PendingWrite] = {}
    for write in sorted(pending, key=lambda w: w.sequence):
        latest[write.key, write.profile_id] = write
    kept = sorted(latest.values(), key=lambda w: w.sequence)
    superseded = {
        w.token: latest[w.key, w.profile_id].token for w in pending if latest[w.key, w.profile_id].token != w.token
    }
    return kept, superseded


def plan_writes(
    pending: Sequence[PendingWrite],
    *,
    now: datetime,
    last_sent: Mapping[WriteKey, datetime],
    min_interval_s: float,
    blocked_until: Mapping[WriteKey, datetime] | None = None,
) -> WritePlan:
    """What to send at ``now``: the latest write per profile of every (station, purpose) that is due.

    A key is due when ``min_interval_s`` has passed since its last send and no retry hint blocks it.
    """
    blocked_until = blocked_until or {}
    kept, superseded = _latest_per_profile(pending)
    send_now: list[PendingWrite] = []
    next_due: datetime | None = None
    for write in kept:
        due = now
        if write.paced and write.key in last_sent:
            due = max(due, last_sent[write.key] + timedelta(seconds=min_interval_s))
        if write.key in blocked_until:
            due = max(due, blocked_until[write.key])
        if due <= now:
            send_now.append(write)
        elif next_due is None or due < next_due:
            next_due = due
    return WritePlan(tuple(send_now), superseded, next_due)


_SECONDS = re.compile(r"(\d+)\s*(?:s\b|sec|second)", re.IGNORECASE)
RATE_LIMIT_EXCEEDED = "RateLimitExceeded"


def retry_after_s(additional_info: str | None, default_s: int) -> int:
    """The delay a ``RateLimitExceeded`` answer asks for: K01.FR.57 says the charger SHOULD put "<xx> seconds
    before retry" in ``statusInfo.additionalInfo``; free text, so the first number of seconds is taken, and
    ``default_s`` when there is none."""
    found = _SECONDS.search(additional_info or "")
    return int(found.group(1)) if found else default_s
