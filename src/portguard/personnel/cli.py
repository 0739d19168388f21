"""CLI for personnel: import the staff register and access logs, list and show employees, their insider signals,
and screen them against the watch lists and the network.

Each command is an act of a person, named with `--as USERNAME`, checked against that person's organisation and
permissions and audited under their name, as through the API; police give `--justification`. Imports show a Rich
progress bar (on stderr, so `--json` stays clean) and write all rows or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from portguard.core.console import console, emit, err_console, progress_bar
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.personnel import service
from portguard.personnel import signals as insider
from portguard.personnel.models import Employee, Screening
from portguard.sharing import service as sharing

app = typer.Typer(help="Personnel: staff register, access logs, insider signals, screening.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOpt = Annotated[str, typer.Option("--as", help="Username of the person acting")]
ReasonOpt = Annotated[
    str | None, typer.Option("--justification", help="Why you consult the records (police: required)")
]


def _read(path: Path) -> str:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 text (byte {exc.start})") from None


def _row(employee: Employee) -> dict[str, Any]:
    today = service.utcnow().date()
    return {
        "id": employee.id,
        "name": employee.name,
        "badge_id": employee.badge_id,
        "job_role": employee.job_role,
        "vetting": employee.vetting_state(today),
        "vetting_expires": employee.vetting_expires.isoformat() if employee.vetting_expires else None,
        "expiring": employee.vetting_expiring(today),
        "shift": insider.shift_text(employee),
        "work_areas": list(employee.work_areas or []),
        "phone": employee.phone,
        "email": employee.email,
        "address": ", ".join(
            x
            for x in (employee.street, f"{employee.postcode or ''} {employee.city or ''}".strip(), employee.country)
            if x
        ),
        "active": employee.active,
        "handling": employee.handling,
        "owner_org_id": employee.owner_org_id,
    }


def _screening(s: Screening | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "id": s.id,
        "run_at": s.run_at,
        "justification": s.justification,
        "watchlist_hits": s.watchlist_hits,
        "network_hits": s.network_hits,
        "signal_counts": s.signal_counts,
    }


def _print_errors(exc: InvalidInput) -> None:
    for error in (exc.extra.get("errors") or [])[:20]:
        where = f"row {error['row']}" + (f", {error['field']}" if error.get("field") else "")
        err_console.print(f"  {where}: {error['msg']}", soft_wrap=True, markup=False)


@app.command("import")
def import_employees(
    path: Annotated[Path, typer.Argument(help="CSV with a header naming the employee fields")],
    as_user: AsOpt,
    sharing_group: Annotated[
        str | None, typer.Option("--sharing-group", help="Share AMBER with this group (id or name)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register or update (by badge id) the employees of a CSV file: all rows or none; twice changes nothing."""
    text = _read(path)
    total = max(0, len(text.splitlines()) - 1)
    with progress_bar(disable=as_json) as bar, from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        group = sharing.find_group(session, ref=sharing_group).id if sharing_group else None
        task = bar.add_task(f"importing {path.name}", total=total)
        try:
            report = service.import_employees(
                session,
                actor=actor,
                text=text,
                name=path.name,
                handling="AMBER" if group else "AMBER+STRICT",
                sharing_group_id=group,
                on_progress=lambda done: bar.update(task, completed=done),
            )
        except InvalidInput as exc:
            _print_errors(exc)
            raise
    out = report.as_dict()
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(
            f"[green]Imported[/] {path.name}: {out['created']} registered, {out['updated']} updated, "
            f"{out['unchanged']} unchanged ({out['rows']} rows)."
        )


@app.command("events")
def import_events(
    path: Annotated[Path, typer.Argument(help="Access events: JSON Lines (one a line) or CSV")],
    as_user: AsOpt,
    format: Annotated[str | None, typer.Option("--format", help="jsonl or csv (default: from the name)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a file of badge and system-access events of your staff: all rows or none; twice stores nothing."""
    text = _read(path)
    total = sum(1 for line in text.splitlines() if line.strip())
    with progress_bar(disable=as_json) as bar, from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        task = bar.add_task(f"recording {path.name}", total=total)
        try:
            report = service.import_events(
                session,
                actor=actor,
                text=text,
                name=path.name,
                format=format,
                on_progress=lambda done: bar.update(task, completed=done),
            )
        except InvalidInput as exc:
            _print_errors(exc)
            raise
    out = report.as_dict()
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(
            f"[green]Recorded[/] {out['accepted']} access events of {out['employees']} employees from {path.name} "
            f"({out['duplicates']} already stored)."
        )


@app.command("list")
def list_employees(
    as_user: AsOpt,
    justification: ReasonOpt = None,
    vetting: Annotated[
        str | None, typer.Option(help="pending, cleared, refused, expired (in effect today) or expiring")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="Part of the name or badge id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The employees you may see, by name, with their vetting in effect and their insider-signal counts."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        items, total, counts = service.overview(
            session, actor=actor, justification=justification, vetting=vetting, q=q, limit=limit
        )
        rows = [_row(e) | {"signals": counts.get(e.id, dict.fromkeys(insider.SIGNAL_KINDS, 0))} for e in items]
    if as_json:
        emit({"items": rows, "total": total}, as_json=True)
        return
    for row in rows:
        row["vetting"] = f"{row['vetting']}{' (expiring)' if row['expiring'] else ''}"
        row["signals"] = "/".join(str(row["signals"][k]) for k in insider.SIGNAL_KINDS)
    emit(
        rows,
        as_json=False,
        title=f"Employees ({total}) — signals: outside shift / look-ups outside areas / near a seized container",
        columns=["id", "name", "badge_id", "job_role", "vetting", "vetting_expires", "shift", "signals"],
    )


@app.command("show")
def show(
    employee_id: Annotated[str, typer.Argument(help="Employee id")],
    as_user: AsOpt,
    justification: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One employee: identity, vetting, the latest screening your organisation ran, and the insider signals."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        employee, events, signals, latest = service.employee_view(
            session, actor=actor, employee_id=employee_id, justification=justification
        )
        out = _row(employee) | {
            "access_events": len(events),
            "signals": [s.as_dict() for s in signals],
            "screening": _screening(latest),
        }
    if as_json:
        emit(out, as_json=True)
        return
    head = {k: v for k, v in out.items() if k not in ("signals", "screening")}
    emit([{"field": k, "value": v} for k, v in head.items()], as_json=False, title=employee.name)
    screening = out["screening"]
    if screening is None:
        console.print("Not screened by your organisation yet.")
    else:
        hits = screening["watchlist_hits"] + screening["network_hits"]
        console.print(f"Latest screening {screening['run_at']:%Y-%m-%d %H:%M} UTC: {len(hits)} hit(s).")
        for h in screening["watchlist_hits"]:
            console.print(f"  watch list {h.get('watchlist_name')}: {h.get('caption')} ({h.get('probability', 0):.0%})")
        for h in screening["network_hits"]:
            seized = ", party to a seizure" if h.get("seized") else ""
            console.print(f"  network: same {h.get('via')} {h.get('value')} as {h.get('entity_label')}{seized}")
    _print_signals(out["signals"])


def _print_signals(signals: list[dict[str, Any]]) -> None:
    if not signals:
        console.print("No insider signal.")
        return
    rows = [
        {"at": s["at"][:16].replace("T", " "), "kind": s["kind"], "who": s["employee_name"], "reason": s["reason"]}
        for s in signals
    ]
    emit(rows, as_json=False, title=f"Insider signals ({len(signals)})", columns=["at", "kind", "who", "reason"])


@app.command("signals")
def signals(
    as_user: AsOpt,
    employee: Annotated[list[str] | None, typer.Option("--employee", help="Only these employee ids")] = None,
    justification: ReasonOpt = None,
    tolerance: Annotated[int, typer.Option(min=0, max=360, help="Minutes either side of a shift")] = 15,
    window: Annotated[int, typer.Option(min=1, max=720, help="Hours before a seizure that count")] = 48,
    as_json: JsonOpt = False,
) -> None:
    """Insider signals of the staff you may see: access outside the shift, look-ups of containers outside the work
    areas, presence near a container later seized (from the seizures you may read)."""
    from datetime import timedelta

    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        found = service.insider_signals(
            session,
            actor=actor,
            employee_ids=employee or None,
            justification=justification,
            tolerance=timedelta(minutes=tolerance),
            window=timedelta(hours=window),
        )
        rows = [s.as_dict() for s in found]
    if as_json:
        emit(rows, as_json=True)
    else:
        _print_signals(rows)


@app.command("screen")
def screen(
    as_user: AsOpt,
    justification: Annotated[str, typer.Option("--justification", help="Why (e.g. 'periodic staff screening')")],
    employee: Annotated[list[str] | None, typer.Option("--employee", help="Only these employee ids")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Screen the staff you may see against the watch lists and the network you may see; kept for your
    organisation."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        done = service.screen(session, actor=actor, employee_ids=employee or None, justification=justification)
        names = service.employee_names(session, ids=[s.employee_id for s in done])
        rows = [
            {
                "employee_id": s.employee_id,
                "name": names.get(s.employee_id, s.employee_id),
                "watchlist_hits": len(s.watchlist_hits),
                "network_hits": len(s.network_hits),
                "signals": sum(s.signal_counts.values()),
                "screening": _screening(s),
            }
            for s in done
        ]
    if as_json:
        emit(rows, as_json=True)
        return
    flagged = [r for r in rows if r["watchlist_hits"] or r["network_hits"]]
    console.print(f"Screened {len(rows)} employees: {len(flagged)} with hits.")
    if flagged:
        emit(flagged, as_json=False, title="Hits", columns=["employee_id", "name", "watchlist_hits", "network_hits"])


@app.command("generate")
def generate(
    folder: Annotated[Path, typer.Argument(help="Where to write staff.csv and access.jsonl")],
    n: Annotated[int, typer.Option("--n", min=4, max=10_000, help="How many employees")] = 120,
    seed: Annotated[int, typer.Option(help="Same seed, same files")] = 7,
    prefix: Annotated[str, typer.Option(help="Badge id prefix")] = "DCT",
) -> None:
    """Write a terminal's synthetic staff and a week of their badge logs (no container look-ups: those need the
    tracking events of a database; `portguard demo` loads the full set)."""
    from portguard.personnel import generator

    gen = generator.generate(n=n, seed=seed, prefix=prefix)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "staff.csv").write_text(gen.employees_csv(), encoding="utf-8")
    (folder / "access.jsonl").write_text(gen.events_jsonl(), encoding="utf-8")
    console.print(
        f"{len(gen.employees)} employees and {len(gen.events)} access events written to {folder} (seed {seed})."
    )
