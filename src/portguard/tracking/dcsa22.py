"""Adapter from DCSA Track & Trace 2.2 events to the 3.0 shape PortGuard stores.

2.2 events are flat (`eventType`, `equipmentEventTypeCode`, `equipmentReference` and the location's latitude and
longitude at the top of their objects); 3.0 groups them (`eventClassification`, `equipmentDetails`,
`eventLocation.geoCoordinate`). Partners still on 2.2 send to the same endpoint: an event with a top-level
`eventType` is a 2.2 event and is converted before validation, so both versions meet the same checks. Fields 3.0
has no place for (`references`, `otherFacility`, ...) are kept under the 3.0 objects that allow extra fields.
"""

from __future__ import annotations

from typing import Any


def is_v22(event: Any) -> bool:
    """Whether a raw event is in the 2.2 shape."""
    return isinstance(event, dict) and "eventType" in event and "eventClassification" not in event


def _location(loc: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(loc, dict):
        return None
    out: dict[str, Any] = {k: v for k, v in loc.items() if k in ("locationName", "UNLocationCode", "address")}
    if loc.get("latitude") is not None and loc.get("longitude") is not None:
        out["geoCoordinate"] = {"latitude": loc["latitude"], "longitude": loc["longitude"]}
    if loc.get("facilityCode"):
        out["facility"] = {"facilityCode": loc["facilityCode"]}
        if loc.get("facilityCodeListProvider"):
            out["facility"]["facilityCodeListProvider"] = loc["facilityCodeListProvider"]
    return out


def to_v30(event: dict[str, Any]) -> dict[str, Any]:
    """The 3.0 form of one 2.2 event (unknown 2.2 codes are passed on, so 3.0 validation names them)."""
    kind = event.get("eventType")
    classification: dict[str, Any] = {"eventTypeCode": kind, "eventClassifierCode": event.get("eventClassifierCode")}
    for code in ("equipmentEventTypeCode", "transportEventTypeCode", "shipmentEventTypeCode"):
        if event.get(code) is not None:
            classification[code] = event[code]
    out: dict[str, Any] = {
        "eventID": event.get("eventID"),
        "eventDateTime": event.get("eventDateTime"),
        "eventUpdatedDateTime": event.get("eventCreatedDateTime"),
        "eventClassification": classification,
    }
    call = event.get("transportCall")
    location = _location(event.get("eventLocation"))
    if location is None and isinstance(call, dict) and call.get("UNLocationCode"):
        location = {"UNLocationCode": call["UNLocationCode"]}
        if call.get("facilityCode"):
            location["facility"] = {"facilityCode": call["facilityCode"]}
    if location:
        out["eventLocation"] = location
    if isinstance(call, dict):
        out["transportDetails"] = {"transportCall": call}
    if kind == "EQUIPMENT" or event.get("equipmentReference"):
        details: dict[str, Any] = {"equipmentReference": event.get("equipmentReference")}
        for name in ("ISOEquipmentCode", "emptyIndicatorCode"):
            if event.get(name) is not None:
                details[name] = event[name]
        seals = event.get("seals")
        if isinstance(seals, list):
            details["seals"] = [
                {
                    k2: s[k1]
                    for k1, k2 in (("sealNumber", "number"), ("sealSource", "source"), ("sealType", "type"))
                    if isinstance(s, dict) and s.get(k1) is not None
                }
                for s in seals
            ]
        out["equipmentDetails"] = details
    if kind == "SHIPMENT" or event.get("documentReferences") or event.get("references"):
        shipment: dict[str, Any] = {}
        if event.get("documentID"):
            shipment["documentReference"] = {
                "typeCode": event.get("documentTypeCode"),
                "reference": event["documentID"],
            }
        if event.get("documentReferences"):
            shipment["additionalDocumentReferences"] = [
                {"typeCode": d.get("documentReferenceType"), "reference": d.get("documentReferenceValue")}
                for d in event["documentReferences"]
                if isinstance(d, dict)
            ]
        if event.get("references"):
            shipment["references"] = event["references"]
        if event.get("reason"):
            shipment["reason"] = event["reason"]
        out["shipmentDetails"] = shipment
    return out


def normalise(event: Any) -> Any:
    """A raw event in the 3.0 shape (2.2 converted, anything else as it is)."""
    return to_v30(event) if is_v22(event) else event
