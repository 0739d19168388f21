"""Property-based tests of the whole API from its own OpenAPI document, with Schemathesis.

The document is fetched the way a client would (`GET /api/openapi.json`, which needs a token), then for every
operation Schemathesis generates requests, deterministically (`derandomize=True`, no example database) and boundedly
(`MAX_EXAMPLES` per operation and generation mode):

* with a platform administrator's token over seeded organisations, users, a sharing group and notes, in positive
  mode (valid requests) and negative mode (requests that break the schema): no answer is a 5xx; a success conforms
  to the document (status code, content type, body schema); an error is an RFC 9457 problem with an expected status;
  invalid input is rejected;
* without a token: every operation except the allowlisted public ones answers 401 problem+json.

The generated runs use the SQLite back-end only by default, to keep the suite quick (set
`PORTGUARD_SCHEMATHESIS_BACKENDS=sqlite,postgresql` to run them on both); the PostgreSQL-specific failure they found,
NUL characters in text answered with a 500, is pinned on both back-ends by `test_nul_characters_are_refused_not_500`.
The number of generated cases is kept in `CASES` and printed (`pytest -s`) as `schemathesis: N cases over M operations`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from portguard.core.policy import Handling, LegalRegime, OrgKind, Role
from portguard.sharing import auth, service
from portguard.sharing.models import GroupIn, NoteIn
from tests.conftest import bearer
from tests.test_routes import PUBLIC

MAX_EXAMPLES = 25
BACKENDS = [
    pytest.param(b, marks=pytest.mark.postgres) if b == "postgresql" else b
    for b in os.environ.get("PORTGUARD_SCHEMATHESIS_BACKENDS", "sqlite").split(",")
]
PROBLEM = "application/problem+json"
# Statuses a valid request by a platform administrator may legitimately get: forbidden (a platform administrator
# holds no note:write), unknown id, duplicate name, a semantic check the schema cannot express (a role the
# organisation's kind may not hold, a country that is not two letters), an LED note read without a justification.
EXPECTED_ERRORS = frozenset({403, 404, 409, 422, 428})
# Invalid requests are refused with these (never with a 5xx, never accepted)
NEGATIVE_ERRORS = frozenset({400, 404, 405, 409, 415, 422, 428})

# Checks applied to successful answers. Error answers are checked differently (see `check_problem`): the document
# FastAPI generates lists only 2xx and 422 (as `application/json` `HTTPValidationError`), while the app answers
# every error, 422 included, as `application/problem+json`. `status_code_conformance`, `content_type_conformance`
# and `response_schema_conformance` would therefore fail on every legitimate 403/404/409/422/428, which says
# something about the document, not about the behaviour; they stay on for 2xx, where they are meaningful.
SUCCESS_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

UPLOADS = frozenset(
    {"POST /api/declarations/ingest", "POST /api/substances/import"}
)  # multipart file uploads (see `negative`)
CASES: Counter[str] = Counter()  # operation label -> cases run, over this module
NO_NEGATIVE: set[str] = set()  # operations for which no schema-breaking request exists
UNPARSEABLE_BEFORE_AUTH: set[str] = set()  # operations refusing an undecodable body before authenticating


def operation_label(case: Case) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _header(response: Any, name: str) -> str:
    """One header of a Schemathesis response (whose headers map lowercase names to lists of values)."""
    return ", ".join(response.headers.get(name.lower(), []))


def _unparseable_body(response: Any) -> bool:
    """FastAPI's answer to a body it cannot decode: 422 `json_invalid`, or 400 when the bytes are not even text."""
    body = response.json()
    if response.status_code == 400:
        return body.get("title") == "There was an error parsing the body"
    errors = body.get("errors") or []
    return bool(errors) and all(e.get("type") == "json_invalid" and e.get("loc", [None])[0] == "body" for e in errors)


def check_problem(case: Case, response: Any, allowed: frozenset[int]) -> None:
    """An error answer is a problem document about this request, with one of the `allowed` statuses."""
    assert response.status_code in allowed, (
        f"{operation_label(case)} answered {response.status_code}: {response.text[:500]}\n{case.as_curl_command()}"
    )
    content_type = _header(response, "content-type")
    assert content_type.startswith(PROBLEM), (
        f"{operation_label(case)} answered {response.status_code} as {content_type}"
    )
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body.get("title"), str) and body["title"]
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert isinstance(body.get("type"), str) and body["type"]
    if response.status_code == 422 and "errors" in body:
        assert all({"loc", "msg", "type"} <= set(e) for e in body["errors"])


def run_cases(
    operation: Any,
    strategy: st.SearchStrategy[Case],
    check: Callable[[Case], None],
    *,
    max_examples: int,
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> int:
    """Run `check` on the cases `strategy` draws, deterministically; the number of cases run.

    In negative mode, an operation whose inputs are all unconstrained strings (`GET /api/orgs/{org_id}`) has no
    invalid request to offer: Hypothesis reports that as `Unsatisfiable`, and the operation gets no negative case.
    """
    ran = 0

    @hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=strategy)
    def cases(case: Case) -> None:
        nonlocal ran
        ran += 1
        check(case)

    try:
        cases()
    except hypothesis.errors.Unsatisfiable:
        if mode.is_positive or ran:
            raise
        NO_NEGATIVE.add(operation.label)
    except BaseException as exc:
        exc.add_note(f"while testing {operation.label}")
        raise
    CASES[operation.label] += ran
    return ran


def operations(schema: Any) -> list[Any]:
    """Every operation of the schema (a broken one fails the test)."""
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())  # raises on an operation Schemathesis cannot read
    assert found
    return found


def modes(operation: Any) -> list[GenerationMode]:
    """Positive, and negative when the operation takes any input at all (else nothing can break its schema)."""
    inputs = (operation.path_parameters, operation.query, operation.headers, operation.cookies, operation.body)
    return list(GenerationMode) if any(len(i) for i in inputs) else [GenerationMode.POSITIVE]


def report(title: str, counts: dict[str, int], statuses: Counter[int]) -> None:
    seen = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"\nschemathesis: {sum(counts.values())} cases over {len(counts)} operations ({title}); statuses {seen}")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def seeded(db, make_user, make_org) -> dict[str, Any]:
    """A platform administrator who is also a customs analyst, and data to find: orgs, users, a group, notes."""
    admin = make_user(Role.PLATFORM_ADMIN, Role.CUSTOMS_ANALYST, username="root.admin")
    analyst = make_user(Role.CUSTOMS_ANALYST, org_id=admin.org_id, username="ana.lyst")
    police = make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE, username="po.lice")
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR, username="gate.keeper")
    make_org(name="Port of Antwerp-Bruges", kind=OrgKind.PORT_AUTHORITY, country="BE")
    make_org(name="Europol", kind=OrgKind.EU_AGENCY, country="NL", member=False)
    with db.session() as session:
        group = service.create_group(
            session, actor=None, data=GroupIn(name="North Range", org_ids=[admin.org_id, police.org_id])
        )
        notes = [
            service.create_note(session, actor=analyst.principal, data=NoteIn(title="t", body="b", handling=h))
            for h in (Handling.CLEAR, Handling.GREEN, Handling.AMBER, Handling.AMBER_STRICT)
        ]
        service.create_note(
            session,
            actor=analyst.principal,
            data=NoteIn(title="red", body="b", handling=Handling.RED, recipient_ids=[admin.user_id]),
        )
        led = service.create_note(
            session, actor=analyst.principal, data=NoteIn(title="led", body="b", legal_regime=LegalRegime.LED)
        )
        service.create_note(
            session,
            actor=police.principal,
            data=NoteIn(title="shared", body="b", handling=Handling.AMBER, sharing_group_id=group.id),
        )
        spare, _ = auth.create_token(session, actor=None, user_id=admin.user_id, name="spare", days=30)
        ids = {
            "org_id": [admin.org_id, terminal.org_id],
            "user_id": [analyst.user_id, terminal.user_id],
            "note_id": [notes[0].id, notes[2].id, led.id],
            "token_id": [spare.id],
        }
    return {"admin": admin, "headers": bearer(db, admin), "ids": ids}


@pytest.fixture
def schema(app, seeded) -> Any:
    """The API's own OpenAPI document, fetched with a token as a client would."""
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=seeded["headers"])
    assert loaded.raw_schema == app.openapi()
    return loaded


def _strategy(operation: Any, mode: GenerationMode, ids: dict[str, list[str]]) -> st.SearchStrategy[Case]:
    """Generated cases, plus, for an operation with path parameters, cases that name seeded records."""
    strategy = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    if mode.is_positive and names and all(n in ids for n in names):
        known = [
            operation.as_strategy(generation_mode=mode, path_parameters={n: v for n in names}) for v in ids[names[0]]
        ]
        strategy = st.one_of(strategy, *known)
    return strategy


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("db", BACKENDS, indirect=True)
def test_api_with_a_token(schema, seeded):
    """No 5xx, successes conform to the document, errors are problems, invalid input is refused."""
    headers = seeded["headers"]
    ran: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    def positive(case: Case) -> None:
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        assert response.status_code != 401, f"the token stopped working: {operation_label(case)}"
        if response.status_code < 400:
            case.validate_response(response, checks=SUCCESS_CHECKS, headers=headers)
        else:
            case.validate_response(response, checks=[not_a_server_error], headers=headers)
            check_problem(case, response, EXPECTED_ERRORS)

    def negative(case: Case) -> None:
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        assert response.status_code != 401, f"the token stopped working: {operation_label(case)}"
        # `negative_data_rejection`: a request that breaks the schema must get a 4xx (not be accepted).
        # Not for file uploads: over multipart a "file" is bytes whatever JSON type Schemathesis meant (a file whose
        # content is `null` is a valid upload; the ingest then rejects its content, reported with status 200).
        checks = (
            [not_a_server_error] if operation_label(case) in UPLOADS else [not_a_server_error, negative_data_rejection]
        )
        case.validate_response(response, checks=checks, headers=headers)
        if response.status_code >= 400:
            check_problem(case, response, NEGATIVE_ERRORS)

    for operation in operations(schema):
        for mode in modes(operation):
            check = positive if mode.is_positive else negative
            strategy = _strategy(operation, mode, seeded["ids"])
            ran[operation.label] += run_cases(operation, strategy, check, max_examples=MAX_EXAMPLES, mode=mode)

    report("with a platform administrator's token, positive and negative", ran, statuses)
    assert all(ran.values()), f"operations without a single case: {[k for k, v in ran.items() if not v]}"
    assert sum(statuses[c] for c in statuses if c < 300) >= len(ran), "too few successes to check the document"
    if NO_NEGATIVE:
        print(f"schemathesis: no invalid request exists for {sorted(NO_NEGATIVE)}")
    # the administrator's token survived everything that was generated (no case revoked it)
    assert TestClient(schema.app).get("/api/me", headers=headers).status_code == 200


@pytest.mark.parametrize("db", BACKENDS, indirect=True)
def test_api_without_a_token(app, schema):
    """Every operation outside the public allowlist answers 401 problem+json to any request without a token."""
    with pytest.raises(schemathesis.errors.LoaderError):
        schemathesis.openapi.from_asgi("/api/openapi.json", app)  # the document itself needs a token
    ran: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    def anonymous(case: Case) -> None:
        response = case.call()
        statuses[response.status_code] += 1
        if (case.operation.method.upper(), case.operation.path) in PUBLIC:
            assert response.status_code < 500
            return
        if response.status_code in (400, 422) and _unparseable_body(response):
            # FastAPI decodes a JSON body before it runs any dependency, so a body that is not JSON at all is
            # refused before authentication. The answer says only that the bytes are not JSON, nothing about the
            # resource, so it is accepted here (and listed in the report); anything else must be a 401.
            check_problem(case, response, frozenset({400, 422}))
            UNPARSEABLE_BEFORE_AUTH.add(operation_label(case))
            return
        assert response.status_code == 401, (
            f"{operation_label(case)} answered {response.status_code}: {response.text[:300]}\n{case.as_curl_command()}"
        )
        check_problem(case, response, frozenset({401}))
        assert response.json()["instance"].startswith(case.operation.path.split("{")[0])

    for operation in operations(schema):
        for mode in modes(operation):
            ran[operation.label] += run_cases(
                operation, operation.as_strategy(generation_mode=mode), anonymous, max_examples=10, mode=mode
            )

    report("without a token", ran, statuses)
    assert all(ran.values())
    if UNPARSEABLE_BEFORE_AUTH:
        print(f"schemathesis: undecodable bodies refused before authentication: {sorted(UNPARSEABLE_BEFORE_AUTH)}")


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


NUL_REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "org body": ("POST", "/api/orgs", {"json": {"name": "nul\x00org", "kind": "customs_authority", "country": "NL"}}),
    "group body": ("POST", "/api/groups", {"json": {"name": "nul\x00group"}}),
    "note body": ("POST", "/api/notes", {"json": {"title": "nul\x00title", "body": "b"}}),
    "token body": ("POST", "/api/tokens", {"json": {"name": "nul\x00token"}}),
    "path parameter": ("GET", "/api/orgs/org%00x", {}),
    "query parameter": ("GET", "/api/users?org_id=org%00x", {}),
    "audit filter": ("GET", "/api/audit?object_type=n%00te", {}),
    "sign-in form": ("POST", "/login", {"data": {"username": "ad\x00min", "password": "x"}}),
}


@pytest.mark.parametrize("what", sorted(NUL_REQUESTS))
def test_nul_characters_are_refused_not_500(client, db, make_user, what):
    """PostgreSQL text cannot hold NUL: such input must be refused as invalid (4xx), never crash with a 500.

    Schemathesis' generated strings contain NUL now and then; this pins each entry point down on both back-ends.
    """
    admin = make_user(Role.PLATFORM_ADMIN)
    writer = make_user(Role.CUSTOMS_ANALYST)
    method, path, kwargs = NUL_REQUESTS[what]
    headers = bearer(db, writer if what == "note body" else admin)
    if path == "/login":  # a valid form token, so that the username reaches the database
        kwargs = {"data": {**kwargs["data"], "csrf_token": _form_token(client.get("/login").text)}}
    response = TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies).request(
        method, path, headers=headers, **kwargs
    )
    assert response.status_code < 500, response.text
    if db.dialect == "postgresql":  # SQLite stores NUL; PostgreSQL cannot, and says so as a 422 problem
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert "NUL" in response.json()["detail"]


def test_cases_were_counted():
    """The generated runs above counted their cases (printed with `pytest -s`); runs last in this module."""
    if not CASES:
        pytest.skip("no Schemathesis run was selected")
    assert all(v > 0 for v in CASES.values())
    print(f"\nschemathesis: {sum(CASES.values())} cases over {len(CASES)} operations (module total)")
