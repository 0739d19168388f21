"""The network in the store: a run over generated declarations with a seizure, the risk it gives targeting, the
access policy on runs and views, analysts' decisions and incremental linking — on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from portguard.controls import service as controls
from portguard.controls.models import ControlResultIn, Outcome
from portguard.core.audit import AuditEntry
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.policy import Handling, OrgKind, Role
from portguard.declarations.generator import generate
from portguard.network import service
from portguard.network.models import DecisionIn, DecisionKind, NetworkLink, RunIn
from portguard.risk import features, targeting
from portguard.risk import service as risk_service
from tests.declarations.test_ingest import declaration, load, write_jsonl
from tests.risk.test_service import rule, rule_file, save

AS_OF = datetime(2025, 4, 10, tzinfo=UTC)
DAY = datetime(2025, 4, 12, tzinfo=UTC)


def consignee(decl: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in decl["parties"] if p["role"] == "consignee")


def later(ref: str, party: dict[str, Any], hour: int) -> dict[str, Any]:
    """A declaration lodged after the run, alike in all but its consignee."""
    d = declaration(ref, lodged_at=f"2025-04-12T{hour:02d}:00:00Z")
    d["parties"] = [d["parties"][0], party]
    d["goods"][0]["containers"] = []
    d["containers"] = []
    return d


@pytest.fixture
def seized_world(db, make_user, tmp_path: Path) -> dict[str, Any]:
    """150 generated declarations, a seizure on one of them, and a run as of AS_OF by a customs analyst."""
    analyst = make_user(Role.CUSTOMS_ANALYST)
    decls = list(generate(150, seed=5, days=90))
    report = load(
        db,
        actor=analyst.principal,
        owner_org_id=analyst.org_id,
        path=write_jsonl(tmp_path / "g.jsonl", decls),
        format="ics2",
    )
    assert report.status == "committed"
    seized = decls[40]
    seized_id = f"{analyst.org_id}:{seized['ref']}"
    with db.session() as s:
        controls.record_result(
            s,
            actor=analyst.principal,
            data=ControlResultIn(
                declaration_id=seized_id,
                outcome=Outcome.SEIZURE,
                goods="cocaine in banana boxes",
                drug_type="cocaine",
                quantity_kg=Decimal("120"),
                recorded_at=datetime(2025, 4, 5, tzinfo=UTC),
            ),
        )
    with db.session() as s:
        run = service.run(s, actor=analyst.principal, data=RunIn(as_of=AS_OF))
        run_id = run.id
    return {"analyst": analyst, "decls": decls, "seized": seized, "seized_id": seized_id, "run_id": run_id}


def test_a_run_resolves_parties_and_lights_up_the_seizure(db, seized_world):
    w = seized_world
    analyst = w["analyst"].principal
    with db.session() as s:
        run = service.get_run(s, actor=analyst, run_id=w["run_id"])
        assert run.declarations == 150 and run.seizures == 1 and run.params["model"] is True
        assert 0 < run.entities < run.records  # repeated companies resolved into fewer entities
        _, entities, total = service.list_entities(s, actor=analyst, run_id=run.id, min_risk=0.01)
        assert total >= 1
        labels = {e.label for e in entities}
        party = consignee(w["seized"])
        seized_entity = next(e for e in entities if party["name"] in e.names or e.label == party["name"])
        assert seized_entity.hops_to_seizure == 2  # seizure - declaration - consignee
        assert seized_entity.risk == max(e.risk for e in entities)
        assert "Maersk A/S" not in labels or seized_entity.risk > 0
        view = service.get_entity(s, actor=analyst, entity_id=seized_entity.id, run_id=run.id)
        assert any(d["seized"] for d in view.declarations)
        assert {r["declaration_id"] for r in view.records} >= {w["seized_id"]}
        _, communities = service.list_communities(s, actor=analyst, run_id=run.id)
        assert communities and all(c.entities > 1 for c in communities)
        # the network around the seizure: its declaration and the declaration's parties
        _, graph, truncated = service.around(s, actor=analyst, node=f"entity:{seized_entity.id}", hops=2, run_id=run.id)
        kinds = {n.kind for n in graph.nodes}
        assert {"entity", "declaration", "seizure"} <= kinds and not truncated
        elements = service.cytoscape(graph=graph)
        assert len(elements["nodes"]) == len(graph.nodes) and len(elements["edges"]) == len(graph.edges)
        audited = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "network_view"))
        assert audited == 1


def test_linked_parties_new_declarations_rank_higher_in_selection(db, seized_world, tmp_path):
    """The issue's test: after the run, a declaration of the seized consignee (written another way), one of a new
    company using its phone, and one of an unrelated company; only the first two get network risk, and a rule on
    `party_network_risk` ranks them first."""
    w = seized_world
    analyst = w["analyst"]
    party = copy.deepcopy(consignee(w["seized"]))
    variant = party | {"name": party["name"].upper().replace("B.V.", "BV")}
    front = {
        "role": "consignee",
        "name": "Zuidpolder Handelsonderneming B.V.",
        "phone": party["phone"],
        "address": {"street": "Havenstraat 1", "city": "Breda", "postcode": "4811 AA", "country": "NL"},
    }
    clean = {
        "role": "consignee",
        "name": "Bloemenveiling Oost B.V.",
        "phone": "+31 20 555 0199",
        "address": {"country": "NL"},
    }
    news = [later("NET-LINKED", variant, 8), later("NET-FRONT", front, 9), later("NET-CLEAN", clean, 10)]
    report = load(
        db,
        actor=analyst.principal,
        owner_org_id=analyst.org_id,
        path=write_jsonl(tmp_path / "new.jsonl", news),
        format="ics2",
    )
    assert report.status == "committed"
    with db.session() as s:
        view = features.declaration_view(s, actor=analyst.principal, start=DAY, end=datetime(2025, 4, 13, tzinfo=UTC))
    risk = dict(zip(view.column("ref").to_pylist(), view.column("party_network_risk").to_pylist(), strict=True))
    assert risk["NET-LINKED"] > risk["NET-FRONT"] > 0 == risk["NET-CLEAN"]
    with db.session() as s:  # point in time: the seized declaration itself predates the run
        past = features.declaration_view(s, actor=analyst.principal, start=datetime(2025, 1, 1, tzinfo=UTC), end=AS_OF)
    assert max(past.column("party_network_risk").to_pylist()) == 0
    set_id, _, _ = save(
        db, rule_file("net", rules=[rule("NET", "party_network_risk > 0.01", weight=5)]), actor=analyst.principal
    )
    with db.session() as s:
        risk_service.backtest(
            s, actor=analyst.principal, rule_set_id=set_id, start=datetime(2025, 1, 1, tzinfo=UTC), end=DAY
        )
        risk_service.publish(s, actor=analyst.principal, rule_set_id=set_id)
    with db.session() as s:
        run = targeting.select(s, actor=analyst.principal, day=DAY, office="NL000396", capacity=3, seed=1)
    order = [i["declaration_id"].rsplit(":", 1)[1] for i in run.items]
    assert order.index("NET-LINKED") < order.index("NET-CLEAN")
    assert order.index("NET-FRONT") < order.index("NET-CLEAN")


def test_incremental_linking_attaches_new_records_to_known_entities(db, seized_world, tmp_path):
    w = seized_world
    analyst = w["analyst"]
    party = copy.deepcopy(consignee(w["seized"]))
    news = [later("INC-1", party | {"name": party["name"].replace("B.V.", "BV")}, 8)]
    news.append(
        later("INC-2", {"role": "consignee", "name": "Nieuwe Handel Oost B.V.", "address": {"country": "NL"}}, 9)
    )
    load(
        db,
        actor=analyst.principal,
        owner_org_id=analyst.org_id,
        path=write_jsonl(tmp_path / "i.jsonl", news),
        format="ics2",
    )
    with db.session() as s:
        report = service.link_declarations(s, actor=analyst.principal, run_id=w["run_id"])
        # the consignee of INC-1 joins the seized consignee; both consignors (the same company, unseen) and INC-2's
        # consignee become two new entities
        assert (report.records, report.attached, report.new_entities) == (4, 1, 2)
    with db.session() as s:
        again = service.link_declarations(s, actor=analyst.principal, run_id=w["run_id"])
        assert again.records == 0  # nothing new: nothing linked twice
        links = {
            (lnk.declaration_id.rsplit(":", 1)[1], lnk.party_seq): lnk
            for lnk in s.scalars(
                select(NetworkLink).where(NetworkLink.run_id == w["run_id"], NetworkLink.method == "incremental")
            )
        }
        seized_links = s.scalars(
            select(NetworkLink.entity_id).where(
                NetworkLink.run_id == w["run_id"], NetworkLink.declaration_id == w["seized_id"]
            )
        ).all()
    assert links[("INC-1", 2)].entity_id in seized_links
    assert links[("INC-2", 2)].entity_id not in seized_links
    assert links[("INC-1", 1)].entity_id == links[("INC-2", 1)].entity_id
    assert links[("INC-1", 2)].probability is not None and links[("INC-1", 2)].matched_record is not None


def test_runs_and_views_follow_the_access_policy(db, seized_world, make_user):
    w = seized_world
    other = make_user(Role.CUSTOMS_ANALYST)
    inspector = make_user(Role.INSPECTION_OFFICER, org_id=w["analyst"].org_id)
    with db.session() as s:
        with pytest.raises(NotFound):
            service.get_run(s, actor=other.principal, run_id=w["run_id"])  # AMBER, not shared
        with pytest.raises(NotFound):
            service.get_run(s, actor=other.principal)
        assert service.latest_run(s, actor=other.principal) is None
        from portguard.core.errors import Forbidden

        with pytest.raises(Forbidden):
            service.run(s, actor=inspector.principal, data=RunIn())
        with pytest.raises(InvalidInput):
            service.run(s, actor=other.principal, data=RunIn(sharing_group_id="grp_nobody"))
    with db.session() as s:  # the other org's own run sees none of the first org's declarations
        run = service.run(s, actor=other.principal, data=RunIn(as_of=AS_OF))
        assert run.declarations == 0 and run.entities == 0
        view = features.declaration_view(s, actor=other.principal, start=datetime(2025, 1, 1, tzinfo=UTC), end=DAY)
        assert view.num_rows == 0


def test_analysts_decisions_override_the_model_in_the_next_run(db, seized_world):
    w = seized_world
    analyst = w["analyst"].principal
    seized_record = service.record_key(w["seized_id"], 2)  # its consignee (party sequences start at 1)
    other_record = service.record_key(f"{w['analyst'].org_id}:{w['decls'][0]['ref']}", 2)
    with db.session() as s:
        entity_of = dict(
            s.execute(
                select(NetworkLink.declaration_id, NetworkLink.entity_id).where(
                    NetworkLink.run_id == w["run_id"], NetworkLink.party_seq == 2
                )
            ).all()
        )
        before = entity_of[w["seized_id"]]
        split = service.decide(
            s,
            actor=analyst,
            data=DecisionIn(
                kind=DecisionKind.SPLIT, record=seized_record, reason="different VAT number on the invoice"
            ),
        )
        confirm = service.decide(
            s,
            actor=analyst,
            data=DecisionIn(
                kind=DecisionKind.CONFIRM, record=seized_record, other_record=other_record, reason="same director"
            ),
        )
        assert split.kind == "split" and confirm.other_record == other_record
        with pytest.raises(InvalidInput):
            service.decide(
                s, actor=analyst, data=DecisionIn(kind=DecisionKind.CONFIRM, record=seized_record, reason="no other")
            )
        with pytest.raises(NotFound):
            service.decide(
                s, actor=analyst, data=DecisionIn(kind=DecisionKind.SPLIT, record="nope:X#1", reason="missing")
            )
    with db.session() as s:
        run = service.run(s, actor=analyst, data=RunIn(as_of=AS_OF))
        after = dict(
            s.execute(
                select(NetworkLink.declaration_id, NetworkLink.entity_id).where(
                    NetworkLink.run_id == run.id, NetworkLink.party_seq == 2
                )
            ).all()
        )
        decided = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "network_decision")
        )
    assert after[w["seized_id"]] != before  # split out of its old entity ...
    assert after[w["seized_id"]] == after[other_record.rsplit("#", 1)[0]]  # ... and confirmed with the other record
    assert decided == 2


def test_a_small_set_resolves_on_exact_keys(db, make_user, tmp_path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    decls = [declaration(f"S{i}") for i in range(4)]
    decls[3]["parties"][1] = decls[3]["parties"][1] | {"name": "Other Importer B.V.", "eori": "NL999999999"}
    load(
        db,
        actor=analyst.principal,
        owner_org_id=analyst.org_id,
        path=write_jsonl(tmp_path / "s.jsonl", decls),
        format="ics2",
    )
    with db.session() as s:
        run = service.run(s, actor=analyst.principal, data=RunIn(handling=Handling.AMBER_STRICT))
        assert run.params["model"] is False and run.records == 8
        # one consignor, one consignee on three declarations, another on the fourth
        assert run.entities == 3 and run.seizures == 0
        _, entities, _ = service.list_entities(s, actor=analyst.principal)
        assert all(e.risk == 0 for e in entities)
        with pytest.raises(InvalidInput):
            service.around(s, actor=analyst.principal, node="nonsense")
        with pytest.raises(NotFound):
            service.around(s, actor=analyst.principal, node="entity:ent_missing")


def test_identifier_links_find_who_shares_a_phone_with_a_seized_party(db, seized_world, make_user):

    w = seized_world
    party = consignee(w["seized"])
    subjects = pd.DataFrame(
        [
            {"record_id": "emp-1", "phone": party["phone"], "country": party["address"]["country"]},
            {"record_id": "emp-2", "phone": "+31 20 555 0199", "country": "NL"},
            {"record_id": "emp-3", "email": party["email"].upper()},
        ]
    )
    security = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    with db.session() as s:
        hits = service.identifier_links(s, actor=w["analyst"].principal, subjects=subjects, justification="vetting")
        by_subject = {h.record_id: h for h in hits}
        assert set(by_subject) == {"emp-1", "emp-3"}
        assert by_subject["emp-1"].via == "phone" and by_subject["emp-1"].seized
        assert by_subject["emp-3"].via == "email" and by_subject["emp-3"].risk > 0
        # a terminal's security officer may see no network run: no hits, nothing revealed
        assert service.identifier_links(s, actor=security.principal, subjects=subjects, justification="vetting") == []


def test_a_run_screens_its_entities_against_the_watch_lists(db, seized_world):
    import json

    from portguard.network import watchlists
    from portguard.network.models import WatchHit

    w = seized_world
    analyst = w["analyst"].principal
    party = consignee(w["seized"])
    lines = [
        {"id": "os-1", "schema": "Company", "properties": {"name": [party["name"]], "country": ["es"]}},
        {"id": "os-2", "schema": "Person", "properties": {"name": ["Jan Zonder Relatie"], "country": ["nl"]}},
    ]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    with db.session() as s:
        watchlists.import_watchlist(s, actor=analyst, data=data, name="Test sanctions", source="test")
    with db.session() as s:
        run = service.run(s, actor=analyst, data=RunIn(as_of=AS_OF))
        hits = s.scalars(select(WatchHit).where(WatchHit.run_id == run.id)).all()
        assert {h.entry_id for h in hits} == {"os-1"}
        view = service.get_entity(s, actor=analyst, entity_id=hits[0].entity_id, run_id=run.id)
        assert view.entity.watch_hits == 1 and view.watch_hits[0].probability >= 0.5
        subjects = pd.DataFrame([{"record_id": "p1", "name": party["name"].upper(), "country": "ES"}])
        screened = service.screen_against_watchlists(s, actor=analyst, subjects=subjects, justification="test")
        assert [h.entry_id for h in screened] == ["os-1"]
