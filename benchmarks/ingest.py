"""Loading declarations shaped like the public KCS set, validation included, against pandas `to_sql` in the same run.

The data: N declarations (default 1,000,000) drawn row by row from the three public Korea Customs Service files
(`../shared/data/customs-declarations/`, 54,000 rows) with fresh unique Declaration IDs, written as one KCS CSV
file. Every back-end loads the same file.

What is timed, per back-end (SQLite in a file, PostgreSQL in a schema of its own):

* **portguard ingest**: `declarations.service.ingest(format="kcs")` from the file to committed rows: read, validate
  every value (a column at a time), check references, write declarations, goods items, parties and control results
  (bulk: executemany on SQLite, COPY on PostgreSQL), audit, commit.
* **to_sql, flat** (the baseline of the issue): `pandas.read_csv` + `DataFrame.to_sql` of the same file into one
  table of 22 text/number columns, no index, no validation.
* **to_sql, same tables** (like for like): `DataFrame.to_sql` (append) of exactly the rows portguard writes, into
  the same tables with the same keys and indexes, on the first `--same-tables` declarations (it is slow; its rate
  is reported, not its time for N). Preparing those rows is not timed.

Rates are declarations (file rows) per second; "table rows/s" counts every row written to every table.

Run: `.venv/bin/python benchmarks/ingest.py [--rows 1000000] [--same-tables 100000] [--postgres URL | --no-postgres]`
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

from portguard.core import migrate
from portguard.core.db import Database
from portguard.core.policy import OrgKind
from portguard.declarations import kcs, readers, service
from portguard.declarations.models import Declaration
from portguard.sharing.models import Organisation

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "customs-declarations"
FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv", "df_syn_test_eng.csv")
ORG = "org_kcs_bench"
console = Console(width=130)


def make_file(path: Path, rows: int, seed: int = 7) -> None:
    """`rows` declarations drawn with replacement from the public set, each with a new unique Declaration ID."""
    options = pacsv.ConvertOptions(column_types={c: pa.string() for c in kcs.COLUMNS}, strings_can_be_null=False)
    public = pa.concat_tables([pacsv.read_csv(DATA / f, convert_options=options) for f in FILES])
    rng = np.random.default_rng(seed)
    sample = public.take(pa.array(rng.integers(0, public.num_rows, rows)))
    ids = rng.choice(np.arange(10_000_000, 100_000_000), size=rows, replace=False)
    sample = sample.set_column(0, "Declaration ID", pc.cast(pa.array(ids), pa.string()))
    pacsv.write_csv(sample, path, pacsv.WriteOptions(quoting_style="needed"))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(), console=console, transient=True,
    )  # fmt: skip


def _fresh(db: Database) -> None:
    migrate.upgrade(db.engine)
    with db.session() as s:
        s.add(
            Organisation(id=ORG, name="Korea Customs (benchmark)", kind=OrgKind.CUSTOMS_AUTHORITY.value, country="KR")
        )


def bench_portguard(db: Database, path: Path, rows: int) -> tuple[float, int]:
    _fresh(db)
    with _progress() as progress:
        task = progress.add_task(f"{db.dialect}: portguard ingest", total=rows)
        start = time.perf_counter()
        with db.session() as s:
            report = service.ingest(
                s,
                actor=None,
                owner_org_id=ORG,
                path=path,
                format="kcs",
                on_progress=lambda n: progress.update(task, completed=n),
            )
        seconds = time.perf_counter() - start
    if report.status != "committed" or report.declarations != rows:
        raise SystemExit(f"ingest did not commit all rows: {report.status}, {report.errors[:3]}")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Declaration)) == rows
        written = sum(s.scalar(select(func.count()).select_from(table)) or 0 for table in service.TABLES)
    return seconds, written


def bench_to_sql_flat(db: Database, path: Path) -> float:
    with console.status(f"{db.dialect}: pandas read_csv + to_sql (flat)"):
        start = time.perf_counter()
        frame = pd.read_csv(path)
        frame.to_sql("kcs_flat", db.engine, index=False, if_exists="replace")
        return time.perf_counter() - start


def bench_to_sql_same_tables(db: Database, path: Path, rows: int, workdir: Path) -> tuple[float, int]:
    """to_sql of the rows portguard writes for the first `rows` declarations, into the same (fresh) tables."""
    head = workdir / f"head_{rows}.csv"
    with path.open("rb") as src, head.open("wb") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    frames: dict[str, list[pd.DataFrame]] = {table.name: [] for table in service.TABLES}
    batches = service._prepare(
        readers.read(head, format="kcs"), file=head.name, ingest_id="ing_bench", owner=ORG,
        handling="AMBER", regime="GDPR", max_errors=1,
    )  # fmt: skip
    for batch in batches:
        for name, columns in batch.tables.items():
            if columns:
                frame = pd.DataFrame(columns)
                frames[name].append(frame)
    with db.engine.begin() as conn:  # to_sql writes into the existing tables; the ingest row they point to
        conn.execute(
            text(
                "INSERT INTO ingests (id, file_name, file_sha256, format, status, rows_read, declarations,"
                " error_count, errors, started_at, owner_org_id, handling, legal_regime)"
                " VALUES ('ing_bench', 'head.csv', '', 'kcs', 'committed', 0, 0, 0, '[]', :now, :org, 'AMBER', 'GDPR')"
            ),
            {"now": pd.Timestamp.now(tz="UTC").to_pydatetime(), "org": ORG},
        )
    written = 0
    with console.status(f"{db.dialect}: to_sql into the same tables ({rows:,} declarations)"):
        start = time.perf_counter()
        with db.engine.begin() as conn:
            for table in service.TABLES:
                for frame in frames[table.name]:
                    # the table's own column types, so that SQLAlchemy binds JSON, decimals and timestamps
                    types = {c.name: c.type for c in table.c if c.name in frame.columns}
                    frame.to_sql(table.name, conn, index=False, if_exists="append", dtype=types)
                    written += len(frame)
        seconds = time.perf_counter() - start
    return seconds, written


def run_backend(name: str, make_db, path: Path, rows: int, same: int, workdir: Path) -> list[tuple]:
    out = []
    db = make_db("ours")
    seconds, written = bench_portguard(db, path, rows)
    db.dispose()
    flat_db = make_db("flat")
    flat = bench_to_sql_flat(flat_db, path)
    flat_db.dispose()
    same_db = make_db("same")
    _fresh(same_db)
    same_seconds, same_written = bench_to_sql_same_tables(same_db, path, same, workdir)
    same_db.dispose()
    ours_rate = rows / seconds
    out.append((name, "portguard ingest (validated)", rows, seconds, ours_rate, written / seconds, None, None))
    out.append((name, "pandas to_sql, flat (no validation)", rows, flat, rows / flat, rows / flat,
                ours_rate / (rows / flat), "flat"))  # fmt: skip
    out.append((name, "pandas to_sql, same tables (no validation)", same, same_seconds, same / same_seconds,
                same_written / same_seconds, ours_rate / (same / same_seconds), "same"))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--same-tables", type=int, default=100_000, help="declarations for the like-for-like baseline")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"the public KCS set is not at {DATA.name} beside the repository (../shared/data/...)")
    results: list[tuple] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "kcs_bench.csv"
        with console.status(f"writing {args.rows:,} KCS-shaped declarations"):
            make_file(path, args.rows)
        console.print(f"{args.rows:,} declarations, {path.stat().st_size / 1e6:,.0f} MB of CSV")

        def sqlite_db(tag: str) -> Database:
            return Database(f"sqlite:///{workdir / f'{tag}.db'}")

        results += run_backend("SQLite", sqlite_db, path, args.rows, args.same_tables, workdir)
        if not args.no_postgres:
            admin = create_engine(args.postgres, connect_args={"connect_timeout": 3})
            schemas: list[str] = []

            def pg_db(tag: str) -> Database:
                schema = f"bench_{tag}_{secrets.token_hex(3)}"
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                schemas.append(schema)
                return Database(f"{args.postgres}?options=-csearch_path%3D{schema}")

            try:
                results += run_backend("PostgreSQL", pg_db, path, args.rows, args.same_tables, workdir)
            finally:
                with admin.begin() as conn:
                    for schema in schemas:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    table = Table(title=f"Declaration ingest, KCS shape ({args.rows:,} rows)")
    for column in ("back-end", "load", "declarations", "seconds", "declarations/s", "table rows/s", "portguard ×"):
        table.add_column(column, justify="left" if column in ("back-end", "load") else "right")
    for backend, load, n, seconds, rate, row_rate, ratio, _ in results:
        table.add_row(
            backend, load, f"{n:,}", f"{seconds:,.1f}", f"{rate:,.0f}", f"{row_rate:,.0f}",
            "" if ratio is None else f"{ratio:.2f}×",
        )  # fmt: skip
    console.print(table)
    console.print("portguard × = portguard's declarations/s divided by the baseline's, measured in this run.")


if __name__ == "__main__":
    main()
