"""The network in the store: resolve the parties a user may read into entities, map them around seizures, keep the
outcome as a run, and give targeting the risk it propagates.

Why a run is computed once and kept: Splink training, Leiden and PageRank over every declaration take seconds to
minutes, while targeting asks "how close is this consignee to a seizure?" for every declaration of a day. A run
(`network_runs`) reads what its user may read (declarations, their parties and containers, and the seizures among
the control results, each under `visible_filter`), resolves the parties (`resolve.resolve`, analysts' decisions
applied on top), builds the typed graph (`graph.build`), spreads risk from the seizures known at `as_of`
(`graph.propagate_risk`), finds communities and brokers, and stores per entity its risk, community, centrality and
exact keys. The audit chain records the run as a COMBINE of the declarations it read.

Who sees what: the run is a protected record of the organisation that ran it, with the handling code and sharing
group chosen then; its entities (names, identifiers, scores) are shared with it, as an analyst's report would be.
The declarations, containers and seizures around an entity are read again for each reader under their own access
policy (`around`), so a reader never sees a declaration or a seizure hidden from them, nor the link it would make.

Targeting (`declaration_risk`): for a declaration, the newest run the reader may see whose `as_of` is not after the
declaration's lodging time; the declaration's parties reach that run's entities through incremental links
(`link_declarations`, which attaches new declarations with the run's trained model, no retraining) or through an
exact key (EORI, or the normalised name within a country). The highest risk among its parties is the rule column
`party_network_risk`.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlResult, Outcome
from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, utcnow
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Handling, LegalRegime, Principal, require_permission, visible_filter
from portguard.declarations.models import Container, Declaration, Party
from portguard.network import graph as g
from portguard.network import resolve, watchlists
from portguard.network.models import (
    DecisionIn,
    DecisionKind,
    EntityDecision,
    LinkMethod,
    NetworkEntity,
    NetworkKey,
    NetworkLink,
    NetworkRun,
    RunIn,
    WatchHit,
)
from portguard.network.names import normalise_name

JUSTIFICATION = "network analysis"
MIN_MODEL_RECORDS = 200  # below this, EM has too few pairs to learn from: records join on exact keys only
AROUND_LIMIT = 400  # nodes at most in one network view; the page expands from there
Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def record_key(declaration_id: str, seq: int) -> str:
    """The id of one party record: "<declaration id>#<party seq>"."""
    return f"{declaration_id}#{seq}"


def parse_record_key(value: str) -> tuple[str, int]:
    """(declaration id, party seq) of a party record id; InvalidInput when it is not one."""
    declaration_id, sep, seq = value.rpartition("#")
    if not sep or not declaration_id or not seq.isdigit():
        raise InvalidInput(f"{value!r} is not a party record ('<declaration id>#<party seq>')", field="record")
    return declaration_id, int(seq)


def entity_id_for(members: Iterable[str]) -> str:
    """A stable entity id: derived from the smallest record id of the entity, so reruns keep it while the
    entity keeps that record."""
    return "ent_" + hashlib.sha256(min(members).encode()).hexdigest()[:20]


# ---------------------------------------------------------------- reading the store


@dataclass
class Snapshot:
    """What a run reads: party records, declarations, containers and seizures visible to its user."""

    parties: pd.DataFrame
    declarations: dict[str, dict[str, Any]]
    containers: list[tuple[str, str]]  # (declaration id, container number)
    seizures: list[dict[str, Any]]


TRADE_ROLES = ("consignor", "consignee", "notify_party", "importer", "seller", "buyer")
"""The parties whose network risk counts for a declaration: declarants and carriers serve everyone, so a big one
sits two links from every seizure and would light up every declaration it files."""
RISK_PARTY_COLUMNS = ("name", "country", "eori", "phone", "email", "iban", "street", "postcode")
"""What `declaration_risk` reads of each party, in this order."""
PARTY_COLUMNS = ("role", "name", "eori", "street", "city", "postcode", "country", "phone", "email", "iban")
MATCH_COLUMNS = ["record_id", "name", "street", "postcode", "city", "country", "phone", "email", "eori", "iban"]
"""The party-record columns the matcher (`resolve.PARTY`) reads."""


def _with_record_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (declaration_id, seq, ...) with a first column record_id ("<declaration id>#<seq>")."""
    ids = [record_key(d, s) for d, s in zip(frame["declaration_id"], frame["seq"], strict=True)]
    frame.insert(0, "record_id", ids)
    return frame


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert plain rows in batches of 5,000 (one executemany each; the ORM would cost a unit of work per row)."""
    for start in range(0, len(rows), 5000):
        session.execute(table.__table__.insert(), rows[start : start + 5000])


def _visible_declarations(actor: Principal | None, as_of: datetime | None, justification: str) -> Any:
    query = select(Declaration.id)
    if as_of is not None:
        query = query.where(Declaration.lodged_at <= as_of)
    if actor is not None:
        query = query.where(visible_filter(actor, Declaration, action=Action.READ, justification=justification))
    return query


def read_snapshot(
    session: Session, *, actor: Principal | None, as_of: datetime, justification: str = JUSTIFICATION
) -> Snapshot:
    """The parties, declarations, containers and seizures `actor` may read, lodged or recorded up to `as_of`."""
    visible = _visible_declarations(actor, as_of, justification).subquery()
    decl_rows = session.execute(
        select(
            Declaration.id, Declaration.ref, Declaration.lodged_at, Declaration.owner_org_id, Declaration.handling
        ).where(Declaration.id.in_(select(visible.c.id)))
    ).all()
    declarations = {
        r.id: {"ref": r.ref, "lodged_at": r.lodged_at, "owner_org_id": r.owner_org_id, "handling": r.handling}
        for r in decl_rows
    }
    cols = [getattr(Party, c) for c in PARTY_COLUMNS]
    party_rows = session.execute(
        select(Party.declaration_id, Party.seq, *cols)
        .where(Party.declaration_id.in_(select(visible.c.id)))
        .order_by(Party.declaration_id, Party.seq)
    ).all()
    parties = pd.DataFrame(party_rows, columns=["declaration_id", "seq", *PARTY_COLUMNS])
    parties = _with_record_ids(parties)
    containers = [
        (r[0], r[1])
        for r in session.execute(
            select(Container.declaration_id, Container.number).where(Container.declaration_id.in_(select(visible.c.id)))
        )
    ]
    seized = select(ControlResult).where(
        ControlResult.outcome == Outcome.SEIZURE.value, ControlResult.recorded_at <= as_of
    )
    if actor is not None:
        seized = seized.where(visible_filter(actor, ControlResult, action=Action.READ, justification=justification))
    numbers = {n for _, n in containers}
    seizures = []
    for r in session.scalars(seized):
        if r.declaration_id not in declarations and r.container_number not in numbers:
            continue
        seizures.append(
            {
                "id": r.id,
                "declaration_id": r.declaration_id if r.declaration_id in declarations else None,
                "container_number": r.container_number,
                "date": r.recorded_at.date(),
                "drug_type": r.drug_type,
                "quantity_kg": float(r.quantity_kg) if r.quantity_kg is not None else None,
                "owner_org_id": r.owner_org_id,
                "handling": r.handling,
            }
        )
    return Snapshot(parties=parties, declarations=declarations, containers=containers, seizures=seizures)


# ---------------------------------------------------------------- resolution


@dataclass
class Clustering:
    """Record id -> entity id, with the probability of the link that decided each record and how it was decided."""

    entity_of: dict[str, str]
    probability: dict[str, float] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    threshold: float = resolve.PARTY.threshold


def _exact_clusters(prepared: pd.DataFrame) -> dict[str, str]:
    """Records joined on an equal EORI, or an equal name within a country (the fallback for small sets)."""
    parent: dict[str, str] = {r: r for r in prepared[resolve.ID]}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    seen: dict[tuple[str, ...], str] = {}
    for rid, eori, name, country in zip(
        prepared[resolve.ID], prepared["eori"], prepared["name_key"], prepared["country"], strict=True
    ):
        for key in ((("eori", eori),) if eori else ()) + ((("name", name, country or ""),) if name else ()):
            flat = tuple(str(k) for k in key)
            if flat in seen:
                a, b = root(seen[flat]), root(rid)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                seen[flat] = rid
    return {r: root(r) for r in parent}


def cluster(
    *, parties: pd.DataFrame, decisions: Sequence[EntityDecision] = (), threshold: float | None = None
) -> Clustering:
    """Resolve party records into entities (Splink, or exact keys below MIN_MODEL_RECORDS), then apply the
    analysts' decisions in the order they were taken: a confirm joins two entities, a split takes one record out."""
    records = parties.reindex(columns=MATCH_COLUMNS)
    out = Clustering(entity_of={})
    if records.empty:
        return out
    if len(records) >= MIN_MODEL_RECORDS:
        res = resolve.resolve(records=records, threshold=threshold)
        groups = dict(zip(res.clusters["record_id"], res.clusters["entity_id"], strict=True))
        out.model, out.threshold = res.model, res.threshold
        best: dict[str, float] = {}
        for left, right, p in zip(
            res.predictions[f"{resolve.ID}_l"].astype(str),
            res.predictions[f"{resolve.ID}_r"].astype(str),
            res.predictions["match_probability"],
            strict=True,
        ):
            if p >= res.threshold:
                best[left] = max(best.get(left, 0.0), float(p))
                best[right] = max(best.get(right, 0.0), float(p))
        out.probability = best
    else:
        groups = _exact_clusters(resolve.PARTY.prepare(records))
    members: dict[str, list[str]] = defaultdict(list)
    for record, group in groups.items():
        members[str(group)].append(record)
    entity_of = {}
    for group_members in members.values():
        eid = entity_id_for(group_members)
        for r in group_members:
            entity_of[r] = eid
    method = dict.fromkeys(entity_of, LinkMethod.MODEL.value)
    for decision in sorted(decisions, key=lambda d: d.created_at):
        if decision.record not in entity_of:
            continue
        if decision.kind == DecisionKind.SPLIT.value:
            entity_of[decision.record] = entity_id_for([decision.record + "/split"])
            method[decision.record] = LinkMethod.SPLIT.value
        elif decision.other_record in entity_of:
            keep, drop = entity_of[decision.other_record], entity_of[decision.record]
            for r, e in entity_of.items():
                if e == drop:
                    entity_of[r] = keep
                    method[r] = LinkMethod.CONFIRMED.value
    out.entity_of, out.method = entity_of, method
    return out


# ---------------------------------------------------------------- graph


def node_id(kind: str, value: str) -> str:
    """The graph id of a node: "<kind>:<value>"."""
    return f"{kind}:{value}"


EDGE_OF = {"phone": "uses_phone", "email": "uses_email", "account": "holds_account", "address": "at_address"}
"""Identifier node kind -> the kind of the edge from an entity to it."""


def _address(street: Any, postcode: Any, country: Any) -> str | None:
    if not isinstance(street, str) or not street:
        return None
    return " ".join(p for p in (street, postcode if isinstance(postcode, str) else "", country or "") if p)


@dataclass
class EntityInfo:
    """What a run stores of an entity."""

    id: str
    records: list[str] = field(default_factory=list)
    names: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    roles: set[str] = field(default_factory=set)
    declarations: set[str] = field(default_factory=set)
    identifiers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    keys: set[str] = field(default_factory=set)


def name_keys(name: Any, country: Any, eori: Any) -> list[str]:
    """The exact keys a party record is found by: its valid EORI, and its normalised name within its country."""
    keys = []
    valid = resolve.valid_eori(eori) if isinstance(eori, str) else None
    if valid:
        keys.append(f"eori:{valid}")
    if isinstance(name, str) and name.strip():
        normal = normalise_name(name)
        if normal:
            keys.append(f"name:{country or ''}:{normal}"[:260])
    return keys


def postcode_key(value: Any) -> str | None:
    """A postcode as a comparable key: upper case, letters and digits only."""
    if not isinstance(value, str):
        return None
    return "".join(ch for ch in value.upper() if ch.isalnum()) or None


def identifier_keys(
    *, phone: Any, email: Any, iban: Any, street: Any, postcode: Any, country: Any
) -> list[tuple[str, str]]:
    """(node kind, value) of the identifiers of a raw party record, normalised as the graph's nodes are."""
    out = []
    country = country.strip().upper() if isinstance(country, str) and country.strip() else None
    if (value := resolve.phone_e164(phone, country)) is not None:
        out.append(("phone", value))
    if isinstance(email, str) and email.strip():
        out.append(("email", email.strip().lower()))
    if (value := resolve.valid_iban(iban)) is not None:
        out.append(("account", value))
    address = _address(resolve.street_key(street), postcode_key(postcode), country)
    if address:
        out.append(("address", address))
    return out


def entities_of(snapshot: Snapshot, clustering: Clustering) -> dict[str, EntityInfo]:
    """The entities of a clustering with their names, identifiers, roles, declarations and keys."""
    parties = snapshot.parties
    if parties.empty:
        return {}
    entities: dict[str, EntityInfo] = {}
    for row in parties.itertuples(index=False):
        eid = clustering.entity_of[row.record_id]
        info = entities.setdefault(eid, EntityInfo(id=eid))
        info.records.append(row.record_id)
        info.names[row.name] += 1
        if row.country:
            info.countries[row.country] += 1
        info.roles.add(row.role)
        info.declarations.add(row.declaration_id)
        for kind, value in identifier_keys(
            phone=row.phone,
            email=row.email,
            iban=row.iban,
            street=row.street,
            postcode=row.postcode,
            country=row.country,
        ):
            info.identifiers[kind].add(value)
        if (eori := resolve.valid_eori(row.eori) if isinstance(row.eori, str) else None) is not None:
            info.identifiers["eori"].add(eori)
        info.keys.update(name_keys(row.name, row.country, row.eori))
    return entities


def party_edge(
    *, entity_id: str, declaration_id: str, owner_org_id: str, handling: str, day: date, role: str | None
) -> g.Edge:
    """entity -> declaration: the entity is a party to it (in `role`), as the declaration states."""
    return g.Edge(
        source=node_id("entity", entity_id),
        target=node_id("declaration", declaration_id),
        kind="party_to",
        source_declaration_id=declaration_id,
        source_system="declarations",
        owner_org_id=owner_org_id,
        handling=handling,
        date=day,
        attrs={"role": role},
    )


def container_edge(*, number: str, declaration_id: str, owner_org_id: str, handling: str) -> g.Edge:
    """container -> declaration: the declaration declares the container."""
    return g.Edge(
        source=node_id("container", number),
        target=node_id("declaration", declaration_id),
        kind="declared_in",
        source_declaration_id=declaration_id,
        source_system="declarations",
        owner_org_id=owner_org_id,
        handling=handling,
    )


def seizure_edge(*, seizure_id: str, target: str, owner_org_id: str, handling: str, day: date) -> g.Edge:
    """seizure -> declaration (or container): where the seizure was made."""
    return g.Edge(
        source=node_id("seizure", seizure_id),
        target=target,
        kind="seized_in",
        source_system="controls",
        owner_org_id=owner_org_id,
        handling=handling,
        date=day,
    )


def identifier_edge(*, entity_id: str, kind: str, value: str, handling: str) -> g.Edge:
    """entity -> phone, e-mail, account or address it uses (as the run found it)."""
    return g.Edge(
        source=node_id("entity", entity_id),
        target=node_id(kind, value),
        kind=EDGE_OF[kind],
        source_system="network",
        handling=handling,
    )


def build_graph(snapshot: Snapshot, entities: dict[str, EntityInfo], *, handling: str) -> g.Graph:
    """The typed graph of a snapshot: entities, their identifiers, declarations, containers and seizures."""
    nodes: dict[str, g.Node] = {}
    edges: list[g.Edge] = []
    for did, d in snapshot.declarations.items():
        nodes[node_id("declaration", did)] = g.Node(
            id=node_id("declaration", did),
            kind="declaration",
            label=d["ref"],
            owner_org_id=d["owner_org_id"],
            handling=d["handling"],
            attrs={"date": d["lodged_at"].date()},
        )
    role_of = (
        {(r.declaration_id, r.record_id): r.role for r in snapshot.parties.itertuples(index=False)}
        if not snapshot.parties.empty
        else {}
    )
    for info in entities.values():
        nid = node_id("entity", info.id)
        nodes[nid] = g.Node(
            id=nid,
            kind="entity",
            label=info.names.most_common(1)[0][0],
            handling=handling,
            attrs={
                "entity_type": "company",
                "country": info.countries.most_common(1)[0][0] if info.countries else None,
            },
        )
        for record in info.records:
            did = record.rpartition("#")[0]
            d = snapshot.declarations[did]
            edges.append(
                party_edge(
                    entity_id=info.id,
                    declaration_id=did,
                    owner_org_id=d["owner_org_id"],
                    handling=d["handling"],
                    day=d["lodged_at"].date(),
                    role=role_of.get((did, record)),
                )
            )
        for kind, values in info.identifiers.items():
            if kind == "eori":
                continue
            for value in values:
                vid = node_id(kind, value)
                nodes.setdefault(vid, g.Node(id=vid, kind=kind, label=value, handling=handling))
                edges.append(identifier_edge(entity_id=info.id, kind=kind, value=value, handling=handling))
    for did, number in snapshot.containers:
        cid = node_id("container", number)
        nodes.setdefault(cid, g.Node(id=cid, kind="container", label=number, handling=Handling.AMBER.value))
        d = snapshot.declarations[did]
        edges.append(
            container_edge(number=number, declaration_id=did, owner_org_id=d["owner_org_id"], handling=d["handling"])
        )
    for s in snapshot.seizures:
        sid = node_id("seizure", s["id"])
        label = " ".join(str(p) for p in ("seizure", s["drug_type"] or "", s["date"].isoformat()) if p)
        nodes[sid] = g.Node(
            id=sid,
            kind="seizure",
            label=label,
            owner_org_id=s["owner_org_id"],
            handling=s["handling"],
            attrs={"date": s["date"], "drug_type": s["drug_type"], "quantity_kg": s["quantity_kg"]},
        )
        target = (
            node_id("declaration", s["declaration_id"])
            if s["declaration_id"]
            else node_id("container", s["container_number"])
        )
        if target in nodes:
            edges.append(
                seizure_edge(
                    seizure_id=s["id"],
                    target=target,
                    owner_org_id=s["owner_org_id"],
                    handling=s["handling"],
                    day=s["date"],
                )
            )
    return g.build(nodes=nodes.values(), edges=edges)


# ---------------------------------------------------------------- runs


def _carries_risk(record: g.Record) -> bool:
    """Whether risk flows along a record: every node, and every link but a service party's filing."""
    return not (
        isinstance(record, g.Edge) and record.kind == "party_to" and record.attrs.get("role") not in TRADE_ROLES
    )


def _check_group(actor: Principal, sharing_group_id: str | None) -> None:
    if sharing_group_id is not None and sharing_group_id not in actor.group_ids:
        raise InvalidInput(
            f"your organisation is not a member of sharing group {sharing_group_id}", field="sharing_group_id"
        )


def _decisions(session: Session, actor: Principal | None) -> list[EntityDecision]:
    query = select(EntityDecision)
    if actor is not None:
        query = query.where(visible_filter(actor, EntityDecision, action=Action.READ, justification=JUSTIFICATION))
    return list(session.scalars(query))


def run(session: Session, *, actor: Principal, data: RunIn, on_progress: Progress = _noop) -> NetworkRun:
    """Resolve, map and score the network of what `actor` may read, as of `data.as_of`; kept as a run."""
    require_permission(actor, "network:write")
    _check_group(actor, data.sharing_group_id)
    started = time.perf_counter()
    as_of = as_utc(data.as_of) if data.as_of else utcnow()
    steps = 7
    on_progress("read", 0, steps)
    snapshot = read_snapshot(session, actor=actor, as_of=as_of)
    on_progress("resolve", 1, steps)
    clustering = cluster(parties=snapshot.parties, decisions=_decisions(session, actor), threshold=data.threshold)
    entities = entities_of(snapshot, clustering)
    on_progress("graph", 2, steps)
    graph = build_graph(snapshot, entities, handling=data.handling.value)
    on_progress("risk", 3, steps)
    # risk does not flow through a declarant's or carrier's filing: they serve everyone, and a busy one would
    # carry every seizure to every declaration it files (measured on the KCS set: 92 % of declarations lit up)
    trade = g.subgraph(graph=graph, visible=_carries_risk)
    risk = g.propagate_risk(
        graph=trade, as_of=as_of.date(), half_life_days=data.half_life_days, hop_decay=data.hop_decay
    )
    # 1 = the riskiest entity, not the seizure itself: a party to a seized consignment scores 1, and a rule
    # threshold on `party_network_risk` reads as a share of that
    top = max((risk[node_id("entity", e)] for e in entities), default=0.0)
    if top > 0:
        risk = {k: min(1.0, v / top) for k, v in risk.items()}
    seizure_vertices = [i for i, n in enumerate(graph.nodes) if n.kind == "seizure"]
    hops = g.hop_distances(g.undirected_simple(graph), sources=seizure_vertices)
    on_progress("communities", 4, steps)
    communities = g.communities(graph=graph)
    central = g.centrality(graph=graph)
    on_progress("store", 5, steps)
    record = NetworkRun(
        id=new_id("net"),
        as_of=as_of,
        records=len(snapshot.parties),
        entities=len(entities),
        declarations=len(snapshot.declarations),
        seizures=len(snapshot.seizures),
        nodes=len(graph.nodes),
        edges=len(graph.edges),
        communities=len({communities[node_id("entity", e)] for e in entities}) if entities else 0,
        threshold=clustering.threshold,
        model=clustering.model,
        params={"half_life_days": data.half_life_days, "hop_decay": data.hop_decay, "model": bool(clustering.model)},
        created_by=actor.user_id,
        created_at=utcnow(),
        owner_org_id=actor.org_id,
        handling=data.handling.value,
        sharing_group_id=data.sharing_group_id,
        legal_regime=LegalRegime.GDPR.value,
    )
    session.add(record)
    session.flush()
    entity_rows, link_rows, key_rows = [], [], []
    for info in entities.values():
        nid = node_id("entity", info.id)
        i = graph.index[nid]
        h = hops[i]
        score = risk[nid]
        entity_rows.append(
            {
                "run_id": record.id,
                "id": info.id,
                "label": info.names.most_common(1)[0][0][:200],
                "entity_type": "company",
                "country": info.countries.most_common(1)[0][0] if info.countries else None,
                "records": len(info.records),
                "declarations": len(info.declarations),
                "names": [n for n, _ in info.names.most_common(20)],
                "identifiers": {k: sorted(v)[:50] for k, v in info.identifiers.items()},
                "roles": sorted(info.roles),
                "risk": score,
                "hops_to_seizure": int(h) if h != float("inf") else None,
                "community": communities.get(nid),
                "degree": int(central.degree[nid]),
                "betweenness": float(central.betweenness[nid]),
                "watch_hits": 0,
            }
        )
        for key in info.keys:
            key_rows.append({"run_id": record.id, "key": key, "entity_id": info.id, "risk": score})
        for kind, values in info.identifiers.items():
            if kind in EDGE_OF:  # the identifier's own risk: a new party using it is one link further out
                for value in values:
                    vid = node_id(kind, value)[:260]
                    key_rows.append(
                        {"run_id": record.id, "key": vid, "entity_id": info.id, "risk": risk[node_id(kind, value)]}
                    )
    for r in snapshot.parties.itertuples(index=False):
        link_rows.append(
            {
                "run_id": record.id,
                "declaration_id": r.declaration_id,
                "party_seq": int(r.seq),
                "entity_id": clustering.entity_of[r.record_id],
                "method": clustering.method.get(r.record_id, LinkMethod.MODEL.value),
                "probability": clustering.probability.get(r.record_id),
                "matched_record": None,
            }
        )
    # one key can name several entities (two companies of one name in one country): keep each pair once
    key_rows = list({(k["key"], k["entity_id"]): k for k in key_rows}.values())
    for table, rows in ((NetworkEntity, entity_rows), (NetworkLink, link_rows), (NetworkKey, key_rows)):
        _insert(session, table, rows)
    on_progress("watch lists", 6, steps)
    _screen_entities(session, actor=actor, run=record, entities=entities)
    record.seconds = round(time.perf_counter() - started, 3)
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COMBINE,
        object_type="network_run",
        object_id=record.id,
        legal_regime=record.legal_regime,
        justification=JUSTIFICATION,
        detail={
            "as_of": as_of.isoformat(),
            "declarations": record.declarations,
            "records": record.records,
            "entities": record.entities,
            "seizures": record.seizures,
        },
    )
    on_progress("done", steps, steps)
    return record


def _screen_entities(session: Session, *, actor: Principal, run: NetworkRun, entities: dict[str, EntityInfo]) -> None:
    """Each entity of a run against the watch lists `actor` may read, with the run's own model; hits kept."""
    if not entities or not actor.has("watchlist:read"):
        return
    subjects = pd.DataFrame(
        [
            {
                "record_id": e.id,
                "name": e.names.most_common(1)[0][0],
                "country": e.countries.most_common(1)[0][0] if e.countries else None,
                "phone": min(e.identifiers["phone"]) if e.identifiers.get("phone") else None,
                "email": min(e.identifiers["email"]) if e.identifiers.get("email") else None,
                "iban": min(e.identifiers["account"]) if e.identifiers.get("account") else None,
                "eori": min(e.identifiers["eori"]) if e.identifiers.get("eori") else None,
            }
            for e in entities.values()
        ]
    )
    hits = watchlists.screen(
        session, actor=actor, subjects=subjects, model=run.model or None, justification=JUSTIFICATION
    )
    best: dict[tuple[str, str, str], watchlists.ScreenHit] = {}
    for h in hits:
        key = (h.record_id, h.watchlist_id, h.entry_id)
        if key not in best or h.probability > best[key].probability:
            best[key] = h
    if not best:
        return
    session.execute(
        WatchHit.__table__.insert(),
        [
            {
                "run_id": run.id,
                "entity_id": h.record_id,
                "watchlist_id": h.watchlist_id,
                "entry_id": h.entry_id,
                "probability": h.probability,
                "reasons": [list(r) for r in h.reasons],
            }
            for h in best.values()
        ],
    )
    per_entity = Counter(h.record_id for h in best.values())
    for entity_id, n in per_entity.items():
        session.execute(
            NetworkEntity.__table__.update()
            .where(NetworkEntity.run_id == run.id, NetworkEntity.id == entity_id)
            .values(watch_hits=n)
        )


def screen_against_watchlists(
    session: Session, *, actor: Principal, subjects: pd.DataFrame, justification: str
) -> list[watchlists.ScreenHit]:
    """Subjects (party-record columns: record_id, name, street, postcode, city, country, phone, email, ...) against
    the watch lists `actor` may read, with the model of the newest network run they may read (the matcher the
    network's entities come from), or the watch lists' own when there is none."""
    record = latest_run(session, actor=actor) if actor.has("network:read") else None
    model = record.model if record is not None and record.model else None
    return watchlists.screen(session, actor=actor, subjects=subjects, model=model, justification=justification)


def list_runs(session: Session, *, actor: Principal, limit: int = 50, offset: int = 0) -> tuple[list[NetworkRun], int]:
    """The runs `actor` may read, newest first."""
    require_permission(actor, "network:read")
    condition = visible_filter(actor, NetworkRun, action=Action.LIST)
    total = session.scalar(select(func.count()).select_from(NetworkRun).where(condition)) or 0
    rows = list(
        session.scalars(
            select(NetworkRun).where(condition).order_by(NetworkRun.as_of.desc()).limit(limit).offset(offset)
        )
    )
    audit.consult_list(session, actor=actor, object_type="network_run", records=rows, justification=None)
    return rows, total


def get_run(session: Session, *, actor: Principal, run_id: str | None = None) -> NetworkRun:
    """One run (`None`: the newest `actor` may read); NotFound when there is none they may read."""
    require_permission(actor, "network:read")
    if run_id is None:
        record = latest_run(session, actor=actor)
        if record is None:
            raise NotFound("no network run yet: run `portguard network run` or start one on the network page")
    else:
        record = session.get(NetworkRun, run_id)
        if record is None:
            raise NotFound(f"no network run {run_id}")
    audit.consult_one(session, actor=actor, record=record, object_type="network_run")
    return record


def latest_run(session: Session, *, actor: Principal | None) -> NetworkRun | None:
    """The newest run `actor` may read (any run for the system)."""
    query = select(NetworkRun).order_by(NetworkRun.as_of.desc(), NetworkRun.created_at.desc()).limit(1)
    if actor is not None:
        query = query.where(visible_filter(actor, NetworkRun, action=Action.READ))
    return session.scalars(query).first()


# ---------------------------------------------------------------- entities


def list_entities(
    session: Session,
    *,
    actor: Principal,
    run_id: str | None = None,
    q: str | None = None,
    community: int | None = None,
    min_risk: float = 0.0,
    limit: int = 50,
    offset: int = 0,
) -> tuple[NetworkRun, list[NetworkEntity], int]:
    """Entities of a run (default the newest), riskiest first; `q` searches the label."""
    record = get_run(session, actor=actor, run_id=run_id)
    conditions = [NetworkEntity.run_id == record.id]
    if q:
        conditions.append(func.lower(NetworkEntity.label).contains(q.strip().lower(), autoescape=True))
    if community is not None:
        conditions.append(NetworkEntity.community == community)
    if min_risk > 0:
        conditions.append(NetworkEntity.risk >= min_risk)
    total = session.scalar(select(func.count()).select_from(NetworkEntity).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(NetworkEntity)
            .where(*conditions)
            .order_by(NetworkEntity.risk.desc(), NetworkEntity.declarations.desc(), NetworkEntity.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return record, rows, total


@dataclass
class EntityView:
    """An entity with its party records and declarations as the reader may see them."""

    run: NetworkRun
    entity: NetworkEntity
    records: list[dict[str, Any]]
    declarations: list[dict[str, Any]]
    watch_hits: list[WatchHit]
    decisions: list[EntityDecision]


def get_entity(
    session: Session, *, actor: Principal, entity_id: str, run_id: str | None = None, justification: str | None = None
) -> EntityView:
    """One entity of a run (default the newest), its records and declarations filtered by `actor`'s access."""
    record = get_run(session, actor=actor, run_id=run_id)
    entity = session.get(NetworkEntity, (record.id, entity_id))
    if entity is None:
        raise NotFound(f"no entity {entity_id} in network run {record.id}")
    why = justification or JUSTIFICATION
    visible = _visible_declarations(actor, None, why).subquery()
    rows = session.execute(
        select(NetworkLink, Party, Declaration.ref, Declaration.lodged_at)
        .join(Party, (Party.declaration_id == NetworkLink.declaration_id) & (Party.seq == NetworkLink.party_seq))
        .join(Declaration, Declaration.id == NetworkLink.declaration_id)
        .where(
            NetworkLink.run_id == record.id,
            NetworkLink.entity_id == entity_id,
            NetworkLink.declaration_id.in_(select(visible.c.id)),
        )
        .order_by(Declaration.lodged_at.desc())
        .limit(500)
    ).all()
    seized = _seized_declarations(session, actor=actor, declaration_ids=[r[0].declaration_id for r in rows], why=why)
    records, declarations = [], {}
    for link, party, ref, lodged in rows:
        records.append(
            {
                "record": record_key(link.declaration_id, link.party_seq),
                "declaration_id": link.declaration_id,
                "role": party.role,
                **{c: getattr(party, c) for c in PARTY_COLUMNS if c != "role"},
                "method": link.method,
                "probability": link.probability,
            }
        )
        declarations.setdefault(
            link.declaration_id,
            {
                "id": link.declaration_id,
                "ref": ref,
                "lodged_at": lodged,
                "roles": set(),
                "seized": link.declaration_id in seized,
            },
        )["roles"].add(party.role)
    hits = list(session.scalars(select(WatchHit).where(WatchHit.run_id == record.id, WatchHit.entity_id == entity_id)))
    keys = [r["record"] for r in records]
    decisions = [d for d in _decisions(session, actor) if d.record in keys or d.other_record in keys]
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="network_entity",
        object_id=f"{record.id}/{entity_id}",
        legal_regime=record.legal_regime,
        justification=justification,
        detail={"declarations": len(declarations)},
    )
    return EntityView(
        run=record,
        entity=entity,
        records=records,
        declarations=[{**d, "roles": sorted(d["roles"])} for d in declarations.values()],
        watch_hits=hits,
        decisions=decisions,
    )


def _seized_declarations(
    session: Session, *, actor: Principal | None, declaration_ids: Sequence[str], why: str
) -> set[str]:
    if not declaration_ids:
        return set()
    query = select(ControlResult.declaration_id).where(
        ControlResult.outcome == Outcome.SEIZURE.value, ControlResult.declaration_id.in_(sorted(set(declaration_ids)))
    )
    if actor is not None:
        query = query.where(visible_filter(actor, ControlResult, action=Action.READ, justification=why))
    return {r for r in session.scalars(query) if r}


@dataclass(frozen=True)
class Community:
    """A community of a run: its size, its riskiest members and its highest risk."""

    number: int
    entities: int
    max_risk: float
    declarations: int
    members: list[str]


def list_communities(
    session: Session, *, actor: Principal, run_id: str | None = None, limit: int = 50
) -> tuple[NetworkRun, list[Community]]:
    """The communities of a run with more than one entity, the riskiest first."""
    record = get_run(session, actor=actor, run_id=run_id)
    rows = session.execute(
        select(
            NetworkEntity.community,
            func.count(),
            func.max(NetworkEntity.risk),
            func.sum(NetworkEntity.declarations),
        )
        .where(NetworkEntity.run_id == record.id, NetworkEntity.community.is_not(None))
        .group_by(NetworkEntity.community)
        .having(func.count() > 1)
        .order_by(func.max(NetworkEntity.risk).desc(), func.count().desc())
        .limit(limit)
    ).all()
    out = []
    for number, size, top, decls in rows:
        members = session.scalars(
            select(NetworkEntity.label)
            .where(NetworkEntity.run_id == record.id, NetworkEntity.community == number)
            .order_by(NetworkEntity.risk.desc(), NetworkEntity.degree.desc())
            .limit(6)
        ).all()
        out.append(
            Community(
                number=int(number),
                entities=int(size),
                max_risk=float(top or 0),
                declarations=int(decls or 0),
                members=list(members),
            )
        )
    return record, out


# ---------------------------------------------------------------- decisions


def decide(session: Session, *, actor: Principal, data: DecisionIn) -> EntityDecision:
    """Record an analyst's confirm or split; every later run applies it."""
    require_permission(actor, "network:write")
    _check_group(actor, data.sharing_group_id)
    keys = [data.record] + ([data.other_record] if data.other_record else [])
    for key in keys:
        declaration_id, seq = parse_record_key(key)
        visible = session.scalar(
            select(Party.seq)
            .join(Declaration, Declaration.id == Party.declaration_id)
            .where(
                Party.declaration_id == declaration_id,
                Party.seq == seq,
                visible_filter(actor, Declaration, action=Action.READ, justification=JUSTIFICATION),
            )
        )
        if visible is None:
            raise NotFound(f"no party record {key}")
    if data.kind == DecisionKind.CONFIRM and not data.other_record:
        raise InvalidInput("a confirm names the other record of the same entity", field="other_record")
    if data.kind == DecisionKind.SPLIT and data.other_record:
        raise InvalidInput("a split names one record only", field="other_record")
    if data.other_record == data.record:
        raise InvalidInput("a record is always its own entity", field="other_record")
    decision = EntityDecision(
        id=new_id("dec"),
        kind=data.kind.value,
        record=data.record,
        other_record=data.other_record,
        reason=data.reason,
        created_by=actor.user_id,
        created_at=utcnow(),
        owner_org_id=actor.org_id,
        handling=data.handling.value,
        sharing_group_id=data.sharing_group_id,
        legal_regime=LegalRegime.GDPR.value,
    )
    session.add(decision)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="network_decision",
        object_id=decision.id,
        legal_regime=decision.legal_regime,
        justification=data.reason,
        detail={"kind": decision.kind, "record": decision.record, "other_record": decision.other_record},
    )
    return decision


# ---------------------------------------------------------------- incremental linking


@dataclass(frozen=True)
class LinkReport:
    """What `link_declarations` did."""

    run_id: str
    records: int
    attached: int
    new_entities: int
    seconds: float


def link_declarations(
    session: Session, *, actor: Principal, run_id: str | None = None, on_progress: Progress = _noop
) -> LinkReport:
    """Attach the party records of declarations the run has not seen to its entities with its trained model (no
    retraining): each to its best match above the run's threshold, or to a new entity."""
    require_permission(actor, "network:write")
    record = get_run(session, actor=actor, run_id=run_id)
    if record.owner_org_id != actor.org_id:
        raise InvalidInput("only the organisation that ran it adds to a network run", field="run_id")
    started = time.perf_counter()
    visible = _visible_declarations(actor, None, JUSTIFICATION).subquery()
    linked = select(NetworkLink.declaration_id).where(NetworkLink.run_id == record.id)
    cols = [getattr(Party, c) for c in PARTY_COLUMNS]
    fresh = pd.DataFrame(
        session.execute(
            select(Party.declaration_id, Party.seq, *cols).where(
                Party.declaration_id.in_(select(visible.c.id)), Party.declaration_id.not_in(linked)
            )
        ).all(),
        columns=["declaration_id", "seq", *PARTY_COLUMNS],
    )
    on_progress("read", 1, 3)
    if fresh.empty:
        return LinkReport(record.id, 0, 0, 0, round(time.perf_counter() - started, 3))
    fresh = _with_record_ids(fresh)
    known = pd.DataFrame(
        session.execute(
            select(NetworkLink.declaration_id, NetworkLink.party_seq, NetworkLink.entity_id, *cols)
            .join(Party, (Party.declaration_id == NetworkLink.declaration_id) & (Party.seq == NetworkLink.party_seq))
            .where(NetworkLink.run_id == record.id)
        ).all(),
        columns=["declaration_id", "seq", "entity_id", *PARTY_COLUMNS],
    )
    known = _with_record_ids(known)
    entity_of = dict(zip(known["record_id"], known["entity_id"], strict=True))
    if record.model and len(known):
        linked_rows = resolve.link_with_model(
            model=record.model,
            known=known.reindex(columns=MATCH_COLUMNS),
            clusters=entity_of,
            new_records=fresh.reindex(columns=MATCH_COLUMNS),
            threshold=record.threshold,
        )
    else:  # a run too small for a model: exact keys only
        groups = _exact_clusters(resolve.PARTY.prepare(pd.concat([known, fresh]).reindex(columns=MATCH_COLUMNS)))
        by_group = {groups[r]: e for r, e in entity_of.items()}
        linked_rows = pd.DataFrame(
            {
                "record_id": fresh["record_id"],
                "entity_id": [by_group.get(groups[r], f"new-{groups[r]}") for r in fresh["record_id"]],
                "match_probability": None,
                "matched_record_id": None,
            }
        )
    on_progress("link", 2, 3)
    risk = dict(
        session.execute(select(NetworkEntity.id, NetworkEntity.risk).where(NetworkEntity.run_id == record.id)).all()
    )
    new_members: dict[str, list[str]] = defaultdict(list)
    for r, e in zip(linked_rows["record_id"], linked_rows["entity_id"], strict=True):
        if e not in risk:
            new_members[e].append(r)
    new_ids = {e: entity_id_for(members) for e, members in new_members.items()}
    by_record = fresh.set_index("record_id")
    link_rows, key_rows, attached = [], [], 0
    for r, e, p, matched in linked_rows.itertuples(index=False):
        eid = new_ids.get(e, e)
        attached += e in risk
        declaration_id, seq = parse_record_key(r)
        link_rows.append(
            {
                "run_id": record.id,
                "declaration_id": declaration_id,
                "party_seq": seq,
                "entity_id": eid,
                "method": LinkMethod.INCREMENTAL.value,
                "probability": None if p is None or pd.isna(p) else float(p),
                "matched_record": matched if isinstance(matched, str) else None,
            }
        )
        row = by_record.loc[r]
        for key in name_keys(row["name"], row["country"], row["eori"]):
            key_rows.append({"run_id": record.id, "key": key, "entity_id": eid, "risk": risk.get(e, 0.0)})
    for e, members in new_members.items():
        rows = by_record.loc[members]
        names = Counter(rows["name"])
        session.add(
            NetworkEntity(
                run_id=record.id,
                id=new_ids[e],
                label=names.most_common(1)[0][0][:200],
                country=next((c for c in rows["country"] if isinstance(c, str)), None),
                records=len(members),
                declarations=rows["declaration_id"].nunique(),
                names=[n for n, _ in names.most_common(20)],
                identifiers={},
                roles=sorted(set(rows["role"])),
                risk=0.0,
            )
        )
    session.flush()
    existing_keys = set(
        session.execute(select(NetworkKey.key, NetworkKey.entity_id).where(NetworkKey.run_id == record.id)).all()
    )
    key_rows = [
        k
        for k in {(k["key"], k["entity_id"]): k for k in key_rows}.values()
        if (k["key"], k["entity_id"]) not in existing_keys
    ]
    for table, rows in ((NetworkLink, link_rows), (NetworkKey, key_rows)):
        _insert(session, table, rows)
    record.records += len(link_rows)
    record.entities += len(new_members)
    report = LinkReport(record.id, len(link_rows), attached, len(new_members), round(time.perf_counter() - started, 3))
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COMBINE,
        object_type="network_run",
        object_id=record.id,
        legal_regime=record.legal_regime,
        justification=JUSTIFICATION,
        detail={"linked": report.records, "attached": report.attached, "new_entities": report.new_entities},
    )
    on_progress("done", 3, 3)
    return report


# ---------------------------------------------------------------- targeting


def declaration_risk(
    session: Session,
    *,
    actor: Principal | None,
    declarations: Sequence[tuple[str, datetime]],
    parties: Callable[[], Iterable[Sequence[Any]]],
) -> dict[str, float]:
    """Declaration id -> the highest network risk among its parties, from the newest run `actor` may read whose
    `as_of` is not after the declaration's lodging (see the module docstring). `declarations` are (id, lodged at);
    `parties` returns their parties as (declaration id, *RISK_PARTY_COLUMNS), and is called only when some run has
    a risky entity. A party reaches an entity by an incremental link or an exact key (EORI, name in its country:
    the entity's risk), or shares a phone, e-mail, account or address with one (that identifier's risk, times the
    run's hop decay: one link further out). Declarations with no risky party are left out."""
    query = select(NetworkRun.id, NetworkRun.as_of, NetworkRun.params).order_by(NetworkRun.as_of)
    if actor is not None:
        if not actor.has("network:read"):
            return {}
        query = query.where(visible_filter(actor, NetworkRun, action=Action.READ))
    runs = session.execute(query).all()
    if not runs:
        return {}
    run_ids = [r.id for r in runs]
    times = [as_utc(r.as_of) for r in runs]
    by_link: dict[tuple[str, str], float] = {}
    for run_id, declaration_id, risk in session.execute(
        select(NetworkLink.run_id, NetworkLink.declaration_id, func.max(NetworkEntity.risk))
        .join(NetworkEntity, (NetworkEntity.run_id == NetworkLink.run_id) & (NetworkEntity.id == NetworkLink.entity_id))
        .join(Party, (Party.declaration_id == NetworkLink.declaration_id) & (Party.seq == NetworkLink.party_seq))
        .where(NetworkLink.run_id.in_(run_ids), NetworkEntity.risk > 0, Party.role.in_(TRADE_ROLES))
        .group_by(NetworkLink.run_id, NetworkLink.declaration_id)
    ):
        by_link[(run_id, declaration_id)] = float(risk)
    by_key: dict[tuple[str, str], float] = {}
    for run_id, key, risk in session.execute(
        select(NetworkKey.run_id, NetworkKey.key, func.max(NetworkKey.risk))
        .where(NetworkKey.run_id.in_(run_ids), NetworkKey.risk > 0)
        .group_by(NetworkKey.run_id, NetworkKey.key)
    ):
        by_key[(run_id, key)] = float(risk)
    if not by_link and not by_key:
        return {}
    decay = {r.id: float((r.params or {}).get("hop_decay", 0.5)) for r in runs}
    run_of: dict[str, str] = {}
    for declaration_id, lodged in declarations:
        i = bisect.bisect_right(times, as_utc(lodged)) - 1
        if i >= 0:
            run_of[declaration_id] = run_ids[i]
    if not run_of:
        return {}
    out: dict[str, float] = {}
    for (run_id, declaration_id), risk in by_link.items():
        if run_of.get(declaration_id) == run_id:
            out[declaration_id] = risk
    for declaration_id, name, country, eori, phone, email, iban, street, postcode in parties():
        run_id = run_of.get(declaration_id)
        if run_id is None:
            continue
        best = out.get(declaration_id, 0.0)
        for key in name_keys(name, country, eori):
            best = max(best, by_key.get((run_id, key), 0.0))
        for kind, value in identifier_keys(
            phone=phone, email=email, iban=iban, street=street, postcode=postcode, country=country
        ):
            best = max(best, by_key.get((run_id, node_id(kind, value)[:260]), 0.0) * decay[run_id])
        if best > 0:
            out[declaration_id] = best
    return out


def drop_run(session: Session, *, actor: Principal, run_id: str) -> None:
    """Erase a run and what it found (the owner organisation only)."""
    require_permission(actor, "network:write")
    record = get_run(session, actor=actor, run_id=run_id)
    if record.owner_org_id != actor.org_id:
        raise InvalidInput("only the organisation that ran it erases a network run", field="run_id")
    for table in (WatchHit, NetworkKey, NetworkLink, NetworkEntity):
        session.execute(delete(table).where(table.run_id == record.id))
    session.delete(record)
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ERASE,
        object_type="network_run",
        object_id=run_id,
        legal_regime=record.legal_regime,
    )


# ---------------------------------------------------------------- the network around a node


def around(
    session: Session,
    *,
    actor: Principal,
    node: str,
    hops: int = 2,
    run_id: str | None = None,
    justification: str | None = None,
    limit: int = AROUND_LIMIT,
) -> tuple[NetworkRun, g.Graph, bool]:
    """The graph within `hops` links of `node` ("entity:<id>", "declaration:<id>", "seizure:<id>", "phone:<e164>",
    ...) in a run, read for `actor`: declarations, containers and seizures under their access policy, entities and
    identifiers as the run found them. Returns (run, graph, truncated) — at most `limit` nodes, nearest first."""
    require_permission(actor, "network:read")
    if not 0 <= hops <= 4:
        raise InvalidInput("hops must be between 0 and 4", field="hops")
    record = get_run(session, actor=actor, run_id=run_id)
    why = justification or JUSTIFICATION
    kind, sep, value = node.partition(":")
    if not sep or not value or kind not in g.NODE_KINDS:
        raise InvalidInput(
            f"{node!r} is not a node id ('<kind>:<value>', kind one of {sorted(g.NODE_KINDS)})", field="node"
        )
    visible_decl = visible_filter(actor, Declaration, action=Action.READ, justification=why)
    visible_result = visible_filter(actor, ControlResult, action=Action.READ, justification=why)
    nodes: dict[str, g.Node] = {}
    edges: dict[tuple[str, str, str], g.Edge] = {}
    truncated = False

    def add_node(n: g.Node) -> bool:
        nonlocal truncated
        if n.id in nodes:
            return False
        if len(nodes) >= limit:
            truncated = True
            return False
        nodes[n.id] = n
        return True

    def add_edge(e: g.Edge) -> None:
        edges.setdefault((e.source, e.target, e.kind), e)

    def entity_nodes(ids: Iterable[str]) -> list[NetworkEntity]:
        wanted = sorted(set(ids))
        return (
            list(
                session.scalars(
                    select(NetworkEntity).where(NetworkEntity.run_id == record.id, NetworkEntity.id.in_(wanted))
                )
            )
            if wanted
            else []
        )

    def entity_node(e: NetworkEntity) -> g.Node:
        return g.Node(
            id=node_id("entity", e.id),
            kind="entity",
            label=e.label,
            handling=record.handling,
            owner_org_id=record.owner_org_id,
            attrs={"entity_type": e.entity_type, "country": e.country, "risk": e.risk, "community": e.community},
        )

    def declaration_nodes(ids: Iterable[str]) -> list[Declaration]:
        wanted = sorted(set(ids))
        return (
            list(session.scalars(select(Declaration).where(Declaration.id.in_(wanted), visible_decl))) if wanted else []
        )

    def declaration_node(d: Declaration) -> g.Node:
        return g.Node(
            id=node_id("declaration", d.id),
            kind="declaration",
            label=d.ref,
            owner_org_id=d.owner_org_id,
            handling=d.handling,
            attrs={"date": d.lodged_at.date(), "office": d.office},
        )

    def seizure_node(r: ControlResult) -> g.Node:
        return g.Node(
            id=node_id("seizure", r.id),
            kind="seizure",
            label=f"seizure {r.drug_type or ''} {r.recorded_at.date().isoformat()}".replace("  ", " "),
            owner_org_id=r.owner_org_id,
            handling=r.handling,
            attrs={"date": r.recorded_at.date(), "drug_type": r.drug_type},
        )

    # the start node, checked like the rest
    if kind == "entity":
        found = entity_nodes([value])
        start = [entity_node(e) for e in found]
    elif kind == "declaration":
        start = [declaration_node(d) for d in declaration_nodes([value])]
    elif kind == "seizure":
        start = [
            seizure_node(r)
            for r in session.scalars(select(ControlResult).where(ControlResult.id == value, visible_result))
        ]
    elif kind == "container":
        start = [g.Node(id=node, kind="container", label=value)]
    else:
        known = session.scalar(
            select(NetworkKey.entity_id).where(NetworkKey.run_id == record.id, NetworkKey.key == node).limit(1)
        )
        start = [g.Node(id=node, kind=kind, label=value, handling=record.handling)] if known else []
    if not start:
        raise NotFound(f"no node {node} in network run {record.id}")
    add_node(start[0])
    frontier = [start[0].id]
    found_next: list[str] = []

    def reach(n: g.Node, e: g.Edge) -> None:
        if add_node(n):
            found_next.append(n.id)
        if e.source in nodes and e.target in nodes:
            add_edge(e)

    for _ in range(hops):
        if not frontier or truncated:
            break
        by_kind: dict[str, list[str]] = defaultdict(list)
        for nid in frontier:
            k, _, v = nid.partition(":")
            by_kind[k].append(v)
        if by_kind.get("entity"):
            links = session.execute(
                select(NetworkLink.entity_id, NetworkLink.declaration_id, Party.role)
                .join(
                    Party, (Party.declaration_id == NetworkLink.declaration_id) & (Party.seq == NetworkLink.party_seq)
                )
                .where(NetworkLink.run_id == record.id, NetworkLink.entity_id.in_(by_kind["entity"]))
                .limit(limit * 4)
            ).all()
            decls = {d.id: d for d in declaration_nodes(r.declaration_id for r in links)}
            for entity, did, role in links:
                if did in decls:
                    d = decls[did]
                    reach(
                        declaration_node(d),
                        party_edge(
                            entity_id=entity,
                            declaration_id=did,
                            owner_org_id=d.owner_org_id,
                            handling=d.handling,
                            day=d.lodged_at.date(),
                            role=role,
                        ),
                    )
            for e in entity_nodes(by_kind["entity"]):
                for ident_kind, values in (e.identifiers or {}).items():
                    if ident_kind not in EDGE_OF:
                        continue
                    for v in values:
                        reach(
                            g.Node(id=node_id(ident_kind, v), kind=ident_kind, label=v, handling=record.handling),
                            identifier_edge(entity_id=e.id, kind=ident_kind, value=v, handling=record.handling),
                        )
        identifier_ids = [node_id(k, v) for k in EDGE_OF for v in by_kind.get(k, [])]
        if identifier_ids:
            pairs = session.execute(
                select(NetworkKey.key, NetworkKey.entity_id).where(
                    NetworkKey.run_id == record.id, NetworkKey.key.in_([i[:260] for i in identifier_ids])
                )
            ).all()
            ents = {e.id: e for e in entity_nodes(p.entity_id for p in pairs)}
            for key, entity in pairs:
                if entity in ents:
                    k, _, v = key.partition(":")
                    reach(
                        entity_node(ents[entity]),
                        identifier_edge(entity_id=entity, kind=k, value=v, handling=record.handling),
                    )
        if by_kind.get("declaration"):
            dids = by_kind["declaration"]
            links = session.execute(
                select(NetworkLink.entity_id, NetworkLink.declaration_id, Party.role)
                .join(
                    Party, (Party.declaration_id == NetworkLink.declaration_id) & (Party.seq == NetworkLink.party_seq)
                )
                .where(NetworkLink.run_id == record.id, NetworkLink.declaration_id.in_(dids))
            ).all()
            ents = {e.id: e for e in entity_nodes(r.entity_id for r in links)}
            decls = {d.id: d for d in declaration_nodes(dids)}
            for entity, did, role in links:
                if entity in ents and did in decls:
                    d = decls[did]
                    reach(
                        entity_node(ents[entity]),
                        party_edge(
                            entity_id=entity,
                            declaration_id=did,
                            owner_org_id=d.owner_org_id,
                            handling=d.handling,
                            day=d.lodged_at.date(),
                            role=role,
                        ),
                    )
            for did, number in session.execute(
                select(Container.declaration_id, Container.number).where(Container.declaration_id.in_(dids))
            ):
                d = decls.get(did)
                if d is not None:
                    reach(
                        g.Node(id=node_id("container", number), kind="container", label=number),
                        container_edge(
                            number=number, declaration_id=did, owner_org_id=d.owner_org_id, handling=d.handling
                        ),
                    )
            for r in session.scalars(
                select(ControlResult).where(
                    ControlResult.outcome == Outcome.SEIZURE.value,
                    ControlResult.declaration_id.in_(dids),
                    visible_result,
                )
            ):
                reach(
                    seizure_node(r),
                    seizure_edge(
                        seizure_id=r.id,
                        target=node_id("declaration", r.declaration_id or ""),
                        owner_org_id=r.owner_org_id,
                        handling=r.handling,
                        day=r.recorded_at.date(),
                    ),
                )
        if by_kind.get("container"):
            rows = session.execute(
                select(Container.number, Declaration)
                .join(Declaration, Declaration.id == Container.declaration_id)
                .where(Container.number.in_(by_kind["container"]), visible_decl)
                .limit(limit)
            ).all()
            for number, d in rows:
                reach(
                    declaration_node(d),
                    container_edge(
                        number=number, declaration_id=d.id, owner_org_id=d.owner_org_id, handling=d.handling
                    ),
                )
        if by_kind.get("seizure"):
            for r in session.scalars(
                select(ControlResult).where(ControlResult.id.in_(by_kind["seizure"]), visible_result)
            ):
                for d in declaration_nodes([r.declaration_id] if r.declaration_id else []):
                    reach(
                        declaration_node(d),
                        seizure_edge(
                            seizure_id=r.id,
                            target=node_id("declaration", d.id),
                            owner_org_id=r.owner_org_id,
                            handling=r.handling,
                            day=r.recorded_at.date(),
                        ),
                    )
        frontier = list(found_next)
        found_next.clear()
    graph = g.build(nodes=nodes.values(), edges=edges.values())
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="network_view",
        object_id=f"{record.id}/{node}"[:80],  # audit_entries.object_id is String(80)
        legal_regime=record.legal_regime,
        justification=justification,
        detail={"hops": hops, "nodes": len(graph.nodes), "edges": len(graph.edges), "truncated": truncated},
    )
    return record, graph, truncated


def cytoscape(*, graph: g.Graph) -> dict[str, Any]:
    """The graph as Cytoscape.js elements (`{"nodes": [...], "edges": [...]}`), for the network page."""
    return {
        "nodes": [
            {
                "data": {
                    "id": n.id,
                    "label": n.label,
                    "kind": n.kind,
                    "handling": n.handling,
                    "risk": float(n.attrs.get("risk") or 0.0),
                    "community": n.attrs.get("community"),
                }
            }
            for n in graph.nodes
        ],
        "edges": [
            {
                "data": {
                    "id": f"{e.source}|{e.kind}|{e.target}",
                    "source": e.source,
                    "target": e.target,
                    "kind": e.kind,
                    "declaration": e.source_declaration_id,
                    "role": e.attrs.get("role"),
                }
            }
            for e in graph.edges
        ],
    }


def shortest_path(
    session: Session,
    *,
    actor: Principal,
    source: str,
    target: str,
    run_id: str | None = None,
    hops: int = 4,
    justification: str | None = None,
) -> g.Path | None:
    """The shortest path between two nodes within the part of the network `actor` may see around `source`."""
    _, graph, _ = around(
        session,
        actor=actor,
        node=source,
        hops=hops,
        run_id=run_id,
        justification=justification,
        limit=AROUND_LIMIT * 5,
    )
    if target not in graph:
        return None
    return g.shortest_path(graph=graph, source=source, target=target, avoid_hubs=False)


EXPORT_FORMATS = {
    "ftm": ("application/x-ndjson", "ftm.json"),
    "graphml": ("application/graphml+xml", "graphml"),
    "gexf": ("application/gexf+xml", "gexf"),
    "i2": ("application/zip", "i2.zip"),
}
"""Export format -> (media type, file extension): FollowTheMoney JSON lines, GraphML, GEXF, i2 CSVs in a zip."""


@dataclass(frozen=True)
class Export:
    """An exported network: the file's bytes, its media type and name, and what it holds."""

    data: bytes
    media_type: str
    filename: str
    run_id: str
    nodes: int
    edges: int
    truncated: bool


def export_around(
    session: Session,
    *,
    actor: Principal,
    node: str,
    hops: int = 2,
    format: str = "ftm",
    run_id: str | None = None,
    justification: str | None = None,
) -> Export:
    """The network `actor` may see around `node` as a file for the case file; every export is a disclosure in the
    audit chain (what, in which format, how many nodes and edges)."""
    import io
    import re
    import zipfile

    from portguard.network import exports

    if format not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {format!r} (one of {sorted(EXPORT_FORMATS)})", field="format")
    record, graph, truncated = around(
        session, actor=actor, node=node, hops=hops, run_id=run_id, justification=justification
    )
    if format == "ftm":
        data = exports.to_ftm(graph=graph)
    elif format == "graphml":
        data = exports.to_graphml(graph=graph)
    elif format == "gexf":
        data = exports.to_gexf(graph=graph)
    else:
        entities, links = exports.i2_csv(graph=graph)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("entities.csv", entities)
            archive.writestr("links.csv", links)
        data = buffer.getvalue()
    media_type, extension = EXPORT_FORMATS[format]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", node).strip("-.")[:80] or "network"
    audit.append(
        session,
        actor=actor,
        action=AuditAction.DISCLOSE,
        object_type="network_export",
        object_id=f"{record.id}/{node}"[:80],  # audit_entries.object_id is String(80)
        legal_regime=record.legal_regime,
        justification=justification,
        detail={
            "format": format,
            "hops": hops,
            "nodes": len(graph.nodes),
            "edges": len(graph.edges),
            "bytes": len(data),
            "truncated": truncated,
        },
    )
    return Export(
        data=data,
        media_type=media_type,
        filename=f"network-{stem}.{extension}",
        run_id=record.id,
        nodes=len(graph.nodes),
        edges=len(graph.edges),
        truncated=truncated,
    )


# ---------------------------------------------------------------- screening people and companies against the network


@dataclass(frozen=True)
class NetworkHit:
    """A subject (an employee, a party) that shares a phone, e-mail, account or address with an entity of a run."""

    record_id: str
    via: str  # phone | email | account | address
    value: str
    entity_id: str
    entity_label: str
    risk: float
    seized: bool  # the entity is party to a seized declaration
    run_id: str


def identifier_links(
    session: Session, *, actor: Principal, subjects: pd.DataFrame, justification: str
) -> list[NetworkHit]:
    """Which entities of the newest run `actor` may read share an identifier with each subject (columns record_id,
    and any of phone, email, iban, street, postcode, country). A reader who may see no run gets no hits: the
    network is customs' and police's, shared with whom they chose."""
    record = latest_run(session, actor=actor)
    if record is None or subjects.empty:
        return []
    frame = subjects.reindex(columns=["record_id", "phone", "email", "iban", "street", "postcode", "country"])
    wanted: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # node id -> (record id, kind, value)
    for row in frame.itertuples(index=False):
        for kind, value in identifier_keys(
            phone=row.phone,
            email=row.email,
            iban=row.iban,
            street=row.street,
            postcode=row.postcode,
            country=row.country,
        ):
            wanted[node_id(kind, value)[:260]].append((str(row.record_id), kind, value))
    if not wanted:
        return []
    hits: list[NetworkHit] = []
    keys = sorted(wanted)
    for start in range(0, len(keys), 500):
        rows = session.execute(
            select(NetworkKey.key, NetworkEntity)
            .join(
                NetworkEntity, (NetworkEntity.run_id == NetworkKey.run_id) & (NetworkEntity.id == NetworkKey.entity_id)
            )
            .where(NetworkKey.run_id == record.id, NetworkKey.key.in_(keys[start : start + 500]))
        ).all()
        for key, entity in rows:
            for record_id, kind, value in wanted[key]:
                hits.append(
                    NetworkHit(
                        record_id=record_id,
                        via=kind,
                        value=value,
                        entity_id=entity.id,
                        entity_label=entity.label,
                        risk=float(entity.risk),
                        seized=entity.hops_to_seizure is not None and entity.hops_to_seizure <= 2,
                        run_id=record.id,
                    )
                )
    audit.append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type="network_run",
        object_id=record.id,
        legal_regime=record.legal_regime,
        justification=justification,
        detail={"screened": len(frame), "hits": len(hits)},
    )
    hits.sort(key=lambda h: (-h.risk, h.record_id, h.entity_id))
    return hits
