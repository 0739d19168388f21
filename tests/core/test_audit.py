"""The audit chain on each back-end: linking, tamper detection, LED justification, concurrency, atomicity."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import func, select, text

from portguard.core import audit
from portguard.core.audit import GENESIS, AuditAction, AuditEntry
from portguard.core.db import Database
from portguard.core.errors import JustificationRequired
from portguard.core.policy import LegalRegime, OrgKind, Principal
from portguard.sharing import service
from portguard.sharing.models import Organisation, OrgIn

ALICE = Principal(user_id="usr_alice", username="alice", org_id="org_police", org_kind=OrgKind.POLICE)


def _append_many(db: Database, n: int) -> None:
    for i in range(n):
        with db.session() as session:
            audit.append(
                session,
                actor=ALICE if i % 2 else None,
                action=list(AuditAction)[i % len(AuditAction)],
                object_type="note",
                object_id=f"note-{i + 1}",
                detail={"i": i + 1, "nested": {"b": [1, 2], "a": "ü"}},
            )


def _entries(db: Database) -> list[AuditEntry]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all())


def _verify(db: Database) -> audit.VerifyResult:
    with db.session() as session:
        return audit.verify(session)


def _raw(db: Database, sql: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


# ---------------------------------------------------------------- a valid chain


def test_empty_chain_verifies(db):
    result = _verify(db)
    assert result.ok
    assert result.checked == 0
    assert result.broken_seq is None


def test_appends_build_a_linked_chain(db):
    _append_many(db, 7)
    entries = _entries(db)
    assert [e.seq for e in entries] == list(range(1, 8))
    assert entries[0].prev_hash == GENESIS
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    for entry in entries:
        assert entry.hash == entry.compute_hash()
        assert len(entry.hash) == 64
        assert entry.at.tzinfo is not None
    assert entries[1].username == "alice" and entries[1].org_id == "org_police"
    assert entries[0].username == "system" and entries[0].user_id is None
    assert entries[0].detail == {"i": 1, "nested": {"b": [1, 2], "a": "ü"}}
    result = _verify(db)
    assert _ok_count(result) == (True, 7)


def test_verify_in_small_batches_walks_the_whole_chain(db):
    _append_many(db, 5)
    with db.session() as session:
        assert _ok_count(audit.verify(session, batch=2)) == (True, 5)
    _raw(db, "UPDATE audit_entries SET object_id = 'x' WHERE seq = 5")
    with db.session() as session:
        result = audit.verify(session, batch=2)
    assert (result.ok, result.broken_seq, result.checked) == (False, 5, 4)


def test_export_carries_payload_and_hash(db):
    _append_many(db, 4)
    with db.session() as session:
        exported = list(audit.iter_export(session))
        only_alice = list(audit.iter_export(session, org_id="org_police"))
    entries = _entries(db)
    assert [e["hash"] for e in exported] == [e.hash for e in entries]
    assert [e["seq"] for e in only_alice] == [2, 4]
    assert exported[0]["prev_hash"] == GENESIS


# ---------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET object_id = 'x' WHERE seq = 3",
        "UPDATE audit_entries SET action = 'erase' WHERE seq = 3",
        "UPDATE audit_entries SET username = 'mallory' WHERE seq = 3",
        "UPDATE audit_entries SET justification = 'because' WHERE seq = 3",
        "UPDATE audit_entries SET hash = '" + "f" * 64 + "' WHERE seq = 3",
    ],
    ids=["object_id", "action", "username", "justification", "hash"],
)
def test_changing_a_row_breaks_the_chain_at_that_row(db, sql):
    _append_many(db, 6)
    _raw(db, sql)
    result = _verify(db)
    assert not result.ok
    assert result.broken_seq == 3
    assert result.checked == 2
    assert result.reason


def test_changing_the_timestamp_breaks_the_chain(db):
    _append_many(db, 5)
    with db.session() as session:
        entry = session.get(AuditEntry, 3)
        assert entry is not None
        entry.at = entry.at.replace(year=2001)
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "altered" in (result.reason or "")


def test_changing_prev_hash_breaks_the_chain_at_that_row(db):
    _append_many(db, 6)
    _raw(db, "UPDATE audit_entries SET prev_hash = :h WHERE seq = 3", h="0" * 64)
    result = _verify(db)
    assert (result.ok, result.broken_seq, result.checked) == (False, 3, 2)
    assert "prev_hash" in (result.reason or "")


def test_deleting_a_middle_row_names_the_missing_seq(db):
    _append_many(db, 6)
    _raw(db, "DELETE FROM audit_entries WHERE seq = 3")
    result = _verify(db)
    assert (result.ok, result.broken_seq, result.checked) == (False, 3, 2)
    assert "3 is missing" in (result.reason or "")


def test_deleting_the_first_row_is_detected(db):
    _append_many(db, 3)
    _raw(db, "DELETE FROM audit_entries WHERE seq = 1")
    result = _verify(db)
    assert (result.ok, result.broken_seq, result.checked) == (False, 1, 0)


def test_renumbering_after_a_delete_is_detected(db):
    _append_many(db, 5)
    _raw(db, "DELETE FROM audit_entries WHERE seq = 3")
    _raw(db, "UPDATE audit_entries SET seq = 3 WHERE seq = 4")
    _raw(db, "UPDATE audit_entries SET seq = 4 WHERE seq = 5")
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 3)


def test_recomputing_the_hash_of_a_changed_row_breaks_the_next_row(db):
    _append_many(db, 6)
    with db.session() as session:
        entry = session.get(AuditEntry, 3)
        assert entry is not None
        entry.object_id = "forged"
        entry.hash = entry.compute_hash()
    result = _verify(db)
    assert (result.ok, result.broken_seq, result.checked) == (False, 4, 3)
    assert "prev_hash" in (result.reason or "")


def test_recomputing_the_hash_of_the_last_row_is_caught_only_by_an_anchor(db):
    """A limit of any hash chain: the newest entry can be rewritten consistently; a head kept elsewhere catches it."""
    _append_many(db, 3)
    with db.session() as session:
        before = audit.verify(session)
    assert before.ok and before.head is not None and before.head.startswith("3:")
    seq, digest = before.head.split(":")
    with db.session() as session:
        entry = session.get(AuditEntry, 3)
        assert entry is not None
        entry.object_id = "forged"
        entry.hash = entry.compute_hash()
    assert _verify(db).ok
    with db.session() as session:
        anchored = audit.verify(session, anchors={int(seq): digest})
    assert (anchored.ok, anchored.broken_seq) == (False, 3)
    assert "anchor" in (anchored.reason or "")


def test_an_anchor_beyond_the_chain_means_entries_were_removed(db):
    _append_many(db, 3)
    with db.session() as session:
        head = audit.verify(session).head
    assert head is not None
    _raw(db, "DELETE FROM audit_entries WHERE seq = 3")
    with db.session() as session:
        result = audit.verify(session, anchors={3: head.split(":")[1]})
    assert (result.ok, result.broken_seq) == (False, 3)


def test_appending_after_a_break_keeps_the_break_visible(db):
    _append_many(db, 4)
    _raw(db, "UPDATE audit_entries SET object_id = 'x' WHERE seq = 2")
    _append_many(db, 2)
    assert [e.seq for e in _entries(db)] == [1, 2, 3, 4, 5, 6]
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)


# ---------------------------------------------------------------- LED justification


@pytest.mark.parametrize("regime", [LegalRegime.LED, "LED"])
@pytest.mark.parametrize("justification", [None, "", "   \n\t"])
def test_led_consult_without_justification_is_refused(db, regime, justification):
    with db.session() as session, pytest.raises(JustificationRequired) as info:
        audit.append(
            session,
            actor=ALICE,
            action=AuditAction.CONSULT,
            object_type="note",
            object_id="n1",
            legal_regime=regime,
            justification=justification,
        )
    assert info.value.status == 428
    assert "justification" in info.value.detail
    assert _entries(db) == []


def test_led_consult_with_justification_is_stored_and_hashed(db):
    with db.session() as session:
        entry = audit.append(
            session,
            actor=ALICE,
            action="consult",
            object_type="note",
            object_id="n1",
            legal_regime=LegalRegime.LED,
            justification="  case ROTT-2026-114, lead check  ",
        )
        assert entry.seq == 1
    (stored,) = _entries(db)
    assert stored.action == "consult"
    assert stored.legal_regime == "LED"
    assert stored.justification == "case ROTT-2026-114, lead check"
    assert stored.payload()["justification"] == "case ROTT-2026-114, lead check"
    assert _verify(db).ok
    _raw(db, "UPDATE audit_entries SET justification = 'something else' WHERE seq = 1")
    assert _verify(db).broken_seq == 1


@pytest.mark.parametrize(
    ("action", "regime"),
    [(AuditAction.CONSULT, LegalRegime.GDPR), (AuditAction.CONSULT, None), (AuditAction.COLLECT, LegalRegime.LED)],
)
def test_justification_is_only_required_for_led_consults(db, action, regime):
    with db.session() as session:
        entry = audit.append(
            session, actor=ALICE, action=action, object_type="note", object_id="n", legal_regime=regime
        )
    assert entry.justification is None
    assert _verify(db).ok


def test_unknown_action_is_refused(db):
    with db.session() as session, pytest.raises(ValueError):
        audit.append(session, actor=None, action="peek")


# ---------------------------------------------------------------- atomicity


def test_a_change_and_its_entry_roll_back_together(db):
    with pytest.raises(RuntimeError), db.session() as session:
        service.create_org(session, actor=None, data=OrgIn(name="Rolled back", kind=OrgKind.POLICE, country="NL"))
        audit.append(session, actor=None, action=AuditAction.ADMIN, object_type="x", object_id="y")
        raise RuntimeError("boom after the append")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    with db.session() as session:
        service.create_org(session, actor=None, data=OrgIn(name="Kept", kind=OrgKind.POLICE, country="NL"))
    entries = _entries(db)
    assert [e.seq for e in entries] == [1]
    assert entries[0].prev_hash == GENESIS
    assert _verify(db).ok


def test_a_rolled_back_append_leaves_no_gap(db):
    _append_many(db, 2)
    with pytest.raises(RuntimeError), db.session() as session:
        audit.append(session, actor=None, action=AuditAction.ALTER, object_id="lost")
        raise RuntimeError
    _append_many(db, 1)
    assert [e.seq for e in _entries(db)] == [1, 2, 3]
    assert _ok_count(_verify(db)) == (True, 3)


# ---------------------------------------------------------------- concurrency


def _assert_single_chain(db: Database, expected_ids: set[str]) -> None:
    entries = _entries(db)
    assert len(entries) == len(expected_ids)
    assert [e.seq for e in entries] == list(range(1, len(expected_ids) + 1))
    assert {e.object_id for e in entries} == expected_ids
    prev_hashes = [e.prev_hash for e in entries]
    assert len(set(prev_hashes)) == len(prev_hashes), "two entries claim the same predecessor: the chain forked"
    assert _ok_count(_verify(db)) == (True, len(expected_ids))


WRITERS, APPENDS = 8, 25


def test_concurrent_threads_append_one_chain(db):
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            with db.engine.connect() as conn:  # open the connection before the race starts
                conn.execute(text("SELECT 1"))
            barrier.wait(timeout=30)
            for i in range(APPENDS):
                with db.session() as session:
                    audit.append(session, actor=ALICE, action=AuditAction.ALTER, object_type="t", object_id=f"{w}-{i}")
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    _assert_single_chain(db, {f"{w}-{i}" for w in range(WRITERS) for i in range(APPENDS)})


def test_a_second_writer_waits_for_the_first_to_commit(db):
    """The append lock is held until commit: a concurrent append blocks, then chains onto the committed entry."""
    _append_many(db, 1)
    first = db.sessionmaker()
    first.begin()
    audit.append(first, actor=None, action=AuditAction.ALTER, object_id="first")
    postgres = db.dialect == "postgresql"
    done = threading.Event()
    errors: list[BaseException] = []
    pids: list[int] = []

    def second() -> None:
        try:
            with db.session() as session:
                if postgres:
                    pids.append(session.scalar(text("SELECT pg_backend_pid()")))
                audit.append(session, actor=None, action=AuditAction.ALTER, object_id="second")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        assert not done.wait(0.5), "the second append did not wait for the first transaction"
        if postgres:  # the server is shared: look only at our two backends
            first_pid = first.scalar(text("SELECT pg_backend_pid()"))
            query = text("SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND pid = :pid")
            with db.engine.connect() as conn:
                assert conn.scalars(query, {"pid": first_pid}).all() == [True]
                assert conn.scalars(query, {"pid": pids[0]}).all() == [False]
        first.commit()
    finally:
        first.close()
        thread.join(timeout=30)
    assert errors == []
    entries = _entries(db)
    assert [(e.seq, e.object_id) for e in entries] == [(1, "note-1"), (2, "first"), (3, "second")]
    assert _verify(db).ok


_CHILD = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from portguard.core import audit
    from portguard.core.db import Database

    url, wid, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database(url)
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(3)
    for i in range(k):
        with db.session() as session:
            audit.append(session, actor=None, action="alter", object_type="proc", object_id=f"p{wid}-{i}")
    db.dispose()
    print("done", flush=True)
    """
)

PROCESSES, PROCESS_APPENDS = 4, 30


def test_concurrent_processes_append_one_chain(db):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, db.url, str(w), str(PROCESS_APPENDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    try:
        for p in procs:  # barrier: every process is connected before any appends
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
        started = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * PROCESSES, [err for _, err in outputs]
    assert time.monotonic() - started < 120
    _assert_single_chain(db, {f"p{w}-{i}" for w in range(PROCESSES) for i in range(PROCESS_APPENDS)})


def _ok_count(result: audit.VerifyResult) -> tuple[bool, int]:
    return result.ok, result.checked
