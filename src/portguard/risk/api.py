"""HTTP for common risk criteria: rule sets (read, save from YAML, check, backtest, publish, export), the rule hits
of a declaration; and their pages (the list, one set with its backtest chart, the editor).

Thin over `service`: every route authenticates and states its permission; which sets a user sees is the policy's
business (owner organisation, handling code, sharing group), applied by the service. A rule set travels as YAML, so
the save route takes YAML text as it is written (`application/yaml` or `text/plain`), or wrapped in JSON for
clients that only speak JSON; what is wrong with it comes back as a 422 problem listing every problem with its line
and column. The live editor and the condition checker share the same checks as the CLI (`parse_text`, `expr`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from portguard.core.clock import midnight
from portguard.core.deps import DbSession, Justification, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput, NotFound, PortGuardError
from portguard.core.pages import render, templates
from portguard.core.policy import Principal
from portguard.declarations import service as declarations
from portguard.risk import expr, service
from portguard.risk.models import Backtest, Rule, RuleSet, RuleSetFile, RuleStatus
from portguard.sharing import service as sharing

router = APIRouter(prefix="/api", tags=["risk"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)

MAX_FILE = 5 * 1024 * 1024  # a rule set with large watch lists; the schema caps each list at 100,000 values
MAX_PROBLEMS = 200
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
Reader = Annotated[Principal, Depends(require("rule:read"))]
Writer = Annotated[Principal, Depends(require("rule:write"))]


class UnsupportedMediaType(PortGuardError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


# ---------------------------------------------------------------- shapes


class RuleCounts(BaseModel):
    draft: int = 0
    published: int = 0
    retired: int = 0


class RuleSetSummary(BaseModel):
    id: str
    key: str
    title: str
    kind: str
    example: bool
    version: int
    owner_org_id: str
    handling: str
    legal_regime: str
    sharing_group_id: str | None
    rules: RuleCounts
    backtested: bool = Field(description="the current version has a backtest on record (it can be published)")
    updated_at: datetime


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    rule_id: str
    key: str
    version: int
    status: str
    title: str
    purpose: str
    instructions: str
    condition: str
    action: str
    weight: float
    offices: list[str]
    ports: list[str]
    valid_from: datetime | None
    valid_to: datetime | None
    published_at: datetime | None
    backtest_id: str | None


class BacktestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    rule_set_id: str
    rule_set_version: int
    period_from: datetime
    period_to: datetime
    declarations: int
    created_by: str | None
    created_at: datetime
    measures: dict[str, Any] = Field(
        description="base figures (declarations, controlled, irregular, seizures, base_rate, hit_declarations) and, "
        "under `rules`, per rule: hits, hit_rate, controlled, controlled_share, irregular, irregularity_precision, "
        "seizures, seizure_precision, lift, overlap"
    )


class RuleSetOut(RuleSetSummary):
    description: str
    valid_from: datetime | None
    valid_to: datetime | None
    min_control_rate: float | None
    watch_lists: dict[str, Any]
    rule_versions: list[RuleOut] = Field(description="the newest version of each rule, retired ones included")
    backtest: BacktestOut | None = Field(description="the latest backtest of the current version")


class SavedOut(BaseModel):
    id: str
    key: str
    version: int
    changes: list[str] = Field(description="`+KEY` new rule, `~KEY` new version, `-KEY` retired")


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: str = Field(max_length=100_000, description="a rule condition")
    watch_lists: list[str] = Field(default_factory=list, max_length=1000, description="watch list names it may use")


class SyntaxErrorOut(BaseModel):
    message: str
    line: int | None
    column: int | None
    near: str | None


class CheckOut(BaseModel):
    ok: bool
    error: SyntaxErrorOut | None
    sql: str | None = Field(description="the condition compiled to DuckDB SQL, when it is allowed")


class BacktestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date = Field(alias="from", description="first day (UTC)")
    end: date = Field(alias="to", description="the day after the last (UTC)")

    @model_validator(mode="after")
    def _ordered(self) -> BacktestIn:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class PublishedOut(BaseModel):
    rule_set_id: str
    published: list[str] = Field(description="keys of the rules published")
    backtest_id: str | None = Field(description="the backtest the publication rests on (none when nothing was a draft)")


class HitOut(BaseModel):
    rule_id: str
    version: int
    title: str
    purpose: str
    instructions: str
    action: str
    weight: float
    rule_set: str = Field(description="title of the rule set")
    owner_org_id: str


class HitsOut(BaseModel):
    declaration_id: str
    hits: list[HitOut]


# ---------------------------------------------------------------- helpers


def _counts(rules: list[Rule]) -> dict[str, int]:
    counts = {s.value: 0 for s in RuleStatus}
    for rule in rules:
        counts[rule.status] = counts.get(rule.status, 0) + 1
    return counts


def _summary(session: Session, rule_set: RuleSet, rules: list[Rule] | None = None) -> dict[str, Any]:
    rules = service.latest_rules(session, rule_set.id) if rules is None else rules
    return {
        "id": rule_set.id,
        "key": rule_set.key,
        "title": rule_set.title,
        "kind": rule_set.kind,
        "example": rule_set.example,
        "version": rule_set.version,
        "owner_org_id": rule_set.owner_org_id,
        "handling": rule_set.handling,
        "legal_regime": rule_set.legal_regime,
        "sharing_group_id": rule_set.sharing_group_id,
        "rules": _counts(rules),
        "backtested": service.latest_backtest(session, rule_set) is not None,
        "updated_at": rule_set.updated_at,
    }


def _detail(session: Session, rule_set: RuleSet) -> dict[str, Any]:
    rules = service.latest_rules(session, rule_set.id)
    record = service.latest_backtest(session, rule_set)
    return {
        **_summary(session, rule_set, rules),
        "description": rule_set.description,
        "valid_from": rule_set.valid_from,
        "valid_to": rule_set.valid_to,
        "min_control_rate": rule_set.min_control_rate,
        "watch_lists": rule_set.watch_lists or {},
        "rule_versions": [RuleOut.model_validate(r) for r in rules],
        "backtest": BacktestOut.model_validate(record) if record is not None else None,
    }


def _parse(text: str) -> tuple[RuleSetFile | None, list[service.Problem]]:
    """`service.parse_text` (which reports nesting too deep for the parsers as a problem)."""
    return service.parse_text(text)


def _problems(problems: list[service.Problem]) -> InvalidInput:
    shown = problems[:MAX_PROBLEMS]
    more = f" (the first {MAX_PROBLEMS} are listed)" if len(problems) > MAX_PROBLEMS else ""
    return InvalidInput(
        f"the rule set has {len(problems)} problem(s){more}: {problems[0]}",
        problems=[p.as_dict() for p in shown],
    )


def _sharing_group_id(session: Session, ref: str | None) -> str | None:
    """The id of the sharing group a file names (by id or by name); an unknown one is bad input."""
    if not ref:
        return None
    try:
        return sharing.find_group(session, ref=ref).id
    except NotFound as exc:
        raise InvalidInput(exc.detail, field="sharing_group") from None


def _save(session: Session, principal: Principal, text: str) -> tuple[RuleSet, list[str]]:
    doc, problems = _parse(text)
    if problems or doc is None:
        raise _problems(problems or [service.Problem("rules.yaml", "not a rule set")])
    group_id = _sharing_group_id(session, doc.sharing_group)
    return service.save_rule_set(session, actor=principal, doc=doc, sharing_group_id=group_id)


def _check(when: str, watch_lists: list[str]) -> dict[str, Any]:
    try:
        tree = expr.parse(when, watch_lists=frozenset(watch_lists))
    except expr.RuleSyntaxError as exc:
        return {"ok": False, "error": exc.as_dict(), "sql": None}
    return {"ok": True, "error": None, "sql": expr.compile_sql(tree, dialect="duckdb")}


def _yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


async def rule_set_text(request: Request) -> str:
    """The YAML of a rule set from the request body: YAML or plain text as is, or JSON `{"yaml": "..."}`."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_FILE:
        raise InvalidInput(f"the rule set is larger than {MAX_FILE >> 20} MiB")
    if media == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("the body is not JSON") from None
        if not isinstance(data, dict) or set(data) != {"yaml"} or not isinstance(data["yaml"], str):
            raise InvalidInput('a JSON body is {"yaml": "<the rule set as YAML>"}', field="yaml")
        return data["yaml"]
    if media in YAML_TYPES:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the rule set is not UTF-8 text") from None
    raise UnsupportedMediaType(
        f'send the rule set as {", ".join(YAML_TYPES)}, or as application/json {{"yaml": "..."}}'
    )


_RULE_SET_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string", "description": "a rule set file (docs/rules.md)"}},
        "text/plain": {"schema": {"type": "string", "description": "a rule set file (docs/rules.md)"}},
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"yaml": {"type": "string", "description": "a rule set file (docs/rules.md)"}},
                "required": ["yaml"],
                "additionalProperties": False,
            }
        },
    },
}


# ---------------------------------------------------------------- JSON API


@router.get("/rule-sets", response_model=list[RuleSetSummary], summary="List rule sets you may see")
def list_rule_sets(session: DbSession, principal: Reader) -> Any:
    """Rule sets of your organisation and those shared with it, by title, with their rules counted by status."""
    return [_summary(session, rs) for rs in service.list_rule_sets(session, actor=principal)]


@router.post(
    "/rule-sets",
    response_model=SavedOut,
    summary="Save a rule set from its YAML",
    openapi_extra={"requestBody": _RULE_SET_BODY},
    responses={415: {"description": "The body is neither YAML, plain text nor JSON"}},
)
def save_rule_set(session: DbSession, principal: Writer, text: Annotated[str, Depends(rule_set_text)]) -> Any:
    """Create or update a rule set of your organisation from its YAML; changed rules become new draft versions.
    A file with problems is refused as a whole (422) with every problem: where, message, line, column, near."""
    rule_set, changes = _save(session, principal, text)
    return {"id": rule_set.id, "key": rule_set.key, "version": rule_set.version, "changes": changes}


@router.get("/rule-sets/{rule_set_id}", response_model=RuleSetOut, summary="Read a rule set")
def get_rule_set(session: DbSession, principal: Reader, rule_set_id: str) -> Any:
    """The set with the newest version of each rule and the latest backtest of its current version."""
    return _detail(session, service.get_rule_set(session, actor=principal, rule_set_id=rule_set_id))


@router.post("/rules/check", response_model=CheckOut, summary="Check a rule condition")
def check_condition(principal: Reader, data: CheckIn) -> Any:
    """Whether a condition is allowed (parsed against the declaration view and the named watch lists): the error
    with its line, column and the offending token, or the SQL it compiles to."""
    return _check(data.when, data.watch_lists)


@router.post("/rule-sets/{rule_set_id}/backtest", response_model=BacktestOut, summary="Backtest a rule set")
def backtest_rule_set(session: DbSession, principal: Writer, rule_set_id: str, data: BacktestIn) -> Any:
    """Run the set's current rules over the declarations lodged in [from, to) that you may see and measure them
    against the control results; the backtest is kept on record, so that this version can be published."""
    return service.backtest(
        session, actor=principal, rule_set_id=rule_set_id, start=midnight(data.start), end=midnight(data.end)
    )


@router.post("/rule-sets/{rule_set_id}/publish", response_model=PublishedOut, summary="Publish a rule set")
def publish_rule_set(session: DbSession, principal: Writer, rule_set_id: str) -> Any:
    """Publish the set's draft rules (owner organisation only); refused (422) while the current version has no
    backtest on record. The previously published version of each rule is retired."""
    published = service.publish(session, actor=principal, rule_set_id=rule_set_id)
    return {
        "rule_set_id": rule_set_id,
        "published": [r.key for r in published],
        "backtest_id": published[0].backtest_id if published else None,
    }


@router.get(
    "/rule-sets/{rule_set_id}/export",
    summary="Export a rule set as YAML",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}, "description": "The file"}},
)
def export_rule_set(session: DbSession, principal: Reader, rule_set_id: str) -> Response:
    """The set's current rules as a rule set file that keeps its owner and handling code (a bundle to move
    between deployments, or to edit and save again)."""
    rule_set = service.get_rule_set(session, actor=principal, rule_set_id=rule_set_id)
    return Response(
        _yaml(service.to_file(session, rule_set)),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{rule_set.key}.yaml"'},
    )


@router.get("/declarations/{declaration_id}/hits", response_model=HitsOut, summary="Rules a declaration hits")
def declaration_hits(session: DbSession, principal: Reader, declaration_id: str, justification: Justification) -> Any:
    """The published rules, of every set you may see, that a declaration you may read hits: each with its purpose,
    what the examiner should do, the action it asks for and the set it belongs to."""
    decl = declarations.get_declaration(
        session, actor=principal, declaration_id=declaration_id, justification=justification
    )
    hits = service.hits_for_declaration(session, actor=principal, declaration_id=decl.id)
    return {"declaration_id": decl.id, "hits": hits}


# ---------------------------------------------------------------- pages

NEW_SET = """\
id: my-rules
title: My rule set
description: What these rules look for, and why.
handling: AMBER
# sharing_group: Alliance customs authorities
watch_lists:
  origins:
    kind: country
    values: [EC, CO]
rules:
  - id: R-001
    title: Fresh fruit from a watched origin
    purpose: Why the rule exists, in plain language.
    instructions: What the examiner should look at.
    when: hs_chapter = '08' AND in_list('origins', departure)
    action: scan
    weight: 2
"""


def _chart_data(record: Backtest | None, rules: list[Rule]) -> dict[str, Any] | None:
    """What the backtest chart draws: precision and lift per rule, and the base rate."""
    if record is None:
        return None
    titles = {r.rule_id: r.title for r in rules}
    rows = []
    for rule_id, m in (record.measures.get("rules") or {}).items():
        rows.append(
            {
                "rule": rule_id.rsplit("/", 1)[-1],
                "title": titles.get(rule_id, ""),
                "hits": m.get("hits"),
                "controlled": m.get("controlled"),
                "precision": m.get("irregularity_precision"),
                "lift": m.get("lift"),
            }
        )
    return {"base_rate": record.measures.get("base_rate"), "rules": rows}


def _set_context(
    session: Session, principal: Principal, rule_set: RuleSet, *, message: str | None = None, error: str | None = None
) -> dict[str, Any]:
    rules = service.latest_rules(session, rule_set.id)
    record = service.latest_backtest(session, rule_set)
    today = datetime.now(UTC).date()
    if record is not None:
        period = (record.period_from.date(), record.period_to.date())
    else:
        period = (today - timedelta(days=365), today + timedelta(days=1))
    owner = rule_set.owner_org_id == principal.org_id and principal.has("rule:write")
    return {
        "rule_set": rule_set,
        "rules": rules,
        "counts": _counts(rules),
        "backtest": record,
        "chart": _chart_data(record, rules),
        "period": period,
        "can_write": owner,
        "names": sharing.directory_names(session, ids=[rule_set.owner_org_id, rule_set.sharing_group_id]),
        "message": message,
        "error": error,
    }


def _editor(
    request: Request, text: str, problems: list[service.Problem] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "risk/editor.html",
        status_code=status_code,
        text=text,
        problems=problems,
        total=len(problems or []),
        doc=None,
        columns=list(expr.COLUMNS.values()),
        functions=[f for f in expr.FUNCTIONS if f != "in_list"],
    )


@pages.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: DbSession, principal: Reader) -> Response:
    """The rule sets you may see, with their rules by status."""
    sets = service.list_rule_sets(session, actor=principal)
    names = sharing.directory_names(session, ids=[rs.owner_org_id for rs in sets])
    return render(request, "risk/list.html", rule_sets=[_summary(session, rs) for rs in sets], names=names)


@pages.get("/rules/chart.js")
def chart_script(principal: Reader) -> Response:
    """The script that draws backtest charts (served here, same origin, as the CSP asks)."""
    script = templates.get_template("risk/_chart_js.html").render()
    return Response(script, media_type="text/javascript; charset=utf-8")


@pages.get("/rules/new", response_class=HTMLResponse)
def editor_page(
    request: Request,
    session: DbSession,
    principal: Writer,
    start: Annotated[str, Query(alias="from", max_length=200, description="'starter' or a rule set id")] = "",
) -> Response:
    """The rule set editor: YAML with live checking; starts from a skeleton, the starter pack or a set you see."""
    if start == "starter":
        text = service.STARTER_PACK.read_text(encoding="utf-8")
    elif start:
        text = _yaml(service.to_file(session, service.get_rule_set(session, actor=principal, rule_set_id=start)))
    else:
        text = NEW_SET
    return _editor(request, text)


@pages.post("/rules/check", response_class=HTMLResponse)
def editor_check(
    request: Request, principal: Reader, text: Annotated[str, Form(alias="yaml", max_length=MAX_FILE)] = ""
) -> Response:
    """The editor's live check: an HTML fragment listing every problem of the file, with line and column."""
    doc, problems = _parse(text)
    return render(request, "risk/_problems.html", doc=doc, problems=problems[:MAX_PROBLEMS], total=len(problems))


@pages.post("/rules/new", response_class=HTMLResponse)
def editor_save(
    request: Request,
    session: DbSession,
    principal: Writer,
    text: Annotated[str, Form(alias="yaml", max_length=MAX_FILE)] = "",
) -> Response:
    """Save the editor's file; back to the editor with the problems when it has any."""
    try:
        rule_set, _ = _save(session, principal, text)
    except InvalidInput as exc:
        problems = [service.Problem(**p) for p in exc.extra.get("problems", [])]
        if not problems:
            problems = [service.Problem(exc.extra.get("field") or "rules.yaml", exc.detail)]
        return _editor(request, text, problems, status_code=422)
    return Response(status_code=303, headers={"Location": f"/rules/{rule_set.id}"})


@pages.get("/rules/{rule_set_id}", response_class=HTMLResponse)
def rule_set_page(request: Request, session: DbSession, principal: Reader, rule_set_id: str) -> Response:
    """One rule set: its rules, the latest backtest as a table and a chart, and (owner) backtest and publish."""
    rule_set = service.get_rule_set(session, actor=principal, rule_set_id=rule_set_id)
    return render(request, "risk/detail.html", **_set_context(session, principal, rule_set))


@pages.post("/rules/{rule_set_id}/backtest", response_class=HTMLResponse)
def rule_set_backtest(
    request: Request,
    session: DbSession,
    principal: Writer,
    rule_set_id: str,
    start: Annotated[date, Form(alias="from")],
    end: Annotated[date, Form(alias="to")],
) -> Response:
    """Run a backtest from the set's page (htmx): the page's body again, with the new measures."""
    message = error = None
    try:
        data = BacktestIn.model_validate({"from": start, "to": end})
    except ValidationError:
        error = "'To' must be after 'From'."
    else:
        record = service.backtest(
            session, actor=principal, rule_set_id=rule_set_id, start=midnight(data.start), end=midnight(data.end)
        )
        message = f"Backtest over {record.declarations:,} declarations recorded."
    rule_set = service.get_rule_set(session, actor=principal, rule_set_id=rule_set_id)
    context = _set_context(session, principal, rule_set, message=message, error=error)
    return render(request, "risk/_body.html", **context)


@pages.post("/rules/{rule_set_id}/publish", response_class=HTMLResponse)
def rule_set_publish(request: Request, session: DbSession, principal: Writer, rule_set_id: str) -> Response:
    """Publish from the set's page (htmx): the page's body again, saying what was published or why not."""
    message = error = None
    try:
        published = service.publish(session, actor=principal, rule_set_id=rule_set_id)
    except InvalidInput as exc:
        error = exc.detail
    else:
        keys = ", ".join(r.key for r in published)
        message = f"Published {keys}." if keys else "Nothing to publish: no draft rules."
    rule_set = service.get_rule_set(session, actor=principal, rule_set_id=rule_set_id)
    context = _set_context(session, principal, rule_set, message=message, error=error)
    return render(request, "risk/_body.html", **context)
