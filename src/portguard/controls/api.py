"""HTTP for controls: order a control, record its result, read a declaration's controls."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from portguard.controls import service
from portguard.controls.models import ControlOrderIn, ControlResultIn
from portguard.core.deps import CurrentPrincipal, DbSession, require
from portguard.core.errors import PROBLEM_RESPONSES
from portguard.core.policy import Principal

router = APIRouter(prefix="/api/controls", tags=["controls"], responses=PROBLEM_RESPONSES)


class ControlOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    declaration_id: str | None
    container_number: str | None
    kind: str
    reason_kind: str
    reasons: dict[str, Any]
    status: str
    owner_org_id: str
    handling: str
    created_at: datetime


class ControlResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    order_id: str | None
    declaration_id: str | None
    container_number: str | None
    outcome: str
    critical: bool
    goods: str | None
    quantity_kg: Decimal | None
    drug_type: str | None
    concealment: str | None
    officer: str | None
    source: str
    recorded_at: datetime


class ControlsOut(BaseModel):
    orders: list[ControlOrderOut]
    results: list[ControlResultOut]


@router.post("/orders", response_model=ControlOrderOut, status_code=201, summary="Order a control")
def create_order(
    session: DbSession, principal: Annotated[Principal, Depends(require("control:write"))], data: ControlOrderIn
) -> Any:
    """A documentary check, scan or physical inspection of a declaration or a container, with its reason."""
    return service.create_order(session, actor=principal, data=data)


@router.post("/results", response_model=ControlResultOut, status_code=201, summary="Record a control result")
def record_result(
    session: DbSession, principal: Annotated[Principal, Depends(require("control:write"))], data: ControlResultIn
) -> Any:
    """What a control found (no finding, irregularity, seizure); closes the order."""
    return service.record_result(session, actor=principal, data=data)


@router.get("/declarations/{declaration_id}", response_model=ControlsOut, summary="Controls of a declaration")
def declaration_controls(session: DbSession, principal: CurrentPrincipal, declaration_id: str) -> Any:
    """Orders and results of one declaration that you may see."""
    return {
        "orders": service.orders_for(session, actor=principal, declaration_id=declaration_id),
        "results": service.results_for(session, actor=principal, declaration_id=declaration_id),
    }
