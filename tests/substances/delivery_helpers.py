"""Helpers of the delivery tests, kept apart so the service's tests can use them too: a webhook receiver that checks
signatures as a partner would, a sent alert with its recipient and subscription written straight to the store, and
a reader of what the JetStream stream holds."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portguard.core.db import Database
from portguard.core.ids import new_id
from portguard.core.policy import OrgKind
from portguard.substances.delivery import SIGNATURE_HEADER, STREAM, verify
from portguard.substances.models import (
    AlertRecipient,
    AlertStatus,
    Delivery,
    DrugAlert,
    Subscription,
    Substance,
    SubstanceKind,
)

HOST = "127.0.0.1"
NATS_PORT = 4222
NATS_URL = f"nats://{HOST}:{NATS_PORT}"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec_" + "k3y-of-the-belgian-focal-point"


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts connections on the local `port`."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def require_nats() -> str:
    """The URL of the local NATS server; skip (fail under CI) when nothing listens there."""
    if not port_open(NATS_PORT):
        reason = f"no NATS server on {HOST}:{NATS_PORT} (start nats-server with -js)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the NATS tests: {reason}")
        pytest.skip(reason)
    return NATS_URL


# ---------------------------------------------------------------- a partner's webhook receiver


@dataclass
class Received:
    """One request as the receiver saw it: headers (lower-case names), body, and whether the signature held."""

    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """An HTTP receiver on a free local port that verifies each signature with `secret`: 401 if it does not hold,
    else the next of `answers` (then 200)."""

    secret: str
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get(SIGNATURE_HEADER, "")
                ok = verify(body=body, header=header, secret=receiver.secret, now=time.time())
                with lock:
                    receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, ok))
                    status = (receiver.answers.pop(0) if receiver.answers else 200) if ok else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/hooks/portguard"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# ---------------------------------------------------------------- a sent alert in the store


@dataclass
class World:
    """A sent alert from a Dutch to a Belgian customs authority, with the Belgians' subscription."""

    sender_org: str
    recipient_org: str
    substance_id: str
    alert_id: str
    subscription_id: str
    secret: str | None


def make_world(
    db: Database,
    make_org: Callable[..., str],
    *,
    webhook_url: str | None = None,
    secret: str | None = SECRET,
    nats_subject: str | None = None,
    active: bool = True,
    due_at: datetime | None = None,
) -> World:
    """Write a substance, a sent alert, its recipient (due a day after NOW unless `due_at`) and the recipient's
    subscription straight to the store."""
    sender = make_org(name=f"Douane NL {secrets.token_hex(2)}", kind=OrgKind.CUSTOMS_AUTHORITY, country="NL")
    recipient = make_org(name=f"Douane BE {secrets.token_hex(2)}", kind=OrgKind.CUSTOMS_AUTHORITY, country="BE")
    with db.session() as s:
        substance = Substance(
            id=new_id("sub"),
            owner_org_id=sender,
            handling="CLEAR",
            name="BMK (phenylacetone)",
            kind=SubstanceKind.SCHEDULED_PRECURSOR.value,
            group="amphetamine",
            cas="103-79-7",
            smiles="CC(=O)Cc1ccccc1",
            inchikey="QCCDLTOVEPVEJK-UHFFFAOYSA-N",
            formula="C9H10O",
            eu_category="1",
            un_1988_table="I",
            statuses=[{"jurisdiction": "EU", "status": "category 1"}],
        )
        alert = DrugAlert(
            id=new_id("dal"),
            owner_org_id=sender,
            handling="AMBER",
            type="alert",
            title="BMK in drums declared as 'aromatic ketone', Rotterdam",
            status=AlertStatus.SENT.value,
            substance_id=substance.id,
            risk_type="diversion of a scheduled precursor",
            risk_origin="seizure at the port of Rotterdam",
            event_date=date(2025, 5, 30),
            event_place="Rotterdam, Maasvlakte",
            exposure="sea container, 80 drums of 200 l",
            analytical_data="GC-MS: phenylacetone 97 %",
            identification_methods="GC-MS, FTIR",
            risks="production of amphetamine",
            measures_taken="consignment seized",
            response_options="check consignments of the same consignor",
            sent_at=NOW - timedelta(minutes=5),
        )
        subscription = Subscription(
            id=new_id("asb"),
            org_id=recipient,
            name="all precursor alerts",
            webhook_url=webhook_url,
            webhook_secret=secret,
            nats_subject=nats_subject,
            active=active,
        )
        s.add_all([substance, subscription])
        s.flush()
        s.add(alert)
        s.flush()
        s.add(
            AlertRecipient(
                alert_id=alert.id,
                org_id=recipient,
                subscription_ids=[subscription.id],
                matched="substance group amphetamine",
                due_at=due_at or NOW + timedelta(hours=24),
            )
        )
    return World(sender, recipient, substance.id, alert.id, subscription.id, secret)


def add_delivery(
    db: Database,
    world: World,
    *,
    channel: str,
    target: str,
    kind: str = "alert",
    next_attempt_at: datetime = NOW,
) -> str:
    """A pending delivery of the world's alert; returns its id."""
    with db.session() as s:
        delivery = Delivery(
            id=new_id("dlv"),
            alert_id=world.alert_id,
            org_id=world.recipient_org,
            subscription_id=world.subscription_id,
            channel=channel,
            target=target,
            message_kind=kind,
            next_attempt_at=next_attempt_at,
        )
        s.add(delivery)
        return delivery.id


def get_delivery(db: Database, delivery_id: str) -> Delivery:
    """The delivery row as stored now."""
    with db.session() as s:
        found = s.get(Delivery, delivery_id)
        assert found is not None
        s.expunge(found)
        return found


# ---------------------------------------------------------------- what the stream holds


def unique_subject() -> str:
    """A subject under portguard.alerts of this test alone."""
    return f"portguard.alerts.test.{secrets.token_hex(6)}"


async def _stored(subject: str, expect: int) -> tuple[list[Any], int]:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM, subjects_filter=subject)
        count = (info.state.subjects or {}).get(subject, 0)
        sub = await js.pull_subscribe(subject, stream=STREAM)  # an ephemeral consumer, from the first message
        messages = await sub.fetch(max(1, expect), timeout=2) if count else []
        for message in messages:
            await message.ack()
        return messages, count
    finally:
        await nc.close()


def stored(subject: str, *, expect: int = 1) -> tuple[list[Any], int]:
    """What a JetStream consumer of `subject` reads (up to `expect` messages), and how many the stream holds."""
    return asyncio.run(_stored(subject, expect))


def purge(subjects: Iterable[str]) -> None:
    """Remove the test's messages from the stream."""

    async def run() -> None:
        import nats

        nc = await nats.connect(NATS_URL)
        try:
            js = nc.jetstream()
            for subject in subjects:
                await js.purge_stream(STREAM, subject=subject)
        finally:
            await nc.close()

    asyncio.run(run())
