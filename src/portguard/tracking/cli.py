"""CLI for container tracking: ingest a file of events, listen on MQTT, publish a file to MQTT, simulate a
terminal day, evaluate the detectors on it, and list port alerts."""

from __future__ import annotations

import gc
import json
import signal
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from portguard.core.console import console, emit, err_console, progress_bar
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.core.policy import Handling
from portguard.core.settings import get_settings
from portguard.sharing import service as sharing
from portguard.tracking import service
from portguard.tracking.models import AlertSharing

app = typer.Typer(help="Container tracking: DCSA events, timelines, detectors, port alerts.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AsUser = Annotated[str, typer.Option("--as", help="Act as this user (a port security officer, say).")]
GroupOpt = Annotated[str | None, typer.Option("--sharing-group", help="Share the alerts raised with this group.")]
HandlingOpt = Annotated[Handling, typer.Option("--handling", help="Handling code of the alerts raised.")]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    with path.open(encoding="utf-8", errors="strict") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                yield n, line


def _sharing(session: Any, *, group: str | None, handling: Handling) -> AlertSharing:
    group_id = sharing.find_group(session, ref=group).id if group else None
    return AlertSharing(handling=handling, sharing_group_id=group_id)


@app.command("ingest")
def ingest(
    path: Annotated[Path, typer.Argument(help="JSON Lines of DCSA events (3.0 or 2.2), one event per line")],
    as_user: AsUser,
    sharing_group: GroupOpt = None,
    handling: HandlingOpt = Handling.AMBER,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Events per transaction")] = 2000,
    as_json: JsonOpt = False,
) -> None:
    """Record a file of events: each batch in one transaction, bad lines kept with their error, a progress bar."""
    db = from_settings()
    total = sum(1 for _ in _lines(path))
    totals: dict[str, int] = {}
    with db.session() as session:
        actor = sharing.principal_for(session, username=as_user)
        share = _sharing(session, group=sharing_group, handling=handling)

    def flush(chunk: list[Any], bad: list[tuple[int, str, str]]) -> None:
        with db.session() as session:
            for n, error, raw in bad:
                service.reject_raw(
                    session, owner_org_id=actor.org_id, source="file", error=f"line {n}: {error}", raw=raw
                )
            if chunk:
                result = service.record_events(session, actor=actor, events=chunk, source="file", sharing=share)
                for k, v in result.summary().items():
                    totals[k] = totals.get(k, 0) + v
        totals["rejected"] = totals.get("rejected", 0) + len(bad)

    with progress_bar(transient=False) as progress:
        task = progress.add_task(f"recording {path.name}", total=total)
        chunk: list[Any] = []
        bad: list[tuple[int, str, str]] = []
        done = 0
        for n, line in _lines(path):
            try:
                chunk.append(json.loads(line))
            except json.JSONDecodeError as exc:
                bad.append((n, f"not JSON: {exc.msg} at column {exc.colno}", line))
            if len(chunk) + len(bad) >= batch:
                flush(chunk, bad)
                done += len(chunk) + len(bad)
                chunk, bad = [], []
                progress.update(task, completed=done)
        if chunk or bad:
            flush(chunk, bad)
        progress.update(task, completed=total)
    emit({"file": str(path), **totals}, as_json=as_json, title="ingest")


@app.command("listen")
def listen(
    as_user: AsUser,
    topic: Annotated[str, typer.Option(help="Topic filter")] = "portguard/+/+/events",
    sharing_group: GroupOpt = None,
    handling: HandlingOpt = Handling.AMBER,
    client_id: Annotated[str | None, typer.Option(help="MQTT client id (the persistent session's name)")] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this long (default: until Ctrl-C)")] = None,
) -> None:
    """Subscribe (MQTT 5, QoS 1, persistent session) and record events as they arrive; alerts go to .../alerts."""
    from portguard.tracking.mqtt import Listener

    settings = get_settings()
    db = from_settings()
    with db.session() as session:
        actor = sharing.principal_for(session, username=as_user)
        share = _sharing(session, group=sharing_group, handling=handling)
    listener = Listener(
        db=db,
        actor=actor,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        topic=topic,
        client_id=client_id,
        sharing=share,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gc.collect()
    gc.freeze()  # start-up objects never die: keep them out of the collector's passes over the timeline cache
    listener.start()
    console.print(
        f"Listening on [bold]{topic}[/] at {settings.mqtt_host}:{settings.mqtt_port} as {as_user} (Ctrl-C to stop)"
    )
    started = time.monotonic()
    last = -1
    try:
        while not stop.is_set() and (seconds is None or time.monotonic() - started < seconds):
            stop.wait(1.0)
            s = listener.stats
            if s.messages != last:
                err_console.print(
                    f"{s.messages:,} messages · {s.accepted:,} events recorded · {s.duplicates:,} redelivered · "
                    f"{s.rejected:,} rejected · {s.alerts:,} alerts"
                )
                last = s.messages
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop(drain_s=5)


@app.command("publish")
def publish(
    path: Annotated[Path, typer.Argument(help="JSON Lines of events")],
    port_code: Annotated[str, typer.Option("--port", help="UN/LOCODE of the port, for the topic")] = "NLRTM",
    terminal: Annotated[str, typer.Option(help="Terminal code, for the topic")] = "DELTA",
    rate: Annotated[float | None, typer.Option(help="Events per second (default: as fast as the broker takes)")] = None,
    per_message: Annotated[int, typer.Option(min=1, max=1000, help="Events per MQTT message")] = 1,
) -> None:
    """Publish a file of events to `portguard/{port}/{terminal}/events` at QoS 1."""
    from portguard.tracking.mqtt import publish_events

    settings = get_settings()
    events = [json.loads(line) for _, line in _lines(path)]
    topic = f"portguard/{port_code}/{terminal}/events"
    with progress_bar(transient=False) as progress:
        task = progress.add_task(f"publishing to {topic}", total=len(events))
        sent = publish_events(
            events,
            topic=topic,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            rate=rate,
            per_message=per_message,
            on_sent=lambda n: progress.update(task, completed=n),
            username=settings.mqtt_username,
            password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
        )
        progress.update(task, completed=sent)
    console.print(f"{sent:,} events published to {topic}")


def _rates(items: list[str]) -> dict[str, float] | None:
    from portguard.tracking.simulator import DEFAULT_RATES

    if not items:
        return None
    rates = dict(DEFAULT_RATES)
    for item in items:
        name, _, value = item.partition("=")
        if name not in rates:
            raise typer.BadParameter(f"unknown modus {name!r}; known: {', '.join(rates)}")
        try:
            rates[name] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r}: the rate must be a number") from None
    return rates


@app.command("simulate")
def simulate(
    events: Annotated[Path, typer.Option(help="Where to write the events (JSON Lines)")],
    labels: Annotated[Path, typer.Option(help="Where to write the labels (JSON Lines)")],
    containers: Annotated[int, typer.Option(min=1, max=1_000_000)] = 25_000,
    seed: int = 1,
    day: Annotated[str | None, typer.Option(help="The simulated day (YYYY-MM-DD)")] = None,
    rate: Annotated[list[str], typer.Option(help="Injection rate per container, modus=share (repeatable)")] = [],  # noqa: B006
) -> None:
    """Simulate a terminal day with labelled smuggling injections; write DCSA JSON Lines and labels."""
    from portguard.tracking import simulator

    when = date.fromisoformat(day) if day else None
    started = time.monotonic()
    sim = simulator.simulate(containers=containers, seed=seed, day=when, rates=_rates(rate))
    simulator.write(sim, events_path=events, labels_path=labels)
    console.print(
        f"{containers:,} containers, {len(sim.events):,} events, {len(sim.labels):,} labels "
        f"in {time.monotonic() - started:.1f} s → {events}, {labels}"
    )


@app.command("evaluate")
def evaluate(
    events: Annotated[Path, typer.Option(help="Events (JSON Lines) in delivery order")],
    labels: Annotated[Path, typer.Option(help="Labels (JSON Lines) from `simulate`")],
    param: Annotated[list[str], typer.Option(help="Detector threshold, detector.field=value (repeatable)")] = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Run every detector over the events as they would arrive and give precision and recall per modus operandi."""
    from portguard.tracking import evaluation, simulator
    from portguard.tracking.detectors import Tracker, parse_params

    try:
        params = parse_params(param)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    tracker = Tracker(params)
    good, bad = 0, 0
    lines = list(_lines(events))
    started = time.monotonic()
    with progress_bar(transient=False) as progress:
        task = progress.add_task("detecting", total=len(lines))
        for i, (_, line) in enumerate(lines):
            try:
                parsed, errors = service.parse_events([json.loads(line)])
            except json.JSONDecodeError:
                bad += 1
                continue
            bad += len(errors)
            for _, ev in parsed:
                tracker.add(ev.flat(key=f"file:{ev.eventID}"))
                good += 1
            if i % 5000 == 0:
                progress.update(task, completed=i)
        progress.update(task, completed=len(lines))
    seconds = time.monotonic() - started
    findings = [(f.container, f.detector) for tl in tracker.timelines.values() for f in tl.findings.values()]
    rows = evaluation.evaluate(findings=findings, labels=simulator.read_labels(labels))
    if as_json:
        emit(
            {"events": good, "rejected": bad, "seconds": round(seconds, 2), "rows": evaluation.as_json(rows)},
            as_json=True,
        )
        return
    console.print(evaluation.table(rows))
    console.print(f"{good:,} events ({bad:,} rejected) through {len(tracker.mods)} detectors in {seconds:.1f} s")


@app.command("alerts")
def alerts(
    as_user: AsUser,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or withdrawn")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Port alerts visible to the user, newest first."""
    db = from_settings()
    with db.session() as session:
        actor = sharing.principal_for(session, username=as_user)
        rows, total = service.list_alerts(session, actor=actor, status=status, limit=limit)
        data = [
            {
                "id": a.id,
                "raised": a.raised_at,
                "container": a.container_number,
                "detector": a.detector,
                "status": a.status,
                "reason": a.reason,
            }
            for a in rows
        ]
    emit(data, as_json=as_json, title=f"{total:,} port alerts")
