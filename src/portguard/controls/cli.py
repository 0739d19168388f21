"""CLI for controls: order a control, record what it found, list a declaration's controls.

The officer is named with `--as USERNAME`: controls are acts of a person, checked against that person's
permissions and visibility like any request, and audited under their name.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from portguard.controls import service
from portguard.controls.models import ControlKind, ControlOrderIn, ControlResultIn, Outcome, ReasonKind
from portguard.core.console import console, emit
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.core.policy import Handling, LegalRegime
from portguard.declarations import service as declarations
from portguard.sharing import service as sharing

app = typer.Typer(help="Control orders and results (the feedback loop of targeting).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsOpt = Annotated[str, typer.Option("--as", help="Username of the officer acting")]


def _row(item: Any) -> dict[str, Any]:
    return {c.name: getattr(item, c.name) for c in item.__table__.columns}


def _validated(model: type[Any], **values: Any) -> Any:
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {reason}" if where else reason) from None


@app.command("order")
def order(
    declaration: Annotated[str, typer.Argument(help="Declaration id or reference")],
    kind: Annotated[ControlKind, typer.Option(help="documentary, scan or physical")],
    as_user: AsOpt,
    reason_kind: Annotated[ReasonKind, typer.Option("--reason-kind")] = ReasonKind.MANUAL,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Rule id that selected it (repeatable)")] = None,
    container: Annotated[str | None, typer.Option(help="Container number, for a container control")] = None,
    handling: Annotated[Handling, typer.Option()] = Handling.AMBER,
    as_json: JsonOpt = False,
) -> None:
    """Order a documentary check, a scan or a physical inspection."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        decl = declarations.find_declaration(session, actor=actor, ref=declaration)
        data = _validated(
            ControlOrderIn,
            declaration_id=decl.id,
            container_number=container,
            kind=kind,
            reason_kind=reason_kind,
            reasons={"rules": rule} if rule else {},
            handling=handling,
        )
        out = _row(service.create_order(session, actor=actor, data=data))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Ordered {out['kind']} control {out['id']} of {decl.id}.")


@app.command("record")
def record(
    declaration: Annotated[str, typer.Argument(help="Declaration id or reference")],
    outcome: Annotated[Outcome, typer.Option(help="no_finding, irregularity or seizure")],
    as_user: AsOpt,
    order_id: Annotated[str | None, typer.Option("--order", help="The control order this result closes")] = None,
    container: Annotated[str | None, typer.Option(help="Container number where it was found")] = None,
    goods: Annotated[str | None, typer.Option(help="What was found")] = None,
    quantity_kg: Annotated[Decimal | None, typer.Option("--quantity-kg", help="How much, in kg")] = None,
    drug_type: Annotated[str | None, typer.Option("--drug-type", help="e.g. cocaine")] = None,
    concealment: Annotated[str | None, typer.Option(help="e.g. rip-on/rip-off, in the cooling unit")] = None,
    officer: Annotated[str | None, typer.Option(help="Officer in charge (default: the --as user)")] = None,
    at: Annotated[datetime | None, typer.Option("--at", help="When (ISO 8601, UTC); default now")] = None,
    critical: Annotated[bool, typer.Option(help="A critical irregularity (a seizure always is)")] = False,
    handling: Annotated[Handling, typer.Option()] = Handling.AMBER,
    legal_regime: Annotated[LegalRegime, typer.Option("--legal-regime")] = LegalRegime.GDPR,
    as_json: JsonOpt = False,
) -> None:
    """Record the result of a control: what was found, how much, how it was hidden."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        decl = declarations.find_declaration(session, actor=actor, ref=declaration)
        data = _validated(
            ControlResultIn,
            order_id=order_id,
            declaration_id=decl.id,
            container_number=container,
            outcome=outcome,
            critical=critical,
            goods=goods,
            quantity_kg=quantity_kg,
            drug_type=drug_type,
            concealment=concealment,
            officer=officer,
            recorded_at=at,
            handling=handling,
            legal_regime=legal_regime,
        )
        out = _row(service.record_result(session, actor=actor, data=data))
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Recorded {out['outcome']} ({out['id']}) on {decl.id}.")


@app.command("list")
def list_controls(
    declaration: Annotated[str, typer.Argument(help="Declaration id or reference")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """The control orders and results of a declaration that the user may see."""
    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        decl = declarations.find_declaration(session, actor=actor, ref=declaration)
        orders = [_row(o) for o in service.orders_for(session, actor=actor, declaration_id=decl.id)]
        results = [_row(r) for r in service.results_for(session, actor=actor, declaration_id=decl.id)]
    if as_json:
        emit({"orders": orders, "results": results}, as_json=True)
        return
    emit(orders, as_json=False, title=f"Control orders of {decl.id}", columns=["id", "kind", "reason_kind", "status"])
    emit(
        results,
        as_json=False,
        title=f"Control results of {decl.id}",
        columns=["id", "outcome", "critical", "drug_type", "quantity_kg", "concealment", "officer", "recorded_at"],
    )
