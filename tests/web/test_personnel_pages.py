"""Personnel pages in headless Chromium: the Delta terminal's security officer sees the staff register with vetting
highlighted and the insiders' signal counts, adds an employee, opens an insider's page (signals with their reasons,
the hour-of-day chart) and runs the screening; the police give a justification before they see anything and then
also see the presence near a seized container, which the terminal cannot; customs see no staff at all.

The shared demo (`tests/web/conftest.py`) loads the staff (`personnel.generator.demo`: 120 employees of the Delta
terminal shared AMBER with its security partners, a week of their access logs over the simulated port day, customs'
seizure of the container an insider was near, and the terminal's first screening). The insiders are those of the
generator's default seed.
"""

from __future__ import annotations

import pytest

from portguard.personnel import generator
from tests.web.conftest import sign_in

pytestmark = [pytest.mark.browser]

REASON = "ROTT-2026-114: staff near the seized reefer"


@pytest.fixture(scope="module")
def insiders() -> dict[str, str]:
    """modus -> badge id of the generator's default insiders (the employee linked to a seizure's party included)."""
    gen = generator.generate(n=120, seed=7, linked={"phone": "+31101234567"}, watched={"name": "Someone Watched"})
    return {modus: badge for badge, modus in gen.insiders.items()}


def _row(page, badge: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#employees tr[data-badge='{badge}']")


def _counts(row) -> dict[str, int]:  # type: ignore[no-untyped-def]
    cells = row.locator(".sig")
    return {cells.nth(i).get_attribute("data-kind") or "": int(cells.nth(i).inner_text()) for i in range(cells.count())}


def test_the_register_shows_vetting_and_signal_counts(page, live_server, insiders):
    sign_in(page, live_server, "terminal.security")
    page.click("nav >> text=Personnel")
    page.wait_for_url(f"{live_server}/personnel")
    assert "120 visible to you" in page.locator("h1").inner_text()
    assert page.locator("#employees tr.row-expired").count() >= 3
    assert page.locator("#employees tr.row-expiring").count() >= 3
    expiring = page.locator("#employees tr.row-expiring").first
    assert expiring.get_attribute("data-vetting") == "expiring" and "expiring" in expiring.inner_text()
    assert _counts(_row(page, insiders["lookups"])) == {
        "outside_shift": 0,
        "lookup_outside_area": 6,
        "near_seized_container": 0,
    }
    assert _counts(_row(page, insiders["night"]))["outside_shift"] == 2
    # the terminal cannot read customs' seizure: the lasher near the seized box raises nothing for it
    assert sum(_counts(_row(page, insiders["near_seizure"])).values()) == 0
    flagged = page.locator("#employees td.signals:not([data-total='0'])")
    assert flagged.count() == 2

    page.fill("input[name=q]", insiders["lookups"])
    page.click("form.filters button")
    page.wait_for_url(f"{live_server}/personnel?*")
    assert page.locator("#employees tbody tr").count() == 1


def test_the_terminal_adds_an_employee(page, live_server):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/personnel")
    form = page.locator("#add-form")
    form.locator("input[name=name]").fill("Sanne van Dijk")
    form.locator("input[name=job_role]").fill("yard planner")
    form.locator("input[name=badge_id]").fill("DCT-0999")
    form.locator("select[name=vetting_status]").select_option("cleared")
    form.locator("input[name=vetting_expires]").fill("2030-01-31")
    form.locator("input[name=phone]").fill("06 2345 6789")
    form.locator("input[name=work_areas]").fill("YARD; QUAY")
    form.locator("input[name=shift_start]").fill("8")
    form.locator("input[name=shift_end]").fill("17")
    page.click("#add-employee")
    page.wait_for_url(f"{live_server}/personnel/emp_*")
    assert "Sanne van Dijk" in page.locator("h1").inner_text()
    assert page.locator("#badge").inner_text() == "DCT-0999"
    assert page.locator("#areas").inner_text() == "YARD, QUAY"
    assert page.locator("#shift").inner_text() == "08:00–17:00 mon–fri"
    assert page.locator("#no-signals").is_visible()

    page.goto(f"{live_server}/personnel")  # the same badge again is refused on the page, with the reason
    page.fill("#add-form input[name=name]", "Someone Else")
    page.fill("#add-form input[name=job_role]", "lasher")
    page.fill("#add-form input[name=badge_id]", "DCT-0999")
    page.click("#add-employee")
    page.wait_for_selector("#personnel-error")
    assert "badge DCT-0999 is already registered" in page.locator("#personnel-error").inner_text()


def test_an_insiders_page_shows_the_reasons_and_the_chart(page, live_server, insiders):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/personnel")
    _row(page, insiders["lookups"]).locator("a").click()
    page.wait_for_url(f"{live_server}/personnel/emp_*")
    items = page.locator("#signal-list li")
    assert items.count() == 6
    assert {items.nth(i).get_attribute("data-kind") for i in range(6)} == {"lookup_outside_area"}
    first = items.first.inner_text()
    assert "looked up" in first and "YARD R" in first and "outside the work areas GATE IN, GATE OUT" in first
    assert page.locator("#areas").inner_text() == "GATE IN, GATE OUT"
    page.wait_for_function("document.getElementById('hours-chart').dataset.rendered > 0")
    assert page.locator("#hours-chart svg").count() == 1
    # the demo's first screening (the terminal's own) found nothing on this one
    assert "no watch-list or network hit" in page.locator("#screening").inner_text()


def test_the_police_give_a_reason_first_and_see_the_seizure_signal(page, live_server, insiders):
    sign_in(page, live_server, "police.analyst")
    page.click("nav >> text=Personnel")
    page.wait_for_url(f"{live_server}/personnel")
    assert page.locator("#reason-form").is_visible() and page.locator("#employees").count() == 0
    page.fill("#reason-form input[name=justification]", REASON)
    page.click("#give-reason")
    page.wait_for_url(f"{live_server}/personnel?justification=*")
    assert REASON in page.locator("#stated-reason").inner_text()
    assert page.locator("#add-form").count() == 0
    assert _counts(_row(page, insiders["near_seizure"]))["near_seized_container"] == 2
    _row(page, insiders["near_seizure"]).locator("a").click()
    page.wait_for_url(f"{live_server}/personnel/emp_*justification=*")
    near = page.locator("#signal-list li[data-kind='near_seized_container']")
    assert near.count() == 2
    assert "the box was seized" in near.first.inner_text() and "h later" in near.first.inner_text()
    assert REASON in page.locator("#stated-reason").inner_text()


def test_the_terminal_runs_the_screening(page, live_server, insiders):
    sign_in(page, live_server, "terminal.security")
    page.goto(f"{live_server}/personnel/screening")
    rows = page.locator("#results tbody tr")
    total = rows.count()
    assert total >= 120
    page.fill("#run-form input[name=justification]", "weekly staff screening")
    page.click("#run-screening")
    page.wait_for_url(f"{live_server}/personnel/screening?ran=*")
    assert page.url.endswith(f"ran={total}")
    assert "Last run" in page.locator("main > p.muted").first.inner_text()
    screened = page.locator("#results tbody tr td:nth-child(4)").all_inner_texts()
    assert len(screened) == total and "—" not in screened
    # the terminal may read no network run: nobody is linked to a seizure for it; the demo's public watch list it
    # may read, and one employee bears the name of a person on it
    assert page.locator("#results .network-hit").count() == 0
    watched = page.locator(f"#results tr[data-badge='{insiders['watched']}']")
    caption = watched.locator(".watchlist-hit strong").inner_text()
    assert caption in watched.locator("td").first.inner_text() and "same name" in watched.inner_text()
    assert page.locator("#results tbody tr").first.get_attribute("data-badge") == insiders["watched"]


def test_the_police_screening_finds_the_employee_linked_to_a_seizure(page, live_server, insiders):
    sign_in(page, live_server, "police.analyst")
    page.goto(f"{live_server}/personnel/screening")
    page.fill("#reason-form input[name=justification]", REASON)
    page.click("#give-reason")
    page.wait_for_url(f"{live_server}/personnel/screening?justification=*")
    assert page.locator("#run-form input[name=justification]").input_value() == REASON
    page.click("#run-screening")
    page.wait_for_url(f"{live_server}/personnel/screening?*ran=*")
    row = page.locator(f"#results tr[data-badge='{insiders['linked']}']")
    assert row.count() == 1 and int(row.get_attribute("data-hits") or 0) >= 1
    assert "party to a seized declaration" in row.locator(".network-hit").first.inner_text()
    assert page.locator("#results tbody tr").first.get_attribute("data-badge") == insiders["linked"]  # strongest first
    assert int(page.locator("#flagged").inner_text()) >= 1
    row.locator("a").click()
    page.wait_for_url(f"{live_server}/personnel/emp_*justification=*")
    assert "party to a seized declaration" in page.locator("#screening").inner_text()


def test_customs_see_no_staff(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    assert page.locator("nav >> text=Personnel").count() == 0
    response = page.goto(f"{live_server}/personnel")
    assert response is not None and response.status == 403
