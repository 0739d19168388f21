"""Network analysis at scale: personalised PageRank and community detection, igraph versus networkx.

The data (seeded, igraph's generators), about `--edges` edges (default 1,000,000), average degree 2m (`--m`, 5):

* `--model sbm` (default): a stochastic block model with planted communities of 100 vertices, 80 % of a vertex's
  expected links inside its own — networks around seizures have groups (a front cluster and its helpers), and
  community detection is only meaningful where there are communities;
* `--model ba`: Barabási–Albert preferential attachment (power-law degrees, no community structure; Leiden and
  Louvain then keep moving vertices and are much slower).

The same edge list is loaded into networkx (loading is not timed for either library).

What is timed (median of `--repeat` runs, both libraries in the same run):

* **PageRank**: personalised from `--seeds` (default 100) random vertices, damping 0.85, undirected. igraph
  `personalized_pagerank` (PRPACK) vs `nx.pagerank(personalization=...)` (networkx's scipy sparse power iteration,
  which includes building its sparse matrix, as every call must) at the same accuracy: networkx's `tol` is per
  vertex (it stops at an L1 change below N × tol), so it gets tol = 1e-6 / N; with its default the vector is
  still 0.3 (L1) from the answer. The two vectors are compared (L1).
* **Communities**: Leiden for modularity — igraph's `community_leiden`, seeded and with 2 iterations as
  `portguard.network.graph.communities` runs it (leidenalg, measured once at 40 s on 1M edges, was 11× slower at
  the same modularity and was dropped) — vs `nx.community.louvain_communities` (seeded). networkx 3.6 has
  `leiden_communities` only as a dispatch to a backend (none installed), so Louvain is networkx's own algorithm
  and the comparison is Leiden vs Louvain: not the same algorithm, the same task (modularity communities).
  Pure-Python Louvain is slow, so networkx runs on its own graph of `--nx-edges` edges (default 200,000) and
  igraph is timed on that same graph too; nothing is extrapolated. Modularity of both partitions is printed.
* **propagate_risk** (`portguard.network.graph`): the whole risk propagation on the big graph as `Graph` records
  (100 seizures), for the cost of the module's own work around PageRank (undirected simple view, hop distances).

Run: `.venv/bin/python benchmarks/graph.py [--edges 1000000] [--nx-edges 200000] [--seeds 100] [--repeat 3]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import igraph as ig
import networkx as nx
from rich.console import Console
from rich.table import Table

from portguard.network import graph as ng

console = Console(width=150)
GOAL_RATIO = 10.0
BLOCK = 100  # vertices per planted community (SBM)
INSIDE_SHARE = 0.8  # share of a vertex's expected links inside its own community (SBM)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def generate(model: str, edges: int, m: int, seed: int) -> ig.Graph:
    """A seeded graph of about `edges` edges, average degree 2m (see the module docstring)."""
    random.seed(seed)  # igraph's generators draw from Python's random module
    n = max(edges // m, 2 * BLOCK)
    if model == "ba":
        g = ig.Graph.Barabasi(n=n, m=m, directed=False)
    else:
        blocks = n // BLOCK
        inside = 2 * m * INSIDE_SHARE / (BLOCK - 1)
        outside = 2 * m * (1 - INSIDE_SHARE) / (n - BLOCK)
        pref = [[inside if i == j else outside for j in range(blocks)] for i in range(blocks)]
        g = ig.Graph.SBM(pref_matrix=pref, block_sizes=[BLOCK] * blocks, directed=False)
    g.simplify()
    return g


def to_nx(g: ig.Graph) -> nx.Graph:
    h = nx.Graph()
    h.add_nodes_from(range(g.vcount()))
    h.add_edges_from(g.get_edgelist())
    return h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--nx-edges", type=int, default=200_000, help="graph size for networkx Louvain")
    parser.add_argument("--m", type=int, default=5)
    parser.add_argument("--model", choices=("sbm", "ba"), default="sbm")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260301)
    args = parser.parse_args()

    big = generate(args.model, args.edges, args.m, args.seed)
    big_nx = to_nx(big)
    seeds = random.Random(args.seed).sample(range(big.vcount()), args.seeds)
    reset = [0.0] * big.vcount()
    for s in seeds:
        reset[s] = 1.0
    console.print(f"graph: {args.model}, {big.vcount():,} vertices, {big.ecount():,} edges (m={args.m})")

    rows: list[tuple[str, str, float, float | None, str]] = []

    t_ig, pr_ig = timed(lambda: big.personalized_pagerank(directed=False, damping=0.85, reset=reset), args.repeat)
    personalization = dict.fromkeys(seeds, 1.0)
    # networkx stops when the L1 change is below N × tol: with its default tol (1e-6) that is 0.2 on 200,000
    # vertices, a vector far from converged; tol / N asks for the same accuracy igraph's PRPACK solver gives.
    tol = 1e-6 / big.vcount()
    t_nx, pr_nx = timed(
        lambda: nx.pagerank(big_nx, alpha=0.85, personalization=personalization, tol=tol, max_iter=1000), args.repeat
    )
    l1 = sum(abs(pr_ig[v] - pr_nx[v]) for v in range(big.vcount()))
    rows.append(("personalised PageRank", f"{big.ecount():,}", t_ig, t_nx, f"L1 difference {l1:.1e}"))

    small = generate(args.model, args.nx_edges, args.m, args.seed + 1)
    small_nx = to_nx(small)

    def leiden(g: ig.Graph) -> ig.VertexClustering:
        with ng.seeded_random(args.seed):  # as `communities` runs it
            return g.community_leiden(objective_function="modularity", n_iterations=2)

    t_big, clusters = timed(lambda: leiden(big), args.repeat)
    rows.append(("Leiden (igraph), big graph", f"{big.ecount():,}", t_big, None, f"Q={clusters.modularity:.3f}"))
    t_small, clusters_small = timed(lambda: leiden(small), args.repeat)
    t_nx, louvain = timed(lambda: nx.community.louvain_communities(small_nx, seed=args.seed), 1)
    q_nx = nx.community.modularity(small_nx, louvain)
    note = f"Q={clusters_small.modularity:.3f} vs {q_nx:.3f}; nx run once"
    rows.append(("Leiden (igraph) vs nx Louvain", f"{small.ecount():,}", t_small, t_nx, note))

    today = date(2026, 3, 1)
    seizure = set(seeds)
    nodes = [
        ng.Node(
            id=str(v),
            kind="seizure" if v in seizure else "entity",
            label=str(v),
            attrs={"date": today - timedelta(days=v % 365)} if v in seizure else {},
        )
        for v in range(big.vcount())
    ]
    graph = ng.build(
        nodes=nodes, edges=(ng.Edge(source=str(a), target=str(b), kind="owns") for a, b in big.get_edgelist())
    )
    t_risk, _ = timed(lambda: ng.propagate_risk(graph=graph, as_of=today), args.repeat)
    rows.append(("propagate_risk (module, end to end)", f"{big.ecount():,}", t_risk, None, "records already built"))

    table = Table(title=f"network analysis: igraph vs networkx (median of {args.repeat}; goal ≥ {GOAL_RATIO:.0f}×)")
    for column in ("task", "edges", "igraph s", "networkx s", "ratio", "goal", "note"):
        table.add_column(column, justify="right" if column not in ("task", "note") else "left")
    for task, edges, a, b, note in rows:
        ratio = f"{b / a:.1f}×" if b is not None else "—"
        goal = "—" if b is None else ("met" if b / a >= GOAL_RATIO else "NOT met")
        table.add_row(task, edges, f"{a:.3f}", "—" if b is None else f"{b:.3f}", ratio, goal, note)
    console.print(table)


if __name__ == "__main__":
    main()
