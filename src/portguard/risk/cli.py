"""CLI for common risk criteria: check, import, backtest, publish, list, diff and export rule sets; score a period."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from sqlalchemy import select

from portguard.core.console import console, emit, err_console, progress_bar
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


# ---------------------------------------------------------------- learned targeting: `portguard model`, `select`

model_app = typer.Typer(help="Learned targeting: train, evaluate and list models.", no_args_is_help=True)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


@model_app.command("train")
def model_train(
    start: Annotated[str, typer.Option("--from", help="First day of the training window (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Day after the last; also the label cutoff")],
    org: Annotated[str, typer.Option(help="Owner organisation (id or name); its declarations and results")] = "",
    name: Annotated[str | None, typer.Option(help="A name for the model")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a LightGBM model on the control results of a window; it becomes the organisation's active model."""
    from portguard.risk import targeting

    if not org:
        raise typer.BadParameter("name the owner organisation with --org", param_hint="--org")
    with from_settings().session() as session:
        owner = sharing.find_org(session, ref=org).id
        with progress_bar() as progress:
            task = progress.add_task("training", total=3)

            def step(stage: str, done: int, total: int) -> None:
                progress.update(task, description=stage, completed=done, total=total)

            record = targeting.train(
                session, actor=None, owner_org_id=owner, start=_day(start), end=_day(end), name=name,
                on_progress=step,
            )  # fmt: skip
        out = _model_dict(record)
    if as_json:
        emit(out, as_json=True)
        return
    valid = out["metrics"]["valid"]
    console.print(
        f"[green]Trained[/] {out['id']} on {out['rows_train']:,} controlled declarations, validated on "
        f"{out['rows_valid']:,} (from {out['metrics']['valid_from']}): ROC-AUC {valid['roc_auc'] or 0:.3f}, "
        f"precision@5% {_pct(valid['precision@5%'])}, precision@10% {_pct(valid['precision@10%'])}."
    )


def _model_dict(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "owner_org_id": record.owner_org_id,
        "train_from": record.train_from.isoformat(),
        "train_to": record.train_to.isoformat(),
        "rows_train": record.rows_train,
        "rows_valid": record.rows_valid,
        "features": record.features,
        "metrics": record.metrics,
        "created_at": record.created_at.isoformat(),
    }


@model_app.command("list")
def model_list(as_json: JsonOpt = False) -> None:
    """Every model on record, newest first."""
    from portguard.risk.models import TargetingModel

    with from_settings().session() as session:
        rows = [
            _model_dict(m)
            for m in session.scalars(select(TargetingModel).order_by(TargetingModel.created_at.desc())).all()
        ]
    if as_json:
        emit(rows, as_json=True)
        return
    table = Table(title="Targeting models")
    for col in ("id", "name", "status", "owner", "window", "trained on", "ROC-AUC", "P@5%", "P@10%"):
        table.add_column(col, justify="right" if col in ("trained on", "ROC-AUC", "P@5%", "P@10%") else "left")
    for m in rows:
        valid = m["metrics"].get("valid", {})
        table.add_row(
            m["id"], m["name"], m["status"], m["owner_org_id"], f"{m['train_from'][:10]} – {m['train_to'][:10]}",
            f"{m['rows_train']:,}", f"{valid.get('roc_auc') or 0:.3f}", _pct(valid.get("precision@5%")),
            _pct(valid.get("precision@10%")),
        )  # fmt: skip
    console.print(table)


@model_app.command("evaluate")
def model_evaluate(
    dataset: Annotated[str, typer.Option(help="The public data set to evaluate on")] = "kcs",
    data: Annotated[Path | None, typer.Option(help="Folder of the KCS files (default: the shared data folder)")] = None,
    seeds: Annotated[int, typer.Option(min=1, max=20, help="Seeds to average over")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """The model on a public data set's official split (KCS: train 2020, valid 2021-Q1, test 2021-Q2), mean ± sd
    over seeds, with and without the mass and value features."""
    from portguard.core.settings import get_settings
    from portguard.risk import targeting

    if dataset != "kcs":
        raise typer.BadParameter("the public data set available is kcs", param_hint="--dataset")
    folder = data or get_settings().shared_data_dir / "customs-declarations"
    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=1)

        def step(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        result = targeting.evaluate_public_set(folder, seeds=seeds, on_progress=step)
    if as_json:
        emit(result, as_json=True)
        return
    console.print(_evaluation_table(result))


def _evaluation_table(result: dict[str, Any]) -> Table:
    rows = result["rows"]
    table = Table(
        title=f"{result['dataset']}\ntrain {rows['train']:,} · valid {rows['valid']:,} · test {rows['test']:,} "
        f"(test base rate {100 * result['base_rate_test']:.1f} %) · mean ± sd over {result['seeds']} seeds"
    )
    table.add_column("measure (test)")
    variants = result["variants"]
    for label, measures in variants.items():
        table.add_column(f"LightGBM, {label}\n({measures['features']} features)", justify="right")
    published = result["published"]
    table.add_column("published LightGBM\n(data-set paper)", justify="right", style="dim")
    table.add_column("goal\n(all / without)", justify="right", style="dim")
    keys = [
        "precision@1%", "precision@2%", "precision@5%", "precision@10%", "recall@1%", "recall@2%", "recall@5%",
        "recall@10%", "critical_recall@5%", "critical_recall@10%", "roc_auc",
    ]  # fmt: skip
    for key in keys:
        paper = published["LightGBM, data-set paper"].get(key)
        goals = [published["goal"].get(key), published["goal without mass and value"].get(key)]
        table.add_row(
            key.replace("_", " "),
            *(f"{m[key]['mean']:.3f} ± {m[key]['sd']:.3f}" for m in variants.values()),
            "" if paper is None else f"{paper:.3f}",
            " / ".join(f"{g:.2f}" for g in goals) if goals[0] is not None else "",
        )
    return table


def select_command(
    day: Annotated[str, typer.Option("--date", help="The day whose declarations are selected (YYYY-MM-DD)")],
    office: Annotated[str, typer.Option(help="Customs office of lodgement")],
    capacity: Annotated[int, typer.Option(min=1, max=10_000, help="Controls the office can do that day")],
    as_user: Annotated[str, typer.Option("--as", help="Username of the analyst or officer selecting")],
    exploration: Annotated[
        float | None, typer.Option(min=0.0, max=0.5, help="Share kept for exploration (default: the office's)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Select what to control within the day's capacity: red-lane rules, campaign minimums, exploration, then the
    model's ranking. Creates a control order for each pick."""
    from portguard.risk import targeting

    with from_settings().session() as session:
        actor = sharing.principal_for(session, username=as_user)
        with console.status(f"scoring {office} on {day}"):
            run = targeting.select(
                session, actor=actor, day=_day(day), office=office, capacity=capacity, exploration=exploration
            )
        out = {
            "id": run.id, "office": run.office, "day": run.day.date().isoformat(), "capacity": run.capacity,
            "exploration": run.exploration, "declarations": run.declarations, "model_id": run.model_id,
            "counts": run.counts, "items": run.items,
        }  # fmt: skip
    if as_json:
        emit(out, as_json=True)
        return
    table = Table(title=f"Selection {out['id']}: {office} on {out['day']}, {len(out['items'])} of capacity {capacity}")
    for col in ("#", "declaration", "reason", "score", "lane", "rules", "order"):
        table.add_column(col, justify="right" if col in ("#", "score") else "left")
    for n, item in enumerate(out["items"], start=1):
        table.add_row(
            str(n), item["declaration_id"].split(":", 1)[-1], item["reason"],
            "" if item["score"] is None else f"{item['score']:.3f}", item["lane"] or "",
            ", ".join(r.rsplit("/", 1)[-1] for r in item["rules"]), item["order_id"] or "",
        )  # fmt: skip
    console.print(table)
    counts = ", ".join(f"{v} {k}" for k, v in out["counts"].items() if v)
    console.print(f"{out['declarations']:,} declarations lodged; selected: {counts or 'none'}.")
