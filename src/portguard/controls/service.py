"""Control orders and results: create, record, and read them under the access policy, with audit entries.

A result is the ground truth every rule backtest and model learns from, so recording one is an `alter` of the
declaration's record in the audit chain, and results are never edited in place: a correction is a new result.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlOrder, ControlOrderIn, ControlResult, ControlResultIn, Outcome
from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Principal, require_permission, visible_filter
from portguard.declarations import service as declarations


def create_order(session: Session, *, actor: Principal, data: ControlOrderIn) -> ControlOrder:
    """Order a documentary check, a scan or a physical inspection of a declaration or container."""
    require_permission(actor, "control:write")
    if data.declaration_id:
        declarations.get_declaration(session, actor=actor, declaration_id=data.declaration_id, justification="control")
    order = ControlOrder(
        id=new_id("ctl"),
        declaration_id=data.declaration_id,
        container_number=data.container_number,
        kind=data.kind.value,
        reason_kind=data.reason_kind.value,
        reasons=data.reasons,
        status="open",
        created_by=actor.user_id,
        created_at=utcnow(),
        owner_org_id=actor.org_id,
        handling=data.handling.value,
        legal_regime=data.legal_regime.value,
    )
    session.add(order)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="control_order",
        object_id=order.id,
        legal_regime=order.legal_regime,
        detail={"declaration_id": order.declaration_id, "kind": order.kind},
    )
    return order


def record_result(session: Session, *, actor: Principal, data: ControlResultIn) -> ControlResult:
    """Record what a control found; closes its order."""
    require_permission(actor, "control:write")
    declaration_id = data.declaration_id
    if data.order_id:
        order = session.get(ControlOrder, data.order_id)
        if order is None or order.owner_org_id != actor.org_id:
            raise NotFound(f"no control order {data.order_id}")
        if declaration_id and order.declaration_id and declaration_id != order.declaration_id:
            raise InvalidInput("the result names another declaration than its order", field="declaration_id")
        declaration_id = declaration_id or order.declaration_id
        order.status = "done"
    if declaration_id:
        declarations.get_declaration(session, actor=actor, declaration_id=declaration_id, justification="control")
    result = ControlResult(
        id=new_id("res"),
        order_id=data.order_id,
        declaration_id=declaration_id,
        container_number=data.container_number,
        outcome=data.outcome.value,
        critical=data.critical or data.outcome == Outcome.SEIZURE,
        goods=data.goods,
        quantity_kg=data.quantity_kg,
        drug_type=data.drug_type,
        concealment=data.concealment,
        officer=data.officer or actor.username,
        source="officer",
        recorded_at=data.recorded_at or utcnow(),
        owner_org_id=actor.org_id,
        handling=data.handling.value,
        legal_regime=data.legal_regime.value,
    )
    session.add(result)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="declaration",
        object_id=declaration_id or data.container_number,
        legal_regime=result.legal_regime,
        detail={"control_result": result.id, "outcome": result.outcome},
    )
    return result


def results_for(session: Session, *, actor: Principal, declaration_id: str) -> list[ControlResult]:
    """The control results of a declaration the actor may see, oldest first."""
    query = (
        select(ControlResult)
        .where(
            ControlResult.declaration_id == declaration_id,
            visible_filter(actor, ControlResult, justification="declaration page"),
        )
        .order_by(ControlResult.recorded_at)
    )
    return list(session.scalars(query).all())


def orders_for(session: Session, *, actor: Principal, declaration_id: str) -> list[ControlOrder]:
    """The control orders of a declaration the actor may see, newest first."""
    query = (
        select(ControlOrder)
        .where(
            ControlOrder.declaration_id == declaration_id,
            visible_filter(actor, ControlOrder, justification="declaration page"),
        )
        .order_by(ControlOrder.created_at.desc())
    )
    return list(session.scalars(query).all())
