"""Rules that hold a profile against what the station already holds and the transactions running on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from wattcap.core.model import ChargingProfile, ChargingProfileKind, ChargingProfilePurpose, InstalledProfile
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import ALL_VERSIONS, SENT, SET, V2X, V16, Check, Hit, error, warning

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX = ChargingProfilePurpose.TX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS


def _ends_before(end: datetime | None, start: datetime | None) -> bool:
    """Whether a validity that ends at ``end`` is over by ``start`` (None: open on that side; validTo excluded)."""
    return end is not None and start is not None and end <= start


def _validities_overlap(a: ChargingProfile, b: ChargingProfile) -> bool:
    return not _ends_before(a.valid_to, b.valid_from) and not _ends_before(b.valid_to, a.valid_from)


def _valid_at(profile: ChargingProfile, instant: datetime) -> bool:
    return (profile.valid_from is None or profile.valid_from <= instant) and (
        profile.valid_to is None or instant < profile.valid_to
    )


def _no_transaction(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is not TX or req.evse_id <= 0 or not req.station.has_evse(req.evse_id):
        return
    if not req.transactions_on(req.evse_id):
        yield Hit(
            req.facts.evse_field,
            f"no transaction is running on {req.facts.evse_noun} {req.evse_id}, and a TxProfile cannot be set in "
            "advance; use a TxDefaultProfile, or the profile of a remote start",
        )


def _wrong_transaction(req: ProfileRequest) -> Iterator[Hit]:
    wanted = req.profile.transaction_id
    if req.profile.purpose is not TX or wanted is None:
        return
    running = {t.transaction_id for t in req.transactions_on(req.evse_id) if t.transaction_id is not None}
    if running and wanted not in running:
        elsewhere = [t.evse_id for t in req.transactions if t.transaction_id == wanted]
        where = f" (it runs on {req.facts.evse_noun} {elsewhere[0]})" if elsewhere else ""
        yield Hit(
            "transactionId",
            f"transaction {wanted!r} is not the one running on {req.facts.evse_noun} {req.evse_id} "
            f"({', '.join(sorted(running))}){where}",
        )


def _replaces_external(req: ProfileRequest) -> Iterator[Hit]:
    for held in req.installed:
        if held.profile.id == req.profile.id and held.profile.purpose is EXTERNAL:
            yield Hit(
                req.facts.profile_id_field,
                f"id {req.profile.id} belongs to a ChargingStationExternalConstraints profile, which the CSMS cannot "
                "replace; choose another id",
            )


def _duplicate(req: ProfileRequest) -> Iterator[Hit]:
    mine = req.profile
    if mine.purpose is TX:
        return
    for held in req.others:
        theirs = held.profile
        if (
            held.evse_id == req.evse_id
            and theirs.purpose is mine.purpose
            and theirs.stack_level == mine.stack_level
            and _validities_overlap(mine, theirs)
        ):
            yield Hit(
                "stackLevel",
                f"profile {theirs.id} already has stackLevel {mine.stack_level} for {mine.purpose.value} on "
                f"{req.facts.evse_noun} {req.evse_id} with an overlapping validity; update it by sending the same id, "
                "or use another stack level or non-overlapping validFrom/validTo",
            )


def _tx_default_clash(new_on_station: bool) -> Check:
    """TxDefault on the station vs on one EVSE at the same stack level (``new_on_station``: the new one is on 0)."""

    def check(req: ProfileRequest) -> Iterator[Hit]:
        mine = req.profile
        if mine.purpose is not TX_DEFAULT or (req.evse_id == 0) is not new_on_station:
            return
        for held in req.others:
            if (
                held.profile.purpose is TX_DEFAULT
                and held.profile.stack_level == mine.stack_level
                and (held.evse_id != 0 if new_on_station else held.evse_id == 0)
            ):
                yield Hit(
                    "stackLevel",
                    f"TxDefaultProfile {held.profile.id} on {req.facts.evse_noun} {held.evse_id} already uses "
                    f"stackLevel {mine.stack_level}; give station-wide and {req.facts.evse_noun}-specific defaults "
                    "different stack levels (e.g. 0 for the station, 1 for overrides, A4)",
                )

    return check


def _tx_default_clash_either(req: ProfileRequest) -> Iterator[Hit]:
    yield from _tx_default_clash(new_on_station=True)(req)
    yield from _tx_default_clash(new_on_station=False)(req)


def _tx_stack_level_taken(req: ProfileRequest) -> Iterator[Hit]:
    mine = req.profile
    if mine.purpose is not TX or mine.transaction_id is None:
        return
    for held in req.others:
        theirs = held.profile
        same_transaction = theirs.transaction_id == mine.transaction_id
        if theirs.purpose is TX and same_transaction and theirs.stack_level == mine.stack_level:
            yield Hit(
                "stackLevel",
                f"TxProfile {theirs.id} of transaction {mine.transaction_id!r} already uses stackLevel "
                f"{mine.stack_level}; resend with id {theirs.id} to update it, or use another stack level",
            )


def _replaced(req: ProfileRequest, held: InstalledProfile) -> bool:
    mine, theirs = req.profile, held.profile
    if theirs.id == mine.id:
        return True
    return (
        req.facts.replaces_by_stack_level
        and held.evse_id == req.evse_id
        and theirs.purpose is mine.purpose
        and theirs.stack_level == mine.stack_level
    )


def _too_many_installed(req: ProfileRequest) -> Iterator[Hit]:
    most = req.caps.max_installed_profiles
    if most is None:
        return
    after = sum(1 for held in req.installed if not _replaced(req, held)) + 1
    if after > most:
        yield Hit(
            "",
            f"the station would hold {after} profiles, more than its maximum of {most} (MaxChargingProfilesInstalled "
            "/ Entries[ChargingProfiles].maxLimit); clear ended TxProfiles by id first (A12)",
        )


def _valid_to_as_safety_cap(req: ProfileRequest) -> Iterator[Hit]:
    mine = req.profile
    if mine.purpose not in (MAX, TX_DEFAULT) or mine.valid_to is None:
        return
    successor = any(
        held.profile.purpose is mine.purpose
        and held.evse_id in (req.evse_id, 0)
        and _valid_at(held.profile, mine.valid_to)
        for held in req.others
    )
    if not successor:
        yield Hit(
            "validTo",
            f"nothing of purpose {req.purpose_name} takes over at validTo, so the limit simply ends; chargers have "
            "been seen to mishandle validity (A11). If the limit protects the site, re-send or clear it explicitly "
            "instead of relying on validTo",
        )


def _future_start_mid_session(req: ProfileRequest) -> Iterator[Hit]:
    mine = req.profile
    if req.now is None or mine.purpose is not TX or mine.kind is not ChargingProfileKind.ABSOLUTE:
        return
    if not req.transactions_on(req.evse_id):
        return
    for i, schedule in req.schedules():
        if schedule.start_schedule is not None and schedule.start_schedule > req.now:
            yield Hit(
                req.facts.schedule(i, "startSchedule"),
                "startSchedule is in the future: until then the session runs on the TxDefaultProfile or unlimited "
                "(a gap). Set startSchedule slightly in the past, e.g. a minute ago (A6)",
            )


def _relative_mid_session(req: ProfileRequest) -> Iterator[Hit]:
    mine = req.profile
    if mine.purpose not in (TX, TX_DEFAULT) or mine.kind is not ChargingProfileKind.RELATIVE:
        return
    if req.transactions_on(req.evse_id):
        yield Hit(
            "chargingProfileKind",
            "a Relative profile during a running session: some chargers start it at the transaction start (so it "
            "begins mid-schedule), others on receipt (A6). Send it Absolute with startSchedule slightly in the past",
        )


def _tx_default_during_transaction(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is TX_DEFAULT and req.transactions_on(req.evse_id):
        yield Hit(
            "chargingProfilePurpose",
            "a transaction is running: some 1.6 chargers apply a new TxDefaultProfile only to the next transaction "
            "(A16). For a live limit send a TxProfile with the transactionId",
        )


RULES = (
    error(
        "R16-03",
        V16,
        SET,
        "TxProfile only while a transaction runs on the connector.",
        _no_transaction,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.09",
        V2X,
        SET,
        "TxProfile only while a transaction runs on the EVSE.",
        _no_transaction,
        reason_code=ReasonCode.TX_NOT_FOUND,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "R16-04",
        V16,
        SET,
        "A TxProfile's transactionId is the transaction running on the connector.",
        _wrong_transaction,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.33",
        V2X,
        SET,
        "A TxProfile's transactionId is a known transaction on the EVSE.",
        _wrong_transaction,
        reason_code=ReasonCode.TX_NOT_FOUND,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.05",
        V2X,
        SET,
        "The CSMS cannot replace a ChargingStationExternalConstraints profile by sending its id.",
        _replaces_external,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.06",
        V2X,
        SET,
        "No second non-Tx profile with the same (stackLevel, purpose, evseId) and overlapping validity.",
        _duplicate,
        reason_code=ReasonCode.DUPLICATE_PROFILE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.52",
        V2X,
        SET,
        "A TxDefaultProfile on evseId 0 at a stack level an EVSE's TxDefaultProfile already uses.",
        _tx_default_clash(new_on_station=True),
        reason_code=ReasonCode.DUPLICATE_PROFILE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.53",
        V2X,
        SET,
        "A TxDefaultProfile on an EVSE at a stack level the evseId 0 TxDefaultProfile already uses.",
        _tx_default_clash(new_on_station=False),
        reason_code=ReasonCode.DUPLICATE_PROFILE,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W13",
        V16,
        SET,
        "1.6: connector-0 and connector TxDefaultProfiles at the same stack level; chargers disagree (A4).",
        _tx_default_clash_either,
    ),
    error(
        "K01.FR.39",
        V2X,
        SET,
        "No second TxProfile with the same (stackLevel, transactionId).",
        _tx_stack_level_taken,
        reason_code=ReasonCode.INVALID_STACK_LEVEL,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E04",
        ALL_VERSIONS,
        SENT,
        "Installing would exceed MaxChargingProfilesInstalled / Entries[ChargingProfiles].maxLimit (A12).",
        _too_many_installed,
        reason_code=ReasonCode.TOO_MANY_ELEMENTS,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W10",
        ALL_VERSIONS,
        SET,
        "validTo used as a safety cap: a station max / TxDefault ends and nothing takes over (A11).",
        _valid_to_as_safety_cap,
    ),
    warning(
        "WC-W11",
        ALL_VERSIONS,
        SET,
        "Absolute TxProfile mid-session with startSchedule in the future leaves a gap (A6; needs the time).",
        _future_start_mid_session,
    ),
    warning(
        "WC-W12",
        ALL_VERSIONS,
        SET,
        "Relative TxProfile / TxDefaultProfile during a running session: its start is charger-dependent (A6).",
        _relative_mid_session,
    ),
    warning(
        "WC-W14",
        V16,
        SET,
        "1.6: a TxDefaultProfile while a transaction runs may only apply to the next one (A16).",
        _tx_default_during_transaction,
    ),
)
