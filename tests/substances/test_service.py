"""The substances domain in the store: the registry seeded, imported, exported and extended with unmasking; incidents;
alerts matched to subscriptions, read by their recipients only, acknowledged, decided and escalated; screening of
declarations kept as hits that feed the rule column `precursor_hit` — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portguard.core.audit import AuditEntry
from portguard.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from portguard.core.policy import Handling, OrgKind, Role
from portguard.risk import features, targeting
from portguard.risk import service as risk_service
from portguard.substances import registry, service
from portguard.substances.models import (
    AlertIn,
    AlertType,
    DecideIn,
    Delivery,
    IncidentIn,
    IncidentKind,
    PrecursorHit,
    RecipientDecision,
    ScreenDeclarationsIn,
    ScreenTextIn,
    SubscriptionIn,
    SubstanceIn,
)
from tests.declarations.test_ingest import declaration, load, write_jsonl
from tests.risk.test_service import rule, rule_file, save
from tests.substances.conftest import DATA

DESIGNER = "COC(=O)CC(=O)Cc1ccccc1"  # methyl 3-oxo-4-phenylbutanoate: unscheduled, two steps from BMK


@pytest.fixture
def world(db, make_user, make_org, precursors):
    """An EU agency that seeded the registry, Dutch and Belgian customs with analysts and focal points, a terminal."""
    eu_org = make_org(kind=OrgKind.EU_AGENCY, country="PT")
    nl_org = make_org(country="NL")
    be_org = make_org(country="BE")
    people = {
        "eu": make_user(Role.ALERT_FOCAL_POINT, Role.CUSTOMS_ANALYST, org_id=eu_org),
        "nl": make_user(Role.CUSTOMS_ANALYST, org_id=nl_org),
        "nl_focal": make_user(Role.ALERT_FOCAL_POINT, org_id=nl_org),
        "be_focal": make_user(Role.ALERT_FOCAL_POINT, org_id=be_org),
        "be": make_user(Role.CUSTOMS_ANALYST, org_id=be_org),
        "terminal": make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR),
    }
    with db.session() as s:
        report = service.seed(s, actor=people["eu"].principal, data_dir=DATA)
    assert report.created == len(precursors.records)
    return people


def _id_of(db, name: str) -> str:
    with db.session() as s:
        return s.scalar(select(service.Substance.id).where(service.Substance.name == name))


def test_seeding_is_idempotent_and_keeps_computed_identifiers_and_statuses(db, world, precursors):
    with db.session() as s:
        again = service.seed(s, actor=world["eu"].principal, data_dir=DATA)
    assert (again.created, again.updated) == (0, 0)
    bmk_id = _id_of(db, "1-Phenyl-2-propanone")
    with db.session() as s:
        bmk = service.get(s, actor=world["nl"].principal, substance_id=bmk_id)
        assert (bmk.cas, bmk.inchikey, bmk.group, bmk.handling) == (
            "103-79-7",
            "QCCDLTOVEPVEJK-UHFFFAOYSA-N",
            "amphetamine",
            "CLEAR",
        )
        assert {"jurisdiction": "EU", "status": "category 1", "act": "273/2004 original"} in bmk.statuses
        assert any(st["jurisdiction"] == "UN" and st["status"] == "Table I" for st in bmk.statuses)
        items, total = service.list_substances(s, actor=world["nl"].principal, q="103-79-7")
        assert [i.name for i in items] == ["1-Phenyl-2-propanone"] and total == 1
        # a private operator holds no substance:read: it sees nothing, even of a CLEAR registry
        assert service.list_substances(s, actor=world["terminal"].principal) == ([], 0)


def test_registering_an_unscheduled_structure_finds_its_scheduled_parent(db, world):
    bmk_id = _id_of(db, "1-Phenyl-2-propanone")
    with db.session() as s:
        new = service.register(
            s,
            actor=world["nl"].principal,
            data=SubstanceIn(name="Methyl 3-oxo-4-phenylbutanoate", smiles="O=C(CC(=O)OC)Cc1ccccc1"),
        )
        assert new.smiles == DESIGNER  # canonical, whatever was typed
        assert new.kind == "designer_precursor" and new.group == "amphetamine"
        assert new.parent_id == bmk_id
        assert "hydrolysis" in new.parent_reason and "decarboxylation" in new.parent_reason
    with db.session() as s, pytest.raises(Conflict, match="same structure"):
        service.register(s, actor=world["nl"].principal, data=SubstanceIn(name="other name", smiles=DESIGNER))
    with db.session() as s:  # Belgium cannot see the Dutch (AMBER) entry: it may register the structure itself
        own = service.register(s, actor=world["be"].principal, data=SubstanceIn(name="other name", smiles=DESIGNER))
        assert own.parent_id == bmk_id
    with db.session() as s, pytest.raises(Conflict, match="already registered"):
        service.register(s, actor=world["nl"].principal, data=SubstanceIn(name="Methyl 3-oxo-4-phenylbutanoate"))
    with db.session() as s:  # a flavouring of similar shape has no parent
        vanillin = service.register(
            s, actor=world["nl"].principal, data=SubstanceIn(name="Vanillin", smiles="COc1cc(C=O)ccc1O")
        )
        assert vanillin.parent_id is None and vanillin.kind == "chemical"


def test_bad_identifiers_are_refused_with_the_field():
    with pytest.raises(ValueError, match="check digit"):
        SubstanceIn(name="x", cas="103-79-8")
    with pytest.raises(ValueError, match="CN code"):
        SubstanceIn(name="x", cn_code="29 14")
    with pytest.raises(ValueError, match="substance group"):
        SubstanceIn(name="x", group="narcotics")


def test_csv_and_sdf_exports_read_back_and_reimport_unchanged(db, world, tmp_path: Path, precursors):
    actor = world["nl"].principal
    with db.session() as s:
        csv_bytes = service.export(s, actor=actor, fmt="csv")
        sdf_bytes = service.export(s, actor=actor, fmt="sdf")
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    assert len(rows) == len(precursors.records)
    assert any("fenilacetona" in r["synonyms"].lower() for r in rows if r["name"] == "1-Phenyl-2-propanone")
    (tmp_path / "x.sdf").write_bytes(sdf_bytes)
    back = registry.read_sdf(tmp_path / "x.sdf")
    assert {r.inchikey for r in back.records} == {r.inchikey for r in precursors.records}
    with db.session() as s:  # the EU's own export, imported again by the EU: nothing changes
        own = service.export(s, actor=world["eu"].principal, fmt="csv")
        report = service.import_file(s, actor=world["eu"].principal, content=own, file_name="again.csv")
    assert (report.created, report.updated) == (0, 0)
    with db.session() as s:  # another organisation imports it as its own copy
        report = service.import_file(s, actor=actor, content=sdf_bytes, file_name="eu.sdf")
    assert report.created == len(precursors.records)
    with db.session() as s:
        disclosed = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "disclose"))
    assert disclosed >= 3


def test_a_bad_file_stores_nothing_and_names_the_row(db, world):
    bad = "name,abbrev,cas,cn_code,eu_category,un_1988_table,smiles\nGood,,,2914 31 00,1,I,CC(=O)C\nBad,,,,1,,C1CC\n"
    with db.session() as s, pytest.raises(InvalidInput, match=r"record 2, smiles"):
        service.import_file(s, actor=world["nl"].principal, content=bad.encode(), file_name="b.csv")
    with db.session() as s:
        assert service.list_substances(s, actor=world["nl"].principal, q="Good") == ([], 0)
    with db.session() as s, pytest.raises(InvalidInput, match=r"\.csv or \.sdf"):
        service.import_file(s, actor=world["nl"].principal, content=b"x", file_name="b.xlsx")


def test_incidents_follow_the_policy(db, world):
    bmk = _id_of(db, "1-Phenyl-2-propanone")
    data = IncidentIn(
        kind=IncidentKind.SEIZURE,
        occurred_on=date(2026, 11, 2),
        quantity=1200,
        unit="kg",
        place="Rotterdam",
        port="NLRTM",
        country="NL",
        route=["CN", "NL"],
        handling=Handling.AMBER_STRICT,
    )
    with db.session() as s:
        incident = service.record_incident(s, actor=world["nl"].principal, substance_id=bmk, data=data)
    with db.session() as s:
        mine, _ = service.list_incidents(s, actor=world["nl"].principal, substance_id=bmk)
        theirs, _ = service.list_incidents(s, actor=world["be"].principal, substance_id=bmk)
    assert [i.id for i in mine] == [incident.id] and theirs == []
    with db.session() as s, pytest.raises(Forbidden):
        service.record_incident(s, actor=world["terminal"].principal, substance_id=bmk, data=data)


def _subscribe(db, who, **filters) -> str:
    with db.session() as s:
        sub = service.subscribe(
            s,
            actor=who.principal,
            data=SubscriptionIn(
                name=f"{who.username} feed", nats_subject=f"portguard.alerts.{who.username}", **filters
            ),
        )
        return sub.id


def _alert(db, who, **fields):
    base = {
        "type": AlertType.ALERT,
        "title": "BMK pre-precursor",
        "risk_type": "diversion",
        "risk_origin": "suppliers in CN",
    }
    with db.session() as s:
        return service.draft_alert(s, actor=who.principal, data=AlertIn(**(base | fields))).id


def test_subscriptions_pick_the_recipients_and_say_why(db, world):
    _subscribe(db, world["nl_focal"], ports=["NLRTM"])
    _subscribe(db, world["be_focal"], substance_groups=["cocaine"])
    _subscribe(db, world["eu"])  # everything, but the EU sends: never to itself
    bmk = _id_of(db, "1-Phenyl-2-propanone")
    alert_id = _alert(db, world["eu"], substance_id=bmk, ports=["BEANR"])
    with db.session() as s:
        recipients = service.send_alert(s, actor=world["eu"].principal, alert_id=alert_id)
        assert {r.org_id for r in recipients} == set()  # NL wants Rotterdam, BE wants cocaine: neither
    general = _alert(db, world["eu"], substance_id=bmk)  # no port named: reaches the Rotterdam subscriber
    with db.session() as s:
        recipients = service.send_alert(s, actor=world["eu"].principal, alert_id=general)
        assert {r.org_id: r.matched for r in recipients} == {
            world["nl_focal"].org_id: f"{world['nl_focal'].username} feed: port: the alert names none"
        }
        deliveries = s.scalars(select(Delivery).where(Delivery.alert_id == general)).all()
        assert [(d.channel, d.target, d.status) for d in deliveries] == [
            ("nats", f"portguard.alerts.{world['nl_focal'].username}", "pending")
        ]
    with db.session() as s, pytest.raises(Conflict, match="sent already"):
        service.send_alert(s, actor=world["eu"].principal, alert_id=general)


def test_a_subscription_needs_a_channel_and_a_webhook_a_secret(db, world):
    with db.session() as s, pytest.raises(InvalidInput, match="webhook URL or a NATS subject"):
        service.subscribe(s, actor=world["nl_focal"].principal, data=SubscriptionIn(name="nothing"))
    with db.session() as s, pytest.raises(InvalidInput, match="secret"):
        service.subscribe(
            s,
            actor=world["nl_focal"].principal,
            data=SubscriptionIn(name="hook", webhook_url="https://example.org/hook"),
        )
    with db.session() as s, pytest.raises(Forbidden):  # an analyst does not manage the authority's subscriptions
        service.subscribe(
            s, actor=world["nl"].principal, data=SubscriptionIn(name="x", nats_subject="portguard.alerts.x")
        )


def test_recipients_read_acknowledge_and_decide_others_see_nothing(db, world):
    _subscribe(db, world["nl_focal"])
    _subscribe(db, world["be_focal"])
    alert_id = _alert(db, world["eu"], handling=Handling.AMBER_STRICT)  # the EU alone by the policy
    with db.session() as s:
        service.send_alert(s, actor=world["eu"].principal, alert_id=alert_id)
    with db.session() as s:  # a recipient reads it and sees only its own row
        view = service.get_alert(s, actor=world["nl_focal"].principal, alert_id=alert_id)
        assert [r.org_id for r in view.recipients] == [world["nl_focal"].org_id] and view.deliveries == []
        inbox, _ = service.list_alerts(s, actor=world["nl"].principal, box="inbox")  # the analyst of a recipient too
        assert [a.id for a in inbox] == [alert_id]
    with db.session() as s, pytest.raises(NotFound):  # a terminal is no recipient
        service.get_alert(s, actor=world["terminal"].principal, alert_id=alert_id)
    with db.session() as s, pytest.raises(Forbidden):  # the analyst may not answer for the authority
        service.acknowledge(s, actor=world["nl"].principal, alert_id=alert_id)
    with db.session() as s:
        service.acknowledge(s, actor=world["nl_focal"].principal, alert_id=alert_id)
        service.decide(
            s,
            actor=world["be_focal"].principal,
            alert_id=alert_id,
            data=DecideIn(decision=RecipientDecision.OBJECT, note="consignment held"),
        )
    with db.session() as s:  # the sender sees who acknowledged and what each decided
        view = service.get_alert(s, actor=world["eu"].principal, alert_id=alert_id)
        answers = {r.org_id: (r.acknowledged_at is not None, r.decision) for r in view.recipients}
        assert answers == {world["nl_focal"].org_id: (True, None), world["be_focal"].org_id: (True, "object")}
        assert len(view.deliveries) == 2
        changes = s.scalars(
            select(AuditEntry.detail).where(AuditEntry.object_id == alert_id, AuditEntry.action == "alter")
        ).all()
        assert {"decision": "object", "previous": None} in changes


def test_overdue_acknowledgements_escalate_once_with_a_new_delivery(db, world):
    _subscribe(db, world["nl_focal"])
    _subscribe(db, world["be_focal"])
    alert_id = _alert(db, world["eu"], type=AlertType.FORMAL_NOTIFICATION)
    sent = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with db.session() as s:
        recipients = service.send_alert(s, actor=world["eu"].principal, alert_id=alert_id, now=sent)
        assert {r.due_at for r in recipients} == {sent + timedelta(hours=24)}
    with db.session() as s:
        service.acknowledge(s, actor=world["be_focal"].principal, alert_id=alert_id, now=sent + timedelta(hours=2))
    with db.session() as s:
        assert service.escalate_overdue(s, now=sent + timedelta(hours=23)) == []
        late = service.escalate_overdue(s, now=sent + timedelta(hours=25))
        assert [r.org_id for r in late] == [world["nl_focal"].org_id]
    with db.session() as s:
        assert service.escalate_overdue(s, now=sent + timedelta(hours=30)) == []  # once
        kinds = s.scalars(select(Delivery.message_kind).where(Delivery.org_id == world["nl_focal"].org_id)).all()
        assert sorted(kinds) == ["alert", "escalation"]


def test_a_briefing_needs_no_acknowledgement_and_never_escalates(db, world):
    _subscribe(db, world["nl_focal"])
    alert_id = _alert(db, world["eu"], type=AlertType.BRIEFING)
    with db.session() as s:
        (recipient,) = service.send_alert(s, actor=world["eu"].principal, alert_id=alert_id)
        assert recipient.due_at is None
        assert service.escalate_overdue(s, now=datetime.now(UTC) + timedelta(days=30)) == []


def _goods(ref: str, description: str, hs_code: str = "291431") -> dict:
    d = declaration(ref, lodged_at="2026-03-02T08:15:00Z")
    d["goods"][0] |= {"hs_code": hs_code, "description": description}
    return d


@pytest.fixture
def screened(db, world, tmp_path: Path):
    nl = world["nl"]
    decls = [
        _goods("P-CAS", "Chemical intermediate CAS 103-79-7, 25 drums"),
        _goods("P-NAME", "Fenilacetona 200 kg", hs_code="29143100"),
        _goods("P-CLEAN", "Fresh bananas", hs_code="080390"),
    ]
    report = load(
        db, actor=nl.principal, owner_org_id=nl.org_id, path=write_jsonl(tmp_path / "p.jsonl", decls), format="ics2"
    )
    assert report.status == "committed"
    with db.session() as s:
        result = service.screen_declarations(s, actor=nl.principal, data=ScreenDeclarationsIn())
    return {"report": result, "ids": {d["ref"]: f"{nl.org_id}:{d['ref']}" for d in decls}}


def test_screening_keeps_hits_with_reasons_and_rescreening_replaces_them(db, world, screened):
    assert (screened["report"].declarations, screened["report"].flagged_declarations) == (3, 2)
    ids = screened["ids"]
    with db.session() as s:
        by_cas = service.declaration_hits(s, actor=world["nl"].principal, declaration_id=ids["P-CAS"])
        by_name = service.declaration_hits(s, actor=world["nl"].principal, declaration_id=ids["P-NAME"])
        clean = service.declaration_hits(s, actor=world["nl"].principal, declaration_id=ids["P-CLEAN"])
    assert (by_cas[0][0].method, by_cas[0][1]) == ("identifier", "1-Phenyl-2-propanone")
    assert "103-79-7" in by_cas[0][0].reason
    assert any(h.method in ("name", "identifier") and name == "1-Phenyl-2-propanone" for h, name in by_name)
    assert clean == []
    with db.session() as s:  # Belgium may not read the Dutch declarations: it sees none of their hits
        assert service.declaration_hits(s, actor=world["be"].principal, declaration_id=ids["P-CAS"]) == []
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(PrecursorHit))
        service.screen_declarations(s, actor=world["nl"].principal, data=ScreenDeclarationsIn())
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PrecursorHit)) == before


def test_the_rule_column_ranks_a_precursor_line_first(db, world, screened):
    nl = world["nl"]
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with db.session() as s:
        view = features.declaration_view(s, actor=nl.principal, start=day, end=day + timedelta(days=1))
    strength = dict(zip(view.column("ref").to_pylist(), view.column("precursor_hit").to_pylist(), strict=True))
    assert strength["P-CAS"] == 1.0 and 0 < strength["P-NAME"] <= 1.0 and strength["P-CLEAN"] == 0
    category = dict(zip(view.column("ref").to_pylist(), view.column("precursor_category").to_pylist(), strict=True))
    assert category == {"P-CAS": "1", "P-NAME": "1", "P-CLEAN": None}
    when = "precursor_hit >= 0.8 AND precursor_category IN ('1', '2A')"
    set_id, _, _ = save(db, rule_file("pre", rules=[rule("PRE", when, weight=5)]), actor=nl.principal)
    with db.session() as s:
        risk_service.backtest(s, actor=nl.principal, rule_set_id=set_id, start=day - timedelta(days=30), end=day)
        risk_service.publish(s, actor=nl.principal, rule_set_id=set_id)
    with db.session() as s:
        run = targeting.select(s, actor=nl.principal, day=day, office="NL000396", capacity=2, seed=1)
    picked = [i["declaration_id"].rsplit(":", 1)[1] for i in run.items]
    assert "P-CLEAN" not in picked[:2] and set(picked[:2]) == {"P-CAS", "P-NAME"}


def test_the_daily_selection_screens_the_days_lines_itself(db, world, tmp_path: Path):
    """No one ran a screening: the selection screens the day's declarations at its office before scoring them."""
    nl = world["nl"]
    day = datetime(2026, 3, 2, tzinfo=UTC)
    decls = [_goods("S-CAS", "Intermediate, CAS 103-79-7"), _goods("S-CLEAN", "Fresh bananas", hs_code="080390")]
    load(db, actor=nl.principal, owner_org_id=nl.org_id, path=write_jsonl(tmp_path / "s.jsonl", decls), format="ics2")
    when = "precursor_hit >= 0.8 AND precursor_category IN ('1', '2A')"
    set_id, _, _ = save(db, rule_file("pre", rules=[rule("PRE", when, weight=5)]), actor=nl.principal)
    with db.session() as s:
        risk_service.backtest(s, actor=nl.principal, rule_set_id=set_id, start=day - timedelta(days=30), end=day)
        risk_service.publish(s, actor=nl.principal, rule_set_id=set_id)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PrecursorHit)) == 0
        run = targeting.select(s, actor=nl.principal, day=day, office="NL000396", capacity=1, seed=1)
    assert [i["declaration_id"].rsplit(":", 1)[1] for i in run.items] == ["S-CAS"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PrecursorHit)) > 0


def test_a_hit_drafts_an_alert_with_the_lines_facts(db, world, screened):
    with db.session() as s:
        (hit, _name), *_ = service.declaration_hits(
            s, actor=world["nl"].principal, declaration_id=screened["ids"]["P-CAS"]
        )
        alert = service.draft_alert_from_hit(s, actor=world["nl"].principal, hit_id=hit.id)
        assert alert.status == "draft" and alert.substance_id == hit.substance_id
        assert alert.cn_codes == ["291431"] and set(alert.ports) == {"ECGYE", "NLRTM"}
        assert "103-79-7" in alert.identification_methods
    with db.session() as s, pytest.raises(NotFound):
        service.draft_alert_from_hit(s, actor=world["be"].principal, hit_id=hit.id)


def test_screen_text_needs_something_to_screen(db, world):
    with db.session() as s, pytest.raises(InvalidInput, match="goods description"):
        service.screen_text(s, actor=world["nl"].principal, data=ScreenTextIn())
    with db.session() as s:
        hits = service.screen_text(s, actor=world["nl"].principal, data=ScreenTextIn(smiles=DESIGNER))
    assert hits and hits[0].method.value == "unmasking" and hits[0].substance_name == "1-Phenyl-2-propanone"
