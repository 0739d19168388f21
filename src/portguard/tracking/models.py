"""Container events in the shape of DCSA Track & Trace 3.0, their table, and the port alerts detectors raise.

The internal event is DCSA's T&T 3.0 `Event` (equipment, transport, shipment, IoT and reefer events), validated
strictly where a detector reads it (codes, container number, times, seals) and kept as sent elsewhere. What DCSA has
no event for, PortGuard adds in DCSA's own pattern, an event type with its details object:

* `SCAN` + `scanDetails`: a scanner's or weighbridge's verdict (CLEAR, SUSPECT, ALARM) and measured gross weight;
* `CAMERA` + `cameraDetails`: an OCR camera's read of a container number with its confidence (a read that fails the
  ISO 6346 check digit is kept as unresolved, never attached to a container);
* `RELEASE` + `releaseDetails`: a step of a release right (issued, transferred, gate allowed or denied).

Detectors do not read pydantic objects: `TrackEvent.flat()` turns an event into `Ev`, a small slotted record with
the event time in epoch seconds, so that a timeline of twenty events is re-checked in microseconds.

Event ids are namespaced by the owner organisation (`<org>:<eventID>`), as declaration ids are: one partner's
ids can neither collide with nor overwrite another's. DCSA's rule applies within an owner: an event replaces an
earlier one with the same id only if its `eventUpdatedDateTime` is later, and `isRetracted` withdraws it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import JSON, Boolean, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, LegalRegime, ProtectedMixin
from portguard.declarations.models import ContainerNumber, Locode, _container


class EventType(StrEnum):
    SHIPMENT = "SHIPMENT"
    TRANSPORT = "TRANSPORT"
    EQUIPMENT = "EQUIPMENT"
    IOT = "IOT"
    REEFER = "REEFER"
    SCAN = "SCAN"  # PortGuard: scanner or weighbridge verdict
    CAMERA = "CAMERA"  # PortGuard: OCR read of a container number
    RELEASE = "RELEASE"  # PortGuard: a step of a release right


EQUIPMENT_CODES = frozenset(
    {
        "AVDO",
        "AVPU",
        "CROS",
        "CUSI",
        "CUSR",
        "CUSS",
        "DISC",
        "DROP",
        "GTIN",
        "GTOT",
        "INSP",
        "LOAD",
        "PICK",
        "RMVD",
        "RSEA",
        "STRP",
        "STUF",
    }
)
TRANSPORT_CODES = frozenset({"ARRI", "DEPA"})
SHIPMENT_CODES = frozenset(
    {
        "AMCF",
        "AMCN",
        "AMDC",
        "AMPR",
        "AMRE",
        "APPR",
        "CACF",
        "CADC",
        "CANC",
        "CARE",
        "CMPL",
        "CONF",
        "DECL",
        "DRFT",
        "HOLD",
        "ISSU",
        "PENA",
        "PENM",
        "PENU",
        "PSAM",
        "PSDL",
        "RECE",
        "REJE",
        "RELS",
        "REQS",
        "SUAM",
        "SUBM",
        "SUDL",
        "SURR",
        "UPCF",
        "UPCN",
        "UPDC",
        "UPDT",
        "UPRE",
        "VOID",
    }
)
IOT_CODES = frozenset({"DRC", "DRO", "LOC"})
CLASSIFIERS = frozenset({"PLN", "EST", "ACT"})
SCAN_VERDICTS = frozenset({"CLEAR", "SUSPECT", "ALARM"})
RELEASE_ACTIONS = frozenset({"ISSUED", "TRANSFERRED", "GATE_ALLOWED", "GATE_DENIED", "REVOKED"})


class _Open(BaseModel):
    """DCSA objects PortGuard stores as sent (locations, transport calls, routing): unknown fields kept."""

    model_config = ConfigDict(extra="allow")


class Facility(_Open):
    facilityName: str | None = Field(default=None, max_length=100)
    facilityCode: str | None = Field(default=None, max_length=6)
    facilityCodeListProvider: str | None = Field(default=None, max_length=10)


class GeoCoordinate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Location(_Open):
    locationName: str | None = Field(default=None, max_length=100)
    facilityTypeCode: str | None = Field(default=None, max_length=10)
    UNLocationCode: Locode | None = None
    facility: Facility | None = None
    geoCoordinate: GeoCoordinate | None = None


class Classification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eventTypeCode: EventType
    eventClassifierCode: Literal["PLN", "EST", "ACT"]
    shipmentEventTypeCode: str | None = None
    transportEventTypeCode: str | None = None
    equipmentEventTypeCode: str | None = None
    iotEventTypeCode: Literal["DETC"] | None = None
    reeferEventTypeCode: Literal["MEAS", "ADJU"] | None = None

    @model_validator(mode="after")
    def _codes(self) -> Classification:
        checks = {
            "shipmentEventTypeCode": SHIPMENT_CODES,
            "transportEventTypeCode": TRANSPORT_CODES,
            "equipmentEventTypeCode": EQUIPMENT_CODES,
        }
        for name, codes in checks.items():
            value = getattr(self, name)
            if value is not None and value not in codes:
                raise ValueError(f"unknown {name} {value!r} (DCSA T&T 3.0 knows {', '.join(sorted(codes))})")
        needed = {
            EventType.EQUIPMENT: "equipmentEventTypeCode",
            EventType.TRANSPORT: "transportEventTypeCode",
            EventType.SHIPMENT: "shipmentEventTypeCode",
        }.get(self.eventTypeCode)
        if needed and getattr(self, needed) is None:
            raise ValueError(f"a {self.eventTypeCode.value} event needs {needed}")
        return self


class Seal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=15)
    source: Literal["CAR", "CNS", "CST", "CUS", "PHY", "SHI", "TER", "VET"] | None = None
    type: Literal["KLP", "BLT", "WIR"] | None = None
    placement: Literal["DOOR", "VENT"] = "DOOR"


class EquipmentDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    equipmentReference: ContainerNumber
    ISOEquipmentCode: str | None = Field(default=None, pattern=r"^[0-9A-Z]{2}[A-Z][0-9A-Z]$")
    emptyIndicatorCode: Literal["EMPTY", "LADEN"] | None = None
    movementType: Literal["IMPORT", "EXPORT", "TRANSSHIPMENT"] | None = None
    seals: list[Seal] | None = Field(default=None, max_length=10)


class IotDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iotEventCode: Literal["DRC", "DRO", "LOC"]


class ScanDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scannerID: str = Field(min_length=1, max_length=40)
    verdict: Literal["CLEAR", "SUSPECT", "ALARM"]
    measuredGrossWeightKg: float | None = Field(default=None, ge=0, le=100_000)
    tareWeightKg: float | None = Field(
        default=None,
        ge=0,
        le=20_000,
        description="the box's tare as marked on it (read with the number, or from the owner's register)",
    )
    imageReference: str | None = Field(default=None, max_length=200)


class CameraDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameraID: str = Field(min_length=1, max_length=40)
    readReference: str = Field(min_length=1, max_length=20, description="the number the camera read, as read")
    confidence: float = Field(ge=0, le=1)


class ReleaseDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    releaseRightID: str = Field(min_length=1, max_length=60)
    action: Literal["ISSUED", "TRANSFERRED", "GATE_ALLOWED", "GATE_DENIED", "REVOKED"]
    holderCode: str | None = Field(default=None, max_length=60, description="organisation holding the right")
    driverID: str | None = Field(default=None, max_length=60)
    reason: str | None = Field(default=None, max_length=500)


class TrackEvent(BaseModel):
    """One DCSA T&T 3.0 event (with PortGuard's SCAN, CAMERA and RELEASE types)."""

    model_config = ConfigDict(extra="forbid")
    eventID: str = Field(min_length=1, max_length=100)
    isRetracted: bool = False
    eventDateTime: AwareDatetime | None = None
    eventUpdatedDateTime: AwareDatetime | None = None
    eventRouting: _Open | None = None
    eventLocation: Location | None = None
    eventClassification: Classification | None = None
    shipmentDetails: _Open | None = None
    transportDetails: _Open | None = None
    equipmentDetails: EquipmentDetails | None = None
    iotDetails: IotDetails | None = None
    reeferDetails: _Open | None = None
    scanDetails: ScanDetails | None = None
    cameraDetails: CameraDetails | None = None
    releaseDetails: ReleaseDetails | None = None

    @field_validator("eventDateTime", "eventUpdatedDateTime")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError(f"{value.isoformat()} is outside 2000–2100")
        return value

    @model_validator(mode="after")
    def _shape(self) -> TrackEvent:
        if self.isRetracted:
            return self
        if self.eventDateTime is None or self.eventClassification is None:
            raise ValueError("an event needs eventDateTime and eventClassification (unless isRetracted)")
        kind = self.eventClassification.eventTypeCode
        details = {
            EventType.IOT: "iotDetails",
            EventType.SCAN: "scanDetails",
            EventType.CAMERA: "cameraDetails",
            EventType.RELEASE: "releaseDetails",
        }.get(kind)
        if details and getattr(self, details) is None:
            raise ValueError(f"a {kind.value} event needs {details}")
        if kind in (EventType.EQUIPMENT, EventType.IOT, EventType.SCAN, EventType.RELEASE) and (
            self.equipmentDetails is None
        ):
            raise ValueError(f"a {kind.value} event needs equipmentDetails.equipmentReference")
        return self

    @property
    def container(self) -> str | None:
        """The container the event is about: its equipment reference, or a camera's valid read."""
        if self.equipmentDetails is not None:
            return self.equipmentDetails.equipmentReference
        if self.cameraDetails is not None:
            try:
                return _container(self.cameraDetails.readReference)
            except ValueError:
                return None
        return None

    @property
    def code(self) -> str:
        """The one code detectors switch on: the equipment/transport/shipment code, DRO/DRC/LOC, SCAN, CAMERA,
        or the release action."""
        c = self.eventClassification
        if c is None:
            return "RETRACTED"
        if self.iotDetails is not None:
            return self.iotDetails.iotEventCode
        if self.releaseDetails is not None:
            return self.releaseDetails.action
        return (
            c.equipmentEventTypeCode
            or c.transportEventTypeCode
            or c.shipmentEventTypeCode
            or c.reeferEventTypeCode
            or c.eventTypeCode.value
        )

    def flat(self, *, key: str) -> Ev:
        """The detectors' view of this event, under its namespaced id `key`."""
        loc = self.eventLocation
        eq = self.equipmentDetails
        geo = loc.geoCoordinate if loc else None
        truck = None
        if self.transportDetails is not None:
            call = (self.transportDetails.model_extra or {}).get("transportCall") or {}
            tractor = ((call.get("truckTransport") or {}).get("tractorDetails") or {}) if isinstance(call, dict) else {}
            truck = tractor.get("licensePlate") if isinstance(tractor, dict) else None
        return Ev(
            key=key,
            t=self.eventDateTime.timestamp() if self.eventDateTime else 0.0,
            kind=self.eventClassification.eventTypeCode.value if self.eventClassification else "RETRACTED",
            code=self.code,
            classifier=self.eventClassification.eventClassifierCode if self.eventClassification else "ACT",
            container=self.container,
            iso=eq.ISOEquipmentCode if eq else None,
            empty=None if eq is None or eq.emptyIndicatorCode is None else eq.emptyIndicatorCode == "EMPTY",
            seals=tuple(sorted(s.number for s in eq.seals)) if eq is not None and eq.seals is not None else None,
            place=(loc.UNLocationCode if loc else None),
            facility=(loc.facility.facilityCode if loc and loc.facility else None),
            spot=(loc.locationName if loc else None),
            lat=geo.latitude if geo else None,
            lon=geo.longitude if geo else None,
            verdict=self.scanDetails.verdict if self.scanDetails else None,
            weight=self.scanDetails.measuredGrossWeightKg if self.scanDetails else None,
            tare=self.scanDetails.tareWeightKg if self.scanDetails else None,
            confidence=self.cameraDetails.confidence if self.cameraDetails else None,
            right=self.releaseDetails.releaseRightID if self.releaseDetails else None,
            holder=self.releaseDetails.holderCode if self.releaseDetails else None,
            driver=self.releaseDetails.driverID if self.releaseDetails else None,
            truck=truck,
        )


@dataclass(slots=True)
class Ev:
    """What a detector reads of one event (times in epoch seconds)."""

    key: str
    t: float
    kind: str
    code: str
    classifier: str = "ACT"
    container: str | None = None
    iso: str | None = None
    empty: bool | None = None
    seals: tuple[str, ...] | None = None
    place: str | None = None
    facility: str | None = None
    spot: str | None = None
    lat: float | None = None
    lon: float | None = None
    verdict: str | None = None
    weight: float | None = None
    tare: float | None = None
    confidence: float | None = None
    right: str | None = None
    holder: str | None = None
    driver: str | None = None
    truck: str | None = None

    @property
    def actual(self) -> bool:
        return self.classifier == "ACT"

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what `container_events.flat` stores); `Ev(**d)` reads it back."""
        return {name: getattr(self, name) for name in _EV_FIELDS}


_EV_FIELDS = tuple(f.name for f in fields(Ev))


class EventBatch(BaseModel):
    """The body of `POST /api/tracking/events` (DCSA's `PostEventsRequest`)."""

    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


# ---------------------------------------------------------------- tables


class ContainerEvent(ProtectedMixin, Base):
    """One stored event; `id` is `<owner org>:<eventID>`."""

    __tablename__ = "container_events"
    __record_type__ = "event"
    __table_args__ = (Index("ix_container_events_container_time", "container_number", "event_time"),)

    id: Mapped[str] = mapped_column(String(150), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100))
    container_number: Mapped[str | None] = mapped_column(String(11), nullable=True)
    event_type: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(16))
    classifier: Mapped[str] = mapped_column(String(3), default="ACT")
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    place: Mapped[str | None] = mapped_column(String(5), nullable=True)
    facility: Mapped[str | None] = mapped_column(String(6), nullable=True)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    flat: Mapped[dict[str, Any]] = mapped_column(JSON)  # the detectors' `Ev`, so a timeline loads without pydantic
    source: Mapped[str] = mapped_column(String(16), default="http")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RejectedEvent(Base):
    """An event that failed validation, kept with the error so that nothing sent is lost without a trace."""

    __tablename__ = "rejected_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_org_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    WITHDRAWN = "withdrawn"  # a late event showed the finding was wrong


class PortAlert(ProtectedMixin, Base):
    """A detector's finding about a container, owned by the organisation whose event triggered it."""

    __tablename__ = "port_alerts"
    __record_type__ = "port_alert"
    __table_args__ = (UniqueConstraint("owner_org_id", "container_number", "detector", "finding_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    container_number: Mapped[str] = mapped_column(String(11), index=True)
    detector: Mapped[str] = mapped_column(String(32), index=True)
    finding_key: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8), default="high")
    reason: Mapped[str] = mapped_column(Text)
    event_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN.value)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class AlertSharing(BaseModel):
    """How the alerts an ingest raises are shared (TLP code and group), chosen by the organisation sending."""

    model_config = ConfigDict(extra="forbid")
    handling: Handling = Handling.AMBER
    sharing_group_id: str | None = None
    legal_regime: LegalRegime = LegalRegime.GDPR


def epoch(value: float) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(value, tz=UTC)
