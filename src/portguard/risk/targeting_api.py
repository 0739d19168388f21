"""HTTP for learned targeting: models (list, read, train), a declaration's score and explanation, and the daily
selection; and their pages (models with the precision curve, the selection queue with its capacity gauge).

Thin over `targeting`: every route authenticates and states its permission. Reading models needs `model:read`,
training `model:write`; selecting makes control orders, so it needs `control:write` as well.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from portguard.core.clock import midnight
from portguard.core.deps import DbSession, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput
from portguard.core.pages import render
from portguard.core.policy import Principal
from portguard.declarations import service as declarations
from portguard.risk import targeting
from portguard.risk.models import SelectionRun, TargetingModel
from portguard.sharing import service as sharing

router = APIRouter(prefix="/api", tags=["targeting"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)

ModelReader = Annotated[Principal, Depends(require("model:read"))]
ModelWriter = Annotated[Principal, Depends(require("model:write"))]
Selector = Annotated[Principal, Depends(require("control:write"))]


class ModelOut(BaseModel):
    id: str
    name: str
    status: str
    owner_org_id: str
    train_from: datetime
    train_to: datetime
    rows_train: int
    rows_valid: int
    features: list[str]
    metrics: dict[str, Any]
    created_at: datetime


class TrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date = Field(alias="from")
    end: date = Field(alias="to", description="day after the last; also the label cutoff")
    name: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _window(self) -> TrainIn:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class ScoreOut(BaseModel):
    model_id: str
    model_name: str
    probability: float
    contributions: list[dict[str, Any]]
    rules: list[str]


class SelectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    office: str = Field(min_length=1, max_length=12)
    capacity: int = Field(ge=1, le=10_000, strict=True)
    exploration: float | None = Field(default=None, ge=0.0, le=0.5, strict=True)


class SelectionOut(BaseModel):
    id: str
    office: str
    day: datetime
    capacity: int
    exploration: float
    declarations: int
    model_id: str | None
    counts: dict[str, int]
    items: list[dict[str, Any]]
    created_at: datetime


class ExplorationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exploration: float = Field(ge=0.0, le=0.5, strict=True)  # strict: `false` is not 0


def _model_out(record: TargetingModel) -> dict[str, Any]:
    return {c: getattr(record, c) for c in ModelOut.model_fields}


def _run_out(run: SelectionRun) -> dict[str, Any]:
    return {c: getattr(run, c) for c in SelectionOut.model_fields}


# ---------------------------------------------------------------- JSON


@router.get("/models", response_model=list[ModelOut], summary="Targeting models you may read")
def list_models(session: DbSession, principal: ModelReader) -> Any:
    """Newest first; one per organisation is `active`."""
    return [_model_out(m) for m in targeting.list_models(session, actor=principal)]


@router.get("/models/{model_id}", response_model=ModelOut, summary="One targeting model")
def get_model(session: DbSession, principal: ModelReader, model_id: str) -> Any:
    """Its training window, features and validation measures (precision curve, feature importance)."""
    return _model_out(targeting.get_model(session, actor=principal, model_id=model_id))


@router.post("/models/train", response_model=ModelOut, status_code=201, summary="Train a model")
def train_model(session: DbSession, principal: ModelWriter, data: TrainIn) -> Any:
    """Train on your organisation's control results lodged in [from, to); it becomes your active model."""
    record = targeting.train(
        session, actor=principal, start=midnight(data.start), end=midnight(data.end), name=data.name
    )
    return _model_out(record)


@router.get(
    "/declarations/{declaration_id}/score", response_model=ScoreOut | None, summary="A declaration's model score"
)
def declaration_score(session: DbSession, principal: ModelReader, declaration_id: str) -> Any:
    """The active model's probability of a finding and the features that moved it most (null without a model)."""
    declarations.get_declaration(session, actor=principal, declaration_id=declaration_id, justification="targeting")
    return targeting.explain_declaration(session, actor=principal, declaration_id=declaration_id)


@router.post("/selection", response_model=SelectionOut, status_code=201, summary="Select a day's controls")
def run_selection(
    session: DbSession,
    principal: Selector,
    _reader: ModelReader,
    data: SelectIn,
) -> Any:
    """Red-lane rules, campaign minimums, exploration, then the model's ranking, within `capacity`; creates a
    control order for each pick."""
    run = targeting.select(
        session,
        actor=principal,
        day=midnight(data.date),
        office=data.office,
        capacity=data.capacity,
        exploration=data.exploration,
    )
    return _run_out(run)


@router.get("/selection/{run_id}", response_model=SelectionOut, summary="One selection run")
def get_selection(session: DbSession, principal: Selector, run_id: str) -> Any:
    """What was selected, in order, with the reason for each pick and its control order."""
    return _run_out(targeting.get_run(session, actor=principal, run_id=run_id))


@router.put("/selection/settings/{office}", summary="Set an office's exploration share")
def set_exploration(session: DbSession, principal: ModelWriter, office: str, data: ExplorationIn) -> dict[str, Any]:
    """The share of the office's daily capacity kept for exploration (0–0.5; default 0.1)."""
    if not 1 <= len(office) <= 12:
        raise InvalidInput("an office code has 1 to 12 characters", field="office")
    setting = targeting.set_exploration(session, actor=principal, office=office, share=data.exploration)
    return {"office": setting.office, "exploration": setting.exploration}


# ---------------------------------------------------------------- pages


@pages.get("/declarations/{declaration_id}/score", response_class=HTMLResponse)
def declaration_score_part(
    request: Request, session: DbSession, principal: ModelReader, declaration_id: str
) -> Response:
    """The model score section of a declaration's page (loaded by htmx after the page: scoring takes a moment)."""
    declarations.get_declaration(session, actor=principal, declaration_id=declaration_id, justification="targeting")
    score = targeting.explain_declaration(session, actor=principal, declaration_id=declaration_id)
    chart = json.dumps(score["contributions"]) if score else "null"
    return render(request, "risk/_score.html", score=score, score_chart=chart)


@pages.get("/models", response_class=HTMLResponse)
def models_page(request: Request, session: DbSession, principal: ModelReader) -> Response:
    """The models you may read; the active one with its precision curve and what it relies on."""
    models = targeting.list_models(session, actor=principal)
    active = next((m for m in models if m.status == "active" and m.owner_org_id == principal.org_id), None)
    shown = active or (models[0] if models else None)
    names = sharing.directory_names(session, ids=[m.owner_org_id for m in models])
    return render(
        request,
        "risk/models.html",
        models=models,
        shown=shown,
        names=names,
        chart=json.dumps({"curve": shown.metrics.get("curve", []), "importance": shown.metrics.get("importance", [])})
        if shown
        else "null",
        can_train=principal.has("model:write"),
        today=date.today(),
    )


@pages.post("/models/train", response_class=HTMLResponse)
def models_train(
    request: Request,
    session: DbSession,
    principal: ModelWriter,
    start: Annotated[date, Form(alias="from")],
    end: Annotated[date, Form(alias="to")],
) -> Response:
    """Train from the models page; back to it with the new model shown."""
    if end <= start:
        raise InvalidInput("'To' must be after 'From'.", field="to")
    targeting.train(session, actor=principal, start=midnight(start), end=midnight(end))
    return Response(status_code=303, headers={"Location": "/models"})


@pages.get("/selection", response_class=HTMLResponse)
def selection_page(
    request: Request,
    session: DbSession,
    principal: Selector,
    _reader: ModelReader,
    run: Annotated[str, Query(max_length=40)] = "",
    office: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """The day's selection queue with its reasons and a capacity gauge, and the form to run one."""
    shown = (
        targeting.get_run(session, actor=principal, run_id=run)
        if run
        else targeting.latest_run(session, actor=principal, office=office or None)
    )
    offices = targeting.offices(session, actor=principal)
    refs = {}
    if shown is not None:
        refs = {i["declaration_id"]: i["declaration_id"].split(":", 1)[-1] for i in shown.items}
    default_office = office or (shown.office if shown else (offices[0] if offices else ""))
    return render(
        request,
        "risk/selection.html",
        run=shown,
        refs=refs,
        offices=offices,
        office=default_office,
        exploration=targeting.exploration_share(session, org_id=principal.org_id, office=default_office),
        model=targeting.active_model(session, org_id=principal.org_id),
        day=(shown.day.date() if shown else date.today()),
        gauge=json.dumps(
            {"capacity": shown.capacity, "counts": {k: v for k, v in shown.counts.items() if k != "already ordered"}}
        )
        if shown
        else "null",
    )


@pages.post("/selection", response_class=HTMLResponse)
def selection_run(
    request: Request,
    session: DbSession,
    principal: Selector,
    _reader: ModelReader,
    day: Annotated[date, Form(alias="date")],
    office: Annotated[str, Form(min_length=1, max_length=12)],
    capacity: Annotated[int, Form(ge=1, le=10_000)],
    exploration: Annotated[float | None, Form(ge=0.0, le=0.5)] = None,
) -> Response:
    """Run the selection from the page; shows the new queue. An empty exploration field: the office's share."""
    run = targeting.select(
        session, actor=principal, day=midnight(day), office=office, capacity=capacity, exploration=exploration
    )
    return Response(status_code=303, headers={"Location": f"/selection?run={run.id}"})
