"""Rule sets over HTTP: who sees which set and its hits, saving YAML with problems, the condition checker,
backtest before publish, export round trip, and no access without credentials."""

from __future__ import annotations

import json
from typing import Any

import yaml

from portguard.core.policy import OrgKind, Role
from portguard.risk import service
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from tests.conftest import bearer
from tests.declarations.test_ingest import declaration

YAML = {"Content-Type": "application/yaml"}
PERIOD = {"from": "2026-01-01", "to": "2026-04-01"}  # the test declarations are lodged on 2026-03-02


def rule_set(key: str = "bananas", *, handling: str = "AMBER", group: str | None = None, **rule: Any) -> str:
    """A rule set file with one rule (BAN-001, bananas from a watched country), as YAML."""
    doc: dict[str, Any] = {
        "id": key,
        "title": "Bananas from watched countries",
        "description": "Fresh bananas from producer countries.",
        "handling": handling,
        "watch_lists": {"watched": {"kind": "country", "values": ["EC", "CO"]}},
        "rules": [
            {
                "id": "BAN-001",
                "title": "Bananas from a watched country",
                "purpose": "Bananas are the most frequent cover load of large cocaine seizures.",
                "instructions": "Scan the reefer; check the cooling unit.",
                "when": "hs4 = '0803' AND in_list('watched', departure)",
                "action": "scan",
                "weight": 3,
                **rule,
            }
        ],
    }
    if group:
        doc["sharing_group"] = group
    return yaml.safe_dump(doc, sort_keys=False)


def _cocoa(ref: str) -> dict[str, Any]:
    record = declaration(ref, country_of_departure="CI", port_of_loading="CIABJ")
    record["goods"][0].update(hs_code="180100", description="Cocoa beans", country_of_origin="CI")
    return record


def _upload(client, headers, *records) -> None:
    content = "".join(json.dumps(r) + "\n" for r in records).encode()
    response = client.post(
        "/api/declarations/ingest", headers=headers, files={"file": ("d.jsonl", content)}, data={"format": "ics2"}
    )
    assert response.status_code == 200 and response.json()["status"] == "committed", response.text


def _save(client, headers, text: str, **kwargs):
    return client.post("/api/rule-sets", headers={**headers, **YAML}, content=text.encode(), **kwargs)


def _group(db, name: str, *org_ids: str) -> str:
    with db.session() as session:
        return sharing.create_group(session, actor=None, data=GroupIn(name=name, org_ids=list(org_ids))).id


def test_amber_set_shared_with_a_group_is_seen_with_its_hits_and_private_sector_sees_nothing(client, db, make_user):
    nl = make_user(Role.CUSTOMS_ANALYST)
    be = make_user(Role.CUSTOMS_ANALYST)
    fr = make_user(Role.CUSTOMS_ANALYST)  # customs too, but not in the group
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    _group(db, "Alliance", nl.org_id, be.org_id, terminal.org_id)  # even in the group, a terminal has no rule:read
    h_nl, h_be, h_fr, h_terminal = (bearer(db, u) for u in (nl, be, fr, terminal))

    saved = _save(client, h_nl, rule_set(group="Alliance"))
    assert saved.status_code == 200, saved.text
    set_id = saved.json()["id"]
    assert saved.json() == {"id": f"{nl.org_id}:bananas", "key": "bananas", "version": 1, "changes": ["+BAN-001"]}

    # Dutch declarations with a control result to measure against; Belgian and French ones to hit
    _upload(client, h_nl, declaration("NL1"), _cocoa("NL2"))
    result = client.post(
        "/api/controls/results",
        headers=h_nl,
        json={"declaration_id": f"{nl.org_id}:NL1", "outcome": "irregularity", "recorded_at": "2026-03-03T10:00:00Z"},
    )
    assert result.status_code == 201, result.text
    _upload(client, h_be, declaration("BE1"), _cocoa("BE2"))
    _upload(client, h_fr, declaration("FR1"))

    refused = client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl)
    assert refused.status_code == 422 and "backtest" in refused.json()["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    backtest = client.post(f"/api/rule-sets/{set_id}/backtest", headers=h_nl, json=PERIOD)
    assert backtest.status_code == 200, backtest.text
    measures = backtest.json()["measures"]
    assert (measures["declarations"], measures["controlled"], measures["irregular"]) == (2, 1, 1)  # Dutch data only
    assert (
        measures["rules"][f"{set_id}/BAN-001"].items()
        >= {"hits": 1, "irregularity_precision": 1.0, "lift": 1.0}.items()
    )
    published = client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl)
    assert published.status_code == 200, published.text
    assert published.json() == {
        "rule_set_id": set_id,
        "published": ["BAN-001"],
        "backtest_id": backtest.json()["id"],
    }

    # Belgian customs, in the group: the set, its text and measures, and its hits on their declarations
    listed = client.get("/api/rule-sets", headers=h_be).json()
    assert [(s["id"], s["rules"], s["backtested"]) for s in listed] == [
        (set_id, {"draft": 0, "published": 1, "retired": 0}, True)
    ]
    one = client.get(f"/api/rule-sets/{set_id}", headers=h_be).json()
    assert [(r["key"], r["status"], r["version"]) for r in one["rule_versions"]] == [("BAN-001", "published", 1)]
    assert one["rule_versions"][0]["condition"] == "hs4 = '0803' AND in_list('watched', departure)"
    assert one["backtest"]["id"] == backtest.json()["id"] and one["owner_org_id"] == nl.org_id
    hits = client.get(f"/api/declarations/{be.org_id}:BE1/hits", headers=h_be)
    assert hits.status_code == 200, hits.text
    [hit] = hits.json()["hits"]
    assert hit["rule_id"] == f"{set_id}/BAN-001" and hit["owner_org_id"] == nl.org_id
    assert hit["purpose"].startswith("Bananas are the most frequent cover load")
    assert (hit["action"], hit["weight"], hit["rule_set"]) == ("scan", 3.0, "Bananas from watched countries")
    assert client.get(f"/api/declarations/{be.org_id}:BE2/hits", headers=h_be).json()["hits"] == []  # cocoa
    # ... but not the Dutch declarations themselves
    assert client.get(f"/api/declarations/{nl.org_id}:NL1/hits", headers=h_be).status_code == 404

    # French customs, outside the group: no set, no hits on their own bananas
    assert client.get("/api/rule-sets", headers=h_fr).json() == []
    assert client.get(f"/api/rule-sets/{set_id}", headers=h_fr).status_code == 404
    assert client.get(f"/api/rule-sets/{set_id}/export", headers=h_fr).status_code == 404
    assert client.get(f"/api/declarations/{fr.org_id}:FR1/hits", headers=h_fr).json()["hits"] == []

    # the terminal operator: no rule permission at all
    for method, path, body in (
        ("GET", "/api/rule-sets", None),
        ("GET", f"/api/rule-sets/{set_id}", None),
        ("GET", f"/api/rule-sets/{set_id}/export", None),
        ("GET", f"/api/declarations/{be.org_id}:BE1/hits", None),
        ("POST", "/api/rules/check", {"when": "hs4 = '0803'"}),
        ("POST", f"/api/rule-sets/{set_id}/backtest", PERIOD),
    ):
        answer = client.request(method, path, headers=h_terminal, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["permission"].startswith("rule:")


def test_amber_strict_set_is_invisible_to_others_and_red_is_refused(client, db, make_user):
    nl = make_user(Role.CUSTOMS_ANALYST)
    be = make_user(Role.CUSTOMS_ANALYST)
    officer = make_user(Role.INSPECTION_OFFICER, org_id=be.org_id)
    _group(db, "Alliance", nl.org_id, be.org_id)
    red = _save(client, bearer(db, nl), rule_set("secret", handling="RED", group="Alliance"))
    assert red.status_code == 422 and "cannot be RED" in red.json()["detail"]
    saved = _save(client, bearer(db, nl), rule_set("secret", handling="AMBER+STRICT", group="Alliance"))
    assert saved.status_code == 200, saved.text
    set_id = saved.json()["id"]
    for user in (be, officer):
        headers = bearer(db, user)
        assert client.get("/api/rule-sets", headers=headers).json() == []
        assert client.get(f"/api/rule-sets/{set_id}", headers=headers).status_code == 404
        assert client.get(f"/api/rule-sets/{set_id}/export", headers=headers).status_code == 404
    # an inspection officer reads rules but does not write them
    assert _save(client, bearer(db, officer), rule_set("mine")).status_code == 403


def test_bad_yaml_is_refused_with_every_problem_and_its_place(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)

    broken = _save(client, headers, "id: broken\ntitle: Broken set\nrules: [\n  {id: R1\n")
    assert broken.status_code == 422
    assert broken.headers["content-type"] == "application/problem+json"
    [problem] = broken.json()["problems"]
    assert problem["message"].startswith("invalid YAML") and problem["line"] == 5 and problem["column"] == 1

    two_bad_rules = yaml.safe_load(rule_set())
    two_bad_rules["rules"] = [
        {**two_bad_rules["rules"][0], "id": "R1", "when": "origin IN (SELECT 1)"},
        {**two_bad_rules["rules"][0], "id": "R2", "when": "hs4 = '0803' AND\n  shoe_size > 44"},
    ]
    answer = _save(client, headers, yaml.safe_dump(two_bad_rules))
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("the rule set has 2 problem(s)")
    first, second = body["problems"]
    assert first == {
        "where": "rules[0] (R1).when",
        "message": "SUBQUERY is not allowed in a rule condition",
        "line": 1,
        "column": 12,
        "near": "SELECT",
    }
    assert second["where"] == "rules[1] (R2).when" and "unknown column 'shoe_size'" in second["message"]
    assert (second["line"], second["column"], second["near"]) == (2, 3, "shoe_size")

    schema = _save(client, headers, "id: x\ntitle: ab\nrules: []\n").json()["problems"]
    assert {p["where"] for p in schema} == {"title", "rules"}

    not_json = client.post("/api/rule-sets", headers=headers, json={"text": "id: x"})
    assert not_json.status_code == 422 and not_json.json()["field"] == "yaml"
    xml = client.post("/api/rule-sets", headers={**headers, "Content-Type": "application/xml"}, content=b"<x/>")
    assert xml.status_code == 415 and xml.headers["content-type"] == "application/problem+json"
    assert client.get("/api/rule-sets", headers=headers).json() == []  # nothing was saved

    as_json = client.post("/api/rule-sets", headers=headers, json={"yaml": rule_set("one")})
    as_text = client.post(
        "/api/rule-sets", headers={**headers, "Content-Type": "text/plain"}, content=rule_set("two").encode()
    )
    assert as_json.status_code == as_text.status_code == 200
    assert [s["key"] for s in client.get("/api/rule-sets", headers=headers).json()] == ["one", "two"]

    deep = _save(client, headers, rule_set("deep", when="(" * 60 + "hs4 = '0803'" + ")" * 60))
    assert deep.status_code == 422 and "nested deeper than 30 parentheses" in deep.json()["detail"]
    assert _save(client, headers, "[" * 5000 + "]" * 5000).status_code == 422

    unknown_group = _save(client, headers, rule_set("three", group="No such group"))
    assert unknown_group.status_code == 422 and unknown_group.json()["field"] == "sharing_group"


def test_condition_checker(client, db, make_user):
    headers = bearer(db, make_user(Role.INSPECTION_OFFICER))  # rule:read is enough

    def check(when: str, lists: list[str] | None = None) -> dict[str, Any]:
        answer = client.post("/api/rules/check", headers=headers, json={"when": when, "watch_lists": lists or []})
        assert answer.status_code == 200, answer.text
        return answer.json()

    good = check("hs_chapter IN ('08', '09') AND value_per_kg < 0.6")
    assert good["ok"] and good["error"] is None and "value_per_kg < 0.6" in good["sql"]
    listed = check("in_list('origins', origin)", ["origins"])
    assert listed["ok"] and "watch_lists" in listed["sql"]
    assert check("in_list('origins', origin)")["error"]["message"] == "unknown watch list 'origins'"

    subquery = check("origin IN (SELECT 1)")
    assert not subquery["ok"] and subquery["sql"] is None
    assert subquery["error"] == {
        "message": "SUBQUERY is not allowed in a rule condition",
        "line": 1,
        "column": 12,
        "near": "SELECT",
    }
    statement = check("origin = 'EC'; DROP TABLE declarations")
    assert not statement["ok"] and statement["error"]["near"] == ";"
    assert not check("origin = 'EC' -- hidden")["ok"]
    deep = check("(" * 60 + "hs4 = '0803'" + ")" * 60)  # deeper than the parser recurses: refused, not a 500
    assert not deep["ok"] and "nested" in deep["error"]["message"]
    assert client.post("/api/rules/check", headers=headers, json={"when": "x", "extra": 1}).status_code == 422


def test_a_changed_rule_needs_a_new_backtest_and_only_the_owner_publishes(client, db, make_user):
    nl = make_user(Role.CUSTOMS_ANALYST)
    be = make_user(Role.CUSTOMS_ANALYST)
    _group(db, "Alliance", nl.org_id, be.org_id)
    h_nl, h_be = bearer(db, nl), bearer(db, be)
    set_id = _save(client, h_nl, rule_set(group="Alliance")).json()["id"]
    assert client.post(f"/api/rule-sets/{set_id}/backtest", headers=h_nl, json=PERIOD).status_code == 200
    assert client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl).status_code == 200
    assert client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl).json()["published"] == []  # no drafts

    again = _save(client, h_nl, rule_set(group="Alliance", weight=5))
    assert again.json() == {"id": set_id, "key": "bananas", "version": 2, "changes": ["~BAN-001"]}
    one = client.get(f"/api/rule-sets/{set_id}", headers=h_nl).json()
    assert one["backtest"] is None and not one["backtested"]
    assert one["rules"] == {"draft": 1, "published": 0, "retired": 0}  # the newest version of each rule
    assert client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl).status_code == 422

    wrong_way = client.post(
        f"/api/rule-sets/{set_id}/backtest", headers=h_nl, json={"from": "2026-04-01", "to": "2026-01-01"}
    )
    assert wrong_way.status_code == 422
    assert client.post(f"/api/rule-sets/{set_id}/backtest", headers=h_nl, json=PERIOD).json()["rule_set_version"] == 2
    not_owner = client.post(f"/api/rule-sets/{set_id}/publish", headers=h_be)
    assert not_owner.status_code in (403, 422) and "owner" in not_owner.json()["detail"]
    assert client.post(f"/api/rule-sets/{set_id}/publish", headers=h_nl).json()["published"] == ["BAN-001"]
    versions = client.get(f"/api/rule-sets/{set_id}", headers=h_be).json()["rule_versions"]
    assert [(r["version"], r["status"], r["weight"]) for r in versions] == [(2, "published", 5.0)]
    assert client.post("/api/rule-sets/nobody:nothing/publish", headers=h_nl).status_code == 404


def test_export_round_trips_through_parse_text(client, db, make_user):
    nl = make_user(Role.CUSTOMS_ANALYST)
    group_id = _group(db, "Alliance", nl.org_id)
    headers = bearer(db, nl)
    text = rule_set(
        "scoped",
        group="Alliance",
        scope={"ports": ["NLRTM", "BEANR"]},
        valid_from="2026-01-01T00:00:00Z",
        valid_to="2027-01-01T00:00:00Z",
    )
    set_id = _save(client, headers, text).json()["id"]
    exported = client.get(f"/api/rule-sets/{set_id}/export", headers=headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/yaml")
    assert 'filename="scoped.yaml"' in exported.headers["content-disposition"]

    doc, problems = service.parse_text(exported.text)
    assert problems == [] and doc is not None
    original, _ = service.parse_text(text)
    assert original is not None
    assert (doc.owner, doc.handling.value, doc.sharing_group) == (nl.org_id, "AMBER", group_id)
    assert [r.model_dump() for r in doc.rules] == [r.model_dump() for r in original.rules]
    assert doc.watch_lists == original.watch_lists and doc.title == original.title
    assert service.diff_files(original, doc) == []
    # and saving the export again changes nothing
    assert _save(client, headers, exported.text).json()["changes"] == []


def test_no_access_without_credentials(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    set_id = _save(client, bearer(db, analyst), rule_set()).json()["id"]
    for method, path, kwargs in (
        ("GET", "/api/rule-sets", {}),
        ("GET", f"/api/rule-sets/{set_id}", {}),
        ("GET", f"/api/rule-sets/{set_id}/export", {}),
        ("POST", "/api/rule-sets", {"content": rule_set().encode(), "headers": YAML}),
        ("POST", "/api/rules/check", {"json": {"when": "hs4 = '0803'"}}),
        ("POST", f"/api/rule-sets/{set_id}/backtest", {"json": PERIOD}),
        ("POST", f"/api/rule-sets/{set_id}/publish", {}),
        ("GET", f"/api/declarations/{analyst.org_id}:X/hits", {}),
    ):
        answer = client.request(method, path, **kwargs)
        assert answer.status_code == 401, (method, path)
        assert answer.headers["content-type"] == "application/problem+json"
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/rule-sets", headers=forged).status_code == 401
