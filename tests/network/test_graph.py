"""The network graph around a seizure: risk propagation, access filtering, communities, centrality and paths.

The scene (`scene()`), as an analyst would draw it: seizure S (10 days old) on declaration D1, whose parties are
the front companies A and B. A and B share a phone P and a street address X; X is also the registered address of
two other tenants T1 and T2 (a business centre). A is also consignor on declaration D2, consigned to C: C sits two
links beyond the seized declaration's parties. U is an unrelated company on its own declaration D3. B's bank
account is RED (police intelligence).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.network import graph as ng
from portguard.network.graph import Edge, Node

TODAY = date(2026, 3, 1)


def scene(*, seizure_age_days: int = 10) -> ng.Graph:
    """The small graph of the module docstring."""
    company = {"entity_type": "company"}
    nodes = [
        Node(
            id="S",
            kind="seizure",
            label="Seizure 2026-02 cocaine",
            owner_org_id="nl-customs",
            handling="AMBER",
            attrs={"date": (TODAY - timedelta(days=seizure_age_days)).isoformat()},
        ),
        Node(id="D1", kind="declaration", label="MRN 26NL0001", owner_org_id="nl-customs"),
        Node(id="D2", kind="declaration", label="MRN 26NL0002", owner_org_id="nl-customs"),
        Node(id="D3", kind="declaration", label="MRN 26NL0003", owner_org_id="be-customs"),
        Node(id="A", kind="entity", label="Alfa Fruit BV", owner_org_id="nl-customs", attrs=company),
        Node(id="B", kind="entity", label="Beta Trading BV", owner_org_id="nl-customs", attrs=company),
        Node(id="C", kind="entity", label="Charlie Imports", owner_org_id="nl-customs", attrs=company),
        Node(id="U", kind="entity", label="Uniform Foods", owner_org_id="be-customs", attrs=company),
        Node(id="T1", kind="entity", label="Tenant One", owner_org_id="nl-customs", attrs=company),
        Node(id="T2", kind="entity", label="Tenant Two", owner_org_id="nl-customs", attrs=company),
        Node(id="P", kind="phone", label="+31 10 123 4567", owner_org_id="nl-customs"),
        Node(id="X", kind="address", label="Kade 1, Rotterdam", owner_org_id="nl-customs"),
        Node(id="K", kind="container", label="MSCU1234565", owner_org_id="nl-customs"),
        Node(id="IBAN", kind="account", label="NL91ABNA0417164300", owner_org_id="nl-police", handling="RED"),
    ]

    def e(source: str, target: str, kind: str, **kw: object) -> Edge:
        fields = {"source_declaration_id": "D1", "source_system": "ICS2", "owner_org_id": "nl-customs", **kw}
        return Edge(source=source, target=target, kind=kind, **fields)  # type: ignore[arg-type]

    edges = [
        e("S", "D1", "seized_in"),
        e("A", "D1", "party_to", attrs={"role": "consignor"}),
        e("B", "D1", "party_to", attrs={"role": "notify"}),
        e("K", "D1", "declared_in"),
        e("A", "P", "uses_phone"),
        e("B", "P", "uses_phone"),
        e("A", "X", "at_address"),
        e("B", "X", "at_address"),
        e("T1", "X", "at_address"),
        e("T2", "X", "at_address"),
        e("A", "D2", "party_to", attrs={"role": "consignor"}),
        e("C", "D2", "party_to", attrs={"role": "consignee"}),
        e("U", "D3", "party_to", attrs={"role": "consignee"}),
        e("B", "IBAN", "holds_account", handling="RED", owner_org_id="nl-police", source_system="police-intel"),
    ]
    return ng.build(nodes=nodes, edges=edges)


def test_build_refuses_dangling_edges_and_unknown_codes() -> None:
    """An edge to a missing node or an unknown handling code would silently distort every analysis."""
    a = Node(id="a", kind="entity", label="a")
    with pytest.raises(ValueError, match="no node 'b'"):
        ng.build(nodes=[a], edges=[Edge(source="a", target="b", kind="owns")])
    with pytest.raises(ValueError, match="handling"):
        ng.build(nodes=[Node(id="a", kind="entity", label="a", handling="PURPLE")], edges=[])
    with pytest.raises(ValueError, match="duplicate"):
        ng.build(nodes=[a, a], edges=[])
    with pytest.raises(ValueError, match="kind"):
        ng.build(nodes=[Node(id="a", kind="vessel", label="a")], edges=[])


def test_risk_ranks_parties_then_two_hop_consignee_then_unrelated() -> None:
    risk = ng.propagate_risk(graph=scene(), as_of=TODAY)
    assert max(risk.values()) == pytest.approx(1.0)
    assert min(risk["A"], risk["B"]) > risk["C"] > risk["U"]
    assert risk["U"] == 0.0 and risk["D3"] == 0.0
    assert all(0.0 <= r <= 1.0 for r in risk.values())


def test_older_seizures_count_less() -> None:
    """Two identical stars, one seizure fresh and one old: the fresh one's party scores higher."""
    nodes, edges = [], []
    for tag, age in (("new", 5), ("old", 400)):
        nodes += [
            Node(id=f"s-{tag}", kind="seizure", label=tag, attrs={"date": TODAY - timedelta(days=age)}),
            Node(id=f"d-{tag}", kind="declaration", label=tag),
            Node(id=f"c-{tag}", kind="entity", label=tag),
        ]
        edges += [
            Edge(source=f"s-{tag}", target=f"d-{tag}", kind="seized_in"),
            Edge(source=f"c-{tag}", target=f"d-{tag}", kind="party_to"),
        ]
    g = ng.build(nodes=nodes, edges=edges)
    risk = ng.propagate_risk(graph=g, as_of=TODAY, half_life_days=180)
    assert risk["c-new"] > risk["c-old"] > 0
    weights = ng.seizure_weights(graph=g, as_of=TODAY, half_life_days=180)
    assert weights[g.index["s-old"]] == pytest.approx(2 ** (-400 / 180))


def test_seizures_after_as_of_are_not_known_yet() -> None:
    """A backtest as of a date must not use a seizure made later."""
    risk = ng.propagate_risk(graph=scene(), as_of=TODAY - timedelta(days=30))
    assert set(risk.values()) == {0.0}


def test_subgraph_hiding_red_drops_nodes_and_their_edges() -> None:
    g = scene()
    visible = ng.subgraph(graph=g, visible=lambda r: r.handling != "RED")
    assert "IBAN" not in visible and "B" in visible
    assert all(e.kind != "holds_account" for e in visible.edges)
    assert len(visible.edges) == len(g.edges) - 1
    assert visible.ig.vcount() == len(visible.nodes) == len(g.nodes) - 1
    # an edge is dropped with its hidden end even when the edge itself is visible
    no_phone = ng.subgraph(graph=g, visible=lambda r: not (isinstance(r, Node) and r.kind == "phone"))
    assert all(e.target != "P" for e in no_phone.edges)


def test_neighbourhood() -> None:
    near = ng.neighbourhood(graph=scene(), node_id="S", hops=2)
    assert {n.id for n in near.nodes} == {"S", "D1", "A", "B", "K"}
    assert {(e.source, e.target) for e in near.edges} == {("S", "D1"), ("A", "D1"), ("B", "D1"), ("K", "D1")}


def test_leiden_puts_the_front_cluster_together_and_is_repeatable() -> None:
    g = scene()
    membership = ng.communities(graph=g, seed=7)
    assert membership["A"] == membership["B"] == membership["P"]
    assert membership["T1"] != membership["A"]  # the business centre's other tenants are not the front cluster
    assert membership["U"] != membership["A"]
    assert ng.communities(graph=g, seed=7) == membership
    cpm = ng.communities(graph=g, objective="cpm", resolution=0.05, seed=7)
    assert cpm["A"] == cpm["B"] != cpm["U"]


def test_centrality_finds_the_broker() -> None:
    c = ng.centrality(graph=scene())
    assert c.exact
    assert c.degree["X"] == 4 and c.degree["P"] == 2
    assert max(c.betweenness, key=c.betweenness.__getitem__) == "A"  # A links D2/C to the seized cluster
    assert c.betweenness["U"] == 0.0
    sampled = ng.centrality(graph=scene(), exact_up_to=3, samples=5, seed=1)
    assert not sampled.exact and all(b >= 0 for b in sampled.betweenness.values())


def test_shortest_path_goes_through_the_shared_phone() -> None:
    g = scene()
    path = ng.shortest_path(graph=g, source="C", target="B")
    assert path is not None
    assert path.node_ids == ("C", "D2", "A", "P", "B")
    assert path.edge_kinds == ("party_to", "party_to", "uses_phone", "uses_phone")
    plain = ng.shortest_path(graph=g, source="C", target="B", avoid_hubs=False)
    assert plain is not None and len(plain.node_ids) == 5
    assert ng.shortest_path(graph=g, source="C", target="U") is None
    assert ng.shortest_path(graph=g, source="C", target="C") == ng.Path(node_ids=("C",), edge_kinds=())


@st.composite
def random_graphs(draw: st.DrawFn) -> ng.Graph:
    n = draw(st.integers(min_value=1, max_value=14))
    kinds = draw(st.lists(st.sampled_from(sorted(ng.NODE_KINDS)), min_size=n, max_size=n))
    ages = draw(st.lists(st.integers(min_value=-30, max_value=2000), min_size=n, max_size=n))
    nodes = [
        Node(id=f"n{i}", kind=k, label=f"n{i}", attrs={"date": TODAY - timedelta(days=a)} if k == "seizure" else {})
        for i, (k, a) in enumerate(zip(kinds, ages, strict=True))
    ]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    return ng.build(nodes=nodes, edges=[Edge(source=f"n{a}", target=f"n{b}", kind="party_to") for a, b in pairs])


@settings(max_examples=150, deadline=None)
@given(random_graphs(), st.floats(min_value=1, max_value=1000), st.floats(min_value=0.05, max_value=1.0))
def test_risk_is_in_unit_interval_and_zero_when_unreachable(g: ng.Graph, half_life: float, hop_decay: float) -> None:
    risk = ng.propagate_risk(graph=g, as_of=TODAY, half_life_days=half_life, hop_decay=hop_decay)
    assert set(risk) == {n.id for n in g.nodes}
    assert all(0.0 <= r <= 1.0 for r in risk.values())
    seeds = list(ng.seizure_ages(graph=g, as_of=TODAY))
    hops = ng.hop_distances(ng.undirected_simple(g), sources=seeds)
    for node, h in zip(g.nodes, hops, strict=True):
        if h == float("inf"):
            assert risk[node.id] == 0.0
    if seeds:
        assert max(risk.values()) == pytest.approx(1.0)
