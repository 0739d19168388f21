"""The graph around seizures: typed nodes and edges on python-igraph, and the analyses an analyst runs on it.

Nodes are what links people to consignments — entities (companies, persons), bank accounts, phones, addresses,
e-mail addresses, containers, declarations and seizures — and every edge says where it came from (the declaration
it was read from, the system, the owner organisation). Nodes and edges carry a TLP 2.0 handling code like every
other record, because a graph is assembled from records of several organisations and a reader may see only part of
it: `subgraph` drops what a predicate (the caller's access policy) says the reader may not see, and every analysis
runs on what is left, so a score never leaks the shape of a hidden part.

The graph is kept as records (`Node`, `Edge`) beside an igraph `Graph` whose vertex *i* is `nodes[i]` and whose
edge *j* is `edges[j]`: the records keep the exact values for exports, igraph does the arithmetic in C. Edges are
directed as stated (a party *is party to* a declaration), but the analyses use the undirected simple view: a link
is evidence in both directions, and two records of the same link must not count twice.

This module needs no database: the service layer turns stored rows into records, applies the access policy and
hands the records here.
"""

from __future__ import annotations

import math
import random
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import igraph as ig

from portguard.core.policy import Handling

NODE_KINDS = frozenset({"entity", "account", "phone", "address", "email", "container", "declaration", "seizure"})
"""What a node may be. An `entity` is a company or a person (`attrs["entity_type"]`: "company" or "person")."""

EDGE_KINDS = frozenset(
    {
        "party_to",  # entity -> declaration (attrs["role"]: consignor, consignee, notify, declarant, ...)
        "uses_phone",  # entity -> phone
        "uses_email",  # entity -> email
        "at_address",  # entity -> address
        "holds_account",  # entity -> account
        "directs",  # person -> company
        "owns",  # entity -> entity
        "associate",  # person -> person
        "declared_in",  # container -> declaration
        "carried",  # declaration -> container (as a carrier's manifest states it)
        "seized_in",  # seizure -> declaration (or -> container)
    }
)
"""The edge kinds the exports know how to map; other kinds are accepted and exported as generic links."""

HANDLING_CODES = frozenset(h.value for h in Handling)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One vertex. `attrs` holds what is kind-specific (a seizure's `date`, an entity's `entity_type`, a country)."""

    id: str
    kind: str
    label: str
    owner_org_id: str | None = None
    handling: str = Handling.AMBER.value
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One link, with its provenance: which declaration and system stated it, and which organisation owns it."""

    source: str
    target: str
    kind: str
    source_declaration_id: str | None = None
    source_system: str | None = None
    owner_org_id: str | None = None
    handling: str = Handling.AMBER.value
    date: date | None = None
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


Record = Node | Edge


@dataclass(frozen=True, slots=True)
class Graph:
    """Records plus their igraph twin. Build with `build`; vertex i is `nodes[i]`, edge j is `edges[j]`."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    ig: ig.Graph
    index: Mapping[str, int]

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if the graph has none)."""
        return self.nodes[self.index[node_id]]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.index


def build(*, nodes: Iterable[Node], edges: Iterable[Edge]) -> Graph:
    """A graph from records. Refuses what would make analyses silently wrong: an unknown node kind or handling
    code, a duplicate node id, an edge to a node that is not there (hide it with `subgraph` instead)."""
    node_list = tuple(nodes)
    index: dict[str, int] = {}
    for i, n in enumerate(node_list):
        if n.kind not in NODE_KINDS:
            raise ValueError(f"node {n.id!r}: unknown kind {n.kind!r} (one of {sorted(NODE_KINDS)})")
        if n.handling not in HANDLING_CODES:
            raise ValueError(f"node {n.id!r}: unknown handling code {n.handling!r}")
        if n.id in index:
            raise ValueError(f"duplicate node id {n.id!r}")
        index[n.id] = i
    edge_list = tuple(edges)
    pairs: list[tuple[int, int]] = []
    for e in edge_list:
        if e.handling not in HANDLING_CODES:
            raise ValueError(f"edge {e.source!r}->{e.target!r}: unknown handling code {e.handling!r}")
        try:
            pairs.append((index[e.source], index[e.target]))
        except KeyError as missing:
            raise ValueError(f"edge {e.source!r}->{e.target!r} ({e.kind}): no node {missing.args[0]!r}") from None
    g = ig.Graph(n=len(node_list), edges=pairs, directed=True)
    g.vs["name"] = [n.id for n in node_list]
    g.vs["kind"] = [n.kind for n in node_list]
    g.es["kind"] = [e.kind for e in edge_list]
    return Graph(nodes=node_list, edges=edge_list, ig=g, index=MappingProxyType(index))


def subgraph(*, graph: Graph, visible: Callable[[Record], bool]) -> Graph:
    """What a reader may see: the nodes `visible` accepts, and the edges it accepts whose two ends are kept.

    The access policy is the caller's (`visible` is typically `lambda r: policy.can(user, "read", r).allowed` on the
    stored rows): this module does not know users. An edge to a hidden node goes too, even if the edge itself is
    visible, since it would reveal that the hidden node exists."""
    kept = [n for n in graph.nodes if visible(n)]
    ids = {n.id for n in kept}
    return build(nodes=kept, edges=(e for e in graph.edges if e.source in ids and e.target in ids and visible(e)))


def neighbourhood(*, graph: Graph, node_id: str, hops: int) -> Graph:
    """The nodes within `hops` links of `node_id` (either direction) and every edge among them: the view an
    analyst opens around a seizure or a suspect."""
    if hops < 0:
        raise ValueError("hops must be >= 0")
    near = graph.ig.neighborhood(graph.index[node_id], order=hops, mode="all")
    ids = {graph.nodes[i].id for i in near}
    return subgraph(graph=graph, visible=lambda r: r.id in ids if isinstance(r, Node) else True)


def undirected_simple(graph: Graph) -> ig.Graph:
    """The view the analyses use: undirected, without loops or repeated links (two declarations stating the same
    phone for a company are one link, not two)."""
    g = graph.ig.as_undirected(mode="collapse")
    g.simplify(multiple=True, loops=True)
    return g


# ---------------------------------------------------------------------------------------------------- risk


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def seizure_ages(*, graph: Graph, as_of: date) -> dict[int, int]:
    """Vertex index -> age in days of each seizure known on `as_of`.

    A seizure dated after `as_of` is left out (it was not known then: a backtest must not see it); an undated one
    counts as fresh (age 0), because dropping it would hide a known seizure."""
    ages: dict[int, int] = {}
    for i, n in enumerate(graph.nodes):
        if n.kind != "seizure":
            continue
        seized = _as_date(n.attrs.get("date"))
        age = 0 if seized is None else (as_of - seized).days
        if age >= 0:
            ages[i] = age
    return ages


def seizure_weights(*, graph: Graph, as_of: date, half_life_days: float) -> dict[int, float]:
    """Vertex index -> weight 2^(-age / half-life) of each seizure known on `as_of` (see `seizure_ages`)."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    return {i: 2.0 ** (-age / half_life_days) for i, age in seizure_ages(graph=graph, as_of=as_of).items()}


def propagate_risk(
    *,
    graph: Graph,
    as_of: date,
    half_life_days: float = 180.0,
    damping: float = 0.85,
    hop_decay: float = 0.5,
) -> dict[str, float]:
    """Node id -> risk in [0, 1] spread from seizures over the links: how close a node sits to recent seizures.

    Formula, on the undirected simple view:

        w_s      = 2^(-age_s / half_life_days)      for each seizure s dated on or before `as_of`
        p        = personalised PageRank with damping d and reset vector w / sum(w)
        h(v)     = fewest links from v to any such seizure (infinite if none)
        raw(v)   = p(v) * hop_decay^h(v)
        risk(v)  = raw(v) / max_u raw(u)             (0 everywhere when there is no seizure)

    Why both: PageRank lets many short paths to several seizures add up (a company on three seized consignments
    outranks one on one), and ages weigh them through the reset vector; but PageRank mass also pools in hubs (a
    big forwarder, a busy terminal address), so the hop decay keeps the score local to the seizure. A node with no
    path to a seizure gets exactly 0. The scale is relative to this graph (1 = its riskiest node), not a
    probability: compare nodes within one run, not across runs.
    """
    if not 0 < damping < 1:
        raise ValueError("damping must be in (0, 1)")
    if not 0 < hop_decay <= 1:
        raise ValueError("hop_decay must be in (0, 1]")
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    ages = seizure_ages(graph=graph, as_of=as_of)
    ids = [nd.id for nd in graph.nodes]
    if not ages:
        return dict.fromkeys(ids, 0.0)
    g = undirected_simple(graph)
    # weights relative to the freshest seizure: the same reset vector once normalised, without 2^-age underflowing
    # to 0 for every seizure when all are old
    freshest = min(ages.values())
    reset = [0.0] * len(ids)
    for i, age in ages.items():
        reset[i] = 2.0 ** (-(age - freshest) / half_life_days)
    pr = g.personalized_pagerank(directed=False, damping=damping, reset=reset)
    hops = hop_distances(g, sources=list(ages))
    raw = [p * hop_decay**h if math.isfinite(h) else 0.0 for p, h in zip(pr, hops, strict=True)]
    top = max(raw)
    if top <= 0:
        return dict.fromkeys(ids, 0.0)
    return {node_id: min(1.0, max(0.0, r / top)) for node_id, r in zip(ids, raw, strict=True)}


def hop_distances(g: ig.Graph, *, sources: Collection[int]) -> list[float]:
    """Fewest links from any of `sources` to each vertex (inf when unreachable): one breadth-first search from a
    virtual vertex joined to every source, rather than one search per source."""
    n = g.vcount()
    if not sources:
        return [math.inf] * n
    h = g.copy()
    h.add_vertices(1)
    h.add_edges([(n, s) for s in sources])
    dist = h.distances(source=[n], mode="all")[0]
    return [d - 1 for d in dist[:n]]


# ---------------------------------------------------------------------------------------------------- communities


def entity_projection(*, graph: Graph, max_shared: int = 50) -> ig.Graph:
    """The entities-only graph: two entities linked when they share an identifier (phone, address, account,
    e-mail, declaration, ...) or are linked directly (owns, directs, associate).

    A shared identifier with k holders adds 1/(k-1) to each pair among them (Newman's weighting for
    collaboration networks), so two companies alone on a phone are bound tightly and a hundred tenants of a
    business-centre address loosely; an identifier with more than `max_shared` holders (a terminal's address, a
    forwarder's switchboard) adds nothing, which also keeps the projection from growing quadratically. Vertex i of
    the projection is the i-th entity in `graph.nodes` order; its `node` attribute is the index in `graph`."""
    g = undirected_simple(graph)
    entity = [n.kind == "entity" for n in graph.nodes]
    order = [i for i, is_entity in enumerate(entity) if is_entity]
    position = {v: k for k, v in enumerate(order)}
    pairs: list[tuple[int, int]] = []
    weights: list[float] = []
    for v, neighbours in enumerate(g.get_adjlist()):
        if entity[v]:
            pairs += [(position[v], position[u]) for u in neighbours if entity[u] and u > v]
            weights += [1.0] * (len(pairs) - len(weights))
            continue
        holders = [position[u] for u in neighbours if entity[u]]
        k = len(holders)
        if 2 <= k <= max_shared:
            pairs += [(a, b) for x, a in enumerate(holders) for b in holders[x + 1 :]]
            weights += [1.0 / (k - 1)] * (k * (k - 1) // 2)
    p = ig.Graph(n=len(order), edges=pairs, directed=False)
    p.vs["node"] = order
    p.es["weight"] = weights
    p.simplify(multiple=True, loops=True, combine_edges="sum")
    return p


@contextmanager
def seeded_random(seed: int) -> Iterator[None]:
    """igraph's random numbers from `random.Random(seed)` for the duration (process-wide: not thread-safe)."""
    ig.set_random_number_generator(random.Random(seed))  # noqa: S311 - repeatable, not a secret
    try:
        yield
    finally:
        ig.set_random_number_generator(random)


def communities(
    *,
    graph: Graph,
    objective: str = "modularity",
    resolution: float = 1.0,
    seed: int = 42,
    max_shared: int = 50,
    iterations: int = 2,
) -> dict[str, int]:
    """Node id -> community number: groups of entities bound by shared identifiers, found by Leiden (igraph's own
    implementation: on a 1M-edge graph about ten times faster than leidenalg's, at the same modularity).

    Leiden runs on `entity_projection`, not on the graph itself: the graph is nearly bipartite (entities on one
    side, phones, addresses and declarations on the other), and modularity on it pairs each company with its own
    identifiers, splitting exactly the companies that share them. Every other node then joins the community most
    of its neighbours are in (ties: the lowest number), layer by layer outwards, so a shared phone lands with the
    companies that use it and a seizure with its declaration's parties; a part of the graph with no entity at all
    is a community of its own.

    `objective` "modularity" finds the partition that best beats chance, with no scale to choose; "cpm" (constant
    Potts model, density threshold `resolution`) avoids modularity's resolution limit, which merges small dense
    groups — front companies — into their neighbours on large graphs. The seed makes the result repeatable, which
    a case file needs. `iterations` is Leiden's (2 is usually stable; a negative number runs until nothing moves,
    which can take long on graphs without clear groups). Communities are numbered from 0, largest first."""
    p = entity_projection(graph=graph, max_shared=max_shared)
    if objective not in ("modularity", "cpm"):
        raise ValueError(f"unknown objective {objective!r}: 'modularity' or 'cpm'")
    with seeded_random(seed):  # igraph draws from Python's random module: a seeded generator makes runs repeatable
        part = p.community_leiden(
            objective_function=objective,
            weights="weight",
            resolution=resolution,
            n_iterations=iterations,
        )
    n = len(graph.nodes)
    unset = -1
    label = [unset] * n
    for v, c in zip(p.vs["node"], part.membership, strict=True):
        label[v] = c
    adjacency = undirected_simple(graph).get_adjlist()
    changed = True
    while changed:  # one layer outwards per pass, from the labels of the previous pass only
        changed = False
        snapshot = list(label)
        for v in range(n):
            if snapshot[v] != unset:
                continue
            counts = Counter(snapshot[u] for u in adjacency[v] if snapshot[u] != unset)
            if counts:
                label[v] = min(counts, key=lambda c: (-counts[c], c))
                changed = True
    fresh = max(label, default=unset) + 1
    for v in range(n):  # parts of the graph without any entity
        if label[v] == unset:
            for u in _component(adjacency, v):
                label[u] = fresh
            fresh += 1
    sizes = Counter(label)
    rank = {c: r for r, c in enumerate(sorted(sizes, key=lambda c: (-sizes[c], c)))}
    return {graph.nodes[v].id: rank[label[v]] for v in range(n)}


def _component(adjacency: list[list[int]], start: int) -> list[int]:
    seen, stack = {start}, [start]
    while stack:
        for u in adjacency[stack.pop()]:
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return sorted(seen)


# ---------------------------------------------------------------------------------------------------- centrality


@dataclass(frozen=True, slots=True)
class Centrality:
    """Degree (distinct neighbours) and betweenness (normalised to [0, 1]; `exact` False when estimated)."""

    degree: Mapping[str, int]
    betweenness: Mapping[str, float]
    exact: bool


def centrality(*, graph: Graph, exact_up_to: int = 5000, samples: int = 500, seed: int = 42) -> Centrality:
    """Degree and betweenness on the undirected simple view: who connects otherwise separate parts (a broker).

    Exact betweenness costs O(V·E), fine up to `exact_up_to` vertices. Above, it is estimated from `samples`
    source vertices chosen with `seed` (Brandes–Pich sampling: shortest paths from those sources only, scaled by
    V / samples), which keeps the ranking of the main brokers at a fraction of the cost. Normalised by
    (V-1)(V-2)/2, the number of pairs a vertex could sit between."""
    g = undirected_simple(graph)
    n = g.vcount()
    ids = [nd.id for nd in graph.nodes]
    degree = dict(zip(ids, g.degree(), strict=True))
    if n <= exact_up_to or samples >= n:
        raw, exact = g.betweenness(directed=False), True
    else:
        sources = random.Random(seed).sample(range(n), samples)  # noqa: S311 - a repeatable sample, not a secret
        raw = [b * n / samples for b in g.betweenness(directed=False, sources=sources)]
        exact = False
    pairs = (n - 1) * (n - 2) / 2
    betweenness = {i: (b / pairs if pairs > 0 else 0.0) for i, b in zip(ids, raw, strict=True)}
    return Centrality(degree=MappingProxyType(degree), betweenness=MappingProxyType(betweenness), exact=exact)


# ---------------------------------------------------------------------------------------------------- paths


@dataclass(frozen=True, slots=True)
class Path:
    """A path: node ids from source to target and the kind of each edge between consecutive nodes."""

    node_ids: tuple[str, ...]
    edge_kinds: tuple[str, ...]


def shortest_path(*, graph: Graph, source: str, target: str, avoid_hubs: bool = True) -> Path | None:
    """How two entities are linked: the shortest path between them (either direction), or None if they are not.

    With `avoid_hubs` each link costs 1 + (ln deg(u) + ln deg(v)) / 2, so among paths of similar length the one
    through specific identifiers wins: a phone two companies share says more than a business-centre address a
    hundred companies share, or a declaration with many parties. A much longer path is still dearer than a short
    one through a hub of modest degree. Without it, the fewest links (ties broken by igraph's search order)."""
    s, t = graph.index[source], graph.index[target]
    g = graph.ig
    weights = None
    if avoid_hubs:
        deg = undirected_simple(graph).degree()
        weights = [1.0 + (math.log(max(deg[e.source], 1)) + math.log(max(deg[e.target], 1))) / 2 for e in g.es]
    with warnings.catch_warnings():  # igraph warns when the target is unreachable; None says so
        warnings.simplefilter("ignore", RuntimeWarning)
        epath = g.get_shortest_path(s, to=t, weights=weights, mode="all", output="epath")
    if not epath:
        return Path(node_ids=(source,), edge_kinds=()) if s == t else None
    node_ids = [source]
    current = s
    for eid in epath:
        a, b = g.es[eid].tuple
        current = b if a == current else a
        node_ids.append(graph.nodes[current].id)
    return Path(node_ids=tuple(node_ids), edge_kinds=tuple(graph.edges[eid].kind for eid in epath))
