"""wattcap dies mid-transaction and comes back: nothing acknowledged is lost, nothing replayed is doubled.

A 1.6 charge point and a 2.0.1 station (the ``ocpp`` package) boot, start a transaction and send meter
values; the server then stops as a killed process would (no graceful shutdown, no WebSocket close frames). A
new server on the same database takes the reconnecting chargers, which resend what they had queued — including
a message that was stored just before the crash and one whose answer was "lost" — and stop their transactions.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from wattcap.core.model import OcppVersion
from wattcap.store import Repository

from .conftest import TIMEOUT, charger
from .store_support import eventually, store_server

V16, V201 = OcppVersion.V16, OcppVersion.V201
PASSWORDS = {"R16": "restart-password-0016", "R201": "restart-password-0201"}
T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meter_16(transaction_id: int, minutes: int, energy_wh: int) -> call16.MeterValues:
    return call16.MeterValues(
        connector_id=2,
        transaction_id=transaction_id,
        meter_value=[{
            "timestamp": at(minutes),
            "sampled_value": [
                {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "16", "measurand": "Current.Offered", "unit": "A"},
            ],
        }],
    )


def wire(request: object) -> dict:
    """The OCPP JSON payload of a request dataclass, as the package would send it."""
    return remove_nones(snake_to_camel_case(serialize_as_dict(request)))


def event_201(kind: str, seq_no: int, minutes: int, energy_wh: float, **extra) -> call201.TransactionEvent:
    return call201.TransactionEvent(
        event_type=kind,
        timestamp=at(minutes),
        trigger_reason={"Started": "CablePluggedIn", "Ended": "EVCommunicationLost"}.get(kind, "MeterValuePeriodic"),
        seq_no=seq_no,
        transaction_info={"transaction_id": "tx-201", **extra.pop("info", {})},
        meter_value=[{
            "timestamp": at(minutes),
            "sampled_value": [{"value": energy_wh, "measurand": "Energy.Active.Import.Register",
                               "unit_of_measure": {"unit": "Wh"}, **extra.pop("sample", {})}],
        }],
        **extra,
    )


# Transaction A (connector 2) is answered before the crash; B (connector 1) is stored but its answer is lost.
START_A = call16.StartTransaction(connector_id=2, id_tag="CARD-1", meter_start=1000, timestamp=at(0))
START_B = call16.StartTransaction(connector_id=1, id_tag="CARD-3", meter_start=70, timestamp=at(29))
BOOT_16 = call16.BootNotification(charge_point_vendor="ACME", charge_point_model="Wallbox")
BOOT_201 = call201.BootNotification(charging_station={"model": "Wallbox", "vendor_name": "ACME"}, reason="PowerUp")


def stop_16(transaction_id: int, meter_stop: int, *, with_data: bool = False) -> call16.StopTransaction:
    data = [{"timestamp": at(45), "sampled_value": [
        {"value": str(meter_stop), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
         "context": "Transaction.End"}]}]
    return call16.StopTransaction(meter_stop=meter_stop, timestamp=at(45), transaction_id=transaction_id,
                                  reason="EVDisconnected", transaction_data=data if with_data else None)


async def test_an_abrupt_restart_loses_nothing_acknowledged_and_doubles_nothing_replayed(database_url: str) -> None:
    async with await Repository.open(database_url) as repository:
        for station_id, password in PASSWORDS.items():
            await repository.add_station(station_id, password, 1)

        # --- first life ----------------------------------------------------------------------------------------
        async with (
            store_server(database_url) as first,
            charger(first, "R16", V16, password=PASSWORDS["R16"]) as cp,
            charger(first, "R201", V201, password=PASSWORDS["R201"]) as cs,
        ):
            assert (await cp.call(BOOT_16, suppress=False)).status == "Accepted"
            assert (await cs.call(BOOT_201, suppress=False)).status == "Accepted"
            id_a = (await cp.call(START_A, suppress=False)).transaction_id
            await cp.call(meter_16(id_a, 15, 2800), suppress=False)
            await cs.call(
                event_201("Started", 0, 0, 500.0, evse={"id": 1, "connector_id": 1},
                          id_token={"id_token": "CARD-2", "type": "ISO14443"},
                          sample={"context": "Transaction.Begin"}),
                suppress=False,
            )
            await cs.call(event_201("Updated", 1, 15, 2300.0), suppress=False)
            # In flight when the server dies: stored, but the charger does not wait for (or see) the answers.
            await cp._send(json.dumps([2, "in-flight-1", "StartTransaction", wire(START_B)]))
            await cp._send(json.dumps([2, "in-flight-2", "MeterValues", wire(meter_16(id_a, 30, 4600))]))
            await eventually(lambda: samples(repository, "R16", minutes=30))
            (id_b,) = [int(t.transaction_id) for t in await repository.active_transactions("R16") if t.evse_id == 1]
            await first.crash()
            for station in (cp, cs):
                async with asyncio.timeout(TIMEOUT):
                    await station._connection.wait_closed()
                assert station._connection.close_code == 1006  # abnormal closure: no close frame, the server vanished

        # --- second life: reconnect, replay the queue, stop --------------------------------------------------------
        async with (
            store_server(database_url) as second,
            charger(second, "R16", V16, password=PASSWORDS["R16"]) as cp,
            charger(second, "R201", V201, password=PASSWORDS["R201"]) as cs,
        ):
            # The charger resends what it holds unconfirmed, oldest first; B's start gets its stored id again.
            assert (await cp.call(START_B, suppress=False)).transaction_id == id_b
            await cp.call(meter_16(id_a, 30, 4600), suppress=False)
            await cp.call(meter_16(id_a, 15, 2800), suppress=False)  # and an older one, twice delivered
            # A started in the first life: only the database knows its connector.
            await cp.call(stop_16(id_a, 5000, with_data=True), suppress=False)
            await cp.call(stop_16(id_b, 90), suppress=False)
            await cp.call(stop_16(id_a, 5000), suppress=False)  # a replayed stop
            await cs.call(event_201("Updated", 1, 15, 2300.0), suppress=False)  # a queued duplicate
            # No EVSE in the Ended event: the one it started on comes from the database.
            await cs.call(event_201("Ended", 2, 45, 4100.0, info={"stopped_reason": "EVDisconnected"},
                                    sample={"context": "Transaction.End"}), suppress=False)

        # --- what the database holds -------------------------------------------------------------------------------
        a, b = await transactions_of(repository, "R16")
        assert (a.transaction_id, a.evse_id, a.id_token) == (str(id_a), 2, "CARD-1")
        assert (a.meter_start_wh, a.meter_stop_wh, a.stop_reason) == (1000.0, 5000.0, "EVDisconnected")
        assert a.stopped_at == T0 + timedelta(minutes=45)
        assert (b.transaction_id, b.evse_id, b.meter_start_wh, b.meter_stop_wh) == (str(id_b), 1, 70.0, 90.0)
        (t201,) = await transactions_of(repository, "R201")
        assert (t201.transaction_id, t201.evse_id, t201.id_token, t201.last_sequence) == ("tx-201", 1, "CARD-2", 2)
        assert (t201.meter_start_wh, t201.meter_stop_wh, t201.stop_reason) == (500.0, 4100.0, "EVDisconnected")

        s16 = await repository.meter_samples("R16", EPOCH, FAR)
        assert sorted((s.measured_at.minute, s.measurand) for s in s16) == sorted(
            [(m, q) for m in (15, 30) for q in ("Energy.Active.Import.Register", "Power.Active.Import",
                                                "Current.Offered")]
            + [(45, "Energy.Active.Import.Register")]
        )
        assert {(s.evse_id, s.transaction_id) for s in s16} == {(2, str(id_a))}  # the stop's reading too
        s201 = await repository.meter_samples("R201", EPOCH, FAR)
        assert [(s.measured_at.minute, s.value, s.evse_id) for s in s201] == [(0, 500.0, 1), (15, 2300.0, 1),
                                                                              (45, 4100.0, 1)]

        for station_id, evses in (("R16", [2, 1]), ("R201", [1])):
            journal = await repository.journal(station_id, kinds=["TransactionStarted", "TransactionEnded"])
            assert sorted((e.kind, e.evse_id) for e in journal) == sorted(
                [("TransactionStarted", evse) for evse in evses] + [("TransactionEnded", evse) for evse in evses]
            )
        assert await repository.active_transactions() == []


async def samples(repository: Repository, station_id: str, *, minutes: int) -> list:
    moment = T0 + timedelta(minutes=minutes)
    return await repository.meter_samples(station_id, moment, moment + timedelta(seconds=1))


async def transactions_of(repository: Repository, station_id: str) -> list:
    """Every transaction the station's journal says started, in the order they started."""
    started = await repository.journal(station_id, kinds=["TransactionStarted"])
    return [await repository.get_transaction(station_id, entry.payload["transaction_id"]) for entry in started]
