"""Rule sets as a service: checking files, versions, backtest measures, publication, running published rules, and
sharing them under the access policy; on both back-ends."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from portguard.controls.models import Outcome
from portguard.core.audit import AuditEntry
from portguard.core.db import Database
from portguard.core.errors import Forbidden, InvalidInput, NotFound
from portguard.core.policy import Handling, OrgKind, Role
from portguard.risk import service
from portguard.risk.models import Backtest, Rule, RuleSet, RuleSetFile
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from tests.risk.test_features import control, day, goods, parties, simple, stamp, store

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "customs-declarations"
TRAIN = DATA / "df_syn_train_eng.csv"
needs_data = pytest.mark.skipif(
    not TRAIN.is_file() and not os.environ.get("CI"), reason="KCS data set not in ../shared/data/customs-declarations"
)

PERIOD = (day(0), day(30))


def rule(key: str, when: str, **changes: Any) -> dict[str, Any]:
    return {"id": key, "title": f"Rule {key}", "purpose": f"why {key} exists", "when": when} | changes


def rule_file(key: str = "demo", rules: list[dict[str, Any]] | None = None, **changes: Any) -> RuleSetFile:
    doc = {"id": key, "title": f"Rule set {key}", "rules": rules or [rule("R1", "hs_chapter = '08'")]} | changes
    return RuleSetFile.model_validate(doc)


def save(
    db: Database, doc: RuleSetFile, *, actor: Any = None, owner: str | None = None, group: str | None = None
) -> tuple[str, int, list[str]]:
    with db.session() as session:
        rule_set, changes = service.save_rule_set(
            session, actor=actor, doc=doc, owner_org_id=owner, sharing_group_id=group
        )
        return rule_set.id, rule_set.version, changes


def latest(db: Database, set_id: str) -> dict[str, tuple[int, str, str]]:
    """key -> (version, status, condition) of the newest version of each rule."""
    with db.session() as session:
        return {r.key: (r.version, r.status, r.condition) for r in service.latest_rules(session, set_id)}


def backtest(db: Database, set_id: str, *, actor: Any = None, period: tuple[datetime, datetime] = PERIOD) -> Any:
    with db.session() as session:
        record = service.backtest(session, actor=actor, rule_set_id=set_id, start=period[0], end=period[1])
        return record.id, record.rule_set_version, record.measures


def publish(db: Database, set_id: str, *, actor: Any = None) -> list[str]:
    with db.session() as session:
        return [r.key for r in service.publish(session, actor=actor, rule_set_id=set_id)]


def scored(db: Database, *, actor: Any = None, period: tuple[datetime, datetime] = PERIOD) -> set[tuple[str, str]]:
    """(declaration ref, rule key) of every hit of the published rules."""
    with db.session() as session:
        _, result = service.score(session, actor=actor, start=period[0], end=period[1])
    return {(h["declaration_id"].split(":", 1)[1], h["rule_id"]) for h in result.hits.to_pylist()}


def published(db: Database, actor: Any) -> list[tuple[str, str, int]]:
    with db.session() as session:
        return [(rs.id, r.key, r.version) for rs, r in service.published_rules(session, actor=actor)]


@pytest.fixture
def nl(make_user):
    return make_user(Role.CUSTOMS_ANALYST)


# ---------------------------------------------------------------- checking files

SET_HEAD = """\
id: demo
title: Demo set
watch_lists:
  origins:
    kind: country
    values: [CO, EC]
rules:
  - id: R1
    title: Fruit from origins
    purpose: fruit from the listed origins
    when: hs_chapter = '08' AND in_list('origins', origin)
"""


def second_rule(when: str, key: str = "R2") -> str:
    return f"  - id: {key}\n    title: Second rule\n    purpose: something else\n    when: {when}\n"


def test_a_good_file_parses_without_problems():
    doc, problems = service.parse_text(SET_HEAD + second_rule("value_per_kg < 0.5"))
    assert problems == []
    assert doc is not None and [r.id for r in doc.rules] == ["R1", "R2"]
    assert doc.watch_lists["origins"].values == ["CO", "EC"]


def test_bad_yaml_names_line_and_column():
    text = "id: demo\ntitle: Demo\nrules:\n  - id: R1\n\ttitle: tab\n"
    doc, problems = service.parse_text(text, name="tab.yaml")
    assert doc is None and len(problems) == 1
    p = problems[0]
    assert (p.where, p.line, p.column) == ("tab.yaml", 5, 1)
    assert p.message.startswith("invalid YAML:") and "\\t" in p.message
    unclosed = "id: demo\ntitle: Demo\nrules: [\n  {id: R1, title: x\n"
    _, problems = service.parse_text(unclosed)
    assert len(problems) == 1 and problems[0].message.startswith("invalid YAML") and problems[0].line == 5


def test_a_file_that_is_not_a_mapping():
    doc, problems = service.parse_text("- one\n- two\n")
    assert doc is None
    assert [p.message for p in problems] == ["a rule set is a YAML mapping with id, title and rules"]


def test_duplicate_rule_ids_are_named():
    text = SET_HEAD + second_rule("origin = 'CO'") + second_rule("origin = 'EC'") + second_rule("1 = 1", "R1")
    doc, problems = service.parse_text(text)
    assert doc is None
    assert [(p.where, p.message) for p in problems] == [("rules.yaml", "rule ids repeat: R1, R2")]


def test_an_unknown_watch_list_points_at_its_name():
    doc, problems = service.parse_text(SET_HEAD + second_rule("in_list('nope', origin)"))
    assert doc is None
    assert [p.as_dict() for p in problems] == [
        {
            "where": "rules[1] (R2).when",
            "message": "unknown watch list 'nope'",
            "line": 1,
            "column": 9,  # in_list( is 8 characters: the quote of 'nope'
            "near": "nope",
        }
    ]


def test_a_subquery_is_refused_at_the_select():
    doc, problems = service.parse_text(SET_HEAD + second_rule("origin IN (SELECT value FROM watch_lists)"))
    assert doc is None and len(problems) == 1
    p = problems[0]
    assert (p.where, p.line, p.column, p.near) == ("rules[1] (R2).when", 1, 12, "SELECT")
    assert "not allowed" in p.message


def test_an_unknown_column_on_the_second_line_of_a_condition():
    when = "|\n      hs_chapter = '08'\n      AND weight_kg > 5"
    doc, problems = service.parse_text(SET_HEAD + second_rule(when))
    assert doc is None
    assert [p.as_dict() for p in problems] == [
        {
            "where": "rules[1] (R2).when",
            "message": "unknown column 'weight_kg'; see the declaration view",
            "line": 2,
            "column": 5,
            "near": "weight_kg",
        }
    ]
    assert "(line 2, column 5)" in str(problems[0])


def test_every_bad_condition_is_reported_not_only_the_first():
    text = SET_HEAD + second_rule("sleep(1) = 1") + second_rule("x.origin = 'CO'", "R3")
    _, problems = service.parse_text(text)
    assert [(p.where, p.near) for p in problems] == [("rules[1] (R2).when", "sleep"), ("rules[2] (R3).when", "x")]


def test_a_campaign_needs_a_validity_window():
    text = SET_HEAD.replace("title: Demo set\n", "title: Demo set\nkind: campaign\n")
    doc, problems = service.parse_text(text)
    assert doc is None
    assert [(p.where, p.message) for p in problems] == [("rules.yaml", "a campaign has valid_from and valid_to")]
    window = text.replace(
        "kind: campaign\n", "kind: campaign\nvalid_from: 2026-01-01T00:00:00Z\nvalid_to: 2026-04-01T00:00:00Z\n"
    )
    assert service.parse_text(window)[1] == []


def test_schema_problems_name_the_rule_and_field():
    text = SET_HEAD.replace("    title: Fruit from origins\n", "    title: Fruit from origins\n    colour: red\n")
    _, problems = service.parse_text(text)
    assert [(p.where, p.message) for p in problems] == [("rules[0] (R1).colour", "Extra inputs are not permitted")]


def test_check_file_reads_a_file_and_names_an_unreadable_one(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(SET_HEAD + second_rule("in_list('nope', origin)"), encoding="utf-8")
    _, problems = service.check_file(path)
    assert [p.where for p in problems] == ["rules[1] (R2).when"]
    _, problems = service.check_file(tmp_path / "missing.yaml")
    assert len(problems) == 1 and problems[0].where == "missing.yaml" and "cannot read" in problems[0].message


def test_the_starter_files_check_clean():
    for path in sorted(service.STARTER_PACK.parent.glob("*.yaml")):
        doc, problems = service.check_file(path)
        assert problems == [], path
        assert doc is not None and doc.example


# ---------------------------------------------------------------- saving versions


def _audit(db: Database, set_id: str) -> list[tuple[str, dict[str, Any]]]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "rule_set", AuditEntry.object_id == set_id)
            .order_by(AuditEntry.seq)
        ).all()
        return [(e.action, e.detail) for e in rows]


def test_saving_versions_rules_and_the_set(db, make_org):
    owner = make_org()
    first = rule_file(rules=[rule("R1", "hs_chapter = '08'"), rule("R2", "origin = 'CO'"), rule("R3", "value > 5")])
    set_id, version, changes = save(db, first, owner=owner)
    assert (set_id, version, changes) == (f"{owner}:demo", 1, ["+R1", "+R2", "+R3"])
    assert latest(db, set_id) == {
        "R1": (1, "draft", "hs_chapter = '08'"),
        "R2": (1, "draft", "origin = 'CO'"),
        "R3": (1, "draft", "value > 5"),
    }

    assert save(db, first, owner=owner) == (set_id, 1, [])  # unchanged: nothing new
    assert latest(db, set_id)["R1"] == (1, "draft", "hs_chapter = '08'")

    second = rule_file(
        rules=[rule("R1", "hs_chapter = '09'"), rule("R2", "origin = 'CO'"), rule("R4", "containers > 2")]
    )
    assert save(db, second, owner=owner) == (set_id, 2, ["~R1", "+R4", "-R3"])
    assert latest(db, set_id) == {
        "R1": (2, "draft", "hs_chapter = '09'"),
        "R2": (1, "draft", "origin = 'CO'"),  # unchanged: keeps its version
        "R3": (1, "retired", "value > 5"),
        "R4": (1, "draft", "containers > 2"),
    }
    with db.session() as session:
        versions = session.scalars(select(Rule.version).where(Rule.rule_set_id == set_id, Rule.key == "R1")).all()
        assert sorted(versions) == [1, 2]  # the old version is kept

    # weight and action are part of a rule: a new version; a watch list change bumps the set only
    third = rule_file(
        rules=[rule("R1", "hs_chapter = '09'", weight=2), rule("R2", "origin = 'CO'"), rule("R4", "containers > 2")],
        watch_lists={"origins": {"values": ["CO"]}},
    )
    assert save(db, third, owner=owner) == (set_id, 3, ["~R1"])
    fourth = rule_file(
        rules=[rule("R1", "hs_chapter = '09'", weight=2), rule("R2", "origin = 'CO'"), rule("R4", "containers > 2")],
        watch_lists={"origins": {"values": ["CO", "EC"]}},
    )
    assert save(db, fourth, owner=owner) == (set_id, 4, [])
    assert latest(db, set_id)["R1"][0] == 3

    # a retired rule brought back is a new version
    fifth = rule_file(rules=[rule("R1", "hs_chapter = '09'", weight=2), rule("R3", "value > 5")])
    assert save(db, fifth, owner=owner) == (set_id, 5, ["~R3", "-R2", "-R4"])
    assert latest(db, set_id)["R3"] == (2, "draft", "value > 5")

    assert _audit(db, set_id) == [
        ("collect", {"version": 1, "changes": ["+R1", "+R2", "+R3"]}),
        ("alter", {"version": 1, "changes": []}),
        ("alter", {"version": 2, "changes": ["~R1", "+R4", "-R3"]}),
        ("alter", {"version": 3, "changes": ["~R1"]}),
        ("alter", {"version": 4, "changes": []}),
        ("alter", {"version": 5, "changes": ["~R3", "-R2", "-R4"]}),
    ]


def test_save_refuses_a_bad_condition_and_a_missing_owner(db, make_org):
    doc = rule_file(rules=[rule("R1", "nope > 1")])  # the schema passes, the condition does not
    with pytest.raises(InvalidInput, match="unknown column 'nope'"):
        save(db, doc, owner=make_org())
    with pytest.raises(InvalidInput, match="owner"):
        save(db, rule_file(), owner=None)
    with db.session() as session:
        assert session.scalars(select(RuleSet)).all() == []


def test_save_needs_rule_write_and_another_org_cannot_overwrite(db, nl, make_user):
    officer = make_user(Role.INSPECTION_OFFICER)
    with pytest.raises(Forbidden):
        save(db, rule_file(), actor=officer.principal)
    set_id, _, _ = save(db, rule_file(), actor=nl.principal)
    assert set_id == f"{nl.org_id}:demo"  # the actor's organisation owns it, whatever `owner` says
    other = make_user(Role.CUSTOMS_ANALYST)
    other_id, _, _ = save(db, rule_file(), actor=other.principal)
    assert other_id == f"{other.org_id}:demo"  # the same key in another organisation is another set
    with db.session() as session:
        assert {rs.id for rs in session.scalars(select(RuleSet))} == {set_id, other_id}


# ---------------------------------------------------------------- backtest and publish


def _backtest_world(db: Database, user: Any, tmp_path: Path) -> None:
    """Ten declarations B0..B9 in the period (6 controlled, 2 irregular, 1 seizure) and one after it.

    B0-B3 fruit (HS 08); B3 and B4 from Colombia. Controlled: B0 (no finding, then a seizure), B1 (irregularity),
    B2, B4, B5, B6 (no finding)."""
    records = []
    for i in range(10):
        item = {
            "hs_code": "080390" if i < 4 else "090111",
            "country_of_origin": "CO" if i in (3, 4) else "EC",
            "net_mass_kg": 1000,
            "value": 900,
        }
        records.append(
            simple(f"B{i}", day(1) + timedelta(minutes=i), goods=goods(item), parties=parties(eori=f"NL{100 + i}"))
        )
    records.append(simple("LATE", day(40), goods=goods({"hs_code": "080390"}), parties=parties(eori="NL999")))
    store(db, user, records, tmp_path)
    org = user.org_id
    control(db, user, f"{org}:B0", Outcome.NO_FINDING, day(2))
    control(db, user, f"{org}:B0", Outcome.SEIZURE, day(3))
    control(db, user, f"{org}:B1", Outcome.IRREGULARITY, day(2))
    for ref in ("B2", "B4", "B5", "B6"):
        control(db, user, f"{org}:{ref}", Outcome.NO_FINDING, day(2))
    control(db, user, f"{org}:LATE", Outcome.SEIZURE, day(41))


MEASURED = rule_file(
    "measured",
    rules=[
        rule("FRUIT", "hs_chapter = '08'"),
        rule("COLOMBIA", "origin = 'CO'"),
        rule("NEVER", "value > 1000000000"),
    ],
)


def test_backtest_measures_on_known_answers(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    _, version, m = backtest(db, set_id)
    assert version == 1
    assert (m["declarations"], m["controlled"], m["irregular"], m["seizures"]) == (10, 6, 2, 1)
    assert m["base_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert m["hit_declarations"] == 5
    fruit, colombia, never = (m["rules"][f"{set_id}/{k}"] for k in ("FRUIT", "COLOMBIA", "NEVER"))
    assert fruit == {
        "hits": 4,
        "hit_rate": 0.4,
        "controlled": 3,
        "controlled_share": 0.75,
        "irregular": 2,
        "irregularity_precision": pytest.approx(2 / 3, abs=1e-4),
        "seizures": 1,
        "seizure_precision": pytest.approx(1 / 3, abs=1e-4),
        "lift": pytest.approx(2.0, abs=1e-3),  # precision 2/3 over the base rate 1/3
        "overlap": 0.25,  # B3 is also hit by COLOMBIA
    }
    assert colombia == {
        "hits": 2,
        "hit_rate": 0.2,
        "controlled": 1,
        "controlled_share": 0.5,
        "irregular": 0,
        "irregularity_precision": 0.0,
        "seizures": 0,
        "seizure_precision": 0.0,
        "lift": 0.0,
        "overlap": 0.5,
    }
    assert never["hits"] == 0 and never["hit_rate"] == 0.0 and never["controlled"] == 0
    assert never["irregularity_precision"] is None and never["lift"] is None and never["overlap"] is None
    assert m["versions"] == {f"{set_id}/FRUIT": 1, f"{set_id}/COLOMBIA": 1, f"{set_id}/NEVER": 1}
    assert set(m["rules"]) == {f"{set_id}/FRUIT", f"{set_id}/COLOMBIA", f"{set_id}/NEVER"}


def test_backtest_over_a_period_without_controls(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    _, _, m = backtest(db, set_id, period=(day(35), day(45)))  # LATE only, its seizure recorded on day 41
    assert (m["declarations"], m["controlled"], m["seizures"], m["hit_declarations"]) == (1, 1, 1, 1)
    fruit = m["rules"][f"{set_id}/FRUIT"]
    assert (fruit["hits"], fruit["seizure_precision"], fruit["lift"]) == (1, 1.0, 1.0)
    _, _, empty = backtest(db, set_id, period=(day(100), day(101)))
    assert (empty["declarations"], empty["controlled"], empty["base_rate"]) == (0, 0, None)
    assert all(r["hits"] == 0 for r in empty["rules"].values())


def test_backtest_leaves_retired_rules_out_and_keeps_a_record(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    save(db, rule_file("measured", rules=[rule("FRUIT", "hs_chapter = '08'")]), owner=nl.org_id)
    record_id, version, m = backtest(db, set_id)
    assert version == 2 and list(m["rules"]) == [f"{set_id}/FRUIT"]
    with db.session() as session:
        record = session.get(Backtest, record_id)
        assert record is not None
        assert (record.rule_set_id, record.rule_set_version, record.declarations) == (set_id, 2, 10)
        assert (record.owner_org_id, record.handling) == (nl.org_id, "AMBER")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_id == record_id)).one()
        assert entry.action == "collect" and entry.detail == {"rule_set": set_id, "version": 2, "declarations": 10}


def test_publish_needs_a_backtest_of_the_current_version(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    with pytest.raises(InvalidInput, match="no backtest on record"):
        publish(db, set_id)
    backtest(db, set_id)
    assert publish(db, set_id) == ["COLOMBIA", "FRUIT", "NEVER"]
    assert {k: v[:2] for k, v in latest(db, set_id).items()} == {
        "COLOMBIA": (1, "published"),
        "FRUIT": (1, "published"),
        "NEVER": (1, "published"),
    }
    # a new version: its backtest is needed again, the old one does not count
    changed = rule_file(
        "measured",
        rules=[
            rule("FRUIT", "hs_chapter = '09'"),
            rule("COLOMBIA", "origin = 'CO'"),
            rule("NEVER", "value > 1000000000"),
        ],
    )
    save(db, changed, owner=nl.org_id)
    with pytest.raises(InvalidInput, match="version 2 has no backtest"):
        publish(db, set_id)
    record_id, _, _ = backtest(db, set_id)
    assert publish(db, set_id) == ["FRUIT"]
    with db.session() as session:
        fruit = {
            r.version: r for r in session.scalars(select(Rule).where(Rule.rule_set_id == set_id, Rule.key == "FRUIT"))
        }
        assert (fruit[1].status, fruit[2].status) == ("retired", "published")  # republishing retires the older one
        assert fruit[2].backtest_id == record_id and fruit[2].published_at is not None
    entries = _audit(db, set_id)
    assert entries[-1] == ("alter", {"published": ["FRUIT"], "backtest": record_id})
    assert sorted(published(db, None)) == [
        (set_id, "COLOMBIA", 1),
        (set_id, "FRUIT", 2),
        (set_id, "NEVER", 1),
    ]


def test_only_published_versions_run(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    assert scored(db) == set()  # drafts do not run
    backtest(db, set_id)
    publish(db, set_id)
    fruit, colombia = f"{set_id}/FRUIT", f"{set_id}/COLOMBIA"
    first = {(f"B{i}", fruit) for i in range(4)} | {("B3", colombia), ("B4", colombia)}
    assert scored(db) == first
    # a changed draft does not replace the published version until it is published
    save(
        db,
        rule_file(
            "measured",
            rules=[
                rule("FRUIT", "hs_chapter = '09'"),
                rule("COLOMBIA", "origin = 'CO'"),
                rule("NEVER", "value > 1000000000"),
            ],
        ),
        owner=nl.org_id,
    )
    assert scored(db) == first
    backtest(db, set_id)
    publish(db, set_id)
    assert scored(db) == {(f"B{i}", fruit) for i in range(4, 10)} | {("B3", colombia), ("B4", colombia)}
    with db.session() as session:
        _, result = service.score(session, actor=None, start=PERIOD[0], end=PERIOD[1])
    b4 = next(r for r in result.scores.to_pylist() if r["declaration_id"].endswith(":B4"))
    assert (b4["score"], b4["lane"], b4["rules"]) == (2.0, "yellow", [colombia, fruit])


def test_a_removed_rule_stops_running_once_the_set_is_republished(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    backtest(db, set_id)
    publish(db, set_id)
    # FRUIT changed (a v2 draft), then removed before that draft was published
    save(
        db,
        rule_file("measured", rules=[rule("FRUIT", "hs_chapter = '09'"), rule("COLOMBIA", "origin = 'CO'")]),
        owner=nl.org_id,
    )
    save(db, rule_file("measured", rules=[rule("COLOMBIA", "origin = 'CO'")]), owner=nl.org_id)
    backtest(db, set_id)
    publish(db, set_id)
    assert [key for _, key, _ in published(db, None)] == ["COLOMBIA"]


def test_a_campaign_runs_only_inside_its_window(db, nl, tmp_path):
    fruit = goods({"hs_code": "080390", "country_of_origin": "EC"})
    records = [
        simple("IN", datetime(2026, 3, 2, 8, tzinfo=UTC), goods=fruit),
        simple("OUT", datetime(2026, 5, 2, 8, tzinfo=UTC), goods=fruit),
    ]
    store(db, nl, records, tmp_path)
    doc, problems = service.check_file(service.STARTER_PACK.with_name("campaign_fruit_q1.yaml"))
    assert problems == [] and doc is not None
    set_id, _, _ = save(db, doc, owner=nl.org_id)
    period = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    backtest(db, set_id, period=period)
    publish(db, set_id)
    assert scored(db, period=period) == {("IN", f"{set_id}/CAMP-001")}


# ---------------------------------------------------------------- watch lists of several sets


def test_scope_and_a_rule_window_limit_where_and_when_a_rule_runs(db, nl, tmp_path):
    records = [
        simple("RTM-EARLY", day(1)),
        simple("RTM-LATE", day(20)),
        simple("AMS-EARLY", day(1, 9), office="NL000510", port_of_discharge="NLAMS"),
    ]
    store(db, nl, records, tmp_path)
    doc = rule_file(
        "scoped",
        rules=[
            rule("OFFICE", "hs_chapter = '08'", scope={"offices": ["NL000396"]}),
            rule("PORT", "hs_chapter = '08'", scope={"ports": ["NLAMS"]}),
            rule("WINDOW", "hs_chapter = '08'", valid_from=stamp(day(10)), valid_to=stamp(day(30))),
        ],
    )
    set_id, _, _ = save(db, doc, owner=nl.org_id)
    _, _, m = backtest(db, set_id)
    assert {k.split("/")[-1]: v["hits"] for k, v in m["rules"].items()} == {"OFFICE": 2, "PORT": 1, "WINDOW": 1}
    publish(db, set_id)
    assert scored(db) == {
        ("RTM-EARLY", f"{set_id}/OFFICE"),
        ("RTM-LATE", f"{set_id}/OFFICE"),
        ("AMS-EARLY", f"{set_id}/PORT"),
        ("RTM-LATE", f"{set_id}/WINDOW"),
    }
    with db.session() as session:  # scope and window survive an export
        text = yaml.safe_dump(service.to_file(session, session.get(RuleSet, set_id)), sort_keys=False)
    again, problems = service.parse_text(text)
    assert problems == [] and again is not None
    assert service.diff_files(doc, again) == []
    assert again.rules[2].valid_from == day(10) and again.rules[0].scope.offices == ["NL000396"]


def test_an_unchanged_save_keeps_the_backtest_valid(db, nl, tmp_path):
    _backtest_world(db, nl, tmp_path)
    set_id, _, _ = save(db, MEASURED, owner=nl.org_id)
    backtest(db, set_id)
    assert save(db, MEASURED, owner=nl.org_id) == (set_id, 1, [])
    assert publish(db, set_id) == ["COLOMBIA", "FRUIT", "NEVER"]
    assert publish(db, set_id) == []  # nothing left to publish


def test_watch_lists_with_the_same_name_in_two_sets_do_not_clash(db, nl, make_user, tmp_path):
    records = [
        simple(f"W-{c}", day(1) + timedelta(minutes=i), goods=goods({"country_of_origin": c}))
        for i, c in enumerate(("CO", "EC", "BR"))
    ]
    store(db, nl, records, tmp_path)
    other = make_user(Role.CUSTOMS_ANALYST)
    sets = [
        (
            rule_file(
                "alpha",
                rules=[rule("ORIGIN", "in_list('origins', origin)")],
                watch_lists={"origins": {"kind": "country", "values": ["CO"]}},
            ),
            nl.org_id,
        ),
        (
            rule_file(
                "beta",
                rules=[rule("ORIGIN", "in_list('origins', origin)")],
                watch_lists={"origins": {"kind": "country", "values": ["EC"]}},
            ),
            nl.org_id,
        ),
        (
            rule_file(
                "alpha",
                rules=[rule("ORIGIN", "in_list('origins', origin)")],
                watch_lists={"origins": {"kind": "country", "values": ["BR"]}},
            ),
            other.org_id,
        ),
    ]
    ids = []
    for doc, owner in sets:
        set_id, _, _ = save(db, doc, owner=owner)
        backtest(db, set_id)
        publish(db, set_id)
        ids.append(set_id)
    assert scored(db) == {
        ("W-CO", f"{ids[0]}/ORIGIN"),
        ("W-EC", f"{ids[1]}/ORIGIN"),
        ("W-BR", f"{ids[2]}/ORIGIN"),
    }
    with db.session() as session:  # each backtest read its own list too
        measures = {r.rule_set_id: r.measures for r in session.scalars(select(Backtest))}
    assert [measures[i]["rules"][f"{i}/ORIGIN"]["hits"] for i in ids] == [1, 1, 1]


def test_a_list_valued_column_is_on_a_list_when_any_element_is(db, nl, tmp_path):
    records = [
        simple("VIA-PA", day(1), route_countries=["EC", "PA", "NL"]),
        simple("DIRECT", day(1, 9), route_countries=["EC", "NL"]),
    ]
    store(db, nl, records, tmp_path)
    doc = rule_file(
        "hubs",
        rules=[rule("HUB", "in_list('hubs', route_countries)")],
        watch_lists={"hubs": {"kind": "country", "values": ["PA", "DO"]}},
    )
    set_id, _, _ = save(db, doc, owner=nl.org_id)
    backtest(db, set_id)
    publish(db, set_id)
    assert scored(db) == {("VIA-PA", f"{set_id}/HUB")}


# ---------------------------------------------------------------- sharing


class Alliance:
    """NL and BE customs and a terminal operator in the sharing group, DE customs outside it."""

    def __init__(self, db: Database, make_org: Any, make_user: Any) -> None:
        self.nl_org = make_org(name="Douane NL", country="NL")
        self.be_org = make_org(name="Douane BE", country="BE")
        self.de_org = make_org(name="Zoll DE", country="DE")
        self.terminal_org = make_org(name="Terminal Rotterdam", kind=OrgKind.TERMINAL_OPERATOR)
        with db.session() as session:
            self.group = sharing.create_group(
                session,
                actor=None,
                data=GroupIn(
                    name="Alliance customs authorities", org_ids=[self.nl_org, self.be_org, self.terminal_org]
                ),
            ).id
        # principals made after the group exists carry their memberships
        self.nl = make_user(Role.CUSTOMS_ANALYST, org_id=self.nl_org)
        self.be = make_user(Role.CUSTOMS_ANALYST, org_id=self.be_org)
        self.be_officer = make_user(Role.INSPECTION_OFFICER, org_id=self.be_org)
        self.de = make_user(Role.CUSTOMS_ANALYST, org_id=self.de_org)
        self.terminal = make_user(Role.PORT_SECURITY, org_id=self.terminal_org, kind=OrgKind.TERMINAL_OPERATOR)
        assert self.group in self.be.principal.group_ids and self.group in self.terminal.principal.group_ids


FRUIT_SET = rule_file(
    "fruit",
    rules=[
        rule(
            "FRUIT-EC",
            "hs_chapter = '08' AND in_list('origins', origin)",
            purpose="Cocaine is hidden in banana boxes from Ecuador",
            instructions="Scan the reefer",
            action="scan",
            weight=3,
        )
    ],
    watch_lists={"origins": {"kind": "country", "values": ["EC"]}},
    handling="AMBER",
)


@pytest.fixture
def alliance(db, make_org, make_user, tmp_path) -> Alliance:
    world = Alliance(db, make_org, make_user)
    fruit = {"hs_code": "080390", "country_of_origin": "EC"}
    store(db, world.nl, [simple("NL-FRUIT", day(1), goods=goods(fruit))], tmp_path)
    store(
        db,
        world.be,
        [
            simple("BE-FRUIT", day(2), goods=goods(fruit)),
            simple("BE-COFFEE", day(2, 9), goods=goods({"hs_code": "090111", "country_of_origin": "EC"})),
        ],
        tmp_path,
    )
    return world


def _publish_as_system(db: Database, doc: RuleSetFile, owner: str, group: str | None) -> str:
    set_id, _, _ = save(db, doc, owner=owner, group=group)
    backtest(db, set_id)
    publish(db, set_id)
    return set_id


def test_the_owner_analyst_reads_backtests_and_publishes_its_own_set(db, alliance):
    nl = alliance.nl.principal
    set_id, _, _ = save(db, FRUIT_SET, actor=nl)
    with db.session() as session:
        assert [rs.id for rs in service.list_rule_sets(session, actor=nl)] == [set_id]
        assert service.get_rule_set(session, actor=nl, rule_set_id=set_id).title == "Rule set fruit"
    _, _, m = backtest(db, set_id, actor=nl)
    assert m["rules"][f"{set_id}/FRUIT-EC"]["hits"] == 1  # NL reads its own declaration only
    assert publish(db, set_id, actor=nl) == ["FRUIT-EC"]


def test_an_amber_set_of_nl_for_the_alliance_runs_for_be(db, alliance):
    nl, be = alliance.nl.principal, alliance.be.principal
    set_id, _, _ = save(db, FRUIT_SET, actor=nl, group=alliance.group)
    backtest(db, set_id, actor=nl)
    publish(db, set_id, actor=nl)
    # an AMBER+STRICT set of NL, even with the group named, stays inside NL
    strict = rule_file("strict", rules=[rule("ANY", "hs_chapter = '08'")], handling="AMBER+STRICT")
    strict_id, _, _ = save(db, strict, actor=nl, group=alliance.group)
    backtest(db, strict_id, actor=nl)
    publish(db, strict_id, actor=nl)
    rule_id = f"{set_id}/FRUIT-EC"
    with db.session() as session:
        assert {rs.id for rs in service.list_rule_sets(session, actor=nl)} == {set_id, strict_id}
        assert [rs.id for rs in service.list_rule_sets(session, actor=be)] == [set_id]  # not the strict one
        assert service.get_rule_set(session, actor=be, rule_set_id=set_id).owner_org_id == alliance.nl_org
        with pytest.raises(NotFound):
            service.get_rule_set(session, actor=be, rule_set_id=strict_id)
        assert service.list_rule_sets(session, actor=alliance.de.principal) == []
    assert [(s, k) for s, k, _ in published(db, be)] == [(set_id, "FRUIT-EC")]
    assert scored(db, actor=be) == {("BE-FRUIT", rule_id)}  # over BE's own declarations only
    with db.session() as session:
        hits = service.hits_for_declaration(session, actor=be, declaration_id=f"{alliance.be_org}:BE-FRUIT")
        assert [(h["rule_id"], h["purpose"], h["instructions"], h["action"], h["owner_org_id"]) for h in hits] == [
            (rule_id, "Cocaine is hidden in banana boxes from Ecuador", "Scan the reefer", "scan", alliance.nl_org)
        ]
        assert service.hits_for_declaration(session, actor=be, declaration_id=f"{alliance.be_org}:BE-COFFEE") == []
        # a BE inspection officer (rule:read) sees the hit on the declaration page too
        officer = alliance.be_officer.principal
        assert [
            h["rule_id"]
            for h in service.hits_for_declaration(session, actor=officer, declaration_id=f"{alliance.be_org}:BE-FRUIT")
        ] == [rule_id]
    assert scored(db, actor=alliance.de.principal) == set()  # outside the group: neither text nor hits


def test_only_the_owner_publishes_and_others_read_but_do_not_change(db, alliance):
    nl, be = alliance.nl.principal, alliance.be.principal
    set_id, _, _ = save(db, FRUIT_SET, actor=nl, group=alliance.group)
    backtest(db, set_id, actor=nl)
    with pytest.raises(Forbidden, match="owner"):
        publish(db, set_id, actor=be)
    with pytest.raises(Forbidden, match="owner"):  # a backtest on record is the owner's
        backtest(db, set_id, actor=be)
    assert published(db, None) == []
    # saving the same key as BE makes BE's own set, NL's stays as it was
    be_id, _, _ = save(db, rule_file("fruit", rules=[rule("FRUIT-EC", "hs_chapter = '09'")]), actor=be)
    assert be_id == f"{alliance.be_org}:fruit" != set_id
    assert latest(db, set_id)["FRUIT-EC"][2] == "hs_chapter = '08' AND in_list('origins', origin)"
    # an inspection officer reads rules but does not write, backtest or publish them
    officer = alliance.be_officer.principal
    with db.session() as session:
        assert {rs.id for rs in service.list_rule_sets(session, actor=officer)} == {set_id, be_id}
    for act in (
        lambda: save(db, FRUIT_SET, actor=officer),
        lambda: backtest(db, set_id, actor=officer),
        lambda: publish(db, set_id, actor=officer),
    ):
        with pytest.raises(Forbidden):
            act()


def test_an_led_set_is_listed_with_a_justification_only(db, alliance):
    nl, be = alliance.nl.principal, alliance.be.principal
    led = rule_file("police-led", rules=[rule("ANY", "hs_chapter = '08'")], legal_regime="LED")
    set_id, _, _ = save(db, led, actor=nl, group=alliance.group)
    with db.session() as session:
        assert service.list_rule_sets(session, actor=be) == []
        listed = service.list_rule_sets(session, actor=be, justification="case 2026-17")
        assert [rs.id for rs in listed] == [set_id]
    backtest(db, set_id, actor=nl)
    publish(db, set_id, actor=nl)
    assert scored(db, actor=be) == {("BE-FRUIT", f"{set_id}/ANY")}  # running rules is a stated purpose
    assert published(db, alliance.terminal.principal) == []


def test_a_terminal_operator_sees_neither_rule_text_nor_hits(db, alliance):
    set_id = _publish_as_system(db, FRUIT_SET, alliance.nl_org, alliance.group)
    assert scored(db) == {("NL-FRUIT", f"{set_id}/FRUIT-EC"), ("BE-FRUIT", f"{set_id}/FRUIT-EC")}
    terminal = alliance.terminal.principal
    assert not terminal.has("rule:read")
    with db.session() as session:
        with pytest.raises(Forbidden) as refused:
            service.list_rule_sets(session, actor=terminal)
        assert "Cocaine" not in str(refused.value) and set_id not in str(refused.value)
        with pytest.raises((Forbidden, NotFound)) as refused:
            service.get_rule_set(session, actor=terminal, rule_set_id=set_id)
        assert "Cocaine" not in str(refused.value)
        for ref in ("NL-FRUIT", "BE-FRUIT"):
            org = alliance.nl_org if ref.startswith("NL") else alliance.be_org
            assert service.hits_for_declaration(session, actor=terminal, declaration_id=f"{org}:{ref}") == []
    assert published(db, terminal) == []
    assert scored(db, actor=terminal) == set()
    with pytest.raises(Forbidden):
        save(db, FRUIT_SET, actor=terminal)


def test_a_rule_set_cannot_be_red():
    doc, problems = service.parse_text(SET_HEAD.replace("title: Demo set\n", "title: Demo set\nhandling: RED\n"))
    assert doc is None and [p.where for p in problems] == ["rules.yaml"]
    assert problems[0].message.startswith("a rule set cannot be RED")


def test_a_red_set_without_recipients_is_not_visible_to_be(db, alliance):
    """A set stored RED (no file makes one any more; a row written otherwise) is seen by its named recipients only:
    it names none, so BE (in the group) neither reads it nor gets its hits, while the system runs it."""
    set_id = _publish_as_system(
        db, rule_file("secret", rules=[rule("ANY", "hs_chapter = '08'")]), alliance.nl_org, alliance.group
    )
    with db.session() as session:
        session.get(RuleSet, set_id).handling = Handling.RED.value
    assert published(db, None) == [(set_id, "ANY", 1)]
    assert scored(db) == {("NL-FRUIT", f"{set_id}/ANY"), ("BE-FRUIT", f"{set_id}/ANY")}
    be = alliance.be.principal
    with db.session() as session:
        assert set_id not in [rs.id for rs in service.list_rule_sets(session, actor=be)]
        with pytest.raises(NotFound):
            service.get_rule_set(session, actor=be, rule_set_id=set_id)
        assert service.hits_for_declaration(session, actor=be, declaration_id=f"{alliance.be_org}:BE-FRUIT") == []
    assert published(db, be) == []
    assert scored(db, actor=be) == set()


def test_hits_for_a_declaration_the_actor_cannot_read_are_empty(db, alliance):
    _publish_as_system(db, FRUIT_SET, alliance.nl_org, alliance.group)
    with db.session() as session:
        # declarations are not shared with the group: BE does not read NL's one, nor its hits
        nl_decl = f"{alliance.nl_org}:NL-FRUIT"
        assert service.hits_for_declaration(session, actor=alliance.be.principal, declaration_id=nl_decl) == []
        assert service.hits_for_declaration(session, actor=alliance.be.principal, declaration_id="nope:X") == []


# ---------------------------------------------------------------- the starter pack on the public KCS set


@needs_data
def test_starter_pack_through_save_backtest_publish_score_on_a_kcs_sample(db, nl, tmp_path):
    with TRAIN.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = [row for _, row in zip(range(400), reader, strict=False)]
    assert fields is not None and len(rows) == 400
    sample = tmp_path / "kcs-sample.csv"
    with sample.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    from portguard.declarations import service as declarations

    with db.session() as session:
        report = declarations.ingest(session, actor=nl.principal, owner_org_id=nl.org_id, path=sample, format="kcs")
    assert report.status == "committed" and report.declarations == 400
    days = sorted(datetime.fromisoformat(r["Date"]).replace(tzinfo=UTC) for r in rows)
    period = (days[0], days[-1] + timedelta(days=1))

    doc, problems = service.check_file(service.STARTER_PACK)
    assert problems == [] and doc is not None
    set_id, version, changes = save(db, doc, owner=nl.org_id)
    keys = [r.id for r in doc.rules]
    assert version == 1 and changes == [f"+{k}" for k in keys]
    with pytest.raises(InvalidInput):
        publish(db, set_id)
    _, _, m = backtest(db, set_id, period=period)
    assert sorted(m["rules"]) == sorted(f"{set_id}/{k}" for k in keys)
    assert (m["declarations"], m["controlled"]) == (400, 400)  # every KCS row carries its control result
    assert m["irregular"] == sum(r["Fraud"] == "1" for r in rows)
    assert m["seizures"] == 0
    assert sum(r["hits"] for r in m["rules"].values()) > 0
    assert publish(db, set_id) == sorted(keys)
    with db.session() as session:
        view, result = service.score(session, actor=None, start=period[0], end=period[1])
    assert view.num_rows == 400
    per_rule: dict[str, int] = {}
    for hit in result.hits.to_pylist():
        per_rule[hit["rule_id"]] = per_rule.get(hit["rule_id"], 0) + 1
    # the published rules hit in the run exactly what they hit in the backtest
    assert per_rule == {rid: r["hits"] for rid, r in m["rules"].items() if r["hits"]}
    assert result.scores.num_rows == m["hit_declarations"]


def test_export_round_trips_through_check(db, make_org):
    owner = make_org()
    doc, _ = service.check_file(service.STARTER_PACK)
    assert doc is not None
    set_id, _, _ = save(db, doc, owner=owner)
    with db.session() as session:
        exported = service.to_file(session, session.get(RuleSet, set_id))
    text = yaml.safe_dump(exported, sort_keys=False, allow_unicode=True)
    again, problems = service.parse_text(text)
    assert problems == [] and again is not None
    assert again.owner == owner and again.handling == Handling.AMBER and again.example
    assert service.diff_files(doc, again) == []
    assert save(db, again, owner=owner) == (set_id, 1, [])  # nothing changed


def test_diff_files_shows_the_changed_rule_only():
    a = rule_file(rules=[rule("R1", "hs_chapter = '08'"), rule("R2", "origin = 'CO'")])
    b = rule_file(rules=[rule("R1", "hs_chapter = '09'"), rule("R2", "origin = 'CO'"), rule("R3", "value > 1")])
    lines = service.diff_files(a, b)
    assert "--- a/R1" in lines and "+++ b/R1" in lines
    assert "-when: hs_chapter = '08'" in lines and "+when: hs_chapter = '09'" in lines
    assert "+++ b/R3" in lines and "+when: value > 1" in lines
    assert not any("R2" in line for line in lines)
    assert service.diff_files(a, a) == []
    c = rule_file(
        rules=[rule("R1", "hs_chapter = '08'"), rule("R2", "origin = 'CO'")], watch_lists={"x": {"values": ["1"]}}
    )
    assert service.diff_files(a, c) == ["watch list x: changed"]


def test_find_rule_set_by_id_or_unique_key(db, make_org):
    one, two = make_org(), make_org()
    set_id, _, _ = save(db, rule_file("shared-key"), owner=one)
    with db.session() as session:
        assert service.find_rule_set(session, ref="shared-key").id == set_id
        assert service.find_rule_set(session, ref=set_id).id == set_id
    save(db, rule_file("shared-key"), owner=two)
    with db.session() as session:
        with pytest.raises(NotFound, match="several"):
            service.find_rule_set(session, ref="shared-key")
        assert service.find_rule_set(session, ref=set_id).id == set_id
        with pytest.raises(NotFound):
            service.find_rule_set(session, ref="missing")
