"""Demo data: the organisations of a Rotterdam–Antwerp port community, a user for each role, and shared notes.

Everything is created through the services, so the demo also fills the audit chain the way real use would.
The names are invented; the kinds, countries and roles are those the platform serves.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.core.policy import Handling, LegalRegime, OrgKind, Principal, Role
from portguard.sharing import service
from portguard.sharing.models import GroupIn, NoteIn, Organisation, OrgIn, User, UserIn

_console = Console(stderr=True)
DEMO_PASSWORD = "portguard-demo"  # noqa: S105 - published demo credential, printed on purpose

ORGS = [
    ("nl-customs", "Dutch Customs – Rotterdam", OrgKind.CUSTOMS_AUTHORITY, "NL"),
    ("be-customs", "Belgian Customs – Antwerp", OrgKind.CUSTOMS_AUTHORITY, "BE"),
    ("police", "Seaport Police Rotterdam", OrgKind.POLICE, "NL"),
    ("terminal", "Delta Container Terminal", OrgKind.TERMINAL_OPERATOR, "NL"),
    ("line", "Northsea Shipping Line", OrgKind.SHIPPING_LINE, "DK"),
    ("haulier", "Polder Haulage", OrgKind.HAULIER, "NL"),
    ("forwarder", "Maas Forwarding", OrgKind.FORWARDER, "NL"),
    ("eu-agency", "EU Drugs Agency (demo)", OrgKind.EU_AGENCY, "PT"),
    ("kcs", "Korea Customs Service (public data set)", OrgKind.THIRD_COUNTRY_PARTNER, "KR"),
]
KCS_FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv", "df_syn_test_eng.csv")

USERS = [
    ("admin", "Platform Administrator", "eu-agency", [Role.PLATFORM_ADMIN]),
    ("nl.analyst", "Anouk de Vries", "nl-customs", [Role.CUSTOMS_ANALYST]),
    ("nl.officer", "Bram Jansen", "nl-customs", [Role.INSPECTION_OFFICER]),
    ("nl.focal", "Carla Visser", "nl-customs", [Role.ALERT_FOCAL_POINT]),
    ("be.focal", "Lotte Claes", "be-customs", [Role.ALERT_FOCAL_POINT]),
    ("nl.admin", "Dirk Smit", "nl-customs", [Role.ORG_ADMIN]),
    ("be.analyst", "Elise Peeters", "be-customs", [Role.CUSTOMS_ANALYST]),
    ("police.analyst", "Femke Bakker", "police", [Role.POLICE_ANALYST]),
    ("terminal.security", "Gert Mulder", "terminal", [Role.PORT_SECURITY]),
    ("line.security", "Hanne Nielsen", "line", [Role.PORT_SECURITY]),
    ("haulier.security", "Ivo de Boer", "haulier", [Role.PORT_SECURITY]),
    ("forwarder.security", "Jan Kok", "forwarder", [Role.PORT_SECURITY]),
    ("eu.analyst", "Joana Silva", "eu-agency", [Role.POLICE_ANALYST, Role.ALERT_FOCAL_POINT]),
]


def load(session: Session, *, shared_data_dir: Path | None = None) -> bool:
    """Create the demo data unless it is already there; True when something was created.

    With the public KCS set in `shared_data_dir/customs-declarations/` (the CLI passes the setting; None: not
    looked for), its 54,000 labelled declarations are loaded
    too (owned by a Korea Customs partner organisation, shared AMBER with the two customs authorities)."""
    if session.scalar(select(Organisation.id).where(Organisation.name == ORGS[0][1])):
        return False
    org_ids = {}
    for key, name, kind, country in ORGS:
        member = kind != OrgKind.THIRD_COUNTRY_PARTNER
        org_ids[key] = service.create_org(
            session, actor=None, data=OrgIn(name=name, kind=kind, country=country, member=member)
        ).id
    alliance = service.create_group(
        session,
        actor=None,
        data=GroupIn(
            name="Alliance customs authorities",
            description="Customs administrations of the European Ports Alliance",
            org_ids=[org_ids["nl-customs"], org_ids["be-customs"]],
        ),
    )
    community = service.create_group(
        session,
        actor=None,
        data=GroupIn(
            name="Rotterdam port community",
            description="Public and private partners of the Rotterdam port",
            org_ids=[org_ids[k] for k in ("nl-customs", "police", "terminal", "line", "haulier", "forwarder")],
        ),
    )
    users = {}
    for username, display, org_key, roles in USERS:
        users[username] = service.create_user(
            session,
            actor=None,
            data=UserIn(
                username=username,
                display_name=display,
                org_id=org_ids[org_key],
                roles=roles,
                password=DEMO_PASSWORD,
            ),
        )
    notes = [
        (
            "nl.analyst",
            "Fruit from Guayaquil: new concealment",
            "Cocaine found inside the cooling unit of a reefer with bananas; check reefer machinery on the same route.",
            Handling.AMBER,
            LegalRegime.GDPR,
            alliance.id,
        ),
        (
            "nl.analyst",
            "Port community briefing: rip-on/rip-off",
            "Seal checks at the gate find three resealed containers this month; report any seal mismatch to customs.",
            Handling.GREEN,
            LegalRegime.GDPR,
            None,
        ),
        (
            "be.analyst",
            "Antwerp: cloned container numbers",
            "Two containers with the same number seen 20 minutes apart at two terminals; treat as a clone.",
            Handling.AMBER,
            LegalRegime.GDPR,
            alliance.id,
        ),
        (
            "police.analyst",
            "Extraction team identified",
            "Investigation ROTT-2026-114: suspects use a hotel container at the Delta terminal.",
            Handling.AMBER_STRICT,
            LegalRegime.LED,
            None,
        ),
        (
            "terminal.security",
            "Gate camera outage 02:00-03:10",
            "OCR cameras at gate 4 were down; gate-outs in that window had manual checks only.",
            Handling.AMBER,
            LegalRegime.GDPR,
            community.id,
        ),
        (
            "eu.analyst",
            "Public advisory: designer precursors",
            "New unscheduled BMK precursors declared as 'flavouring' are reaching EU ports.",
            Handling.CLEAR,
            LegalRegime.GDPR,
            None,
        ),
    ]
    for username, title, body, handling, regime, group in notes:
        actor = service.load_principal(session, user_id=users[username].id)
        assert actor is not None
        service.create_note(
            session,
            actor=actor,
            data=NoteIn(title=title, body=body, handling=handling, legal_regime=regime, sharing_group_id=group),
        )
    _load_declarations(session, users)
    research = service.create_group(
        session,
        actor=None,
        data=GroupIn(
            name="KCS public data set",
            description="The Korea Customs Service's public, labelled declarations, shared for targeting research",
            org_ids=[org_ids[k] for k in ("kcs", "nl-customs", "be-customs")],
        ),
    )
    if shared_data_dir is not None:
        _load_public_kcs(session, org_ids["kcs"], research.id, shared_data_dir)
    _load_rules(session, users, alliance.id)
    _load_targeting(session, users)
    partners = service.create_group(
        session,
        actor=None,
        data=GroupIn(
            name="Delta terminal security partners",
            description="Who receives the Delta terminal's port alerts: customs and the seaport police",
            org_ids=[org_ids[k] for k in ("terminal", "nl-customs", "police")],
        ),
    )
    _load_port_day(session, users, partners.id)
    investigators = service.create_group(
        session,
        actor=None,
        data=GroupIn(
            name="Rotterdam seizure network",
            description="Who reads the network around seizures: Dutch and Belgian customs and the seaport police",
            org_ids=[org_ids[k] for k in ("nl-customs", "be-customs", "police")],
        ),
    )
    _load_network(session, users, investigators.id)
    _load_staff(session, users, partners.id)
    _load_substances(session, users, alliance.id, shared_data_dir)
    return True


def _load_port_day(session: Session, users: dict[str, User], group_id: str) -> None:
    """A simulated day at the Delta terminal (600 containers, 2 % of them with each modus operandi injected), sent
    by the terminal's security officer; its alerts go AMBER to the terminal's security partners."""
    from portguard.tracking import service as tracking
    from portguard.tracking import simulator
    from portguard.tracking.models import AlertSharing

    actor = service.load_principal(session, user_id=users["terminal.security"].id)
    assert actor is not None
    sim = simulator.simulate(containers=600, seed=11, rates=dict.fromkeys(simulator.MODI, 0.02))
    sharing = AlertSharing(handling=Handling.AMBER, sharing_group_id=group_id)
    for start in range(0, len(sim.events), 2000):
        tracking.record_events(
            session, actor=actor, events=sim.events[start : start + 2000], source="demo", sharing=sharing
        )


def _load_declarations(session: Session, users: dict[str, User]) -> None:
    """Generated declarations for the two customs authorities, and a few control results on them."""
    import tempfile

    from portguard.controls import service as controls
    from portguard.controls.models import ControlResultIn, Outcome
    from portguard.declarations import generator
    from portguard.declarations import service as declarations

    for username, n, seed in (("nl.analyst", 1500, 7), ("be.analyst", 800, 8)):
        actor = service.load_principal(session, user_id=users[username].id)
        assert actor is not None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"demo-{username}.jsonl"
            generator.write_jsonl(path, n, seed=seed)
            report = declarations.ingest(session, actor=actor, owner_org_id=actor.org_id, path=path, format="ics2")
        if report.status != "committed":
            raise RuntimeError(f"demo declarations were rejected: {report.errors[:3]}")
        listed, _ = declarations.list_declarations(session, actor=actor, hs_prefix="0803", limit=12)  # bananas
        for i, decl in enumerate(listed):
            outcome = Outcome.SEIZURE if i % 6 == 0 else Outcome.IRREGULARITY if i % 3 == 0 else Outcome.NO_FINDING
            controls.record_result(
                session,
                actor=actor,
                data=ControlResultIn(
                    declaration_id=decl.id,
                    outcome=outcome,
                    goods="cocaine" if outcome == Outcome.SEIZURE else None,
                    drug_type="cocaine" if outcome == Outcome.SEIZURE else None,
                    quantity_kg=Decimal("180.5") if outcome == Outcome.SEIZURE else None,
                    concealment="reefer cooling unit" if outcome == Outcome.SEIZURE else None,
                ),
            )


def _load_public_kcs(session: Session, org_id: str, group_id: str, shared_data_dir: Path) -> None:
    """The three files of the public KCS set, when they are there; their fraud labels become control results."""
    from portguard.declarations import service as declarations

    folder = shared_data_dir / "customs-declarations"
    files = [folder / name for name in KCS_FILES]
    if not all(f.is_file() for f in files):
        _console.print(f"[yellow]No public KCS set in {folder}: the demo runs on generated declarations only.[/]")
        return
    for path in files:
        with _console.status(f"loading {path.name} (public KCS set)"):
            report = declarations.ingest(
                session, actor=None, owner_org_id=org_id, path=path, format="kcs", sharing_group_id=group_id
            )
        if report.status != "committed":
            raise RuntimeError(f"{path.name} was rejected: {report.errors[:3]}")


def _load_rules(session: Session, users: dict[str, User], group_id: str) -> None:
    """The example starter pack, owned by Dutch customs and shared AMBER with the Alliance customs group:
    backtested over the demo period and published, so Belgian customs see its hits on their declarations too."""
    from sqlalchemy import func

    from portguard.declarations.models import Declaration
    from portguard.risk import service as risk

    actor = service.load_principal(session, user_id=users["nl.analyst"].id)
    assert actor is not None
    doc, problems = risk.check_file(risk.STARTER_PACK)
    if doc is None:
        raise RuntimeError(f"the starter pack does not check: {problems[:3]}")
    rule_set, _ = risk.save_rule_set(session, actor=actor, doc=doc, sharing_group_id=group_id)
    first, last = session.execute(select(func.min(Declaration.lodged_at), func.max(Declaration.lodged_at))).one()
    risk.backtest(session, actor=actor, rule_set_id=rule_set.id, start=first, end=last + timedelta(days=1))
    risk.publish(session, actor=actor, rule_set_id=rule_set.id)


def _load_targeting(session: Session, users: dict[str, User]) -> None:
    """A model for Dutch customs trained on every control result it may read (its own and the shared KCS set),
    and the selection of the last demo day at the Rotterdam office, which creates control orders."""
    from sqlalchemy import func

    from portguard.controls.models import ControlResult
    from portguard.core.clock import midnight
    from portguard.declarations.models import Declaration
    from portguard.risk import targeting

    actor = service.load_principal(session, user_id=users["nl.analyst"].id)
    assert actor is not None
    if (session.scalar(select(func.count()).select_from(ControlResult)) or 0) < 100:
        _console.print("[yellow]Too few control results for a demo model (load the KCS set): no model trained.[/]")
        return
    first, last = session.execute(select(func.min(Declaration.lodged_at), func.max(Declaration.lodged_at))).one()
    with _console.status("training the demo targeting model"):
        targeting.train(session, actor=actor, start=first, end=last + timedelta(days=1), name="Demo: NL customs")
    # the busiest office-day of the Dutch declarations, with capacity for about half of them, a third of it kept
    # for exploration so that the demo shows every kind of pick
    day_of = func.date(Declaration.lodged_at)
    office, day, n = session.execute(
        select(Declaration.office, day_of, func.count())
        .where(Declaration.owner_org_id == actor.org_id)
        .group_by(Declaration.office, day_of)
        .order_by(func.count().desc(), Declaration.office)
        .limit(1)
    ).one()
    start = midnight(date.fromisoformat(str(day)[:10]))  # SQLite gives text, PostgreSQL a date
    with _console.status(f"selecting the controls of {office} on {start.date()}"):
        targeting.set_exploration(session, actor=actor, office=office, share=0.34)
        targeting.select(session, actor=actor, day=start, office=office, capacity=max(6, n // 2), seed=7)


def _load_network(session: Session, users: dict[str, User], group_id: str) -> None:
    """A seizure on the public KCS set and the network it lights up: Dutch customs record a seizure on a critical
    KCS finding of March 2021 and run the network as of 1 April 2021, so the set's later declarations of the
    linked parties carry `party_network_risk`; then a run as of today over everything they may read (the pages
    show the newest). Both shared AMBER with the seaport police and Belgian customs."""
    from datetime import UTC, datetime

    from sqlalchemy import func

    from portguard.controls import service as controls
    from portguard.controls.models import ControlResult, ControlResultIn, Outcome
    from portguard.declarations.models import Declaration, Party
    from portguard.network import service as network
    from portguard.network.models import RunIn

    actor = service.load_principal(session, user_id=users["nl.analyst"].id)
    assert actor is not None
    march = (datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 4, 1, tzinfo=UTC))
    busiest = (
        select(Party.name, func.count().label("n")).where(Party.role == "importer").group_by(Party.name).subquery()
    )
    target = session.execute(
        select(ControlResult.declaration_id)
        .join(Declaration, Declaration.id == ControlResult.declaration_id)
        .join(Party, (Party.declaration_id == Declaration.id) & (Party.role == "importer"))
        .join(busiest, busiest.c.name == Party.name)
        .where(ControlResult.critical, Declaration.lodged_at >= march[0], Declaration.lodged_at < march[1])
        .order_by(busiest.c.n.desc(), ControlResult.declaration_id)
        .limit(1)
    ).scalar()
    if target is not None:
        controls.record_result(
            session,
            actor=actor,
            data=ControlResultIn(
                declaration_id=target,
                outcome=Outcome.SEIZURE,
                goods="cocaine in the goods' packaging",
                drug_type="cocaine",
                quantity_kg=Decimal("42"),
                recorded_at=datetime(2021, 3, 25, tzinfo=UTC),
            ),
        )
        with _console.status("resolving and mapping the public KCS set's network as of 2021-04-01"):
            kcs_run = network.run(session, actor=actor, data=RunIn(as_of=march[1], sharing_group_id=group_id))
        _console.print(
            f"Network of the KCS set as of 2021-04-01: {kcs_run.records:,} party records -> {kcs_run.entities:,}"
            f" entities, {kcs_run.seizures} seizure(s), {kcs_run.seconds:.1f} s"
        )
    _load_watchlist(session, actor)
    with _console.status("resolving and mapping today's network"):
        today = network.run(session, actor=actor, data=RunIn(sharing_group_id=group_id))
    _, risky, lit = network.list_entities(session, actor=actor, run_id=today.id, min_risk=0.05, limit=5)
    table = Table(title=f"Network as of today: {today.entities:,} entities, {lit:,} within reach of a seizure")
    for col in ("entity", "country", "risk", "hops to a seizure", "declarations"):
        table.add_column(col)
    for e in risky:
        table.add_row(e.label, e.country or "", f"{e.risk:.2f}", str(e.hops_to_seizure or ""), str(e.declarations))
    _console.print(table)


def _load_staff(session: Session, users: dict[str, User], group_id: str) -> None:
    """The Delta terminal's 120 staff and a week of their access logs over the simulated port day, shared AMBER with
    its security partners; Dutch customs seize the container one insider was near; a first screening."""
    from portguard.personnel import generator

    actor = service.load_principal(session, user_id=users["terminal.security"].id)
    customs = service.load_principal(session, user_id=users["nl.officer"].id)
    assert actor is not None and customs is not None
    with _console.status("loading the Delta terminal's staff and their access logs"):
        generator.demo(session, actor=actor, sharing_group_id=group_id, customs_actor=customs)


def _load_substances(session: Session, users: dict[str, User], group_id: str, shared_data_dir: Path | None) -> None:
    """The precursor registry and the drug alert system at work: the EU agency seeds the registry from the shared
    list of scheduled precursors; the focal points subscribe; Dutch customs register an unscheduled BMK
    pre-precursor found in a stopped shipment (unmasking names its parent), record the incident and alert; the EU
    agency sent a formal notification two days ago, which Belgium answered and the Netherlands has not
    acknowledged (so it escalates); and both customs authorities screen the declarations they may read."""
    from datetime import UTC, datetime

    from portguard.core.settings import get_settings
    from portguard.substances import registry
    from portguard.substances import service as substances
    from portguard.substances.models import (
        AlertIn,
        AlertType,
        DecideIn,
        IncidentIn,
        IncidentKind,
        RecipientDecision,
        ScreenDeclarationsIn,
        SubscriptionIn,
        SubstanceIn,
        SubstanceKind,
    )

    folder = shared_data_dir or get_settings().shared_data_dir
    if not registry.precursor_file(folder).exists():
        _console.print("No shared precursor list found: the substances registry and drug alerts are left empty.")
        return

    def principal(username: str) -> Principal:
        actor = service.load_principal(session, user_id=users[username].id)
        assert actor is not None
        return actor

    eu, nl, nl_focal, be_focal = (principal(u) for u in ("eu.analyst", "nl.analyst", "nl.focal", "be.focal"))
    seeded = substances.seed(session, actor=eu, data_dir=folder)
    for actor, groups, ports in (
        (nl_focal, [], ["NLRTM"]),
        (be_focal, ["amphetamine", "mdma", "cocaine"], []),
        (eu, [], []),
    ):
        slug = actor.username.replace(".", "-")
        substances.subscribe(
            session,
            actor=actor,
            data=SubscriptionIn(
                name=f"{actor.username}: " + (", ".join(groups or ports) or "everything"),
                substance_groups=groups,
                ports=ports,
                nats_subject=f"portguard.alerts.{slug}",
            ),
        )
    designer = substances.register(
        session,
        actor=nl,
        data=SubstanceIn(
            name="Methyl 3-oxo-4-phenylbutanoate",
            synonyms=["methyl 4-phenylacetoacetate", "MGPA"],
            smiles="COC(=O)CC(=O)Cc1ccccc1",
            cn_code="2918 30 00",
            notes="Declared as a flavouring intermediate; a MAPA isomer that gives BMK in the same two steps.",
            kind=SubstanceKind.CHEMICAL,
            handling=Handling.GREEN,
        ),
    )
    incident = substances.record_incident(
        session,
        actor=nl,
        substance_id=designer.id,
        data=IncidentIn(
            kind=IncidentKind.STOPPED_SHIPMENT,
            occurred_on=date.today() - timedelta(days=3),
            quantity=Decimal("1200"),
            unit="kg",
            place="Rotterdam, Maasvlakte II",
            port="NLRTM",
            country="NL",
            route=["CN", "NL"],
            modus_operandi="Sixty 20-litre drums declared as 'flavouring intermediate, non-hazardous'.",
            handling=Handling.GREEN,
        ),
    )
    fields = {
        "substance_id": designer.id,
        "risk_type": "an unscheduled pre-precursor of BMK (amphetamine) in bulk trade",
        "risk_origin": "chemical suppliers in China, shipped to EU ports",
        "event_place": "Rotterdam",
        "exposure": "sea containers, declared as flavouring intermediate",
        "analytical_data": "GC-MS of a drum sample; structure confirmed by NMR",
        "identification_methods": f"unmasking: {designer.parent_reason}",
        "risks": "conversion to BMK in clandestine amphetamine laboratories",
        "measures_taken": "shipment stopped; consignee under investigation",
        "response_options": "voluntary cooperation with importers; scheduling proposal",
    }
    notice = substances.draft_alert(
        session,
        actor=eu,
        data=AlertIn(
            type=AlertType.FORMAL_NOTIFICATION,
            title="New BMK pre-precursor: methyl 3-oxo-4-phenylbutanoate",
            event_date=date.today() - timedelta(days=3),
            handling=Handling.GREEN,
            **fields,
        ),
    )
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    notified = substances.send_alert(session, actor=eu, alert_id=notice.id, now=two_days_ago)
    substances.decide(
        session,
        actor=be_focal,
        alert_id=notice.id,
        data=DecideIn(decision=RecipientDecision.OBJECT, note="Two consignments to Antwerp importers held."),
        now=two_days_ago + timedelta(hours=5),
    )
    escalated = substances.escalate_overdue(session)
    alert = substances.draft_alert(
        session,
        actor=nl,
        data=AlertIn(
            type=AlertType.ALERT,
            title="Stopped shipment of a BMK pre-precursor at Rotterdam",
            incident_ids=[incident.id],
            event_date=incident.occurred_on,
            ports=["NLRTM"],
            handling=Handling.AMBER,
            sharing_group_id=group_id,
            **fields,
        ),
    )
    recipients = substances.send_alert(session, actor=nl, alert_id=alert.id)
    substances.draft_alert(
        session,
        actor=nl,
        data=AlertIn(
            type=AlertType.ADVISORY,
            title="Draft: safrole-rich oils declared as essential oils",
            risk_type="natural oils rich in safrole (an MDMA precursor) under essential-oil CN codes",
            risk_origin="South-East Asia",
            cn_codes=["33012900"],
            handling=Handling.AMBER,
            sharing_group_id=group_id,
        ),
    )
    with _console.status("screening the declarations for precursors"):
        reports = [
            substances.screen_declarations(session, actor=actor, data=ScreenDeclarationsIn())
            for actor in (nl, principal("be.analyst"))
        ]
    _console.print(
        f"Substances: {seeded.created} scheduled precursors seeded; {designer.name} registered "
        f"({designer.parent_reason}); the EU's notification reached {len(notified)} authorities "
        f"({len(escalated)} escalated), the Dutch alert {len(recipients)}; screening: "
        + "; ".join(f"{r.lines:,} goods lines, {r.hits} hits on {r.flagged_declarations} declarations" for r in reports)
    )


def _load_watchlist(session: Session, actor: Principal) -> None:
    """A public sanctions-style watch list in FollowTheMoney's format (as OpenSanctions publishes it), CLEAR: a
    front company of the generated Dutch declarations written as a sanctions list writes it, and two people."""
    import json

    from followthemoney import model

    from portguard.declarations import generator
    from portguard.network import watchlists

    front = next(c for c in generator.companies(7) if c.front_cluster and c.kind == "importer")
    entities = []
    company = model.make_entity("Company")
    company.id = "demo-sanctions-company-1"
    company.add("name", front.name.upper())
    company.add("country", front.country.lower())
    company.add("phone", front.phone)
    company.add("topics", "sanction")
    entities.append(company)
    for n, (name, country, birth) in enumerate(
        (("Ricardo Alvarez Montoya", "co", "1971-03-14"), ("Dirk-Jan van Steenbergen", "nl", "1968-11-02")), 1
    ):
        person = model.make_entity("Person")
        person.id = f"demo-sanctions-person-{n}"
        person.add("name", name)
        person.add("nationality", country)
        person.add("birthDate", birth)
        person.add("topics", "crime.traffick")
        entities.append(person)
    data = "".join(json.dumps(e.to_dict()) + "\n" for e in entities).encode()
    watchlists.import_watchlist(
        session,
        actor=actor,
        data=data,
        name="Demo sanctions and wanted persons",
        source="generated in OpenSanctions' FollowTheMoney format",
        handling=Handling.CLEAR,
    )


def print_logins(console: Console) -> None:
    """The demo users, their organisations and roles, and the shared demo password."""
    table = Table(title=f"Demo logins (password for all: {DEMO_PASSWORD})")
    for col in ("username", "organisation", "roles"):
        table.add_column(col)
    names = {key: name for key, name, _, _ in ORGS}
    for username, _, org_key, roles in USERS:
        table.add_row(username, names[org_key], ", ".join(r.value for r in roles))
    console.print(table)
