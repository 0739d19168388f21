"""Rule pages in headless Chromium: the list, a set's page with its backtest chart and publish, the live editor,
and the rules a declaration hits on its page.

The sets these tests need are made through the JSON API of the live server, signed in as the Dutch analyst (the
browser context's cookie and the page's CSRF token), so the pages are tested on data written the way a client would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser

GROUP = "Alliance customs authorities"  # the demo's group of Dutch and Belgian customs
DEMO_PERIOD = {"from": "2025-01-01", "to": "2025-04-02"}  # the demo declarations are lodged in Q1 2025
PURPOSE = "Bananas are the most frequent cover load of the large cocaine seizures in Rotterdam and Antwerp."


def rule_set(key: str, title: str, *, example: bool = False, when: str = "hs4 = '0803'") -> str:
    return yaml.safe_dump(
        {
            "id": key,
            "title": title,
            "example": example,
            "handling": "AMBER",
            "sharing_group": GROUP,
            "rules": [
                {
                    "id": "WEB-001",
                    "title": "Fresh bananas",
                    "purpose": PURPOSE,
                    "instructions": "Scan the reefer and check the cooling unit.",
                    "when": when,
                    "action": "scan",
                    "weight": 2,
                },
                {
                    "id": "WEB-002",
                    "title": "Cocoa beans",
                    "purpose": "Cocoa from West Africa, a rising route.",
                    "when": "hs4 = '1801'",
                    "action": "yellow",
                },
            ],
        },
        sort_keys=False,
    )


def _api(page, live_server: str, method: str, path: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    """A call to the JSON API in the page's signed-in context, with the page's CSRF token."""
    headers = json.loads(page.get_attribute("body", "hx-headers") or "{}") | kwargs.pop("headers", {})
    response = page.request.fetch(f"{live_server}{path}", method=method, headers=headers, **kwargs)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def _save(page, live_server: str, text: str) -> str:  # type: ignore[no-untyped-def]
    saved = _api(page, live_server, "POST", "/api/rule-sets", data=text, headers={"Content-Type": "application/yaml"})
    return str(saved["id"])


@pytest.fixture(scope="module")
def published_set(browser, live_server) -> str:  # type: ignore[no-untyped-def]
    """An example set of Dutch customs shared with the Alliance group, backtested and published."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, "nl.analyst")
    set_id = _save(page, live_server, rule_set("web-bananas", "Web: bananas and cocoa", example=True))
    _api(page, live_server, "POST", f"/api/rule-sets/{set_id}/backtest", data=json.dumps(DEMO_PERIOD),
         headers={"Content-Type": "application/json"})  # fmt: skip
    published = _api(page, live_server, "POST", f"/api/rule-sets/{set_id}/publish")
    assert published["published"] == ["WEB-001", "WEB-002"]
    context.close()
    return set_id


def test_rules_list_shows_shared_sets_with_status_and_example_badge(page, live_server, published_set):
    sign_in(page, live_server, "be.analyst")
    page.click("nav >> text=Rules")
    page.wait_for_url(f"{live_server}/rules")
    row = page.locator(f"#rule-sets tr[data-id='{published_set}']")
    assert "Web: bananas and cocoa" in row.inner_text()
    assert row.locator(".badge-example").inner_text().lower() == "example"
    assert row.locator(".count-published").inner_text() == "2" and row.locator(".count-draft").inner_text() == "0"
    assert "on record" in row.inner_text()
    assert "Dutch Customs – Rotterdam" in row.inner_text()  # the owner by name, not by id
    row.locator("a").first.click()
    assert page.locator("h1").inner_text().startswith("Web: bananas and cocoa")
    assert f"shared with {GROUP}" in page.locator("main").inner_text()
    assert page.locator("#publish").count() == 0  # Belgian customs read the Dutch set, they do not publish it
    assert page.locator("#backtest-form").count() == 0

    page.click("text=Sign out")
    sign_in(page, live_server, "terminal.security")
    assert "/rules" not in page.locator("nav[aria-label=Main]").inner_html()
    response = page.goto(f"{live_server}/rules")
    assert response is not None and response.status == 403


def test_rule_set_page_runs_a_backtest_draws_the_chart_and_publishes(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    set_id = _save(page, live_server, rule_set("web-draft", "Web: drafts to publish"))
    page.goto(f"{live_server}/rules/{set_id}")
    rules = page.locator("#rules tbody tr")
    assert rules.count() == 2
    first = rules.first.inner_text()
    assert "Fresh bananas" in first and PURPOSE in first and "hs4 = '0803'" in first and "scan" in first
    assert "Scan the reefer" in first and "draft" in first
    assert page.locator("#no-backtest").is_visible()
    assert page.locator("#publish").is_disabled()  # no backtest of this version yet

    page.fill("input[name=from]", DEMO_PERIOD["from"])
    page.fill("input[name=to]", DEMO_PERIOD["to"])
    page.click("#run-backtest")
    page.wait_for_selector("#backtest-chart svg")
    assert "Backtest over" in page.locator("#rule-set-message").inner_text()
    table = page.locator("#backtest-table tbody tr")
    assert table.count() == 2
    bananas = table.first.locator("td").all_inner_texts()
    assert bananas[0] == "WEB-001" and int(bananas[1].replace(",", "")) > 0 and bananas[5].endswith("%")
    assert "base irregularity rate" in page.locator("#backtest-summary").inner_text()
    chart = page.locator("#backtest-chart")
    page.wait_for_function("document.querySelector('#backtest-chart').dataset.rendered > 0")
    assert chart.locator("svg .mark-rect path").count() >= 2  # bars of precision and lift
    assert "irregularity precision" in chart.inner_text() and "lift over the base rate" in chart.inner_text()

    page.click("#publish")
    page.wait_for_selector("#rule-set-message:text('Published WEB-001, WEB-002.')")
    assert page.locator("#rules tbody tr .status-published").count() == 2
    assert page.locator("#publish").is_disabled()  # nothing left to publish
    page.reload()  # the chart is drawn on a full page load too
    page.wait_for_selector("#backtest-chart svg")


def test_editor_checks_the_file_live_and_saves_it(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/rules")
    page.click("#new-rule-set")
    page.wait_for_selector("#check-ok")  # the skeleton checks on load
    editor = page.locator("#yaml")

    bad = rule_set("web-editor", "Web: written in the editor", when="origin IN (SELECT 1)")
    editor.fill(bad)
    editor.press("End")  # a key goes up: the check runs after 500 ms
    problems = page.locator("#problem-list tbody tr")
    problems.first.wait_for()
    assert page.locator("#check-ok").count() == 0
    cells = problems.first.locator("td").all_inner_texts()
    assert cells[0] == "rules[0] (WEB-001).when"
    assert cells[1].startswith("1") and cells[2] == "12"
    assert "SUBQUERY is not allowed" in cells[3] and cells[4] == "SELECT"
    assert "1 problem" in page.locator("#problem-count").inner_text()

    editor.fill(rule_set("web-editor", "Web: written in the editor"))
    editor.press("End")
    page.wait_for_selector("#check-ok")
    assert page.locator("#problem-list").count() == 0
    assert "2 rules" in page.locator("#check-ok").inner_text()

    page.click("#save")
    page.wait_for_url(f"{live_server}/rules/*:web-editor")
    assert page.locator("h1").inner_text().startswith("Web: written in the editor")
    assert page.locator("#rules tbody tr .status-draft").count() == 2


def test_editor_save_with_problems_shows_them(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/rules/new")
    page.locator("#yaml").fill("id: broken\ntitle: [unclosed\n")
    page.click("#save")
    assert "invalid YAML" in page.locator("#problem-list").inner_text()
    assert page.locator("#yaml").input_value().startswith("id: broken")  # the text is kept


def test_declaration_page_lists_the_rules_it_hits_with_their_purpose(page, live_server, published_set):
    sign_in(page, live_server, "be.analyst")  # the set is Dutch, shared with the Belgians through the group
    page.goto(f"{live_server}/declarations?hs=0803")
    page.locator("#declarations tbody tr td:first-child a").first.click()
    page.wait_for_selector("#rule-hits")
    hit = page.locator(f"#rule-hits tr[data-rule='{published_set}/WEB-001']")
    text = hit.inner_text()
    assert "Fresh bananas" in text and PURPOSE in text and "scan" in text and "Web: bananas and cocoa" in text
    assert "(Dutch Customs – Rotterdam)" in text
    assert page.locator("#marking").inner_text().startswith("owner Belgian Customs – Antwerp")
    assert page.locator(f"#rule-hits tr[data-rule='{published_set}/WEB-002']").count() == 0  # not cocoa
    hit.locator("a").click()
    page.wait_for_url(f"{live_server}/rules/{published_set}")
