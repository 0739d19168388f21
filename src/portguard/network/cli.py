"""CLI for the network: run and link with a progress bar, read runs, entities, communities and paths, export the
network around a node for the case file, and record an analyst's confirm or split.

Each command is an act of a person, named with `--as USERNAME`: it reads what that person may read, under their
organisation's access, and lands in the audit chain under their name, as through the API. An export is a
disclosure, audited with its format and size; the file is written where `--out` says.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from portguard.core.console import console, emit, progress_bar
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.core.policy import Handling
from portguard.network import service
from portguard.network.models import DecisionIn, DecisionKind, NetworkEntity, NetworkRun, RunIn
from portguard.sharing import service as sharing

app = typer.Typer(
    help="The network around seizures: entity resolution runs, entities, communities, paths, exports.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOpt = Annotated[str, typer.Option("--as", help="Username of the person acting")]
RunOpt = Annotated[str | None, typer.Option("--run", help="Network run id (default: the newest you may read)")]
GroupOpt = Annotated[str | None, typer.Option("--group", help="Share with this sharing group (id or exact name)")]
REASON = "network analysis (CLI)"


class Format(StrEnum):
    FTM = "ftm"
    GRAPHML = "graphml"
    GEXF = "gexf"
    I2 = "i2"


def _validated(model: type[Any], **values: Any) -> Any:
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {reason}" if where else reason) from None


def _run_row(run: NetworkRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "as_of": run.as_of,
        "declarations": run.declarations,
        "records": run.records,
        "entities": run.entities,
        "seizures": run.seizures,
        "nodes": run.nodes,
        "edges": run.edges,
        "communities": run.communities,
        "threshold": run.threshold,
        "model": bool((run.params or {}).get("model")),
        "seconds": run.seconds,
        "owner_org_id": run.owner_org_id,
        "handling": run.handling,
        "sharing_group_id": run.sharing_group_id,
    }


def _entity_row(e: NetworkEntity) -> dict[str, Any]:
    return {
        "id": e.id,
        "label": e.label,
        "names": list(e.names or []),
        "country": e.country,
        "roles": list(e.roles or []),
        "risk": round(float(e.risk), 4),
        "hops_to_seizure": e.hops_to_seizure,
        "community": e.community,
        "declarations": e.declarations,
        "records": e.records,
        "identifiers": dict(e.identifiers or {}),
    }


def _progress(as_json: bool) -> Any:
    return progress_bar(disable=as_json)


@app.command("run")
def run(
    as_user: AsOpt,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Seizures known at this moment count (default now; UTC)")
    ] = None,
    handling: Annotated[Handling, typer.Option(help="Handling code of the run")] = Handling.AMBER,
    group: GroupOpt = None,
    half_life: Annotated[float, typer.Option("--half-life", help="Days after which a seizure weighs half")] = 180.0,
    hop_decay: Annotated[float, typer.Option("--hop-decay", help="Share of risk passed on per link")] = 0.5,
    threshold: Annotated[float | None, typer.Option(help="Match probability that joins two records")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve the parties of every declaration you may read, map them around the seizures and spread risk."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        group_id = sharing.find_group(session, ref=group).id if group else None
        data = _validated(
            RunIn,
            as_of=as_of,
            handling=handling,
            sharing_group_id=group_id,
            half_life_days=half_life,
            hop_decay=hop_decay,
            threshold=threshold,
        )
        with _progress(as_json) as bar:
            task = bar.add_task("network run", total=6)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"network run: {stage}", completed=done, total=total)

            out = _run_row(service.run(session, actor=actor, data=data, on_progress=on_progress))
    if as_json:
        emit(out, as_json=True)
        return
    console.print(
        f"Network run {out['id']} as of {out['as_of']:%Y-%m-%d %H:%M} UTC: {out['declarations']:,} declarations, "
        f"{out['records']:,} party records -> {out['entities']:,} entities, {out['seizures']} seizure(s), "
        f"{out['communities']} communities ({out['seconds']:.1f} s).",
        highlight=False,
    )


@app.command("runs")
def runs(
    as_user: AsOpt,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The network runs you may read, newest first."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        items, total = service.list_runs(session, actor=actor, limit=limit)
        rows = [_run_row(r) for r in items]
        names = sharing.directory_names(session, ids=[r["owner_org_id"] for r in rows])
    if as_json:
        emit({"items": rows, "total": total}, as_json=True)
        return
    for row in rows:
        row["owner"] = names.get(row["owner_org_id"], row["owner_org_id"])
    emit(
        rows,
        as_json=False,
        title=f"Network runs ({total})",
        columns=["id", "as_of", "owner", "declarations", "entities", "seizures", "communities", "handling"],
    )


@app.command("link")
def link(
    as_user: AsOpt,
    run_id: Annotated[str | None, typer.Argument(help="Network run id (default: the newest you may read)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Attach the parties of declarations lodged since a run to its entities with its model (no retraining)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        with _progress(as_json) as bar:
            task = bar.add_task("linking", total=3)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"linking: {stage}", completed=done, total=total)

            report = service.link_declarations(session, actor=actor, run_id=run_id, on_progress=on_progress)
        out = {
            "run_id": report.run_id,
            "records": report.records,
            "attached": report.attached,
            "new_entities": report.new_entities,
            "seconds": report.seconds,
        }
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(
            f"Linked {out['records']:,} new party records to run {out['run_id']}: {out['attached']:,} to known "
            f"entities, {out['new_entities']:,} new entities ({out['seconds']:.1f} s).",
            highlight=False,
        )


@app.command("entities")
def entities(
    as_user: AsOpt,
    run_id: RunOpt = None,
    q: Annotated[str | None, typer.Option("--q", help="Label contains (any case)")] = None,
    community: Annotated[int | None, typer.Option(min=0, help="Only this community")] = None,
    min_risk: Annotated[float, typer.Option("--min-risk", min=0, max=1, help="Lowest network risk")] = 0.0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 25,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """The entities of a run, riskiest first."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        record, items, total = service.list_entities(
            session,
            actor=actor,
            run_id=run_id,
            q=q,
            community=community,
            min_risk=min_risk,
            limit=limit,
            offset=offset,
        )
        rows = [_entity_row(e) for e in items]
    if as_json:
        emit({"run_id": record.id, "items": rows, "total": total}, as_json=True)
        return
    emit(
        rows,
        as_json=False,
        title=f"Entities of run {record.id} ({total:,})",
        columns=["id", "label", "country", "risk", "hops_to_seizure", "community", "declarations", "roles"],
    )


@app.command("entity")
def entity(
    entity_id: Annotated[str, typer.Argument(help="Entity id (ent_...)")],
    as_user: AsOpt,
    run_id: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One entity: its profile, its party records and how each was linked, its declarations (seized or not)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        view = service.get_entity(session, actor=actor, entity_id=entity_id, run_id=run_id, justification=REASON)
        out = {
            "run_id": view.run.id,
            **_entity_row(view.entity),
            "records": view.records,
            "declarations": view.declarations,
            "watch_hits": [
                {"watchlist_id": h.watchlist_id, "entry_id": h.entry_id, "probability": h.probability}
                for h in view.watch_hits
            ],
            "decisions": [
                {"id": d.id, "kind": d.kind, "record": d.record, "other_record": d.other_record, "reason": d.reason}
                for d in view.decisions
            ],
        }
    if as_json:
        emit(out, as_json=True)
        return
    hops = out["hops_to_seizure"]
    near = f"{hops} links to a seizure" if hops is not None else "no seizure within reach"
    community = out["community"] if out["community"] is not None else "-"
    console.print(
        f"{out['label']} {out['id']} · risk {out['risk']:.3f} · {near} · community {community} · run {out['run_id']}",
        markup=False,
        highlight=False,
    )
    console.print(f"names: {' · '.join(out['names'])}", markup=False, highlight=False)
    for kind, values in sorted(out["identifiers"].items()):
        console.print(f"{kind}: {', '.join(values)}", markup=False, highlight=False)
    decls = [{**d, "seized": "SEIZED" if d["seized"] else ""} for d in out["declarations"]]
    emit(decls, as_json=False, title="Declarations", columns=["id", "ref", "lodged_at", "roles", "seized"])
    emit(
        out["records"],
        as_json=False,
        title="Party records",
        columns=["record", "role", "name", "eori", "country", "phone", "method", "probability"],
    )
    if out["watch_hits"]:
        emit(out["watch_hits"], as_json=False, title="Watch-list hits")


@app.command("communities")
def communities(
    as_user: AsOpt,
    run_id: RunOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 25,
    as_json: JsonOpt = False,
) -> None:
    """The communities of a run with more than one entity, the riskiest first."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        record, items = service.list_communities(session, actor=actor, run_id=run_id, limit=limit)
        rows = [
            {
                "community": c.number,
                "entities": c.entities,
                "max_risk": round(c.max_risk, 4),
                "declarations": c.declarations,
                "members": c.members,
            }
            for c in items
        ]
    if as_json:
        emit({"run_id": record.id, "items": rows}, as_json=True)
        return
    emit(rows, as_json=False, title=f"Communities of run {record.id}")


@app.command("path")
def path(
    source: Annotated[str, typer.Argument(help='From this node ("entity:ent_...", "phone:+31...", ...)')],
    target: Annotated[str, typer.Argument(help="To this node")],
    as_user: AsOpt,
    run_id: RunOpt = None,
    hops: Annotated[int, typer.Option(min=1, max=4, help="Search this far around the source")] = 4,
    as_json: JsonOpt = False,
) -> None:
    """How two nodes are linked: the shortest path within what you may see around the source (exit 2: none)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        found = service.shortest_path(session, actor=actor, source=source, target=target, run_id=run_id, hops=hops)
    out = {
        "source": source,
        "target": target,
        "found": found is not None,
        "node_ids": list(found.node_ids) if found else [],
        "edge_kinds": list(found.edge_kinds) if found else [],
    }
    if as_json:
        emit(out, as_json=True)
    elif found is None:
        console.print(f"No path from {source} to {target} within {hops} links.", markup=False, highlight=False)
    else:
        steps = [found.node_ids[0]]
        for kind, node in zip(found.edge_kinds, found.node_ids[1:], strict=True):
            steps.append(f"-[{kind}]- {node}")
        console.print(" ".join(steps), markup=False, highlight=False)
    if found is None:
        raise typer.Exit(2)


@app.command("export")
def export(
    node: Annotated[str, typer.Argument(help='Around this node ("entity:ent_...", "seizure:...", ...)')],
    as_user: AsOpt,
    out: Annotated[Path, typer.Option("--out", help="Write the file here (a directory: the suggested name)")],
    format: Annotated[Format, typer.Option("--format", help="ftm, graphml, gexf or i2 (a zip of two CSVs)")] = (
        Format.FTM
    ),
    hops: Annotated[int, typer.Option(min=0, max=4, help="Links out from the node")] = 2,
    run_id: RunOpt = None,
    reason: Annotated[str, typer.Option(help="Why it is disclosed (kept in the audit chain)")] = REASON,
    as_json: JsonOpt = False,
) -> None:
    """Export the network you may see around a node for the case file; the export is audited as a disclosure."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        exported = service.export_around(
            session, actor=actor, node=node, hops=hops, format=format.value, run_id=run_id, justification=reason
        )
    target = out / exported.filename if out.is_dir() else out
    target.write_bytes(exported.data)
    summary = {
        "file": str(target),
        "format": format.value,
        "run_id": exported.run_id,
        "nodes": exported.nodes,
        "edges": exported.edges,
        "truncated": exported.truncated,
        "bytes": len(exported.data),
    }
    if as_json:
        emit(summary, as_json=True)
    else:
        console.print(
            f"Wrote {target} ({format.value}, {exported.nodes} nodes, {exported.edges} edges"
            f"{', truncated' if exported.truncated else ''}).",
            markup=False,
            highlight=False,
        )


@app.command("decide")
def decide(
    kind: Annotated[DecisionKind, typer.Argument(help="confirm (two records are one entity) or split")],
    record: Annotated[str, typer.Argument(help='Party record "<declaration id>#<party seq>"')],
    as_user: AsOpt,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit chain)")],
    other: Annotated[str | None, typer.Option("--other", help="confirm: the other record of the same entity")] = None,
    handling: Annotated[Handling, typer.Option(help="Handling code of the decision")] = Handling.AMBER,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an analyst's confirm or split; every later run applies it."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        data = _validated(
            DecisionIn,
            kind=kind,
            record=record,
            other_record=other,
            reason=reason,
            handling=handling,
            sharing_group_id=sharing.find_group(session, ref=group).id if group else None,
        )
        decision = service.decide(session, actor=actor, data=data)
        out = {
            "id": decision.id,
            "kind": decision.kind,
            "record": decision.record,
            "other_record": decision.other_record,
            "reason": decision.reason,
            "handling": decision.handling,
        }
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Recorded {out['kind']} {out['id']} on {out['record']}: the next run applies it.", markup=False)
