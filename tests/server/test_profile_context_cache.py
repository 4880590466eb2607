"""The write path's context cache: exact for this process's own writes, bounded in age, dropped on any change it
cannot follow, and never overwritten by a read that raced a write."""

from __future__ import annotations

from wattcap.core.dialects import DEFAULT_DIALECT
from wattcap.core.model import OcppVersion
from wattcap.core.station import StationConfig
from wattcap.server.profile_context import ContextCache, StationContext
from wattcap.store import DesiredProfile


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _desired(profile_id: int, evse_id: int = 1, status: str = "pending") -> DesiredProfile:
    wire = {
        "id": profile_id, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                                           "limit": 10.0}]}],
    }
    return DesiredProfile("CP1", evse_id, profile_id, "TxDefaultProfile", 0, "default", "2.0.1", wire, status=status)


def _context(*desired: DesiredProfile) -> StationContext:
    version = OcppVersion.V201
    config = StationConfig(ocpp_version=version, dialect=DEFAULT_DIALECT.for_version(version))
    return StationContext("CP1", version, config, desired, ())


class StoreChanges:
    """Repository.station_changes: the store's count of committed writes about a station."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def __call__(self, station_id: str) -> int:
        return self.count.get(station_id, 0)

    def commit(self, station_id: str = "CP1") -> None:
        self.count[station_id] = self(station_id) + 1


def test_own_writes_are_applied_in_the_stores_order() -> None:
    store = StoreChanges()
    cache = ContextCache(2.0, store_changes=store, monotonic=Monotonic())
    cache.put(_context(_desired(30_001, evse_id=2)), cache.generation("CP1"))
    assert cache.get("CP1") is not None
    store.commit()
    cache.apply("CP1", _desired(30_000, evse_id=1))
    store.commit()
    cache.apply("CP1", _desired(30_001, evse_id=2, status="installed"))
    ctx = cache.get("CP1")
    assert ctx is not None
    assert [(d.evse_id, d.profile_id, d.status) for d in ctx.desired] == [
        (1, 30_000, "pending"), (2, 30_001, "installed"),
    ]
    assert sorted(ctx.profiles) == [30_000, 30_001]


def test_an_entry_is_reused_for_at_most_its_age() -> None:
    clock = Monotonic()
    cache = ContextCache(2.0, monotonic=clock)
    cache.put(_context(), cache.generation("CP1"))
    clock.now += 1.9
    assert cache.get("CP1") is not None
    clock.now += 0.2
    assert cache.get("CP1") is None  # read again from the store: another process may have changed it


def test_a_change_it_cannot_follow_drops_the_entry() -> None:
    cache = ContextCache(2.0, monotonic=Monotonic())
    cache.put(_context(), cache.generation("CP1"))
    cache.invalidate("CP1")
    assert cache.get("CP1") is None


def test_any_other_write_about_the_station_drops_the_entry() -> None:
    """Capabilities read again, a transaction recorded, a desired profile written by someone else: the store
    counts them, and the write path reads the station again."""
    store = StoreChanges()
    cache = ContextCache(2.0, store_changes=store, monotonic=Monotonic())
    cache.put(_context(), cache.generation("CP1"))
    store.commit()
    assert cache.get("CP1") is None
    cache.put(_context(), cache.generation("CP1"))
    store.commit()  # someone else's write ...
    store.commit()  # ... and this process's own
    cache.apply("CP1", _desired(30_000))
    assert cache.get("CP1") is None


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    store = StoreChanges()
    cache = ContextCache(2.0, store_changes=store, monotonic=Monotonic())
    generation = cache.generation("CP1")  # a read starts
    store.commit()
    cache.apply("CP1", _desired(30_000))  # a write of this process commits meanwhile
    cache.put(_context(), generation)  # the read ends: it may not have seen the write
    assert cache.get("CP1") is None
    cache.put(_context(_desired(30_000)), cache.generation("CP1"))
    assert cache.get("CP1") is not None


def test_no_reuse_when_switched_off() -> None:
    cache = ContextCache(0.0, monotonic=Monotonic())
    cache.put(_context(), cache.generation("CP1"))
    assert cache.get("CP1") is None
