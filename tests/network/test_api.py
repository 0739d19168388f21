"""The network API with bearer tokens, on both back-ends: runs, entities, communities, the graph around a node, paths,
exports that parse back in their own tools and land in the audit chain as disclosures, decisions, incremental
linking, background runs, watch lists; the 401/403/404/422 answers as RFC 9457 problems; and the pages' forms
(CSRF, refusals shown on the page)."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from typing import Any

import networkx as nx
from fastapi.testclient import TestClient
from followthemoney import model
from sqlalchemy import select

from portguard.core import audit
from portguard.core.audit import AuditEntry
from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer, login
from tests.network.test_service import AS_OF, consignee, seized_world  # noqa: F401 - the fixture

PROBLEM = "application/problem+json"
WATCHLIST = (
    json.dumps(
        {
            "id": "t-1",
            "schema": "Company",
            "properties": {"name": ["Zuidpolder Handel B.V."], "country": ["nl"], "phone": ["+31 10 555 0101"]},
        }
    )
    + "\n"
    + json.dumps({"id": "t-2", "schema": "Person", "properties": {"name": ["Jan Smit"], "nationality": ["nl"]}})
    + "\n"
).encode()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return dict(body)


def _seized_entity(client: TestClient, headers: dict[str, str], world: dict[str, Any]) -> dict[str, Any]:
    """The entity of the seized declaration's consignee, read through the API."""
    name = consignee(world["seized"])["name"]
    page = _ok(
        client.get("/api/network/entities", params={"run_id": world["run_id"], "min_risk": 0.01}, headers=headers)
    )
    return next(e for e in page["items"] if name in e["names"] or e["label"] == name)


def test_credentials_and_permissions_are_required(client: TestClient, db, make_user):
    _problem(client.get("/api/network/runs"), 401)
    _problem(client.post("/api/network/runs", json={}), 401)
    _problem(client.get("/api/network/graph", params={"node": "entity:x"}), 401)
    inspector = make_user(Role.INSPECTION_OFFICER)  # reads declarations, not the network
    headers = bearer(db, inspector)
    for method, path in (
        ("GET", "/api/network/runs"),
        ("POST", "/api/network/runs"),
        ("GET", "/api/network/entities"),
        ("GET", "/api/network/graph?node=entity:x"),
        ("GET", "/api/network/export?node=entity:x"),
        ("POST", "/api/network/decisions"),
        ("GET", "/api/watchlists"),
    ):
        body = _problem(client.request(method, path, headers=headers, json={} if method == "POST" else None), 403)
        assert "network:" in body["detail"] or "watchlist:" in body["detail"]
    analyst = make_user(Role.CUSTOMS_ANALYST)
    none_yet = _problem(client.get("/api/network/entities", headers=bearer(db, analyst)), 404)
    assert "no network run yet" in none_yet["detail"]


def test_runs_entities_communities_graph_and_paths(client: TestClient, db, seized_world):  # noqa: F811
    w = seized_world
    headers = bearer(db, w["analyst"])
    runs = _ok(client.get("/api/network/runs", headers=headers))
    assert runs["total"] == 1 and runs["items"][0]["id"] == w["run_id"]
    run = _ok(client.get(f"/api/network/runs/{w['run_id']}", headers=headers))
    assert run["declarations"] == 150 and run["seizures"] == 1 and run["params"]["model"] is True
    assert "model" not in run  # the trained Splink settings stay in the store

    entity = _seized_entity(client, headers, w)
    assert entity["hops_to_seizure"] == 2 and entity["risk"] == 1.0
    default = _ok(client.get("/api/network/entities", params={"limit": 5}, headers=headers))
    assert (
        default["run_id"] == w["run_id"] and default["items"][0]["risk"] == 1.0 and default["total"] == run["entities"]
    )
    found = _ok(client.get("/api/network/entities", params={"q": entity["label"][:6].lower()}, headers=headers))
    assert entity["id"] in {e["id"] for e in found["items"]}

    detail = _ok(client.get(f"/api/network/entities/{entity['id']}", headers=headers | {"X-Justification": "case 7"}))
    assert detail["entity"]["id"] == entity["id"] and detail["run_id"] == w["run_id"]
    seized = [d for d in detail["declarations"] if d["seized"]]
    assert [d["id"] for d in seized] == [w["seized_id"]]
    assert {r["method"] for r in detail["records"]} == {"model"}
    assert all(r["record"].startswith(r["declaration_id"] + "#") for r in detail["records"])
    with db.session() as s:
        consulted = s.scalars(select(AuditEntry.justification).where(AuditEntry.object_type == "network_entity"))
        assert consulted.all() == ["case 7"]

    communities = _ok(client.get("/api/network/communities", headers=headers))
    assert communities["run_id"] == w["run_id"] and all(c["entities"] > 1 for c in communities["items"])

    node = f"entity:{entity['id']}"
    graph = _ok(client.get("/api/network/graph", params={"node": node, "hops": 2}, headers=headers))
    assert graph["run_id"] == w["run_id"] and not graph["truncated"]
    nodes, edges = graph["elements"]["nodes"], graph["elements"]["edges"]
    assert len(nodes) == graph["nodes"] > 1 and len(edges) == graph["edges"]
    kinds = {n["data"]["kind"] for n in nodes}
    assert {"entity", "declaration", "seizure"} <= kinds
    ids = {n["data"]["id"] for n in nodes}
    assert node in ids and all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in edges)
    seizure = next(n["data"]["id"] for n in nodes if n["data"]["kind"] == "seizure")
    one = _ok(client.get("/api/network/graph", params={"node": seizure, "hops": 1}, headers=headers))
    assert {n["data"]["kind"] for n in one["elements"]["nodes"]} == {"seizure", "declaration"}
    # around a declaration (a long node id: the audit entry's object id is cut to its column)
    around = _ok(client.get("/api/network/graph", params={"node": f"declaration:{w['seized_id']}"}, headers=headers))
    assert node in {n["data"]["id"] for n in around["elements"]["nodes"]}

    path = _ok(client.get("/api/network/path", params={"source": node, "target": seizure}, headers=headers))
    assert path["found"] and path["node_ids"][0] == node and path["node_ids"][-1] == seizure
    assert path["edge_kinds"] == ["party_to", "seized_in"]
    nowhere = _ok(client.get("/api/network/path", params={"source": seizure, "target": "phone:+1"}, headers=headers))
    assert nowhere == {"source": seizure, "target": "phone:+1", "found": False, "node_ids": [], "edge_kinds": []}

    # bad node ids are 422 with the reason, unknown ones 404, a bad hop count 422
    for bad in ("bogus", "planet:earth", "entity:"):
        problem = _problem(client.get("/api/network/graph", params={"node": bad}, headers=headers), 422)
        assert problem.get("field") == "node" or problem.get("errors")
    _problem(client.get("/api/network/graph", params={"node": "entity:ent_nope"}, headers=headers), 404)
    _problem(client.get("/api/network/graph", params={"node": node, "hops": 9}, headers=headers), 422)
    _problem(client.get("/api/network/entities/ent_nope", headers=headers), 404)
    _problem(client.get("/api/network/runs/net_nope", headers=headers), 404)


def test_another_organisation_cannot_read_the_run(client: TestClient, db, make_user, seized_world):  # noqa: F811
    w = seized_world
    mine = bearer(db, w["analyst"])
    entity = _seized_entity(client, mine, w)
    other = bearer(db, make_user(Role.CUSTOMS_ANALYST))
    assert _ok(client.get("/api/network/runs", headers=other))["total"] == 0
    _problem(client.get(f"/api/network/runs/{w['run_id']}", headers=other), 404)
    params = {"run_id": w["run_id"]}
    _problem(client.get("/api/network/entities", params=params, headers=other), 404)
    _problem(client.get(f"/api/network/entities/{entity['id']}", params=params, headers=other), 404)
    _problem(client.get("/api/network/communities", params=params, headers=other), 404)
    node = {"node": f"entity:{entity['id']}"} | params
    _problem(client.get("/api/network/graph", params=node, headers=other), 404)
    _problem(client.get("/api/network/export", params=node, headers=other), 404)
    _problem(client.delete(f"/api/network/runs/{w['run_id']}", headers=other), 404)
    _problem(client.post(f"/api/network/runs/{w['run_id']}/link", headers=other), 404)


def test_each_export_parses_back_and_is_a_disclosure(client: TestClient, db, seized_world):  # noqa: F811
    w = seized_world
    headers = bearer(db, w["analyst"])
    entity = _seized_entity(client, headers, w)
    node = f"entity:{entity['id']}"
    graph = _ok(client.get("/api/network/graph", params={"node": node, "hops": 2}, headers=headers))
    n_nodes, n_edges = graph["nodes"], graph["edges"]
    ids = {n["data"]["id"] for n in graph["elements"]["nodes"]}

    def export(fmt: str) -> bytes:
        response = client.get(
            "/api/network/export",
            params={"node": node, "hops": 2, "format": fmt},
            headers=headers | {"X-Justification": "case file 2025/17"},
        )
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=") and f"network-entity-{entity['id']}." in disposition
        assert response.headers["x-network-run"] == w["run_id"]
        return response.content

    ftm = [model.get_proxy(json.loads(line)) for line in export("ftm").decode().splitlines()]
    assert len(ftm) == n_nodes + n_edges
    assert {p.context["portguard"]["id"] for p in ftm if "id" in p.context.get("portguard", {})} == ids
    assert {"Company", "Document", "Event"} <= {p.schema.name for p in ftm}

    graphml = nx.read_graphml(io.BytesIO(export("graphml")))
    assert graphml.number_of_nodes() == n_nodes and graphml.number_of_edges() == n_edges
    assert {d["name"] for _, d in graphml.nodes(data=True)} == ids

    gexf = nx.read_gexf(io.BytesIO(export("gexf")))
    assert set(gexf.nodes) == ids and gexf.number_of_edges() == n_edges

    with zipfile.ZipFile(io.BytesIO(export("i2"))) as archive:
        assert sorted(archive.namelist()) == ["entities.csv", "links.csv"]
        entities = list(csv.DictReader(io.StringIO(archive.read("entities.csv").decode())))
        links = list(csv.DictReader(io.StringIO(archive.read("links.csv").decode())))
    assert {r["id"] for r in entities} == ids and len(links) == n_edges
    assert {r["type"] for r in links} >= {"party_to", "seized_in"}

    _problem(client.get("/api/network/export", params={"node": node, "format": "pdf"}, headers=headers), 422)
    _problem(client.get("/api/network/export", params={"node": "nonsense"}, headers=headers), 422)
    with db.session() as s:
        disclosed = s.scalars(select(AuditEntry).where(AuditEntry.action == "disclose").order_by(AuditEntry.seq)).all()
        assert [e.detail["format"] for e in disclosed] == ["ftm", "graphml", "gexf", "i2"]
        assert all(e.object_type == "network_export" and e.object_id == f"{w['run_id']}/{node}" for e in disclosed)
        assert all(e.justification == "case file 2025/17" for e in disclosed)
        assert all(e.detail["nodes"] == n_nodes and e.detail["edges"] == n_edges for e in disclosed)
        assert all(e.user_id == w["analyst"].user_id for e in disclosed)
        assert audit.verify(s).ok  # and the chain holding them is intact


def test_decisions_linking_background_runs_and_erasing(client: TestClient, db, make_user, seized_world):  # noqa: F811
    w = seized_world
    headers = bearer(db, w["analyst"])
    record = f"{w['seized_id']}#2"
    split = _ok(
        client.post(
            "/api/network/decisions", json={"kind": "split", "record": record, "reason": "another VAT"}, headers=headers
        ),
        201,
    )
    assert split["kind"] == "split" and split["record"] == record and split["owner_org_id"] == w["analyst"].org_id
    _problem(
        client.post(
            "/api/network/decisions", json={"kind": "confirm", "record": record, "reason": "x y"}, headers=headers
        ),
        422,
    )
    _problem(
        client.post(
            "/api/network/decisions", json={"kind": "split", "record": "nope#1", "reason": "why"}, headers=headers
        ),
        404,
    )
    _problem(client.post("/api/network/decisions", json={"kind": "merge", "record": record}, headers=headers), 422)

    linked = _ok(client.post(f"/api/network/runs/{w['run_id']}/link", headers=headers))
    assert linked == {
        "run_id": w["run_id"],
        "records": 0,
        "attached": 0,
        "new_entities": 0,
        "seconds": linked["seconds"],
    }

    started = client.post(
        "/api/network/runs", params={"background": "true"}, json={"as_of": AS_OF.isoformat()}, headers=headers
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/api/jobs/{job['id']}" and job["kind"] == "network.run"
    deadline = time.monotonic() + 120
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = _ok(client.get(f"/api/jobs/{job['id']}", headers=headers))
    assert job["state"] == "finished", job
    assert job["done"] == job["total"] > 1 and job["percent"] == 100.0
    rerun = job["result"]
    assert rerun["declarations"] == 150 and rerun["id"] != w["run_id"]
    _problem(client.get(f"/api/jobs/{job['id']}", headers=bearer(db, make_user(Role.CUSTOMS_ANALYST))), 404)
    # the split applies: the seized consignee's record is an entity of its own in the new run
    entity = _seized_entity(client, headers, w)
    again = _ok(client.get(f"/api/network/entities/{entity['id']}", params={"run_id": rerun["id"]}, headers=headers))
    assert record not in {r["record"] for r in again["records"]}

    assert client.delete(f"/api/network/runs/{rerun['id']}", headers=headers).status_code == 204
    _problem(client.get(f"/api/network/runs/{rerun['id']}", headers=headers), 404)
    _problem(client.post("/api/network/runs", json={"hop_decay": 3}, headers=headers), 422)
    _problem(client.post("/api/network/runs", json={"sharing_group_id": "grp_nobody"}, headers=headers), 422)


def test_watch_lists_through_the_api(client: TestClient, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)
    created = _ok(
        client.post(
            "/api/watchlists",
            files={"file": ("ofac.ftm.json", WATCHLIST, "application/json")},
            data={"name": "Test list", "source": "tests"},
            headers=headers,
        ),
        201,
    )
    assert created["entries"] == 2 and created["name"] == "Test list" and created["owner_org_id"] == analyst.org_id
    wid = created["id"]
    assert [w["id"] for w in _ok(client.get("/api/watchlists", headers=headers))] == [wid]
    assert _ok(client.get(f"/api/watchlists/{wid}", headers=headers))["file_sha256"] == created["file_sha256"]
    entries = _ok(client.get(f"/api/watchlists/{wid}/entries", headers=headers))
    assert entries["total"] == 2 and {e["schema"] for e in entries["items"]} == {"Company", "Person"}
    found = _ok(client.get(f"/api/watchlists/{wid}/entries", params={"q": "smit"}, headers=headers))
    assert [e["id"] for e in found["items"]] == ["t-2"]
    again = _ok(
        client.post("/api/watchlists", files={"file": ("again.json", WATCHLIST)}, data={"name": "x"}, headers=headers),
        201,
    )
    assert again["id"] == wid  # the same content is stored once
    bad = _problem(
        client.post(
            "/api/watchlists", files={"file": ("bad.json", b"{not json}\n")}, data={"name": "b"}, headers=headers
        ),
        422,
    )
    assert bad["errors"][0]["line"] == 1
    other = bearer(db, make_user(Role.CUSTOMS_ANALYST))
    assert _ok(client.get("/api/watchlists", headers=other)) == []
    _problem(client.get(f"/api/watchlists/{wid}", headers=other), 404)
    _problem(client.get(f"/api/watchlists/{wid}/entries", headers=other), 404)
    officer = bearer(db, make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR))  # reads lists, no import
    _problem(client.post("/api/watchlists", files={"file": ("w.json", WATCHLIST)}, headers=officer), 403)


def test_the_pages_and_their_forms(client: TestClient, db, seized_world):  # noqa: F811
    w = seized_world
    csrf = login(client, w["analyst"].username)
    listing = client.get("/network")
    assert listing.status_code == 200
    assert 'id="run-form"' in listing.text and 'id="risk-chart"' in listing.text and 'id="entities"' in listing.text
    entity = _seized_entity(client, bearer(db, w["analyst"]), w)
    assert f'data-id="{entity["id"]}"' in listing.text
    searched = client.get("/network", params={"q": entity["label"], "run_id": w["run_id"]})
    assert f'data-id="{entity["id"]}"' in searched.text

    page = client.get(f"/network/entities/{entity['id']}")
    assert page.status_code == 200
    assert f'href="/declarations/{w["seized_id"]}"' in page.text and "badge-seized" in page.text
    assert 'id="confirm-form"' in page.text and 'id="split-form"' in page.text
    record = f"{w['seized_id']}#2"
    refused = client.post(
        f"/network/entities/{entity['id']}/decide", data={"kind": "split", "record": record, "reason": "no"}
    )
    assert refused.status_code == 403  # no CSRF token
    decided = client.post(
        f"/network/entities/{entity['id']}/decide",
        data={"csrf_token": csrf, "kind": "split", "record": record, "reason": "another VAT number", "run_id": ""},
        follow_redirects=False,
    )
    assert decided.status_code == 303 and "decided=dec_" in decided.headers["location"]
    assert 'id="entity-decided"' in client.get(decided.headers["location"]).text
    bad = client.post(
        f"/network/entities/{entity['id']}/decide",
        data={"csrf_token": csrf, "kind": "confirm", "record": record, "reason": "same"},
    )
    assert bad.status_code == 422 and 'id="entity-error"' in bad.text

    view = client.get("/network/view", params={"node": f"entity:{entity['id']}", "hops": 1})
    assert view.status_code == 200 and 'id="network-view"' in view.text and 'data-hops="1"' in view.text
    assert "/static/vendor/cytoscape.min.js" in view.text and "<script>" not in view.text
    assert client.get("/network/view").status_code == 200  # around the riskiest entity
    communities = client.get("/network/communities")
    assert communities.status_code == 200 and 'class="view-community"' in communities.text

    ran = client.post(
        "/network/runs", data={"csrf_token": csrf, "as_of": "2025-04-10", "handling": "AMBER"}, follow_redirects=False
    )
    assert ran.status_code == 303 and ran.headers["location"].startswith("/network?run_id=net_")
    bad_run = client.post("/network/runs", data={"csrf_token": csrf, "as_of": "10/04/2025"})
    assert bad_run.status_code == 422 and 'id="network-error"' in bad_run.text

    upload = client.post(
        "/watchlists",
        data={"csrf_token": csrf, "name": "Page list"},
        files={"file": ("page.ftm.json", WATCHLIST)},
        follow_redirects=False,
    )
    assert upload.status_code == 303 and upload.headers["location"].startswith("/watchlists/wl_")
    shown = client.get(upload.headers["location"])
    assert shown.status_code == 200 and "Zuidpolder Handel B.V." in shown.text and 'data-id="t-2"' in shown.text
    assert "Page list" in client.get("/watchlists").text
