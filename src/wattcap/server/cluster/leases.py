"""Site-cap leadership: exactly one node runs each site's controller, and a dead node's sites move within bounds.

A lease is a key of the NATS KV bucket ``{prefix}_leases`` (the site's token, the holder's node id as value), in a
bucket whose entries expire ``lease_s`` after their last write (the stream's max age, on the NATS server's clock,
so the nodes' clocks never need to agree). A node takes a free lease with a *create* (only one create of a key can
succeed), renews it every ``lease_s / 4`` with an *update* that names the revision it holds (it fails if anybody
else wrote since), and gives it up on a clean stop by deleting it (another node takes over at its next try).

A node that cannot renew — NATS unreachable, the node frozen, a renewal refused — stops its controller once
``lease_s / 2`` passed without a successful renewal, that is at least ``lease_s / 2`` before the entry can expire
and anybody else may take it: two controllers never run one site at the same time, whatever happened in between
(only a node paused for longer than that between its own check and its next write could break this, and it checks
again before every step of its loop). A node that died loses its sites after at most ``lease_s`` plus one retry
(``lease_s / 4``), the figure in ``docs/deployment.md``.

Why NATS and not a PostgreSQL advisory lock on a dedicated connection: the lock lives as long as the TCP connection
and PostgreSQL notices a vanished peer only by its keepalive settings (minutes by default), whereas the lease
time here is one setting; and a node that is cut off from the database but still thinks it holds the lock has no
way to notice, whereas a lease holder notices its own failed renewals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from nats.js.kv import KeyValue

from wattcap.aio import stop_if_cancelled
from wattcap.server.cluster.bus import Bus, token

log = logging.getLogger("wattcap.cluster.lease")

Transition = Callable[[str], Awaitable[None]]


class Leases:
    def __init__(self, bus: Bus, node_id: str, lease_s: float) -> None:
        self.bus = bus
        self.node_id = node_id
        self.lease_s = lease_s
        self.renew_s = lease_s / 4
        self.kv: KeyValue | None = None
        #: Sites this node leads now.
        self.held: set[str] = set()
        self.gained = 0
        self.lost = 0
        self.abandoned = False

    async def start(self) -> None:
        self.kv = await self.bus.bucket("leases", ttl=self.lease_s)
        # The expiry is the bucket's, fixed by whichever node created it: the renewal and give-up times must follow
        # it, or a node with a longer lease than the bucket's would still act after its lease expired.
        ttl = (await self.kv.status()).ttl
        if ttl and abs(ttl - self.lease_s) > 1e-3:
            log.warning("cluster.lease the bucket's lease time is %g s, not the %g s configured here: using %g s",
                        ttl, self.lease_s, ttl)
            self.lease_s = ttl
            self.renew_s = ttl / 4

    async def hold(self, site_id: str, gain: Transition, lose: Transition) -> None:
        """Run until cancelled: take ``site_id``'s lease whenever it is free, ``await gain(site)`` when it is taken,
        ``await lose(site)`` when it is lost or given up (always before this returns)."""
        assert self.kv is not None, "leases not started"
        key = token(site_id)
        value = self.node_id.encode()
        revision: int | None = None
        renewed_at = 0.0
        try:
            while True:
                stop_if_cancelled()  # a renewal's answer may have swallowed the cancel of a stopping site cap
                if revision is None:
                    try:
                        revision = await self.kv.create(key, value)
                    except Exception:  # held by another node (or NATS away): try again later
                        await asyncio.sleep(self.renew_s)
                        continue
                    renewed_at = time.monotonic()
                    self.held.add(site_id)
                    self.gained += 1
                    log.info("cluster.lease.taken site=%s node=%s", site_id, self.node_id)
                    await gain(site_id)
                await asyncio.sleep(self.renew_s)
                try:
                    async with asyncio.timeout(self.renew_s):
                        revision = await self.kv.update(key, value, last=revision)
                    renewed_at = time.monotonic()
                    continue
                except Exception as exc:
                    refused = "WrongLastSequence" in type(exc).__name__
                    late = time.monotonic() - renewed_at >= self.lease_s / 2
                    if refused and not late and (own := await self._own_revision(key, value)) is not None:
                        # Refused because an earlier renewal of ours was applied after we stopped waiting for
                        # its answer (a stalled event loop): the lease is still ours, at that revision.
                        revision = own
                        continue
                    if refused or late:
                        log.warning("cluster.lease.lost site=%s node=%s: %s", site_id, self.node_id,
                                    "taken by another node" if refused else f"not renewed ({exc!r})")
                        revision = None
                        await self._lose(site_id, lose)
        finally:
            if site_id in self.held:
                await self._lose(site_id, lose)
                if revision is not None and not self.abandoned:  # a clean stop: free it now, not when it expires
                    await self._free(key, value, revision)

    async def _free(self, key: str, value: bytes, revision: int) -> None:
        """Delete the lease entry, at ``revision`` or, if a renewal was applied whose answer never came, at the
        revision the server holds for this node (never another node's)."""
        assert self.kv is not None
        try:
            await self.kv.delete(key, last=revision)
            return
        except Exception:
            pass
        own = await self._own_revision(key, value)
        if own is not None and own != revision:
            with contextlib.suppress(Exception):
                await self.kv.delete(key, last=own)

    async def _own_revision(self, key: str, value: bytes) -> int | None:
        """The revision of the lease entry if it is this node's, else None (another node's, gone, unreadable)."""
        assert self.kv is not None
        try:
            async with asyncio.timeout(self.renew_s):
                entry = await self.kv.get(key)
        except Exception:
            return None
        return entry.revision if entry.value == value else None

    async def _lose(self, site_id: str, lose: Transition) -> None:
        self.held.discard(site_id)
        self.lost += 1
        try:
            await lose(site_id)
        except Exception:
            log.exception("cluster.lease: stopping site %s failed", site_id)
