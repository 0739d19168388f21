"""A container terminal's staff and a week of their badge and system-access logs, with three injected insiders.

Why: insider signals are rules over access logs joined with where containers stood and which were seized; real
staff data is personal and never leaves an employer, so demos and tests need a stand-in whose difficulties look
real. Everything comes from `random.Random(seed)` (no clock unless `today` is left out, no network): the same
arguments give the same staff and logs.

What it makes, for one terminal (badge ids `<prefix>-0001`, ...):

* `n` employees with Dutch and Flemish names, home addresses around Rotterdam and Antwerp, mobile numbers and
  private e-mail addresses; roles with their work areas (crane operators and lashers on the QUAY, straddle-carrier
  drivers in two yard zones, reefer technicians in YARD R, gate clerks at GATE IN and GATE OUT, yard and vessel
  planners across the YARD, security guards, maintenance engineers); early, late, night and office shifts on
  week-day, weekend or mid-week crews; vettings mostly cleared for months to years, some pending, a few refused,
  about one in twelve past its date and one in fifteen ending within 30 days of `today`.
* a week of logs ending on `week_end`: on each shift day a badge at the MAIN GATE within ten minutes of the shift's
  start and end and a few badges at readers of the employee's zones (yard readers at blocks 01-20); planners and
  gate clerks log in to the terminal operating system ("N4") and look up containers that stood in their areas at
  that moment (from `places`, where the containers stood; without it, nobody looks a container up).
* the insiders (`Generated.insiders`, badge id → modus):
  `lookups` — a gate clerk who looks up six reefers standing in YARD R during the shift;
  `night` — a day-shift straddle-carrier driver badging in the yard at about 03:00 on two nights;
  `near_seizure` — a night-shift lasher badging, in shift, at the yard block where a container stood (a block
  above 20, which ordinary staff's readers never report, so the seizure flags the insider alone); the container
  and a time after it are in `Generated.seizure`, for customs to record the seizure;
  `linked` — with `linked` given (a party of a seized declaration: phone, street, postcode, city, country), an
  employee who shares that party's phone and address, for screening to find in the network;
  `watched` — with `watched` given (a person on a watch list: name, birth date, country), an employee of that
  name, for screening to find on the watch list.

`demo(...)` loads it for the demo's terminal: the containers from the tracking events the actor may see (the
simulated port day), the staff through the CSV import, the logs through the JSONL import, the seizure through the
controls service (as customs), and a first screening.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.policy import Handling, LegalRegime, Principal, visible_filter
from portguard.personnel import service, signals
from portguard.personnel.models import WEEKDAYS, Employee, parse_days, phone_e164
from portguard.personnel.signals import Placement

DEFAULT_WEEK_END = date(2025, 3, 12)  # the tracking simulator's default day
ZONE_LETTERS = "ABCDFGHKLM"  # the simulator's dry-box yard zones (R: reefers, E: empties)

FIRST_NL = (
    "Anouk", "Bram", "Daan", "Emma", "Femke", "Gijs", "Hanna", "Iris", "Jasper", "Joost", "Kees", "Lieke", "Lotte",
    "Maarten", "Mila", "Niels", "Noor", "Pieter", "Robin", "Ruben", "Sanne", "Sem", "Sophie", "Stijn", "Thijs",
    "Tim", "Vera", "Wouter", "Yara", "Zoë", "Henk", "Ingrid", "Marco", "Priya", "Mohamed", "Fatima", "Kevin",
    "Dewi", "Youssef", "Esther",
)  # fmt: skip
FIRST_BE = (
    "Arne", "Bart", "Elien", "Fien", "Jelle", "Jens", "Kato", "Lander", "Lien", "Lotte", "Nele", "Pieter-Jan",
    "Ruben", "Seppe", "Tine", "Wout", "Yasmine", "Kobe", "Hanne", "Stefaan",
)  # fmt: skip
SURNAMES_NL = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
    "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
    "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan",
    "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "de Bruin", "van der Heijden",
    "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster",
    "van Dam", "van der Wal", "Prins", "Blom", "Huisman", "El Amrani", "Yilmaz", "Bouzid", "Kaya", "Ramdin",
)  # fmt: skip
SURNAMES_BE = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
    "Dubois", "Hermans", "Aerts", "Michiels", "Lambrechts", "Van Damme", "De Backer", "Verstraete", "Desmet",
    "Van den Bossche", "Coppens", "Vermeulen", "De Clercq", "Van de Velde", "Segers",
)  # fmt: skip
# city, postcode range (NL: four digits; BE: four digits), streets, country
PLACES_NL = (
    ("Rotterdam", (3011, 3089), ("Maasboulevard", "Nieuwe Binnenweg", "Schiedamseweg", "Groene Hilledijk")),
    ("Schiedam", (3111, 3125), ("Broersvest", "Nieuwe Haven", "Rotterdamsedijk")),
    ("Vlaardingen", (3131, 3138), ("Westhavenkade", "Van Hogendorplaan", "Marathonweg")),
    ("Maassluis", (3141, 3147), ("Noordvliet", "Govert van Wijnkade")),
    ("Spijkenisse", (3200, 3207), ("Noordkade", "Hekelingseweg", "Groene Kruisweg")),
    ("Hellevoetsluis", (3221, 3225), ("Oostzanddijk", "Struyckenbaan")),
    ("Brielle", (3231, 3232), ("Voorstraat", "Langestraat")),
    ("Rozenburg", (3181, 3181), ("Emmastraat", "Molenweg")),
)  # fmt: skip
PLACES_BE = (
    ("Antwerpen", (2000, 2060), ("Frankrijklei", "Kammenstraat", "Noorderlaan")),
    ("Zwijndrecht", (2070, 2070), ("Kapelstraat", "Statiestraat")),
    ("Beveren", (9120, 9120), ("Grote Markt", "Gentseweg")),
)  # fmt: skip
MAIL_NL = ("ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.com", "outlook.com", "xs4all.nl")
MAIL_BE = ("telenet.be", "skynet.be", "gmail.com", "proximus.be")
SHIFTS = {"early": (6, 14), "late": (14, 22), "night": (22, 6), "office": (8, 17)}
CREWS = ("mon-fri", "mon-fri", "mon-fri", "sat,sun,mon,tue", "wed-sat")
# role: (weight, shifts it works, does system look-ups)
ROLES: dict[str, tuple[float, tuple[str, ...], bool]] = {
    "crane operator": (14, ("early", "late", "night"), False),
    "straddle carrier driver": (30, ("early", "late", "night"), False),
    "lasher": (14, ("early", "late", "night"), False),
    "reefer technician": (6, ("early", "late"), False),
    "gate clerk": (10, ("early", "late"), True),
    "yard planner": (8, ("office", "early", "late"), True),
    "vessel planner": (4, ("office",), True),
    "security guard": (6, ("early", "late", "night"), False),
    "maintenance engineer": (6, ("early", "office"), False),
}


@dataclass
class Generated:
    """The staff (EmployeeIn fields), their access events (AccessEventIn fields), the insiders and the seizure."""

    employees: list[dict[str, Any]]
    events: list[dict[str, Any]]
    insiders: dict[str, str] = field(default_factory=dict)  # badge id -> modus
    seizure: tuple[str, datetime] | None = None  # container, when customs seize it (UTC)

    def employees_csv(self) -> str:
        """The staff as the CSV the import reads."""
        columns = list(self.employees[0]) if self.employees else []
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in self.employees:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return out.getvalue()

    def events_jsonl(self) -> str:
        """The access events as JSON Lines."""
        return "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in self.events)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value) if value and " " in value[0] else ",".join(value)
    return str(value)


def _areas(r: random.Random, role: str) -> list[str]:
    if role in ("crane operator", "lasher"):
        return ["QUAY"]
    if role == "straddle carrier driver":
        return [f"YARD {z}" for z in sorted(r.sample(ZONE_LETTERS, 2))]
    if role == "reefer technician":
        return ["YARD R"]
    if role == "gate clerk":
        return ["GATE IN", "GATE OUT"]
    if role == "yard planner":
        return ["YARD"]
    if role == "vessel planner":
        return ["QUAY", "YARD"]
    if role == "security guard":
        return ["MAIN GATE", "GATE IN", "GATE OUT", "QUAY"]
    return ["WORKSHOP", "QUAY"]


def _person(r: random.Random, i: int, prefix: str, today: date) -> dict[str, Any]:
    belgian = r.random() < 0.2
    first = r.choice(FIRST_BE if belgian else FIRST_NL)
    last = r.choice(SURNAMES_BE if belgian else SURNAMES_NL)
    city, (lo, hi), streets = r.choice(PLACES_BE if belgian else PLACES_NL)
    number = r.randint(1, 240)
    postcode = f"{r.randint(lo, hi)}" + (
        "" if belgian else f" {r.choice('ABCDEGHJKLMNPRSTVWXZ')}{r.choice('ABEGHJKLMNPRST')}"
    )
    if belgian:
        phone = f"+32 4{r.randint(60, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"
    else:
        phone = f"+31 6 {r.randint(10000000, 99999999)}"
    handle = f"{first}.{last}".lower().replace(" ", "").replace("ë", "e").replace("'", "")
    mail = f"{handle}{r.randint(1, 99) if r.random() < 0.4 else ''}@{r.choice(MAIL_BE if belgian else MAIL_NL)}"
    role = _weighted(r, {k: v[0] for k, v in ROLES.items()})
    shift = r.choice(ROLES[role][1])
    start, end = SHIFTS[shift]
    crew = "mon-fri" if shift == "office" else r.choice(CREWS)
    x = r.random()
    if x < 0.05:
        vetting, expires = "pending", None
    elif x < 0.07:
        vetting, expires = "refused", None
    elif x < 0.15:
        vetting, expires = "cleared", today - timedelta(days=r.randint(1, 120))  # lapsed
    elif x < 0.22:
        vetting, expires = "cleared", today + timedelta(days=r.randint(0, 30))  # ending soon
    else:
        vetting, expires = "cleared", today + timedelta(days=r.randint(60, 1100))
    born = date(today.year - r.randint(20, 63), r.randint(1, 12), r.randint(1, 28))
    return {
        "name": f"{first} {last}",
        "birth_date": born.isoformat(),
        "job_role": role,
        "badge_id": f"{prefix}-{i:04d}",
        "vetting_status": vetting,
        "vetting_expires": expires.isoformat() if expires else None,
        "country": "BE" if belgian else "NL",
        "street": f"{r.choice(streets)} {number}",
        "postcode": postcode,
        "city": city,
        "phone": phone,
        "email": mail,
        "shift_start": start,
        "shift_end": end,
        "shift_days": crew,
        "work_areas": _areas(r, role),
        "active": vetting != "refused",
    }


def _weighted(r: random.Random, weights: dict[str, float]) -> str:
    x = r.random() * sum(weights.values())
    for key, weight in weights.items():
        x -= weight
        if x < 0:
            return key
    return next(reversed(weights))


def _reader(r: random.Random, area: str) -> str:
    """A badge reader in `area`: yard readers at blocks 01-20, quay readers at a berth."""
    if area.startswith("YARD "):
        return f"{area}{r.randint(1, 20):02d}"
    if area == "YARD":
        return f"YARD {r.choice(ZONE_LETTERS)}{r.randint(1, 20):02d}"
    if area == "QUAY":
        return f"QUAY {r.randint(1, 9)}"
    return area


class _Clock:
    """Local wall-clock times at the port turned into UTC ISO strings."""

    def __init__(self) -> None:
        self.tz = signals.port_zone()

    def utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def iso(self, local: datetime) -> str:
        return self.utc(local).isoformat()


def _located(places: dict[str, list[Placement]], at: datetime, want: Any) -> list[tuple[str, Placement]]:
    """(container, placement) of the boxes standing at `at` in a zone `want(zone)` accepts, by container."""
    out = []
    for number in sorted(places):
        p = signals.location_at(places[number], at)
        if p is not None and want(p.zone):
            out.append((number, p))
    return out


def generate(
    *,
    n: int = 120,
    seed: int = 7,
    prefix: str = "DCT",
    week_end: date = DEFAULT_WEEK_END,
    today: date | None = None,
    places: dict[str, list[Placement]] | None = None,
    linked: dict[str, str | None] | None = None,
    watched: dict[str, str | None] | None = None,
) -> Generated:
    """A terminal's staff and a week of their access logs ending on `week_end` (local), with the insiders."""
    if not 4 <= n <= 10_000:
        raise ValueError("n must be within 4..10,000 (three insiders and at least one colleague)")
    today = today or utcnow().date()
    places = places or {}
    r = random.Random(f"{seed}:personnel")  # noqa: S311 - synthetic data, not security
    clock = _Clock()
    staff = [_person(r, i + 1, prefix, today) for i in range(n)]
    insiders: dict[str, str] = {}

    def pick(role: str, shift: tuple[int, int] | None, modus: str) -> dict[str, Any]:
        taken = set(insiders)
        for person in staff:
            if person["badge_id"] not in taken and person["job_role"] == role and person["vetting_status"] == "cleared":
                break
        else:
            person = next(p for p in staff if p["badge_id"] not in taken)
            person["job_role"] = role
        person.update(vetting_status="cleared", active=True, work_areas=_areas(r, role))
        person["vetting_expires"] = (today + timedelta(days=400)).isoformat()
        if shift is not None:
            person["shift_start"], person["shift_end"] = shift
            person["shift_days"] = "mon-fri" if shift != (22, 6) else "mon-sun"
        insiders[person["badge_id"]] = modus
        return person

    lookups = pick("gate clerk", (6, 14), "lookups")
    night = pick("straddle carrier driver", (6, 14), "night")
    near = pick("lasher", (22, 6), "near_seizure")
    if linked:
        tied = pick("crane operator", None, "linked")
        tied.update({k: v for k, v in linked.items() if k in ("phone", "street", "postcode", "city", "country") and v})
    if watched:
        listed = pick("yard planner", None, "watched")
        listed.update({k: v for k, v in watched.items() if k in ("name", "birth_date", "country") and v})
        listed["email"] = None  # the generated address was made from the other name

    days = [week_end - timedelta(days=k) for k in range(6, -1, -1)]
    events: list[dict[str, Any]] = []
    for person in staff:
        if not person["active"]:
            continue
        on = list(parse_days(person["shift_days"]))
        length = signals.shift_hours(person["shift_start"], person["shift_end"])
        system_user = ROLES[person["job_role"]][2]
        for day in days:
            if WEEKDAYS[day.weekday()] not in on or r.random() < 0.06:  # a day off, ill or on leave
                continue
            begin = datetime.combine(day, time(person["shift_start"])) + timedelta(minutes=r.uniform(-9, 5))
            finish = datetime.combine(day, time(person["shift_start"])) + timedelta(
                hours=length, minutes=r.uniform(-3, 9)
            )
            badge = person["badge_id"]
            events.append({"badge_id": badge, "at": clock.iso(begin), "kind": "badge", "zone": "MAIN GATE"})
            events.append({"badge_id": badge, "at": clock.iso(finish), "kind": "badge", "zone": "MAIN GATE"})
            span = (finish - begin).total_seconds()
            for _ in range(r.randint(1, 4)):
                when = begin + timedelta(seconds=r.uniform(0.05, 0.95) * span)
                zone = _reader(r, r.choice(person["work_areas"]))
                events.append({"badge_id": badge, "at": clock.iso(when), "kind": "badge", "zone": zone})
            if not system_user:
                continue
            login = begin + timedelta(minutes=r.uniform(8, 25))
            events.append(
                {"badge_id": badge, "at": clock.iso(login), "kind": "system", "system": "N4", "action": "login"}
            )
            areas = person["work_areas"]
            for _ in range(r.randint(2, 9)):
                when = login + timedelta(seconds=r.uniform(0.02, 0.9) * (finish - login).total_seconds())
                utc = clock.utc(when)
                mine = _located(places, utc, lambda z, areas=areas: signals.in_areas(areas, z))
                if not mine:
                    continue
                number, _ = r.choice(mine)
                events.append(
                    {
                        "badge_id": badge,
                        "at": utc.isoformat(),
                        "kind": "system",
                        "system": "N4",
                        "action": "container inquiry",
                        "container_number": number,
                    }
                )

    # the gate clerk looks up reefers in YARD R during the shift
    done = 0
    for day in (d for d in days if d.weekday() < 5):
        if done >= 6:
            break
        for hour in (8, 10, 12):
            local = datetime.combine(day, time(hour, r.randint(0, 59)))
            utc = clock.utc(local)
            reefers = _located(places, utc, lambda z: z.startswith("YARD R"))
            if reefers and done < 6:
                number, _ = r.choice(reefers)
                events.append(
                    {
                        "badge_id": lookups["badge_id"],
                        "at": utc.isoformat(),
                        "kind": "system",
                        "system": "N4",
                        "action": "container inquiry",
                        "container_number": number,
                    }
                )
                done += 1
    # the day-shift driver in the yard at night
    for day in days[2:4]:
        local = datetime.combine(day, time(2, r.randint(40, 59))) + timedelta(minutes=r.randint(0, 40))
        zone = _reader(r, night["work_areas"][0])
        events.append({"badge_id": night["badge_id"], "at": clock.iso(local), "kind": "badge", "zone": zone})
    # the night-shift lasher at a block where a box stood, hours before customs seize it
    seizure = _near_seizure(r, clock, places, days, near["badge_id"], events)
    events.sort(key=lambda e: (e["at"], e["badge_id"]))
    return Generated(employees=staff, events=events, insiders=insiders, seizure=seizure)


def _near_seizure(
    r: random.Random,
    clock: _Clock,
    places: dict[str, list[Placement]],
    days: Sequence[date],
    badge: str,
    events: list[dict[str, Any]],
) -> tuple[str, datetime] | None:
    for day in days[1:-1]:
        for hour in (23, 0, 1, 2, 3):
            local = datetime.combine(day + timedelta(days=1 if hour < 12 else 0), time(hour, r.randint(5, 40)))
            utc = clock.utc(local)
            later = utc + timedelta(minutes=30)
            candidates = [
                (number, p)
                for number, p in _located(places, utc, lambda z: z.startswith("YARD ") and z[-2:].isdigit())
                if int(p.zone[-2:]) > 20 and (p.end is None or p.end > later)
            ]
            if not candidates:
                continue
            number, p = r.choice(candidates)
            for minutes in (0, 22):
                at = utc + timedelta(minutes=minutes)
                events.append({"badge_id": badge, "at": at.isoformat(), "kind": "badge", "zone": p.zone})
            return number, utc + timedelta(hours=r.uniform(14, 30))
    return None


# ---------------------------------------------------------------- the demo


def _stored_places(session: Session, *, actor: Principal) -> tuple[dict[str, list[Placement]], date | None]:
    """Where the containers of the tracking events the actor may see stood, and the last day with events."""
    from portguard.tracking.models import ContainerEvent

    visible = visible_filter(actor, ContainerEvent)
    numbers = list(
        session.scalars(
            select(ContainerEvent.container_number)
            .where(ContainerEvent.container_number.is_not(None), visible)
            .distinct()
        )
    )
    last = session.scalar(select(func.max(ContainerEvent.event_time)).where(visible))
    if not numbers:
        return {}, None
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="container_event",
        legal_regime=LegalRegime.GDPR,
        detail={"purpose": "personnel demo: where containers stood", "containers": len(numbers)},
    )
    places = signals.container_locations(session, actor=actor, containers=numbers)
    tz = signals.port_zone()
    return places, (signals.local_time(last, tz).date() if last else None)


def _seized_party(session: Session, *, actor: Principal) -> dict[str, str | None] | None:
    """Phone and address of a party to a seized declaration the actor (customs) may read, audited."""
    from portguard.controls.models import ControlResult, Outcome
    from portguard.declarations.models import Declaration, Party

    row = session.execute(
        select(Party, Declaration.id, Declaration.legal_regime)
        .join(Declaration, Declaration.id == Party.declaration_id)
        .join(ControlResult, ControlResult.declaration_id == Declaration.id)
        .where(
            ControlResult.outcome == Outcome.SEIZURE.value,
            Party.role.in_(["consignee", "notify_party", "importer"]),
            Party.phone.is_not(None),
            Party.street.is_not(None),
            visible_filter(actor, Declaration),
            visible_filter(actor, ControlResult),
        )
        .order_by(Declaration.id, Party.seq)
        .limit(1)
    ).first()
    if row is None:
        return None
    party, declaration_id, regime = row
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="declaration",
        object_id=declaration_id,
        legal_regime=regime,
        justification="personnel demo: a party of a seized declaration",
    )
    try:
        phone = phone_e164(party.phone or "", party.country)
    except ValueError:
        return None
    return {
        "phone": phone,
        "street": party.street,
        "postcode": party.postcode,
        "city": party.city,
        "country": party.country,
    }


def _watched_person(session: Session, *, actor: Principal) -> dict[str, str | None] | None:
    """Name, birth date and country of a person on a watch list the actor may read (one of the Netherlands or
    Belgium if there is one), audited; None if there is none."""
    from portguard.network.models import WatchList, WatchListEntry

    rows = session.execute(
        select(WatchListEntry, WatchList.legal_regime)
        .join(WatchList, WatchList.id == WatchListEntry.watchlist_id)
        .where(WatchListEntry.schema == "Person", visible_filter(actor, WatchList))
        .order_by(WatchListEntry.watchlist_id, WatchListEntry.id)
        .limit(200)
    ).all()
    if not rows:
        return None
    entry, regime = next(((e, r) for e, r in rows if {"nl", "be"} & {c.lower() for c in e.countries}), rows[0])
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="watchlist",
        object_id=entry.watchlist_id,
        legal_regime=regime,
        detail={"purpose": "personnel demo: a watched person", "entry": entry.id},
    )
    country = next((c.upper() for c in entry.countries if c.lower() in ("nl", "be")), "NL")
    birth = next((b for b in entry.birth_dates if len(b) == 10), None)
    return {"name": entry.caption, "birth_date": birth, "country": country}


def demo(
    session: Session,
    *,
    actor: Principal,
    sharing_group_id: str | None = None,
    customs_actor: Principal | None = None,
    n: int = 120,
    seed: int = 7,
    containers: dict[str, list[Placement]] | None = None,
    screen: bool = True,
) -> dict[str, Any]:
    """Load a terminal's staff and a week of their access logs for `actor`'s organisation (its security officer),
    unless it has employees already; `containers` (where boxes stood) defaults to the tracking events the actor may
    see. With `customs_actor`, customs record the seizure near which the insider was, and one employee gets the
    phone and address of a party to a seized declaration. What was loaded, in numbers."""
    if session.scalar(select(Employee.id).where(Employee.owner_org_id == actor.org_id).limit(1)) is not None:
        return {"employees": 0, "events": 0, "seizure": None, "screened": 0}
    if containers is None:
        places, last_day = _stored_places(session, actor=actor)
    else:
        places, last_day = containers, None
    linked = _seized_party(session, actor=customs_actor) if customs_actor is not None else None
    watched = _watched_person(session, actor=actor)
    gen = generate(n=n, seed=seed, week_end=last_day or DEFAULT_WEEK_END, places=places, linked=linked, watched=watched)
    handling = Handling.AMBER.value if sharing_group_id else Handling.AMBER_STRICT.value
    staff = service.import_employees(
        session,
        actor=actor,
        text=gen.employees_csv(),
        name="demo-staff.csv",
        handling=handling,
        sharing_group_id=sharing_group_id,
    )
    logged = service.import_events(
        session, actor=actor, text=gen.events_jsonl(), name="demo-access.jsonl", source="demo"
    )
    seized = None
    if customs_actor is not None and gen.seizure is not None:
        from decimal import Decimal

        from portguard.controls import service as controls
        from portguard.controls.models import ControlResultIn, Outcome

        number, when = gen.seizure
        controls.record_result(
            session,
            actor=customs_actor,
            data=ControlResultIn(
                container_number=number,
                outcome=Outcome.SEIZURE,
                goods="cocaine in a reefer's machinery compartment",
                drug_type="cocaine",
                quantity_kg=Decimal("142.0"),
                concealment="rip-on/rip-off",
                recorded_at=when,
                handling=Handling.GREEN,
            ),
        )
        seized = number
    screened = 0
    if screen:
        screened = len(service.screen(session, actor=actor, justification="demo: periodic staff screening"))
    return {
        "employees": len(staff.created),
        "events": logged.accepted,
        "insiders": gen.insiders,
        "seizure": seized,
        "screened": screened,
    }
