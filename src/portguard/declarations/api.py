"""HTTP for declarations: upload a file, list and read declarations, the ingest history; and their pages."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from portguard.controls import service as controls
from portguard.core import jobs
from portguard.core.deps import CurrentPrincipal, DbSession, Justification, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput
from portguard.core.export import csv_chunks
from portguard.core.pages import render
from portguard.core.policy import Handling, LegalRegime, Principal
from portguard.declarations import readers, service
from portguard.risk import service as risk
from portguard.sharing import service as sharing

router = APIRouter(prefix="/api", tags=["declarations"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)
MAX_UPLOAD = 512 * 1024 * 1024


class IngestOut(BaseModel):
    ingest_id: str
    status: str
    file: str
    sha256: str
    rows_read: int
    declarations: int
    control_results: int
    error_count: int
    errors: list[dict[str, Any]]
    duplicate_of: str | None


class DeclarationOut(BaseModel):
    id: str
    ref: str
    type: str
    lodged_at: str
    office: str
    transport_mode: str
    transport_document: str | None
    vessel_imo: str | None
    voyage: str | None
    port_of_loading: str | None
    port_of_discharge: str | None
    country_of_departure: str | None
    route_countries: list[str]
    owner_org_id: str
    handling: str
    legal_regime: str
    sharing_group_id: str | None = None
    ingest_id: str
    goods: list[dict[str, Any]]
    containers: list[dict[str, Any]]
    parties: list[dict[str, Any]]


class DeclarationPage(BaseModel):
    items: list[DeclarationOut]
    total: int
    limit: int
    offset: int


class IngestRecordOut(BaseModel):
    id: str
    file_name: str
    file_sha256: str
    format: str
    status: str
    rows_read: int
    declarations: int
    error_count: int
    errors: list[dict[str, Any]]
    owner_org_id: str
    handling: str
    sharing_group_id: str | None = None
    started_at: str
    finished_at: str | None


class IngestPage(BaseModel):
    items: list[IngestRecordOut]
    total: int
    limit: int
    offset: int


def _checked(format: str, handling: str, legal_regime: str) -> tuple[Handling, LegalRegime]:
    if format not in readers.FORMATS or format in ("csv", "parquet"):
        raise InvalidInput(
            f"format {format!r} cannot be uploaded without a mapping; use ics2, jsonl or kcs", field="format"
        )
    try:
        return Handling(handling), LegalRegime(legal_regime)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _save(upload: UploadFile, folder: Path) -> Path:
    """The uploaded file in `folder`, refused when larger than MAX_UPLOAD."""
    name = Path(upload.filename or "upload").name
    path = folder / name
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, length=1 << 20)
    if path.stat().st_size > MAX_UPLOAD:
        raise InvalidInput(f"{name} is larger than {MAX_UPLOAD >> 20} MiB; load it with the CLI")
    return path


def _run_upload(
    session: Session,
    *,
    principal: Principal,
    upload: UploadFile,
    format: str,
    handling: str,
    legal_regime: str,
    sharing_group_id: str | None,
    max_errors: int,
) -> service.IngestReport:
    handling_code, regime = _checked(format, handling, legal_regime)
    with tempfile.TemporaryDirectory() as tmp:
        path = _save(upload, Path(tmp))
        return service.ingest(
            session,
            actor=principal,
            owner_org_id=principal.org_id,
            path=path,
            format=format,
            handling=handling_code,
            legal_regime=regime,
            sharing_group_id=sharing_group_id,
            max_errors=max_errors,
        )


@router.post(
    "/declarations/ingest",
    response_model=IngestOut,
    summary="Load a file of declarations",
    responses={202: {"model": jobs.JobOut, "description": "background=true: the job to poll (Location header)"}},
)
def ingest(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("declaration:write"))],
    file: Annotated[UploadFile, File(description="ICS2-like JSON / JSON Lines, or the KCS CSV")],
    format: Annotated[str, Form()] = "ics2",
    handling: Annotated[str, Form()] = "AMBER",
    legal_regime: Annotated[str, Form()] = "GDPR",
    sharing_group_id: Annotated[str | None, Form(description="AMBER: also shown to this group's members")] = None,
    max_errors: Annotated[int, Form(ge=1, le=10_000)] = 100,
    background: Annotated[bool, Form(description="answer 202 at once and load in the background")] = False,
) -> Any:
    """All rows or none; the same content twice writes nothing (status `duplicate`); errors name row and field.

    With `background=true` the answer is 202 with a job (`GET /api/jobs/{id}`: rows done, estimated total, and the
    ingest report as its result) — for large files, so that a client can show progress."""
    if not background:
        return _run_upload(
            session,
            principal=principal,
            upload=file,
            format=format,
            handling=handling,
            legal_regime=legal_regime,
            sharing_group_id=sharing_group_id or None,
            max_errors=max_errors,
        ).as_dict()
    handling_code, regime = _checked(format, handling, legal_regime)
    folder = Path(tempfile.mkdtemp(prefix="portguard-upload-"))
    try:
        path = _save(file, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    db = request.app.state.db

    def work(progress: jobs.Progress) -> dict[str, Any]:
        with db.session() as job_session:
            return service.ingest(
                job_session,
                actor=principal,
                owner_org_id=principal.org_id,
                path=path,
                format=format,
                handling=handling_code,
                legal_regime=regime,
                sharing_group_id=sharing_group_id or None,
                max_errors=max_errors,
                on_progress=progress,
            ).as_dict()

    job = request.app.state.jobs.start(
        kind="declarations.ingest",
        owner_org_id=principal.org_id,
        user_id=principal.user_id,
        total=service.estimate_rows(path),
        work=work,
        cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
    )
    return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


@router.get("/declarations", response_model=DeclarationPage, summary="List declarations you may see")
def list_declarations(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    justification: Justification,
    office: Annotated[str | None, Query(max_length=12)] = None,
    hs: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]+$")] = None,
    origin: Annotated[str | None, Query(max_length=2)] = None,
    ref: Annotated[str | None, Query(max_length=40, description="reference starts with")] = None,
) -> Any:
    """Newest first; filter by office, HS code prefix, country of departure and reference prefix."""
    items, total = service.list_declarations(
        session,
        actor=principal,
        office=office,
        hs_prefix=hs,
        origin=origin,
        ref_prefix=ref,
        justification=justification,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page([service.declaration_dict(d) for d in items], total)


@router.get(
    "/declarations/export.csv",
    summary="Export declarations as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per goods item, spreadsheet-safe"}},
)
def export_declarations(
    session: DbSession,
    principal: Annotated[Principal, Depends(require("declaration:read"))],
    justification: Justification,
    office: Annotated[str | None, Query(max_length=12)] = None,
    hs: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]+$")] = None,
    origin: Annotated[str | None, Query(max_length=2)] = None,
    ref: Annotated[str | None, Query(max_length=40, description="reference starts with")] = None,
) -> StreamingResponse:
    """The declarations the list shows (same filters), one row per goods item. Cells that a spreadsheet would take
    for a formula (starting with =, +, -, @) are prefixed with an apostrophe; the stored data is unchanged."""
    rows = service.export_declarations(
        session,
        actor=principal,
        office=office,
        hs_prefix=hs,
        origin=origin,
        ref_prefix=ref,
        justification=justification,
    )
    return StreamingResponse(
        csv_chunks(service.EXPORT_HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="declarations.csv"'},
    )


@router.get("/declarations/{declaration_id}", response_model=DeclarationOut, summary="Read a declaration")
def get_declaration(
    session: DbSession, principal: CurrentPrincipal, declaration_id: str, justification: Justification
) -> Any:
    """One declaration with its goods, containers and parties."""
    decl = service.get_declaration(session, actor=principal, declaration_id=declaration_id, justification=justification)
    return service.declaration_dict(decl)


@router.get("/ingests", response_model=IngestPage, summary="Ingest history")
def list_ingests(
    session: DbSession, principal: Annotated[Principal, Depends(require("ingest:read"))], paging: Paging
) -> Any:
    """Loads of your organisation, newest first, with their outcome."""
    items, total = service.list_ingests(session, actor=principal, limit=paging.limit, offset=paging.offset)
    return paging.page([service.ingest_dict(i) for i in items], total)


@router.get("/ingests/{ingest_id}", response_model=IngestRecordOut, summary="One ingest and its error report")
def get_ingest(
    session: DbSession, principal: Annotated[Principal, Depends(require("ingest:read"))], ingest_id: str
) -> Any:
    """An ingest with every error it recorded."""
    return service.ingest_dict(service.get_ingest(session, actor=principal, ingest_id=ingest_id))


# ---------------------------------------------------------------- pages


@pages.get("/declarations", response_class=HTMLResponse)
def declarations_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("declaration:read"))],
    paging: Paging,
    office: Annotated[str, Query(max_length=12)] = "",
    hs: Annotated[str, Query(max_length=10)] = "",
    origin: Annotated[str, Query(max_length=2)] = "",
    ref: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The declaration list with filters."""
    if hs and not hs.isdigit():
        raise InvalidInput("the HS filter takes digits only", field="hs")
    items, total = service.list_declarations(
        session,
        actor=principal,
        office=office or None,
        hs_prefix=hs or None,
        origin=origin or None,
        ref_prefix=ref or None,
        limit=paging.limit,
        offset=paging.offset,
    )
    return render(
        request,
        "declarations/list.html",
        declarations=items,
        total=total,
        paging=paging,
        filters={"office": office, "hs": hs, "origin": origin, "ref": ref},
        export_query=urlencode(
            {k: v for k, v in {"office": office, "hs": hs, "origin": origin, "ref": ref}.items() if v}
        ),
    )


@pages.get("/declarations/{declaration_id}", response_class=HTMLResponse)
def declaration_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("declaration:read"))],
    declaration_id: str,
) -> Response:
    """One declaration: parties, goods, containers, controls and the risk rules it hits."""
    decl = service.get_declaration(
        session, actor=principal, declaration_id=declaration_id, justification="declaration page"
    )
    hits = risk.hits_for_declaration(session, actor=principal, declaration_id=decl.id)
    names = sharing.directory_names(
        session, ids=[decl.owner_org_id, decl.sharing_group_id, *(h["owner_org_id"] for h in hits)]
    )
    return render(
        request,
        "declarations/detail.html",
        d=service.declaration_dict(decl),
        results=controls.results_for(session, actor=principal, declaration_id=decl.id),
        orders=controls.orders_for(session, actor=principal, declaration_id=decl.id),
        hits=hits,
        names=names,
    )


@pages.get("/ingests", response_class=HTMLResponse)
def ingests_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("ingest:read"))],
    paging: Paging,
    show: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The ingest history; `show` opens one ingest's error report."""
    items, total = service.list_ingests(session, actor=principal, limit=paging.limit, offset=paging.offset)
    shown = service.get_ingest(session, actor=principal, ingest_id=show) if show else None
    return render(
        request,
        "declarations/ingests.html",
        ingests=items,
        total=total,
        paging=paging,
        shown=shown,
        formats=[f for f in readers.FORMATS if f not in ("csv", "parquet")],
        groups=sorted(sharing.directory_names(session, ids=sorted(principal.group_ids)).items(), key=lambda g: g[1]),
    )


@pages.post("/ingests", response_class=HTMLResponse)
def ingests_upload(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("declaration:write"))],
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form()] = "ics2",
    handling: Annotated[str, Form()] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Upload from the page; shows the new ingest's report."""
    report = _run_upload(
        session,
        principal=principal,
        upload=file,
        format=format,
        handling=handling,
        legal_regime="GDPR",
        sharing_group_id=sharing_group_id or None,
        max_errors=100,
    )
    target = report.duplicate_of if report.status == "duplicate" else report.ingest_id
    return Response(status_code=303, headers={"Location": f"/ingests?show={target}"})
