"""The workbench in headless Chromium: sign-in, navigation per role, notes, admin and the audit viewer."""

from __future__ import annotations

from portguard import demo
from tests.web.conftest import sign_in

pytestmark = __import__("pytest").mark.browser


def _nav(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("nav[aria-label=Main] a").evaluate_all("els => els.map(e => e.getAttribute('href'))")


def test_login_page_refuses_a_wrong_password(page, live_server):
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    page.fill("input[name=username]", "nl.analyst")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.locator("[role=alert]").inner_text()
    assert _nav(page) == []


def test_customs_analyst_sees_notes_but_no_admin(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    assert _nav(page) == [
        "/",
        "/declarations",
        "/ingests",
        "/rules",
        "/selection",
        "/models",
        "/port-alerts",
        "/containers",
        "/release",
        "/network",
        "/watchlists",
        "/substances",
        "/alerts",
        "/notes",
    ]
    page.click("nav >> text=Notes")
    rows = page.locator("table.grid tbody tr")
    titles = rows.locator("strong").all_inner_texts()
    assert "Antwerp: cloned container numbers" in titles  # AMBER, shared with the alliance group
    assert "Extraction team identified" not in titles  # police AMBER+STRICT, LED
    page.fill("input[name=title]", "Playwright note")
    page.fill("textarea[name=body]", "Written in a browser test")
    page.select_option("select[name=handling]", "AMBER+STRICT")
    page.click("text=Save note")
    page.wait_for_url(f"{live_server}/notes")
    assert "Playwright note" in page.locator("table.grid").inner_text()
    response = page.goto(f"{live_server}/admin")
    assert response is not None and response.status == 403


def test_terminal_security_does_not_see_customs_only_notes(page, live_server):
    sign_in(page, live_server, "terminal.security")
    assert _nav(page) == ["/", "/port-alerts", "/containers", "/release", "/watchlists", "/personnel", "/notes"]
    page.goto(f"{live_server}/notes")
    text = page.locator("table.grid").inner_text()
    assert "Gate camera outage" in text
    assert "Fruit from Guayaquil" not in text


def test_platform_admin_sees_admin_and_audit_and_verifies_the_chain(page, live_server):
    sign_in(page, live_server, "admin")
    assert _nav(page) == ["/", "/notes", "/admin", "/audit"]
    page.click("nav >> text=Organisations & users")
    assert page.locator("#orgs tbody tr").count() == len(demo.ORGS)
    assert "nl.analyst" in page.locator("#users").inner_text()
    page.click("nav >> text=Audit")
    assert page.locator("table.audit tbody tr").count() > 10
    chart = page.locator("#activity-chart svg")
    chart.wait_for()
    assert page.locator("#activity-chart").get_attribute("data-rendered") not in (None, "0")
    assert chart.locator(".mark-rect path").count() > 0  # one bar segment per day and action
    page.click("text=Verify chain")
    status = page.locator("#verify [role=status]")
    status.wait_for()
    assert "Chain intact" in status.inner_text()
    page.screenshot(path=str(__import__("pathlib").Path(__import__("tempfile").gettempdir()) / "portguard-audit.png"))


def test_sign_out_ends_the_session(page, live_server):
    sign_in(page, live_server, "nl.admin")
    assert _nav(page) == ["/", "/notes", "/admin", "/audit"]
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/notes")
    assert page.url.startswith(f"{live_server}/login")
