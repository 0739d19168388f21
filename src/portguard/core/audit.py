"""The audit chain: an append-only, hash-linked log of every change and every read of protected data.

Each entry records who (user and organisation), what (an operation of art. 25 of the Law Enforcement Directive —
collect, alter, consult, disclose, combine, erase — or login, logout, admin), on which object, why (a justification,
required to consult an LED record), when (UTC), the hash of the previous entry, and its own SHA-256 over a
canonical JSON of all of that. Changing, inserting or deleting any row breaks the chain at that row, and
`verify()` names the first broken entry.

Appends are serialised so the chain never forks: PostgreSQL takes a transaction-scoped advisory lock, SQLite's
`BEGIN IMMEDIATE` (see `core.db`) already holds the write lock. The entry is written in the caller's transaction,
so a change and its audit entry commit or vanish together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from portguard.core.clock import as_utc, utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.errors import JustificationRequired, NotFound
from portguard.core.policy import NEEDS_JUSTIFICATION, Action, LegalRegime, Principal, can

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x5047_4155_4449_54  # "PGAUDIT"


class AuditAction(StrEnum):
    """Operations the chain records."""

    COLLECT = "collect"
    ALTER = "alter"
    CONSULT = "consult"
    DISCLOSE = "disclose"
    COMBINE = "combine"
    ERASE = "erase"
    LOGIN = "login"
    LOGOUT = "logout"
    ADMIN = "admin"


class AuditEntry(Base):
    """One link of the chain."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_org_seq", "org_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    username: Mapped[str | None] = mapped_column(String(120), nullable=True)
    org_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    legal_regime: Mapped[str | None] = mapped_column(String(8), nullable=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def payload(self) -> dict[str, Any]:
        """The fields the hash covers, as plain JSON values."""
        return {
            "seq": self.seq,
            "at": as_utc(self.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "user_id": self.user_id,
            "username": self.username,
            "org_id": self.org_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "legal_regime": self.legal_regime,
            "justification": self.justification,
            "detail": self.detail or {},
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        """SHA-256 over the canonical JSON of `payload()`."""
        canonical = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def append(
    session: Session,
    *,
    actor: Principal | None,
    action: AuditAction | str,
    object_type: str | None = None,
    object_id: str | None = None,
    legal_regime: LegalRegime | str | None = None,
    justification: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the chain inside the caller's transaction; refuse an LED consult without a reason."""
    action = AuditAction(action)
    justification = justification.strip() if justification else None
    if action == AuditAction.CONSULT and legal_regime == LegalRegime.LED and not justification:
        raise JustificationRequired(
            f"consulting {object_type} {object_id} (LED) needs a justification",
            hint="send the reason in the X-Justification header or the justification field",
        )
    _lock(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        user_id=actor.user_id if actor else None,
        username=actor.username if actor else "system",
        org_id=actor.org_id if actor else None,
        action=action.value,
        object_type=object_type,
        object_id=object_id,
        legal_regime=str(legal_regime) if legal_regime else None,
        justification=justification,
        detail=detail or {},
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = entry.compute_hash()
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check: how many entries were checked and the first broken one, if any."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    head: str | None = None  # "seq:hash" of the last entry checked: keep it elsewhere as an anchor


def count(session: Session) -> int:
    """How many entries the chain has."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def verify(
    session: Session,
    *,
    batch: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    anchors: dict[int, str] | None = None,
) -> VerifyResult:
    """Walk the chain in order; stop at the first entry whose link, hash or anchor does not hold.

    A chain alone cannot tell that its newest entries were rewritten with fresh hashes; an anchor can: a
    `seq -> hash` pair kept outside the database (printed as `head` by an earlier check, or an exported copy).
    """
    anchors = dict(anchors or {})
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in _iter_entries(session, batch=batch):
        if on_progress is not None and checked % batch == 0:
            on_progress(checked)
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, checked, entry.seq, "prev_hash does not match the previous entry's hash")
        if entry.compute_hash() != entry.hash:
            return VerifyResult(False, checked, entry.seq, "content does not match its hash (entry was altered)")
        if anchors.pop(entry.seq, entry.hash) != entry.hash:
            return VerifyResult(False, checked, entry.seq, "hash differs from the anchor kept for this entry")
        prev_hash, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    if anchors:
        missing = min(anchors)
        return VerifyResult(False, checked, missing, f"anchored entry {missing} is no longer in the chain")
    return VerifyResult(True, checked, head=f"{expected_seq - 1}:{prev_hash}" if checked else None)


def _iter_entries(session: Session, *, batch: int, org_id: str | None = None) -> Iterator[AuditEntry]:
    last = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.seq > last)
        if org_id is not None:
            query = query.where(AuditEntry.org_id == org_id)
        rows = session.scalars(query.order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        for row in rows:  # keep memory flat on long chains
            session.expunge(row)


def iter_export(session: Session, *, org_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every entry (of one organisation, if given) as a JSON-ready dict including its hash."""
    for entry in _iter_entries(session, batch=5000, org_id=org_id):
        yield {**entry.payload(), "hash": entry.hash}


def activity(session: Session, *, org_id: str | None = None, days: int = 30) -> list[dict[str, Any]]:
    """Entries per UTC day and action over the last `days` days (of one organisation, if given), for charts."""
    from datetime import timedelta

    day = func.date(AuditEntry.at).label("day")
    query = (
        select(day, AuditEntry.action, func.count().label("entries"))
        .where(AuditEntry.at >= utcnow() - timedelta(days=days))
        .group_by(day, AuditEntry.action)
        .order_by(day)
    )
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    return [{"day": str(r.day), "action": r.action, "entries": r.entries} for r in session.execute(query)]


# ---------------------------------------------------------------- consulting protected records


def consult_list(
    session: Session, *, actor: Principal, object_type: str, records: Sequence[Any], justification: str | None
) -> None:
    """Record that `actor` was shown `records` (one entry for the page; LED if any of them is)."""
    if not records:
        return
    led = any(r.legal_regime == LegalRegime.LED for r in records)
    append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type=object_type,
        legal_regime=LegalRegime.LED if led else LegalRegime.GDPR,
        justification=justification,
        detail={"ids": [r.id for r in records]},
    )


def consult_one(
    session: Session,
    *,
    actor: Principal,
    record: Any,
    object_type: str,
    recipients: Collection[str] = (),
    justification: str | None = None,
) -> None:
    """Let `actor` read `record` if the policy allows, and record it; a refusal looks like a missing record,
    except a missing justification for an LED record, which is said (428) so the reader can give one."""
    decision = can(actor, Action.READ, record, recipients=recipients, justification=justification)
    if not decision:
        if decision.reason == NEEDS_JUSTIFICATION:
            raise JustificationRequired(
                f"{object_type} {record.id} is an LED record: {NEEDS_JUSTIFICATION}",
                hint="send the reason in the X-Justification header",
            )
        raise NotFound(f"no {object_type} {record.id}")
    append(
        session,
        actor=actor,
        action=AuditAction.CONSULT,
        object_type=object_type,
        object_id=record.id,
        legal_regime=record.legal_regime,
        justification=justification,
    )
