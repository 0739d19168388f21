"""The network for the case file: FollowTheMoney, GraphML, GEXF (Gephi) and CSV for i2 Analyst's Notebook.

Export what the reader may see — pass a `subgraph` already filtered by the access policy; nothing here filters.
Every format keeps each node's and edge's kind, handling code and owner organisation, and each edge's provenance
(source declaration, source system, date), so a printed chart still says where a link came from and how it may be
shared. Each function writes to `path` (a directory for i2, which is two files) or, without one, returns bytes.

* **FollowTheMoney** (JSON lines, one entity per line, as Aleph and OpenSanctions tools read them): nodes become
  `Company`/`Person`/`BankAccount`/`Address`/…, edges become interval entities (`Ownership`, `Directorship`,
  `Associate`, `Documentation`, else `UnknownLink` with the edge kind as `role`). FtM has no phone or e-mail-address
  schema (they are properties), so a phone or e-mail node becomes a `UserAccount` (service "telephone"/"email")
  and its value is also added as `phone`/`email` to the entities linked to it, which is how FtM tools match them.
  FtM ids must be plain `[0-9a-zA-Z.-]`, so ids are hashes of the graph ids; the graph id, kind and handling are
  kept beside the properties under the `portguard` key (FtM keeps extra keys on a round trip).
* **GraphML** (igraph's writer) and **GEXF** (networkx's, for Gephi): every attribute a string, missing ones empty,
  `attrs` as one JSON string, because both formats want one type per attribute.
* **i2 CSV**: `entities.csv` (id, type, label, …) and `links.csv` (id, from, to, type, date, source, …), the
  columns an i2 import specification maps. Cells go through `core.export.spreadsheet_safe`: a label from a
  trader's declaration beginning with `=`, `+`, `-`, `@`, tab or CR gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, overload

import networkx as nx
from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from portguard.core.export import spreadsheet_safe
from portguard.network.graph import Edge, Graph, Node

PathLike = str | os.PathLike[str]

# ---------------------------------------------------------------------------------------------------- FtM

ENTITY_SCHEMATA = {"company": "Company", "person": "Person", "organization": "Organization"}
NODE_SCHEMATA = {
    "account": "BankAccount",
    "address": "Address",
    "phone": "UserAccount",
    "email": "UserAccount",
    "container": "Asset",
    "declaration": "Document",
    "seizure": "Event",
}
# edge kind -> (schema, property of the edge's source, property of its target); a schema is used only if both ends
# fit the properties' ranges, else UnknownLink.
EDGE_SCHEMATA: dict[str, tuple[str, str, str]] = {
    "holds_account": ("Ownership", "owner", "asset"),
    "owns": ("Ownership", "owner", "asset"),
    "directs": ("Directorship", "director", "organization"),
    "associate": ("Associate", "person", "associate"),
    "party_to": ("Documentation", "entity", "document"),
    "declared_in": ("Documentation", "entity", "document"),
}
FALLBACK_EDGE = ("UnknownLink", "subject", "object")


def ftm_id(node_id: str) -> str:
    """The FtM id of a graph node: a hash, since FtM ids may not contain the `:` or `/` graph ids often have."""
    return make_entity_id("portguard", node_id) or ""


def _node_schema(node: Node) -> str:
    if node.kind == "entity":
        return ENTITY_SCHEMATA.get(str(node.attrs.get("entity_type", "company")).lower(), "LegalEntity")
    return NODE_SCHEMATA[node.kind]


def _meta(record: Node | Edge, **extra: Any) -> dict[str, Any]:
    return {"kind": record.kind, "handling": record.handling, "owner_org_id": record.owner_org_id, **extra}


def _node_proxy(node: Node) -> EntityProxy:
    proxy = model.make_entity(_node_schema(node))
    proxy.id = ftm_id(node.id)
    proxy.context["portguard"] = _meta(node, id=node.id)
    if node.kind == "account":
        proxy.add("iban", node.label, quiet=True)
        proxy.add("accountNumber", node.label)
        proxy.add("name", node.label)
    elif node.kind == "address":
        proxy.add("full", node.label)
    elif node.kind in ("phone", "email"):
        proxy.add("username", node.label)
        proxy.add("service", "telephone" if node.kind == "phone" else "email")
        proxy.add(node.kind, node.label, quiet=True)
    elif node.kind == "declaration":
        proxy.add("title", node.label)
    else:
        proxy.add("name", node.label)
    if node.kind == "seizure" and node.attrs.get("date"):
        proxy.add("date", str(node.attrs["date"])[:10], quiet=True)
    if node.attrs.get("country"):
        proxy.add("country", node.attrs["country"], quiet=True)
    return proxy


def ftm_entities(*, graph: Graph) -> Iterator[EntityProxy]:
    """Every node, then every edge, as FtM entity proxies (see the module docstring for the mapping)."""
    proxies = [_node_proxy(n) for n in graph.nodes]
    for e in graph.edges:  # a shared phone or e-mail is an FtM property of the entities that use it
        dst = graph.node(e.target)
        if e.kind in ("uses_phone", "uses_email") and dst.kind in ("phone", "email"):
            proxies[graph.index[e.source]].add(dst.kind, dst.label, quiet=True)
    yield from proxies
    for j, e in enumerate(graph.edges):
        schema_name, src_prop, dst_prop = EDGE_SCHEMATA.get(e.kind, FALLBACK_EDGE)
        src_proxy, dst_proxy = proxies[graph.index[e.source]], proxies[graph.index[e.target]]
        schema = model.get(schema_name)
        if schema is None or not all(
            p.schema.is_a(schema.get(name).range)  # type: ignore[union-attr,arg-type]
            for p, name in ((src_proxy, src_prop), (dst_proxy, dst_prop))
        ):
            schema_name, src_prop, dst_prop = FALLBACK_EDGE
        link = model.make_entity(schema_name)
        link.id = make_entity_id("portguard-edge", e.source, e.target, e.kind, str(j))
        link.context["portguard"] = _meta(
            e,
            source=e.source,
            target=e.target,
            source_declaration_id=e.source_declaration_id,
            source_system=e.source_system,
        )
        link.add(src_prop, src_proxy.id)
        link.add(dst_prop, dst_proxy.id)
        link.add("role", e.attrs.get("role") or e.kind)
        if e.source_declaration_id:
            link.add("recordId", e.source_declaration_id)
        if e.source_system:
            link.add("publisher", e.source_system)
        if e.date:
            link.add("date", e.date.isoformat(), quiet=True)
        yield link


@overload
def to_ftm(*, graph: Graph, path: None = None) -> bytes: ...
@overload
def to_ftm(*, graph: Graph, path: PathLike) -> None: ...
def to_ftm(*, graph: Graph, path: PathLike | None = None) -> bytes | None:
    """FtM JSON lines (UTF-8, one entity per line), to `path` or as bytes."""
    data = b"".join(
        json.dumps(p.to_dict(), ensure_ascii=False, sort_keys=True).encode() + b"\n" for p in ftm_entities(graph=graph)
    )
    return _out(data, path)


# ---------------------------------------------------------------------------------------------------- GraphML, GEXF

NODE_COLUMNS = ("kind", "label", "owner_org_id", "handling")
EDGE_COLUMNS = ("kind", "source_declaration_id", "source_system", "owner_org_id", "handling", "date")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _attrs_json(record: Node | Edge) -> str:
    return json.dumps(dict(record.attrs), default=_text, ensure_ascii=False, sort_keys=True)


def _node_row(node: Node) -> dict[str, str]:
    return {**{c: _text(getattr(node, c)) for c in NODE_COLUMNS}, "attrs": _attrs_json(node)}


def _edge_row(edge: Edge) -> dict[str, str]:
    return {**{c: _text(getattr(edge, c)) for c in EDGE_COLUMNS}, "attrs": _attrs_json(edge)}


@overload
def to_graphml(*, graph: Graph, path: None = None) -> bytes: ...
@overload
def to_graphml(*, graph: Graph, path: PathLike) -> None: ...
def to_graphml(*, graph: Graph, path: PathLike | None = None) -> bytes | None:
    """GraphML by igraph's writer: vertex `name` is the graph id; every other attribute a string."""
    g = graph.ig.copy()
    for key in list(g.es.attributes()):
        del g.es[key]
    g.vs["name"] = [n.id for n in graph.nodes]
    node_rows = [_node_row(n) for n in graph.nodes]  # each row once, not once per column
    edge_rows = [_edge_row(e) for e in graph.edges]
    for column in (*NODE_COLUMNS, "attrs"):
        g.vs[column] = [row[column] for row in node_rows]
    for column in (*EDGE_COLUMNS, "attrs"):
        g.es[column] = [row[column] for row in edge_rows]
    if path is not None:
        g.write_graphml(os.fspath(path))
        return None
    with tempfile.TemporaryDirectory() as tmp:  # igraph writes through a C file handle, not a Python stream
        target = Path(tmp) / "graph.graphml"
        g.write_graphml(str(target))
        return target.read_bytes()


def to_networkx(*, graph: Graph) -> nx.MultiDiGraph:
    """A networkx multigraph with string attributes (kept in order: edge key j is `edges[j]`'s position)."""
    g = nx.MultiDiGraph()
    for n in graph.nodes:
        g.add_node(n.id, **_node_row(n))
    for j, e in enumerate(graph.edges):
        g.add_edge(e.source, e.target, key=j, **_edge_row(e))
    return g


@overload
def to_gexf(*, graph: Graph, path: None = None) -> bytes: ...
@overload
def to_gexf(*, graph: Graph, path: PathLike) -> None: ...
def to_gexf(*, graph: Graph, path: PathLike | None = None) -> bytes | None:
    """GEXF 1.2 for Gephi, through networkx: node `label` is the label, attributes as in GraphML."""
    buffer = io.BytesIO()
    nx.write_gexf(to_networkx(graph=graph), buffer)
    return _out(buffer.getvalue(), path)


# ---------------------------------------------------------------------------------------------------- i2 CSV

I2_ENTITY_TYPES = {
    "account": "Bank Account",
    "phone": "Telephone",
    "address": "Address",
    "email": "Email Address",
    "container": "Container",
    "declaration": "Customs Declaration",
    "seizure": "Seizure",
}
I2_ENTITY_HEADER = ("id", "type", "label", "kind", "owner_org_id", "handling", "date", "country")
I2_LINK_HEADER = (
    "id",
    "from",
    "to",
    "type",
    "date",
    "source",
    "source_reference",
    "role",
    "owner_org_id",
    "handling",
)


def _i2_type(node: Node) -> str:
    if node.kind == "entity":
        return "Person" if str(node.attrs.get("entity_type", "")).lower() == "person" else "Organisation"
    return I2_ENTITY_TYPES.get(node.kind, node.kind)


def _csv(header: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(_text(v)) for v in row])
    return buffer.getvalue().encode()


def i2_csv(*, graph: Graph) -> tuple[bytes, bytes]:
    """(entities.csv, links.csv) as bytes: UTF-8, CRLF, every cell spreadsheet-safe.

    A link's `source` is the system that stated it and `source_reference` the declaration it was read from — the
    i2 card's source type and reference; its `id` is `e<position>` so a re-import updates rather than duplicates."""
    entities = _csv(
        I2_ENTITY_HEADER,
        (
            (
                n.id,
                _i2_type(n),
                n.label,
                n.kind,
                n.owner_org_id,
                n.handling,
                n.attrs.get("date"),
                n.attrs.get("country"),
            )
            for n in graph.nodes
        ),
    )
    links = _csv(
        I2_LINK_HEADER,
        (
            (
                f"e{j}",
                e.source,
                e.target,
                e.kind,
                e.date,
                e.source_system,
                e.source_declaration_id,
                e.attrs.get("role"),
                e.owner_org_id,
                e.handling,
            )
            for j, e in enumerate(graph.edges)
        ),
    )
    return entities, links


def write_i2_csv(*, graph: Graph, directory: PathLike) -> tuple[Path, Path]:
    """`entities.csv` and `links.csv` in `directory` (created if missing); returns their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    entities, links = i2_csv(graph=graph)
    (folder / "entities.csv").write_bytes(entities)
    (folder / "links.csv").write_bytes(links)
    return folder / "entities.csv", folder / "links.csv"


def _out(data: bytes, path: PathLike | None) -> bytes | None:
    if path is None:
        return data
    Path(path).write_bytes(data)
    return None
