"""Rule sets: check, save as new versions, backtest on control results, publish, run; and the hits of a declaration.

The life of a rule: written in a YAML rule set (`check_file` names every error with the rule and the token), saved
(`save_rule_set`: a changed rule becomes a new draft version, the set's version goes up), backtested over a past
period against the control results (`backtest`: hits, how many were controlled, how many of those found something,
lift over the base rate, overlap with the other rules), and only then published (`publish` refuses a set whose
current version has no backtest on record). Published rules of every set the actor may read run together
(`score`), in one DuckDB query (`engine.py`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlResult
from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, utcnow
from portguard.core.errors import Forbidden, InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Principal, can, require_permission, visible_filter
from portguard.risk import engine, expr, features
from portguard.risk.models import Backtest, Rule, RuleSet, RuleSetFile, RuleStatus

STARTER_PACK = Path(__file__).with_name("starter") / "cocaine_routes.yaml"


@dataclass
class Problem:
    """One thing wrong with a rule set file."""

    where: str  # "rules[2] (COC-003).when", "watch_lists.origins", ...
    message: str
    line: int | None = None
    column: int | None = None
    near: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "near": self.near,
        }

    def __str__(self) -> str:
        at = f" (line {self.line}, column {self.column})" if self.line else ""
        return f"{self.where}: {self.message}{at}"


# ---------------------------------------------------------------- checking files


def parse_text(text: str, *, name: str = "rules.yaml") -> tuple[RuleSetFile | None, list[Problem]]:
    """A rule set from YAML text, and every problem found (YAML, schema, each condition)."""
    try:
        doc = yaml.safe_load(text)
    except RecursionError:
        return None, [Problem(name, "the YAML is nested too deeply")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            Problem(
                name,
                f"invalid YAML: {getattr(exc, 'problem', exc)}",
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
            )
        ]
    if not isinstance(doc, dict):
        return None, [Problem(name, "a rule set is a YAML mapping with id, title and rules")]
    try:
        rule_set = RuleSetFile.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = list(error.get("loc", ()))
            where = ".".join(str(p) for p in loc) or name
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                rules = doc.get("rules") or []
                rid = rules[loc[1]].get("id") if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) else None
                where = f"rules[{loc[1]}]" + (f" ({rid})" if rid else "") + "".join(f".{p}" for p in loc[2:])
            problems.append(Problem(where, str(error.get("msg", "invalid")).removeprefix("Value error, ")))
        return None, problems
    problems = check(rule_set)
    return (rule_set if not problems else None), problems


def check(rule_set: RuleSetFile) -> list[Problem]:
    """Every rule's condition parsed against the view and the set's watch lists."""
    lists = frozenset(rule_set.watch_lists)
    problems = []
    for i, rule in enumerate(rule_set.rules):
        try:
            expr.parse(rule.when, watch_lists=lists)
        except expr.RuleSyntaxError as exc:
            problems.append(Problem(f"rules[{i}] ({rule.id}).when", exc.message, exc.line, exc.column, exc.near))
    return problems


def check_file(path: Path) -> tuple[RuleSetFile | None, list[Problem]]:
    """`parse_text` of a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path.name, f"cannot read: {exc}")]
    return parse_text(text, name=path.name)


# ---------------------------------------------------------------- saving and reading


def _content(rule: Rule) -> tuple[Any, ...]:
    return (
        rule.title,
        rule.purpose,
        rule.instructions,
        rule.condition,
        rule.action,
        rule.weight,
        sorted(rule.offices),
        sorted(rule.ports),
        rule.valid_from,
        rule.valid_to,
    )


def latest_rules(session: Session, rule_set_id: str) -> list[Rule]:
    """The newest version of each rule of a set, retired ones included, by key."""
    newest = (
        select(Rule.key, func.max(Rule.version).label("version"))
        .where(Rule.rule_set_id == rule_set_id)
        .group_by(Rule.key)
        .subquery()
    )
    query = (
        select(Rule)
        .join(newest, (Rule.key == newest.c.key) & (Rule.version == newest.c.version))
        .where(Rule.rule_set_id == rule_set_id)
        .order_by(Rule.key)
    )
    return list(session.scalars(query).all())


def save_rule_set(
    session: Session,
    *,
    actor: Principal | None,
    doc: RuleSetFile,
    owner_org_id: str | None = None,
    sharing_group_id: str | None = None,
) -> tuple[RuleSet, list[str]]:
    """Create or update a rule set from its file; changed rules become new draft versions. Returns the set and what
    changed (`+KEY` new, `~KEY` new version, `-KEY` retired)."""
    require_permission(actor, "rule:write")
    owner = actor.org_id if actor is not None else owner_org_id
    if not owner:
        raise InvalidInput("a rule set needs an owner organisation")
    problems = check(doc)
    if problems:
        raise InvalidInput("; ".join(str(p) for p in problems[:5]))
    set_id = f"{owner}:{doc.id}"
    now = utcnow()
    rule_set = session.get(RuleSet, set_id)
    created = rule_set is None
    if rule_set is None:
        rule_set = RuleSet(id=set_id, key=doc.id, owner_org_id=owner, version=1, created_at=now, watch_lists={})
        session.add(rule_set)
    elif actor is not None and rule_set.owner_org_id != actor.org_id:
        raise NotFound(f"no rule set {set_id}")
    lists = {name: wl.model_dump() for name, wl in doc.watch_lists.items()}
    changed = created or lists != rule_set.watch_lists
    rule_set.title, rule_set.description, rule_set.kind = doc.title, doc.description, doc.kind
    rule_set.example, rule_set.min_control_rate = doc.example, doc.min_control_rate
    rule_set.valid_from, rule_set.valid_to = doc.valid_from, doc.valid_to
    rule_set.handling, rule_set.legal_regime = doc.handling.value, doc.legal_regime.value
    rule_set.sharing_group_id = sharing_group_id
    rule_set.watch_lists = lists
    session.flush()
    existing = {r.key: r for r in latest_rules(session, set_id)}
    changes: list[str] = []
    next_version = rule_set.version + (0 if created else 1)
    for rule_in in doc.rules:
        candidate = Rule(
            rule_set_id=set_id,
            key=rule_in.id,
            status=RuleStatus.DRAFT.value,
            title=rule_in.title,
            purpose=rule_in.purpose,
            instructions=rule_in.instructions,
            condition=rule_in.when,
            action=rule_in.action.value,
            weight=rule_in.weight,
            offices=list(rule_in.scope.offices),
            ports=list(rule_in.scope.ports),
            valid_from=rule_in.valid_from,
            valid_to=rule_in.valid_to,
            created_by=actor.user_id if actor else None,
            created_at=now,
        )
        before = existing.pop(rule_in.id, None)
        if before is not None and before.status != RuleStatus.RETIRED.value and _content(before) == _content(candidate):
            continue
        candidate.version = (before.version + 1) if before is not None else 1
        session.add(candidate)
        changes.append(("~" if before is not None else "+") + rule_in.id)
    for key in existing:  # removed from the file: every live version stops (a published v1 under a v2 draft too)
        live = session.scalars(
            select(Rule).where(Rule.rule_set_id == set_id, Rule.key == key, Rule.status != RuleStatus.RETIRED.value)
        ).all()
        for rule in live:
            rule.status = RuleStatus.RETIRED.value
        if live:
            changes.append("-" + key)
    if changes or changed:
        rule_set.version = next_version if not created else 1
        rule_set.updated_at = now
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT if created else AuditAction.ALTER,
        object_type="rule_set",
        object_id=set_id,
        legal_regime=rule_set.legal_regime,
        detail={"version": rule_set.version, "changes": changes},
    )
    return rule_set, changes


def list_rule_sets(session: Session, *, actor: Principal, justification: str | None = None) -> list[RuleSet]:
    """The rule sets the actor may read, by title (LED sets only with a justification, like every list)."""
    require_permission(actor, "rule:read")
    query = select(RuleSet).where(visible_filter(actor, RuleSet, justification=justification)).order_by(RuleSet.title)
    return list(session.scalars(query).all())


def get_rule_set(
    session: Session, *, actor: Principal | None, rule_set_id: str, justification: str | None = "risk rules"
) -> RuleSet:
    """One rule set if the actor may read it (its text is protected like any record); audited."""
    rule_set = session.get(RuleSet, rule_set_id)
    if rule_set is None:
        raise NotFound(f"no rule set {rule_set_id}")
    if actor is not None:
        require_permission(actor, "rule:read")
        audit.consult_one(session, actor=actor, record=rule_set, object_type="rule_set", justification=justification)
    return rule_set


def find_rule_set(session: Session, *, ref: str) -> RuleSet:
    """A rule set by id or by key when only one set has it (for the CLI)."""
    found = session.scalars(select(RuleSet).where((RuleSet.id == ref) | (RuleSet.key == ref)).limit(2)).all()
    if not found:
        raise NotFound(f"no rule set with id or key {ref!r}")
    if len(found) > 1:
        raise NotFound(f"several organisations have a rule set {ref!r}; give the full id")
    return found[0]


def to_file(session: Session, rule_set: RuleSet) -> dict[str, Any]:
    """The set's current rules (newest versions, retired left out) as a rule set file, owner and handling kept."""
    rules = []
    for rule in latest_rules(session, rule_set.id):
        if rule.status == RuleStatus.RETIRED.value:
            continue
        item: dict[str, Any] = {"id": rule.key, "title": rule.title, "purpose": rule.purpose}
        if rule.instructions:
            item["instructions"] = rule.instructions
        item.update({"when": rule.condition, "action": rule.action, "weight": rule.weight})
        if rule.offices or rule.ports:
            item["scope"] = {k: v for k, v in (("offices", rule.offices), ("ports", rule.ports)) if v}
        for name in ("valid_from", "valid_to"):
            if getattr(rule, name):
                item[name] = getattr(rule, name).isoformat()
        rules.append(item)
    doc: dict[str, Any] = {
        "id": rule_set.key,
        "title": rule_set.title,
        "description": rule_set.description,
        "kind": rule_set.kind,
        "example": rule_set.example,
        "owner": rule_set.owner_org_id,
        "handling": rule_set.handling,
        "legal_regime": rule_set.legal_regime,
    }
    if rule_set.sharing_group_id:
        doc["sharing_group"] = rule_set.sharing_group_id
    for name in ("valid_from", "valid_to"):
        if getattr(rule_set, name):
            doc[name] = getattr(rule_set, name).isoformat()
    if rule_set.min_control_rate is not None:
        doc["min_control_rate"] = rule_set.min_control_rate
    doc["watch_lists"] = rule_set.watch_lists
    doc["rules"] = rules
    return doc


def diff_files(a: RuleSetFile, b: RuleSetFile) -> list[str]:
    """What differs between two rule set files, rule by rule (unified diff lines of each changed rule)."""
    out: list[str] = []
    before = {r.id: r for r in a.rules}
    after = {r.id: r for r in b.rules}
    for key in sorted(before.keys() | after.keys()):
        old = yaml.safe_dump(before[key].model_dump(mode="json"), sort_keys=True).splitlines() if key in before else []
        new = yaml.safe_dump(after[key].model_dump(mode="json"), sort_keys=True).splitlines() if key in after else []
        if old != new:
            out.extend(difflib.unified_diff(old, new, f"a/{key}", f"b/{key}", lineterm="", n=1))
    if a.watch_lists != b.watch_lists:
        for name in sorted(a.watch_lists.keys() | b.watch_lists.keys()):
            if a.watch_lists.get(name) != b.watch_lists.get(name):
                out.append(f"watch list {name}: changed")
    return out


# ---------------------------------------------------------------- running


def _active(rule: Rule) -> engine.ActiveRule:
    return engine.ActiveRule(
        rule_id=rule.rule_id,
        version=rule.version,
        condition=rule.condition,
        weight=rule.weight,
        lane=rule.action,
        offices=tuple(rule.offices),
        ports=tuple(rule.ports),
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
    )


def _lists(rule_sets: list[RuleSet]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for rule_set in rule_sets:
        for name, wl in (rule_set.watch_lists or {}).items():
            merged.setdefault(name, []).extend(wl["values"])
    return merged


def _namespaced(rule: engine.ActiveRule, rule_set: RuleSet) -> engine.ActiveRule:
    """The rule with its set's watch list names made unique across sets (`<set id>#<name>`)."""
    tree = expr.parse(rule.condition, watch_lists=frozenset(rule_set.watch_lists or {}))
    for node in tree.walk():
        if expr._function_name(node) == "in_list":
            first = expr._arguments(node)[0]
            first.set("this", f"{rule_set.id}#{first.this}")
    return engine.ActiveRule(**{**rule.__dict__, "condition": tree.sql(dialect="duckdb")})


def _windowed(rule: engine.ActiveRule, rule_set: RuleSet) -> engine.ActiveRule:
    """The rule limited to its set's validity window too (a campaign's rules end with the campaign)."""
    starts = [t for t in (rule.valid_from, rule_set.valid_from) if t is not None]
    ends = [t for t in (rule.valid_to, rule_set.valid_to) if t is not None]
    return engine.ActiveRule(
        **{**rule.__dict__, "valid_from": max(starts) if starts else None, "valid_to": min(ends) if ends else None}
    )


def runnable(pairs: list[tuple[RuleSet, Rule]]) -> tuple[list[engine.ActiveRule], dict[str, list[str]]]:
    """The engine's rules for (rule set, rule) pairs, watch lists namespaced by set, limited to the sets' windows."""
    rules = [_windowed(_namespaced(_active(rule), rule_set), rule_set) for rule_set, rule in pairs]
    lists: dict[str, list[str]] = {}
    for rule_set in {rs.id: rs for rs, _ in pairs}.values():
        for name, wl in (rule_set.watch_lists or {}).items():
            lists[f"{rule_set.id}#{name}"] = list(wl["values"])
    return rules, lists


def published_rules(session: Session, *, actor: Principal | None) -> list[tuple[RuleSet, Rule]]:
    """The published rules of every rule set the actor may read."""
    query = (
        select(RuleSet, Rule)
        .join(Rule, Rule.rule_set_id == RuleSet.id)
        .where(Rule.status == RuleStatus.PUBLISHED.value)
    )
    if actor is not None:
        query = query.where(visible_filter(actor, RuleSet, justification="risk rules"))
    return [(rs, r) for rs, r in session.execute(query.order_by(RuleSet.id, Rule.key)).all()]


def score(
    session: Session, *, actor: Principal | None, start: datetime, end: datetime
) -> tuple[pa.Table, engine.Result]:
    """The view of [start, end) the actor may read and the published rules' hits and scores on it."""
    view = features.declaration_view(session, actor=actor, start=start, end=end)
    rules, lists = runnable(published_rules(session, actor=actor))
    return view, engine.run(view, rules, watch_lists=lists)


def hits_for_declaration(session: Session, *, actor: Principal, declaration_id: str) -> list[dict[str, Any]]:
    """The published rules a declaration hits, with each rule's purpose and instructions (for its page)."""
    from portguard.declarations.models import Declaration

    decl = session.get(Declaration, declaration_id)
    if decl is None or not actor.has("rule:read") or not can(actor, Action.READ, decl, justification="risk rules"):
        return []
    lodged = as_utc(decl.lodged_at)
    view = features.declaration_view(session, actor=actor, start=lodged, end=lodged + timedelta(microseconds=1))
    view = view.filter(pa.compute.equal(view.column("declaration_id"), declaration_id))
    pairs = published_rules(session, actor=actor)
    rules, lists = runnable(pairs)
    result = engine.run(view, rules, watch_lists=lists)
    by_id = {rule.rule_id: (rule_set, rule) for rule_set, rule in pairs}
    out = []
    for hit in result.hits.to_pylist():
        rule_set, rule = by_id[hit["rule_id"]]
        out.append(
            {
                "rule_id": rule.rule_id,
                "version": rule.version,
                "title": rule.title,
                "purpose": rule.purpose,
                "instructions": rule.instructions,
                "action": rule.action,
                "weight": rule.weight,
                "rule_set": rule_set.title,
                "owner_org_id": rule_set.owner_org_id,
            }
        )
    return out


# ---------------------------------------------------------------- backtest and publish

_MEASURES = """
WITH outcomes AS (
  SELECT declaration_id, 1 AS controlled,
         max(CASE WHEN outcome IN ('irregularity', 'seizure') THEN 1 ELSE 0 END) AS irregular,
         max(CASE WHEN outcome = 'seizure' THEN 1 ELSE 0 END) AS seizure
  FROM results GROUP BY declaration_id
),
base AS (
  SELECT count(*) AS declarations, coalesce(sum(o.controlled), 0) AS controlled,
         coalesce(sum(o.irregular), 0) AS irregular, coalesce(sum(o.seizure), 0) AS seizures
  FROM view v LEFT JOIN outcomes o USING (declaration_id)
),
multi AS (SELECT declaration_id, count(*) AS rules_hit FROM hits GROUP BY declaration_id)
SELECT h.rule_id, count(*) AS hits,
       coalesce(sum(o.controlled), 0) AS controlled,
       coalesce(sum(o.irregular), 0) AS irregular,
       coalesce(sum(o.seizure), 0) AS seizures,
       sum(CASE WHEN m.rules_hit > 1 THEN 1 ELSE 0 END) AS overlapping
FROM hits h LEFT JOIN outcomes o USING (declaration_id) JOIN multi m USING (declaration_id)
GROUP BY h.rule_id ORDER BY h.rule_id
"""
_BASE = """
WITH outcomes AS (
  SELECT declaration_id, max(CASE WHEN outcome IN ('irregularity', 'seizure') THEN 1 ELSE 0 END) AS irregular,
         max(CASE WHEN outcome = 'seizure' THEN 1 ELSE 0 END) AS seizure
  FROM results GROUP BY declaration_id
)
SELECT count(*) AS declarations, count(o.declaration_id) AS controlled, coalesce(sum(o.irregular), 0) AS irregular,
       coalesce(sum(o.seizure), 0) AS seizures
FROM view v LEFT JOIN outcomes o USING (declaration_id)
"""


def _ratio(a: float, b: float) -> float | None:
    return None if not b else round(a / b, 4)


def measure(view: pa.Table, hits: pa.Table, results: pa.Table, *, rule_ids: list[str]) -> dict[str, Any]:
    """Backtest measures of hits against control results (see `backtest`); every rule of `rule_ids` is listed."""
    con = duckdb.connect()
    try:
        con.register("view", view.select(["declaration_id"]))
        con.register("hits", hits.select(["declaration_id", "rule_id"]))
        con.register("results", results)
        declarations, controlled, irregular, seizures = con.execute(_BASE).fetchone()  # type: ignore[misc]
        rows = con.execute(_MEASURES).fetchall()
        hit_declarations = con.execute("SELECT count(DISTINCT declaration_id) FROM hits").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    base_rate = _ratio(irregular, controlled)
    none = {
        "hits": 0,
        "hit_rate": 0.0,
        "controlled": 0,
        "controlled_share": None,
        "irregular": 0,
        "irregularity_precision": None,
        "seizures": 0,
        "seizure_precision": None,
        "lift": None,
        "overlap": None,
    }
    per_rule: dict[str, Any] = {rule_id: dict(none) for rule_id in rule_ids}
    for rule_id, n, ctl, irr, sei, overlapping in rows:
        precision = _ratio(irr, ctl)
        per_rule[rule_id] = {
            "hits": n,
            "hit_rate": _ratio(n, declarations),
            "controlled": ctl,
            "controlled_share": _ratio(ctl, n),
            "irregular": irr,
            "irregularity_precision": precision,
            "seizures": sei,
            "seizure_precision": _ratio(sei, ctl),
            "lift": None if precision is None or not base_rate else round(precision / base_rate, 3),
            "overlap": _ratio(overlapping, n),
        }
    return {
        "declarations": declarations,
        "controlled": controlled,
        "irregular": irregular,
        "seizures": seizures,
        "base_rate": base_rate,
        "hit_declarations": hit_declarations,
        "rules": per_rule,
    }


def backtest(
    session: Session, *, actor: Principal | None, rule_set_id: str, start: datetime, end: datetime
) -> Backtest:
    """Run the set's current rules (drafts included, retired not) over [start, end) and measure them against the
    control results: per rule, hits, hit rate, share controlled, irregularity and seizure precision among the
    controlled hits, lift over the base irregularity rate, and overlap (share of its hits another rule also hits).
    Stored, so that the version can be published."""
    if actor is not None:
        require_permission(actor, "rule:write")
    rule_set = get_rule_set(session, actor=actor, rule_set_id=rule_set_id)
    if actor is not None and rule_set.owner_org_id != actor.org_id:
        # a backtest on record is what allows publication, and it is stored under the owner's name
        raise Forbidden("only the owner organisation backtests its rule set on record")
    current = [r for r in latest_rules(session, rule_set.id) if r.status != RuleStatus.RETIRED.value]
    view = features.declaration_view(session, actor=actor, start=start, end=end)
    rules, lists = runnable([(rule_set, r) for r in current])
    result = engine.run(view, rules, watch_lists=lists)
    ids = view.column("declaration_id").to_pylist()
    query = select(ControlResult.declaration_id, ControlResult.outcome).where(ControlResult.declaration_id.in_(ids))
    if actor is not None:
        query = query.where(visible_filter(actor, ControlResult, justification="backtest"))
    rows = session.execute(query).all() if ids else []
    results = pa.table(
        {
            "declaration_id": pa.array([r[0] for r in rows], pa.string()),
            "outcome": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    measures = measure(view, result.hits, results, rule_ids=[r.rule_id for r in current])
    measures["versions"] = {r.rule_id: r.version for r in current}
    if rule_set.min_control_rate is not None:  # a campaign: did each rule reach its minimum control rate?
        measures["min_control_rate"] = rule_set.min_control_rate
        for m in measures["rules"].values():
            m["meets_min_control_rate"] = (
                None if not m["hits"] else (m["controlled_share"] or 0) >= rule_set.min_control_rate
            )
    record = Backtest(
        id=new_id("bt"),
        rule_set_id=rule_set.id,
        rule_set_version=rule_set.version,
        period_from=start,
        period_to=end,
        declarations=measures["declarations"],
        measures=measures,
        created_by=actor.user_id if actor else None,
        owner_org_id=rule_set.owner_org_id,
        handling=rule_set.handling,
        legal_regime=rule_set.legal_regime,
        sharing_group_id=rule_set.sharing_group_id,
    )
    session.add(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="backtest",
        object_id=record.id,
        legal_regime=rule_set.legal_regime,
        detail={"rule_set": rule_set.id, "version": rule_set.version, "declarations": record.declarations},
    )
    return record


def latest_backtest(session: Session, rule_set: RuleSet) -> Backtest | None:
    """The newest backtest of the set's current version."""
    return session.scalar(
        select(Backtest)
        .where(Backtest.rule_set_id == rule_set.id, Backtest.rule_set_version == rule_set.version)
        .order_by(Backtest.created_at.desc())
        .limit(1)
    )


def publish(session: Session, *, actor: Principal | None, rule_set_id: str) -> list[Rule]:
    """Publish the set's draft rules; refused without a backtest of the current version. The previously published
    version of each rule is retired."""
    if actor is not None:
        require_permission(actor, "rule:write")
    rule_set = get_rule_set(session, actor=actor, rule_set_id=rule_set_id)
    if actor is not None and rule_set.owner_org_id != actor.org_id:
        raise Forbidden("only the owner organisation publishes its rule set")
    record = latest_backtest(session, rule_set)
    if record is None:
        raise InvalidInput(
            f"rule set {rule_set.id} version {rule_set.version} has no backtest on record; run a backtest first"
        )
    drafts = [r for r in latest_rules(session, rule_set.id) if r.status == RuleStatus.DRAFT.value]
    now = utcnow()
    for rule in drafts:
        for older in session.scalars(
            select(Rule).where(
                Rule.rule_set_id == rule.rule_set_id, Rule.key == rule.key, Rule.status == RuleStatus.PUBLISHED.value
            )
        ):
            older.status = RuleStatus.RETIRED.value
        rule.status, rule.published_at, rule.backtest_id = RuleStatus.PUBLISHED.value, now, record.id
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="rule_set",
        object_id=rule_set.id,
        legal_regime=rule_set.legal_regime,
        detail={"published": [r.key for r in drafts], "backtest": record.id},
    )
    return drafts
