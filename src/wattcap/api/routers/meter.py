"""Meter samples over a time range, downsampled by the database (``meter_buckets``) unless raw ones are asked for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wattcap.api.deps import Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND, SCHEMA_RULE, FindingOut, invalid
from wattcap.api.routers.common import check_range, visible_station
from wattcap.api.schemas import Timestamp

router = APIRouter(tags=["meter"])

#: Bucket widths offered when none is asked for: the smallest that keeps a range within TARGET_BUCKETS per series.
_WIDTHS = (1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 86_400, 7 * 86_400)
TARGET_BUCKETS = 720
MAX_RAW = 10_000
MAX_BUCKETS = 50_000
MAX_RANGE = timedelta(days=400)


class BucketOut(BaseModel):
    evse_id: int
    measurand: str
    phase: str | None
    unit: str
    start: datetime
    count: int
    avg: float
    min: float
    max: float


class SampleOut(BaseModel):
    evse_id: int
    measured_at: datetime
    measurand: str
    phase: str | None
    value: float
    unit: str
    context: str | None
    transaction_id: str | None


class MeterOut(BaseModel):
    station_id: str
    start: datetime
    end: datetime
    bucket_s: int | None = Field(description="The bucket width; None for raw samples.")
    buckets: list[BucketOut] = Field(default_factory=list)
    samples: list[SampleOut] = Field(default_factory=list)
    truncated: bool = Field(False, description=f"Raw samples stopped at {MAX_RAW}: narrow the range.")


def choose_bucket(span: timedelta) -> int:
    seconds = span.total_seconds()
    return next((w for w in _WIDTHS if seconds / w <= TARGET_BUCKETS), _WIDTHS[-1])


@router.get("/stations/{station_id}/meter", response_model=MeterOut, responses={**ERRORS, **NOT_FOUND},
            summary="Meter samples in [start, end), in buckets (count/avg/min/max) or raw")
async def meter(
    station_id: str,
    access: Authenticated,
    start: Annotated[Timestamp | None, Query(description="Default: an hour before end.")] = None,
    end: Annotated[Timestamp | None, Query(description="Default: now.")] = None,
    evse: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    measurand: Annotated[list[str] | None, Query(description="E.g. Current.Import (repeatable).")] = None,
    transaction_id: str | None = None,
    bucket_s: Annotated[int | None, Query(ge=1, le=31 * 86_400, description="Default: chosen from the range.")] = None,
    raw: Annotated[bool, Query(description="Samples as stored instead of buckets.")] = False,
) -> MeterOut:
    await visible_station(access, station_id, evse or None)
    end = end or access.plane.clock()
    start = start or end - timedelta(hours=1)
    check_range(start, end, names=("start", "end"))
    if end - start > MAX_RANGE:
        start = end - MAX_RANGE
    repository = access.plane.repository
    if raw:
        rows = await repository.meter_samples(station_id, start, end, evse_id=evse, measurands=measurand,
                                              transaction_id=transaction_id, limit=MAX_RAW + 1)
        samples = [SampleOut(evse_id=s.evse_id, measured_at=s.measured_at, measurand=s.measurand, phase=s.phase,
                             value=s.value, unit=s.unit, context=s.context, transaction_id=s.transaction_id)
                   for s in rows[:MAX_RAW] if access.sees_evse(station_id, s.evse_id)]
        return MeterOut(station_id=station_id, start=start, end=end, bucket_s=None, samples=samples,
                        truncated=len(rows) > MAX_RAW)
    width = bucket_s or choose_bucket(end - start)
    if (end - start).total_seconds() / width > MAX_BUCKETS:
        raise invalid([FindingOut(path="query.bucket_s", rule_id=SCHEMA_RULE,
                                  message=f"more than {MAX_BUCKETS} buckets per series: widen bucket_s")])
    rows = await repository.meter_buckets(station_id, start, end, width, evse_id=evse, measurands=measurand,
                                          transaction_id=transaction_id)
    buckets = [BucketOut(evse_id=b.evse_id, measurand=b.measurand, phase=b.phase, unit=b.unit, start=b.start,
                         count=b.count, avg=b.avg, min=b.min, max=b.max)
               for b in rows if access.sees_evse(station_id, b.evse_id)]
    return MeterOut(station_id=station_id, start=start, end=end, bucket_s=width, buckets=buckets)
