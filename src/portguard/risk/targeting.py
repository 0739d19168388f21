"""Learned targeting in the store: train and keep models, score and explain declarations, select within capacity.

Why its own module: `service.py` is the common risk criteria (rules, backtests, publication); this is what an
office does with them every day — a model trained on its control results (`learning.py`), and the selection of
what to control within the day's capacity, which makes the control orders whose results train the next model.

Selection (`select`), for one office and day, in this order, every pick with its reason:

1. **red-lane rule hits** (published rules asking for a physical inspection);
2. **priority control areas**: for each campaign in force with a minimum control rate, enough of its hits to
   reach that rate;
3. **exploration**: a share of the capacity (default 10 %, per office: `SelectionSetting`) for declarations the
   model would not pick — half uniformly at random, half the most uncertain (probability nearest 0.5). Without
   it a model only ever learns from its own choices and misses a new modus operandi (the drift benchmark);
4. **the model's ranking** (calibrated probability of a finding) for the rest; without a model, the rules' score.

The model is the active one of the acting organisation (`TargetingModel.status == "active"`). Scores use only
what was known at the start of the day (control results recorded before it).
"""

from __future__ import annotations

import json
import math
import random
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from portguard.controls import service as controls
from portguard.controls.models import ControlKind, ControlOrder, ControlOrderIn, ReasonKind
from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, midnight, utcnow
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Principal, can, require_permission, visible_filter
from portguard.risk import engine, features, learning, service
from portguard.risk.models import SelectionRun, SelectionSetting, TargetingModel
from portguard.substances import service as substances
from portguard.substances.models import ScreenDeclarationsIn

DEFAULT_EXPLORATION = 0.10
VALID_SHARE = 0.15  # the newest controlled declarations of a training window: early stopping and calibration
KCS_FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv", "df_syn_test_eng.csv")
KCS_SPLIT = (
    datetime(2020, 1, 1, tzinfo=UTC),
    datetime(2021, 1, 1, tzinfo=UTC),  # train | valid
    datetime(2021, 4, 1, tzinfo=UTC),  # valid | test
    datetime(2021, 7, 1, tzinfo=UTC),
)
LANE_CONTROL = {  # the control a rule lane asks for
    "red": ControlKind.PHYSICAL,
    "scan": ControlKind.SCAN,
    "yellow": ControlKind.DOCUMENTARY,
    "blue": ControlKind.DOCUMENTARY,
    "notify": ControlKind.DOCUMENTARY,
}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _noop(stage: str, done: int, total: int) -> None:
    return None


# ---------------------------------------------------------------------------------------------------- training


def _published(session: Session, actor: Principal | None) -> tuple[list[engine.ActiveRule], dict[str, list[str]]]:
    return service.runnable(service.published_rules(session, actor=actor))


def train(
    session: Session,
    *,
    actor: Principal | None,
    start: datetime,
    end: datetime,
    owner_org_id: str | None = None,
    name: str | None = None,
    seed: int = 0,
    on_progress: Progress = _noop,
) -> TargetingModel:
    """Train a model on the controlled declarations lodged in [start, end) that the actor may read, keep it on
    record as the owner's active model (the previous one is retired) and return it."""
    require_permission(actor, "model:write")
    owner = actor.org_id if actor is not None else owner_org_id
    if not owner:
        raise InvalidInput("a model needs an owner organisation")
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InvalidInput("the training window is empty: --to must be after --from", field="to")
    on_progress("reading declarations and control results", 0, 3)
    raw = features.read_raw(session, actor=actor, end=end, roles=learning.PARTY_ROLES, justification="model training")
    rules, lists = _published(session, actor)
    on_progress("building features", 1, 3)
    frame = learning.build_frame(raw, start=start, end=end, label_cutoff=end, rules=rules, watch_lists=lists)
    controlled = frame.take(frame.controlled)
    if len(controlled) < 50:
        raise InvalidInput(
            f"{len(controlled)} controlled declarations in the window; a model needs at least 50 control results"
        )
    # rows come in (lodged_at, id) order: split by position, so that ties in time (the KCS set has dates only)
    # cannot leave one side empty
    position = np.arange(len(controlled))
    k = int(len(controlled) * (1 - VALID_SHARE))
    cut = controlled.lodged_at[k]
    train_rows, valid_rows = controlled.take(position < k), controlled.take(position >= k)
    on_progress("training LightGBM", 2, 3)
    try:
        model = learning.fit(train_rows, valid_rows, seed=seed)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    score = model.predict(valid_rows.X)
    metrics = {
        "valid": learning.measures(valid_rows.y, valid_rows.critical, score),
        "curve": learning.precision_curve(valid_rows.y, score),
        "importance": [[f, round(g, 1)] for f, g in model.importance()[:20]],
        "base_rate": float(controlled.y.mean()),
        "controlled": len(controlled),
        "declarations": len(frame),
        "valid_from": str(cut)[:10],
        "best_iteration": model.best_iteration,
    }
    for old in session.scalars(
        sql_select(TargetingModel).where(TargetingModel.owner_org_id == owner, TargetingModel.status == "active")
    ):
        old.status = "retired"
    record = TargetingModel(
        id=new_id("mdl"),
        name=name or f"{start.date()}..{end.date()}",
        status="active",
        train_from=start,
        train_to=end,
        rows_train=len(train_rows),
        rows_valid=len(valid_rows),
        features=model.features,
        metrics=json.loads(learning.dumps(metrics)),
        artefact=learning.dumps(model.to_dict()),
        created_by=actor.user_id if actor else None,
        created_at=utcnow(),
        owner_org_id=owner,
    )
    session.add(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="targeting_model",
        object_id=record.id,
        detail={"from": str(start), "to": str(end), "controlled": len(controlled), "auc": metrics["valid"]["roc_auc"]},
    )
    on_progress("done", 3, 3)
    return record


def list_models(session: Session, *, actor: Principal) -> list[TargetingModel]:
    """The models the actor may read, newest first."""
    require_permission(actor, "model:read")
    query = sql_select(TargetingModel).where(visible_filter(actor, TargetingModel, justification="targeting"))
    return list(session.scalars(query.order_by(TargetingModel.created_at.desc())).all())


def get_model(session: Session, *, actor: Principal | None, model_id: str) -> TargetingModel:
    """One model, or NotFound when it does not exist or the actor may not read it; audited."""
    record = session.get(TargetingModel, model_id)
    if record is None:
        raise NotFound(f"no model {model_id}")
    if actor is not None:
        audit.consult_one(session, actor=actor, record=record, object_type="model", justification="targeting")
    return record


def active_model(session: Session, *, org_id: str) -> TargetingModel | None:
    """The organisation's active model."""
    return session.scalar(
        sql_select(TargetingModel)
        .where(TargetingModel.owner_org_id == org_id, TargetingModel.status == "active")
        .order_by(TargetingModel.created_at.desc())
        .limit(1)
    )


def _loaded(record: TargetingModel) -> learning.Model:
    return learning.Model.from_dict(json.loads(record.artefact))


# ---------------------------------------------------------------------------------------------------- scoring


@dataclass
class Scored:
    """A day's declarations with the active model's probability (None without a model) and the rules' hits."""

    frame: learning.Frame
    probability: np.ndarray | None
    lanes: dict[str, str]  # declaration id -> most demanding lane of its hits
    model: TargetingModel | None
    loaded: learning.Model | None = None

    def take(self, mask: np.ndarray) -> Scored:
        """The declarations where `mask` is true."""
        probability = None if self.probability is None else self.probability[mask]
        return Scored(self.frame.take(mask), probability, self.lanes, self.model, self.loaded)


def score_period(
    session: Session,
    *,
    actor: Principal | None,
    org_id: str,
    start: datetime,
    end: datetime,
    office: str | None = None,
) -> Scored:
    """Score the declarations lodged in [start, end) (at `office`) with the organisation's active model, using what
    was known at `start`."""
    start, end = as_utc(start), as_utc(end)
    record = active_model(session, org_id=org_id)
    raw = features.read_raw(session, actor=actor, end=end, roles=learning.PARTY_ROLES, justification="targeting")
    rules, lists = _published(session, actor)
    loaded = _loaded(record) if record is not None else None
    frame = learning.build_frame(
        raw,
        start=start,
        end=end,
        label_cutoff=start,
        rules=rules,
        watch_lists=lists,
        medians=loaded.medians if loaded is not None else None,
    )
    if office is not None:
        frame = frame.take(frame.office == office)
    probability = loaded.predict(frame.X) if loaded is not None and len(frame) else None
    lanes = {decl_id: lane for decl_id, lane in zip(frame.ids, frame.lanes, strict=True) if lane}
    return Scored(frame, probability, lanes, record, loaded)


def explain_declaration(
    session: Session, *, actor: Principal, declaration_id: str, top: int = 6
) -> dict[str, Any] | None:
    """The active model's score of one declaration and the features that moved it most (None without a model
    or when the actor may not read the declaration or models)."""
    from portguard.declarations.models import Declaration

    decl = session.get(Declaration, declaration_id)
    if decl is None or not actor.has("model:read") or not can(actor, Action.READ, decl, justification="targeting"):
        return None
    record = active_model(session, org_id=actor.org_id)
    if record is None:
        return None
    lodged = as_utc(decl.lodged_at)
    scored = score_period(session, actor=actor, org_id=actor.org_id, start=lodged, end=lodged + timedelta(seconds=1))
    mask = np.array([i == declaration_id for i in scored.frame.ids])
    if not mask.any() or scored.loaded is None:
        return None
    row = scored.frame.take(mask)
    assert scored.probability is not None
    contributions = scored.loaded.explain(row.X, top=top)[0]
    return {
        "model_id": record.id,
        "model_name": record.name,
        "probability": float(scored.probability[mask][0]),
        "contributions": [c.__dict__ for c in contributions],
        "rules": row.rule_ids[0] if row.rule_ids else [],
    }


# ---------------------------------------------------------------------------------------------------- selection


def exploration_share(session: Session, *, org_id: str, office: str) -> float:
    """The office's exploration share (default 10 %)."""
    setting = session.get(SelectionSetting, (org_id, office))
    return setting.exploration if setting is not None else DEFAULT_EXPLORATION


def set_exploration(session: Session, *, actor: Principal, office: str, share: float) -> SelectionSetting:
    """Set an office's exploration share for the actor's organisation."""
    require_permission(actor, "model:write")
    if not 0.0 <= share <= 0.5:
        raise InvalidInput("the exploration share is between 0 and 0.5", field="exploration")
    setting = session.get(SelectionSetting, (actor.org_id, office))
    if setting is None:
        setting = SelectionSetting(owner_org_id=actor.org_id, office=office)
        session.add(setting)
    setting.exploration, setting.updated_by, setting.updated_at = share, actor.user_id, utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="selection_setting",
        object_id=f"{actor.org_id}:{office}",
        detail={"exploration": share},
    )
    return setting


@dataclass
class Pick:
    """One selected declaration and why."""

    declaration_id: str
    reason: str  # rules | campaign | model | random | uncertainty | rule score
    score: float | None
    rules: list[str] = field(default_factory=list)
    lane: str | None = None
    campaign: str | None = None
    order_id: str | None = None


def plan(
    scored: Scored,
    *,
    capacity: int,
    exploration: float,
    campaigns: dict[str, float],
    rng: random.Random,
) -> list[Pick]:
    """The picks for a scored day (pure: no store); see the module docstring for the order.

    `campaigns` maps a campaign rule set id to its minimum control rate."""
    frame = scored.frame
    n = len(frame)
    if n == 0 or capacity <= 0:
        return []
    prob = scored.probability
    rule_score = frame.X["rule_score"].to_numpy()
    rank_score = prob if prob is not None else rule_score  # what "best first" means today
    chosen: dict[int, Pick] = {}

    def add(i: int, reason: str, **extra: Any) -> None:
        if i not in chosen and len(chosen) < capacity:
            chosen[i] = Pick(
                frame.ids[i],
                reason,
                None if prob is None else round(float(prob[i]), 4),
                list(frame.rule_ids[i]) if frame.rule_ids else [],
                scored.lanes.get(frame.ids[i]),
                **extra,
            )

    by_rank = sorted(range(n), key=lambda i: (-rule_score[i], -rank_score[i], frame.ids[i]))
    for i in by_rank:  # 1. red-lane hits, strongest rules first
        if scored.lanes.get(frame.ids[i]) == "red":
            add(i, "rules")
    for set_id, rate in sorted(campaigns.items()):  # 2. campaigns up to their minimum control rate
        members = [i for i in range(n) if any(r.startswith(f"{set_id}/") for r in frame.rule_ids[i])]
        need = math.ceil(rate * len(members)) - sum(1 for i in members if i in chosen)
        for i in sorted(members, key=lambda i: (-rank_score[i], frame.ids[i])):
            if need <= 0:
                break
            if i not in chosen:
                add(i, "campaign", campaign=set_id)
                need -= 1
    left = capacity - len(chosen)
    explore = min(left, round(exploration * capacity))
    exploit = left - explore
    for i in sorted(range(n), key=lambda i: (-rank_score[i], frame.ids[i])):  # 4. the model's ranking
        if exploit <= 0:
            break
        if i not in chosen:
            add(i, "model" if prob is not None else "rule score")
            exploit -= 1
    rest = [i for i in range(n) if i not in chosen]
    if explore and rest:  # 3. exploration among what the ranking left: uncertain half, random half
        uncertain = explore // 2 if prob is not None else 0
        if uncertain:
            for i in sorted(rest, key=lambda i: (abs(float(prob[i]) - 0.5), frame.ids[i]))[:uncertain]:  # type: ignore[index]
                add(i, "uncertainty")
        rest = [i for i in rest if i not in chosen]
        for i in rng.sample(rest, min(len(rest), explore - uncertain)):
            add(i, "random")
    return sorted(chosen.values(), key=lambda p: _ORDER.index(p.reason))


_ORDER = ["rules", "campaign", "model", "rule score", "uncertainty", "random"]
_REASON_KIND = {
    "rules": ReasonKind.RULE,
    "campaign": ReasonKind.RULE,
    "model": ReasonKind.MODEL,
    "rule score": ReasonKind.RULE,
    "uncertainty": ReasonKind.RANDOM,
    "random": ReasonKind.RANDOM,
}


def _campaigns(session: Session, actor: Principal, day: datetime) -> dict[str, float]:
    sets = {rs.id: rs for rs, _ in service.published_rules(session, actor=actor)}
    out = {}
    for rule_set in sets.values():
        if rule_set.kind != "campaign" or rule_set.min_control_rate is None:
            continue
        if rule_set.valid_from and as_utc(rule_set.valid_from) > day:
            continue
        if rule_set.valid_to and as_utc(rule_set.valid_to) <= day:
            continue
        out[rule_set.id] = float(rule_set.min_control_rate)
    return out


def select(
    session: Session,
    *,
    actor: Principal,
    day: datetime,
    office: str,
    capacity: int,
    exploration: float | None = None,
    seed: int | None = None,
) -> SelectionRun:
    """Select what to control among the declarations lodged at `office` on `day`, within `capacity`; create a
    control order for each pick (declarations with an open order already are left out) and keep the run."""
    require_permission(actor, "control:write")
    require_permission(actor, "model:read")
    if capacity < 1 or capacity > 10_000:
        raise InvalidInput("capacity is between 1 and 10,000 controls a day", field="capacity")
    start = midnight(day)
    share = exploration if exploration is not None else exploration_share(session, org_id=actor.org_id, office=office)
    if not 0.0 <= share <= 0.5:
        raise InvalidInput("the exploration share is between 0 and 0.5", field="exploration")
    if actor.has("substance:read"):  # the day's goods lines against today's registry: `precursor_hit` is current
        substances.screen_declarations(
            session,
            actor=actor,
            # built, not validated: the values are the selection's own (an aware day, the office it selects for)
            data=ScreenDeclarationsIn.model_construct(
                lodged_from=start, lodged_to=start + timedelta(days=1), office=office
            ),
        )
    scored = score_period(session, actor=actor, org_id=actor.org_id, start=start, end=start + timedelta(days=1),
                          office=office)  # fmt: skip
    ordered = set(
        session.scalars(
            sql_select(ControlOrder.declaration_id).where(
                ControlOrder.declaration_id.in_(scored.frame.ids), ControlOrder.status == "open"
            )
        ).all()
    ) if scored.frame.ids else set()  # fmt: skip
    if ordered:
        scored = scored.take(np.array([i not in ordered for i in scored.frame.ids]))
    # Random picks must not be predictable by whoever knows the algorithm: the system's entropy, unless a test
    # asks for a seed. What was picked is kept in the run and the audit chain either way.
    rng = random.Random(seed) if seed is not None else secrets.SystemRandom()  # noqa: S311 - seeded only in tests
    picks = plan(scored, capacity=capacity, exploration=share, campaigns=_campaigns(session, actor, start), rng=rng)
    run = SelectionRun(
        id=new_id("sel"),
        office=office,
        day=start,
        capacity=capacity,
        exploration=share,
        declarations=len(scored.frame),
        model_id=scored.model.id if scored.model is not None else None,
        created_by=actor.user_id,
        created_at=utcnow(),
        owner_org_id=actor.org_id,
    )
    session.add(run)
    session.flush()
    for pick in picks:
        kind = LANE_CONTROL[pick.lane] if pick.reason in ("rules", "campaign") and pick.lane else ControlKind.SCAN
        order = controls.create_order(
            session,
            actor=actor,
            data=ControlOrderIn(
                declaration_id=pick.declaration_id,
                kind=kind,
                reason_kind=_REASON_KIND[pick.reason],
                reasons={
                    "selection": run.id,
                    "reason": pick.reason,
                    "rules": pick.rules,
                    "score": pick.score,
                    **({"campaign": pick.campaign} if pick.campaign else {}),
                },
            ),
        )
        pick.order_id = order.id
    run.items = [p.__dict__ for p in picks]
    run.counts = {reason: sum(1 for p in picks if p.reason == reason) for reason in _ORDER}
    run.counts["already ordered"] = len(ordered)
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="selection_run",
        object_id=run.id,
        detail={"office": office, "day": str(start.date()), "capacity": capacity, "selected": len(picks)},
    )
    return run


def latest_run(session: Session, *, actor: Principal, office: str | None = None) -> SelectionRun | None:
    """The newest selection run the actor may read (for an office)."""
    query = sql_select(SelectionRun).where(visible_filter(actor, SelectionRun, justification="selection"))
    if office:
        query = query.where(SelectionRun.office == office)
    return session.scalar(query.order_by(SelectionRun.created_at.desc()).limit(1))


def get_run(session: Session, *, actor: Principal, run_id: str) -> SelectionRun:
    """One selection run, or NotFound (also when the actor may not read it); audited."""
    run = session.get(SelectionRun, run_id)
    if run is None:
        raise NotFound(f"no selection run {run_id}")
    audit.consult_one(session, actor=actor, record=run, object_type="selection run", justification="selection")
    return run


def offices(session: Session, *, actor: Principal) -> list[str]:
    """The offices of the declarations the actor may read (for the selection form)."""
    from portguard.declarations.models import Declaration

    query = sql_select(Declaration.office).where(visible_filter(actor, Declaration, justification="selection"))
    return sorted(set(session.scalars(query.distinct()).all()))


# ---------------------------------------------------------------------------------------------------- evaluation


def evaluate_public_set(folder: Path, *, seeds: int = 5, on_progress: Progress = _noop) -> dict[str, Any]:
    """The model on the public KCS set's official split, through the product's own path: the three files are
    loaded into a scratch store, features built with the label cutoff at the end of the training year, a model
    trained on 2020 (early stopping and calibration on 2021-Q1), measured on 2021-Q2; mean and sd over `seeds`,
    with and without the mass and value features."""
    from portguard.core import migrate
    from portguard.core.db import Database
    from portguard.core.policy import OrgKind
    from portguard.declarations import service as declarations
    from portguard.sharing.models import Organisation

    paths = [folder / name for name in KCS_FILES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise InvalidInput(f"the public KCS set is not complete in {folder}: missing {', '.join(missing)}")
    total = 3 + 2 * seeds
    with tempfile.TemporaryDirectory(prefix="portguard-kcs-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'kcs.db'}")
        try:
            migrate.upgrade(db.engine)
            with db.session() as session:
                session.add(Organisation(id="org_kcs", name="KCS", kind=OrgKind.CUSTOMS_AUTHORITY.value, country="KR"))
            on_progress("loading the public set", 0, total)
            with db.session() as session:
                for path in paths:
                    report = declarations.ingest(session, actor=None, owner_org_id="org_kcs", path=path, format="kcs")
                    if report.status != "committed":
                        raise InvalidInput(f"{path.name} was rejected: {report.errors[:3]}")
            on_progress("building features", 1, total)
            with db.session() as session:
                raw = features.read_raw(session, actor=None, end=KCS_SPLIT[3], roles=learning.PARTY_ROLES)
        finally:
            db.dispose()
    doc, _ = service.check_file(service.STARTER_PACK)
    assert doc is not None
    rules = [
        engine.ActiveRule(rule_id=r.id, version=1, condition=r.when, weight=r.weight, lane=r.action.value)
        for r in doc.rules
    ]
    lists = {name: list(wl.values) for name, wl in doc.watch_lists.items()}
    frame = learning.build_frame(
        raw, start=KCS_SPLIT[0], end=KCS_SPLIT[3], label_cutoff=KCS_SPLIT[1], rules=rules, watch_lists=lists
    )
    lodged = frame.lodged_at
    bounds = [np.datetime64(b.replace(tzinfo=None), "us") for b in KCS_SPLIT]
    parts = {
        "train": frame.take(lodged < bounds[1]),
        "valid": frame.take((lodged >= bounds[1]) & (lodged < bounds[2])),
        "test": frame.take(lodged >= bounds[2]),
    }
    variants = {"all features": frozenset(), "without mass and value": learning.MASS_VALUE}
    out: dict[str, Any] = {
        "dataset": "KCS synthetic import declarations (Jeong et al. 2022), official temporal split",
        "rows": {k: len(v) for k, v in parts.items()},
        "base_rate_test": float(parts["test"].y.mean()),
        "seeds": seeds,
        "variants": {},
    }
    step = 2
    for label, exclude in variants.items():
        runs = []
        for seed in range(seeds):
            on_progress(f"{label}: seed {seed + 1} of {seeds}", step, total)
            model = learning.fit(parts["train"], parts["valid"], seed=seed, exclude=exclude)
            test = parts["test"]
            runs.append(learning.measures(test.y, test.critical, model.predict(test.X)) | {
                "rounds": model.best_iteration})  # fmt: skip
            step += 1
        keys = [k for k, v in runs[0].items() if isinstance(v, float)]
        out["variants"][label] = {
            key: {"mean": float(np.mean([r[key] for r in runs])), "sd": float(np.std([r[key] for r in runs]))}
            for key in [*keys, "rounds"]
        }
        out["variants"][label]["features"] = len([f for f in learning.FEATURES if f not in exclude])
    on_progress("done", total, total)
    out["published"] = {
        "LightGBM, data-set paper": {"precision@5%": 0.762, "precision@10%": 0.641},
        "goal": {"precision@5%": 0.97, "precision@10%": 0.90},
        "goal without mass and value": {"precision@5%": 0.75, "precision@10%": 0.60},
    }
    return out
