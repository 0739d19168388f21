"""Delivery of drug alerts: signed webhooks to a real HTTP receiver, JetStream publishes to the local NATS server,
retries with back-off (time moved by `now`, never slept), giving up, the audit entries, and the signature's
properties — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from portguard.core import audit
from portguard.core.audit import AuditAction, AuditEntry
from portguard.core.db import Database
from portguard.core.ids import new_id
from portguard.substances import delivery
from portguard.substances.delivery import (
    BACKOFF_S,
    MAX_ATTEMPTS,
    DeliveryReport,
    NatsSender,
    WebhookSender,
    alert_payload,
    deliver_due,
    deliver_now,
    encode,
    next_delay,
    run_worker,
    sign,
    verify,
)
from portguard.substances.models import AlertRecipient, DeliveryStatus, DrugAlert, Substance
from tests.substances.delivery_helpers import (
    NOW,
    SECRET,
    Receiver,
    World,
    add_delivery,
    free_port,
    get_delivery,
    make_world,
    purge,
    require_nats,
    stored,
    unique_subject,
)


def expected_body(db: Database, world: World, kind: str = "alert") -> bytes:
    """The bytes the recipient should get, built from the rows as stored."""
    with db.session() as s:
        alert = s.get(DrugAlert, world.alert_id)
        recipient = s.get(AlertRecipient, (world.alert_id, world.recipient_org))
        substance = s.get(Substance, world.substance_id)
        return encode(alert_payload(alert=alert, recipient=recipient, substance=substance, kind=kind))


def entries(db: Database, *, object_id: str) -> list[AuditEntry]:
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.object_id == object_id).order_by(AuditEntry.seq)).all()
        for row in rows:
            s.expunge(row)
        return list(rows)


def deliver(db: Database, *, now: datetime, webhook: Any = None, nats: Any = None) -> DeliveryReport:
    with db.session() as s:
        return deliver_due(s, now=now, webhook=webhook, nats=nats)


@pytest.fixture
def webhook():
    with WebhookSender(timeout_s=5) as sender:
        yield sender


@pytest.fixture
def nats_subject():
    """A subject of the test's own on the local server's PORTGUARD_ALERTS stream, purged afterwards."""
    require_nats()
    subject = unique_subject()
    yield subject
    purge([subject])


@pytest.fixture
def nats_sender():
    with NatsSender() as sender:
        yield sender


# ---------------------------------------------------------------- the document


def test_the_payload_carries_the_art_13_fields_the_substance_and_the_recipient():
    alert = DrugAlert(
        id="dal_1",
        owner_org_id="org_nl",
        handling="AMBER+STRICT",
        type="formal_notification",
        title="Designer precursor of BMK",
        risk_type="new designer precursor",
        risk_origin="first detection in a consignment",
        event_date=date(2025, 5, 1),
        event_place="Antwerp",
        exposure="bulk powder",
        analytical_data="NMR",
        identification_methods="NMR, GC-MS",
        risks="conversion to BMK in one step",
        measures_taken="shipment stopped",
        response_options="stop shipments of the same consignor",
        sent_at=datetime(2025, 5, 2, 8, 30, tzinfo=UTC),
    )
    recipient = AlertRecipient(alert_id="dal_1", org_id="org_be", due_at=datetime(2025, 5, 3, 8, 30, tzinfo=UTC))
    substance = Substance(
        id="sub_1",
        name="MAPA",
        cas="4024-14-4",
        inchikey="XXXXXXXXXXXXXX-UHFFFAOYSA-N",
        smiles="CC(=O)C(C(N)=O)c1ccccc1",
        eu_category="1",
        statuses=[],
    )
    doc = alert_payload(alert=alert, recipient=recipient, substance=substance, kind="escalation")
    assert doc["id"] == "dal_1" and doc["type"] == "formal_notification" and doc["kind"] == "escalation"
    assert doc["handling"] == "AMBER+STRICT" and doc["link"] == "/alerts/dal_1"
    assert doc["recipient"] == {"org_id": "org_be"} and doc["due_at"] == "2025-05-03T08:30:00Z"
    assert doc["event_date"] == "2025-05-01" and doc["sent_at"] == "2025-05-02T08:30:00Z"
    for name in ("risk_type", "risk_origin", "event_place", "exposure", "analytical_data", "identification_methods"):
        assert doc[name] == getattr(alert, name)
    for name in ("risks", "measures_taken", "response_options"):
        assert doc[name] == getattr(alert, name)
    assert doc["substance"]["name"] == "MAPA" and doc["substance"]["cas"] == "4024-14-4"
    assert doc["substance"]["legal_label"] == "EU cat. 1" and doc["substance"]["smiles"] == substance.smiles
    assert doc["substance"]["inchikey"] == substance.inchikey

    unscheduled = Substance(id="sub_2", name="a look-alike", statuses=[])
    assert (
        alert_payload(alert=alert, recipient=recipient, substance=unscheduled, kind="alert")["substance"]["legal_label"]
        is None
    )
    assert alert_payload(alert=alert, recipient=recipient, substance=None, kind="alert")["substance"] is None
    with pytest.raises(ValueError, match="message kind"):
        alert_payload(alert=alert, recipient=recipient, substance=None, kind="reminder")

    body = encode(doc)
    assert json.loads(body) == doc
    assert encode(dict(reversed(list(doc.items())))) == body  # the same document, the same bytes
    assert list(json.loads(body)) == sorted(doc)


# ---------------------------------------------------------------- webhooks


def test_a_webhook_delivery_is_signed_delivered_and_audited(db, make_org, webhook):
    with Receiver(secret=SECRET) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url)
        first = add_delivery(db, world, channel="webhook", target=receiver.url)
        escalation = add_delivery(db, world, channel="webhook", target=receiver.url, kind="escalation")
        report = deliver(db, now=NOW, webhook=webhook)

    assert report == DeliveryReport(attempted=2, delivered=2, failed_attempts=0, given_up=0)
    assert [r.verified for r in receiver.received] == [True, True]
    by_id = {r.headers["x-portguard-delivery"]: r for r in receiver.received}
    assert set(by_id) == {first, escalation}
    assert by_id[first].headers["x-portguard-event"] == "alert"
    assert by_id[escalation].headers["x-portguard-event"] == "escalation"
    assert by_id[first].headers["content-type"] == "application/json"
    assert by_id[first].body == expected_body(db, world)
    assert json.loads(by_id[escalation].body)["kind"] == "escalation"
    signature = by_id[first].headers["x-portguard-signature"]
    t = int(signature.split(",")[0].removeprefix("t="))
    assert signature == sign(body=by_id[first].body, secret=SECRET, timestamp=t)

    row = get_delivery(db, first)
    assert (row.status, row.attempts, row.delivered_at, row.last_error) == ("delivered", 1, NOW, None)
    disclosed = [e for e in entries(db, object_id=world.alert_id) if e.action == AuditAction.DISCLOSE]
    assert {e.detail["delivery"] for e in disclosed} == {first, escalation}
    one = next(e for e in disclosed if e.detail["delivery"] == first)
    assert one.object_type == "drug_alert" and one.user_id is None and one.username == "system"
    assert one.detail == {
        "delivery": first,
        "channel": "webhook",
        "org": world.recipient_org,
        "kind": "alert",
        "attempt": 1,
        "error": None,
    }
    with db.session() as s:
        assert audit.verify(s).ok


def test_a_receiver_checking_with_another_secret_rejects_and_the_attempt_fails(db, make_org, webhook):
    with Receiver(secret="not-the-secret-that-was-registered") as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url)
        delivery_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        report = deliver(db, now=NOW, webhook=webhook)

    assert report == DeliveryReport(attempted=1, delivered=0, failed_attempts=1, given_up=0)
    assert [r.verified for r in receiver.received] == [False]
    row = get_delivery(db, delivery_id)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "HTTP 401 Unauthorized"
    assert row.next_attempt_at == NOW + timedelta(seconds=BACKOFF_S)
    (entry,) = entries(db, object_id=world.alert_id)
    assert entry.action == AuditAction.ALTER and entry.detail["error"] == "HTTP 401 Unauthorized"
    assert entry.detail["attempt"] == 1


def test_retries_after_failures_until_the_receiver_accepts(db, make_org, webhook):
    with Receiver(secret=SECRET, answers=[503, 503]) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url)
        delivery_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        later_id = add_delivery(db, world, channel="webhook", target=receiver.url, next_attempt_at=NOW + timedelta(1))

        seen: list[tuple[str, int, str | None, datetime]] = []
        reports = []
        for at in (NOW, NOW + timedelta(seconds=29), NOW + timedelta(seconds=30), NOW + timedelta(seconds=90)):
            reports.append(deliver(db, now=at, webhook=webhook))
            row = get_delivery(db, delivery_id)
            seen.append((row.status, row.attempts, row.last_error, row.next_attempt_at))

    assert [r.attempted for r in reports] == [1, 0, 1, 1]  # not yet due at +29 s
    assert seen[0] == ("pending", 1, "HTTP 503 Service Unavailable", NOW + timedelta(seconds=30))
    assert seen[1] == seen[0]
    assert seen[2] == ("pending", 2, "HTTP 503 Service Unavailable", NOW + timedelta(seconds=90))
    assert seen[3][:2] == ("delivered", 3)
    assert get_delivery(db, delivery_id).delivered_at == NOW + timedelta(seconds=90)

    # every attempt was the same message: one idempotency key, one body, each signed
    assert len(receiver.received) == 3
    assert {r.headers["x-portguard-delivery"] for r in receiver.received} == {delivery_id}
    assert {r.body for r in receiver.received} == {expected_body(db, world)}
    assert all(r.verified for r in receiver.received)

    later = get_delivery(db, later_id)  # due tomorrow: never attempted
    assert (later.status, later.attempts, later.last_error) == ("pending", 0, None)

    actions = [(e.action, e.detail["attempt"]) for e in entries(db, object_id=world.alert_id)]
    assert actions == [("alter", 1), ("alter", 2), ("disclose", 3)]


def test_gives_up_after_max_attempts_against_a_dead_port(db, make_org, webhook):
    url = f"http://127.0.0.1:{free_port()}/hooks"
    world = make_world(db, make_org, webhook_url=url)
    delivery_id = add_delivery(db, world, channel="webhook", target=url)

    at, delays, reports = NOW, [], []
    for _ in range(MAX_ATTEMPTS):
        reports.append(deliver(db, now=at, webhook=webhook))
        row = get_delivery(db, delivery_id)
        if row.status == "pending":
            delays.append((row.next_attempt_at - at).total_seconds())
            at = row.next_attempt_at

    assert delays == [30, 60, 120, 240, 480, 960, 1920]
    row = get_delivery(db, delivery_id)
    assert row.status == DeliveryStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert row.last_error == "connection refused" and row.delivered_at is None
    assert sum(r.given_up for r in reports) == 1 and reports[-1].given_up == 1
    assert sum(r.failed_attempts for r in reports) == MAX_ATTEMPTS
    assert deliver(db, now=at + timedelta(days=30), webhook=webhook).attempted == 0

    trail = entries(db, object_id=world.alert_id)
    assert [e.action for e in trail] == ["alter"] * MAX_ATTEMPTS
    assert trail[-1].detail["given_up"] is True and "given_up" not in trail[0].detail


def test_the_back_off_doubles_and_stops_at_an_hour():
    assert [next_delay(attempts=n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_the_secret_is_never_recorded(db, make_org, webhook):
    with Receiver(secret="a-different-secret-entirely") as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url)
        delivery_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        deliver(db, now=NOW, webhook=webhook)

    class Leaky:
        """A transport whose error message quotes the secret (as a careless library might)."""

        def send(self, *, url: str, body: bytes, secret: str, delivery_id: str, event: str) -> delivery.Attempt:
            return delivery.Attempt(False, f"refused key {secret}")

    deliver(db, now=NOW + timedelta(hours=1), webhook=Leaky())
    row = get_delivery(db, delivery_id)
    assert row.attempts == 2 and row.last_error == "refused key [secret]"
    for entry in entries(db, object_id=world.alert_id):
        assert SECRET not in json.dumps(entry.payload())


def test_a_subscription_without_a_secret_waits_and_a_deactivated_one_is_given_up(db, make_org, webhook):
    with Receiver(secret=SECRET) as receiver:
        unsigned = make_world(db, make_org, webhook_url=receiver.url, secret=None)
        off = make_world(db, make_org, webhook_url=receiver.url, active=False)
        no_secret_id = add_delivery(db, unsigned, channel="webhook", target=receiver.url)
        off_id = add_delivery(db, off, channel="webhook", target=receiver.url)
        report = deliver(db, now=NOW, webhook=webhook)

    assert report == DeliveryReport(attempted=2, failed_attempts=2, given_up=1)
    assert receiver.received == []
    unsigned_row, off_row = get_delivery(db, no_secret_id), get_delivery(db, off_id)
    assert (unsigned_row.status, unsigned_row.last_error) == ("pending", "the subscription has no webhook secret")
    assert (off_row.status, off_row.last_error) == ("failed", "the subscription was deactivated")  # at once


def test_a_channel_without_a_sender_stays_pending(db, make_org, webhook):
    with Receiver(secret=SECRET) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url, nats_subject="portguard.alerts.be")
        hook_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        nats_id = add_delivery(db, world, channel="nats", target="portguard.alerts.be")
        assert deliver(db, now=NOW) == DeliveryReport()
        report = deliver(db, now=NOW, webhook=webhook, nats=None)

    assert report.attempted == 1 and report.delivered == 1
    assert get_delivery(db, hook_id).status == "delivered"
    untouched = get_delivery(db, nats_id)
    assert (untouched.status, untouched.attempts, untouched.next_attempt_at) == ("pending", 0, NOW)


def test_the_worker_loop_delivers_in_its_own_transactions_until_stopped(db, make_org, webhook):
    with Receiver(secret=SECRET) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url, due_at=datetime.now(UTC) + timedelta(days=1))
        delivery_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        stop = threading.Event()
        reports: list[DeliveryReport] = []

        def on_report(report: DeliveryReport) -> None:
            reports.append(report)
            if report.delivered:
                stop.set()

        totals: list[DeliveryReport] = []
        worker = threading.Thread(
            target=lambda: totals.append(
                run_worker(db=db, stop=stop, interval_s=0.05, webhook=webhook, on_report=on_report)
            )
        )
        worker.start()
        worker.join(30)
        stop.set()
        worker.join(5)

    assert not worker.is_alive()
    assert get_delivery(db, delivery_id).status == "delivered"  # committed by the worker's own transaction
    assert totals == [DeliveryReport(attempted=1, delivered=1)]
    assert reports[-1].delivered == 1 and len(receiver.received) == 1


def test_deliver_now_escalates_an_overdue_recipient_and_sends_both_messages(db, make_org, webhook):
    with Receiver(secret=SECRET) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url, due_at=NOW - timedelta(hours=1))
        add_delivery(db, world, channel="webhook", target=receiver.url)
        report = deliver_now(db=db, now=NOW, webhook=webhook)
        again = deliver_now(db=db, now=NOW + timedelta(hours=1), webhook=webhook)

    assert report == DeliveryReport(attempted=2, delivered=2, escalated=1)
    assert again == DeliveryReport()  # escalated once, nothing left to send
    assert sorted(r.headers["x-portguard-event"] for r in receiver.received) == ["alert", "escalation"]
    escalation = next(r for r in receiver.received if r.headers["x-portguard-event"] == "escalation")
    assert escalation.verified and escalation.body == expected_body(db, world, kind="escalation")


def test_no_transaction_is_open_while_a_receiver_answers(db, make_org):
    """The receiver writes to the store while it handles the message: on SQLite that needs the database's write
    lock, on PostgreSQL the delivery's row lock (NOWAIT). Held by the deliverer, the write would wait past the
    sender's timeout (or fail at once) and the attempt would fail."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from portguard.substances.models import Delivery

    writes: list[str] = []
    state: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                with db.session() as s:
                    row = s.scalars(
                        select(Delivery).where(Delivery.id == state["id"]).with_for_update(nowait=True)
                    ).one()
                    writes.append(row.status)
                status = 200
            except Exception as exc:  # the lock was held: the deliverer kept its transaction open
                writes.append(f"blocked: {type(exc).__name__}")
                status = 500
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        world = make_world(db, make_org, webhook_url=url)
        state["id"] = add_delivery(db, world, channel="webhook", target=url)
        with WebhookSender(timeout_s=3) as sender:
            report = deliver_now(db=db, now=NOW, webhook=sender)
    finally:
        server.shutdown()
        server.server_close()
    assert writes == ["pending"]
    assert report.delivered == 1 and get_delivery(db, state["id"]).status == DeliveryStatus.DELIVERED.value


# PostgreSQL only: SQLite serialises writers with BEGIN IMMEDIATE, so two workers there never overlap at all
@pytest.mark.parametrize("db", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_never_take_the_same_row(db, make_org, webhook):
    from portguard.substances.models import Delivery

    with Receiver(secret=SECRET) as receiver:
        world = make_world(db, make_org, webhook_url=receiver.url)
        delivery_id = add_delivery(db, world, channel="webhook", target=receiver.url)
        with db.sessionmaker() as other, other.begin():
            other.scalars(select(Delivery).where(Delivery.id == delivery_id).with_for_update()).one()
            assert deliver(db, now=NOW, webhook=webhook).attempted == 0  # locked by the other worker: skipped
        assert deliver(db, now=NOW, webhook=webhook).delivered == 1
    assert len(receiver.received) == 1


# ---------------------------------------------------------------- NATS JetStream


def test_a_nats_delivery_is_stored_by_the_stream_and_read_by_a_consumer(db, make_org, nats_subject, nats_sender):
    world = make_world(db, make_org, nats_subject=nats_subject)
    delivery_id = add_delivery(db, world, channel="nats", target=nats_subject)
    report = deliver(db, now=NOW, nats=nats_sender)

    assert report == DeliveryReport(attempted=1, delivered=1)
    messages, count = stored(nats_subject)
    assert count == 1
    (message,) = messages
    assert message.data == expected_body(db, world)
    assert message.headers["Nats-Msg-Id"] == delivery_id
    assert message.headers["X-PortGuard-Event"] == "alert"
    row = get_delivery(db, delivery_id)
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 1, NOW)
    (entry,) = entries(db, object_id=world.alert_id)
    assert entry.action == AuditAction.DISCLOSE and entry.detail["channel"] == "nats"


class LosesTheFirstPubAck(NatsSender):
    """Publishes for real, then acts as if the PubAck never came back, once."""

    lose = 1

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> Any:
        ack = await super()._publish(subject, body, headers)
        if self.lose:
            self.lose -= 1
            raise TimeoutError("PubAck lost on the way back")
        return ack


def test_a_publish_retried_after_a_lost_puback_is_stored_once(db, make_org, nats_subject):
    world = make_world(db, make_org, nats_subject=nats_subject)
    delivery_id = add_delivery(db, world, channel="nats", target=nats_subject)
    with LosesTheFirstPubAck() as sender:
        first = deliver(db, now=NOW, nats=sender)
        row = get_delivery(db, delivery_id)
        assert (first.failed_attempts, row.status, row.last_error) == (1, "pending", "no PubAck within 5 s")
        second = deliver(db, now=row.next_attempt_at, nats=sender)

    assert second.delivered == 1 and get_delivery(db, delivery_id).attempts == 2
    messages, count = stored(nats_subject)
    assert count == 1  # the stream dropped the second copy (same Nats-Msg-Id)
    assert messages[0].headers["Nats-Msg-Id"] == delivery_id
    trail = entries(db, object_id=world.alert_id)
    assert [e.action for e in trail] == ["alter", "disclose"] and trail[-1].detail["duplicate"] is True


def test_the_same_message_id_published_twice_is_acknowledged_as_a_duplicate(nats_subject, nats_sender):
    body, twice, other_id = b'{"test":true}', new_id("dlv"), new_id("dlv")  # fresh ids: the window outlives a run
    one = nats_sender.send(subject=nats_subject, body=body, delivery_id=twice, event="alert")
    two = nats_sender.send(subject=nats_subject, body=body, delivery_id=twice, event="alert")
    other = nats_sender.send(subject=nats_subject, body=body, delivery_id=other_id, event="alert")
    assert (one.delivered, one.duplicate) == (True, False)
    assert (two.delivered, two.duplicate) == (True, True)
    assert (other.delivered, other.duplicate) == (True, False)
    assert stored(nats_subject, expect=2)[1] == 2


def test_a_subject_outside_the_stream_is_a_failed_attempt(nats_subject, nats_sender):
    attempt = nats_sender.send(subject="elsewhere.alerts", body=b"{}", delivery_id=new_id("dlv"), event="alert")
    assert not attempt.delivered and attempt.error == "no JetStream stream stores this subject"
    assert nats_sender.send(subject=nats_subject, body=b"{}", delivery_id=new_id("dlv"), event="alert").delivered


def test_an_unreachable_nats_server_is_a_failed_attempt_with_the_reason(db, make_org):
    world = make_world(db, make_org, nats_subject="portguard.alerts.be")
    delivery_id = add_delivery(db, world, channel="nats", target="portguard.alerts.be")
    with NatsSender(servers=f"nats://127.0.0.1:{free_port()}", connect_timeout_s=1) as sender:
        report = deliver(db, now=NOW, nats=sender)
    assert report == DeliveryReport(attempted=1, failed_attempts=1)
    row = get_delivery(db, delivery_id)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "cannot connect to NATS: connection refused"
    assert row.next_attempt_at == NOW + timedelta(seconds=BACKOFF_S)


# ---------------------------------------------------------------- the signature


@given(
    body=st.binary(max_size=2000),
    secret=st.text(min_size=1, max_size=64),
    other_secret=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=2**33),
    shift=st.integers(min_value=1, max_value=10**6),
    extra=st.binary(min_size=1, max_size=8),
)
def test_sign_and_verify_round_trip_and_any_change_fails(body, secret, other_secret, timestamp, shift, extra):
    header = sign(body=body, secret=secret, timestamp=timestamp)
    assert verify(body=body, header=header, secret=secret, now=timestamp)
    assert not verify(body=body + extra, header=header, secret=secret, now=timestamp)
    assert not verify(body=extra + body, header=header, secret=secret, now=timestamp)
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        assert not verify(body=flipped, header=header, secret=secret, now=timestamp)
    moved = header.replace(f"t={timestamp},", f"t={timestamp + shift},")
    assert not verify(body=body, header=moved, secret=secret, now=timestamp + shift)
    if other_secret != secret:
        assert not verify(body=body, header=header, secret=other_secret, now=timestamp)


def test_verify_rejects_stale_future_and_malformed_headers_and_accepts_a_rotated_secret():
    body, t = b'{"id":"dal_1"}', 1_750_000_000
    header = sign(body=body, secret=SECRET, timestamp=t)
    assert header.startswith(f"t={t},v1=") and len(header.split("v1=")[1]) == 64
    assert verify(body=body, header=header, secret=SECRET, now=t + 300)
    assert verify(body=body, header=header, secret=SECRET, now=datetime.fromtimestamp(t + 10, UTC))
    assert not verify(body=body, header=header, secret=SECRET, now=t + 301)  # stale: a replay
    assert not verify(body=body, header=header, secret=SECRET, now=t - 301)  # from the future
    assert verify(body=body, header=header, secret=SECRET, now=t + 3000, tolerance_s=3600)
    for bad in ("", "v1=abc", f"t={t}", f"t=soon,{header.split(',')[1]}", "nonsense"):
        assert not verify(body=body, header=bad, secret=SECRET, now=t)
    assert not verify(body=body, header=header, secret="", now=t)
    rotated = f"{sign(body=body, secret='the-old-secret', timestamp=t)},{header.split(',')[1]}"
    assert verify(body=body, header=rotated, secret=SECRET, now=t)
    assert verify(body=body, header=rotated, secret="the-old-secret", now=t)
    with pytest.raises(ValueError, match="must not be empty"):
        sign(body=body, secret="", timestamp=t)
