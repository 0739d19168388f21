"""Container tracking pages in headless Chromium, on the demo's simulated terminal day: the port-alert inbox (counts
chart, filter, acknowledge through htmx), a container's timeline (state, chart of its events and alerts, the event
table), the container search — and who sees the terminal's alerts (its security partners, not a haulier)."""

from __future__ import annotations

import pytest

from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def test_the_inbox_shows_alerts_with_a_chart_and_acknowledges_one(page, live_server):
    sign_in(page, live_server, "terminal.security")
    page.click("nav >> text=Port alerts")
    page.wait_for_url(f"{live_server}/port-alerts")
    page.wait_for_selector("#alert-counts[data-rendered]:not([data-rendered=''])")
    assert int(page.get_attribute("#alert-counts", "data-rendered")) > 0
    assert page.locator("#alert-counts svg").count() == 1
    rows = page.locator("#alerts tbody tr[data-detector]")
    assert rows.count() > 0
    detectors = set(rows.evaluate_all("rs => rs.map(r => r.dataset.detector)"))
    assert detectors <= {
        "impossible_order",
        "door_open",
        "seal_tamper",
        "clone",
        "hotel",
        "yard_move",
        "lane_bypass",
        "release_fraud",
    }
    first = rows.first
    alert_id = first.get_attribute("id")
    first.locator("input[name=note]").fill("camera footage checked")
    first.locator("button.ack").click()
    page.wait_for_selector(f"#{alert_id} .status-acknowledged")
    assert "camera footage checked" in page.inner_text(f"#{alert_id}")
    page.select_option("select[name=status]", "acknowledged")
    page.click("#alert-filter button")
    page.wait_for_url("**/port-alerts?status=acknowledged*")
    assert page.locator(f"#{alert_id}").count() == 1


def test_a_container_timeline_draws_its_events_and_alerts(page, live_server):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/port-alerts?detector=door_open&status=all")
    link = page.locator("#alerts tbody tr[data-detector] td a").first
    number = link.inner_text()
    link.click()
    page.wait_for_url(f"{live_server}/containers/{number}")
    page.wait_for_selector("#timeline-chart[data-rendered]:not([data-rendered=''])")
    events = page.locator("#events tbody tr").count()
    assert events > 3 and int(page.get_attribute("#timeline-chart", "data-rendered")) == events
    assert page.locator("#timeline-chart svg").count() == 1
    assert "door open" in page.inner_text("#container-alerts")
    assert page.locator("#events tr[data-code=DRO]").count() >= 1
    assert page.locator("#state strong").inner_text() != ""


def test_container_search_opens_a_timeline_or_says_there_is_none(page, live_server):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/containers")
    recent = page.locator("#recent tbody tr td a")
    assert recent.count() > 0
    page.fill("#container-search input[name=q]", "msku 123456 5")
    page.click("#container-search button")
    page.wait_for_url(f"{live_server}/containers/MSKU1234565")
    assert page.locator("#no-events").count() == 1 or page.locator("#events").count() == 1


def test_partners_see_the_terminal_alerts_and_a_haulier_does_not(browser, live_server):
    for username, sees in (("police.analyst", True), ("nl.analyst", True), ("haulier.security", False)):
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, live_server, username)
        page.goto(f"{live_server}/port-alerts?status=all")
        n = page.locator("#alerts tbody tr[data-detector]").count()
        assert (n > 0) == sees, f"{username} sees {n} alerts"
        context.close()
