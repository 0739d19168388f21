"""Substances and drug alert pages in headless Chromium: the registry (search by CAS and group, register a structure
and see the parent unmasking finds with its drawing, import a CSV, screen a goods line), the alert boxes (the Dutch
focal point's overdue formal notification acknowledged and answered "clear"; the EU agency sees every recipient with
Belgium's objection and the chart of their states; a draft written and sent from the page gets its recipients),
subscriptions (added, ended, the webhook secret never shown), the precursor hits on a declaration's page (an alert
drafted from a hit), and a terminal's officer, who sees none of it.

The shared demo (`tests/web/conftest.py`) loads the registry seeded from the shared precursor list by the EU agency,
the Dutch customs' designer precursor with its incident and alert, the EU agency's formal notification (Belgium
objected, the Netherlands has not acknowledged and was escalated), a draft, the focal points' subscriptions and the
precursor screening of the generated declarations. Every test also checks that the pages log no console error
(a Content-Security-Policy violation, a script error).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.web.conftest import sign_in

pytestmark = [pytest.mark.browser]

NOTIFICATION = "New BMK pre-precursor: methyl 3-oxo-4-phenylbutanoate"
SECRET = "web-test-secret-7f3a9c2e1b"


@pytest.fixture
def console(page) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Console errors and uncaught script errors of the test's page; none may be left at the end."""
    errors: list[str] = []

    def on_console(message) -> None:  # type: ignore[no-untyped-def]
        # a page answering a refused form with its status (422, 409) is logged as a failed load: expected
        if message.type == "error" and "the server responded with a status of 4" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield errors
    assert errors == []


def _rows(page, table: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#{table} tbody tr")


def _open_substance(page, base: str, query: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/substances?q={query}")
    _rows(page, "substances").first.locator("a").click()
    page.wait_for_url(f"{base}/substances/sub_*")


# ---------------------------------------------------------------- the registry


def test_the_registry_searches_by_cas_and_filters_by_group(page, live_server, console):
    sign_in(page, live_server, "nl.analyst")
    page.click("nav >> text=Substances")
    page.wait_for_url(f"{live_server}/substances")
    assert _rows(page, "substances").count() >= 49  # the 48 scheduled entries and the Dutch designer precursor
    bmk_row = page.locator("#substances tr[data-cas='103-79-7']")
    assert bmk_row.count() == 1
    cells = bmk_row.locator("td").all_inner_texts()
    assert cells[:5] == ["1-Phenyl-2-propanone", "BMK/P-2-P", "103-79-7", "2914 31 00", "EU cat. 1, UN Table I"]
    designer = page.locator("#substances tr", has_text="Methyl 3-oxo-4-phenylbutanoate")
    assert "not scheduled" in designer.inner_text() and "designer form" in designer.inner_text()

    page.fill("#search-form input[name=q]", "103-79-7")
    page.click("#search")
    page.wait_for_url(f"{live_server}/substances?*")
    assert _rows(page, "substances").count() == 1
    assert _rows(page, "substances").first.locator("td").first.inner_text() == "1-Phenyl-2-propanone"

    page.fill("#search-form input[name=q]", "")
    page.select_option("#search-form select[name=group]", "mdma")
    page.click("#search")
    page.wait_for_url(f"{live_server}/substances?*group=mdma*")
    groups = page.locator("#substances tbody tr td:nth-child(6)").all_inner_texts()
    names = page.locator("#substances tbody tr td:first-child").all_inner_texts()
    assert groups and set(groups) == {"mdma"}
    assert "Piperonal" in names and "Safrole" in names

    # the export links are the JSON API's, with the session cookie
    response = page.request.get(live_server + page.get_attribute("#export-csv", "href"))
    assert response.ok and response.text().startswith("name,abbrev,synonyms,cas")


def test_registering_a_structure_finds_its_parent_and_draws_it(page, live_server, console):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/substances")
    form = page.locator("#register-form")
    form.locator("input[name=name]").fill("Ethyl 3-oxo-4-phenylbutanoate")
    form.locator("input[name=synonyms]").fill("ethyl 4-phenylacetoacetate; EGPA")
    form.locator("input[name=smiles]").fill("O=C(OCC)CC(=O)Cc1ccccc1")
    form.locator("input[name=cn_code]").fill("2918 30 00")
    form.locator("select[name=handling]").select_option("GREEN")
    page.click("#register-button")
    page.wait_for_url(f"{live_server}/substances/sub_*")
    assert "Ethyl 3-oxo-4-phenylbutanoate" in page.locator("h1").inner_text()
    assert page.locator("#status-label").inner_text() == "not scheduled"
    assert "designer precursor" in page.locator("#marking").inner_text()
    assert "group amphetamine" in page.locator("#marking").inner_text()  # the parent's group
    assert page.locator("#smiles").inner_text() == "CCOC(=O)CC(=O)Cc1ccccc1"  # canonical, by RDKit
    assert re.fullmatch(r"[A-Z]{14}-[A-Z]{10}-[A-Z]", page.locator("#inchikey").inner_text())
    assert page.locator("#formula").inner_text() == "C12H14O3"
    assert page.locator("#parent-link").inner_text() == "1-Phenyl-2-propanone"
    reason = page.locator("#parent-reason").inner_text()
    assert "ester hydrolysis" in reason and "decarboxylation" in reason and "2 steps" in reason
    assert page.locator("#structure-svg svg").count() == 1
    assert page.locator("#structure-svg svg path").count() > 5

    page.click("#parent-link")  # the parent lists its designer forms
    page.wait_for_url(f"{live_server}/substances/sub_*")
    children = page.locator("#children-list li").all_inner_texts()
    assert any(c.startswith("Ethyl 3-oxo-4-phenylbutanoate") for c in children)
    assert any(c.startswith("Methyl 3-oxo-4-phenylbutanoate") for c in children)

    page.goto(f"{live_server}/substances")  # the same structure under another name is refused, on the page
    page.fill("#register-form input[name=name]", "EGPA again")
    page.fill("#register-form input[name=smiles]", "CCOC(=O)CC(=O)Cc1ccccc1")
    page.click("#register-button")
    page.wait_for_selector("#register-error")
    assert "Ethyl 3-oxo-4-phenylbutanoate" in page.locator("#register-error").inner_text()
    assert "same structure" in page.locator("#register-error").inner_text()
    assert page.locator("#register-form input[name=name]").input_value() == "EGPA again"


def test_importing_a_csv_reports_what_it_did(page, live_server, console, tmp_path):
    sign_in(page, live_server, "nl.analyst")
    good = tmp_path / "web-precursors.csv"
    good.write_text(
        "name,cas,cn_code,eu_category,un_1988_table,smiles,inchikey\n"
        "Web test 1-phenyl-2-butanone,1007-32-5,2914 39 00,,,CCC(=O)Cc1ccccc1,AAAAAAAAAAAAAA-BBBBBBBBBB-N\n"
        "Web test hydrocinnamic acid,501-52-0,2916 39 90,,,OC(=O)CCc1ccccc1,\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server}/substances")
    page.set_input_files("#import-form input[name=file]", str(good))
    page.click("#import-button")
    page.wait_for_selector("#import-report")
    assert page.locator("#import-created").inner_text() == "2"
    assert page.locator("#import-updated").inner_text() == "0"
    problems = page.locator("#import-problems li").all_inner_texts()
    assert len(problems) == 1 and "record 1" in problems[0] and "inchikey" in problems[0]
    names = page.locator("#substances tbody tr td:first-child").all_inner_texts()
    assert "Web test 1-phenyl-2-butanone" in names and "Web test hydrocinnamic acid" in names

    page.set_input_files("#import-form input[name=file]", str(good))  # again: nothing changes
    page.click("#import-button")
    page.wait_for_selector("#import-report")
    assert page.locator("#import-created").inner_text() == "0"
    assert page.locator("#import-updated").inner_text() == "0"

    bad = tmp_path / "bad.csv"
    bad.write_text("name,smiles\nSomething,CCO\n", encoding="utf-8")
    page.set_input_files("#import-form input[name=file]", str(bad))
    page.click("#import-button")
    page.wait_for_selector("#import-error")
    assert "missing columns" in page.locator("#import-error").inner_text()
    assert page.locator("#import-report").count() == 0


@pytest.mark.parametrize(
    ("description", "method"),
    [("CAS 103-79-7", "identifier"), ("Fenilacetona 200 kg", "name")],
)
def test_screening_a_goods_line_shows_the_hit_and_its_reason(page, live_server, console, description, method):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/substances")
    page.fill("#screen-form input[name=description]", description)
    page.click("#screen-button")
    page.wait_for_selector("#screen-hits")
    first = _rows(page, "screen-hits").first
    assert first.get_attribute("data-method") == method
    cells = first.locator("td").all_inner_texts()
    assert cells[0] == "1-Phenyl-2-propanone" and cells[1] == method
    assert cells[2].endswith("%") and int(cells[2].rstrip(" %")) > 0
    assert len(cells[4]) > 10  # the reason, in words
    assert page.locator("#screen-form input[name=description]").input_value() == description

    page.fill("#screen-form input[name=description]", "")  # nothing to screen: said on the page
    page.click("#screen-button")
    page.wait_for_selector("#screen-error")
    assert "goods description" in page.locator("#screen-error").inner_text()


def test_a_substance_page_shows_its_incidents_and_records_one(page, live_server, console):
    sign_in(page, live_server, "nl.analyst")
    _open_substance(page, live_server, "Methyl 3-oxo-4-phenylbutanoate")
    assert page.locator("#parent-link").inner_text() == "1-Phenyl-2-propanone"
    incidents = _rows(page, "incident-table")
    assert incidents.count() == 1
    cells = incidents.first.locator("td").all_inner_texts()
    assert cells[1:6] == ["stopped shipment", "1,200 kg", "Rotterdam, Maasvlakte II", "NLRTM", "NL"]
    assert cells[6] == "CN › NL"

    form = page.locator("#incident-form")
    form.locator("select[name=kind]").select_option("seizure")
    form.locator("input[name=occurred_on]").fill("2026-01-15")
    form.locator("input[name=quantity]").fill("45.5")
    form.locator("select[name=unit]").select_option("kg")
    form.locator("input[name=place]").fill("Antwerp, Deurganckdok")
    form.locator("input[name=port]").fill("beanr")
    form.locator("input[name=country]").fill("BE")
    form.locator("input[name=route]").fill("IN; AE; BE")
    form.locator("textarea[name=modus_operandi]").fill("Drums behind a front load of cleaning products.")
    page.click("#record-incident")
    page.wait_for_url(f"{live_server}/substances/sub_*#incidents")
    assert incidents.count() == 2
    cells = page.locator("#incident-table tr[data-kind='seizure'] td").all_inner_texts()
    assert cells[:7] == ["2026-01-15", "seizure", "45.5 kg", "Antwerp, Deurganckdok", "BEANR", "BE", "IN › AE › BE"]

    form.locator("input[name=place]").fill("Somewhere")  # a bad port is refused, on the page
    form.locator("input[name=port]").fill("ZZ1")
    form.locator("input[name=country]").fill("NL")
    page.click("#record-incident")
    page.wait_for_selector("#incident-error")
    assert "port" in page.locator("#incident-error").inner_text()
    assert incidents.count() == 2


# ---------------------------------------------------------------- drug alerts


def test_the_sender_sees_every_recipient_with_the_objection_and_the_chart(page, live_server, console):
    sign_in(page, live_server, "eu.analyst")
    page.click("nav >> text=Drug alerts")
    page.wait_for_url(f"{live_server}/alerts")
    page.click(".sub-tabs >> text=Sent")
    page.wait_for_url(f"{live_server}/alerts?box=sent")
    row = page.locator("#alerts tbody tr", has_text=NOTIFICATION)
    assert row.locator(".sub-acks").inner_text() == "1/2"
    assert "1 object" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"{live_server}/alerts/alr_*")
    assert page.locator("#alert-type").inner_text() == "formal notification"
    assert page.locator("#alert-status").inner_text() == "sent"
    assert "unmasks to 1-Phenyl-2-propanone" in page.locator("[data-field=identification_methods]").inner_text()
    assert page.locator("#send").count() == 0  # sent already

    belgium = page.locator("#recipients tbody tr", has_text="Belgian Customs")
    assert belgium.get_attribute("data-state") == "decided object"
    assert "Two consignments to Antwerp importers held." in belgium.inner_text()
    netherlands = page.locator("#recipients tbody tr", has_text="Dutch Customs")
    assert netherlands.get_attribute("data-state") == "overdue"
    assert "sub-overdue" in (netherlands.get_attribute("class") or "")
    assert netherlands.locator("td").nth(5).inner_text().strip() != ""  # escalated
    assert "nl.focal: NLRTM" in netherlands.locator(".sub-matched").inner_text()

    page.wait_for_function("document.getElementById('recipients-chart').dataset.rendered > 0")
    assert page.locator("#recipients-chart svg").count() == 1
    assert page.locator("#recipients-chart svg .mark-rect path").count() == 5
    deliveries = _rows(page, "deliveries")
    assert deliveries.count() >= 2
    assert {deliveries.nth(i).get_attribute("data-channel") for i in range(deliveries.count())} == {"nats"}
    assert "escalation" in page.locator("#deliveries").inner_text()


def test_the_dutch_focal_point_acknowledges_and_clears_the_overdue_notification(page, live_server, console, browser):
    sign_in(page, live_server, "nl.focal")
    page.click("nav >> text=Drug alerts")
    page.wait_for_url(f"{live_server}/alerts")
    row = page.locator("#alerts tbody tr", has_text=NOTIFICATION)
    assert row.get_attribute("data-state") == "overdue"
    assert row.locator(".sub-state-overdue").inner_text() == "overdue"
    assert "(escalated)" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"{live_server}/alerts/alr_*")
    alert_url = page.url.split("#")[0]
    assert page.locator("#your-state").inner_text() == "overdue"

    page.click("#acknowledge")
    page.wait_for_url(alert_url)
    assert page.locator("#your-state").inner_text() == "acknowledged"
    assert "by you" in page.locator("#your-ack").inner_text()
    assert page.locator("#acknowledge").count() == 0

    page.fill("#decide-form input[name=note]", "Nothing of it declared at Rotterdam this month.")
    page.click("#decide-clear")
    page.wait_for_url(alert_url)
    assert page.locator("#your-state").inner_text() == "decided clear"
    assert page.locator("#your-decision").inner_text().startswith("clear")
    assert "Nothing of it declared" in page.locator("#your-note").inner_text()

    page.goto(f"{live_server}/alerts")
    row = page.locator("#alerts tbody tr", has_text=NOTIFICATION)
    assert row.get_attribute("data-state") == "decided clear"

    other = browser.new_context()  # the sender sees the answer
    try:
        sender = other.new_page()
        sign_in(sender, live_server, "eu.analyst")
        sender.goto(alert_url)
        netherlands = sender.locator("#recipients tbody tr", has_text="Dutch Customs")
        assert netherlands.get_attribute("data-state") == "decided clear"
        assert "Nothing of it declared" in netherlands.inner_text()
    finally:
        other.close()


def test_a_draft_written_and_sent_from_the_page_gets_its_recipients(page, live_server, console):
    sign_in(page, live_server, "nl.analyst")
    _open_substance(page, live_server, "94-59-7")
    safrole = page.url.rsplit("/", 1)[-1]
    page.click("#draft-alert")
    page.wait_for_url(f"{live_server}/alerts?box=drafts&substance_id=*")
    assert "Draft: safrole-rich oils" in page.locator("#alerts").inner_text()  # the demo's draft
    form = page.locator("#alert-form")
    assert form.locator("select[name=substance_id]").input_value() == safrole
    form.locator("select[name=type]").select_option("advisory")
    form.locator("input[name=title]").fill("Web test: safrole in bulk 'sassafras oil'")
    form.locator("textarea[name=risk_type]").fill("safrole declared as an essential oil")
    form.locator("textarea[name=risk_origin]").fill("South-East Asian exporters")
    form.locator("input[name=ports]").fill("NLRTM; XX")  # a bad port first: refused on the page
    page.click("#draft-button")
    page.wait_for_selector("#alert-error")
    assert "ports" in page.locator("#alert-error").inner_text()
    assert form.locator("input[name=title]").input_value() == "Web test: safrole in bulk 'sassafras oil'"
    assert form.locator("select[name=substance_id]").input_value() == safrole

    form.locator("input[name=ports]").fill("NLRTM")
    page.click("#draft-button")
    page.wait_for_url(f"{live_server}/alerts/alr_*")
    alert_url = page.url.split("#")[0]
    assert page.locator("#alert-status").inner_text() == "draft"
    assert page.locator("#alert-substance a").inner_text() == "Safrole"
    assert page.locator("#recipients").count() == 0

    page.click("#send")
    page.wait_for_url(alert_url)
    assert page.locator("#alert-status").inner_text() == "sent"
    assert page.locator("#send").count() == 0
    recipients = _rows(page, "recipients")
    assert recipients.count() == 2  # Belgium (mdma) and the EU agency (everything); never the sender itself
    text = page.locator("#recipients").inner_text()
    assert "Belgian Customs" in text and "EU Drugs Agency" in text and "Dutch Customs" not in text
    assert {recipients.nth(i).get_attribute("data-state") for i in range(2)} == {"pending"}
    assert "group mdma" in page.locator("#recipients tbody tr", has_text="Belgian Customs").inner_text()
    page.wait_for_function("document.getElementById('recipients-chart').dataset.rendered == '2'")

    page.goto(f"{live_server}/alerts?box=sent")
    row = page.locator("#alerts tbody tr", has_text="Web test: safrole")
    assert row.locator(".sub-acks").inner_text() == "0/2"


def test_subscriptions_are_added_and_ended_and_the_secret_never_shown(page, live_server, console):
    sign_in(page, live_server, "nl.focal")
    page.goto(f"{live_server}/alerts")
    page.click("#to-subscriptions")
    page.wait_for_url(f"{live_server}/alerts/subscriptions")
    assert "nl.focal: NLRTM" in page.locator("#subscriptions").inner_text()
    before = _rows(page, "subscriptions").count()

    form = page.locator("#subscription-form")
    form.locator("input[name=name]").fill("Web test: fentanyl precursors by webhook")
    form.locator("input[name=substance_groups][value=fentanyl]").check()
    form.locator("input[name=alert_types][value=alert]").check()
    form.locator("input[name=cn_prefixes]").fill("2933")
    form.locator("input[name=countries]").fill("nl; XX1")  # a bad country first: refused, the secret not echoed
    form.locator("input[name=webhook_url]").fill("https://hooks.example.org/portguard")
    form.locator("input[name=webhook_secret]").fill(SECRET)
    page.click("#subscribe")
    page.wait_for_selector("#subscription-error")
    assert "countries" in page.locator("#subscription-error").inner_text()
    assert SECRET not in page.content()
    assert form.locator("input[name=webhook_secret]").input_value() == ""
    assert form.locator("input[name=substance_groups][value=fentanyl]").is_checked()

    form.locator("input[name=countries]").fill("NL")
    form.locator("input[name=webhook_secret]").fill(SECRET)
    page.click("#subscribe")
    page.wait_for_url(f"{live_server}/alerts/subscriptions?added=*")
    assert page.locator("#subscription-added").is_visible()
    assert _rows(page, "subscriptions").count() == before + 1
    row = page.locator("#subscriptions tbody tr", has_text="Web test: fentanyl")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:6] == ["fentanyl", "2933", "any", "NL", "alert"]
    assert "https://hooks.example.org/portguard" in cells[6] and "(signed)" in cells[6]
    assert SECRET not in page.content()

    row.locator("button:text('End')").click()
    page.wait_for_url(f"{live_server}/alerts/subscriptions?ended=*")
    row = page.locator("#subscriptions tbody tr", has_text="Web test: fentanyl")
    assert row.get_attribute("data-active") == "no" and "ended" in row.inner_text()
    assert row.locator("button").count() == 0

    form.locator("input[name=name]").fill("Web test: a webhook without its secret")
    form.locator("input[name=webhook_url]").fill("https://hooks.example.org/other")
    page.click("#subscribe")
    page.wait_for_selector("#subscription-error")
    assert "needs a secret" in page.locator("#subscription-error").inner_text()


# ---------------------------------------------------------------- the declaration page


def test_a_flagged_declaration_shows_its_precursor_hits_and_drafts_an_alert(page, live_server, console):
    sign_in(page, live_server, "nl.analyst")
    hits = page.request.get(f"{live_server}/api/substances/hits?limit=100").json()
    assert hits, "the demo's screening found no precursor hit"
    hit = max(hits, key=lambda h: h["strength"])
    page.goto(f"{live_server}/declarations/{hit['declaration_id']}")
    page.locator("#precursor-screening").scroll_into_view_if_needed()  # loaded when it comes into view
    page.wait_for_selector("#precursor-hits")
    row = page.locator(f"#precursor-hits tr[data-hit='{hit['id']}']")
    cells = row.locator("td").all_inner_texts()
    assert cells[0].startswith(f"#{hit['goods_seq']}")
    assert cells[1] == hit["substance_name"] and cells[2] == hit["method"]
    assert cells[4] == hit["reason"]
    page.locator(f"#precursor-hits tr[data-hit='{hit['id']}'] button").click()
    page.wait_for_url(f"{live_server}/alerts/alr_*")
    assert page.locator("#alert-status").inner_text() == "draft"
    assert hit["substance_name"] in page.locator("h1").inner_text()
    assert page.locator("#alert-substance a").inner_text() == hit["substance_name"]
    assert page.locator("[data-field=identification_methods]").inner_text() == hit["reason"]
    assert page.locator("#send").is_visible()

    flagged = {h["declaration_id"] for h in hits}
    listed = page.request.get(f"{live_server}/api/declarations?limit=200").json()["items"]
    clean = next(
        d["id"]
        for d in listed
        if d["id"] not in flagged
        and not page.request.get(f"{live_server}/api/substances/hits", params={"declaration_id": d["id"]}).json()
    )
    page.goto(f"{live_server}/declarations/{clean}")
    page.locator("#precursor-screening").scroll_into_view_if_needed()
    page.wait_for_selector("#no-precursor-hits")
    assert "No precursor hits" in page.locator("#no-precursor-hits").inner_text()


# ---------------------------------------------------------------- who sees none of it


def test_a_terminal_officer_sees_no_substances_and_no_alerts(page, live_server):
    sign_in(page, live_server, "terminal.security")
    assert page.locator("nav >> text=Substances").count() == 0
    assert page.locator("nav >> text=Drug alerts").count() == 0
    for path, permission in (("/substances", "substance:read"), ("/alerts", "drug_alert:read")):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 403
        assert permission in page.locator("[role=alert]").inner_text()


def test_an_analyst_without_subscription_rights_has_no_subscriptions_page(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/alerts")
    assert page.locator("#to-subscriptions").count() == 0
    response = page.goto(f"{live_server}/alerts/subscriptions")
    assert response is not None and response.status == 403
