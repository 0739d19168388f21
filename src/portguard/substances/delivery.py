"""Delivery of drug alerts to subscribed authorities: signed webhooks and NATS JetStream, retried with back-off.

Why it is built this way:

- **The outbox is the `alert_deliveries` table.** Sending an alert writes one `Delivery` row per channel of each
  matching subscription in the same transaction as the alert, so a message can never be promised and forgotten.
  The deliverer works through the rows that are due and records every attempt
  (attempts, last error, next attempt, or delivered) with an audit entry beside it: disclosing an alert to a
  recipient is a disclosure in the sense of the audit chain, and a failed attempt is a change of the row.
- **At least once, made idempotent at the receiver.** A message can be sent and its outcome lost (the receiver
  answered but the commit failed, the PubAck never came back). Each message therefore carries its delivery id:
  the `X-PortGuard-Delivery` header, which a webhook receiver uses as its idempotency key, and `Nats-Msg-Id`,
  which the JetStream stream itself uses to drop a second copy within its duplicate window. The stream's window
  (`DEDUP_WINDOW_S`) is longer than the whole retry schedule, so every retry of one message falls inside it.
- **Signatures in the manner of Stripe and Standard Webhooks.** `X-PortGuard-Signature: t=<unix s>,v1=<hex>` is an
  HMAC-SHA256 of `"<t>." + body` with the subscription's secret: the receiver proves the sender knew the secret and
  that the body was not changed, and by the timestamp it refuses a recorded request replayed later (`verify`,
  with a tolerance). Several `v1=` values may be given, so a receiver can accept an old and a new secret while
  rotating. The secret never leaves the process: not in logs, not in `last_error`, not in the audit chain.
- **Retries with exponential back-off** (`BACKOFF_S`, doubling per attempt, at most `MAX_BACKOFF_S`), given up after
  `MAX_ATTEMPTS` (status `failed`): about an hour of a receiver's outage is covered, after which a person should
  look. A deactivated subscription is given up at once: its authority asked for no more. Time comes in as `now`,
  so tests move it without sleeping.
- **Claim, send, record: no transaction is open while a receiver answers.** `deliver_now` and the worker claim the
  due rows in one transaction (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so two workers split the work) and lease
  them for `LEASE_S` by moving their next attempt; they send with no transaction open, then record the outcomes in
  a second one. On SQLite, where a transaction holds the whole database's write lock, a dead webhook (10 s a
  try) would otherwise stall every other writer. A worker that dies mid-way leaves its rows to be retried after
  the lease, which the delivery id makes harmless. `deliver_due` does all three in its caller's transaction.
- **Transports are small injected objects** (`WebhookSender`, `NatsSender`), built by whoever runs the delivery and
  never at import; either may be left out, and deliveries of that channel simply stay pending. They return an
  `Attempt` (delivered, or the reason in words) instead of raising, so one bad receiver never stops a batch.
- **nats-py is asyncio; the rest of PortGuard is synchronous.** `NatsSender` owns one event loop in a background
  thread and one connection on it, made on first use, with the stream checked once per connection; sends are
  submitted to that loop and waited for. `asyncio.run` per batch would reconnect and re-check the stream every
  few seconds in the worker loop, and a nats-py client cannot be shared between loops. The connection does not
  reconnect by itself (`allow_reconnect=False`): a broken one fails the attempt that noticed, and the next send
  connects afresh, so an attempt's outcome is always decided within its own timeouts.
- **One periodic process.** `deliver_now` (after the commit that sent an alert, or `portguard substances deliver`)
  and `run_worker` (`deliver --loop`) first escalate the recipients past their acknowledgement time
  (`service.escalate_overdue`, which queues escalation deliveries), then send what is due, each in a transaction
  of its own: the sender's request never waits for a receiver, and whatever fails is the worker's to retry.
- **Recipients read an alert because they are recipients**, whatever its handling code (see `substances.models`):
  the payload is built from the rows without the reader's policy, and the handling code travels with it so the
  receiving authority can honour it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, Self

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, utcnow
from portguard.core.db import Database
from portguard.core.settings import Settings, get_settings
from portguard.substances.models import (
    AlertRecipient,
    Channel,
    Delivery,
    DeliveryStatus,
    DrugAlert,
    Subscription,
    Substance,
)

log = logging.getLogger(__name__)

BACKOFF_S = 30
MAX_BACKOFF_S = 3600
MAX_ATTEMPTS = 8
LEASE_S = 300  # a claimed delivery is left to its worker this long (then another may retry it)

SIGNATURE_HEADER = "X-PortGuard-Signature"
DELIVERY_HEADER = "X-PortGuard-Delivery"
EVENT_HEADER = "X-PortGuard-Event"
USER_AGENT = "PortGuard-Alerts/1"

NATS_SERVERS = "nats://127.0.0.1:4222"
STREAM = "PORTGUARD_ALERTS"
STREAM_SUBJECTS = "portguard.alerts.>"
DEDUP_WINDOW_S = 2 * 3600  # longer than the whole retry schedule (about 64 minutes)
STREAM_MAX_AGE_S = 90 * 86400  # a recipient's consumer has three months to read a message

MESSAGE_KINDS = ("alert", "escalation")


# ---------------------------------------------------------------- the document


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def alert_payload(
    *, alert: DrugAlert, recipient: AlertRecipient, substance: Substance | None, kind: str
) -> dict[str, Any]:
    """The JSON document one recipient receives for an alert or its escalation."""
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"{kind!r} is not a message kind ({', '.join(MESSAGE_KINDS)})")
    return {
        "id": alert.id,
        "kind": kind,
        "type": alert.type,
        "title": alert.title,
        "handling": alert.handling,
        "sender_org_id": alert.owner_org_id,
        "sent_at": _iso(alert.sent_at),
        "recipient": {"org_id": recipient.org_id},
        "due_at": _iso(recipient.due_at),
        "link": f"/alerts/{alert.id}",
        "risk_type": alert.risk_type,
        "risk_origin": alert.risk_origin,
        "event_date": _iso(alert.event_date),
        "event_place": alert.event_place,
        "exposure": alert.exposure,
        "analytical_data": alert.analytical_data,
        "identification_methods": alert.identification_methods,
        "risks": alert.risks,
        "measures_taken": alert.measures_taken,
        "response_options": alert.response_options,
        "substance": None
        if substance is None
        else {
            "id": substance.id,
            "name": substance.name,
            "cas": substance.cas,
            "inchikey": substance.inchikey,
            "smiles": substance.smiles,
            "legal_label": substance.label if substance.scheduled else None,
            "statuses": list(substance.statuses or []),
        },
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The canonical bytes of a payload: UTF-8 JSON, sorted keys, no spaces (the same document, the same bytes)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- signatures


def _mac(*, body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(*, body: bytes, secret: str, timestamp: int) -> str:
    """The `X-PortGuard-Signature` value for `body`: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    return f"t={int(timestamp)},v1={_mac(body=body, secret=secret, timestamp=int(timestamp))}"


def verify(*, body: bytes, header: str, secret: str, now: datetime | float, tolerance_s: int = 300) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance_s` of `now` (the receiver's check)."""
    if not secret or not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now_s = as_utc(now).timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - timestamp) > tolerance_s:
        return False
    expected = _mac(body=body, secret=secret, timestamp=timestamp)
    # compare every candidate, so the time taken does not say which one (if any) matched
    matches = [hmac.compare_digest(expected.encode(), c.encode("utf-8", "replace")) for c in candidates]
    return any(matches)


def webhook_headers(*, body: bytes, secret: str, delivery_id: str, event: str, timestamp: int) -> dict[str, str]:
    """The headers of one webhook request: content type, signature, delivery id (idempotency key), event."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body=body, secret=secret, timestamp=timestamp),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }


# ---------------------------------------------------------------- transports


@dataclass(frozen=True)
class Attempt:
    """What one send came to: delivered, or the reason it was not, in words."""

    delivered: bool
    error: str | None = None
    duplicate: bool = False  # NATS: the stream already held this delivery id (an earlier PubAck was lost)
    final: bool = False  # a failure no retry can mend: given up at once


class WebhookTransport(Protocol):
    def send(self, *, url: str, body: bytes, secret: str, delivery_id: str, event: str) -> Attempt: ...


class NatsTransport(Protocol):
    def send(self, *, subject: str, body: bytes, delivery_id: str, event: str) -> Attempt: ...


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _http_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if _caused_by(exc, ConnectionRefusedError) or "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return f"{type(exc).__name__}: {text}"


class WebhookSender:
    """POSTs signed alert documents with an `httpx.Client`; a 2xx answer is a delivery, anything else a failure."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._owns_client = client is None
        # Redirects are not followed: a 3xx is a failure, so a receiver cannot bounce a signed alert elsewhere.
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._clock = clock or (lambda: utcnow().timestamp())

    def send(self, *, url: str, body: bytes, secret: str, delivery_id: str, event: str) -> Attempt:
        """POST `body` to `url`, signed with `secret`; the answer's body is never read."""
        headers = webhook_headers(
            body=body, secret=secret, delivery_id=delivery_id, event=event, timestamp=int(self._clock())
        )
        try:
            with self.client.stream("POST", url, content=body, headers=headers) as response:
                status, phrase = response.status_code, response.reason_phrase
        except Exception as exc:  # any failure of the request is a failed attempt, never a failed batch
            return Attempt(False, _http_reason(exc))
        if 200 <= status < 300:
            return Attempt(True)
        return Attempt(False, f"HTTP {status} {phrase}".strip())

    def close(self) -> None:
        """Close the HTTP client if this sender made it."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NatsSender:
    """Publishes alert documents to JetStream (stream `PORTGUARD_ALERTS`), de-duplicated by delivery id."""

    def __init__(
        self,
        *,
        servers: str | Sequence[str] = NATS_SERVERS,
        stream: str = STREAM,
        connect_timeout_s: float = 2.0,
        ack_timeout_s: float = 5.0,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        name: str = "portguard-alerts",
    ) -> None:
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.stream = stream
        self.connect_timeout_s, self.ack_timeout_s = connect_timeout_s, ack_timeout_s
        self._auth = {k: v for k, v in {"user": user, "password": password, "token": token}.items() if v}
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._js: Any = None
        self._stream_ready = False
        self._last_connect_error: BaseException | None = None
        self._phase = "connect"  # what the current send is doing, to name a timeout's cause

    # -- the loop thread

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="portguard-nats", daemon=True)
                self._thread.start()
            return self._loop

    def _run(self, coro: Coroutine[Any, Any, Any], *, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    # -- on the loop

    async def _on_error(self, exc: Exception) -> None:
        self._last_connect_error = exc
        log.debug("NATS: %s", exc)

    async def _connect(self) -> Any:
        import nats  # the back-end is imported when used, never at import of PortGuard

        if self._nc is not None and not self._nc.is_closed:
            return self._js
        self._last_connect_error = None
        self._stream_ready = False
        self._nc = await nats.connect(
            servers=self.servers,
            name=self._name,
            connect_timeout=self.connect_timeout_s,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # with allow_reconnect=False: each server tried twice, then NoServersError
            reconnect_time_wait=0.1,
            error_cb=self._on_error,
            **self._auth,
        )
        self._js = self._nc.jetstream(timeout=self.ack_timeout_s)
        return self._js

    async def _ensure_stream(self, js: Any) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        if self._stream_ready:
            return
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            config = StreamConfig(
                name=self.stream,
                subjects=[STREAM_SUBJECTS],
                storage=StorageType.FILE,
                duplicate_window=DEDUP_WINDOW_S,
                max_age=STREAM_MAX_AGE_S,
                description="PortGuard drug alerts to subscribed authorities",
            )
            try:
                info = await js.add_stream(config)
                log.info("created JetStream stream %s (%s)", self.stream, STREAM_SUBJECTS)
            except BadRequestError:  # made by another process in between
                info = await js.stream_info(self.stream)
        window = info.config.duplicate_window or 0
        if window < DEDUP_WINDOW_S:
            log.warning(
                "stream %s de-duplicates over %.0f s, less than the retry schedule (%d s): a late retry may be stored"
                " twice",
                self.stream,
                window,
                DEDUP_WINDOW_S,
            )
        self._stream_ready = True

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> Any:
        self._phase = "connect"
        js = await self._connect()
        self._phase = "stream"
        await self._ensure_stream(js)
        self._phase = "publish"
        return await js.publish(subject, body, timeout=self.ack_timeout_s, stream=self.stream, headers=headers)

    async def _drop(self) -> None:
        nc, self._nc, self._js, self._stream_ready = self._nc, None, None, False
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:  # closing a broken connection may fail too; it is dropped either way
                log.debug("NATS close: %s", exc)

    def _reason(self, exc: BaseException) -> str:
        from nats import errors
        from nats.js import errors as js_errors

        if isinstance(exc, errors.NoServersError) or self._phase == "connect":
            cause = self._last_connect_error or exc
            if _caused_by(cause, ConnectionRefusedError):
                return "cannot connect to NATS: connection refused"
            if _caused_by(cause, TimeoutError):
                return f"cannot connect to NATS: no answer within {self.connect_timeout_s:g} s"
            return f"cannot connect to NATS: {str(cause) or type(cause).__name__}"
        if isinstance(exc, js_errors.NoStreamResponseError):
            return "no JetStream stream stores this subject"
        if isinstance(exc, js_errors.APIError):
            return f"JetStream refused: {exc.description or exc}"
        if isinstance(exc, TimeoutError) and self._phase == "stream":  # before OSError: TimeoutError is one
            return f"no answer from the JetStream API within {self.ack_timeout_s:g} s (is JetStream enabled?)"
        if isinstance(exc, TimeoutError):
            return f"no PubAck within {self.ack_timeout_s:g} s"
        if isinstance(exc, errors.ConnectionClosedError | OSError):
            return f"the connection to NATS broke: {str(exc) or type(exc).__name__}"
        return f"{type(exc).__name__}: {exc}"

    # -- the caller's side

    def send(self, *, subject: str, body: bytes, delivery_id: str, event: str) -> Attempt:
        """Publish `body` on `subject` and wait for the stream's PubAck (`Nats-Msg-Id` = the delivery id)."""
        from nats.js.errors import APIError

        headers = {"Nats-Msg-Id": delivery_id, EVENT_HEADER: event, "Content-Type": "application/json"}
        budget = 2 * self.connect_timeout_s * max(1, len(self.servers)) + 2 * self.ack_timeout_s + 1
        try:
            ack = self._run(self._publish(subject, body, headers), timeout=budget)
        except Exception as exc:  # a failed attempt, never a failed batch
            reason = self._reason(exc)
            if not isinstance(exc, APIError):  # the connection may be unusable: start afresh next time
                self._stream_ready = False
                try:
                    self._run(self._drop(), timeout=self.connect_timeout_s + 1)
                except Exception as drop_exc:
                    log.debug("NATS drop: %s", drop_exc)
            return Attempt(False, reason)
        return Attempt(True, duplicate=bool(ack.duplicate))

    def close(self) -> None:
        """Close the connection and stop the loop thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._drop(), loop).result(self.connect_timeout_s + 1)
        except Exception as exc:
            log.debug("NATS close: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- the worker


@dataclass
class DeliveryReport:
    """What a run did: every attempt is delivered or failed (the last failure of a delivery: given up); `escalated`
    counts overdue recipients escalated first (by `deliver_now` and `run_worker`, not `deliver_due`)."""

    attempted: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    escalated: int = 0

    def add(self, other: DeliveryReport) -> None:
        """Add another run's counts to these."""
        self.attempted += other.attempted
        self.delivered += other.delivered
        self.failed_attempts += other.failed_attempts
        self.given_up += other.given_up
        self.escalated += other.escalated


def next_delay(*, attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts: `BACKOFF_S`, doubling each time, at most an hour."""
    return timedelta(seconds=min(BACKOFF_S * 2 ** max(0, attempts - 1), MAX_BACKOFF_S))


def _redact(text: str | None, secret: str | None) -> str | None:
    if text and secret and secret in text:
        return text.replace(secret, "[secret]")
    return text


@dataclass
class _Job:
    """One claimed delivery, read out of the store so it can be sent with no transaction open."""

    delivery_id: str
    alert_id: str
    org_id: str
    channel: str
    target: str
    kind: str
    body: bytes | None
    secret: str | None
    refused: Attempt | None  # decided without sending (a deactivated subscription, a missing secret, ...)


def _prepare(session: Session, delivery: Delivery, payloads: dict[tuple[str, str, str], bytes]) -> _Job:
    subscription = session.get(Subscription, delivery.subscription_id)
    secret = subscription.webhook_secret if subscription is not None else None
    job = _Job(
        delivery.id, delivery.alert_id, delivery.org_id, delivery.channel, delivery.target,
        delivery.message_kind, None, secret, None,
    )  # fmt: skip
    if subscription is None or not subscription.active:
        job.refused = Attempt(False, "the subscription was deactivated", final=True)
        return job
    key = (delivery.alert_id, delivery.org_id, delivery.message_kind)
    if key not in payloads:
        alert = session.get(DrugAlert, delivery.alert_id)
        if alert is None:  # the foreign key cascades deletions; kept for a row read before one
            job.refused = Attempt(False, "the alert no longer exists", final=True)
            return job
        recipient = session.get(AlertRecipient, (delivery.alert_id, delivery.org_id)) or AlertRecipient(
            alert_id=delivery.alert_id, org_id=delivery.org_id
        )
        substance = session.get(Substance, alert.substance_id) if alert.substance_id else None
        payloads[key] = encode(
            alert_payload(alert=alert, recipient=recipient, substance=substance, kind=delivery.message_kind)
        )
    job.body = payloads[key]
    if delivery.channel == Channel.WEBHOOK and not secret:
        job.refused = Attempt(False, "the subscription has no webhook secret")
    return job


def _channels(webhook: WebhookTransport | None, nats: NatsTransport | None) -> list[str]:
    return [c.value for c, sender in ((Channel.WEBHOOK, webhook), (Channel.NATS, nats)) if sender is not None]


def claim(session: Session, *, now: datetime, channels: list[str], limit: int) -> list[_Job]:
    """Take up to `limit` pending deliveries due by `now` on `channels` (rows another worker holds are skipped on
    PostgreSQL) and lease them for `LEASE_S`, so that no other worker takes them while they are being sent."""
    due = session.scalars(
        select(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING.value,
            Delivery.next_attempt_at <= now,
            Delivery.channel.in_(channels),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    payloads: dict[tuple[str, str, str], bytes] = {}
    jobs = []
    for delivery in due:
        jobs.append(_prepare(session, delivery, payloads))
        delivery.next_attempt_at = now + timedelta(seconds=LEASE_S)
    session.flush()
    return jobs


def send(job: _Job, *, webhook: WebhookTransport | None, nats: NatsTransport | None) -> Attempt:
    """Send one claimed delivery (no database involved)."""
    if job.refused is not None:
        return job.refused
    assert job.body is not None  # set by `_prepare` unless refused
    if job.channel == Channel.WEBHOOK:
        assert webhook is not None and job.secret
        return webhook.send(
            url=job.target, body=job.body, secret=job.secret, delivery_id=job.delivery_id, event=job.kind
        )
    assert nats is not None
    return nats.send(subject=job.target, body=job.body, delivery_id=job.delivery_id, event=job.kind)


def record(session: Session, *, outcomes: list[tuple[_Job, Attempt]], now: datetime) -> DeliveryReport:
    """Record each attempt on its delivery (attempts, status, error, next attempt) and in the audit chain."""
    report = DeliveryReport()
    for job, attempt in outcomes:
        delivery = session.get(Delivery, job.delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
            continue  # deleted with its alert, or settled by another worker after the lease ran out
        error = _redact(attempt.error, job.secret)
        delivery.attempts = (delivery.attempts or 0) + 1
        report.attempted += 1
        given_up = False
        if attempt.delivered:
            delivery.status = DeliveryStatus.DELIVERED.value
            delivery.delivered_at = now
            report.delivered += 1
            log.info("delivered %s (%s, attempt %d)", delivery.id, delivery.channel, delivery.attempts)
        else:
            delivery.last_error = error
            report.failed_attempts += 1
            if delivery.attempts >= MAX_ATTEMPTS or attempt.final:
                delivery.status = DeliveryStatus.FAILED.value
                given_up = True
                report.given_up += 1
                log.warning("gave up %s after %d attempts: %s", delivery.id, delivery.attempts, error)
            else:
                delivery.next_attempt_at = now + next_delay(attempts=delivery.attempts)
                log.info("attempt %d of %s failed: %s", delivery.attempts, delivery.id, error)
        detail: dict[str, Any] = {
            "delivery": delivery.id,
            "channel": delivery.channel,
            "org": delivery.org_id,
            "kind": delivery.message_kind,
            "attempt": delivery.attempts,
            "error": error,
        }
        if given_up:
            detail["given_up"] = True
        if attempt.duplicate:
            detail["duplicate"] = True
        alert = session.get(DrugAlert, delivery.alert_id)
        audit.append(
            session,
            actor=None,
            action=AuditAction.DISCLOSE if attempt.delivered else AuditAction.ALTER,
            object_type="drug_alert",
            object_id=delivery.alert_id,
            legal_regime=alert.legal_regime if alert is not None else None,
            detail=detail,
        )
    session.flush()
    return report


def deliver_due(
    session: Session,
    *,
    now: datetime | None = None,
    webhook: WebhookTransport | None,
    nats: NatsTransport | None,
    limit: int = 100,
) -> DeliveryReport:
    """Send the pending deliveries due by `now` on the channels given, and record each attempt, all in the
    caller's transaction (flushed, not committed). `deliver_now` and the worker instead claim, send and record in
    three steps, so no transaction stays open while a receiver answers."""
    now = as_utc(now) if now is not None else utcnow()
    channels = _channels(webhook, nats)
    if not channels:
        return DeliveryReport()
    jobs = claim(session, now=now, channels=channels, limit=limit)
    return record(session, outcomes=[(job, send(job, webhook=webhook, nats=nats)) for job in jobs], now=now)


def senders_from(settings: Settings | None = None) -> tuple[WebhookSender, NatsSender]:
    """A webhook and a NATS sender as configured (`webhook_timeout_s`, `nats_url`); the caller closes them."""
    settings = settings or get_settings()
    return WebhookSender(timeout_s=settings.webhook_timeout_s), NatsSender(servers=settings.nats_url)


@contextmanager
def _senders(
    settings: Settings | None, webhook: WebhookTransport | None, nats: NatsTransport | None
) -> Iterator[tuple[WebhookTransport | None, NatsTransport | None]]:
    if webhook is not None or nats is not None:  # the caller's: the caller closes them
        yield webhook, nats
        return
    made_webhook, made_nats = senders_from(settings)
    with made_webhook, made_nats:
        yield made_webhook, made_nats


def _round(
    *, db: Database, webhook: WebhookTransport | None, nats: NatsTransport | None, now: datetime | None, limit: int
) -> DeliveryReport:
    from portguard.substances import service  # imported when used: the service may import this module

    with db.session() as session:
        escalated = len(service.escalate_overdue(session, now=now))
    moment = as_utc(now) if now is not None else utcnow()
    channels = _channels(webhook, nats)
    if not channels:
        return DeliveryReport(escalated=escalated)
    with db.session() as session:  # claimed and committed: the lock (SQLite: the database's) is free while sending
        jobs = claim(session, now=moment, channels=channels, limit=limit)
    outcomes = [(job, send(job, webhook=webhook, nats=nats)) for job in jobs]
    with db.session() as session:
        report = record(session, outcomes=outcomes, now=moment)
    report.escalated = escalated
    return report


def deliver_now(
    *,
    db: Database,
    settings: Settings | None = None,
    now: datetime | None = None,
    webhook: WebhookTransport | None = None,
    nats: NatsTransport | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Escalate overdue recipients, then send what is due, once, each in a transaction of its own (call it after
    the commit that queued the deliveries); senders are built from `settings` unless given."""
    with _senders(settings, webhook, nats) as (hook, bus):
        return _round(db=db, webhook=hook, nats=bus, now=now, limit=limit)


def run_worker(
    *,
    db: Database,
    stop: threading.Event,
    interval_s: float = 5.0,
    webhook: WebhookTransport | None = None,
    nats: NatsTransport | None = None,
    on_report: Callable[[DeliveryReport], None] | None = None,
    settings: Settings | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Escalate and deliver, one transaction each, every `interval_s` until `stop` is set; returns the totals.
    Senders are built from `settings` (and closed at the end) unless given."""
    total = DeliveryReport()
    with _senders(settings, webhook, nats) as (hook, bus):
        while not stop.is_set():
            try:
                report = _round(db=db, webhook=hook, nats=bus, now=None, limit=limit)
            except Exception:  # a failed round is rolled back and tried again at the next interval
                log.exception("delivery round failed")
                report = None
            if report is not None:
                total.add(report)
                if on_report is not None:
                    on_report(report)
                if report.attempted >= limit:
                    continue  # more may be due: no pause while there is a backlog
            stop.wait(interval_s)
    return total
