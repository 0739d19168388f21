"""The MQTT path against real Mosquitto brokers: events published at QoS 1 reach timelines and alerts, alerts come
back on the alerts topic, redeliveries are idempotent, and a broker restart in the middle of a stream loses nothing
(persistent session, acknowledgement only after commit)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from portguard.core.policy import OrgKind, Role
from portguard.tracking.models import ContainerEvent, PortAlert
from portguard.tracking.mqtt import Listener, decode, publish_events
from tests.tracking.conftest import clean_import, dcsa

HOST = "127.0.0.1"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


@pytest.fixture
def broker_1883() -> int:
    if not _port_open(1883):
        if os.environ.get("CI"):
            pytest.fail("CI must run the MQTT tests: no broker on 127.0.0.1:1883")
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    return 1883


class Broker:
    """A Mosquitto of the test's own, with persistence, that the test can restart."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = s.getsockname()[1]
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {tmp}/\nautosave_interval 1\n"
            f"user {getpass.getuser()}\n"  # as root, mosquitto would switch to its own user and not write here
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("mosquitto") or "mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if _port_open(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # mosquitto saves its persistence file on the way out
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_broker(tmp_path):
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the MQTT tests: mosquitto is not installed")
        pytest.skip("mosquitto is not installed")
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(ContainerEvent)) or 0


def test_decode_accepts_an_event_a_batch_or_a_list_and_refuses_non_json():
    e = dcsa("DISC")
    assert decode(json.dumps(e).encode()) == [e]
    assert decode(json.dumps({"events": [e, e]}).encode()) == [e, e]
    assert decode(json.dumps([e]).encode()) == [e]
    with pytest.raises(ValueError, match="not UTF-8 JSON"):
        decode(b"\xff{")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_events_over_mqtt_become_timelines_and_alerts_come_back(db, make_user, broker_1883, tmp_path):
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    run = f"t{time.monotonic_ns()}"
    topic = f"portguard/NLRTM/{run}/events"
    alerts: list[dict] = []
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: alerts.append(json.loads(m.payload))
    sub.connect(HOST, broker_1883)
    sub.subscribe(f"portguard/NLRTM/{run}/alerts", qos=1)
    sub.loop_start()
    listener = Listener(db=db, actor=terminal.principal, port=broker_1883, topic=topic, client_id=f"pg-{run}")
    listener.start()
    try:
        assert listener.subscribed.wait(10)
        events = [*clean_import(), dcsa("DRO", 300), dcsa("DRC", 330)]
        publish_events([*events, *events[:4]], topic=topic, port=broker_1883)  # four redelivered
        publish_events([{"broken": True}], topic=topic, port=broker_1883)
        assert _wait(lambda: listener.stats.messages >= len(events) + 5)
        assert _wait(lambda: len(alerts) == 1)
    finally:
        listener.stop(drain_s=2)
        sub.loop_stop()
        sub.disconnect()
    assert _count(db) == len(events)
    assert listener.stats.duplicates == 4 and listener.stats.rejected == 1
    assert (
        alerts[0]["detector"] == "door_open"
        and alerts[0]["container"] == events[0]["equipmentDetails"]["equipmentReference"]
    )


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_broker_restart_during_a_stream_loses_nothing(db, make_user, own_broker):
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    topic = "portguard/NLRTM/DELTA/events"
    events = [e for i in range(5) for e in clean_import(container=_box(i), start=i * 10)]
    listener = Listener(db=db, actor=terminal.principal, port=own_broker.port, topic=topic, client_id="pg-restart")
    listener.start()
    assert listener.subscribed.wait(10)
    half = len(events) // 2
    publish_events(events[:half], topic=topic, port=own_broker.port)
    assert _wait(lambda: _count(db) == half)
    listener.stop()  # the listener goes away; its session stays on the broker

    publish_events(events[half:], topic=topic, port=own_broker.port)  # queued for the absent listener
    own_broker.stop()
    own_broker.start()  # the queue survives the restart (persistence)
    listener = Listener(db=db, actor=terminal.principal, port=own_broker.port, topic=topic, client_id="pg-restart")
    listener.start()
    try:
        assert _wait(lambda: _count(db) == len(events), timeout=30), f"{_count(db)} of {len(events)} recorded"
    finally:
        listener.stop(drain_s=2)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PortAlert)) == 0


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_broker_restart_while_the_listener_stays_connected(db, make_user, own_broker):
    """The broker goes down under a connected listener and a publisher; both reconnect and nothing is lost."""
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    topic = "portguard/NLRTM/DELTA/events"
    events = [e for i in range(6) for e in clean_import(container=_box(i), start=i * 10)]
    listener = Listener(db=db, actor=terminal.principal, port=own_broker.port, topic=topic, client_id="pg-live")
    listener.start()
    assert listener.subscribed.wait(10)
    publish_events(events[:20], topic=topic, port=own_broker.port)
    assert _wait(lambda: _count(db) == 20)
    own_broker.stop()
    restarter = threading.Timer(1.0, own_broker.start)
    restarter.start()
    restarter.join()
    publish_events(events[20:], topic=topic, port=own_broker.port)
    try:
        assert _wait(lambda: _count(db) == len(events), timeout=30), f"{_count(db)} of {len(events)} recorded"
    finally:
        listener.stop(drain_s=2)
    assert listener.stats.connects >= 2


def _box(i: int) -> str:
    from stdnum import iso6346

    head = f"TGHU{100000 + i:06d}"
    return head + iso6346.calc_check_digit(head)
