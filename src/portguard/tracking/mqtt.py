"""MQTT 5 in and out: the listener that feeds `record_events` from `portguard/{port}/{terminal}/events`, and a
publisher for files of events (tests, the benchmark, replaying a simulated day).

Nothing is lost between the broker and the store: the listener keeps a persistent session (`clean_start=False`
with a session expiry interval, so the broker queues QoS 1 messages while it is away), and acknowledges a message
(`manual_ack`) only after the transaction holding its events has committed. A crash before the commit means the
broker redelivers; redeliveries are idempotent on the event id. Messages are taken in batches (up to `batch_max`,
or what arrived within `batch_wait_s`), one transaction each, so a burst costs one commit instead of thousands.
The listener keeps the timelines it has seen decoded in memory (`service.TimelineCache`, checked against the store
on every batch), so a batch reads back only what other writers stored.
Each alert raised is published to `portguard/{port}/{terminal}/alerts` as it commits.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from portguard.core.db import Database
from portguard.core.policy import Principal
from portguard.tracking import service
from portguard.tracking.models import AlertSharing, PortAlert

log = logging.getLogger(__name__)

EVENTS_TOPIC = "portguard/+/+/events"
SESSION_EXPIRY_S = 7 * 86400


def alerts_topic(events_topic: str) -> str:
    """`portguard/NLRTM/DELTA/events` → `portguard/NLRTM/DELTA/alerts`."""
    head, _, _ = events_topic.rpartition("/")
    return f"{head}/alerts"


def decode(payload: bytes) -> list[Any]:
    """The events of one message: an event object, `{"events": [...]}`, or a list; ValueError if not JSON."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"message is not UTF-8 JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        return doc["events"]
    if isinstance(doc, list):
        return doc
    return [doc]


def alert_message(alert: PortAlert) -> bytes:
    """The JSON an alert is published as."""
    return json.dumps(
        {
            "id": alert.id,
            "container": alert.container_number,
            "detector": alert.detector,
            "reason": alert.reason,
            "eventIDs": [k.split(":", 1)[-1] for k in alert.event_ids],
            "eventTime": alert.event_time.isoformat(),
            "handling": alert.handling,
        }
    ).encode()


def _client(client_id: str, *, clean: bool, settings_user: str | None, settings_password: str | None) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=not clean,
    )
    if settings_user:
        client.username_pw_set(settings_user, settings_password)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    return client


@dataclass
class ListenerStats:
    messages: int = 0
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alerts: int = 0
    batches: int = 0
    errors: int = 0
    connects: int = 0
    latencies_ms: list[float] = field(default_factory=list)


class Listener:
    """Subscribes to the events topic and records what arrives, acknowledging after each commit."""

    def __init__(
        self,
        *,
        db: Database,
        actor: Principal,
        host: str = "127.0.0.1",
        port: int = 1883,
        topic: str = EVENTS_TOPIC,
        client_id: str | None = None,
        sharing: AlertSharing | None = None,
        batch_max: int = 500,
        batch_wait_s: float = 0.01,
        username: str | None = None,
        password: str | None = None,
        on_batch: Callable[[service.IngestResult], None] | None = None,
    ) -> None:
        self.db, self.actor, self.host, self.port, self.topic = db, actor, host, port, topic
        self.sharing = sharing or AlertSharing()
        self.batch_max, self.batch_wait_s = batch_max, batch_wait_s
        self.client_id = client_id or f"portguard-listener-{actor.org_id}"
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.stats = ListenerStats()
        self.cache = service.TimelineCache()
        self.on_batch = on_batch
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = _client(self.client_id, clean=False, settings_user=username, settings_password=password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        self.stats.connects += 1
        # A resumed session keeps its subscription; subscribing again is harmless and covers a lost session.
        client.subscribe(self.topic, qos=1)
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(msg)

    def start(self) -> None:
        """Connect (persistent session) and start the network loop and the recording worker."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False, properties=props)
        self.client.loop_start()
        self._worker = threading.Thread(target=self._work, name="portguard-mqtt-recorder", daemon=True)
        self._worker.start()

    def stop(self, *, drain_s: float = 0.0) -> None:
        """Finish what has arrived (waiting up to `drain_s` for the inbox to empty), then disconnect."""
        deadline = time.monotonic() + drain_s
        while drain_s and not self.inbox.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        self.client.disconnect()
        self.client.loop_stop()

    def _take(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_max:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=timeout))
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        pending: list[mqtt.MQTTMessage] = []
        while not (self._stop.is_set() and self.inbox.empty() and not pending):
            batch = pending or self._take()
            pending = []
            if not batch:
                continue
            try:
                self._record(batch)
            except Exception:  # the store failed: keep the batch unacknowledged and try again
                self.stats.errors += 1
                log.exception("recording %d MQTT messages failed; retrying", len(batch))
                pending = batch
                time.sleep(0.5)

    def _record(self, batch: list[mqtt.MQTTMessage]) -> None:
        received = time.time()
        by_topic: dict[str, list[Any]] = {}
        bad: list[tuple[str, str, bytes]] = []
        for msg in batch:
            try:
                by_topic.setdefault(msg.topic, []).extend(decode(msg.payload))
            except ValueError as exc:
                bad.append((msg.topic, str(exc), msg.payload))
        results = []
        with self.db.session() as session:
            for topic, raw in by_topic.items():
                results.append(
                    (
                        topic,
                        service.record_events(
                            session,
                            actor=self.actor,
                            events=raw,
                            source="mqtt",
                            sharing=self.sharing,
                            cache=self.cache,
                        ),
                    )
                )
            for _topic, error, payload in bad:
                service.reject_raw(session, owner_org_id=self.actor.org_id, source="mqtt", error=error, raw=payload)
        for msg in batch:
            self.client.ack(msg.mid, msg.qos)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        self.stats.rejected += len(bad)
        for topic, result in results:
            self.stats.events += sum(len(v) for t, v in by_topic.items() if t == topic)
            self.stats.accepted += len(result.accepted)
            self.stats.duplicates += len(result.duplicates)
            self.stats.rejected += len(result.rejected)
            self.stats.alerts += len(result.raised)
            for alert in result.raised:
                self.client.publish(alerts_topic(topic), alert_message(alert), qos=1)
            if self.on_batch:
                self.on_batch(result)
        self.stats.latencies_ms.append((time.time() - received) * 1000)


def publish_events(
    events: Iterable[dict[str, Any]],
    *,
    topic: str,
    host: str = "127.0.0.1",
    port: int = 1883,
    rate: float | None = None,
    per_message: int = 1,
    client_id: str | None = None,
    on_sent: Callable[[int], None] | None = None,
    username: str | None = None,
    password: str | None = None,
) -> int:
    """Publish events at QoS 1 (`per_message` to a message, at most `rate` events a second); waits for every
    PUBACK. Returns the number of events sent."""
    client = _client(
        client_id or f"portguard-publisher-{time.monotonic_ns()}",
        clean=True,
        settings_user=username,
        settings_password=password,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    sent = 0
    infos = []
    start = time.monotonic()
    chunk: list[dict[str, Any]] = []
    try:
        for event in events:
            chunk.append(event)
            if len(chunk) < per_message:
                continue
            body = chunk[0] if per_message == 1 else {"events": chunk}
            infos.append(client.publish(topic, json.dumps(body), qos=1))
            sent += len(chunk)
            chunk = []
            if on_sent:
                on_sent(sent)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            if len(infos) >= 5000:
                for info in infos:
                    info.wait_for_publish(timeout=60)
                infos = []
        if chunk:
            infos.append(client.publish(topic, json.dumps({"events": chunk}), qos=1))
            sent += len(chunk)
        for info in infos:
            info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent
