"""Builders of DCSA events for the tracking tests: `dcsa(...)` makes one event as a partner would send it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)
BOX = "MSKU1234565"  # a valid ISO 6346 number
_ids = itertools.count(1)


def dcsa(
    code: str,
    minutes: float = 0,
    *,
    container: str = BOX,
    kind: str | None = None,
    classifier: str = "ACT",
    place: str = "NLRTM",
    facility: str = "DELTA",
    event_id: str | None = None,
    updated_minutes: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One event `minutes` after 06:00 on 12 March 2025; `code` picks the type (DRO/DRC/LOC are IoT, SCAN, CAMERA,
    ISSUED/TRANSFERRED/GATE_* are release steps, everything else an equipment event)."""
    when = T0 + timedelta(minutes=minutes)
    if kind is None:
        kind = (
            "IOT"
            if code in ("DRO", "DRC", "LOC")
            else "SCAN"
            if code == "SCAN"
            else "CAMERA"
            if code == "CAMERA"
            else "RELEASE"
            if code in ("ISSUED", "TRANSFERRED", "GATE_ALLOWED", "GATE_DENIED", "REVOKED")
            else "EQUIPMENT"
        )
    classification: dict[str, Any] = {"eventTypeCode": kind, "eventClassifierCode": classifier}
    event: dict[str, Any] = {
        "eventID": event_id or f"e{next(_ids)}",
        "eventDateTime": when.isoformat(),
        "eventUpdatedDateTime": (
            T0 + timedelta(minutes=updated_minutes if updated_minutes is not None else minutes)
        ).isoformat(),
        "eventLocation": {"UNLocationCode": place, "facility": {"facilityCode": facility}},
        "eventClassification": classification,
    }
    if kind != "CAMERA":
        event["equipmentDetails"] = {"equipmentReference": container}
    if kind == "EQUIPMENT":
        classification["equipmentEventTypeCode"] = code
    elif kind == "IOT":
        classification["iotEventTypeCode"] = "DETC"
        event["iotDetails"] = {"iotEventCode": code}
    elif kind == "SCAN":
        event["scanDetails"] = {"scannerID": "SC1", "verdict": extra.pop("verdict", "CLEAR")}
        if "weight" in extra:
            event["scanDetails"]["measuredGrossWeightKg"] = extra.pop("weight")
        if "tare" in extra:
            event["scanDetails"]["tareWeightKg"] = extra.pop("tare")
    elif kind == "CAMERA":
        event["cameraDetails"] = {
            "cameraID": "G4",
            "readReference": extra.pop("read", container),
            "confidence": extra.pop("confidence", 0.97),
        }
    elif kind == "RELEASE":
        event["releaseDetails"] = {"releaseRightID": extra.pop("right", "rr1"), "action": code}
        if "driver" in extra:
            event["releaseDetails"]["driverID"] = extra.pop("driver")
    for name in ("seals", "empty", "iso", "spot"):
        if name not in extra:
            continue
        value = extra.pop(name)
        if name == "seals":
            event["equipmentDetails"]["seals"] = [{"number": s} for s in value]
        elif name == "empty":
            event["equipmentDetails"]["emptyIndicatorCode"] = "EMPTY" if value else "LADEN"
        elif name == "iso":
            event["equipmentDetails"]["ISOEquipmentCode"] = value
        else:
            event["eventLocation"]["locationName"] = value
    assert not extra, f"unknown builder arguments {extra}"
    return event


def clean_import(container: str = BOX, start: float = 0) -> list[dict[str, Any]]:
    """A legitimate import: discharged, placed by work order, released by customs, picked up by the assigned driver."""
    s = start
    return [
        dcsa("DISC", s, container=container, empty=False, seals=["ML-123456"], iso="22G1"),
        dcsa("LOC", s + 5, container=container, classifier="PLN", spot="YARD B12"),
        dcsa("LOC", s + 20, container=container, spot="YARD B12"),
        dcsa("CUSR", s + 600, container=container),
        dcsa("ISSUED", s + 610, container=container),
        dcsa("TRANSFERRED", s + 620, container=container, driver="drv-7"),
        dcsa("CAMERA", s + 1439, container=container),
        dcsa("GATE_ALLOWED", s + 1440, container=container, driver="drv-7"),
        dcsa("GTOT", s + 1441, container=container, seals=["ML123456"], iso="22GP"),
    ]


@pytest.fixture
def event():
    return dcsa
