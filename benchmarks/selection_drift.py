"""Selecting for control with the learned model, week by week, when labels come only from what was selected.

The data: the public Korea Customs Service set (`../shared/data/customs-declarations/`, 54,000 declarations,
2020-01..2021-06, every row labelled), loaded into a scratch SQLite store with `declarations.service.ingest
(format="kcs")` and read once (`features.read_raw`). Weeks run Monday to Sunday over the lodging date (79 weeks).

The protocol, per strategy, scenario and seed:

* **warm-up**: the first `--warmup-weeks` weeks (default 4: 2019-12-30..2020-01-26) are controlled at random: the
  labels of a random `--budget` share of each week's declarations are revealed, so that a first model exists;
* **every following week W**: W's declarations get their features from `learning.build_frame(label_cutoff=start
  of W)` over a store whose control results are the revealed labels only; the current model scores them; the
  strategy selects `--budget` (10 %) of them; their labels are revealed; the model is retrained with
  `learning.fit` on every label revealed so far, and the next week starts. By default nothing is held out
  (`--valid-weeks 0`: `fit` then trains 300 rounds, uncalibrated), so that the newest labels train the next
  model; `--valid-weeks N` holds the last N weeks' labels out for early stopping and isotonic calibration. A
  training row keeps the features it was scored with (point in time: the history known at the start of its week).
  The model is retrained every week with the house parameters (`learning.PARAMS`); `--quick` uses cheaper ones.

Strategies (`select`): `exploit` (the budget's top scores), `random-10` (90 % of the budget exploit, 10 % uniformly
at random among the rest), `uncertainty-10` (90 % exploit, 10 % nearest the decision boundary among the rest: the
smallest |p - 0.5|, i.e. the largest Bernoulli variance p(1 - p) of the model's probability), `mixed-10` (90 %
exploit, 5 % uncertainty, 5 % random). Equal probabilities are ordered by the booster's raw score, then at random.

Scenarios: `none` (the labels as published) and `shift`, a new fraud pattern from the middle of the period (the
Monday of the week of the median lodging date) on: each declaration of one HS chapter × country of origin becomes
a fraud with probability `--shift-rate` (80 %). The pair is chosen from the data: the lowest first-half fraud rate
among pairs with at least `--shift-min-share` of the second half's declarations and 100 in the first half (or
`--shift-pair`). The shifted labels are what the simulation reveals and what the perfect selector knows.

Measured over the weeks after the warm-up, and over the second half alone (where the shift lives): precision of the
selections and recall (share of the weeks' frauds selected), and both normalised by a perfect selector with the
same weekly budget (it catches min(frauds, budget) each week). Totals are summed over weeks (caught / perfect
caught); with equal budgets normalised precision and normalised recall are the same number, shown once ("norm.");
"norm. wk" is the mean of the weekly ratios. "expl. P" is the precision of the exploration picks alone, "segment"
the recall of the shifted pair's frauds in the second half (in `none`, of the same pair's own frauds): where
exploit-only goes blind. Goal: norm. ≥ 0.65 under drift for the exploration strategies. Runs go in parallel
processes (`--workers`, default 2); the wall time is printed.

Run: `.venv/bin/python benchmarks/selection_drift.py [--budget 0.10] [--seeds 1] [--strategies exploit,random-10,
uncertainty-10,mixed-10] [--scenarios none,shift] [--valid-weeks 0] [--quick] [--weeks N] [--workers 2]`
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from portguard.core import migrate
from portguard.core.db import Database
from portguard.core.policy import OrgKind
from portguard.declarations import service
from portguard.risk import features, learning
from portguard.sharing.models import Organisation

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "customs-declarations"
FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv", "df_syn_test_eng.csv")
ORG = "org_kcs_drift"
GOAL = 0.65
BOUNDARY = 0.5  # the decision boundary of the uncertainty picks, on the model's probability

# strategy -> (share of the budget picked at random, share picked nearest the boundary); the rest is exploit
STRATEGIES: dict[str, tuple[float, float]] = {
    "exploit": (0.0, 0.0),
    "random-10": (0.10, 0.0),
    "uncertainty-10": (0.0, 0.10),
    "mixed-10": (0.05, 0.05),
}
SCENARIOS = ("none", "shift")
QUICK_PARAMS: dict[str, Any] = {"learning_rate": 0.1, "num_leaves": 31}  # over learning.PARAMS, for --quick
console = Console(width=160)


# ---------------------------------------------------------------------------------------------------- selection


def split_budget(budget: int, strategy: str) -> tuple[int, int, int]:
    """How many of `budget` picks are (exploit, random, uncertainty) for `strategy` (shares rounded half up)."""
    random_share, uncertainty_share = STRATEGIES[strategy]
    n_random = int(budget * random_share + 0.5)
    n_uncertain = int(budget * uncertainty_share + 0.5)
    return budget - n_random - n_uncertain, n_random, n_uncertain


def select(
    scores: np.ndarray,
    budget: int,
    strategy: str,
    rng: np.random.Generator,
    *,
    tiebreak: np.ndarray | None = None,
    boundary: float = BOUNDARY,
) -> np.ndarray:
    """Indices of the `budget` declarations (all of them if fewer) to control, without duplicates, in the order:
    exploit picks (highest `scores`), uncertainty picks (`scores` nearest `boundary` among the rest), random picks
    (uniform among what is left). Equal scores are ordered by `tiebreak` (higher first), then at random."""
    scores = np.asarray(scores, dtype="float64")
    n = len(scores)
    n_exploit, n_random, n_uncertain = split_budget(min(max(budget, 0), n), strategy)
    noise = rng.random(n)
    keys = (noise, -np.asarray(tiebreak, dtype="float64"), -scores) if tiebreak is not None else (noise, -scores)
    order = np.lexsort(keys)
    exploit, rest = order[:n_exploit], order[n_exploit:]
    uncertain = rest[np.lexsort((noise[rest], np.abs(scores[rest] - boundary)))[:n_uncertain]]
    left = np.setdiff1d(rest, uncertain)  # sorted, so the draw depends only on the rng
    picked = rng.choice(left, size=n_random, replace=False) if n_random else np.empty(0, dtype=np.int64)
    return np.concatenate([exploit, uncertain, picked]).astype(np.int64)


# ---------------------------------------------------------------------------------------------------- the shift


def monday(when: pd.Timestamp | datetime) -> pd.Timestamp:
    """00:00 UTC of the Monday of the week of `when`."""
    ts = pd.Timestamp(when)
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return (ts - pd.Timedelta(days=ts.weekday())).normalize()


def choose_pair(
    truth: pd.DataFrame, *, middle: pd.Timestamp, min_share: float, min_rows: int = 100
) -> tuple[str, str, float, float]:
    """(chapter, origin, first-half fraud rate, second-half share of declarations) of the pair with the lowest
    fraud rate before `middle` among those with `min_rows` declarations before it and `min_share` of the ones after.
    `truth` has columns lodged_at, hs_chapter, origin, fraud."""
    first = truth["lodged_at"] < middle
    known = truth["hs_chapter"].notna() & truth["origin"].notna()
    before = truth[first & known].groupby(["hs_chapter", "origin"])["fraud"].agg(["size", "mean"])
    after = truth[~first & known].groupby(["hs_chapter", "origin"]).size() / max(1, int((~first).sum()))
    table = before.join(after.rename("share"), how="inner")
    table = table[(table["size"] >= min_rows) & (table["share"] >= min_share)]
    if table.empty:
        raise ValueError(f"no HS chapter × origin has {min_share:.1%} of the second half and {min_rows} rows before")
    (chapter, origin), row = next(iter(table.sort_values(["mean", "share"], ascending=[True, False]).iterrows()))
    return str(chapter), str(origin), float(row["mean"]), float(row["share"])


def inject_shift(
    truth: pd.DataFrame,
    *,
    chapter: str,
    origin: str,
    start: pd.Timestamp,
    rate: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A copy of `truth` (columns lodged_at, hs_chapter, origin, fraud, critical) in which every declaration of
    `chapter` × `origin` lodged at or after `start` becomes a fraud with probability `rate`. Adds `segment` (the
    pair from `start` on) and `relabelled` (a non-fraud there made a fraud)."""
    out = truth.copy()
    pair = (out["hs_chapter"] == chapter) & (out["origin"] == origin)
    segment = (pair & (out["lodged_at"] >= start)).to_numpy(dtype=bool)
    hit = segment & (rng.random(len(out)) < rate)
    fraud = out["fraud"].to_numpy(dtype="int64")
    out["relabelled"] = hit & (fraud == 0)
    out["fraud"] = np.where(hit, 1, fraud)
    out["segment"] = segment
    return out


# ---------------------------------------------------------------------------------------------------- simulation


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every run shares: the store's rows, the weeks, and the ground truth of each scenario and seed."""

    raw: features.Raw
    weeks: list[datetime]  # week starts, and the end of the last week
    week_of: np.ndarray  # per truth row, the index of its week
    truths: dict[tuple[str, int], pd.DataFrame]  # (scenario, seed) -> truth, in build_frame's row order
    second_half: int  # index of the first week of the second half
    budget: float
    warmup_weeks: int
    valid_weeks: int
    params: dict[str, Any]  # for learning.fit, over learning.PARAMS


_SETUP: Setup | None = None
_PROGRESS: Any = None


def _init_worker(setup: Setup, progress: Any) -> None:
    global _SETUP, _PROGRESS
    _SETUP, _PROGRESS = setup, progress


def _results_table(truth: pd.DataFrame, revealed: np.ndarray) -> pa.Table:
    """The control results of the revealed declarations, as the store would hold them."""
    rows = truth[revealed]
    fraud = rows["fraud"].to_numpy(dtype=bool)
    return pa.table(
        {
            "declaration_id": pa.array(rows["declaration_id"].tolist(), pa.string()),
            "outcome": pa.array(np.where(fraud, "irregularity", "no_finding").tolist(), pa.string()),
            "recorded_at": pa.array(rows["recorded_at"], pa.timestamp("us", tz="UTC")),
            "critical": pa.array(rows["critical"].to_numpy(dtype=bool) & fraud, pa.bool_()),
        }
    )


def _concat(frames: Sequence[learning.Frame]) -> learning.Frame:
    """One `learning.Frame` of several (the training rows of several weeks)."""
    return learning.Frame(
        ids=[i for f in frames for i in f.ids],
        lodged_at=np.concatenate([f.lodged_at for f in frames]),
        office=np.concatenate([f.office for f in frames]),
        X=pd.concat([f.X for f in frames], ignore_index=True),
        controlled=np.concatenate([f.controlled for f in frames]),
        y=np.concatenate([f.y for f in frames]),
        critical=np.concatenate([f.critical for f in frames]),
        medians=frames[-1].medians,
    )


def _split(
    labelled: Sequence[tuple[int, learning.Frame]], *, valid_weeks: int
) -> tuple[learning.Frame, learning.Frame]:
    """(train, valid) frames of the weekly labelled rows: the last `valid_weeks` weeks validate when at least as
    many weeks come before them, else everything trains and nothing validates."""
    last = labelled[-1][0]
    cut = last + 1 - valid_weeks
    if valid_weeks <= 0 or sum(week < cut for week, _ in labelled) < valid_weeks:
        train = _concat([f for _, f in labelled])
        return train, train.take(np.zeros(len(train), dtype=bool))
    return _concat([f for week, f in labelled if week < cut]), _concat([f for week, f in labelled if week >= cut])


def simulate(strategy: str, scenario: str, seed: int) -> list[dict[str, Any]]:
    """One run: a record per week after the warm-up (declarations, budget, frauds, caught, segment counts)."""
    setup = _SETUP
    assert setup is not None
    truth = setup.truths[(scenario, seed)]
    fraud = truth["fraud"].to_numpy(dtype="int64")
    critical = truth["critical"].to_numpy(dtype=bool)
    segment = truth["segment"].to_numpy(dtype=bool)
    ids = truth["declaration_id"].tolist()
    revealed = np.zeros(len(truth), dtype=bool)
    warmup_rng = np.random.default_rng([seed, 0])  # the same warm-up for every strategy and scenario
    rng = np.random.default_rng([seed, 1])
    labelled: list[tuple[int, learning.Frame]] = []  # (week, the week's revealed rows as a Frame)
    model = None
    records: list[dict[str, Any]] = []
    for w, (start, end) in enumerate(zip(setup.weeks[:-1], setup.weeks[1:], strict=True)):
        rows = np.flatnonzero(setup.week_of == w)
        raw = dataclasses.replace(setup.raw, results=_results_table(truth, revealed))
        frame = learning.build_frame(raw, start=start, end=end, label_cutoff=start)
        if frame.ids != [ids[i] for i in rows]:
            raise RuntimeError(f"week {start:%Y-%m-%d}: frame rows differ from the truth's")
        budget = max(1, round(setup.budget * len(rows)))
        if model is None:
            picks = warmup_rng.choice(len(rows), size=min(budget, len(rows)), replace=False)
        else:
            scores = model.predict(frame.X)
            picks = select(scores, budget, strategy, rng, tiebreak=model.raw_score(frame.X))
            y, seg = fraud[rows], segment[rows]
            explore = picks[split_budget(len(picks), strategy)[0] :]
            records.append(
                {
                    "week": w,
                    "second_half": w >= setup.second_half,
                    "declarations": len(rows),
                    "budget": len(picks),
                    "frauds": int(y.sum()),
                    "caught": int(y[picks].sum()),
                    "perfect": min(int(y.sum()), len(picks)),
                    "segment_frauds": int((y & seg).sum()),
                    "segment_caught": int((y & seg)[picks].sum()),
                    "explore": len(explore),
                    "explore_caught": int(y[explore].sum()),
                }
            )
        revealed[rows[picks]] = True
        chosen = np.zeros(len(rows), dtype=bool)
        chosen[picks] = True
        taken = frame.take(chosen)
        taken.controlled = np.ones(len(taken), dtype=bool)
        taken.y = fraud[rows][chosen]
        taken.critical = critical[rows][chosen] & (taken.y == 1)
        labelled.append((w, taken))
        if w + 1 >= setup.warmup_weeks:
            train, valid = _split(labelled, valid_weeks=setup.valid_weeks)
            model = learning.fit(train, valid, seed=seed, params=setup.params)
        if _PROGRESS is not None:
            _PROGRESS.put((strategy, scenario, seed))
    return records


# ---------------------------------------------------------------------------------------------------- measures


def summarise(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Totals of weekly records: precision, recall, their perfect values and the normalised score."""
    sums = {k: sum(int(r[k]) for r in records) for k in ("budget", "frauds", "caught", "perfect",
                                                         "segment_frauds", "segment_caught", "explore",
                                                         "explore_caught")}  # fmt: skip
    weekly = [r["caught"] / r["perfect"] for r in records if r["perfect"]]
    return {
        **sums,
        "weeks": len(records),
        "precision": sums["caught"] / sums["budget"] if sums["budget"] else float("nan"),
        "recall": sums["caught"] / sums["frauds"] if sums["frauds"] else float("nan"),
        "perfect_precision": sums["perfect"] / sums["budget"] if sums["budget"] else float("nan"),
        "perfect_recall": sums["perfect"] / sums["frauds"] if sums["frauds"] else float("nan"),
        "norm": sums["caught"] / sums["perfect"] if sums["perfect"] else float("nan"),
        "norm_weekly": float(np.mean(weekly)) if weekly else float("nan"),
        "segment": sums["segment_caught"] / sums["segment_frauds"] if sums["segment_frauds"] else float("nan"),
        "explore_precision": sums["explore_caught"] / sums["explore"] if sums["explore"] else float("nan"),
    }


def _fmt(values: Sequence[float], digits: int = 3) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


# ---------------------------------------------------------------------------------------------------- main


def load(workdir: Path) -> features.Raw:
    """The public set in a scratch SQLite store, read back as `features.Raw`."""
    db = Database(f"sqlite:///{workdir / 'drift.db'}")
    migrate.upgrade(db.engine)
    with db.session() as s:
        s.add(Organisation(id=ORG, name="Korea Customs (drift benchmark)", kind=OrgKind.CUSTOMS_AUTHORITY.value,
                           country="KR"))  # fmt: skip
    with db.session() as s:
        for name in FILES:
            report = service.ingest(s, actor=None, owner_org_id=ORG, path=DATA / name, format="kcs")
            if report.status != "committed":
                raise SystemExit(f"ingest of {name} did not commit: {report.status}, {report.errors[:3]}")
    with db.session() as s:
        raw = features.read_raw(s, actor=None, end=datetime(2100, 1, 1, tzinfo=UTC), roles=learning.PARTY_ROLES)
    db.dispose()
    # the column types `assemble` casts to on every call (through Python lists when they differ), once
    return features.Raw(
        declarations=features._typed(raw.declarations, features.DECLARATION_TYPES),
        goods=features._typed(raw.goods, features.GOODS_TYPES),
        containers=features._typed(raw.containers, {"declaration_id": pa.string(), "containers": pa.int64()}),
        parties=features._typed(raw.parties, features.PARTY_TYPES),
        results=features._typed(raw.results, features.RESULT_TYPES),
    )


def base_truth(raw: features.Raw) -> pd.DataFrame:
    """Every declaration in `build_frame`'s row order with its chapter, origin, label and recording time."""
    lodged = raw.declarations.column("lodged_at").to_pandas()
    start, end = monday(lodged.min()).to_pydatetime(), (monday(lodged.max()) + pd.Timedelta(days=7)).to_pydatetime()
    frame = learning.build_frame(raw, start=start, end=end, label_cutoff=start)
    recorded = dict(
        zip(raw.results.column("declaration_id").to_pylist(), raw.results.column("recorded_at").to_pylist(),
            strict=True)
    )  # fmt: skip
    return pd.DataFrame(
        {
            "declaration_id": frame.ids,
            "lodged_at": pd.to_datetime(frame.lodged_at).tz_localize(UTC),
            "recorded_at": [recorded[i] for i in frame.ids],
            "hs_chapter": frame.X["hs_chapter"].to_numpy(dtype=object),
            "origin": frame.X["origin"].to_numpy(dtype=object),
            "fraud": frame.y,
            "critical": frame.critical,
        }
    )


def _csv(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in allowed]
    if unknown or not items:
        raise SystemExit(f"unknown {what} {', '.join(unknown) or '(none)'}: choose from {', '.join(allowed)}")
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=0.10, help="share of each week's declarations controlled")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the random parts (0, 1, ...)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--warmup-weeks", type=int, default=4, help="weeks controlled at random before a model")
    parser.add_argument(
        "--valid-weeks", type=int, default=0, help="recent weeks' labels for early stopping and calibration (0: none)"
    )
    parser.add_argument("--shift-rate", type=float, default=0.8)
    parser.add_argument("--shift-min-share", type=float, default=0.0075, help="of the second half's declarations")
    parser.add_argument("--shift-pair", help="CHAPTER:ORIGIN instead of the chosen pair, e.g. 20:CN")
    parser.add_argument("--weeks", type=int, default=0, help="only the first N weeks (0: all)")
    parser.add_argument("--quick", action="store_true", help=f"cheaper boosting: {QUICK_PARAMS}")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="runs in parallel")
    args = parser.parse_args()
    strategies = _csv(args.strategies, list(STRATEGIES), "strategy")
    scenarios = _csv(args.scenarios, SCENARIOS, "scenario")
    if not DATA.is_dir():
        sys.exit(f"the public KCS set is not at {DATA.name} beside the repository (../shared/data/...)")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, console.status("loading the public set into a scratch store"):
        raw = load(Path(tmp))
        truth = base_truth(raw)
    lodged_at = truth["lodged_at"]
    week_start = lodged_at.dt.normalize() - pd.to_timedelta(lodged_at.dt.day_of_week, unit="D")
    weeks_ts = sorted(week_start.unique())
    middle = monday(truth["lodged_at"].sort_values().iloc[len(truth) // 2])
    second_half = int(np.searchsorted(np.array([ts.value for ts in weeks_ts]), middle.value))
    if args.weeks:
        weeks_ts = weeks_ts[: args.weeks]
    week_index = {ts: i for i, ts in enumerate(weeks_ts)}
    week_of = week_start.map(week_index).fillna(-1).to_numpy(dtype=np.int64)
    weeks = [ts.to_pydatetime() for ts in weeks_ts] + [(weeks_ts[-1] + pd.Timedelta(days=7)).to_pydatetime()]
    if args.shift_pair:
        chapter, origin = args.shift_pair.split(":")
        first = truth["lodged_at"] < middle
        pair = (truth["hs_chapter"] == chapter) & (truth["origin"] == origin)
        rate, share = float(truth.loc[first & pair, "fraud"].mean()), float(pair[~first].mean())
    else:
        chapter, origin, rate, share = choose_pair(truth, middle=middle, min_share=args.shift_min_share)
    truths: dict[tuple[str, int], pd.DataFrame] = {}
    for seed in range(args.seeds):
        for scenario in scenarios:
            rng = np.random.default_rng([seed, 2])
            truths[(scenario, seed)] = inject_shift(truth, chapter=chapter, origin=origin, start=middle,
                                                    rate=args.shift_rate if scenario == "shift" else 0.0,
                                                    rng=rng)  # fmt: skip
    base_rate = float(truth.loc[truth["lodged_at"] < middle, "fraud"].mean())
    shifted = truths[("shift", 0)] if "shift" in scenarios else None
    console.print(
        f"{len(truth):,} declarations in {len(weeks_ts)} weeks "
        f"({weeks[0]:%Y-%m-%d}..{weeks[-1] - pd.Timedelta(days=1):%Y-%m-%d}); "
        f"fraud rate {truth['fraud'].mean():.1%}. Warm-up: the first {args.warmup_weeks} weeks "
        f"({weeks[0]:%Y-%m-%d}..{weeks[min(args.warmup_weeks, len(weeks) - 1)] - pd.Timedelta(days=1):%Y-%m-%d}) "
        f"controlled at random ({args.budget:.0%} of each week's declarations, labels revealed), then the model "
        f"selects {args.budget:.0%} a week and is retrained weekly on every revealed label"
        + (
            f" (last {args.valid_weeks} weeks' labels for early stopping and calibration)."
            if args.valid_weeks
            else " (nothing held out: 300 rounds, uncalibrated)."
        )
    )
    console.print(
        f"Second half from {middle:%Y-%m-%d} (week {second_half + 1}). Shift: HS chapter {chapter} × origin "
        f"{origin}, first-half fraud rate {rate:.1%} (all {base_rate:.1%}), {share:.2%} of the second half's "
        f"declarations, each a fraud with probability {args.shift_rate:.0%} from {middle:%Y-%m-%d}"
        + (
            f": {int(shifted['relabelled'].sum())} relabelled, {int((shifted['fraud'] * shifted['segment']).sum())} "
            f"frauds in the segment."
            if shifted is not None
            else "."
        )
    )
    workers = max(1, args.workers)
    params: dict[str, Any] = dict(QUICK_PARAMS) if args.quick else {}
    params["num_threads"] = max(1, (os.cpu_count() or 1) // workers)  # no oversubscription of the cores
    setup = Setup(
        raw=raw, weeks=weeks, week_of=week_of, truths=truths, second_half=second_half, budget=args.budget,
        warmup_weeks=args.warmup_weeks, valid_weeks=args.valid_weeks, params=params,
    )  # fmt: skip
    runs = [(st, sc, seed) for seed in range(args.seeds) for sc in scenarios for st in strategies]
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} weeks"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
        ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(setup, progress_queue),
        ) as pool,
    ):
        tasks = {run: progress.add_task(f"{run[0]:<15} {run[1]:<6} seed {run[2]}", total=len(weeks_ts)) for run in runs}
        futures: dict[Future, tuple[str, str, int]] = {pool.submit(simulate, *run): run for run in runs}
        while len(results) < len(runs):
            with contextlib.suppress(queue.Empty):
                progress.advance(tasks[progress_queue.get(timeout=0.5)])
            for future, run in futures.items():
                if run not in results and future.done():
                    results[run] = future.result()  # raises what the run raised
    report(results, strategies=strategies, scenarios=scenarios, seeds=args.seeds, args=args)
    console.print(f"wall time {time.perf_counter() - began:,.0f} s ({workers} workers)")


def report(
    results: Mapping[tuple[str, str, int], list[dict[str, Any]]],
    *,
    strategies: Sequence[str],
    scenarios: Sequence[str],
    seeds: int,
    args: argparse.Namespace,
) -> None:
    title = (
        f"Selection under drift, KCS public set: {args.budget:.0%} a week, retrained weekly"
        + (" (quick boosting)" if args.quick else "")
        + (f", {seeds} seeds (mean ± sd)" if seeds > 1 else "")
    )
    table = Table(title=title)
    columns = ("scenario", "strategy", "weeks", "selected", "frauds", "caught", "precision", "recall",
               "perfect P", "perfect R", "norm.", "norm. wk", "expl. P", "segment")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "strategy", "weeks") else "right")
    norms: dict[tuple[str, str, str], list[float]] = {}
    for scenario in scenarios:
        for period, label in (("all", "after warm-up"), ("second", "second half")):
            for strategy in strategies:
                sums = []
                for seed in range(seeds):
                    records = results[(strategy, scenario, seed)]
                    sums.append(summarise([r for r in records if period == "all" or r["second_half"]]))
                norms[(scenario, period, strategy)] = [s["norm"] for s in sums]
                table.add_row(
                    scenario, strategy, label, f"{np.mean([s['budget'] for s in sums]):,.0f}",
                    f"{np.mean([s['frauds'] for s in sums]):,.0f}", f"{np.mean([s['caught'] for s in sums]):,.0f}",
                    *(_fmt([s[k] for s in sums]) for k in ("precision", "recall", "perfect_precision",
                                                           "perfect_recall", "norm", "norm_weekly")),
                    _fmt([s["explore_precision"] for s in sums]) if STRATEGIES[strategy] != (0.0, 0.0) else "",
                    _fmt([s["segment"] for s in sums]) if period == "second" else "",
                )  # fmt: skip
            table.add_section()
    console.print(table)
    console.print(
        "norm. = caught / what a perfect selector with the same weekly budgets catches (= normalised precision = "
        "normalised recall); norm. wk = mean of the weekly ratios; expl. P = precision of the exploration picks; "
        "segment = share of the shifted pair's second-half frauds selected (in none: the pair's own frauds)."
    )
    drift = "shift" if "shift" in scenarios else None
    explorers = [s for s in strategies if s != "exploit"]
    if drift is None or not explorers:
        console.print("Goal (norm. ≥ 0.65 under drift for the exploration strategies): not measured in this run.")
        return
    measured = {s: float(np.mean(norms[(drift, "all", s)])) for s in explorers}
    second = {s: float(np.mean(norms[(drift, "second", s)])) for s in explorers}
    met = all(v >= GOAL for v in measured.values())
    numbers = ", ".join(f"{s} {measured[s]:.3f} (second half {second[s]:.3f})" for s in explorers)
    exploit = (
        f"; exploit {np.mean(norms[(drift, 'all', 'exploit')]):.3f}"
        f" (second half {np.mean(norms[(drift, 'second', 'exploit')]):.3f})"
        if "exploit" in strategies
        else ""
    )
    console.print(
        f"Goal normalised precision ≥ {GOAL} under drift for the exploration strategies: "
        f"{'MET' if met else 'NOT MET'}: {numbers}{exploit}."
    )


if __name__ == "__main__":
    main()
