"""Container tracking: detector throughput on one core, event-to-alert latency over MQTT, and a simulated terminal
day through MQTT into the store, evaluated per modus operandi.

1. **Detectors on one core.** A simulated day (`--containers`, default 25,000, seed 1) is validated and flattened
   first (timed separately: that is the cost of reading DCSA JSON with pydantic), then the `Ev`s go through a
   `Tracker` with all eight detectors, in delivery order (late and duplicated events included). Baselines in the
   same run: the same tracker re-running every detector on every event (no trigger sets), and a loop that only
   places events on their timelines (no detector) — the floor.
2. **Latency over MQTT.** The listener (`tracking.mqtt.Listener`, recording into a fresh SQLite file, or
   PostgreSQL with `--postgres`) subscribes to `portguard/NLRTM/DELTA/events` on the real Mosquitto broker; a
   publisher in its own process (as a terminal's gateway is) sends the simulated day's events at `--rate`
   events/s (default 1,000) for `--seconds` (default 30), one event per QoS 1 message; a third client
   subscribes to the alerts topic. Latency of an alert = when its message arrived minus when its trigger was
   published (the last event of its container published before the alert arrived: a door still open shows only
   with a later event, so the alert's own events can be older). Baseline in the same run: the broker's own
   round trip (publish → a plain subscriber, same rate and payloads), so the table shows what PortGuard adds.
3. **A terminal day through MQTT** (`--day`): every event of the simulated day published as fast as it goes (or at
   `--day-rate`) to a Mosquitto of the benchmark's own, configured as a deployment must be (Mosquitto's default
   keeps only 1,000 queued messages for a client that lags and drops the rest), recorded by the listener; then
   precision and recall per modus operandi computed from the alerts standing in the store (not from an in-memory
   run) against the simulator's labels.

Run: `.venv/bin/python benchmarks/tracking.py [--containers 25000] [--rate 1000] [--seconds 30] [--day]
[--postgres URL] [--skip-detectors] [--skip-latency]`
"""

from __future__ import annotations

import argparse
import bisect
import gc
import getpass
import json
import multiprocessing
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, select, text

from portguard.core import migrate
from portguard.core.db import Database
from portguard.core.policy import OrgKind, Role
from portguard.sharing import service as sharing
from portguard.sharing.models import OrgIn, UserIn
from portguard.tracking import evaluation, simulator
from portguard.tracking.detectors import Timeline, Tracker, _common, detectors
from portguard.tracking.models import PortAlert, TrackEvent
from portguard.tracking.mqtt import Listener, publish_events

console = Console(width=150)
TOPIC = "portguard/NLRTM/DELTA/events"
ALERTS = "portguard/NLRTM/DELTA/alerts"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


# ---------------------------------------------------------------------------------------------------- 1. one core


def detector_throughput(events: list[dict[str, Any]]) -> tuple[Table, dict[str, Any]]:
    t0 = time.perf_counter()
    flat = []
    for raw in events:
        ev = TrackEvent.model_validate(raw)
        flat.append(ev.flat(key=f"bench:{ev.eventID}"))
    parse_s = time.perf_counter() - t0

    def place_only() -> float:
        timelines: dict[str, Timeline] = {}
        t = time.perf_counter()
        for ev in flat:
            if ev.container is None:
                continue
            tl = timelines.get(ev.container)
            if tl is None:
                tl = timelines[ev.container] = Timeline(ev.container)
            if ev.key not in tl.keys:
                tl.add(ev)
        return time.perf_counter() - t

    def tracked(every: bool) -> tuple[float, int]:
        saved = {name: mod.TRIGGERS for name, mod in detectors().items()}
        if every:
            for mod in detectors().values():
                mod.TRIGGERS = _common.ANY
        try:
            tracker = Tracker()
            t = time.perf_counter()
            for ev in flat:
                tracker.add(ev)
            elapsed = time.perf_counter() - t
        finally:
            for name, mod in detectors().items():
                mod.TRIGGERS = saved[name]
        return elapsed, sum(len(tl.findings) for tl in tracker.timelines.values())

    floor = min(place_only() for _ in range(3))
    naive, _ = tracked(True)
    fast, n_findings = min(tracked(False) for _ in range(2))
    n = len(flat)
    table = Table(title=f"Detectors on one core: {n:,} events of a simulated day (delivery order)")
    for col in ("path", "seconds", "events/s", "µs/event", "× floor"):
        table.add_column(col, justify="right" if col != "path" else "left")
    rows = [
        ("validate + flatten DCSA JSON (pydantic)", parse_s),
        ("place on timelines only (floor, no detector)", floor),
        ("all 8 detectors on every event (baseline)", naive),
        ("all 8 detectors, skipped when not triggered", fast),
        ("validate + flatten + detect", parse_s + fast),
    ]
    for label, s in rows:
        table.add_row(label, f"{s:.2f}", f"{n / s:,.0f}", f"{s / n * 1e6:.1f}", f"{s / floor:.1f}")
    return table, {
        "events": n,
        "detect_events_per_s": n / fast,
        "naive_events_per_s": n / naive,
        "parse_events_per_s": n / parse_s,
        "end_to_end_events_per_s": n / (parse_s + fast),
        "findings": n_findings,
    }


# ---------------------------------------------------------------------------------------------------- 2. latency


def _store(postgres: str | None) -> tuple[Database, Any]:
    """A fresh store: a new SQLite file, or a new schema on the PostgreSQL server (detection reads every party's
    events, so the leftovers of an earlier run would change what it finds)."""
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if postgres:
        schema = f"bench_{time.time_ns()}"
        admin = create_engine(postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}"
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.session() as session:
        org = sharing.create_org(
            session,
            actor=None,
            data=OrgIn(name=f"Bench terminal {time.time_ns()}", kind=OrgKind.TERMINAL_OPERATOR, country="NL"),
        )
        user = sharing.create_user(
            session,
            actor=None,
            data=UserIn(
                username=f"bench{time.time_ns()}",
                display_name="bench",
                org_id=org.id,
                roles=[Role.PORT_SECURITY],
                password=secrets.token_urlsafe(16),
            ),
        )
        principal = sharing.load_principal(session, user_id=user.id)
    return db, principal


def _publisher(events: list[dict[str, Any]], topic: str, rate: float | None, port: int, out: Any) -> None:
    """Runs in its own process (as a terminal's gateway would): publish at `rate`, then report when each went."""
    sent: dict[str, float] = {}

    def stamped():
        for e in events:
            sent[e["eventID"]] = time.time()
            yield e

    publish_events(stamped(), topic=topic, port=port, rate=rate)
    out.put(sent)


def _publish_elsewhere(events: list[dict[str, Any]], *, topic: str, rate: float | None, port: int) -> Any:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_publisher, args=(events, topic, rate, port, out), daemon=True)
    proc.start()
    return proc, out


def broker_round_trip(events: list[dict[str, Any]], *, rate: float, port: int) -> list[float]:
    """Publish (another process) → a plain subscriber here: the broker alone, the baseline."""
    topic = f"portguard/bench/{time.time_ns()}/raw"
    received: dict[str, float] = {}
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(c: Any, u: Any, m: Any) -> None:
        received[json.loads(m.payload)["eventID"]] = time.time()

    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    time.sleep(0.3)
    proc, out = _publish_elsewhere(events, topic=topic, rate=rate, port=port)
    sent = out.get(timeout=len(events) / rate + 120)
    proc.join(30)
    deadline = time.monotonic() + 30
    while len(received) < len(events) and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.loop_stop()
    sub.disconnect()
    return [(received[k] - sent[k]) * 1000 for k in received if k in sent]


def _listener_process(url: str, user_id: str, port: int, ready: Any, stop: Any, out: Any) -> None:
    """Runs in its own process, as `portguard tracking listen` does: record until told to stop, report the stats."""
    db = Database(url)
    with db.session() as session:
        principal = sharing.load_principal(session, user_id=user_id)
    gc.collect()
    gc.freeze()  # start-up objects (imports, settings) are not the listener's working set
    listener = Listener(
        db=db, actor=principal, port=port, topic=TOPIC, client_id=f"bench-{time.time_ns()}", batch_wait_s=0.002
    )
    listener.start()
    listener.subscribed.wait(10)
    ready.set()
    stop.wait()
    listener.stop(drain_s=5)
    s = listener.stats
    out.put({"messages": s.messages, "alerts": s.alerts, "batches": s.batches, "latencies_ms": s.latencies_ms})
    db.dispose()


def mqtt_latency(
    events: list[dict[str, Any]], *, rate: float, port: int, postgres: str | None
) -> tuple[dict, list[float]]:
    db, principal = _store(postgres)
    url = db.url
    db.dispose()
    alerts: list[tuple[float, str]] = []
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_alert(c: Any, u: Any, m: Any) -> None:
        alerts.append((time.time(), json.loads(m.payload)["container"]))

    sub.on_message = on_alert
    sub.connect("127.0.0.1", port)
    sub.subscribe(ALERTS, qos=1)
    sub.loop_start()
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_listener_process, args=(url, principal.user_id, port, ready, stop, out), daemon=True)
    proc.start()
    ready.wait(60)
    t = time.perf_counter()
    pub, sent_q = _publish_elsewhere(events, topic=TOPIC, rate=rate, port=port)
    sent = sent_q.get(timeout=len(events) / rate + 120)
    pub.join(30)
    elapsed = time.perf_counter() - t
    time.sleep(2)
    stop.set()
    stats = out.get(timeout=120)
    proc.join(30)
    sub.loop_stop()
    sub.disconnect()
    # An alert's trigger is the last event of its container published before the alert came: the one that made the
    # pattern visible (a door still open shows only with a later event, so the alert's own events can be older).
    by_box: dict[str, list[float]] = {}
    for e in events:
        box = (e.get("equipmentDetails") or {}).get("equipmentReference")
        if box and e["eventID"] in sent:
            by_box.setdefault(box, []).append(sent[e["eventID"]])
    for times in by_box.values():
        times.sort()
    lat = []
    for arrived, box in alerts:
        before = by_box.get(box, [])
        i = bisect.bisect_right(before, arrived)
        if i:
            lat.append((arrived - before[i - 1]) * 1000)
    return {
        "messages": stats["messages"],
        "alerts": stats["alerts"],
        "batches": stats["batches"],
        "batch_ms_p50": _pct(stats["latencies_ms"], 50),
        "batch_ms_p99": _pct(stats["latencies_ms"], 99),
        "batch_ms_max": max(stats["latencies_ms"], default=float("nan")),
        "seconds": elapsed,
    }, lat


# ---------------------------------------------------------------------------------------------------- 3. a day


BROKER_CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {folder}/
max_queued_messages 2000000
user {user}
"""  # as a deployment sets it (docs/DESIGN.md): a lagging listener's messages are queued, not dropped


@contextmanager
def own_broker() -> Iterator[int]:
    """A Mosquitto of the benchmark's own, configured for PortGuard (Mosquitto's default keeps only 1,000 queued
    messages for a client that lags behind and drops the rest)."""
    folder = Path(tempfile.mkdtemp())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = folder / "mosquitto.conf"
    conf.write_text(BROKER_CONF.format(port=port, folder=folder, user=getpass.getuser()))
    proc = subprocess.Popen(  # noqa: S603
        [shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def day_through_mqtt(
    sim: simulator.Simulation, *, port: int, postgres: str | None, rate: float | None
) -> tuple[list, dict[str, Any]]:
    db, principal = _store(postgres)
    listener = Listener(db=db, actor=principal, port=port, topic=TOPIC, client_id=f"bench-day-{time.time_ns()}")
    listener.start()
    listener.subscribed.wait(10)
    t = time.perf_counter()
    pub, sent_q = _publish_elsewhere(sim.events, topic=TOPIC, rate=rate, port=port)
    while sent_q.empty():
        time.sleep(1)
        console.print(f"  recorded {listener.stats.messages:,} / {len(sim.events):,} messages", end="\r")
    sent_q.get()
    pub.join(30)
    published = time.perf_counter() - t
    last, still = -1, 0
    while listener.stats.messages < len(sim.events):
        time.sleep(1)
        if listener.stats.messages == last:
            still += 1
            if still > 60:
                break
        else:
            last, still = listener.stats.messages, 0
        console.print(f"  recorded {listener.stats.messages:,} / {len(sim.events):,} messages", end="\r")
    recorded = time.perf_counter() - t
    listener.stop(drain_s=5)
    with db.session() as session:
        standing = session.execute(
            select(PortAlert.container_number, PortAlert.detector).where(PortAlert.status != "withdrawn")
        ).all()
        withdrawn = session.scalar(select(PortAlert.id).where(PortAlert.status == "withdrawn").limit(1))
    rows = evaluation.evaluate(findings=[(c, d) for c, d in standing], labels=sim.labels)
    db.dispose()
    return rows, {
        "events": len(sim.events),
        "published_s": published,
        "recorded_s": recorded,
        "events_per_s": len(sim.events) / recorded,
        "stats": listener.stats,
        "some_withdrawn": withdrawn is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--postgres", help="record into this PostgreSQL URL instead of a fresh SQLite file")
    parser.add_argument("--day", action="store_true", help="also send the whole day through MQTT and evaluate")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-detectors", action="store_true", help="skip the one-core detector table")
    parser.add_argument("--day-rate", type=float, default=0.0, help="events/s for --day (0: as fast as it goes)")
    args = parser.parse_args()

    t = time.perf_counter()
    sim = simulator.simulate(containers=args.containers, seed=args.seed)
    gc.collect()
    gc.freeze()  # half a million simulated events: keep them out of the collector's passes (they pause the clients)
    console.print(
        f"simulated {args.containers:,} containers: {len(sim.events):,} events, {len(sim.labels):,} labels "
        f"in {time.perf_counter() - t:.1f} s"
    )
    if not args.skip_detectors:
        table, one_core = detector_throughput(sim.events)
        console.print(table)
        console.print(f"goal ≥ 20,000 events/s through all detectors: {one_core['detect_events_per_s']:,.0f} events/s")

    if not args.skip_latency:
        n = int(args.rate * args.seconds)
        sample = sim.events[:n]
        base = broker_round_trip(sample, rate=args.rate, port=args.port)
        info, lat = mqtt_latency(sample, rate=args.rate, port=args.port, postgres=args.postgres)
        lt = Table(
            title=f"Event → alert over MQTT at {args.rate:,.0f} events/s for {args.seconds:.0f} s (Mosquitto, QoS 1)"
        )
        for col in ("path", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms"):
            lt.add_column(col, justify="right" if col != "path" else "left")
        for label, values in (("broker round trip (baseline)", base), ("event → alert through PortGuard", lat)):
            lt.add_row(
                label,
                f"{len(values):,}",
                f"{_pct(values, 50):.1f}",
                f"{_pct(values, 95):.1f}",
                f"{_pct(values, 99):.1f}",
                f"{max(values) if values else float('nan'):.1f}",
            )
        console.print(lt)
        console.print(
            f"listener: {info['messages']:,} messages in {info['batches']:,} transactions "
            f"(per transaction p50 {info['batch_ms_p50']:.1f} ms, p99 {info['batch_ms_p99']:.1f} ms, "
            f"max {info['batch_ms_max']:.0f} ms), "
            f"{info['alerts']:,} alerts; goal p99 < 50 ms: {_pct(lat, 99):.1f} ms "
            f"({_pct(lat, 99) / max(_pct(base, 99), 1e-9):.1f}× the broker's own p99)"
        )

    if args.day:
        with own_broker() as port:
            rows, info = day_through_mqtt(sim, port=port, postgres=args.postgres, rate=args.day_rate or None)
        console.print(evaluation.table(rows))
        s = info["stats"]
        console.print(
            f"{info['events']:,} events published in {info['published_s']:.0f} s, all recorded after "
            f"{info['recorded_s']:.0f} s ({info['events_per_s']:,.0f} events/s into the store, {s.batches:,} "
            f"transactions, {s.duplicates:,} redeliveries ignored, {s.rejected:,} rejected, {s.alerts:,} alerts raised)"
        )


if __name__ == "__main__":
    main()
