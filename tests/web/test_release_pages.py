"""Release pages in headless Chromium: the shipping line sees the chain of its right and the three lights; the terminal
sets its light and runs gate checks from the chain page and sees the decision; a haulier registers a driver and sees
the token once; an organisation outside the right's group does not see it.

The demo has no release rights, so the module's right is made through the JSON API from each party's signed-in
browser context (with the page's CSRF token), the way a client would: the line issues it for the demo's Delta
terminal, shared with the "Rotterdam port community" group, and passes it to Polder Haulage; the haulier registers a
driver and assigns it; Dutch customs switch the customs light green. The terminal light is left to the page. The
tests run in file order (the gate test uses the right as the first test left it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from stdnum import iso6346

from tests.web.conftest import sign_in

pytestmark = [pytest.mark.browser]

JSON = {"Content-Type": "application/json"}
CONTAINER = "NSLU" + "424242" + iso6346.calc_check_digit("NSLU424242")


def _csrf(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(json.loads(page.get_attribute("body", "hx-headers") or "{}"))


def _api(page, live_server: str, method: str, path: str, body: Any = None) -> Any:  # type: ignore[no-untyped-def]
    """A call to the JSON API in the page's signed-in context, with the page's CSRF token."""
    headers = _csrf(page) | (JSON if body is not None else {})
    data = json.dumps(body) if body is not None else None
    response = page.request.fetch(f"{live_server}{path}", method=method, headers=headers, data=data)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def _as(browser, live_server: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, username)
    return context, page


@pytest.fixture(scope="module")
def release(browser, live_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A right at a driver of Polder Haulage with the commercial and customs lights green: ids and the token."""
    context, page = _as(browser, live_server, "line.security")
    orgs = {o["name"]: o["id"] for o in _api(page, live_server, "GET", "/api/orgs?limit=500")["items"]}
    groups = {g["name"]: g["id"] for g in _api(page, live_server, "GET", "/api/groups?limit=500")["items"]}
    right = _api(
        page,
        live_server,
        "POST",
        "/api/release/rights",
        {
            "container_number": CONTAINER,
            "transport_document": "NSLU-RTM-2026-0042",
            "consignee": "Fresh Fruit Imports BV",
            "terminal_org_id": orgs["Delta Container Terminal"],
            "sharing_group_id": groups["Rotterdam port community"],
        },
    )
    rid = right["id"]
    _api(page, live_server, "POST", f"/api/release/rights/{rid}/transfer", {"to_org_id": orgs["Polder Haulage"]})
    context.close()

    context, page = _as(browser, live_server, "haulier.security")
    driver = _api(
        page, live_server, "POST", "/api/release/drivers", {"name": "Jan de Rijder", "document_number": "NL-1"}
    )
    _api(page, live_server, "POST", f"/api/release/rights/{rid}/assign", {"driver_id": driver["id"]})
    context.close()

    context, page = _as(browser, live_server, "nl.officer")
    _api(page, live_server, "POST", f"/api/release/rights/{rid}/lights", {"light": "customs", "ok": True})
    context.close()
    return {"id": rid, "token": driver["token"], "driver": driver["id"]}


def _lights(page) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {
        name: page.get_attribute(f"#light-{name}", "data-ok") == "true"
        for name in ("commercial", "customs", "terminal")
    }


def test_the_line_sees_the_chain_and_the_lights(page, live_server, release):
    sign_in(page, live_server, "line.security")
    page.click("nav >> text=Release")
    page.wait_for_url(f"{live_server}/release")
    row = page.locator(f"#rights tr[data-id='{release['id']}']")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == CONTAINER and cells[3] == "Polder Haulage" and cells[5] == "at_driver"
    dots = row.locator(".dot")
    assert [dots.nth(i).get_attribute("data-ok") for i in range(3)] == ["true", "true", "false"]
    assert page.locator("#issue-form").count() == 1 and page.locator("#gate-form").count() == 0

    row.locator("a").click()
    page.wait_for_url(f"{live_server}/release/{release['id']}")
    assert CONTAINER in page.locator("h1").inner_text()
    assert page.locator("#right-status").inner_text() == "at_driver"
    assert page.locator("#right-holder").inner_text() == "Polder Haulage"
    assert page.locator("#right-driver").inner_text() == "Jan de Rijder"
    assert _lights(page) == {"commercial": True, "customs": True, "terminal": False}
    assert "Northsea Shipping Line" in page.locator("#light-commercial").inner_text()
    assert "Dutch Customs – Rotterdam" in page.locator("#light-customs").inner_text()
    assert "not yet given" in page.locator("#light-terminal").inner_text()

    steps = page.locator("#chain li")
    assert [steps.nth(i).get_attribute("data-action") for i in range(steps.count())] == [
        "issued",
        "transferred",
        "assigned",
        "light",
    ]
    assert "Northsea Shipping Line → Polder Haulage" in steps.nth(1).inner_text()
    assert "Jan de Rijder" in steps.nth(2).inner_text()
    # the line no longer holds it: it may revoke, not pass it on, set no light and check no gate
    assert page.locator("#revoke-form").is_visible()
    for form in ("#transfer-form", "#assign-form", "#customs-light-form", "#terminal-light-form", "#gate-form"):
        assert page.locator(form).count() == 0, form


def test_the_terminal_runs_gate_checks_from_the_chain_page(page, live_server, release):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/release/{release['id']}")
    assert page.locator("#gate-form input[name=container_number]").input_value() == CONTAINER
    assert page.locator("#revoke-form").count() == 0 and page.locator("#customs-light-form").count() == 0

    # the right driver, but the terminal light is still red
    page.fill("#gate-form input[name=driver_token]", release["token"])
    page.click("#gate-check")
    page.wait_for_selector("#gate-decision")
    assert page.get_attribute("#gate-decision", "data-allowed") == "false"
    assert page.locator("#gate-verdict").inner_text().startswith("Gate-out denied")
    assert page.locator("#gate-reason").inner_text() == "terminal light not green"
    assert "Port alert raised" in page.locator("#gate-alerts").inner_text()
    assert page.locator("#chain li").last.get_attribute("data-action") == "gate_denied"

    # the terminal switches its light green from the page
    page.click("#terminal-green")
    page.wait_for_url(f"{live_server}/release/{release['id']}")
    assert _lights(page) == {"commercial": True, "customs": True, "terminal": True}
    assert "Delta Container Terminal" in page.locator("#light-terminal").inner_text()

    # a token that is not the assigned driver's
    page.fill("#gate-form input[name=driver_token]", "pgd_" + "x" * 43)
    page.click("#gate-check")
    page.wait_for_selector("#gate-decision")
    assert page.get_attribute("#gate-decision", "data-allowed") == "false"
    assert "identity token is not that of the driver assigned" in page.locator("#gate-reason").inner_text()

    # the driver's own token: allowed, and the right is used
    page.fill("#gate-form input[name=driver_token]", release["token"])
    page.click("#gate-check")
    page.wait_for_selector("#gate-decision")
    assert page.get_attribute("#gate-decision", "data-allowed") == "true"
    assert page.locator("#gate-verdict").inner_text().startswith("Gate-out allowed")
    assert "Jan de Rijder" in page.locator("#gate-reason").inner_text()
    assert page.locator("#right-status").inner_text() == "used"
    assert page.locator("#chain li").last.get_attribute("data-action") == "gate_allowed"
    assert page.locator("#gate-form input[name=driver_token]").input_value() == ""  # never echoed back
    assert release["token"] not in page.content()

    # and a second pick-up is refused
    page.fill("#gate-form input[name=driver_token]", release["token"])
    page.click("#gate-check")
    page.wait_for_selector("#gate-decision")
    assert "already used" in page.locator("#gate-reason").inner_text()


def test_the_terminal_checks_a_container_without_a_right_from_the_list(page, live_server):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/release")
    other = "NSLU" + "000001" + iso6346.calc_check_digit("NSLU000001")
    page.fill("#gate-form input[name=container_number]", other)
    page.fill("#gate-form input[name=driver_token]", "pgd_unknown")
    page.click("#gate-check")
    page.wait_for_selector("#gate-decision")
    assert page.get_attribute("#gate-decision", "data-allowed") == "false"
    assert page.locator("#gate-reason").inner_text() == f"no release right for container {other} at this terminal"


def test_a_haulier_registers_a_driver_and_sees_the_token_once(page, live_server):
    sign_in(page, live_server, "haulier.security")
    page.goto(f"{live_server}/release")
    page.fill("#driver-form input[name=name]", "Piet Vermeer")
    page.fill("#driver-form input[name=document_number]", "NL-77")
    page.click("#register-driver")
    page.wait_for_selector("#new-driver-token")
    token = page.locator("#new-driver-token").inner_text()
    assert token.startswith("pgd_") and len(token) > 40
    page.goto(f"{live_server}/release")
    assert "Piet Vermeer" in page.locator("#driver-list").inner_text()
    assert token not in page.content()


def test_an_organisation_outside_the_group_does_not_see_the_right(page, live_server, release):
    sign_in(page, live_server, "be.analyst")  # Belgian customs: not in the Rotterdam port community
    page.goto(f"{live_server}/release")
    assert page.locator(f"#rights tr[data-id='{release['id']}']").count() == 0
    response = page.goto(f"{live_server}/release/{release['id']}")
    assert response is not None and response.status == 404
