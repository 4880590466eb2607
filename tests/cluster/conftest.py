"""Fixtures of the cluster specs: the local NATS (JetStream on) and a fresh PostgreSQL database, or a skip that says
which is missing (``make test`` passes without them). Every test gets its own NATS prefix, so test runs sharing a
server never see each other's stations, leases or buckets; the buckets are deleted afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse

import pytest

from server.store_support import pg_databases  # noqa: F401  (fixture)

NATS_URL = os.environ.get("WATTCAP_TEST_NATS_URL", "nats://127.0.0.1:4222")

try:
    import nats  # noqa: F401
except ImportError:  # without the cluster extra there is nothing here to run (pip install 'wattcap[cluster]')
    collect_ignore_glob = ["test_*.py"]


def require_nats() -> None:
    pytest.importorskip("nats", reason="nats-py is not installed (pip install 'wattcap[cluster]')")
    parsed = urlparse(NATS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=1.0):
            return
    except OSError as exc:
        pytest.skip(f"no NATS server at {NATS_URL} ({exc}); start nats-server -js to run the cluster specs")


#: A cluster spec that runs longer than this is stuck (in-process servers have been seen to hang in teardown under
#: heavy load): the run is ended with every thread's traceback, so CI fails with the evidence instead of hanging.
WATCHDOG_S = 240


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
async def nats_prefix() -> AsyncIterator[str]:
    require_nats()
    import nats

    prefix = f"wct{uuid.uuid4().hex[:10]}"
    yield prefix
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for bucket in ("presence", "leases"):
            with contextlib.suppress(Exception):
                await js.delete_key_value(f"{prefix}_{bucket}")
    finally:
        await nc.close()


@pytest.fixture
def pg_url(pg_databases) -> str:  # noqa: F811
    """A new, empty PostgreSQL database (a plain fixture: it runs outside the test's event loop)."""
    return asyncio.run(pg_databases.create_database())
