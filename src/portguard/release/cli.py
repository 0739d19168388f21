"""CLI for release rights: issue, pass on, assign, set the lights, check at the gate, list and show the chain.

Each step is an act of a person, named with `--as USERNAME`, checked against that person's organisation and
permissions and audited under their name, as through the API. A driver's identity token is never an argument (it
would land in the shell history and the process list): `gate` reads it from `PORTGUARD_DRIVER_TOKEN` or asks for it
without echo. `gate` exits with 2 when the pick-up is denied, so a gate script can tell.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from portguard.core.clock import utcnow
from portguard.core.console import console, emit
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.release import service
from portguard.release.models import DriverIn, ReleaseRight, ReleaseRightIn
from portguard.sharing import service as sharing

app = typer.Typer(help="Release rights: the secure chain from shipping line to driver and gate.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOpt = Annotated[str, typer.Option("--as", help="Username of the person acting")]
RightArg = Annotated[str, typer.Argument(help="Release right id")]


class Colour(StrEnum):
    GREEN = "green"
    RED = "red"


def _validated(model: type[Any], **values: Any) -> Any:
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {reason}" if where else reason) from None


def _row(right: ReleaseRight) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": right.id,
        "container_number": right.container_number,
        "transport_document": right.transport_document,
        "consignee": right.consignee,
        "issuer_org_id": right.issuer_org_id,
        "holder_org_id": right.holder_org_id,
        "terminal_org_id": right.terminal_org_id,
        "driver_id": right.driver_id,
        "status": right.effective_status(now),
        "expires_at": right.expires_at,
        "lights": right.lights(),
        "sharing_group_id": right.sharing_group_id,
        "used_at": right.used_at,
    }


def _lights(lights: dict[str, bool]) -> str:
    return " ".join(f"{name}:{'green' if ok else 'red'}" for name, ok in lights.items())


@app.command("issue")
def issue(
    container: Annotated[str, typer.Argument(help="Container number (ISO 6346)")],
    document: Annotated[str, typer.Option("--document", help="Transport document (B/L) number")],
    consignee: Annotated[str, typer.Option(help="Consignee name or EORI")],
    terminal: Annotated[str, typer.Option(help="Terminal operator (id or exact name)")],
    group: Annotated[str, typer.Option("--group", help="Sharing group (id or exact name) containing the terminal")],
    as_user: AsOpt,
    days: Annotated[int, typer.Option(min=1, max=90, help="Valid for this many days")] = 14,
    as_json: JsonOpt = False,
) -> None:
    """Issue a release right (a shipping line): the line holds it, its commercial light is green."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        data = _validated(
            ReleaseRightIn,
            container_number=container,
            transport_document=document,
            consignee=consignee,
            terminal_org_id=sharing.find_org(session, ref=terminal).id,
            sharing_group_id=sharing.find_group(session, ref=group).id,
            expires_at=utcnow() + timedelta(days=days),
        )
        out = _row(service.issue(session, actor=actor, data=data))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Issued release right {out['id']} for {out['container_number']} ({_lights(out['lights'])}).")


@app.command("transfer")
def transfer(
    right_id: RightArg,
    to: Annotated[str, typer.Option("--to", help="Forwarder or haulier (id or exact name)")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Pass a right on to a forwarder or haulier of its group (a user of the holding organisation)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        target = sharing.find_org(session, ref=to)
        out = _row(service.transfer(session, actor=actor, right_id=right_id, to_org_id=target.id))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Release right {right_id} is now held by {target.name}.")


@app.command("register-driver")
def register_driver(
    name: Annotated[str, typer.Argument(help="The driver's name")],
    document: Annotated[str, typer.Option("--document", help="Driving licence or ID document number")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Register a driver of your haulier; prints the identity token once (only its SHA-256 is kept)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        driver, token = service.register_driver(
            session, actor=actor, data=_validated(DriverIn, name=name, document_number=document)
        )
        out = {"id": driver.id, "name": driver.name, "haulier_org_id": driver.haulier_org_id, "token": token}
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Registered driver {out['name']} ({out['id']}). Identity token, shown once:")
        console.print(token, markup=False, highlight=False, soft_wrap=True)


@app.command("drivers")
def drivers(as_user: AsOpt, as_json: JsonOpt = False) -> None:
    """The drivers your haulier registered (never their tokens)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        rows = [
            {"id": d.id, "name": d.name, "document_number": d.document_number, "active": d.active}
            for d in service.list_drivers(session, actor=actor)
        ]
    emit(rows, as_json=as_json, title="Drivers", columns=["id", "name", "document_number", "active"])


@app.command("assign")
def assign(
    right_id: RightArg,
    driver: Annotated[str, typer.Option("--driver", help="Driver id")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Hand a right to a driver of the holding haulier."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        out = _row(service.assign_driver(session, actor=actor, right_id=right_id, driver_id=driver))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Release right {right_id} is with driver {driver}.")


@app.command("lights")
def lights(
    right_id: RightArg,
    as_user: AsOpt,
    customs: Annotated[Colour | None, typer.Option(help="Set the customs light (customs)")] = None,
    terminal: Annotated[Colour | None, typer.Option(help="Set the terminal light (the right's terminal)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the customs or terminal light green or red; without an option, show the three lights."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        right = None
        for light, colour in (("customs", customs), ("terminal", terminal)):
            if colour is not None:
                right = service.set_light(
                    session, actor=actor, right_id=right_id, light=light, ok=colour == Colour.GREEN
                )
        if right is None:
            right = service.get(session, actor=actor, right_id=right_id)
        out = right.lights()
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"{right_id}: {_lights(out)}")


@app.command("gate")
def gate(
    container: Annotated[str, typer.Argument(help="Container number at the gate")],
    as_user: AsOpt,
    token: Annotated[
        str,
        typer.Option(
            "--token",
            envvar="PORTGUARD_DRIVER_TOKEN",
            prompt="Driver's identity token",
            hide_input=True,
            show_envvar=True,
            help="Read from PORTGUARD_DRIVER_TOKEN, else asked for without echo",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Check a pick-up at your terminal: allowed or denied with the reason (exit code 2 when denied)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        decision = service.gate_check(session, actor=actor, container_number=container, driver_token=token)
        out = {
            "allowed": decision.allowed,
            "reason": decision.reason,
            "right_id": decision.right_id,
            "container_number": decision.container_number,
            "step_id": decision.step_id,
            "alert_ids": decision.alert_ids,
        }
    if as_json:
        emit(out, as_json=True)
    elif decision.allowed:
        console.print(f"[green]ALLOWED[/] {out['container_number']}: {decision.reason}", highlight=False)
    else:
        console.print(f"[red]DENIED[/] {out['container_number']}: {decision.reason}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(2)


@app.command("revoke")
def revoke(
    right_id: RightArg,
    reason: Annotated[str, typer.Option(help="Why the right is withdrawn")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a right (the issuing line)."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        out = _row(service.revoke(session, actor=actor, right_id=right_id, reason=reason))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Revoked release right {right_id}.")


@app.command("list")
def list_rights(
    as_user: AsOpt,
    container: Annotated[str | None, typer.Option(help="Only this container")] = None,
    status: Annotated[str | None, typer.Option(help="issued, at_driver, used, revoked or expired")] = None,
    held: Annotated[bool, typer.Option("--held", help="Only rights your organisation holds")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The release rights you may see, newest first, with their lights."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        items, total = service.list_rights(
            session, actor=actor, container_number=container, status=status, held=held, limit=limit
        )
        rows = [_row(r) for r in items]
        names = sharing.directory_names(session, ids=[r["holder_org_id"] for r in rows])
    if as_json:
        emit({"items": rows, "total": total}, as_json=True)
        return
    for row in rows:
        row["holder"] = names.get(row["holder_org_id"], row["holder_org_id"])
        row["lights"] = _lights(row["lights"])
    emit(
        rows,
        as_json=False,
        title=f"Release rights ({total})",
        columns=["id", "container_number", "transport_document", "consignee", "holder", "status", "lights"],
    )


@app.command("show")
def show(right_id: RightArg, as_user: AsOpt, as_json: JsonOpt = False) -> None:
    """One right and its chain of steps."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        right, steps = service.get_with_chain(session, actor=actor, right_id=right_id)
        out = _row(right)
        chain = [
            {
                "seq": s.seq,
                "action": s.action,
                "at": s.at,
                "by_org_id": s.by_org_id,
                "from_org_id": s.from_org_id,
                "to_org_id": s.to_org_id,
                "driver_id": s.driver_id,
                "light": s.light,
                "ok": s.ok,
                "reason": s.reason,
            }
            for s in steps
        ]
        ids = [i for s in chain for i in (s["by_org_id"], s["from_org_id"], s["to_org_id"])]
        names = sharing.directory_names(session, ids=[*ids, out["holder_org_id"], out["terminal_org_id"]])
    if as_json:
        emit({**out, "chain": chain}, as_json=True)
        return
    console.print(
        f"[bold]{out['container_number']}[/] {out['id']} · {out['status']} · held by "
        f"{names.get(out['holder_org_id'], out['holder_org_id'])} · {_lights(out['lights'])}",
        highlight=False,
    )
    for s in chain:
        s["by"] = names.get(s["by_org_id"] or "", s["by_org_id"])
        s["to"] = names.get(s["to_org_id"] or "", s["to_org_id"])
        s["what"] = f"{s['light']} {'green' if s['ok'] else 'red'}" if s["light"] else (s["reason"] or "")
    emit(chain, as_json=False, title="Chain", columns=["seq", "action", "at", "by", "to", "driver_id", "what"])
