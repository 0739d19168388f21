"""HTTP for the network: start and read runs, entities, communities, the graph around a node, paths and exports,
analysts' decisions, and watch lists; and their pages (runs and entities with the risk chart, one entity with its
records, the network view in Cytoscape.js, communities, watch lists).

Thin over `service` and `watchlists`. Every route needs `network:read` (customs and police analysts hold it);
starting a run, linking, deciding and erasing need `network:write`, watch lists `watchlist:read`/`watchlist:write`.
Routes that read declarations (an entity, the graph, a path, an export) take the reason for consulting them as
`X-Justification`; the service filters every declaration, container and seizure by the reader's own policy, so a
graph never shows a link from a record the reader may not see. An export is a disclosure: the service records it
in the audit chain with its format and size. A run over national volumes takes minutes: `background=true` answers
202 with a job (`GET /api/jobs/{id}`), as a large declaration ingest does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from portguard.core import jobs
from portguard.core.deps import DbSession, Justification, PageParams, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput, NotFound, PortGuardError
from portguard.core.pages import form_model, render
from portguard.core.policy import Handling, LegalRegime, Principal
from portguard.network import service, watchlists
from portguard.network.models import (
    DecisionIn,
    EntityDecision,
    NetworkEntity,
    NetworkRun,
    RunIn,
    WatchList,
    WatchListEntry,
)
from portguard.sharing import service as sharing
from portguard.sharing.models import Page

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require("network:read"))]
Writer = Annotated[Principal, Depends(require("network:write"))]
ListReader = Annotated[Principal, Depends(require("watchlist:read"))]
ListWriter = Annotated[Principal, Depends(require("watchlist:write"))]
NETWORK: list[str | Enum] = ["network"]
WATCHLISTS: list[str | Enum] = ["watchlists"]
PAGE_JUSTIFICATION = "network page"
MAX_WATCHLIST = 100 << 20  # OpenSanctions' crime and sanctions lists fit well below this; bigger files via the CLI
NodeParam = Annotated[
    str,
    Query(min_length=3, max_length=300, description='a node id "<kind>:<value>", e.g. entity:ent_…, declaration:…'),
]
HopsParam = Annotated[int, Query(ge=0, le=4, description="links out from the node")]
RunParam = Annotated[str | None, Query(max_length=40, description="the run (default: the newest you may read)")]


# ---------------------------------------------------------------- shapes


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    as_of: datetime = Field(description="seizures known at this moment count")
    status: str
    records: int = Field(description="party records resolved")
    entities: int
    declarations: int
    seizures: int
    nodes: int
    edges: int
    communities: int
    threshold: float = Field(description="match probability that joined two records")
    params: dict[str, Any]
    seconds: float
    created_by: str | None
    created_at: datetime
    owner_org_id: str
    handling: str
    sharing_group_id: str | None


class EntityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    run_id: str
    id: str
    label: str
    entity_type: str
    country: str | None
    records: int
    declarations: int
    names: list[str]
    identifiers: dict[str, list[str]]
    roles: list[str]
    risk: float = Field(description="propagated from seizures; 1 = the riskiest entity of the run")
    hops_to_seizure: int | None
    community: int | None
    degree: int
    betweenness: float
    watch_hits: int


class EntityPage(Page[EntityOut]):
    run_id: str


class RecordOut(BaseModel):
    record: str = Field(description='"<declaration id>#<party seq>"')
    declaration_id: str
    role: str
    name: str | None
    eori: str | None
    street: str | None
    city: str | None
    postcode: str | None
    country: str | None
    phone: str | None
    email: str | None
    iban: str | None
    method: str = Field(description="model, incremental, confirmed or split")
    probability: float | None = Field(description="match probability of the link that decided the record")


class LinkedDeclarationOut(BaseModel):
    id: str
    ref: str
    lodged_at: datetime
    roles: list[str]
    seized: bool


class WatchHitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    watchlist_id: str
    entry_id: str
    probability: float
    reasons: list[list[Any]]


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    record: str
    other_record: str | None
    reason: str
    created_by: str | None
    created_at: datetime
    owner_org_id: str
    handling: str
    sharing_group_id: str | None


class EntityDetail(BaseModel):
    run_id: str
    entity: EntityOut
    records: list[RecordOut]
    declarations: list[LinkedDeclarationOut]
    watch_hits: list[WatchHitOut]
    decisions: list[DecisionOut]


class CommunityOut(BaseModel):
    number: int
    entities: int
    max_risk: float
    declarations: int
    members: list[str] = Field(description="labels of the riskiest members")


class CommunitiesOut(BaseModel):
    run_id: str
    items: list[CommunityOut]


class GraphOut(BaseModel):
    run_id: str
    node: str
    hops: int
    nodes: int
    edges: int
    truncated: bool = Field(description=f"the view stopped at {service.AROUND_LIMIT} nodes, nearest first")
    elements: dict[str, list[dict[str, Any]]] = Field(description="Cytoscape.js elements: nodes and edges")


class PathOut(BaseModel):
    source: str
    target: str
    found: bool
    node_ids: list[str]
    edge_kinds: list[str]


class LinkOut(BaseModel):
    run_id: str
    records: int
    attached: int = Field(description="records attached to an entity the run knew")
    new_entities: int
    seconds: float


class WatchListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    source: str
    file_sha256: str
    entries: int
    skipped: int = Field(description="entities of the file that are not people, companies or organisations")
    created_by: str | None
    created_at: datetime
    owner_org_id: str
    handling: str
    legal_regime: str
    sharing_group_id: str | None


class WatchListEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    watchlist_id: str
    id: str
    schema_: str = Field(alias="schema", serialization_alias="schema")
    caption: str
    names: list[str]
    countries: list[str]
    phones: list[str]
    emails: list[str]
    addresses: list[str]
    identifiers: dict[str, list[str]]
    birth_dates: list[str]
    topics: list[str]


def run_out(run: NetworkRun) -> RunOut:
    """The API shape of a run."""
    return RunOut.model_validate(run)


def entity_out(entity: NetworkEntity) -> EntityOut:
    """The API shape of an entity."""
    return EntityOut.model_validate(entity)


def decision_out(decision: EntityDecision) -> DecisionOut:
    """The API shape of an analyst's decision."""
    return DecisionOut.model_validate(decision)


def entity_detail(view: service.EntityView) -> EntityDetail:
    """The API shape of an entity with its records, declarations, watch-list hits and decisions."""
    return EntityDetail(
        run_id=view.run.id,
        entity=entity_out(view.entity),
        records=[RecordOut(**r) for r in view.records],
        declarations=[LinkedDeclarationOut(**d) for d in view.declarations],
        watch_hits=[WatchHitOut.model_validate(h) for h in view.watch_hits],
        decisions=[decision_out(d) for d in view.decisions],
    )


def watchlist_out(watchlist: WatchList) -> WatchListOut:
    """The API shape of a watch list."""
    return WatchListOut.model_validate(watchlist)


def entry_out(entry: WatchListEntry) -> WatchListEntryOut:
    """The API shape of a watch-list entry."""
    return WatchListEntryOut.model_validate(entry)


def _background(request: Request, principal: Principal, *, kind: str, work: Any) -> JSONResponse:
    """Start `work(session, on_progress)` as a job with a session of its own; answer 202 with the job. The job's
    total is the number of stages the service reports (known from its first report)."""
    db = request.app.state.db
    started: dict[str, jobs.Job] = {}

    def run(progress: jobs.Progress) -> dict[str, Any]:
        def on_progress(stage: str, done: int, total: int) -> None:
            if "job" in started:
                started["job"].total = total
            progress(done)

        with db.session() as job_session:
            return dict(work(job_session, on_progress))

    job = request.app.state.jobs.start(
        kind=kind, owner_org_id=principal.org_id, user_id=principal.user_id, total=None, work=run
    )
    started["job"] = job
    return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


JOB_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {"model": jobs.JobOut, "description": "background=true: the job to poll (Location header)"}
}


# ---------------------------------------------------------------- JSON API: runs


@router.post(
    "/network/runs",
    response_model=RunOut,
    status_code=201,
    tags=NETWORK,
    summary="Start a network run",
    responses=JOB_RESPONSE,
)
def start_run(
    request: Request,
    session: DbSession,
    principal: Writer,
    data: RunIn,
    background: Annotated[bool, Query(description="answer 202 at once and run in the background")] = False,
) -> Any:
    """Resolve the parties of every declaration you may read into entities, map them around the seizures known at
    `as_of`, spread risk and find communities; kept as a run with the handling code and sharing group given.

    With `background=true` the answer is 202 with a job (`GET /api/jobs/{id}`: stages done of how many, and the run as
    its result) — for national volumes, where a run takes minutes."""
    if not background:
        return run_out(service.run(session, actor=principal, data=data))

    def work(job_session: Session, progress: service.Progress) -> dict[str, Any]:
        record = service.run(job_session, actor=principal, data=data, on_progress=progress)
        return run_out(record).model_dump(mode="json")

    return _background(request, principal, kind="network.run", work=work)


@router.get("/network/runs", response_model=Page[RunOut], tags=NETWORK, summary="List network runs you may see")
def list_runs(session: DbSession, principal: Reader, paging: Paging) -> Any:
    """Runs of your organisation and those shared with it, newest `as_of` first."""
    items, total = service.list_runs(session, actor=principal, limit=paging.limit, offset=paging.offset)
    return paging.page([run_out(r) for r in items], total)


@router.get("/network/runs/{run_id}", response_model=RunOut, tags=NETWORK, summary="Read a network run")
def get_run(session: DbSession, principal: Reader, run_id: str) -> Any:
    """One run: when, over how many declarations and records, what it found, and with which parameters."""
    return run_out(service.get_run(session, actor=principal, run_id=run_id))


@router.post(
    "/network/runs/{run_id}/link",
    response_model=LinkOut,
    tags=NETWORK,
    summary="Link new declarations to a run",
    responses=JOB_RESPONSE,
)
def link_run(
    request: Request,
    session: DbSession,
    principal: Writer,
    run_id: str,
    background: Annotated[bool, Query(description="answer 202 at once and link in the background")] = False,
) -> Any:
    """Attach the parties of declarations lodged since the run to its entities with its trained model (no
    retraining); a record that matches none becomes a new entity. Only the organisation that ran it adds to it."""

    def link(job_session: Session, progress: service.Progress | None = None) -> dict[str, Any]:
        report = service.link_declarations(
            job_session, actor=principal, run_id=run_id, on_progress=progress or (lambda stage, done, total: None)
        )
        return LinkOut(
            run_id=report.run_id,
            records=report.records,
            attached=report.attached,
            new_entities=report.new_entities,
            seconds=report.seconds,
        ).model_dump()

    if not background:
        return link(session)
    service.get_run(session, actor=principal, run_id=run_id)  # a run the caller cannot read is a 404 now
    return _background(request, principal, kind="network.link", work=link)


@router.delete("/network/runs/{run_id}", status_code=204, tags=NETWORK, summary="Erase a network run")
def drop_run(session: DbSession, principal: Writer, run_id: str) -> Response:
    """Erase a run with its entities, links, keys and watch-list hits (the organisation that ran it only)."""
    service.drop_run(session, actor=principal, run_id=run_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- JSON API: entities, communities, graph


@router.get("/network/entities", response_model=EntityPage, tags=NETWORK, summary="List the entities of a run")
def list_entities(
    session: DbSession,
    principal: Reader,
    paging: Paging,
    run_id: RunParam = None,
    q: Annotated[str | None, Query(max_length=200, description="label contains (any case)")] = None,
    community: Annotated[int | None, Query(ge=0)] = None,
    min_risk: Annotated[float, Query(ge=0, le=1)] = 0.0,
) -> Any:
    """The entities of a run, riskiest first; filter by label, community and lowest risk."""
    record, items, total = service.list_entities(
        session,
        actor=principal,
        run_id=run_id,
        q=q,
        community=community,
        min_risk=min_risk,
        limit=paging.limit,
        offset=paging.offset,
    )
    return {**paging.page([entity_out(e) for e in items], total), "run_id": record.id}


@router.get("/network/entities/{entity_id}", response_model=EntityDetail, tags=NETWORK, summary="Read an entity")
def get_entity(
    session: DbSession, principal: Reader, entity_id: str, justification: Justification, run_id: RunParam = None
) -> Any:
    """One entity with its party records (and how each was linked), the declarations you may see that name it
    (seized or not), its watch-list hits and the analysts' decisions on its records."""
    view = service.get_entity(session, actor=principal, entity_id=entity_id, run_id=run_id, justification=justification)
    return entity_detail(view)


@router.get(
    "/network/communities", response_model=CommunitiesOut, tags=NETWORK, summary="List the communities of a run"
)
def list_communities(
    session: DbSession,
    principal: Reader,
    run_id: RunParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Communities (Leiden) of more than one entity, the riskiest first, with their size and riskiest members."""
    record, items = service.list_communities(session, actor=principal, run_id=run_id, limit=limit)
    return CommunitiesOut(
        run_id=record.id,
        items=[
            CommunityOut(
                number=c.number,
                entities=c.entities,
                max_risk=c.max_risk,
                declarations=c.declarations,
                members=c.members,
            )
            for c in items
        ],
    )


@router.get("/network/graph", response_model=GraphOut, tags=NETWORK, summary="The network around a node")
def graph_around(
    session: DbSession,
    principal: Reader,
    node: NodeParam,
    justification: Justification,
    hops: HopsParam = 2,
    run_id: RunParam = None,
) -> Any:
    """The nodes within `hops` links of `node` and the edges among them, as Cytoscape.js elements: entities and
    identifiers as the run found them, declarations, containers and seizures as you may see them now. At most
    400 nodes, nearest first (`truncated` says so); expand from a node with `hops=1`."""
    record, graph, truncated = service.around(
        session, actor=principal, node=node, hops=hops, run_id=run_id, justification=justification
    )
    return GraphOut(
        run_id=record.id,
        node=node,
        hops=hops,
        nodes=len(graph.nodes),
        edges=len(graph.edges),
        truncated=truncated,
        elements=service.cytoscape(graph=graph),
    )


@router.get("/network/path", response_model=PathOut, tags=NETWORK, summary="How two nodes are linked")
def path_between(
    session: DbSession,
    principal: Reader,
    source: NodeParam,
    target: NodeParam,
    justification: Justification,
    hops: Annotated[int, Query(ge=1, le=4, description="search this far around the source")] = 4,
    run_id: RunParam = None,
) -> Any:
    """The shortest path from `source` to `target` within the part of the network you may see around `source`;
    `found` is false when they are not linked within `hops`."""
    found = service.shortest_path(
        session,
        actor=principal,
        source=source,
        target=target,
        run_id=run_id,
        hops=hops,
        justification=justification,
    )
    return PathOut(
        source=source,
        target=target,
        found=found is not None,
        node_ids=list(found.node_ids) if found else [],
        edge_kinds=list(found.edge_kinds) if found else [],
    )


@router.get(
    "/network/export",
    tags=NETWORK,
    summary="Export the network around a node",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media, _ in service.EXPORT_FORMATS.values()},
            "description": "FtM JSON lines, GraphML, GEXF, or a zip of i2's entities.csv and links.csv",
        }
    },
)
def export_around(
    session: DbSession,
    principal: Reader,
    node: NodeParam,
    justification: Justification,
    hops: HopsParam = 2,
    format: Annotated[Literal["ftm", "graphml", "gexf", "i2"], Query(description="file format")] = "ftm",
    run_id: RunParam = None,
) -> Response:
    """What the graph view shows around `node`, as a file for the case file: each node and edge keeps its kind,
    handling code, owner organisation and provenance. Every export is a disclosure in the audit chain."""
    out = service.export_around(
        session, actor=principal, node=node, hops=hops, format=format, run_id=run_id, justification=justification
    )
    return Response(
        out.data,
        media_type=out.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{out.filename}"',
            "X-Network-Run": out.run_id,
            "X-Network-Truncated": "true" if out.truncated else "false",
        },
    )


@router.post(
    "/network/decisions", response_model=DecisionOut, status_code=201, tags=NETWORK, summary="Confirm or split"
)
def decide(session: DbSession, principal: Writer, data: DecisionIn) -> Any:
    """Record an analyst's decision on party records: `confirm` two records as one entity, or `split` a record out
    of its entity. Kept across runs; every later run of a user who may see it applies it."""
    return decision_out(service.decide(session, actor=principal, data=data))


# ---------------------------------------------------------------- JSON API: watch lists


def _read_upload(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_WATCHLIST + 1)
    if len(data) > MAX_WATCHLIST:
        raise InvalidInput(f"the file is larger than {MAX_WATCHLIST >> 20} MiB", field="file")
    return data


def _handling(value: str) -> Handling:
    try:
        return Handling(value)
    except ValueError:
        raise InvalidInput(f"unknown handling code {value!r}", field="handling") from None


def _regime(value: str) -> LegalRegime:
    try:
        return LegalRegime(value)
    except ValueError:
        raise InvalidInput(f"unknown legal regime {value!r}", field="legal_regime") from None


@router.post(
    "/watchlists", response_model=WatchListOut, status_code=201, tags=WATCHLISTS, summary="Import a watch list"
)
def import_watchlist(
    session: DbSession,
    principal: ListWriter,
    file: Annotated[UploadFile, File(description="FollowTheMoney entities: JSON lines or a JSON array")],
    name: Annotated[str, Form(max_length=200)] = "",
    source: Annotated[str, Form(max_length=300)] = "",
    handling: Annotated[str, Form()] = "AMBER",
    legal_regime: Annotated[str, Form()] = "GDPR",
    sharing_group_id: Annotated[str | None, Form(description="AMBER: also for this group's members")] = None,
) -> Any:
    """Import a FollowTheMoney entity file (OpenSanctions, Aleph) as a watch list of your organisation: every
    person, company and organisation of it or nothing (errors name the line); the same content again returns the
    list already stored."""
    try:
        watchlist = watchlists.import_watchlist(
            session,
            actor=principal,
            data=_read_upload(file),
            name=name or (file.filename or ""),
            source=source,
            handling=_handling(handling),
            sharing_group_id=sharing_group_id or None,
            legal_regime=_regime(legal_regime),
        )
    except InvalidInput as exc:
        raise _with_locations(exc) from None
    return watchlist_out(watchlist)


def _with_locations(exc: InvalidInput) -> InvalidInput:
    """The file's line errors in the shape of the API's other 422 errors (`loc`, `msg`, `type`), keeping the line,
    field and value each names."""
    lines = exc.extra.get("errors")
    if not lines:
        return exc
    errors = [
        {
            "loc": ["body", "file", f"line {e.get('line')}", *([e["field"]] if e.get("field") else [])],
            "msg": e.get("reason", ""),
            "type": "ftm_invalid",
            **e,
        }
        for e in lines
    ]
    return InvalidInput(exc.detail, **{**exc.extra, "errors": errors})


@router.get("/watchlists", response_model=list[WatchListOut], tags=WATCHLISTS, summary="List watch lists")
def list_watchlists(session: DbSession, principal: ListReader, justification: Justification) -> Any:
    """The watch lists you may read, by name (LED lists only with `X-Justification`)."""
    return [watchlist_out(w) for w in watchlists.list_watchlists(session, actor=principal, justification=justification)]


@router.get("/watchlists/{watchlist_id}", response_model=WatchListOut, tags=WATCHLISTS, summary="Read a watch list")
def get_watchlist(session: DbSession, principal: ListReader, watchlist_id: str, justification: Justification) -> Any:
    """One watch list: its name, source, size and marking."""
    return watchlist_out(
        watchlists.get_watchlist(session, actor=principal, watchlist_id=watchlist_id, justification=justification)
    )


@router.get(
    "/watchlists/{watchlist_id}/entries",
    response_model=Page[WatchListEntryOut],
    tags=WATCHLISTS,
    summary="List a watch list's entries",
)
def list_entries(
    session: DbSession,
    principal: ListReader,
    watchlist_id: str,
    paging: Paging,
    justification: Justification,
    q: Annotated[str | None, Query(max_length=200, description="id, or caption or a name contains")] = None,
) -> Any:
    """The entries of a watch list by caption (`q`: the id, or a caption or name containing it, any case or
    script), with the names, countries, phones, e-mails, addresses and identifiers screening compares."""
    items, total = watchlists.list_entries(
        session,
        actor=principal,
        watchlist_id=watchlist_id,
        q=q,
        justification=justification,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page([entry_out(e) for e in items], total)


# ---------------------------------------------------------------- pages


def _network_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    paging: PageParams,
    run_id: str | None = None,
    q: str = "",
    community: int | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    runs, runs_total = service.list_runs(session, actor=principal, limit=10)
    context: dict[str, Any] = {"runs": runs, "runs_total": runs_total, "run": None, "entities": [], "total": 0}
    if runs or run_id:
        run, entities, total = service.list_entities(
            session,
            actor=principal,
            run_id=run_id or None,
            q=q or None,
            community=community,
            limit=paging.limit,
            offset=paging.offset,
        )
        _, risky, risky_total = service.list_entities(
            session, actor=principal, run_id=run.id, min_risk=0.001, limit=2000
        )
        context.update(
            run=run,
            entities=entities,
            total=total,
            risky_total=risky_total,
            risk_values=json.dumps([round(e.risk, 3) for e in risky]),
        )
    ids: list[str | None] = [principal.org_id]
    for r in runs:
        ids += [r.owner_org_id, r.sharing_group_id]
    return render(
        request,
        "network/list.html",
        status_code=status_code,
        **context,
        paging=paging,
        q=q,
        community=community,
        names=sharing.directory_names(session, ids=ids),
        groups=sharing.group_choices(session, actor=principal),
        handlings=[h.value for h in Handling if h != Handling.RED],
        can_write=principal.has("network:write"),
        **extra,
    )


@pages.get("/network", response_class=HTMLResponse)
def network_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    paging: Paging,
    run_id: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    community: Annotated[str, Query(max_length=10, pattern=r"^[0-9]*$", description="empty: any")] = "",
    linked: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Runs, the chosen run's figures and risk chart, and its entities riskiest first with a search."""
    number = int(community) if community else None
    return _network_page(
        request, session, principal, paging=paging, run_id=run_id, q=q, community=number, linked=linked
    )


@pages.post("/network/runs", response_class=HTMLResponse)
def network_run_now(
    request: Request,
    session: DbSession,
    principal: Writer,
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
    as_of: Annotated[str, Form(max_length=10, description="YYYY-MM-DD, end of that day (UTC)")] = "",
) -> Response:
    """Run the network now from the page; on to the new run."""
    try:
        when = None
        if as_of:
            try:
                day = datetime.strptime(as_of, "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise InvalidInput(f"as of {as_of!r} is not a date (YYYY-MM-DD)", field="as_of") from None
            when = day.replace(hour=23, minute=59, second=59)
        data = form_model(RunIn, handling=handling, sharing_group_id=sharing_group_id or None, as_of=when)
        record = service.run(session, actor=principal, data=data)
    except PortGuardError as exc:
        return _network_page(request, session, principal, paging=PageParams(), status_code=exc.status, error=exc.detail)
    return Response(status_code=303, headers={"Location": f"/network?run_id={record.id}"})


@pages.post("/network/runs/{run_id}/link", response_class=HTMLResponse)
def network_link_now(request: Request, session: DbSession, principal: Writer, run_id: str) -> Response:
    """Attach the declarations lodged since the run to its entities, from the page."""
    try:
        report = service.link_declarations(session, actor=principal, run_id=run_id)
    except PortGuardError as exc:
        return _network_page(
            request, session, principal, paging=PageParams(), run_id=run_id, status_code=exc.status, error=exc.detail
        )
    note = f"{report.records} records linked: {report.attached} to known entities, {report.new_entities} new"
    return Response(status_code=303, headers={"Location": f"/network?{_query(run_id=run_id, linked=note)}"})


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _entity_page(
    request: Request,
    session: Session,
    principal: Principal,
    entity_id: str,
    *,
    run_id: str | None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    view = service.get_entity(
        session, actor=principal, entity_id=entity_id, run_id=run_id, justification=PAGE_JUSTIFICATION
    )
    ids: list[str | None] = [view.run.owner_org_id, view.run.sharing_group_id]
    ids += [d.owner_org_id for d in view.decisions]
    lists = {h.watchlist_id for h in view.watch_hits}
    list_names: dict[str, str] = {}
    if lists and principal.has("watchlist:read"):
        list_names = {
            w.id: w.name
            for w in watchlists.list_watchlists(session, actor=principal, justification=PAGE_JUSTIFICATION)
            if w.id in lists
        }
    return render(
        request,
        "network/entity.html",
        status_code=status_code,
        view=view,
        e=view.entity,
        run=view.run,
        names=sharing.directory_names(session, ids=ids),
        list_names=list_names,
        groups=sharing.group_choices(session, actor=principal),
        can_write=principal.has("network:write"),
        **extra,
    )


@pages.get("/network/entities/{entity_id}", response_class=HTMLResponse)
def network_entity_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    entity_id: str,
    run_id: Annotated[str, Query(max_length=40)] = "",
    decided: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """One entity: names, identifiers, roles, risk, its party records and how each was linked, its declarations,
    watch-list hits, and the forms to confirm or split records."""
    return _entity_page(request, session, principal, entity_id, run_id=run_id or None, decided=decided)


@pages.post("/network/entities/{entity_id}/decide", response_class=HTMLResponse)
def network_entity_decide(
    request: Request,
    session: DbSession,
    principal: Writer,
    entity_id: str,
    run_id: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=10)] = "",
    record: Annotated[str, Form(max_length=120)] = "",
    other_record: Annotated[str, Form(max_length=120)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Confirm two records as one entity, or split a record out, from the entity page."""
    try:
        data = form_model(
            DecisionIn,
            kind=kind,
            record=record.strip(),
            other_record=other_record.strip() or None,
            reason=reason.strip(),
            handling=handling,
            sharing_group_id=sharing_group_id or None,
        )
        decision = service.decide(session, actor=principal, data=data)
    except PortGuardError as exc:
        return _entity_page(
            request, session, principal, entity_id, run_id=run_id or None, status_code=exc.status, error=exc.detail
        )
    target = f"/network/entities/{entity_id}?{_query(run_id=run_id, decided=decision.id)}"
    return Response(status_code=303, headers={"Location": target})


@pages.get("/network/view", response_class=HTMLResponse)
def network_view_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    node: Annotated[str, Query(max_length=300)] = "",
    hops: Annotated[int, Query(ge=0, le=4)] = 2,
    run_id: Annotated[str, Query(max_length=40)] = "",
    community: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The network around a node in Cytoscape.js (default: the riskiest entity, of a community if given); click a
    node to expand it, export what is shown."""
    if node:
        run = service.get_run(session, actor=principal, run_id=run_id or None)
    else:
        run, top, _ = service.list_entities(
            session, actor=principal, run_id=run_id or None, community=community, limit=1
        )
        if not top:
            raise NotFound(f"no entity in network run {run.id}" + (f" community {community}" if community else ""))
        node = service.node_id("entity", top[0].id)
    return render(
        request,
        "network/view.html",
        run=run,
        node=node,
        hops=hops,
        formats=list(service.EXPORT_FORMATS),
        limit=service.AROUND_LIMIT,
    )


@pages.get("/network/communities", response_class=HTMLResponse)
def network_communities_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    run_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The communities of a run: size, highest risk, riskiest members, and a view around each."""
    run, communities = service.list_communities(session, actor=principal, run_id=run_id or None, limit=100)
    return render(request, "network/communities.html", run=run, communities=communities)


def _watchlists_page(
    request: Request, session: Session, principal: Principal, *, status_code: int = 200, **extra: Any
) -> Response:
    items = watchlists.list_watchlists(session, actor=principal, justification=PAGE_JUSTIFICATION)
    ids: list[str | None] = []
    for w in items:
        ids += [w.owner_org_id, w.sharing_group_id]
    return render(
        request,
        "network/watchlists.html",
        status_code=status_code,
        watchlists=items,
        names=sharing.directory_names(session, ids=ids),
        groups=sharing.group_choices(session, actor=principal),
        handlings=[h.value for h in Handling if h != Handling.RED],
        can_write=principal.has("watchlist:write"),
        **extra,
    )


@pages.get("/watchlists", response_class=HTMLResponse)
def watchlists_page(request: Request, session: DbSession, principal: ListReader) -> Response:
    """The watch lists you may read, and the form to import one."""
    return _watchlists_page(request, session, principal)


@pages.post("/watchlists", response_class=HTMLResponse)
def watchlists_upload(
    request: Request,
    session: DbSession,
    principal: ListWriter,
    file: Annotated[UploadFile | None, File()] = None,
    name: Annotated[str, Form(max_length=200)] = "",
    source: Annotated[str, Form(max_length=300)] = "",
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Import a watch list from the page; on to its entries, or the list page with the reason it was refused."""
    try:
        if file is None:
            raise InvalidInput("choose a FollowTheMoney file to import", field="file")
        watchlist = watchlists.import_watchlist(
            session,
            actor=principal,
            data=_read_upload(file),
            name=name or (file.filename or ""),
            source=source,
            handling=_handling(handling),
            sharing_group_id=sharing_group_id or None,
        )
    except PortGuardError as exc:
        errors = exc.extra.get("errors") or []
        return _watchlists_page(
            request, session, principal, status_code=exc.status, error=exc.detail, errors=errors[:20]
        )
    return Response(status_code=303, headers={"Location": f"/watchlists/{watchlist.id}"})


@pages.get("/watchlists/{watchlist_id}", response_class=HTMLResponse)
def watchlist_page(
    request: Request,
    session: DbSession,
    principal: ListReader,
    watchlist_id: str,
    paging: Paging,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """One watch list and its entries, with a search."""
    watchlist = watchlists.get_watchlist(
        session, actor=principal, watchlist_id=watchlist_id, justification=PAGE_JUSTIFICATION
    )
    entries, total = watchlists.list_entries(
        session,
        actor=principal,
        watchlist_id=watchlist_id,
        q=q or None,
        justification=PAGE_JUSTIFICATION,
        limit=paging.limit,
        offset=paging.offset,
    )
    return render(
        request,
        "network/watchlist.html",
        watchlist=watchlist,
        entries=entries,
        total=total,
        paging=paging,
        q=q,
        names=sharing.directory_names(session, ids=[watchlist.owner_org_id, watchlist.sharing_group_id]),
    )
