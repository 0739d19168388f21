"""CLI for declarations: ingest a file (with a progress bar), show one declaration, list the ingest history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from portguard.core.console import console, emit, err_console, progress_bar
from portguard.core.db import from_settings
from portguard.core.policy import Handling, LegalRegime
from portguard.declarations import readers, service
from portguard.sharing import service as sharing

app = typer.Typer(help="Cargo declarations.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("ingest")
def ingest(
    path: Path,
    format: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(readers.FORMATS)}")] = "ics2",
    org: Annotated[str, typer.Option(help="Owner organisation (id or name)")] = "",
    mapping: Annotated[Path | None, typer.Option(help="YAML column mapping (csv, parquet, jsonl)")] = None,
    handling: Annotated[Handling, typer.Option()] = Handling.AMBER,
    legal_regime: Annotated[LegalRegime, typer.Option("--legal-regime")] = LegalRegime.GDPR,
    sharing_group: Annotated[str | None, typer.Option(help="Sharing group (id or name) that also sees them")] = None,
    max_errors: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    report: Annotated[Path | None, typer.Option(help="Write the error report (JSON) here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a file of declarations: all of it or nothing; the same content twice writes nothing."""
    if not org:
        raise typer.BadParameter("name the owner organisation with --org", param_hint="--org")
    db = from_settings()
    with db.session() as session:
        owner = sharing.find_org(session, ref=org).id
        group = sharing.find_group(session, ref=sharing_group).id if sharing_group else None
    total = service.estimate_rows(path)
    with progress_bar(disable=as_json) as bar:
        task = bar.add_task(f"ingesting {path.name}", total=total)
        with db.session() as session:
            result = service.ingest(
                session,
                actor=None,
                owner_org_id=owner,
                path=path,
                format=format,
                mapping=mapping,
                handling=handling,
                legal_regime=legal_regime,
                sharing_group_id=group,
                max_errors=max_errors,
                on_progress=lambda done: bar.update(task, completed=done),
            )
    out = result.as_dict()
    if report is not None:
        report.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    if as_json:
        emit(out, as_json=True)
    elif result.status == "committed":
        console.print(
            f"[green]Committed[/] {result.declarations} declarations and {result.control_results} control results "
            f"from {result.rows_read} rows of {path.name} (ingest {result.ingest_id})."
        )
    elif result.status == "duplicate":
        console.print(f"Already loaded by ingest {result.duplicate_of}: nothing written.")
    else:
        err_console.print(f"[red]Rejected[/] {path.name}: {len(result.errors)} errors, nothing written.")
        for error in result.errors[:20]:
            err_console.print(f"  {error}", soft_wrap=True, markup=False)
        if len(result.errors) > 20:
            err_console.print(f"  … {len(result.errors) - 20} more (use --report FILE or --json)")
    if result.status == "rejected":
        raise typer.Exit(1)


@app.command("show")
def show(ref: str, as_json: JsonOpt = False) -> None:
    """One declaration by id or reference, with goods, containers and parties."""
    with from_settings().session() as session:
        decl = service.find_declaration(session, actor=None, ref=ref)
        out = service.declaration_dict(decl)
    if as_json:
        emit(out, as_json=True)
        return
    head = {k: v for k, v in out.items() if k not in ("goods", "containers", "parties")}
    emit([{"field": k, "value": v} for k, v in head.items()], as_json=False, title=f"Declaration {decl.ref}")
    emit(
        out["goods"],
        as_json=False,
        title="Goods",
        columns=["seq", "hs_code", "description", "gross_mass_kg", "net_mass_kg", "value", "currency"],
    )
    if out["containers"]:
        emit(out["containers"], as_json=False, title="Containers", columns=["number", "size_type", "seals"])
    if out["parties"]:
        emit(out["parties"], as_json=False, title="Parties", columns=["role", "name", "eori", "country", "phone"])


@app.command("ingests")
def ingests(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, as_json: JsonOpt = False) -> None:
    """The latest ingests with their outcome."""
    with from_settings().session() as session:
        rows = [service.ingest_dict(i) for i in service.list_ingests_all(session, limit=limit)]
    emit(
        rows,
        as_json=as_json,
        title="Ingests",
        columns=["id", "file_name", "format", "status", "rows_read", "declarations", "error_count", "started_at"],
    )


@app.command("generate")
def generate(
    output: Annotated[Path, typer.Argument(help="JSON Lines file to write")],
    n: Annotated[int, typer.Option("--n", min=1, max=10_000_000, help="How many declarations")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed, same file")] = 0,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Spread over this many days")] = 90,
) -> None:
    """Write realistic ICS2-like declarations for European ports (for demos, benchmarks and tests)."""
    from portguard.declarations import generator

    written = generator.write_jsonl(output, n, seed=seed, days=days)
    console.print(f"{written} declarations written to {output} (seed {seed}).")
