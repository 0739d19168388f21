"""Ingest of declaration files: read, validate every row, and write all of it or nothing, exactly once.

Why it is shaped like this:
* **All or nothing.** The declarations of one file are written inside one savepoint of the caller's transaction;
  one invalid row rejects the file and the savepoint is rolled back, so nothing of it is stored. The rejected
  attempt itself is kept (file, hash, who, when, the errors) so the ingest history shows it.
* **Exactly once.** A file is recognised by the SHA-256 of its bytes: loading the same content again for the same
  organisation writes nothing and says which earlier ingest holds it. A declaration reference already stored by
  another file is an error of that row, never a silent overwrite.
* **Errors a person can act on.** Each names the file, the row, the field, the value and the reason, up to
  `max_errors`; the full list goes into the ingest record (the error report).
* **Fast.** Tabular files (CSV, Parquet, JSON Lines with a mapping, KCS) are validated a column at a time
  (`columnar.py`), nested ICS2 JSON a declaration at a time through `DeclarationIn`; both are written in batches
  through `core.bulk` (COPY on PostgreSQL, executemany on SQLite).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlResult
from portguard.core import audit, bulk
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.db import paginate
from portguard.core.errors import Forbidden, InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Handling, LegalRegime, Principal, can, require_permission, visible_filter
from portguard.declarations import columnar, readers
from portguard.declarations.columnar import Columns
from portguard.declarations.models import Container, Declaration, DeclarationIn, GoodsItem, Ingest, Party
from portguard.declarations.readers import Raw, ReadError, RowError, short

BATCH = 5000  # nested declarations validated before a write
PROGRESS_ROWS = 1000  # nested declarations between progress reports
CHECK_CHUNK = 2000  # ids per query when looking for declarations already stored
TABLES = (
    Declaration.__table__,
    GoodsItem.__table__,
    Party.__table__,
    Container.__table__,
    ControlResult.__table__,
)  # in the order their foreign keys need


@dataclass
class IngestReport:
    """What an ingest did."""

    ingest_id: str
    status: str  # committed | rejected | duplicate
    file: str
    sha256: str
    rows_read: int = 0
    declarations: int = 0
    control_results: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicate_of: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "status": self.status,
            "file": self.file,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "declarations": self.declarations,
            "control_results": self.control_results,
            "error_count": len(self.errors),
            "errors": [e.as_dict() for e in self.errors],
            "duplicate_of": self.duplicate_of,
        }


def estimate_rows(path: Path) -> int | None:
    """About how many records `path` holds (its line count; None for Parquet), for progress bars."""
    if path.suffix.lower() == ".parquet" or not path.is_file():
        return None
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _row_errors(file: str, row: int, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or None
        value = err.get("input")
        shown = None if isinstance(value, dict | list) or value is None else short(value)
        reason = err.get("msg", "invalid").removeprefix("Value error, ")
        out.append(RowError(file, row, loc, shown, reason))
    return out


def _flatten(
    decl_id: str, d: DeclarationIn, ingest_id: str, owner: str, handling: str, regime: str, group: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    head = {
        "id": decl_id,
        "ref": d.ref,
        "type": d.type,
        "lodged_at": d.lodged_at,
        "office": d.office,
        "transport_mode": d.transport_mode.value,
        "transport_document": d.transport_document,
        "vessel_imo": d.vessel_imo,
        "voyage": d.voyage,
        "port_of_loading": d.port_of_loading,
        "port_of_discharge": d.port_of_discharge,
        "country_of_departure": d.country_of_departure,
        "route_countries": d.route_countries,
        "ingest_id": ingest_id,
        "owner_org_id": owner,
        "handling": handling,
        "legal_regime": regime,
        "sharing_group_id": group,
    }
    goods = [
        {
            "declaration_id": decl_id,
            "seq": g.seq,
            "hs_code": g.hs_code,
            "description": g.description,
            "gross_mass_kg": g.gross_mass_kg,
            "net_mass_kg": g.net_mass_kg,
            "value": g.value,
            "currency": g.currency,
            "packages": g.packages,
            "country_of_origin": g.country_of_origin,
            "containers": g.containers,
        }
        for g in d.goods
    ]
    containers = [
        {"declaration_id": decl_id, "number": c.number, "seals": c.seals, "size_type": c.size_type}
        for c in d.containers
    ]
    parties = [
        {
            "declaration_id": decl_id,
            "seq": i,
            "role": p.role.value,
            "name": p.name,
            "eori": p.eori,
            "street": p.address.street if p.address else None,
            "city": p.address.city if p.address else None,
            "postcode": p.address.postcode if p.address else None,
            "country": p.address.country if p.address else None,
            "phone": p.phone,
            "email": p.email,
            "iban": p.iban,
        }
        for i, p in enumerate(d.parties, start=1)
    ]
    return head, goods, containers, parties


class _Rejected(Exception):
    pass


def ingest(
    session: Session,
    *,
    actor: Principal | None,
    owner_org_id: str,
    path: Path,
    format: str,
    mapping: Path | None = None,
    handling: Handling = Handling.AMBER,
    legal_regime: LegalRegime = LegalRegime.GDPR,
    sharing_group_id: str | None = None,
    max_errors: int = 100,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Load one file of declarations for `owner_org_id`: all rows or none, once per content.

    The declarations and their control results carry the given handling code, legal regime and sharing group
    (AMBER with a group: the owner and the group's members see them)."""
    require_permission(actor, "declaration:write")
    if actor is not None and actor.org_id != owner_org_id:
        raise Forbidden("declarations are loaded into your own organisation")
    if actor is not None and sharing_group_id is not None and sharing_group_id not in actor.group_ids:
        raise InvalidInput(
            f"your organisation is not a member of sharing group {sharing_group_id}", field="sharing_group_id"
        )
    sha = file_sha256(path) if path.is_file() else ""
    report = IngestReport(ingest_id=new_id("ing"), status="committed", file=path.name, sha256=sha)
    earlier = (
        session.scalar(
            select(Ingest.id).where(
                Ingest.owner_org_id == owner_org_id, Ingest.file_sha256 == sha, Ingest.status == "committed"
            )
        )
        if sha
        else None
    )
    if earlier:
        report.status, report.duplicate_of = "duplicate", earlier
        return report
    started = utcnow()
    try:
        # A savepoint: a rejected file leaves nothing behind.
        with session.begin_nested(), bulk.gc_paused():
            _load(
                session,
                report,
                actor=actor,
                owner=owner_org_id,
                path=path,
                format=format,
                mapping=mapping,
                handling=handling.value,
                regime=legal_regime.value,
                group=sharing_group_id,
                max_errors=max_errors,
                on_progress=on_progress,
                started=started,
            )
    except ReadError as exc:
        report.errors = exc.errors[:max_errors]
        report.status = "rejected"
    except _Rejected:
        report.status = "rejected"
    if report.status == "rejected":
        report.declarations = report.control_results = 0
        _record(
            session,
            report,
            actor=actor,
            owner=owner_org_id,
            format=format,
            handling=handling.value,
            regime=legal_regime.value,
            group=sharing_group_id,
            started=started,
        )
        _audit_ingest(session, report, actor=actor, regime=legal_regime.value)
    return report


def _record(
    session: Session,
    report: IngestReport,
    *,
    actor: Principal | None,
    owner: str,
    format: str,
    handling: str,
    regime: str,
    group: str | None,
    started: Any,
) -> None:
    session.add(
        Ingest(
            id=report.ingest_id,
            file_name=report.file,
            file_sha256=report.sha256,
            format=format,
            status=report.status,
            rows_read=report.rows_read,
            declarations=report.declarations,
            error_count=len(report.errors),
            errors=[e.as_dict() for e in report.errors],
            user_id=actor.user_id if actor else None,
            started_at=started,
            finished_at=utcnow(),
            owner_org_id=owner,
            handling=handling,
            legal_regime=regime,
            sharing_group_id=group,
        )
    )
    session.flush()


def _audit_ingest(session: Session, report: IngestReport, *, actor: Principal | None, regime: str) -> None:
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="ingest",
        object_id=report.ingest_id,
        legal_regime=regime,
        detail={
            "file": report.file,
            "sha256": report.sha256,
            "status": report.status,
            "declarations": report.declarations,
            "control_results": report.control_results,
            "errors": len(report.errors),
        },
    )


@dataclass
class _Prepared:
    """A batch read, validated and shaped as table columns, ready to be checked against the database and written."""

    rows_read: int
    errors: list[RowError]
    rows: list[int]  # the file rows of the valid declarations
    refs: list[str]
    tables: dict[str, dict[str, list[Any]]]


def _prepare(
    items: Iterator[Raw] | Iterator[Columns],
    *,
    file: str,
    ingest_id: str,
    owner: str,
    handling: str,
    regime: str,
    group: str | None = None,
    max_errors: int,
) -> Iterator[_Prepared]:
    """Reader output as batches to write: tabular batches validated a column at a time, nested declarations one
    at a time through `DeclarationIn` and gathered into batches of `BATCH`."""
    shape = {"ingest_id": ingest_id, "owner": owner, "handling": handling, "regime": regime, "group": group}
    pending: list[tuple[int, DeclarationIn, dict[str, Any] | None]] = []
    errors: list[RowError] = []
    read = 0

    def flush() -> _Prepared:
        refs = [decl.ref for _, decl, _ in pending]
        batch = _Prepared(read, list(errors), [row for row, _, _ in pending], refs, {})
        if not errors:
            batch.tables = _tables(pending, [f"{owner}:{ref}" for ref in refs], **shape)
        pending.clear()
        errors.clear()
        return batch

    for item in items:
        if isinstance(item, Columns):
            valid, column_errors = columnar.validate(item, file=file)
            if valid is None:  # the file is rejected; its references still count for duplicates within it
                refs = [r.strip() if isinstance(r, str) else r for r in item.values.get("ref", [])]
                kept = [(row, ref) for row, ref in zip(item.rows, refs, strict=False) if ref]
                yield _Prepared(len(item), column_errors, [r for r, _ in kept], [ref for _, ref in kept], {})
            else:
                ids = [f"{owner}:{ref}" for ref in valid.values["ref"]]
                yield _Prepared(
                    len(item), [], valid.rows, valid.values["ref"], columnar.tables(valid, ids=ids, **shape)
                )
            continue
        read += 1
        try:
            pending.append((item.row, DeclarationIn.model_validate(item.data), item.control))
        except ValidationError as exc:
            errors.extend(_row_errors(file, item.row, exc))
        if read == PROGRESS_ROWS or len(pending) >= BATCH or len(errors) >= max_errors:
            yield flush()
            read = 0
    if read:
        yield flush()


def _load(
    session: Session,
    report: IngestReport,
    *,
    actor: Principal | None,
    owner: str,
    path: Path,
    format: str,
    mapping: Path | None,
    handling: str,
    regime: str,
    group: str | None,
    max_errors: int,
    on_progress: Callable[[int], None] | None,
    started: Any,
) -> None:
    _record(
        session,
        report,
        actor=actor,
        owner=owner,
        format=format,
        handling=handling,
        regime=regime,
        group=group,
        started=started,
    )
    seen: dict[str, int] = {}  # reference -> row, for duplicates within the file
    batches = _prepare(
        readers.read(path, format=format, mapping=mapping),
        file=path.name,
        ingest_id=report.ingest_id,
        owner=owner,
        handling=handling,
        regime=regime,
        group=group,
        max_errors=max_errors,
    )
    # Reading and validating the next batch runs in a thread while this one writes the current batch.
    for batch in bulk.prefetched(batches):
        report.rows_read += batch.rows_read
        report.errors.extend(batch.errors)
        for row, ref in zip(batch.rows, batch.refs, strict=True):
            if ref in seen:
                report.errors.append(
                    RowError(path.name, row, "ref", ref, f"duplicate declaration reference (first at row {seen[ref]})")
                )
            else:
                seen[ref] = row
        if not report.errors and batch.tables:
            _check_existing(session, report, path.name, batch.tables["declarations"]["id"], batch.rows)
        if not report.errors and batch.tables:  # once the file is rejected, go on reading only to report errors
            for table in TABLES:
                bulk.insert_columns(session, table, batch.tables[table.name])
            report.control_results += len(batch.tables["control_results"].get("id", ()))
        if on_progress is not None:
            on_progress(report.rows_read)
        if len(report.errors) >= max_errors:
            break
    if report.errors:
        report.errors = report.errors[:max_errors]
        raise _Rejected
    report.declarations = len(seen)
    ingest_row = session.get(Ingest, report.ingest_id)
    assert ingest_row is not None
    ingest_row.rows_read = report.rows_read
    ingest_row.declarations = report.declarations
    ingest_row.finished_at = utcnow()
    _audit_ingest(session, report, actor=actor, regime=regime)


def _tables(
    records: list[tuple[int, DeclarationIn, dict[str, Any] | None]],
    ids: list[str],
    *,
    ingest_id: str,
    owner: str,
    handling: str,
    regime: str,
    group: str | None = None,
) -> dict[str, dict[str, list[Any]]]:
    """Validated nested declarations as table columns (the shape `columnar.tables` gives tabular files)."""
    rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
    for (_, decl, control), decl_id in zip(records, ids, strict=True):
        head, goods, containers, parties = _flatten(decl_id, decl, ingest_id, owner, handling, regime, group)
        rows["declarations"].append(head)
        rows["goods_items"].extend(goods)
        rows["declaration_containers"].extend(containers)
        rows["declaration_parties"].extend(parties)
        if control:
            rows["control_results"].append(
                columnar.control_row(decl_id, decl.lodged_at, control, ingest_id, owner, handling, regime, group)
            )
    return {
        name: {key: [r[key] for r in table_rows] for key in table_rows[0]} if table_rows else {}
        for name, table_rows in rows.items()
    }


def _check_existing(session: Session, report: IngestReport, file: str, ids: list[str], rows: list[int]) -> None:
    """An error for each id already stored (by an earlier ingest)."""
    row_of = dict(zip(ids, rows, strict=True))
    for start in range(0, len(ids), CHECK_CHUNK):
        for decl_id, ingest_id in session.execute(
            select(Declaration.id, Declaration.ingest_id).where(Declaration.id.in_(ids[start : start + CHECK_CHUNK]))
        ):
            ref = decl_id.split(":", 1)[1]
            report.errors.append(
                RowError(file, row_of[decl_id], "ref", ref, f"declaration already stored by ingest {ingest_id}")
            )


# ---------------------------------------------------------------- reading


def _declaration_query(
    actor: Principal,
    *,
    office: str | None,
    hs_prefix: str | None,
    origin: str | None,
    ref_prefix: str | None,
    justification: str | None,
) -> Select[tuple[Declaration]]:
    query = select(Declaration).where(visible_filter(actor, Declaration, justification=justification))
    if office:
        query = query.where(Declaration.office == office)
    if origin:
        query = query.where(Declaration.country_of_departure == origin.upper())
    if ref_prefix:
        query = query.where(Declaration.ref.startswith(ref_prefix, autoescape=True))
    if hs_prefix:
        query = query.where(
            Declaration.id.in_(select(GoodsItem.declaration_id).where(GoodsItem.hs_code.startswith(hs_prefix)))
        )
    return query.order_by(Declaration.lodged_at.desc(), Declaration.id.desc())


def list_declarations(
    session: Session,
    *,
    actor: Principal,
    office: str | None = None,
    hs_prefix: str | None = None,
    origin: str | None = None,
    ref_prefix: str | None = None,
    justification: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Declaration], int]:
    """Declarations the actor may see, newest first, with optional filters; audited as a consult."""
    query = _declaration_query(
        actor, office=office, hs_prefix=hs_prefix, origin=origin, ref_prefix=ref_prefix, justification=justification
    )
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(session, actor=actor, object_type="declaration", records=items, justification=justification)
    return items, total


EXPORT_LIMIT = 50_000
EXPORT_ROLES = ("consignor", "consignee", "declarant", "importer", "seller")
EXPORT_HEADER = (
    "id", "ref", "type", "lodged_at", "office", "transport_mode", "transport_document", "vessel_imo", "voyage",
    "port_of_loading", "port_of_discharge", "country_of_departure", "goods_seq", "hs_code", "description",
    "gross_mass_kg", "net_mass_kg", "value", "currency", "packages", "country_of_origin", "containers",
    *EXPORT_ROLES, "owner_org_id", "handling", "legal_regime",
)  # fmt: skip


def export_declarations(
    session: Session,
    *,
    actor: Principal,
    office: str | None = None,
    hs_prefix: str | None = None,
    origin: str | None = None,
    ref_prefix: str | None = None,
    justification: str | None = None,
) -> list[list[Any]]:
    """The declarations the list would show, one row per goods item (columns `EXPORT_HEADER`; party names by role).

    At most `EXPORT_LIMIT` declarations (a larger export is refused: narrow the filters). Audited as a consult of
    every exported declaration. Cells are raw values: `core.export.csv_chunks` makes them spreadsheet-safe."""
    query = _declaration_query(
        actor, office=office, hs_prefix=hs_prefix, origin=origin, ref_prefix=ref_prefix, justification=justification
    )
    records = list(session.scalars(query.limit(EXPORT_LIMIT + 1)).all())
    if len(records) > EXPORT_LIMIT:
        raise InvalidInput(f"more than {EXPORT_LIMIT:,} declarations match; narrow the filters to export")
    audit.consult_list(session, actor=actor, object_type="declaration", records=records, justification=justification)
    rows: list[list[Any]] = []
    for d in records:
        names = {}
        for p in sorted(d.parties, key=lambda p: p.seq):
            names.setdefault(p.role, p.name)
        head = [
            d.id, d.ref, d.type, d.lodged_at, d.office, d.transport_mode, d.transport_document, d.vessel_imo,
            d.voyage, d.port_of_loading, d.port_of_discharge, d.country_of_departure,
        ]  # fmt: skip
        tail = [*(names.get(role) for role in EXPORT_ROLES), d.owner_org_id, d.handling, d.legal_regime]
        for g in d.goods:
            goods = [
                g.seq, g.hs_code, g.description, g.gross_mass_kg, g.net_mass_kg, g.value, g.currency, g.packages,
                g.country_of_origin, " ".join(g.containers or []),
            ]  # fmt: skip
            rows.append([*head, *goods, *tail])
    return rows


def get_declaration(
    session: Session, *, actor: Principal, declaration_id: str, justification: str | None = None
) -> Declaration:
    """One declaration with its goods, containers and parties, if the policy allows; audited."""
    decl = session.get(Declaration, declaration_id)
    if decl is None:
        raise NotFound(f"no declaration {declaration_id}")
    audit.consult_one(session, actor=actor, record=decl, object_type="declaration", justification=justification)
    return decl


def find_declaration(session: Session, *, actor: Principal | None, ref: str) -> Declaration:
    """A declaration by id, or by reference when only one visible declaration has it (for the CLI)."""
    query = select(Declaration).where((Declaration.id == ref) | (Declaration.ref == ref))
    if actor is not None:
        query = query.where(visible_filter(actor, Declaration, action=Action.READ, justification="lookup"))
    found = session.scalars(query.limit(2)).all()
    if not found:
        raise NotFound(f"no declaration with id or reference {ref!r}")
    if len(found) > 1:
        raise NotFound(f"reference {ref!r} is held by several organisations; give the full id")
    return found[0]


def list_ingests(session: Session, *, actor: Principal, limit: int = 50, offset: int = 0) -> tuple[list[Ingest], int]:
    """The ingest history the actor may see, newest first."""
    query = select(Ingest).where(visible_filter(actor, Ingest)).order_by(Ingest.started_at.desc(), Ingest.id)
    return paginate(session, query, limit=limit, offset=offset)


def get_ingest(session: Session, *, actor: Principal, ingest_id: str) -> Ingest:
    """One ingest with its error report."""
    row = session.get(Ingest, ingest_id)
    if row is None or not can(actor, Action.READ, row, justification="ingest report"):
        raise NotFound(f"no ingest {ingest_id}")
    return row


def list_ingests_all(session: Session, *, limit: int = 20) -> list[Ingest]:
    """The latest ingests of every organisation (operator CLI)."""
    return list(session.scalars(select(Ingest).order_by(Ingest.started_at.desc()).limit(limit)).all())


def ingest_dict(row: Ingest) -> dict[str, Any]:
    """An ingest as plain JSON values."""
    return {
        "id": row.id,
        "file_name": row.file_name,
        "file_sha256": row.file_sha256,
        "format": row.format,
        "status": row.status,
        "rows_read": row.rows_read,
        "declarations": row.declarations,
        "error_count": row.error_count,
        "errors": row.errors,
        "owner_org_id": row.owner_org_id,
        "handling": row.handling,
        "sharing_group_id": row.sharing_group_id,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def declaration_dict(decl: Declaration) -> dict[str, Any]:
    """A declaration with its goods, containers and parties as plain JSON values."""

    def num(value: Any) -> float | None:
        return None if value is None else float(value)

    return {
        "id": decl.id,
        "ref": decl.ref,
        "type": decl.type,
        "lodged_at": decl.lodged_at.isoformat(),
        "office": decl.office,
        "transport_mode": decl.transport_mode,
        "transport_document": decl.transport_document,
        "vessel_imo": decl.vessel_imo,
        "voyage": decl.voyage,
        "port_of_loading": decl.port_of_loading,
        "port_of_discharge": decl.port_of_discharge,
        "country_of_departure": decl.country_of_departure,
        "route_countries": decl.route_countries,
        "owner_org_id": decl.owner_org_id,
        "handling": decl.handling,
        "legal_regime": decl.legal_regime,
        "sharing_group_id": decl.sharing_group_id,
        "ingest_id": decl.ingest_id,
        "goods": [
            {
                "seq": g.seq,
                "hs_code": g.hs_code,
                "description": g.description,
                "gross_mass_kg": num(g.gross_mass_kg),
                "net_mass_kg": num(g.net_mass_kg),
                "value": num(g.value),
                "currency": g.currency,
                "packages": g.packages,
                "country_of_origin": g.country_of_origin,
                "containers": g.containers,
            }
            for g in decl.goods
        ],
        "containers": [{"number": c.number, "seals": c.seals, "size_type": c.size_type} for c in decl.containers],
        "parties": [
            {
                "role": p.role,
                "name": p.name,
                "eori": p.eori,
                "street": p.street,
                "city": p.city,
                "postcode": p.postcode,
                "country": p.country,
                "phone": p.phone,
                "email": p.email,
                "iban": p.iban,
            }
            for p in sorted(decl.parties, key=lambda p: p.seq)
        ],
    }
