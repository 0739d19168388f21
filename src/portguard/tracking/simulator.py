"""A container terminal's day as a stream of DCSA Track & Trace 3.0 events, with labelled smuggling injections.

Why it exists: the detectors (`portguard.tracking.detectors`) are rules over a container's timeline, and a rule is
only as good as its precision and recall on data whose difficulties look like the real thing. Real terminal event
streams are confidential; this simulator stands in for them. It draws only from `random.Random` seeded by `seed`
(no global state, no clock, no network): the same arguments give the same events, labels and statistics.

What it models, for one terminal (`terminal`, default DELTA) in one port (`port`, default NLRTM):

* Vessel calls every 2.5-6.5 h, at berth 16-40 h, each with its TRANSPORT events (EST then ACT `ARRI`, ACT
  `DEPA`) and a transport call (reference, vessel name and IMO number with its check digit, voyage, operator).
* Containers with valid ISO 6346 numbers (carriers' and lessors' owner codes), ISO size-type codes 22G1, 42G1,
  45G1 and 45R1 (reefers, about 15 % of laden boxes) and tare weights by type (`TARE_KG`). Every container leaves
  the terminal on `day`; its stay began one to six days earlier (longer under a customs hold), so the stream holds
  complete stays and starts up to a few weeks before `day`.
* Imports (about 55 %): `DISC` from a vessel (LADEN, IMPORT, carrier and sometimes shipper seals), yard placement
  as the terminal's work order (IOT `LOC`, classifier PLN, issued 10 min-3 h ahead; its `eventDateTime` is the
  planned time) and the move itself (ACT `LOC`, `locationName` the slot, e.g. "YARD B12-03-2", done between 8 min
  before and 40 min after the planned time), housekeeping moves (PLN then ACT, sometimes re-planned to another
  slot), customs (`CUSS` and an X-ray SCAN for about 3 %, `CUSI` for about 1 % and for suspect scans: a move to
  the inspection bay, door opened and closed, `INSP` recorded up to two hours after the doors opened, `RSEA` with
  a customs seal; holds of hours to two weeks), `CUSR` for every laden import, stripping at the CFS for about 5 %
  (doors open, `STRP`, the box leaves EMPTY and unsealed), then the release right as RELEASE events (`ISSUED` to
  the line, `TRANSFERRED` to a forwarder, to a haulier, to a driver), and at the out-gate an OCR CAMERA read, a
  `GATE_ALLOWED` and `GTOT` by truck with the tractor's licence plate and the seals of the discharge (or the
  customs seal after an inspection).
* Exports (about 28 %): CAMERA read, often a weighbridge SCAN (VGM), `GTIN` by truck, yard, export `CUSR`
  (sometimes before the gate-in), sometimes `CUSS` and SCAN, a PLN `LOAD` from the stowage plan, `LOAD`.
* Transshipments (about 10 %): `DISC`, yard, `LOAD`. Empties (about 7 %): `GTIN` or `DISC` with
  `emptyIndicatorCode` EMPTY, weighed (gate weighbridge or crane load cell: tare within 3 %, for dunnage; nine
  weighings in ten also give the tare marked on the box), leaving
  by `LOAD` or by `GTOT` against an empty release.
* Reefers report REEFER `MEAS` every 3-5 h; about 55 % of boxes carry a tracker that reports IOT `LOC` pings every
  4-10 h with a geo coordinate and no slot, and door openings (IOT `DRO`/`DRC`, enriched with the terminal's slot of
  the box as `locationName`). Events at this terminal have `facility.facilityCode` = `terminal`; events elsewhere
  (another terminal of the port, another port) have that place's codes.

Legitimate noise, never labelled, which a detector must tolerate:

* about 5 % of events delivered late (up to two hours of stream time later, event time unchanged) and about 1 %
  delivered twice (same `eventID`); a PLN work order can so arrive after the move it planned;
* camera misreads (3 % of reads: one character wrong, usually failing the check digit, low confidence);
* door openings that are no crime: CFS stripping, customs inspections (doors open up to two hours before `INSP`
  is recorded), plant-health and veterinary checks of reefer cargo in the yard (`INSP`, then `RSEA` with a PHY or
  VET seal), damage surveys of empties in the yard (`INSP` by the terminal) and at the gate-in survey lane, and
  sensor bounces (DRO then DRC 2-10 s later, about 0.5 % of tracked boxes, a fifth of them with the DRC lost);
* seal numbers written differently by different sources ("ML-123456" and "ML123456"), a gate recording only the
  first of two seals, a clerk swapping two adjacent digits (0.5 % of exit records);
* ISO codes as size-type (22G1) at terminal events and as type group (22GP) at customs and IoT events, and booking
  data with the wrong height (42G1 for 45G1 or back) at one event of about 1 % of 40-foot dry boxes;
* moves put one tier off the planned slot (3 %), work orders re-planned to another slot, moves done up to 2 h late;
* empties weighed with dunnage left inside (2 %: tare + 100-400 kg);
* RELEASE and GTOT times jittered by up to 20 s either way, so a `GATE_ALLOWED` can be stamped a few seconds after
  its `GTOT`; drivers re-assigned; gate refusals followed by a new transfer and a `GATE_ALLOWED`;
* dwell of one to six days with a tail to eleven, customs holds of up to two weeks, customs releases minutes
  before the pick-up;
* the same number at another terminal of the port 25 min-3 h after the gate-out (inter-terminal transport) and
  at the vessel's previous port (`LOAD` 12 h or more before the `DISC`, consistent with the sailing time).

Injections (`MODI`, each drawn per container at `rates`, labelled with the events that show it; a modus that often
comes with another adds it, see `PAIRS`, with the rates corrected so that each is labelled at about its own rate):

* `door_open`: rip-on/rip-off, DRO then DRC 3-30 min later in a yard slot, three times in four at night, with no
  inspection or stripping within hours; one in ten never reports the door closed (a shielded sensor); 40 % come
  with a swapped seal (`seal_tamper`);
* `seal_tamper`: the first seal at the exit (`GTOT` or `LOAD`) differs from the one at entry or the last reseal,
  with no `RSEA` between (a seal of the same series one or two digits off, a new number, or a shipper's seal);
* `clone`: the number at another port while the box is here or 1-3 h from here, at another terminal of the port
  or a second gate-in here while the box is in the yard; four in ten with an incompatible size or type;
* `hotel`: declared EMPTY but weighed at tare + 250-900 kg (gate weighbridge or crane load cell), and/or doors
  opened while empty in the yard (which also carries `door_open`);
* `yard_move`: a move to a new slot with no work order (half of them an hour or more after a planned move), or a
  stay of 12.5-25 days with no customs selection;
* `lane_bypass`: `CUSS` with no X-ray SCAN, or `CUSI` with no `INSP`, before the exit (the `CUSR` still comes);
* `impossible_order`: a `GTOT` before the `DISC` (with no release shown, so also `release_fraud`), or an import
  `GTOT` with no `CUSR` before it (never released, or released after the gate-out);
* `release_fraud`: `GTOT` with no `GATE_ALLOWED`, a `GATE_ALLOWED` for a driver other than the one the right was
  last transferred to, or a `GATE_DENIED` then the `GTOT` anyway.
"""

from __future__ import annotations

import gc
import json
import random
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portguard.declarations.generator import CARRIERS, LESSORS_DRY, LESSORS_REEFER, imo_check, iso6346_check

MODI = (
    "impossible_order",
    "door_open",
    "seal_tamper",
    "clone",
    "hotel",
    "yard_move",
    "lane_bypass",
    "release_fraud",
)
DEFAULT_RATES: dict[str, float] = dict.fromkeys(MODI, 0.004)
DEFAULT_DAY = date(2025, 3, 12)

# ISO size-type -> type group, tare range (kg), share of laden boxes
ISO_TYPES: dict[str, tuple[str, tuple[int, int], float]] = {
    "22G1": ("22GP", (2200, 2400), 0.35),
    "42G1": ("42GP", (3700, 3900), 0.15),
    "45G1": ("45GP", (3750, 3950), 0.35),
    "45R1": ("45RT", (4500, 4900), 0.15),
}
TARE_KG: dict[str, tuple[int, int]] = {code: tare for st, (grp, tare, _) in ISO_TYPES.items() for code in (st, grp)}

# secondary modus added to a container carrying the primary one, with its probability (rates are corrected so
# that each modus is still labelled at about its own rate)
PAIRS = (("hotel", "door_open", 0.4), ("door_open", "seal_tamper", 0.4), ("impossible_order", "release_fraud", 0.5))
KINDS = {"import": 0.55, "export": 0.28, "tship": 0.10, "empty_in": 0.035, "empty_out": 0.035}
LADEN = frozenset({"import", "export", "tship"})
COMPAT: dict[str, frozenset[str]] = {
    "impossible_order": frozenset({"import"}),
    "door_open": LADEN,
    "seal_tamper": LADEN,
    "clone": frozenset(KINDS),
    "hotel": frozenset({"empty_in", "empty_out"}),
    "yard_move": frozenset(KINDS),
    "lane_bypass": frozenset({"import", "export"}),
    "release_fraud": frozenset({"import", "empty_out"}),
}

# other places a number shows up: port -> (terminal codes, shortest sailing time to here in hours)
OTHER_PORTS: dict[str, tuple[tuple[str, ...], float]] = {
    "BEANR": (("DGD", "MPET", "NSCT"), 12.0),
    "DEHAM": (("CTA", "CTB", "EGH"), 22.0),
    "DEBRV": (("NTB", "EGC"), 20.0),
    "FRLEH": (("TDF", "TNMSC"), 16.0),
    "GBFXT": (("FXT",), 14.0),
    "PLGDN": (("DCT",), 40.0),
}
FAR_PORTS = ("DEHAM", "DEBRV", "FRLEH", "PLGDN")  # more than 3 h by road from the simulated port
SAME_PORT_TERMINALS = ("APMII", "EMX", "RWG", "UWT")  # other terminals of the port (inter-terminal transport)
TERMINAL_GEO = (51.955, 4.030)  # where the trackers report the simulated terminal

H = 3600.0
MIN = 60.0
DAY = 86400.0

_LETTERS = "BDFGHJKLNPRSTVXZ"
_OCR = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2"}
_OCR |= {"6": "G", "G": "6", "U": "V", "M": "N", "N": "M", "H": "M", "C": "G", "7": "1", "3": "8", "D": "0"}
_VESSEL_WORDS = (
    "ALGECIRAS",
    "ANTWERP",
    "AURORA",
    "BALTIC",
    "CAPELLA",
    "CASSIOPEIA",
    "CHARLOTTE",
    "DELPHINE",
    "EDINBURGH",
    "ELBE",
    "GENOA",
    "HELSINKI",
    "ISTANBUL",
    "LIVORNO",
    "LYRA",
    "MADRID",
    "NORMANDIE",
    "ORION",
    "PEGASUS",
    "RIGEL",
    "SEVILLA",
    "SIRIUS",
    "TAURUS",
    "TOKYO",
    "VEGA",
    "VALENCIA",
    "ZENITH",
)
_VESSEL_STYLE = {
    "MAEU": "MAERSK {w}",
    "MSCU": "MSC {w}",
    "CMDU": "CMA CGM {w}",
    "HLCU": "{w} EXPRESS",
    "ONEY": "ONE {w}",
    "COSU": "COSCO SHIPPING {w}",
    "EGLV": "EVER {w}",
}
_SETPOINTS = (13.3, 13.3, 5.0, 2.0, -18.0, -20.0, -25.0, 7.0)


def _weighted(r: random.Random, weights: dict[str, float]) -> str:
    x = r.random() * sum(weights.values())
    for key, weight in weights.items():
        x -= weight
        if x < 0:
            return key
    return next(reversed(weights))


_T = "eventDateTime"  # held as epoch seconds while simulating, written as ISO 8601 UTC when delivered
_U = "eventUpdatedDateTime"


def _uid(r: random.Random) -> str:
    """A version-4 UUID from the seeded generator."""
    b = r.getrandbits(128)
    return (
        f"{b >> 96:08x}-{b >> 80 & 0xFFFF:04x}-4{b >> 68 & 0xFFF:03x}-a{b >> 56 & 0xFFF:03x}-{b & 0xFFFFFFFFFFFF:012x}"
    )


_DATES: dict[int, str] = {}


def _iso(t: float) -> str:
    """Epoch seconds as an ISO 8601 UTC time to the second ('2025-03-12T08:15:02Z')."""
    d, rem = divmod(int(t + 0.5), 86400)
    day = _DATES.get(d)
    if day is None:
        day = _DATES[d] = time.strftime("%Y-%m-%d", time.gmtime(d * 86400))
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    return f"{day}T{h:02d}:{m:02d}:{sec:02d}Z"


@dataclass(frozen=True, slots=True)
class _Call:
    ref: str
    carrier: str
    vessel: str
    imo: str
    voyage: str
    berth: int
    arr: float
    dep: float

    def details(self) -> dict[str, Any]:
        return {
            "transportCall": {
                "transportCallReference": self.ref,
                "modeOfTransport": "VESSEL",
                "vesselTransport": {
                    "vesselIMONumber": self.imo,
                    "vesselName": self.vessel,
                    "operatorCarrierCode": self.carrier,
                    "operatorCarrierCodeListProvider": "SMDG",
                },
                "importVoyageNumberOrReference": {"carrierVoyageNumber": self.voyage},
            }
        }


@dataclass(slots=True)
class _Driver:
    id: str
    haulier: str
    plate: str


def _plate(r: random.Random) -> str:
    def ls(k: int) -> str:
        return "".join(r.choice(_LETTERS) for _ in range(k))

    def ds(k: int) -> str:
        return "".join(r.choice("0123456789") for _ in range(k))

    x = r.random()
    if x < 0.35:
        return f"{ds(2)}-{ls(3)}-{ds(1)}"
    if x < 0.6:
        return f"{ls(2)}-{ds(3)}-{ls(1)}"
    if x < 0.72:
        return f"{ds(1)}-{ls(3)}-{ds(2)}"
    if x < 0.84:
        return f"1-{ls(3)}-{ds(3)}"  # Belgian
    if x < 0.94:
        return f"{r.choice(('HH', 'DU', 'K', 'D', 'E'))}-{ls(2)} {ds(4)}"  # German
    return f"W{ls(1)} {ds(5)}"  # Polish


class _Ctx:
    """What the containers of one simulation share: port, day, vessel calls, parties, numbers in use."""

    def __init__(self, *, seed: int, day: date, port: str, terminal: str, containers: int) -> None:
        self.port = port
        self.terminal = terminal
        noon = datetime(day.year, day.month, day.day, 12)
        try:
            offset = ZoneInfo("Europe/Amsterdam").utcoffset(noon) or timedelta(hours=1)
        except ZoneInfoNotFoundError:  # no tz database: central European winter time
            offset = timedelta(hours=1)
        self.off = offset.total_seconds()
        self.d0 = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() - self.off  # local midnight
        r = random.Random(f"{seed}:ctx")  # noqa: S311 - synthetic data, not security
        self.r = r
        self.carrier_weights = {code: c.weight for code, c in CARRIERS.items()}
        # vessels per carrier, and calls from a month before the day to its end
        vessels: dict[str, list[tuple[str, str]]] = {}
        for code in CARRIERS:
            words = r.sample(_VESSEL_WORDS, 6)
            vessels[code] = [
                (_VESSEL_STYLE[code].format(w=w), (six := str(r.randint(930000, 989999))) + imo_check(six))
                for w in words
            ]
        self.calls: list[_Call] = []
        t = self.d0 - 33 * DAY
        n = 0
        while t < self.d0 + DAY:
            carrier = _weighted(r, self.carrier_weights)
            vessel, imo = r.choice(vessels[carrier])
            stay = r.uniform(16, 40) * H
            n += 1
            ref = f"{terminal}{time.strftime('%y%m%d', time.gmtime(t))}{n % 1000:03d}"
            voyage = f"{r.randint(501, 552)}{r.choice('WENS')}"
            self.calls.append(_Call(ref, carrier, vessel, imo, voyage, r.randint(1, 9), t, t + stay))
            t += r.uniform(2.5, 6.5) * H
        self.arrs = [c.arr for c in self.calls]
        # load windows on the day: (call index, from, to)
        self.load_windows: list[tuple[int, float, float]] = []
        for i, c in enumerate(self.calls):
            a, b = max(c.arr + H, self.d0), min(c.dep - H, self.d0 + DAY)
            if b - a > 0.5 * H:
                self.load_windows.append((i, a, b))
        self.used: set[int] = set()
        # parties
        scale = max(1, containers)
        eori = set()

        def org() -> str:
            while True:
                code = f"NL{r.randint(800000000, 899999999)}"
                if code not in eori:
                    eori.add(code)
                    return code

        self.forwarders = [org() for _ in range(max(12, scale // 150))]
        hauliers = [org() for _ in range(max(15, scale // 100))]
        self.drivers = [
            _Driver(f"DRV{r.randint(1000000, 9999999)}", r.choice(hauliers), _plate(r))
            for _ in range(max(40, scale // 8))
        ]
        self.drivers_of: dict[str, list[_Driver]] = {}
        for d in self.drivers:
            self.drivers_of.setdefault(d.haulier, []).append(d)
        self.hauliers = sorted(self.drivers_of)
        self.numbers: set[str] = set()
        self.owner_codes = {code: (c.dry, c.reefer, c.seal) for code, c in CARRIERS.items()}

    def local_hour(self, t: float) -> float:
        return ((t + self.off) % DAY) / H

    def night(self, t: float) -> bool:
        h = self.local_hour(t)
        return h >= 22 or h < 5

    def gate_time(self, r: random.Random) -> float:
        """A truck's time at the gate on the day (local): mostly 06-22 h, peaking late morning."""
        hour = r.uniform(-2, 6) % 24 if r.random() < 0.12 else r.triangular(6, 22, 11)
        return self.d0 + hour * H + r.uniform(0, 59)

    def load_slot(self, r: random.Random) -> tuple[_Call, float]:
        """A vessel at berth on the day and a time it loads."""
        total = sum(b - a for _, a, b in self.load_windows)
        x = r.random() * total
        for i, a, b in self.load_windows:
            if x < b - a:
                self.used.add(i)
                return self.calls[i], a + x
            x -= b - a
        i, a, b = self.load_windows[-1]
        self.used.add(i)
        return self.calls[i], b

    def disc_slot(self, r: random.Random, target: float) -> tuple[_Call, float]:
        """A vessel at berth at or before `target` and a time it discharged (never after `target`)."""
        hi = bisect_right(self.arrs, target - H)
        choices = [i for i in range(max(0, hi - 12), hi) if self.calls[i].dep - H >= target - 12 * H]
        if not choices:
            i = max(0, hi - 1)
            self.used.add(i)
            c = self.calls[i]
            return c, min(c.dep - H, target)
        i = r.choice(choices)
        self.used.add(i)
        c = self.calls[i]
        return c, r.uniform(max(c.arr + H, target - 12 * H), min(c.dep - H, target))


def _adjusted(rates: dict[str, float]) -> dict[str, float]:
    """Independent draw rates such that, with `PAIRS`, each modus is labelled at about its own rate."""
    out = dict(rates)
    for primary, secondary, q in PAIRS:
        out[secondary] = max(0.0, out[secondary] - q * out[primary])
    return out


class _Stay:
    """One container's stay at the terminal and the injections it carries: its events as DCSA dicts whose two
    times are still epoch seconds (`eventUpdatedDateTime` is also when the source sends the event)."""

    def __init__(
        self, ctx: _Ctx, r: random.Random, kind: str, mods: set[str], variants: dict[str, str], customs: Counter[str]
    ) -> None:
        self.c = ctx
        self.r = r
        self.kind = kind
        self.mods = mods
        self.v = variants
        self.c_stats = customs
        self.last_cuss: dict[str, Any] | None = None
        self.last_cusi: dict[str, Any] | None = None
        self.exit_ev: dict[str, Any] | None = None
        self.housekeeping: list[float] = []
        self.plate = ""
        self.tampered: tuple[str, str] | None = None
        self.events: list[dict[str, Any]] = []
        self.moves: list[tuple[float, str]] = []
        self.busy: list[tuple[float, float]] = []  # customs trips, stripping: no other door events or moves
        self.labels: list[dict[str, Any]] = []
        self.notes: Counter[str] = Counter()
        laden = kind in LADEN
        self.laden = laden
        self.reefer = r.random() < (0.15 if laden else 0.08)
        if self.reefer:
            self.iso = "45R1"
        else:
            self.iso = _weighted(r, {k: v[2] for k, v in ISO_TYPES.items() if k != "45R1"})
        self.group = ISO_TYPES[self.iso][0]
        self.tos_iso = self.iso if r.random() < 0.8 else self.group
        lo, hi = ISO_TYPES[self.iso][1]
        self.tare = round(r.uniform(lo, hi), -1)
        self.sensor = "door_open" in mods or r.random() < 0.55
        self.carrier = _weighted(r, ctx.carrier_weights)
        self.number = self._number()
        self.seals: list[tuple[str, str]] = []
        if laden:
            prefix = ctx.owner_codes[self.carrier][2]
            self.seals.append((f"{prefix}{r.randint(100000, 9999999)}", "CAR"))
            if r.random() < 0.35:
                self.seals.append((f"{r.randint(10000000, 99999999)}", "SHI"))
        self.seal_ref: dict[str, Any] | None = None  # the event that last showed the seals in place
        self.blocks = (
            "R" if self.reefer else ("E" if not laden else {"import": "ABCD", "export": "FGH"}.get(kind, "KLM"))
        )

    # ---------------------------------------------------------------- identity

    def _number(self) -> str:
        r, c = self.r, self.c
        dry, reefer, _ = c.owner_codes[self.carrier]
        if r.random() < 0.25:
            owners = LESSORS_REEFER if self.reefer else LESSORS_DRY
        else:
            owners = reefer if self.reefer else dry
        while True:
            body = f"{r.choice(owners)}{r.randint(0, 999999):06d}"
            number = body + iso6346_check(body)
            if number not in c.numbers:
                c.numbers.add(number)
                return number

    def slot(self) -> str:
        r = self.r
        return f"YARD {r.choice(self.blocks)}{r.randint(1, 24):02d}-{r.randint(1, 40):02d}-{r.randint(1, 5)}"

    # ---------------------------------------------------------------- events

    def ev(
        self,
        t: float,
        etype: str,
        code: str,
        *,
        cls: str = "ACT",
        u: float | None = None,
        spot: str | None = None,
        src: str | None = None,
        place: str | None = None,
        fac: str | None = None,
        geo: tuple[float, float] | None = None,
        eq: dict[str, Any] | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        loc: dict[str, Any] = {
            "UNLocationCode": place or self.c.port,
            "facilityTypeCode": "POTE",
            "facility": {"facilityCode": fac or self.c.terminal, "facilityCodeListProvider": "SMDG"},
        }
        if spot is not None:
            loc["locationName"] = spot
        if geo is not None:
            loc["geoCoordinate"] = {"latitude": f"{geo[0]:.5f}", "longitude": f"{geo[1]:.5f}"}
        classification = {"eventTypeCode": etype, "eventClassifierCode": cls}
        if etype == "EQUIPMENT":
            classification["equipmentEventTypeCode"] = code
        elif etype == "IOT":
            classification["iotEventTypeCode"] = "DETC"
            details["iotDetails"] = {"iotEventCode": code}
        elif etype == "REEFER":
            classification["reeferEventTypeCode"] = "MEAS"
        elif etype == "TRANSPORT":
            classification["transportEventTypeCode"] = code
        e: dict[str, Any] = {
            "eventID": _uid(self.r),
            _T: t,
            _U: u if u is not None else t + 2 + 88 * self.r.random(),
            "eventRouting": {"originatingParty": {"partyCode": src or self.c.terminal, "codeListProvider": "ZZZ"}},
            "eventLocation": loc,
            "eventClassification": classification,
        }
        if eq is None and etype not in ("CAMERA", "TRANSPORT"):
            eq = self.eqd(iso=self.tos_iso)
        if eq is not None:
            e["equipmentDetails"] = eq
        e.update(details)
        self.events.append(e)
        return e

    def eqd(
        self,
        *,
        iso: str | None = None,
        empty: bool | None = None,
        movement: str | None = None,
        seals: list[tuple[str, str]] | None = None,
        number: str | None = None,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {"equipmentReference": number or self.number}
        if iso:
            d["ISOEquipmentCode"] = iso
        if empty is not None:
            d["emptyIndicatorCode"] = "EMPTY" if empty else "LADEN"
        if movement:
            d["movementType"] = movement
        if seals:
            d["seals"] = [{"number": n, "source": s, "type": "BLT"} for n, s in seals]
        return d

    def fmt_seals(self, seals: list[tuple[str, str]], *, gate: bool, typo: bool = False) -> list[tuple[str, str]]:
        """The seals as a source writes them: hyphens dropped or added, the second seal sometimes not recorded,
        and (at an exit, `typo`) now and then two adjacent digits swapped by the clerk."""
        r = self.r
        out = []
        for number, source in seals:
            if typo and r.random() < 0.005:
                pairs = [i for i in range(len(number) - 1) if number[i].isdigit() and number[i + 1].isdigit()]
                pairs = [i for i in pairs if number[i] != number[i + 1]]
                if pairs:
                    i = r.choice(pairs)
                    number = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                    self.notes["seal_typos"] += 1
            if r.random() < 0.12:
                if "-" in number:
                    number = number.replace("-", "")
                else:
                    k = next((i for i, ch in enumerate(number) if ch.isdigit()), 0)
                    if 0 < k < len(number):
                        number = f"{number[:k]}-{number[k:]}"
            out.append((number, source))
        if gate and len(out) > 1 and r.random() < 0.05:
            out = out[:1]
            self.notes["seal_not_recorded"] += 1
        return out

    def move(self, t_plan: float, spot: str | None = None, *, planned: bool = True) -> dict[str, Any]:
        """A yard move: the work order (PLN, sometimes re-planned) and the move (ACT), returned."""
        r = self.r
        spot = spot or self.slot()
        if planned:
            issue = t_plan - r.uniform(10 * MIN, 3 * H)
            if r.random() < 0.05:  # re-planned: a first order to another slot, never executed
                self.ev(t_plan, "IOT", "LOC", cls="PLN", u=issue - r.uniform(10 * MIN, 2 * H), spot=self.slot())
                self.notes["replanned"] += 1
            self.ev(t_plan, "IOT", "LOC", cls="PLN", u=issue, spot=spot)
            t_act = t_plan + r.uniform(-8, 40) * MIN if r.random() < 0.9 else t_plan + r.uniform(40, 120) * MIN
            if spot.startswith("YARD") and r.random() < 0.03:  # put one tier off the planned slot
                spot = f"{spot[:-1]}{int(spot[-1]) % 5 + 1}"
                self.notes["slot_off_plan"] += 1
        else:
            t_act = t_plan
        act = self.ev(t_act, "IOT", "LOC", spot=spot)
        self.moves.append((t_act, spot))
        return act

    def slot_at(self, t: float) -> str:
        moves = sorted(self.moves)
        i = bisect_right([m[0] for m in moves], t) - 1
        return moves[i][1] if i >= 0 else self.slot()

    def free(self, t: float, margin: float) -> bool:
        return all(not (a - margin <= t <= b + margin) for a, b in self.busy)

    def when(self, a: float, b: float, *, night: float = 0.0, margin: float = H) -> float | None:
        """A time in [a, b] away from customs trips and stripping; at local night with probability `night`."""
        r = self.r
        if b <= a:
            return None
        want_night = r.random() < night
        for attempt in range(60):
            t = r.uniform(a, b)
            if self.free(t, margin) and (not want_night or attempt > 40 or self.c.night(t)):
                return t
        return None

    def camera(self, t: float, lane: str, plate: str, *, place: str | None = None, fac: str | None = None) -> dict:
        r = self.r
        read, confidence = self.number, 0.99 - 0.39 * r.random() ** 4
        if r.random() < 0.03:
            pos = r.randrange(11)
            ch = read[pos]
            if ch in _OCR and r.random() < 0.6:
                sub = _OCR[ch]
            elif ch.isdigit():
                sub = r.choice([d for d in "0123456789" if d != ch])
            else:
                sub = r.choice([x for x in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if x != ch])
            read = read[:pos] + sub + read[pos + 1 :]
            confidence = r.uniform(0.6, 0.8)
            self.notes["camera_misreads"] += 1
            body = read[:10]
            if body[:4].isalpha() and body[4:].isdigit() and read[10:].isdigit() and iso6346_check(body) == read[10]:
                self.notes["camera_misreads_valid"] += 1
        self.notes["camera_reads"] += 1
        cam = f"{fac or self.c.terminal}-OCR-{lane.split()[-1]}"
        return self.ev(
            t,
            "CAMERA",
            "CAMERA",
            spot=lane,
            place=place,
            fac=fac,
            src=f"{fac or self.c.terminal}-OCR",
            cameraDetails={"cameraID": cam, "readReference": read, "confidence": round(confidence, 3)},
            transportDetails=_truck(plate),
        )

    def scan(self, t: float, scanner: str, *, verdict: str = "CLEAR", weight: float | None = None, spot: str = ""):
        details: dict[str, Any] = {"scannerID": scanner, "verdict": verdict}
        if weight is not None:
            details["measuredGrossWeightKg"] = round(weight)
            if self.r.random() < 0.9:  # the weighbridge's OCR read the tare marked on the door
                details["tareWeightKg"] = self.tare
        else:
            details["imageReference"] = f"xray://{self.c.port}/{_uid(self.r)[:13]}"
        return self.ev(
            t,
            "SCAN",
            "SCAN",
            spot=spot or scanner,
            src="CUSTOMS" if weight is None else self.c.terminal,
            eq=self.eqd(iso=self.group, empty=not self.laden),
            scanDetails=details,
        )

    def door(self, t: float, seconds: float, spot: str, *, lose_drc: bool = False) -> list[dict[str, Any]]:
        """A door opening seen by the tracker: DRO, then DRC `seconds` later (unless that message is lost)."""
        r = self.r
        geo = (TERMINAL_GEO[0] + r.uniform(-0.004, 0.004), TERMINAL_GEO[1] + r.uniform(-0.006, 0.006))
        src = f"IOT-{self.carrier}"
        shown = [self.ev(t, "IOT", "DRO", spot=spot, geo=geo, src=src, eq=self.eqd(iso=self.group))]
        if not lose_drc:
            shown.append(self.ev(t + seconds, "IOT", "DRC", spot=spot, geo=geo, src=src, eq=self.eqd(iso=self.group)))
        return shown

    def survey(self, a: float, b: float, *, who: str, src: str, reseal: str | None) -> None:
        """A legitimate inspection in the yard (phytosanitary, veterinary, damage survey): doors open, INSP
        recorded up to 100 min later, doors closed, and a new seal if the box is laden."""
        r = self.r
        t = self.when(a, b, margin=2 * H)
        if t is None:
            return
        t = self.c.d0 + (t - self.c.d0) // DAY * DAY + r.uniform(7, 17) * H  # in working hours, same day
        if not (a <= t <= b and self.free(t, 2 * H)):
            return
        spot = self.slot_at(t)
        minutes = r.uniform(20, 90)
        if self.sensor:
            self.door(t, minutes * MIN, spot)
        insp = t + r.uniform(30, 100) * MIN
        self.ev(insp, "EQUIPMENT", "INSP", spot=spot, src=src, eq=self.eqd(iso=self.group))
        end = max(insp, t + minutes * MIN)
        if reseal:
            self.seals = [(f"{reseal}{r.randint(100000, 999999)}", reseal)]
            self.seal_ref = self.ev(
                end + r.uniform(2, 15) * MIN,
                "EQUIPMENT",
                "RSEA",
                spot=spot,
                src=src,
                eq=self.eqd(iso=self.group, empty=False, seals=self.seals),
            )
        self.busy.append((t - 10 * MIN, end + 20 * MIN))
        self.notes[who] += 1

    def customs(self, t: float, code: str) -> dict[str, Any]:
        return self.ev(t, "EQUIPMENT", code, src="CUSTOMS", eq=self.eqd(iso=self.group, empty=not self.laden))

    def label(self, modus: str, events: list[dict[str, Any]], note: str) -> None:
        self.labels.append(
            {"container": self.number, "modus": modus, "eventIDs": [e["eventID"] for e in events], "note": note}
        )

    def hhmm(self, t: float) -> str:
        return time.strftime("%d %b %H:%M", time.gmtime(t + self.c.off))

    # ---------------------------------------------------------------- the stay

    def dwell(self) -> float:
        r = self.r
        if r.random() < 0.03:
            return r.uniform(7, 11) * DAY
        return r.uniform(1, 6) * DAY if r.random() < 0.3 else r.triangular(1, 6, 2.2) * DAY

    def customs_plan(self, *, export: bool) -> dict[str, Any]:
        """Customs selections and their times relative to the entry (pure numbers, no events yet)."""
        r = self.r
        lane = self.v.get("lane_bypass")
        long_dwell = self.v.get("yard_move") == "dwell"
        p: dict[str, Any] = {"lane": lane}
        cuss = lane == "cuss" or (not long_dwell and r.random() < 0.03)
        cuss = cuss and lane != "cusi"
        cusi = lane == "cusi" or (not long_dwell and not cuss and not export and r.random() < 0.01)
        t = 0.0
        if cuss:
            p["cuss"] = t = r.uniform(1, 10) * H
            if lane != "cuss":
                p["to_scan"] = t = t + r.uniform(2, 20) * H
                p["scan"] = t = t + r.uniform(5, 30) * MIN
                p["verdict"] = "SUSPECT" if r.random() < 0.15 else "CLEAR"
                p["back"] = t + r.uniform(10, 60) * MIN
                if p["verdict"] == "SUSPECT":
                    cusi = True
                    t = t + r.uniform(0.5, 4) * H
                t = p["back"] if not cusi else max(t, p["back"] + 10 * MIN)
        if cusi:
            p["cusi"] = t = t if cuss else r.uniform(1, 12) * H
            if lane != "cusi":
                hold = r.uniform(5, 14) * DAY if r.random() < 0.25 else r.uniform(0.3, 3) * DAY
                p["hold"] = hold
                start = t + hold
                p["to_bay"] = max(t + 30 * MIN, start - r.uniform(1, 5) * H)
                p["dro"] = start
                p["insp"] = start + r.uniform(20, 120) * MIN
                p["drc"] = start + r.uniform(25, 150) * MIN
                p["rsea"] = max(p["insp"], p["drc"]) + r.uniform(2, 20) * MIN
                p["bay_back"] = t = p["rsea"] + r.uniform(30, 180) * MIN
        if cusi and lane != "cusi":
            p["cusr"] = t + r.uniform(1, 20) * H
        elif cusi:
            p["cusr"] = t + r.uniform(6, 48) * H
        elif cuss and lane == "cuss":
            p["cusr"] = t + r.uniform(4, 30) * H
        elif cuss:
            p["cusr"] = p["scan"] + r.uniform(0.5, 6) * H
        else:
            p["cusr"] = r.uniform(-30 * H, 24 * H) if export else r.uniform(0.5, 24) * H
        p["span"] = max(p["cusr"], t)
        return p

    def emit_customs(self, p: dict[str, Any], t0: float) -> dict[str, Any] | None:
        """The customs events of plan `p` from entry time `t0`; returns the CUSR event."""
        r = self.r
        if "cuss" in p:
            self.last_cuss = self.customs(t0 + p["cuss"], "CUSS")
            self.c_stats["cuss"] += 1
            if "scan" in p:
                lane = f"SCAN LANE {r.randint(1, 3)}"
                self.move(t0 + p["to_scan"], lane)
                self.scan(t0 + p["scan"], f"{self.c.port}-XRAY-{r.randint(1, 3)}", verdict=p["verdict"], spot=lane)
                self.move(t0 + p["back"])
                self.busy.append((t0 + p["to_scan"] - 30 * MIN, t0 + p["back"] + 40 * MIN))
        if "cusi" in p:
            self.last_cusi = self.customs(t0 + p["cusi"], "CUSI")
            self.c_stats["cusi"] += 1
            if "hold" in p:
                if p["hold"] > 4 * DAY:
                    self.c_stats["long_holds"] += 1
                bay = f"CUSTOMS INSPECTION BAY {r.randint(1, 6)}"
                self.move(t0 + p["to_bay"], bay)
                if self.sensor:
                    self.door(t0 + p["dro"], p["drc"] - p["dro"], bay)
                insp = self.ev(
                    t0 + p["insp"], "EQUIPMENT", "INSP", spot=bay, src="CUSTOMS", eq=self.eqd(iso=self.group)
                )
                self.seals = [(f"NLC{r.randint(1000000, 9999999)}", "CUS")]
                self.seal_ref = self.ev(
                    t0 + p["rsea"],
                    "EQUIPMENT",
                    "RSEA",
                    spot=bay,
                    src="CUSTOMS",
                    eq=self.eqd(iso=self.group, empty=False, seals=self.seals),
                )
                self.insp = insp
                self.move(t0 + p["bay_back"])
                self.busy.append((t0 + p["to_bay"] - 30 * MIN, t0 + p["bay_back"] + 40 * MIN))
        if p.get("no_cusr"):
            return None
        return self.customs(t0 + p["cusr"], "CUSR")

    def place(self, t_in: float) -> float:
        """The placement in the yard after the entry; returns its time."""
        return self.move(t_in + self.r.uniform(12, 40) * MIN)[_T]

    def housekeep(self, yard_in: float, t_out: float) -> None:
        r = self.r
        n = 0 if r.random() < 0.62 else (1 if r.random() < 0.8 else 2)
        for _ in range(n):
            t = self.when(yard_in + 3 * H, t_out - 4 * H, margin=2 * H)
            if t is not None:
                self.housekeeping.append(self.move(t)[_T])

    def sensors(self, t_in: float, yard_in: float, t_out: float) -> None:
        """Reefer readings, tracker pings and door-sensor bounces over the stay."""
        r = self.r
        rnd = r.random
        if self.reefer:
            setpoint = r.choice(_SETPOINTS)
            t = yard_in + r.uniform(0.5, 2) * H
            moves = sorted(self.moves)
            times = [m[0] for m in moves]
            src = f"RCM-{self.carrier}"
            while t < t_out - 30 * MIN:
                supply = setpoint + r.gauss(0, 0.3)
                self.ev(
                    t,
                    "REEFER",
                    "MEAS",
                    src=src,
                    spot=moves[max(0, bisect_right(times, t) - 1)][1],
                    eq=self.eqd(iso=self.group),
                    reeferDetails={
                        "temperatureUnit": "CEL",
                        "internalSetpointTemperature": setpoint,
                        "ambientMeasuredTemperature": round(r.uniform(2, 12), 1),
                        "temperatureProbeMeasurements": [
                            {"measuredTemperatureValue": round(supply, 1), "probeLabel": "supply air"},
                            {
                                "measuredTemperatureValue": round(supply + r.uniform(0.3, 1.5), 1),
                                "probeLabel": "return",
                            },
                        ],
                    },
                )
                t += (3 + 2 * rnd()) * H
        if self.sensor:
            t = t_in + r.uniform(0.5, 6) * H
            src = f"IOT-{self.carrier}"
            lat, lon = TERMINAL_GEO
            while t < t_out:
                geo = (lat - 0.004 + 0.008 * rnd(), lon - 0.006 + 0.012 * rnd())
                self.ev(t, "IOT", "LOC", src=src, geo=geo, eq=self.eqd(iso=self.group))
                t += (4 + 6 * rnd()) * H
            if r.random() < 0.005:
                t = self.when(yard_in + H, t_out - H)
                if t is not None:
                    lost = r.random() < 0.2
                    self.door(t, r.uniform(2, 10), self.slot_at(t), lose_drc=lost)
                    self.notes["door_bounces"] += 1
                    self.notes["door_close_lost"] += lost

    def release_and_gate(self, t_from: float, t_out: float, *, empty: bool, movement: str | None) -> dict[str, Any]:
        """The release right from the line to a driver, and the pick-up at the out-gate; returns the GTOT."""
        r, c = self.r, self.c
        fraud = self.v.get("release_fraud")
        right = f"{self.carrier}{r.randint(10**9, 10**10 - 1)}"
        span = t_out - t_from
        issued = t_out - r.uniform(2 * H, DAY) if empty else r.uniform(t_from - DAY, t_from + 0.4 * span)
        issued = min(issued, t_out - 2 * H)
        haulier = r.choice(c.hauliers)
        drivers = c.drivers_of[haulier]
        driver = r.choice(drivers)
        driver_t = t_out - r.uniform(20 * MIN, max(25 * MIN, min(10 * H, 0.3 * (t_out - issued))))
        holders = [haulier] if empty or r.random() < 0.15 else [r.choice(c.forwarders), haulier]
        times = sorted(r.uniform(issued + 5 * MIN, driver_t - 5 * MIN) for _ in holders)

        def rel(t: float, action: str, holder: str, driver_id: str | None = None, reason: str | None = None) -> dict:
            details: dict[str, Any] = {"releaseRightID": right, "action": action, "holderCode": holder}
            if driver_id:
                details["driverID"] = driver_id
            if reason:
                details["reason"] = reason
            return self.ev(t, "RELEASE", action, src="PCS", eq=self.eqd(), releaseDetails=details)

        rel(issued, "ISSUED", self.carrier)
        for t, holder in zip(times, holders, strict=True):
            rel(t, "TRANSFERRED", holder)
        last = rel(driver_t, "TRANSFERRED", haulier, driver.id)
        if r.random() < 0.08 and len(drivers) > 1:  # re-assigned to another driver of the haulier
            driver = r.choice([d for d in drivers if d is not driver])
            last = rel(r.uniform(driver_t + MIN, t_out - 10 * MIN), "TRANSFERRED", haulier, driver.id)
            self.notes["driver_reassigned"] += 1
        lane_n = r.randint(1, 12)
        lane = f"GATE OUT LANE {lane_n}"
        plate = driver.plate
        if fraud is None and r.random() < 0.01:  # refused at the gate, then a new transfer and a proper pick-up
            t_den = t_out - r.uniform(1, 5) * H
            if t_den > last[_T] + 5 * MIN:
                reason = r.choice(("PIN not valid for this driver", "customs status not released", "PIN expired"))
                rel(t_den, "GATE_DENIED", haulier, driver.id, reason)
                last = rel(t_den + r.uniform(10, 50) * MIN, "TRANSFERRED", haulier, driver.id)
                self.notes["gate_denied_then_allowed"] += 1
        shown: list[dict[str, Any]] = []
        gate_driver = driver
        if fraud == "other_driver":
            pool = drivers if r.random() < 0.5 and len(drivers) > 1 else c.drivers
            gate_driver = r.choice([d for d in pool if d.id != driver.id])
            plate = gate_driver.plate
        self.camera(t_out - r.uniform(10, 60), lane, plate)
        if fraud == "denied":
            t_den = r.uniform(max(last[_T] + MIN, t_out - 40 * MIN), t_out - 3 * MIN)
            shown.append(rel(t_den, "GATE_DENIED", haulier, driver.id, "PIN blocked"))
        elif fraud != "no_allowed":
            allowed = rel(t_out - r.uniform(5, 90) + r.uniform(-20, 20), "GATE_ALLOWED", haulier, gate_driver.id)
            if fraud == "other_driver":
                shown += [last, allowed]
        seals = self.exit_seals(gate=True)
        gtot = self.ev(
            t_out + r.uniform(-20, 20),
            "EQUIPMENT",
            "GTOT",
            spot=lane,
            eq=self.eqd(iso=self.tos_iso, empty=empty, movement=movement, seals=seals),
            transportDetails=_truck(plate),
        )
        self.plate = plate
        self.exit_ev = gtot
        if fraud:
            note = {
                "no_allowed": f"gate-out {self.hhmm(t_out)} with no GATE_ALLOWED for right {right}",
                "other_driver": f"right transferred to {driver.id}, picked up by {gate_driver.id} ({plate})",
                "denied": f"GATE_DENIED for right {right}, then gated out {self.hhmm(t_out)}",
            }[fraud]
            self.label("release_fraud", [*shown, gtot], note)
        return gtot

    def exit_seals(self, *, gate: bool) -> list[tuple[str, str]] | None:
        if not self.laden or not self.seals:
            return None
        seals = list(self.seals)
        if "seal_tamper" in self.mods:
            number, source = seals[0]
            digits = "".join(ch for ch in number if ch.isdigit())
            prefix = number[: len(number) - len(digits)]
            x = self.r.random()
            if x < 0.35:  # a seal from the same series, one or two digits off
                ds = list(digits)
                for i in self.r.sample(range(len(ds)), self.r.choice((1, 1, 2))):
                    ds[i] = self.r.choice([d for d in "0123456789" if d != ds[i]])
                new = prefix + "".join(ds)
            elif x < 0.85:
                new = prefix + str(self.r.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))
            else:
                new = f"{self.r.randint(10000000, 99999999)}"
                source = "SHI"
            seals[0] = (new, source)
            self.tampered = (number, new)
        return self.fmt_seals(seals, gate=gate, typo=True)

    def exit_note_seal(self, ref: dict[str, Any], out: dict[str, Any]) -> None:
        if "seal_tamper" in self.mods and self.tampered:
            old, new = self.tampered
            how = " after a door opening in the yard" if "door_open" in self.mods else ""
            self.label("seal_tamper", [ref, out], f"seal {old} at entry, {new} at exit{how}, no reseal")

    # ---------------------------------------------------------------- life cycles

    def run(self) -> None:
        getattr(self, f"_{self.kind}")()
        if self.iso in ("42G1", "45G1") and self.r.random() < 0.01:  # booking data with the wrong height
            shown = {i for label in self.labels for i in label["eventIDs"]}
            ours = [
                e
                for e in self.events
                if e["eventClassification"]["eventTypeCode"] == "EQUIPMENT"
                and e["eventLocation"]["facility"]["facilityCode"] == self.c.terminal
                and "ISOEquipmentCode" in e["equipmentDetails"]
                and e["eventID"] not in shown
            ]
            if ours:
                wrong = {"42G1": "45G1", "45G1": "42G1"}[self.iso]
                self.r.choice(ours)["equipmentDetails"]["ISOEquipmentCode"] = wrong
                self.notes["iso_height_errors"] += 1
        lane = self.v.get("lane_bypass")
        if lane and self.exit_ev is not None:
            cust = self.last_cuss if lane == "cuss" else self.last_cusi
            assert cust is not None
            what = "scan" if lane == "cuss" else "inspection"
            note = f"{lane.upper()} {self.hhmm(cust[_T])}, left {self.hhmm(self.exit_ev[_T])} with no {what}"
            self.label("lane_bypass", [cust, self.exit_ev], note)

    def _import(self) -> None:
        r, c = self.r, self.c
        t_out = c.gate_time(r)
        p = self.customs_plan(export=False)
        cfs = (
            "hold" not in p and not (self.mods & {"seal_tamper", "door_open", "impossible_order"}) and r.random() < 0.05
        )
        dwell = max(self.dwell(), p["span"] + r.uniform(3 * H, DAY) + (1.5 * DAY if cfs else 0))
        if self.v.get("yard_move") == "dwell":
            dwell = r.uniform(12.5, 25) * DAY
        call, t_disc = c.disc_slot(r, t_out - dwell)
        io = self.v.get("impossible_order")
        if io == "no_cusr":
            if r.random() < 0.5:
                p["no_cusr"] = True
            else:
                p["cusr"] = t_out - t_disc + r.uniform(5 * MIN, 6 * H)
        elif "cuss" not in p and "cusi" not in p and not cfs and r.random() < 0.05:
            p["cusr"] = t_out - t_disc - r.uniform(5, 60) * MIN  # released while the driver waits
        self.seals = self.fmt_seals(self.seals, gate=False)
        disc = self.ev(
            t_disc,
            "EQUIPMENT",
            "DISC",
            spot=f"QUAY {call.berth}",
            eq=self.eqd(iso=self.tos_iso, empty=False, movement="IMPORT", seals=self.seals),
            transportDetails=call.details(),
        )
        self.seal_ref = disc
        self.planned_disc(call, t_disc)
        self.previous_port(t_disc)
        yard_in = self.place(t_disc)
        cusr = self.emit_customs(p, t_disc)
        stripped = False
        if cfs:
            t = self.when(max(cusr[_T], yard_in) + 2 * H, t_out - 8 * H, margin=0) if cusr else None
            if t is not None:
                stripped = self.strip(t)
        if self.reefer and self.laden and r.random() < 0.04:  # plant-health or veterinary check of the cargo
            reseal = r.choice(("PHY", "VET"))
            self.survey(yard_in + 2 * H, t_out - 4 * H, who="phyto_vet_inspections", src="NVWA", reseal=reseal)
        self.housekeep(yard_in, t_out)
        self.injections_in_yard(yard_in, t_out)
        self.sensors(t_disc, yard_in, t_out)
        gtot = self.release_and_gate(t_disc, t_out, empty=stripped, movement=None if stripped else "IMPORT")
        if not stripped:
            self.exit_note_seal(self.seal_ref or disc, gtot)
        if io == "no_cusr":
            shown = [gtot] + ([cusr] if cusr else [])
            how = "never released" if cusr is None else f"released {self.hhmm(cusr[_T])}, after the gate-out"
            self.label("impossible_order", shown, f"import gated out {self.hhmm(gtot[_T])} without CUSR ({how})")
        elif io == "before_disc":
            t = t_disc - r.uniform(1 * H, 36 * H)
            lane = f"GATE OUT LANE {r.randint(1, 12)}"
            plate = r.choice(c.drivers).plate
            self.camera(t - r.uniform(10, 60), lane, plate)
            early = self.ev(
                t,
                "EQUIPMENT",
                "GTOT",
                spot=lane,
                eq=self.eqd(iso=self.tos_iso, empty=False, movement="IMPORT", seals=self.seals),
                transportDetails=_truck(plate),
            )
            self.label(
                "impossible_order", [early, disc], f"gated out {self.hhmm(t)}, before its discharge {self.hhmm(t_disc)}"
            )
            self.label("release_fraud", [early], f"gate-out {self.hhmm(t)} ({plate}) with no release right shown")
        self.long_dwell_label(disc, gtot)
        if not stripped and r.random() < 0.03:
            self.itt(gtot)
        self.clone(t_disc, gtot[_T])

    def _export(self) -> None:
        r, c = self.r, self.c
        call, t_load = c.load_slot(r)
        p = self.customs_plan(export=True)
        dwell = max(r.uniform(0.7, 5) * DAY, p["span"] + r.uniform(3 * H, DAY))
        if self.v.get("yard_move") == "dwell":
            dwell = r.uniform(12.5, 25) * DAY
        t_in = t_load - dwell
        gtin = self.gate_in(t_in, movement="EXPORT")
        yard_in = self.place(t_in)
        self.emit_customs(p, t_in)
        self.housekeep(yard_in, t_load)
        self.injections_in_yard(yard_in, t_load)
        self.sensors(t_in, yard_in, t_load)
        load = self.load(call, t_load, movement="EXPORT")
        self.exit_note_seal(self.seal_ref or gtin, load)
        self.long_dwell_label(gtin, load)
        self.clone(t_in, t_load)

    def _tship(self) -> None:
        r, c = self.r, self.c
        call, t_load = c.load_slot(r)
        dwell = r.uniform(12.5, 25) * DAY if self.v.get("yard_move") == "dwell" else self.dwell()
        disc_call, t_disc = c.disc_slot(r, t_load - dwell)
        self.seals = self.fmt_seals(self.seals, gate=False)
        disc = self.ev(
            t_disc,
            "EQUIPMENT",
            "DISC",
            spot=f"QUAY {disc_call.berth}",
            eq=self.eqd(iso=self.tos_iso, empty=False, movement="TRANSSHIPMENT", seals=self.seals),
            transportDetails=disc_call.details(),
        )
        self.seal_ref = disc
        self.planned_disc(disc_call, t_disc)
        self.previous_port(t_disc)
        yard_in = self.place(t_disc)
        self.housekeep(yard_in, t_load)
        self.injections_in_yard(yard_in, t_load)
        self.sensors(t_disc, yard_in, t_load)
        load = self.load(call, t_load, movement="TRANSSHIPMENT")
        self.exit_note_seal(self.seal_ref, load)
        self.long_dwell_label(disc, load)
        self.clone(t_disc, t_load)

    def _empty_in(self) -> None:
        """An empty returned by truck, weighed at the gate, stacked, loaded for repositioning."""
        r, c = self.r, self.c
        call, t_load = c.load_slot(r)
        dwell = r.uniform(12.5, 25) * DAY if self.v.get("yard_move") == "dwell" else self.dwell()
        t_in = t_load - dwell
        hotel = self.v.get("hotel")
        gtin = self.gate_in(t_in, movement=None, heavy=hotel == "weight")
        if self.sensor and r.random() < 0.3:  # survey of the returned empty at the gate
            self.door(t_in + r.uniform(1, 10) * MIN, r.uniform(40, 300), "EMPTY SURVEY LANE")
        yard_in = self.place(t_in)
        if r.random() < 0.02:
            self.survey(yard_in + 2 * H, t_load - 4 * H, who="damage_surveys", src=c.terminal, reseal=None)
        self.housekeep(yard_in, t_load)
        self.injections_in_yard(yard_in, t_load)
        self.sensors(t_in, yard_in, t_load)
        heavy = hotel == "both"
        if heavy or r.random() < 0.5:
            lc = self.scan(
                t_load - r.uniform(5, 40), f"{c.terminal}-QC{call.berth:02d}-LC", weight=self.weigh(heavy=heavy)
            )
            if heavy:
                self.label("hotel", [gtin, lc], f"declared EMPTY, crane load cell {self.weight_note(lc)}")
        load = self.load(call, t_load, movement=None)
        self.long_dwell_label(gtin, load)
        self.clone(t_in, t_load)

    def _empty_out(self) -> None:
        """An empty discharged, weighed by the crane's load cell, stacked, released to a haulier."""
        r, c = self.r, self.c
        t_out = c.gate_time(r)
        dwell = r.uniform(12.5, 25) * DAY if self.v.get("yard_move") == "dwell" else self.dwell()
        call, t_disc = c.disc_slot(r, t_out - dwell)
        hotel = self.v.get("hotel")
        heavy = hotel in ("weight", "both")
        disc = self.ev(
            t_disc,
            "EQUIPMENT",
            "DISC",
            spot=f"QUAY {call.berth}",
            eq=self.eqd(iso=self.tos_iso, empty=True),
            transportDetails=call.details(),
        )
        lc = self.scan(t_disc - r.uniform(5, 40), f"{c.terminal}-QC{call.berth:02d}-LC", weight=self.weigh(heavy=heavy))
        if heavy:
            self.label("hotel", [disc, lc], f"declared EMPTY, crane load cell {self.weight_note(lc)}")
        self.planned_disc(call, t_disc)
        yard_in = self.place(t_disc)
        if r.random() < 0.02:
            self.survey(yard_in + 2 * H, t_out - 4 * H, who="damage_surveys", src=c.terminal, reseal=None)
        self.housekeep(yard_in, t_out)
        self.injections_in_yard(yard_in, t_out)
        self.sensors(t_disc, yard_in, t_out)
        gtot = self.release_and_gate(t_disc, t_out, empty=True, movement=None)
        self.long_dwell_label(disc, gtot)
        self.clone(t_disc, t_out)

    # ---------------------------------------------------------------- pieces

    def weigh(self, *, heavy: bool) -> float:
        if heavy:
            return self.tare + self.r.uniform(250, 900)
        if self.r.random() < 0.02:  # dunnage and lashing gear left inside
            self.notes["heavy_dunnage"] += 1
            return self.tare + self.r.uniform(100, 400)
        return self.tare * (1 + self.r.uniform(-0.03, 0.03))

    def weight_note(self, scan: dict[str, Any]) -> str:
        kg = scan["scanDetails"]["measuredGrossWeightKg"]
        return f"{kg} kg for a {self.iso} of tare {self.tare:.0f} kg"

    def gate_in(self, t: float, *, movement: str | None, heavy: bool = False) -> dict[str, Any]:
        r, c = self.r, self.c
        lane = f"GATE IN LANE {r.randint(1, 16)}"
        plate = r.choice(c.drivers).plate
        self.camera(t - r.uniform(60, 120), lane, plate)
        wb = None
        if not self.laden or r.random() < 0.5:
            gross = self.weigh(heavy=heavy) if not self.laden else self.tare + r.uniform(4000, 26000)
            wb = self.scan(t - r.uniform(10, 50), f"{c.terminal}-WB-IN-{r.randint(1, 4)}", weight=gross, spot=lane)
        if self.laden:
            self.seals = self.fmt_seals(self.seals, gate=False)
        gtin = self.ev(
            t,
            "EQUIPMENT",
            "GTIN",
            spot=lane,
            eq=self.eqd(iso=self.tos_iso, empty=not self.laden, movement=movement, seals=self.seals or None),
            transportDetails=_truck(plate),
        )
        self.seal_ref = gtin
        if heavy and wb is not None:
            self.label("hotel", [gtin, wb], f"declared EMPTY, gate weighbridge {self.weight_note(wb)}")
        return gtin

    def load(self, call: _Call, t: float, *, movement: str | None) -> dict[str, Any]:
        r = self.r
        if r.random() < 0.7:  # the stowage plan's planned load
            self.ev(
                t + r.uniform(-2, 2) * H,
                "EQUIPMENT",
                "LOAD",
                cls="PLN",
                u=t - r.uniform(6, 30) * H,
                spot=f"QUAY {call.berth}",
                eq=self.eqd(iso=self.tos_iso, empty=not self.laden, movement=movement),
                transportDetails=call.details(),
            )
        self.exit_ev = self.ev(
            t,
            "EQUIPMENT",
            "LOAD",
            spot=f"QUAY {call.berth}",
            eq=self.eqd(iso=self.tos_iso, empty=not self.laden, movement=movement, seals=self.exit_seals(gate=False)),
            transportDetails=call.details(),
        )
        return self.exit_ev

    def planned_disc(self, call: _Call, t_disc: float) -> None:
        r = self.r
        if r.random() < 0.7:  # the discharge list's planned discharge
            self.ev(
                t_disc + r.uniform(-2, 2) * H,
                "EQUIPMENT",
                "DISC",
                cls="PLN",
                u=call.arr - r.uniform(6, 30) * H,
                spot=f"QUAY {call.berth}",
                eq=self.eqd(iso=self.tos_iso, empty=not self.laden),
                transportDetails=call.details(),
            )

    def previous_port(self, t_disc: float) -> None:
        """Loaded at the vessel's previous port, a sailing time before the discharge (legitimate)."""
        r = self.r
        if r.random() >= 0.1 or self.v.get("impossible_order") == "before_disc":
            return
        place = r.choice(sorted(OTHER_PORTS))
        facs, hours = OTHER_PORTS[place]
        self.ev(
            t_disc - r.uniform(hours, hours + 30) * H,
            "EQUIPMENT",
            "LOAD",
            place=place,
            fac=r.choice(facs),
            src=f"{place}-TOS",
            eq=self.eqd(iso=self.group, empty=not self.laden, movement="TRANSSHIPMENT", seals=self.seals or None),
        )
        self.notes["previous_port"] += 1

    def strip(self, t: float) -> bool:
        """Stripped at the CFS: doors open, STRP when done, doors closed; the box is empty and unsealed after."""
        r = self.r
        dock = f"CFS 2 DOOR {r.randint(1, 24)}"
        self.move(t, dock)
        start = t + r.uniform(40, 120) * MIN
        end = start + r.uniform(30, 180) * MIN
        if self.sensor:
            self.door(start, end - start + r.uniform(1, 20) * MIN, dock)
        self.ev(end, "EQUIPMENT", "STRP", spot=dock, eq=self.eqd(iso=self.tos_iso, empty=True))
        back = end + r.uniform(30, 150) * MIN
        self.blocks = "E"
        self.move(back)
        self.busy.append((t - 30 * MIN, back + 40 * MIN))
        self.seals = []
        self.laden = False
        self.notes["stripped"] += 1
        return True

    def itt(self, gtot: dict[str, Any]) -> None:
        """Inter-terminal transport: the box gates in at another terminal of the port soon after (legitimate)."""
        r = self.r
        fac = r.choice(SAME_PORT_TERMINALS)
        t = gtot[_T] + r.uniform(25 * MIN, 3 * H)
        lane = f"GATE IN LANE {r.randint(1, 8)}"
        self.camera(t - r.uniform(30, 90), lane, self.plate, fac=fac)
        self.ev(
            t,
            "EQUIPMENT",
            "GTIN",
            spot=lane,
            fac=fac,
            src=f"{fac}-TOS",
            eq=self.eqd(iso=self.group, empty=not self.laden, movement="TRANSSHIPMENT", seals=self.seals or None),
            transportDetails=_truck(self.plate),
        )
        self.notes["inter_terminal"] += 1

    def long_dwell_label(self, entry: dict[str, Any], out: dict[str, Any]) -> None:
        if self.v.get("yard_move") == "dwell":
            days = (out[_T] - entry[_T]) / DAY
            self.label("yard_move", [entry, out], f"in the terminal {days:.1f} days without a customs hold")

    def injections_in_yard(self, yard_in: float, t_exit: float) -> None:
        r = self.r
        a, b = yard_in + 30 * MIN, t_exit - 45 * MIN
        if "door_open" in self.mods:
            t = self.when(a, b, night=0.75, margin=3 * H) or self.when(a, b, night=0.75, margin=20 * MIN) or a
            minutes = 3 + 27 * r.random() ** 1.6
            spot = self.slot_at(t)
            jammed = r.random() < 0.1  # no door-closed message: the sensor was shielded or broken
            shown = self.door(t, minutes * MIN, spot, lose_drc=jammed)
            how = "opened, never reported closed," if jammed else f"open {minutes:.0f} min"
            if self.kind in LADEN:
                what = "rip-off" if self.kind == "import" else "rip-on"
                note = f"{what}: doors {how} at {self.hhmm(t)} in {spot}, no inspection"
            else:
                note = f"empty box: doors {how} at {self.hhmm(t)} in {spot}"
                self.label("hotel", shown, note)
            self.label("door_open", shown, note)
        if self.v.get("yard_move") == "unplanned":
            t = None
            if self.housekeeping and r.random() < 0.5:
                t0 = r.choice(self.housekeeping)
                t = self.when(t0 + H, min(b, t0 + 4 * H), margin=20 * MIN)
            t = t or self.when(a, b, night=0.6, margin=H) or (a + b) / 2
            spot = self.slot()
            act = self.move(t, spot, planned=False)
            self.label("yard_move", [act], f"moved to {spot} at {self.hhmm(t)} with no work order")

    def clone(self, t_in: float, t_out: float) -> None:
        """Another box under this number: elsewhere while this one is here or 1-3 h from here, or another type."""
        if "clone" not in self.mods:
            return
        r, c = self.r, self.c
        x = r.random()
        other_iso = None
        if r.random() < 0.4:
            other_iso = r.choice([k for k in ISO_TYPES if k[:2] != self.iso[:2] or k[2] != self.iso[2]])
        iso = other_iso or self.group
        seals = [(f"{r.randint(100000, 9999999)}", "SHI")]
        if x < 0.45 or (t_out - t_in) < 6 * H:
            place = r.choice(sorted(OTHER_PORTS))
            fac = r.choice(OTHER_PORTS[place][0])
            t = r.uniform(t_in + 2 * H, t_out - 2 * H) if t_out - t_in > 5 * H else t_out + r.uniform(1, 3) * H
            where = f"{place}/{fac} at {self.hhmm(t)}, while the box is at {c.port}/{c.terminal}"
        elif x < 0.65:
            place, fac = c.port, r.choice(SAME_PORT_TERMINALS)
            t = r.uniform(t_in + 2 * H, t_out - 2 * H)
            where = f"{fac} at {self.hhmm(t)}, while the box is in the {c.terminal} yard"
        elif x < 0.8:
            place, fac = c.port, c.terminal
            t = r.uniform(t_in + 2 * H, t_out - 2 * H)
            where = f"a second gate-in at {c.terminal} {self.hhmm(t)}, while the box is in the yard"
        else:
            place = r.choice(FAR_PORTS)
            fac = r.choice(OTHER_PORTS[place][0])
            gap = r.uniform(1, 3) * H
            t = t_out + gap if r.random() < 0.6 else t_in - gap
            where = f"{place}/{fac} at {self.hhmm(t)}, {gap / H:.1f} h from {c.port}"
        lane = f"GATE IN LANE {r.randint(1, 8)}"
        plate = _plate(r)
        shown = [self.camera(t - r.uniform(30, 90), lane, plate, place=place, fac=fac)]
        shown.append(
            self.ev(
                t,
                "EQUIPMENT",
                "GTIN",
                spot=lane,
                place=place,
                fac=fac,
                src=f"{fac}-TOS",
                eq=self.eqd(iso=iso, empty=False, movement="EXPORT", seals=seals),
                transportDetails=_truck(plate),
            )
        )
        if r.random() < 0.5:  # placed in that terminal's yard, on its own work order
            spot = f"YARD {r.choice('ABCDEFGH')}{r.randint(1, 30):02d}-{r.randint(1, 40):02d}-{r.randint(1, 5)}"
            t_plan = t + r.uniform(15, 60) * MIN
            kw: dict[str, Any] = {
                "place": place,
                "fac": fac,
                "spot": spot,
                "src": f"{fac}-TOS",
                "eq": self.eqd(iso=iso),
            }
            self.ev(t_plan, "IOT", "LOC", cls="PLN", u=t + r.uniform(1, 10) * MIN, **kw)
            kw["eq"] = self.eqd(iso=iso)
            shown.append(self.ev(t_plan + r.uniform(-5, 20) * MIN, "IOT", "LOC", **kw))
        type_note = f" as {other_iso} (this box is {self.iso})" if other_iso else ""
        self.label("clone", shown, f"number seen at {where}{type_note}")


def _truck(plate: str) -> dict[str, Any]:
    return {
        "transportCall": {"modeOfTransport": "TRUCK", "truckTransport": {"tractorDetails": {"licensePlate": plate}}}
    }


def _draw(r: random.Random, rates: dict[str, float]) -> tuple[str, set[str], dict[str, str]]:
    """The modi of one container, their variants and the life cycle they fit."""
    mods = {m for m in MODI if rates[m] > 0 and r.random() < rates[m]}
    v: dict[str, str] = {}
    if "hotel" in mods:
        v["hotel"] = _weighted(r, {"weight": 0.6, "doors": 0.25, "both": 0.15})
        if "door_open" in mods and v["hotel"] == "weight":
            v["hotel"] = "doors"
        if v["hotel"] != "weight":
            mods.add("door_open")
    elif "door_open" in mods and r.random() < 0.4:
        mods.add("seal_tamper")
    if "impossible_order" in mods:
        v["impossible_order"] = "before_disc" if r.random() < 0.5 else "no_cusr"
        if v["impossible_order"] == "before_disc":
            mods.add("release_fraud")

    def fits(ms: set[str]) -> set[str]:
        kinds = set(KINDS)
        for m in ms:
            kinds &= COMPAT[m] | (frozenset({"empty_in", "empty_out"}) if m == "door_open" and "hotel" in ms else set())
        return kinds

    kinds = fits(mods)
    while not kinds:  # drop the narrowest-fitting modi, last first, until one life cycle fits them all
        drop = next(m for m in reversed(MODI) if m in mods and COMPAT[m] != frozenset(KINDS))
        mods.discard(drop)
        v.pop(drop, None)
        if drop == "hotel":
            mods.discard("door_open")
        kinds = fits(mods)
    kind = _weighted(r, {k: w for k, w in KINDS.items() if k in kinds})
    if "release_fraud" in mods and v.get("impossible_order") != "before_disc":
        v["release_fraud"] = _weighted(r, {"no_allowed": 0.4, "other_driver": 0.4, "denied": 0.2})
    if "lane_bypass" in mods:
        v["lane_bypass"] = "cuss" if kind == "export" or r.random() < 0.6 else "cusi"
    if "yard_move" in mods:
        v["yard_move"] = "unplanned" if "lane_bypass" in mods or r.random() < 0.7 else "dwell"
    return kind, mods, v


@dataclass
class Simulation:
    """A simulated stream: DCSA event dicts in delivery order, the injected modi, and counts.

    `labels` rows are `{"container", "modus", "eventIDs", "note"}`; a container can have several rows (two modi, or
    one modus shown twice, e.g. a hotel box's weight and its doors). Notes give local times (Europe/Amsterdam).
    """

    events: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    stats: dict[str, Any]


def _check_rates(rates: dict[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_RATES)
    for name, rate in (rates or {}).items():
        if name not in merged:
            raise ValueError(f"unknown modus {name!r}; known: {', '.join(MODI)}")
        if not 0 <= rate <= 1:
            raise ValueError(f"rate of {name} must be within 0..1, not {rate}")
        merged[name] = float(rate)
    return merged


def _plan(
    *, containers: int, seed: int, day: date | None, rates: dict[str, float] | None, port: str, terminal: str
) -> tuple[list[tuple[float, int, dict[str, Any]]], list[dict[str, Any]], dict[str, Any]]:
    """Every event with its delivery time (unsorted, internal times), the labels and the statistics."""
    if containers < 0:
        raise ValueError("containers must be >= 0")
    merged = _check_rates(rates)
    draw_rates = _adjusted(merged)
    ctx = _Ctx(seed=seed, day=day or DEFAULT_DAY, port=port, terminal=terminal, containers=containers)
    events: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    customs: Counter[str] = Counter()
    reefers = sensors = 0
    for i in range(containers):
        r = random.Random(f"{seed}:{i}")  # noqa: S311 - synthetic data, not security
        kind, mods, variants = _draw(r, draw_rates)
        stay = _Stay(ctx, r, kind, mods, variants, customs)
        stay.run()
        kinds[kind] += 1
        notes.update(stay.notes)
        reefers += stay.reefer
        sensors += stay.sensor
        events.extend(stay.events)
        labels.extend(stay.labels)
    # the vessels' own events
    vr = ctx.r
    for i in sorted(ctx.used):
        call = ctx.calls[i]
        src = {"eventRouting": {"originatingParty": {"partyCode": call.carrier, "codeListProvider": "SMDG"}}}
        for t, u, code, cls in (
            (call.arr + vr.gauss(0, 2 * H), call.arr - vr.uniform(1, 3) * DAY, "ARRI", "EST"),
            (call.arr, call.arr + vr.uniform(60, 600), "ARRI", "ACT"),
            (call.dep, call.dep + vr.uniform(60, 600), "DEPA", "ACT"),
        ):
            events.append(
                {
                    "eventID": _uid(vr),
                    _T: t,
                    _U: u,
                    **_copy(src),
                    "eventLocation": {
                        "locationName": f"QUAY {call.berth}",
                        "UNLocationCode": port,
                        "facilityTypeCode": "POTE",
                        "facility": {"facilityCode": terminal, "facilityCodeListProvider": "SMDG"},
                    },
                    "eventClassification": {
                        "eventTypeCode": "TRANSPORT",
                        "eventClassifierCode": cls,
                        "transportEventTypeCode": code,
                    },
                    "transportDetails": call.details(),
                }
            )
    # delivery: latency, late deliveries, duplicates
    dr = random.Random(f"{seed}:delivery")  # noqa: S311 - synthetic data, not security
    out: list[tuple[float, int, dict[str, Any]]] = []
    late = dups = 0
    for n, e in enumerate(events):
        s = e[_U] + dr.uniform(0.5, 8)
        if dr.random() < 0.05:
            s += dr.uniform(60, 2 * H)
            late += 1
        out.append((s, n, e))
        if dr.random() < 0.01:
            out.append((s + dr.uniform(2, H), n, _copy(e)))
            dups += 1
    injected = Counter(label["modus"] for label in labels)
    labelled_containers = {modus: len({x["container"] for x in labels if x["modus"] == modus}) for modus in MODI}
    stats: dict[str, Any] = {
        "containers": containers,
        "events": len(out),
        "unique_events": len(events),
        "events_per_container": round(len(events) / containers, 1) if containers else 0.0,
        "duplicates": dups,
        "late_deliveries": late,
        "vessel_calls": len(ctx.used),
        "kinds": dict(sorted(kinds.items())),
        "reefers": reefers,
        "tracked_containers": sensors,
        "customs": dict(sorted(customs.items())),
        "noise": dict(sorted(notes.items())),
        "labels": len(labels),
        "injected": {modus: labelled_containers[modus] for modus in MODI},
        "label_rows": {modus: injected.get(modus, 0) for modus in MODI},
        "labelled_containers": len({x["container"] for x in labels}),
        "rates": merged,
        "seed": seed,
        "day": (day or DEFAULT_DAY).isoformat(),
        "port": port,
        "terminal": terminal,
    }
    if events:
        stats["first_event"] = _iso(min(e[_T] for e in events))
        stats["last_event"] = _iso(max(e[_T] for e in events))
    return out, labels, stats


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while building hundreds of thousands of small acyclic dicts (its passes over
    the growing heap would cost more than the building)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), faster than `copy.deepcopy`."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


def _final(e: dict[str, Any]) -> dict[str, Any]:
    """The event as delivered: its times as ISO strings."""
    e[_T] = _iso(e[_T])
    e[_U] = _iso(e[_U])
    return e


def iter_simulate(
    *,
    containers: int,
    seed: int,
    day: date | None = None,
    rates: dict[str, float] | None = None,
    port: str = "NLRTM",
    terminal: str = "DELTA",
) -> Iterator[dict[str, Any]]:
    """The events of `simulate(...)` one at a time, in delivery order (the stays are planned in full first)."""
    with _bulk():
        planned, _labels, _stats = _plan(
            containers=containers, seed=seed, day=day, rates=rates, port=port, terminal=terminal
        )
    planned.sort(key=lambda x: (x[0], x[1]))
    for _, _, e in planned:
        yield _final(e)


def simulate(
    *,
    containers: int,
    seed: int,
    day: date | None = None,
    rates: dict[str, float] | None = None,
    port: str = "NLRTM",
    terminal: str = "DELTA",
) -> Simulation:
    """A terminal's day: DCSA events of `containers` stays in delivery order, with labelled injections."""
    with _bulk():
        planned, labels, stats = _plan(
            containers=containers, seed=seed, day=day, rates=rates, port=port, terminal=terminal
        )
        planned.sort(key=lambda x: (x[0], x[1]))
        events = [_final(e) for _, _, e in planned]
    return Simulation(events=events, labels=labels, stats=stats)


def write(sim: Simulation, *, events_path: Path, labels_path: Path) -> None:
    """Write the events and the labels as JSON Lines (UTF-8, one object a line)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for path, rows in ((Path(events_path), sim.events), (Path(labels_path), sim.labels)):
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write(encode(row) + "\n")


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The labels written by `write`."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The events written by `write`, in delivery order."""
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
