"""CLI for common risk criteria: check, import, backtest, publish, list, diff and export rule sets; score a period."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from sqlalchemy import select

from portguard.core.console import console, emit, err_console
from portguard.core.db import from_settings
from portguard.core.errors import InvalidInput
from portguard.risk import service
from portguard.risk.models import RuleSet
from portguard.sharing import service as sharing

app = typer.Typer(help="Common risk criteria: rule sets, backtests, publication.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _day(value: str) -> datetime:
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def _load(path: Path) -> Any:
    doc, problems = service.check_file(path)
    if problems:
        for problem in problems:
            err_console.print(f"{path.name}: {problem}", markup=False, soft_wrap=True)
        raise InvalidInput(f"{path.name}: {len(problems)} problem(s)")
    return doc


@app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="Rule set YAML files")], as_json: JsonOpt = False) -> None:
    """Check rule set files: YAML, fields, and every condition against the declaration view and the watch lists."""
    report = []
    for path in files:
        doc, problems = service.check_file(path)
        report.append(
            {
                "file": str(path),
                "ok": not problems,
                "rules": len(doc.rules) if doc else None,
                "problems": [p.as_dict() for p in problems],
            }
        )
    if as_json:
        emit(report, as_json=True)
    else:
        for item in report:
            if item["ok"]:
                console.print(f"[green]ok[/] {item['file']}: {item['rules']} rules")
            for p in item["problems"]:
                at = f" (line {p['line']}, column {p['column']})" if p["line"] else ""
                err_console.print(f"{item['file']}: {p['where']}: {p['message']}{at}", markup=False, soft_wrap=True)
    if not all(item["ok"] for item in report):
        raise typer.Exit(1)


@app.command("import")
def import_(
    path: Path,
    org: Annotated[str, typer.Option(help="Owner organisation (id or name); default: the file's `owner`")] = "",
    group: Annotated[str, typer.Option(help="Sharing group (id or name); default: the file's `sharing_group`")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Save a rule set file (or an exported bundle, which keeps owner and handling); changed rules become drafts."""
    doc = _load(path)
    with from_settings().session() as session:
        owner = sharing.find_org(session, ref=org or doc.owner or "").id if (org or doc.owner) else None
        if owner is None:
            raise InvalidInput("name the owner organisation with --org (the file has no `owner`)")
        group_ref = group or doc.sharing_group
        group_id = sharing.find_group(session, ref=group_ref).id if group_ref else None
        rule_set, changes = service.save_rule_set(
            session, actor=None, doc=doc, owner_org_id=owner, sharing_group_id=group_id
        )
        out = {"id": rule_set.id, "version": rule_set.version, "changes": changes}
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(f"Saved {out['id']} version {out['version']}: {', '.join(changes) or 'no change'}.")


@app.command("list")
def list_sets(as_json: JsonOpt = False) -> None:
    """Every rule set with its version and rules by status."""
    with from_settings().session() as session:
        rows = []
        for rule_set in session.scalars(select(RuleSet).order_by(RuleSet.id)):
            rules = service.latest_rules(session, rule_set.id)
            rows.append(
                {
                    "id": rule_set.id,
                    "title": rule_set.title,
                    "kind": rule_set.kind,
                    "version": rule_set.version,
                    "handling": rule_set.handling,
                    "example": rule_set.example,
                    "published": sum(r.status == "published" for r in rules),
                    "draft": sum(r.status == "draft" for r in rules),
                    "backtested": service.latest_backtest(session, rule_set) is not None,
                }
            )
    emit(
        rows,
        as_json=as_json,
        title="Rule sets",
        columns=["id", "title", "kind", "version", "handling", "published", "draft", "backtested"],
    )


def _measures_table(title: str, measures: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("rule", "hits", "hit rate", "controlled", "irregular", "precision", "seizures", "lift", "overlap"):
        table.add_column(column, justify="left" if column == "rule" else "right")

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.1f} %"

    for rule_id, m in measures["rules"].items():
        table.add_row(
            rule_id.split("/")[-1],
            f"{m['hits']:,}",
            pct(m["hit_rate"]),
            f"{m['controlled']:,}",
            f"{m['irregular']:,}",
            pct(m["irregularity_precision"]),
            f"{m['seizures']:,}",
            "–" if m["lift"] is None else f"{m['lift']:.2f}",
            pct(m["overlap"]),
        )
    return table


@app.command("backtest")
def backtest(
    rule_set: Annotated[str, typer.Argument(help="Rule set id or key")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (YYYY-MM-DD)")],
    as_json: JsonOpt = False,
) -> None:
    """Measure the set's current rules over a past period against the control results; kept on record."""
    with from_settings().session() as session:
        found = service.find_rule_set(session, ref=rule_set)
        with console.status(f"backtesting {found.id}"):
            record = service.backtest(session, actor=None, rule_set_id=found.id, start=_day(start), end=_day(end))
        out = {"id": record.id, "rule_set": found.id, "version": record.rule_set_version, **record.measures}
    if as_json:
        emit(out, as_json=True)
        return
    console.print(_measures_table(f"Backtest {out['id']} of {found.id} v{out['version']}, {start} to {end}", out))
    base = "–" if out["base_rate"] is None else f"{100 * out['base_rate']:.1f} %"
    console.print(
        f"{out['declarations']:,} declarations, {out['controlled']:,} controlled, base irregularity rate {base}."
    )


@app.command("publish")
def publish(rule_set: Annotated[str, typer.Argument(help="Rule set id or key")], as_json: JsonOpt = False) -> None:
    """Publish the set's drafts (refused without a backtest of the current version)."""
    with from_settings().session() as session:
        found = service.find_rule_set(session, ref=rule_set)
        keys = [r.key for r in service.publish(session, actor=None, rule_set_id=found.id)]
    if as_json:
        emit({"rule_set": found.id, "published": keys}, as_json=True)
    else:
        console.print(f"Published {', '.join(keys) or 'nothing (no drafts)'} in {found.id}.")


@app.command("diff")
def diff(a: Path, b: Path) -> None:
    """What differs between two rule set files, rule by rule."""
    lines = service.diff_files(_load(a), _load(b))
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        console.print(line, style=style, markup=False, highlight=False)
    if not lines:
        console.print("No differences.")


@app.command("export")
def export(
    rule_set: Annotated[str, typer.Argument(help="Rule set id or key")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout)")] = None,
) -> None:
    """The set as a portable bundle (YAML) that keeps its owner and handling code."""
    with from_settings().session() as session:
        doc = service.to_file(session, service.find_rule_set(session, ref=rule_set))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}.")


@app.command("score")
def score(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (YYYY-MM-DD)")],
    top: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Run every published rule over the declarations of a period; the highest scores first."""
    with from_settings().session() as session:
        view, result = service.score(session, actor=None, start=_day(start), end=_day(end))
    rows = sorted(result.scores.to_pylist(), key=lambda r: (-r["score"], r["declaration_id"]))
    lanes: dict[str, int] = {}
    for r in rows:
        lanes[r["lane"]] = lanes.get(r["lane"], 0) + 1
    if as_json:
        emit(
            {
                "declarations": view.num_rows,
                "hit": len(rows),
                "hits": result.hits.num_rows,
                "lanes": lanes,
                "top": rows[:top],
            },
            as_json=True,
        )
        return
    emit(
        [{**r, "rules": ", ".join(x.split("/")[-1] for x in r["rules"])} for r in rows[:top]],
        as_json=False,
        title=f"{len(rows):,} of {view.num_rows:,} declarations hit; lanes {lanes}",
        columns=["declaration_id", "score", "lane", "rules"],
    )
