"""HTTP for container tracking: post DCSA event batches, read a container's timeline, work the port-alert inbox.

`POST /api/tracking/events` answers like DCSA's `POST /events`: what was processed, and a feedback element per
event that was not (with the event's index as `propertyPath`). When nothing in the batch could be processed, the
answer is 422 with the same feedback, as DCSA's `PostEventsError`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from portguard.core.deps import DbSession, Justification, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput
from portguard.core.pages import render
from portguard.core.policy import Handling, Principal
from portguard.sharing import service as sharing
from portguard.tracking import service
from portguard.tracking.detectors import detectors
from portguard.tracking.models import AlertSharing, AlertStatus, ContainerEvent, PortAlert

router = APIRouter(prefix="/api/tracking", tags=["tracking"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)

EventWriter = Annotated[Principal, Depends(require("event:write"))]
EventReader = Annotated[Principal, Depends(require("event:read"))]
AlertReader = Annotated[Principal, Depends(require("port_alert:read"))]
AlertAck = Annotated[Principal, Depends(require("port_alert:ack"))]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    container_number: str
    detector: str
    severity: str
    reason: str
    event_ids: list[str]
    event_time: datetime
    raised_at: datetime
    status: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None
    owner_org_id: str
    handling: str
    sharing_group_id: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    event_id: str
    container_number: str | None
    event_type: str
    code: str
    classifier: str
    event_time: datetime
    place: str | None
    facility: str | None
    owner_org_id: str
    source: str
    payload: dict[str, Any]


class IngestOut(BaseModel):
    summary: dict[str, int]
    feedbackElements: list[dict[str, Any]]
    alerts: list[AlertOut]


class TimelineOut(BaseModel):
    container: str
    state: dict[str, Any]
    events: list[EventOut]
    alerts: list[AlertOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = None


def _feedback(rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"severity": "ERROR", "message": r["error"], "propertyPath": f"$.events[{r['index']}]", "eventID": r["eventID"]}
        for r in rejected
    ]


@router.post("/events", response_model=IngestOut, summary="Send container events (DCSA T&T 3.0 or 2.2)")
def post_events(
    session: DbSession,
    principal: EventWriter,
    body: Annotated[dict[str, Any] | list[Any], Body()],
    handling: Annotated[Handling, Query(description="handling code of the alerts these events raise")] = Handling.AMBER,
    sharing_group_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """A batch as `{"events": [...]}` (DCSA's PostEventsRequest) or a bare list; each event is checked on its own."""
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list) or not events:
        raise InvalidInput("send {'events': [...]} with at least one event", field="events")
    if len(events) > 10_000:
        raise InvalidInput(f"{len(events):,} events in one batch; send at most 10,000", field="events")
    result = service.record_events(
        session,
        actor=principal,
        events=events,
        source="http",
        sharing=AlertSharing(handling=handling, sharing_group_id=sharing_group_id),
    )
    answer = {"summary": result.summary(), "feedbackElements": _feedback(result.rejected), "alerts": result.raised}
    if result.rejected and not (result.accepted or result.replaced or result.retracted or result.duplicates):
        session.commit()  # keep the rejected events (and the audit entry) although the answer is an error
        payload = IngestOut.model_validate(answer).model_dump(mode="json")
        return JSONResponse(
            status_code=422,
            media_type="application/problem+json",
            content={
                "type": "https://portguard.eu/problems/invalid-input",
                "title": "no event could be processed",
                "status": 422,
                "detail": f"all {len(result.rejected)} events were rejected; see feedbackElements",
                **payload,
            },
        )
    return answer


@router.get("/containers/{number}", response_model=TimelineOut, summary="A container's timeline")
def get_timeline(session: DbSession, principal: EventReader, number: str, justification: Justification) -> Any:
    """Events you may see about the container, in event-time order, with its state and alerts."""
    events, alerts = service.timeline(session, actor=principal, container=number, justification=justification)
    return {"container": number.upper(), "state": service.state(events), "events": events, "alerts": alerts}


@router.get("/alerts", response_model=AlertPage, summary="Port alerts")
def get_alerts(
    session: DbSession,
    principal: AlertReader,
    paging: Paging,
    justification: Justification,
    status: Annotated[AlertStatus | None, Query()] = None,
    detector: Annotated[str | None, Query(max_length=32)] = None,
    container: Annotated[str | None, Query(max_length=11)] = None,
) -> Any:
    """Alerts you may see, newest first."""
    rows, total = service.list_alerts(
        session,
        actor=principal,
        status=status.value if status else None,
        detector=detector,
        container=container,
        limit=paging.limit,
        offset=paging.offset,
        justification=justification,
    )
    return paging.page(rows, total)


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One port alert")
def get_alert(session: DbSession, principal: AlertReader, alert_id: str, justification: Justification) -> Any:
    """One alert you may see (the consultation is audited)."""
    return service.get_alert(session, actor=principal, alert_id=alert_id, justification=justification)


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut, summary="Acknowledge a port alert")
def ack_alert(
    session: DbSession, principal: AlertAck, alert_id: str, justification: Justification, data: AckIn | None = None
) -> Any:
    """Record that you have seen the alert (and what you did, in the note)."""
    return service.acknowledge(
        session, actor=principal, alert_id=alert_id, note=data.note if data else None, justification=justification
    )


# ---------------------------------------------------------------- pages


def _timeline_chart(events: list[ContainerEvent], alerts: list[PortAlert]) -> str:
    rows = [
        {
            "t": e.event_time.isoformat(),
            "code": e.code,
            "lane": e.event_type,
            "planned": e.classifier != "ACT",
            "where": " ".join(x for x in (e.place, e.facility, (e.flat or {}).get("spot")) if x),
        }
        for e in events
    ]
    marks = [{"t": a.event_time.isoformat(), "detector": a.detector, "status": a.status} for a in alerts]
    return json.dumps({"events": rows, "alerts": marks})


@pages.get("/containers", response_class=HTMLResponse)
def containers_page(
    request: Request, session: DbSession, principal: EventReader, q: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    """Find a container by number; the latest containers with events you may see."""
    if q.strip():
        return Response(status_code=303, headers={"Location": f"/containers/{q.strip().replace(' ', '').upper()}"})
    return render(request, "tracking/containers.html", recent=service.recent_containers(session, actor=principal))


@pages.get("/containers/{number}", response_class=HTMLResponse)
def timeline_page(
    request: Request, session: DbSession, principal: EventReader, number: str, justification: Justification
) -> Response:
    """A container's timeline: its state, a chart of its events and alerts over time, and every event."""
    events, alerts = service.timeline(session, actor=principal, container=number, justification=justification)
    names = sharing.directory_names(session, ids={e.owner_org_id for e in events} | {a.owner_org_id for a in alerts})
    return render(
        request,
        "tracking/timeline.html",
        number=number.upper(),
        events=events,
        alerts=alerts,
        state=service.state(events),
        names=names,
        chart=_timeline_chart(events, alerts),
    )


@pages.get("/port-alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: DbSession,
    principal: AlertReader,
    paging: Paging,
    status: Annotated[str, Query(max_length=16)] = "open",
    detector: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The port-alert inbox: open alerts first, filters by status and detector, counts per detector."""
    if status not in {s.value for s in AlertStatus} | {"all"}:
        raise InvalidInput(f"unknown status {status!r}", field="status")
    rows, total = service.list_alerts(
        session,
        actor=principal,
        status=None if status == "all" else status,
        detector=detector or None,
        limit=paging.limit,
        offset=paging.offset,
    )
    counts = service.alert_counts(session, actor=principal)
    names = sharing.directory_names(session, ids={a.owner_org_id for a in rows})
    return render(
        request,
        "tracking/alerts.html",
        alerts=rows,
        total=total,
        status=status,
        detector=detector,
        detectors=sorted(set(detectors()) | set(counts)),
        names=names,
        counts=json.dumps([{"detector": d, "status": s, "n": n} for d, by in counts.items() for s, n in by.items()]),
        can_ack=principal.has("port_alert:ack"),
        paging=paging,
    )


@pages.post("/port-alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_from_page(
    request: Request,
    session: DbSession,
    principal: AlertAck,
    alert_id: str,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Acknowledge from the inbox; answers the alert's row, updated (htmx swaps it in)."""
    alert = service.acknowledge(session, actor=principal, alert_id=alert_id, note=note)
    names = sharing.directory_names(session, ids={alert.owner_org_id})
    return render(request, "tracking/_alert_row.html", a=alert, names=names, can_ack=True)
