"""A small port community for the personnel tests, and builders of employees, access events, tracking events and
seizures.

`staff` is the Delta terminal (a security officer and an org admin), another terminal, Dutch customs (an analyst and
an inspection officer), the seaport police and an EU agency — all in the Delta terminal's security-partners group —
and, outside it, another police force. The terminal's security officer registers its staff; each test adds what
it needs. Times are in March 2025 (central European winter time, UTC+1): `T0` is Wednesday 12 March, 07:00 local.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from stdnum import iso6346

from portguard.controls import service as controls
from portguard.controls.models import ControlResultIn, Outcome
from portguard.core.db import Database
from portguard.core.policy import Handling, OrgKind, Role
from portguard.personnel import service
from portguard.personnel.models import AccessEventIn, EmployeeIn
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from portguard.tracking import service as tracking
from portguard.tracking.models import AlertSharing
from tests.conftest import Made
from tests.tracking.conftest import dcsa

T0 = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)  # Wednesday 07:00 in Rotterdam


def box(n: int, owner: str = "MSKU") -> str:
    """A valid ISO 6346 container number."""
    body = f"{owner}{n:06d}"
    return body + iso6346.calc_check_digit(body)


def at(hours: float) -> datetime:
    """`hours` after T0 (UTC)."""
    return T0 + timedelta(hours=hours)


@dataclass
class Staff:
    db: Database
    security: Made  # port security at the Delta terminal (the employer)
    admin: Made  # the Delta terminal's org admin: no employee:read
    other_terminal: Made  # port security at another terminal, in the group
    customs: Made  # customs analyst, in the group
    officer: Made  # inspection officer of the same customs
    police: Made  # police analyst, in the group
    other_police: Made  # police analyst outside the group
    eu: Made  # police analyst at an EU agency, in the group (not police)
    group_id: str

    def session(self) -> Any:
        return self.db.session()


@pytest.fixture
def staff(db: Database, make_org: Callable[..., str], make_user: Callable[..., Made]) -> Staff:
    """The Delta terminal's security partners and, outside, another police force."""
    delta = make_org(name="Delta Container Terminal", kind=OrgKind.TERMINAL_OPERATOR)
    users = {
        "security": make_user(Role.PORT_SECURITY, org_id=delta, username="delta.security"),
        "admin": make_user(Role.ORG_ADMIN, org_id=delta, username="delta.admin"),
        "other_terminal": make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR, username="other.security"),
        "customs": make_user(Role.CUSTOMS_ANALYST, kind=OrgKind.CUSTOMS_AUTHORITY, username="customs.analyst"),
        "police": make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE, username="police.analyst"),
        "other_police": make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE, username="other.police"),
        "eu": make_user(Role.POLICE_ANALYST, kind=OrgKind.EU_AGENCY, username="eu.analyst"),
    }
    users["officer"] = make_user(Role.INSPECTION_OFFICER, org_id=users["customs"].org_id, username="customs.officer")
    members = [delta, *(users[k].org_id for k in ("other_terminal", "customs", "police", "eu"))]
    with db.session() as session:
        group = sharing.create_group(
            session, actor=None, data=GroupIn(name="Delta terminal security partners", org_ids=members)
        )
    with db.session() as session:  # reload: the group memberships changed
        for made in users.values():
            principal = sharing.load_principal(session, user_id=made.user_id)
            assert principal is not None
            made.principal = principal
    return Staff(db=db, group_id=group.id, **users)


def person(badge: str = "DCT-0001", **fields: Any) -> EmployeeIn:
    """A day-shift straddle-carrier driver in yard zones A and B (07-15 h, Monday to Friday), unless told otherwise."""
    values: dict[str, Any] = {
        "name": "Jan de Vries",
        "job_role": "straddle carrier driver",
        "badge_id": badge,
        "vetting_status": "cleared",
        "vetting_expires": "2027-01-31",
        "phone": "+31 6 1234 5678",
        "email": "jan.devries@example.nl",
        "street": "Maasboulevard 12",
        "postcode": "3011 TX",
        "city": "Rotterdam",
        "country": "NL",
        "shift_start": 7,
        "shift_end": 15,
        "shift_days": "mon-fri",
        "work_areas": ["YARD A", "YARD B"],
    }
    values.update(fields)
    return EmployeeIn.model_validate(values)


def hire(staff: Staff, badge: str = "DCT-0001", **fields: Any) -> str:
    """Register an employee of the Delta terminal; its id."""
    with staff.session() as session:
        return service.register(session, actor=staff.security.principal, data=person(badge, **fields)).id


def shared(staff: Staff, badge: str = "DCT-0002", **fields: Any) -> str:
    """An employee shared AMBER with the security-partners group (police may read it with a reason)."""
    return hire(staff, badge, handling="AMBER", sharing_group_id=staff.group_id, **fields)


def access(staff: Staff, *events: dict[str, Any]) -> service.EventReport:
    """Record access events of the Delta terminal's staff."""
    with staff.session() as session:
        items = [AccessEventIn.model_validate(e) for e in events]
        return service.record_events(session, actor=staff.security.principal, events=items)


def badge(badge_id: str, hours: float, zone: str = "YARD B12") -> dict[str, Any]:
    return {"badge_id": badge_id, "at": at(hours).isoformat(), "kind": "badge", "zone": zone}


def lookup(badge_id: str, hours: float, container: str, system: str = "N4") -> dict[str, Any]:
    return {
        "badge_id": badge_id,
        "at": at(hours).isoformat(),
        "kind": "system",
        "system": system,
        "action": "container inquiry",
        "container_number": container,
    }


def placed(container: str, hours: float, spot: str) -> dict[str, Any]:
    """An actual yard move of `container` to `spot`, `hours` after T0."""
    return dcsa("LOC", hours * 60, container=container, spot=spot)


def track(staff: Staff, *events: dict[str, Any]) -> None:
    """Record tracking events as the Delta terminal, shared AMBER with its security partners."""
    with staff.session() as session:
        result = tracking.record_events(
            session,
            actor=staff.security.principal,
            events=list(events),
            source="test",
            sharing=AlertSharing(handling=Handling.AMBER, sharing_group_id=staff.group_id),
        )
    assert not result.rejected, result.rejected


def seize(staff: Staff, container: str, hours: float, handling: Handling = Handling.GREEN) -> str:
    """Customs record a seizure of cocaine in `container`, `hours` after T0; the result's id."""
    with staff.session() as session:
        result = controls.record_result(
            session,
            actor=staff.officer.principal,
            data=ControlResultIn(
                container_number=container,
                outcome=Outcome.SEIZURE,
                goods="cocaine",
                drug_type="cocaine",
                quantity_kg=Decimal("95"),
                recorded_at=at(hours),
                handling=handling,
            ),
        )
        return result.id
