"""CLI for substances: seed, import and export the registry, register a substance, screen a line or a structure,
screen declarations, draft, send and answer drug alerts, and run the deliverer.

Each command is an act of a person, named with `--as USERNAME`, checked against that person's organisation and
permissions and audited under their name, as through the API. Long work (screening declarations) shows a Rich
progress bar on stderr, so `--json` stays clean. `deliver` is the one command without a person: it is the platform
working its queue of deliveries (and escalating overdue acknowledgements), as the API does after each sending.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from portguard.core.console import console, emit, progress_bar
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.core.settings import get_settings
from portguard.sharing import service as sharing
from portguard.substances import delivery, service
from portguard.substances.models import (
    AlertIn,
    DecideIn,
    DrugAlert,
    RecipientDecision,
    ScreenDeclarationsIn,
    ScreenTextIn,
    Sharing,
    Substance,
    SubstanceIn,
)

app = typer.Typer(help="Substances: registry, precursor screening, drug alerts.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOpt = Annotated[str, typer.Option("--as", help="Username of the person acting")]


def _row(substance: Substance) -> dict[str, Any]:
    return {
        "id": substance.id,
        "name": substance.name,
        "abbrev": substance.abbrev,
        "cas": substance.cas,
        "cn_code": substance.cn_code,
        "status": substance.label,
        "group": substance.group,
        "kind": substance.kind,
        "inchikey": substance.inchikey,
        "parent_id": substance.parent_id,
    }


def _alert_row(alert: DrugAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "type": alert.type,
        "title": alert.title,
        "status": alert.status,
        "sent_at": alert.sent_at,
        "owner_org_id": alert.owner_org_id,
    }


def _hits(hits: list[Any]) -> list[dict[str, Any]]:
    return [
        {"method": h.method.value, "strength": round(h.strength, 3), "substance": h.substance_name, "reason": h.reason}
        for h in hits
    ]


@app.command("seed")
def seed(as_user: AsOpt, as_json: JsonOpt = False) -> None:
    """Load the shared list of scheduled precursors (CLEAR, owned by your organisation); twice changes nothing."""
    settings = get_settings()
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        report = service.seed(session, actor=actor, data_dir=settings.shared_data_dir)
    out = {"created": report.created, "updated": report.updated, "problems": report.problems}
    if as_json:
        emit(out, as_json=True)
        return
    console.print(f"[green]Seeded[/] {report.created} substances, {report.updated} updated.")
    for problem in report.problems:
        console.print(f"  [yellow]problem[/] {problem}", markup=False)


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="CSV (the shared list's columns) or SDF")],
    as_user: AsOpt,
    handling: Annotated[str, typer.Option(help="CLEAR, GREEN, AMBER or AMBER+STRICT")] = "CLEAR",
    as_json: JsonOpt = False,
) -> None:
    """Create or update (by name) your organisation's substances from a file: all rows or none."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        report = service.import_file(
            session,
            actor=actor,
            content=path.read_bytes(),
            file_name=path.name,
            sharing=Sharing.model_validate({"handling": handling}),
        )
    out = {"created": report.created, "updated": report.updated, "problems": report.problems}
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"[green]Imported[/] {path.name}: {report.created} new, {report.updated} updated.")
        for problem in report.problems:
            console.print(f"  [yellow]problem[/] {problem}", markup=False)


@app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="Where to write (.csv or .sdf)")],
    as_user: AsOpt,
) -> None:
    """Write the substances you may see as CSV or SDF (by the file's extension)."""
    fmt = path.suffix.lower().lstrip(".")
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        body = service.export(session, actor=actor, fmt=fmt)
    path.write_bytes(body)
    console.print(f"[green]Wrote[/] {path} ({len(body):,} bytes).")


@app.command("list")
def list_substances(
    as_user: AsOpt,
    q: Annotated[str | None, typer.Option(help="part of a name, a CAS, an InChIKey")] = None,
    limit: int = 100,
    as_json: JsonOpt = False,
) -> None:
    """The substances you may see, by name."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        items, total = service.list_substances(session, actor=actor, q=q, limit=limit)
        rows = [_row(s) for s in items]
    emit(rows, as_json=as_json, columns=["id", "name", "abbrev", "cas", "status", "group"], title=f"{total} substances")


@app.command("register")
def register(
    name: Annotated[str, typer.Argument()],
    as_user: AsOpt,
    smiles: Annotated[str | None, typer.Option(help="the structure")] = None,
    cas: Annotated[str | None, typer.Option()] = None,
    synonym: Annotated[list[str] | None, typer.Option("--synonym", help="another name (repeatable)")] = None,
    handling: Annotated[str, typer.Option()] = "AMBER",
    as_json: JsonOpt = False,
) -> None:
    """Register a substance; an unscheduled structure is unmasked for the scheduled parent it hides."""
    data = SubstanceIn.model_validate(
        {"name": name, "smiles": smiles, "cas": cas, "synonyms": synonym or [], "handling": handling}
    )
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        substance = service.register(session, actor=actor, data=data)
        out = {**_row(substance), "parent_reason": substance.parent_reason}
    emit(out, as_json=as_json)


@app.command("screen")
def screen(
    as_user: AsOpt,
    description: Annotated[str | None, typer.Option(help="a goods description")] = None,
    hs_code: Annotated[str | None, typer.Option("--hs-code")] = None,
    smiles: Annotated[str | None, typer.Option(help="a structure")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Screen one goods line or one structure against the registry: the hits with their reasons."""
    data = ScreenTextIn(description=description, hs_code=hs_code, smiles=smiles)
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        hits = service.screen_text(session, actor=actor, data=data)
    rows = _hits(hits)
    if not rows and not as_json:
        console.print("No hit.")
        return
    emit(rows, as_json=as_json, columns=["method", "strength", "substance", "reason"])


@app.command("screen-declarations")
def screen_declarations(
    as_user: AsOpt,
    declaration: Annotated[list[str] | None, typer.Option("--declaration", help="an id (repeatable)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Screen the goods lines of every declaration you may read (or those named) and keep the hits."""
    data = ScreenDeclarationsIn(declaration_ids=declaration or [])
    with progress_bar(disable=as_json) as bar, from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        task = bar.add_task("screening declarations", total=None)
        report = service.screen_declarations(
            session, actor=actor, data=data, on_progress=lambda done: bar.update(task, completed=done)
        )
    out = report.__dict__
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(
            f"[green]Screened[/] {report.lines:,} goods lines of {report.declarations:,} declarations against "
            f"{report.substances} substances: {report.hits} hits on {report.flagged_declarations} declarations."
        )


@app.command("alert")
def draft_alert(
    path: Annotated[Path, typer.Argument(help="JSON file with the alert's fields (see POST /api/alerts)")],
    as_user: AsOpt,
    send: Annotated[bool, typer.Option("--send", help="send it at once")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Draft a drug alert from a JSON file, and send it with --send."""
    try:
        data = AlertIn.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        alert = service.draft_alert(session, actor=actor, data=data)
        recipients = service.send_alert(session, actor=actor, alert_id=alert.id) if send else []
        out = {**_alert_row(alert), "recipients": [r.org_id for r in recipients]}
    if send:
        delivery.deliver_now(db=from_settings(), settings=get_settings())
    emit(out, as_json=as_json)


@app.command("alerts")
def list_alerts(
    as_user: AsOpt,
    box: Annotated[str, typer.Option(help="inbox, sent, drafts or all")] = "all",
    as_json: JsonOpt = False,
) -> None:
    """The alerts you may see."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        items, total = service.list_alerts(session, actor=actor, box=box)
        rows = [_alert_row(a) for a in items]
    emit(rows, as_json=as_json, columns=["id", "type", "title", "status", "sent_at"], title=f"{total} alerts")


@app.command("decide")
def decide(
    alert_id: Annotated[str, typer.Argument()],
    decision: Annotated[RecipientDecision, typer.Argument(help="clear or object")],
    as_user: AsOpt,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record your authority's decision on an alert it received (acknowledging it)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        recipient = service.decide(session, actor=actor, alert_id=alert_id, data=DecideIn(decision=decision, note=note))
        console.print(f"[green]Recorded[/] {recipient.decision} for {alert_id}.")


@app.command("deliver")
def deliver(
    loop: Annotated[bool, typer.Option("--loop", help="keep working the queue until interrupted")] = False,
    interval: Annotated[float, typer.Option(help="seconds between rounds with --loop")] = 5.0,
    as_json: JsonOpt = False,
) -> None:
    """Work the queue: escalate overdue acknowledgements, then send the due deliveries (webhooks, NATS)."""
    settings = get_settings()
    db = from_settings()
    if not loop:
        report = delivery.deliver_now(db=db, settings=settings)
        emit(report.__dict__, as_json=as_json)
        return
    stop = threading.Event()
    try:
        delivery.run_worker(
            db=db,
            stop=stop,
            interval_s=interval,
            settings=settings,
            on_report=lambda r: console.print(f"delivered {r.delivered}, failed attempts {r.failed_attempts}"),
        )
    except KeyboardInterrupt:
        stop.set()
