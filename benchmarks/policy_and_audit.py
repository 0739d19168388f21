"""Cost of the access policy and the audit chain, against baselines measured in the same run.

1. Listing one page of notes through `visible_filter()` (the policy in SQL) vs the same page with no filter,
   on N notes spread over handling codes, regimes and organisations.
2. Appending to the audit chain (advisory lock + read of the last hash + SHA-256) vs inserting the same rows
   without chaining, one transaction per entry as the application does.

Run: `.venv/bin/python benchmarks/policy_and_audit.py [--notes 50000] [--appends 500] [--postgres URL]`.
PostgreSQL is measured when a server answers (default `127.0.0.1:5432/test`, in a schema of its own).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import create_engine, insert, select, text

from portguard.core import audit, migrate
from portguard.core.audit import AuditEntry
from portguard.core.clock import utcnow
from portguard.core.db import Database
from portguard.core.policy import Handling, OrgKind, Principal, Role, visible_filter
from portguard.sharing.models import Note, Organisation, SharingGroup, SharingGroupMember, User

console = Console(width=130)


def _timeit(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _seed(db: Database, n_notes: int) -> Principal:
    rng = random.Random(7)
    now = utcnow()
    with db.session() as s:
        orgs = [
            Organisation(
                id=f"org_{i}", name=f"Org {i}", kind=OrgKind.CUSTOMS_AUTHORITY.value, country="NL", member=True
            )
            for i in range(20)
        ]
        s.add_all(orgs)
        s.flush()
        s.add(
            SharingGroup(
                id="grp_0",
                name="g0",
                description="",
                member_rows=[SharingGroupMember(org_id=f"org_{i}") for i in range(5)],
            )
        )
        s.add(User(id="usr_0", username="bench", display_name="bench", org_id="org_0", password_hash=None))
        s.flush()
        handlings = [h.value for h in Handling]
        rows = [
            {
                "id": f"note_{i}",
                "title": f"note {i}",
                "body": "x" * 200,
                "owner_org_id": f"org_{rng.randrange(20)}",
                "handling": rng.choice(handlings),
                "legal_regime": rng.choice(["GDPR", "GDPR", "LED"]),
                "sharing_group_id": "grp_0" if rng.random() < 0.5 else None,
                "created_by": "usr_0",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n_notes)
        ]
        for start in track(range(0, len(rows), 5000), description=f"seeding {n_notes} notes", console=console):
            s.execute(insert(Note), rows[start : start + 5000])
    with db.engine.begin() as conn:  # fresh statistics, as autovacuum/ANALYZE would give a live database
        conn.exec_driver_sql("ANALYZE")
    return Principal(
        user_id="usr_0",
        username="bench",
        org_id="org_0",
        org_kind=OrgKind.CUSTOMS_AUTHORITY,
        roles=frozenset({Role.CUSTOMS_ANALYST}),
        group_ids=frozenset({"grp_0"}),
    )


def bench_backend(name: str, db: Database, n_notes: int, n_appends: int) -> list[tuple[str, str, float, float]]:
    """Rows (back-end, measure, baseline ms, policy ms)."""
    migrate.upgrade(db.engine)
    principal = _seed(db, n_notes)
    rows = []

    def page(filtered: bool, offset: int) -> Callable[[], object]:
        def run() -> object:
            with db.session() as s:
                q = select(Note).order_by(Note.created_at.desc(), Note.id.desc()).limit(50).offset(offset)
                if filtered:
                    q = q.where(visible_filter(principal, Note, justification="benchmark"))
                return s.scalars(q).all()

        return run

    for offset in (0, 5000):
        base = _timeit(page(False, offset), 15)
        pol = _timeit(page(True, offset), 15)
        rows.append((name, f"list 50 notes, offset {offset} (of {n_notes})", base * 1e3, pol * 1e3))

    def plain_insert() -> None:
        with db.session() as s:
            s.execute(
                text("INSERT INTO bench_plain (at, payload) VALUES (:at, :p)"),
                {"at": utcnow(), "p": secrets.token_hex(32)},
            )

    with db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, at TIMESTAMP, payload TEXT)"
                if name == "sqlite"
                else "CREATE TABLE bench_plain (id SERIAL PRIMARY KEY, at TIMESTAMPTZ, payload TEXT)"
            )
        )

    def chained() -> None:
        with db.session() as s:
            audit.append(
                s,
                actor=principal,
                action="consult",
                object_type="note",
                object_id="note_1",
                detail={"p": secrets.token_hex(32)},
            )

    start = time.perf_counter()
    for _ in range(n_appends):
        plain_insert()
    base = (time.perf_counter() - start) / n_appends
    start = time.perf_counter()
    for _ in track(range(n_appends), description=f"{name}: {n_appends} audit appends", console=console):
        chained()
    pol = (time.perf_counter() - start) / n_appends
    rows.append((name, "one write transaction (plain insert vs audit append)", base * 1e3, pol * 1e3))
    with db.session() as s:
        start = time.perf_counter()
        result = audit.verify(s)
        elapsed = time.perf_counter() - start
        count = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert result.ok, result
    console.print(
        f"{name}: verified {count} chain entries in {elapsed * 1e3:.0f} ms ({count / elapsed:,.0f} entries/s)"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=50_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        results += bench_backend("sqlite", db, args.notes, args.appends)
        db.dispose()

    schema = f"bench_{secrets.token_hex(4)}"
    try:
        admin = create_engine(args.postgres, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        console.print(f"[yellow]PostgreSQL skipped[/]: {type(exc).__name__}: {exc}")
    else:
        try:
            db = Database(f"{args.postgres}?options=-csearch_path%3D{schema}")
            results += bench_backend("postgresql", db, args.notes, args.appends)
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    table = Table(title="Policy filter and audit chain vs baselines (median; ratio = with policy / baseline)")
    for col in ("back-end", "measure", "baseline ms", "with policy ms", "ratio"):
        table.add_column(col, justify="right" if col.endswith(("ms", "ratio")) else "left")
    for backend, measure, base, pol in results:
        table.add_row(backend, measure, f"{base:.2f}", f"{pol:.2f}", f"{pol / base:.2f}×")
    console.print(table)


if __name__ == "__main__":
    main()
