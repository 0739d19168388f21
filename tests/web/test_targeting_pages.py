"""Learned targeting pages in headless Chromium: the models page (train through its form; measures, precision curve
and feature importance drawn), the selection queue (run through its form; reasons, links and the capacity gauge),
a declaration's model score loaded by htmx with its contributions chart, and who may see these pages.

The demo has too few control results for a model, so Dutch customs get labelled data first: the first rows of the
public KCS training file, uploaded through the JSON API from the signed-in browser context (the page's CSRF
token), the way a client would. The tests run in file order: the models page is seen without a model, then trains
one; the later tests use that model (or train one through the API when run on their own).
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from typing import Any

import pytest

from tests.risk.test_targeting_api import TRAIN, needs_data
from tests.web.conftest import sign_in

pytestmark = [pytest.mark.browser, needs_data]

ROWS = 400  # KCS rows lodged 2020-01-01 .. 2020-01-06
WINDOW = {"from": "2020-01-01", "to": "2020-01-07"}
JSON = {"Content-Type": "application/json"}
REASONS = {"rules", "campaign", "model", "rule score", "uncertainty", "random"}


def _csrf(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(json.loads(page.get_attribute("body", "hx-headers") or "{}"))


def _api(page, live_server: str, method: str, path: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    """A call to the JSON API in the page's signed-in context, with the page's CSRF token."""
    headers = _csrf(page) | kwargs.pop("headers", {})
    response = page.request.fetch(f"{live_server}{path}", method=method, headers=headers, **kwargs)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def _signed_in(browser, live_server: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, username)
    return context, page


@pytest.fixture(scope="module")
def dutch_kcs(browser, live_server) -> str:  # type: ignore[no-untyped-def]
    """Dutch customs' organisation id, after uploading the KCS sample (labelled: its control results) into it."""
    with TRAIN.open(encoding="utf-8", newline="") as f:
        content = "".join(islice(f, ROWS + 1)).encode()
    context, page = _signed_in(browser, live_server, "nl.analyst")
    response = page.request.post(
        f"{live_server}/api/declarations/ingest",
        multipart={"file": {"name": "kcs-sample.csv", "mimeType": "text/csv", "buffer": content}, "format": "kcs"},
        headers=_csrf(page),
    )
    assert response.ok, response.text()
    report = response.json()
    assert report["status"] == "committed", report
    org_id = str(_api(page, live_server, "GET", "/api/me")["org_id"])
    context.close()
    return org_id


@pytest.fixture(scope="module")
def dutch_model(browser, live_server, dutch_kcs) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Dutch customs' active model: the one the models page trained, or one trained through the API."""
    context, page = _signed_in(browser, live_server, "nl.analyst")
    active = [m for m in _api(page, live_server, "GET", "/api/models") if m["status"] == "active"]
    if not active:
        active = [_api(page, live_server, "POST", "/api/models/train", data=json.dumps(WINDOW), headers=JSON)]
    context.close()
    return dict(active[0])


@pytest.fixture(scope="module")
def busiest_day(browser, live_server, dutch_kcs) -> tuple[str, str, int]:
    """(office, day, declarations) of the busiest office-day among the newest Dutch declarations."""
    context, page = _signed_in(browser, live_server, "nl.analyst")
    listed = _api(page, live_server, "GET", "/api/declarations?limit=500")["items"]
    context.close()
    days = Counter((d["office"], d["lodged_at"][:10]) for d in listed if d["owner_org_id"] == dutch_kcs)
    assert days, "no Dutch declarations listed"
    (office, day), n = max(days.items(), key=lambda kv: (kv[1], kv[0]))
    return office, day, n


def _drawn(page, selector: str) -> int:  # type: ignore[no-untyped-def]
    """Wait until the chart at `selector` has drawn something; the number of items it drew."""
    page.wait_for_function(f"Number(document.querySelector({json.dumps(selector)})?.dataset.rendered) > 0")
    assert page.locator(f"{selector} svg").count() == 1
    return int(page.get_attribute(selector, "data-rendered") or 0)


def test_models_page_trains_a_model_and_draws_its_curve_and_importance(page, live_server, dutch_kcs):
    sign_in(page, live_server, "nl.analyst")
    page.click("nav >> text=Models")
    page.wait_for_url(f"{live_server}/models")
    assert page.locator("#no-model").is_visible()
    assert page.locator("#model").count() == 0
    assert "No model on record." in page.locator("#models").inner_text()

    train = page.locator("#train")
    assert train.get_attribute("open") is not None  # open when there is no model yet
    train.locator("input[name=from]").fill(WINDOW["from"])
    train.locator("input[name=to]").fill(WINDOW["to"])
    page.click("#train-model")
    page.wait_for_url(f"{live_server}/models")
    page.wait_for_selector("#model")
    assert page.locator("#no-model").count() == 0
    heading = page.locator("#model h2").inner_text()
    assert heading.startswith("2020-01-01..2020-01-07") and "active" in heading
    summary = page.locator("#model").inner_text()
    assert "owner Dutch Customs – Rotterdam" in summary and "2020-01-01 to 2020-01-07" in summary
    measures = page.locator("#model-measures tbody tr")
    assert measures.count() == 4
    precision = measures.first.locator("td").all_inner_texts()
    assert precision[0] == "precision of the top n %" and all(c.endswith("%") for c in precision[1:])
    assert measures.nth(3).locator("td").first.inner_text() == "ROC-AUC"
    assert page.locator("#train").get_attribute("open") is None  # closed once there is a model

    assert _drawn(page, "#curve-chart") == 50  # the top 1 % .. 50 %
    assert "share of declarations controlled" in page.locator("#curve-chart").inner_text()
    importance = _drawn(page, "#importance-chart")
    assert 0 < importance <= 20
    assert page.locator("#importance-chart svg .mark-rect path").count() == min(importance, 15)

    rows = page.locator("#models tbody tr")
    assert rows.count() == 1
    model_id = rows.first.get_attribute("data-id")
    assert model_id and model_id in summary
    model = _api(page, live_server, "GET", f"/api/models/{model_id}")
    assert model["status"] == "active" and model["train_from"].startswith(WINDOW["from"])
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:3] == [model["name"], "active", "Dutch Customs – Rotterdam"]
    assert cells[3] == "2020-01-01 – 2020-01-07" and cells[4] == f"{model['rows_train']:,}"
    assert f"trained on {model['rows_train']:,} controlled declarations" in summary


def test_models_page_refuses_a_window_with_too_few_control_results(page, live_server, dutch_kcs):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/models")
    if page.locator("#train").get_attribute("open") is None:
        page.click("#train summary")
    page.locator("#train input[name=from]").fill("2020-01-01")
    page.locator("#train input[name=to]").fill("2020-01-02")
    with page.expect_response(lambda r: r.url.endswith("/models/train")) as answer:
        page.click("#train-model")
    assert answer.value.status == 422
    assert "at least 50 control results" in page.locator("main").inner_text()


def test_selection_page_runs_a_selection_and_draws_the_capacity_gauge(page, live_server, dutch_model, busiest_day):
    office, day, n = busiest_day
    capacity = max(2, n - 1)
    sign_in(page, live_server, "nl.analyst")
    page.click("nav >> text=Selection")
    page.wait_for_url(f"{live_server}/selection")
    assert page.locator("#no-run").is_visible()
    assert dutch_model["name"] in page.locator("main").inner_text()  # "Model: <name>"

    form = page.locator("#selection-form")
    form.locator("input[name=date]").fill(day)
    form.locator("select[name=office]").select_option(office)
    form.locator("input[name=capacity]").fill(str(capacity))
    exploration = form.locator("input[name=exploration]")  # empty: the office's share, which the placeholder says
    assert exploration.input_value() == "" and "0.1" in (exploration.get_attribute("placeholder") or "")
    page.click("#run-selection")
    page.wait_for_url(f"{live_server}/selection?run=*")
    run_id = page.url.split("run=", 1)[1]
    run = _api(page, live_server, "GET", f"/api/selection/{run_id}")
    assert (run["office"], run["day"][:10], run["capacity"], run["model_id"]) == (
        office,
        day,
        capacity,
        dutch_model["id"],
    )
    assert run["declarations"] >= n and 0 < len(run["items"]) <= capacity

    heading = page.locator("#queue h2").inner_text()
    assert heading.startswith(f"{office} on {day}") and f"{len(run['items'])} selected" in heading
    rows = page.locator("#selected tbody tr")
    assert rows.count() == len(run["items"])
    for i, item in enumerate(run["items"]):
        row = rows.nth(i)
        assert row.get_attribute("data-reason") == item["reason"] and item["reason"] in REASONS
        assert row.locator(".reason").inner_text() == item["reason"]
        link = row.locator("td:nth-child(2) a")
        assert link.get_attribute("href") == f"/declarations/{item['declaration_id']}"
        assert link.inner_text() == item["declaration_id"].split(":", 1)[1]
        assert row.locator("code").inner_text() == item["order_id"]
    assert _drawn(page, "#capacity-gauge") == capacity
    gauge = page.locator("#capacity-gauge").inner_text()
    assert f"controls (capacity {capacity})" in gauge
    assert all(reason in gauge for reason in {i["reason"] for i in run["items"]})

    # the page opened later shows the latest run; the declaration link leads to its page
    page.goto(f"{live_server}/selection?office={office}")
    assert page.locator("#selected tbody tr").count() == len(run["items"])
    page.locator("#selected tbody tr td:nth-child(2) a").first.click()
    page.wait_for_url(f"{live_server}/declarations/{run['items'][0]['declaration_id']}")


def test_declaration_page_loads_its_model_score_with_the_contributions_chart(
    page, live_server, dutch_model, busiest_day
):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/selection")
    if page.locator("#no-run").count():  # run on its own: select through the API first
        office, day, n = busiest_day
        body = {"date": day, "office": office, "capacity": n}
        _api(page, live_server, "POST", "/api/selection", data=json.dumps(body), headers=JSON)
        page.reload()
    link = page.locator("#selected tbody tr td:nth-child(2) a").first
    decl_id = (link.get_attribute("href") or "").removeprefix("/declarations/")
    link.click()
    page.wait_for_url(f"{live_server}/declarations/{decl_id}")
    assert "ordered" in page.locator("#controls").inner_text()  # the selection's control order

    page.wait_for_selector("#model-score #probability")  # htmx replaced the placeholder
    assert page.locator("#model-score [aria-busy]").count() == 0
    score = _api(page, live_server, "GET", f"/api/declarations/{decl_id}/score")
    assert score["model_id"] == dutch_model["id"]
    assert page.locator("#probability").is_visible()
    assert page.locator("#probability").inner_text() == f"{100 * score['probability']:.1f} %"
    assert dutch_model["name"] in page.locator("#model-score").inner_text()
    rows = page.locator("#contributions tbody tr")
    assert rows.count() == len(score["contributions"]) > 0
    for i, c in enumerate(score["contributions"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[0] == c["feature"] and cells[2] == f"{c['contribution']:+.3f}"
    assert _drawn(page, "#contributions-chart") == len(score["contributions"])
    assert page.locator("#contributions-chart svg .mark-rect path").count() == len(score["contributions"])


def test_an_officer_sees_the_model_and_selects_but_does_not_train(page, live_server, dutch_model):
    sign_in(page, live_server, "nl.officer")
    nav = page.locator("nav[aria-label=Main]").inner_html()
    assert "/selection" in nav and "/models" in nav
    page.goto(f"{live_server}/models")
    assert dutch_model["name"] in page.locator("#model h2").inner_text()
    assert page.locator("#train").count() == 0  # no model:write
    assert page.locator("#selection-form").count() == 0
    response = page.goto(f"{live_server}/selection")
    assert response is not None and response.status == 200
    assert page.locator("#selection-form").count() == 1


def test_another_customs_organisation_sees_neither_the_model_nor_a_score(page, live_server, dutch_model):
    sign_in(page, live_server, "be.analyst")  # Belgian customs: no model of their own; the Dutch one is protected
    page.goto(f"{live_server}/models")
    assert page.locator("#no-model").is_visible()
    assert page.locator(f"#models tr[data-id='{dutch_model['id']}']").count() == 0
    mine = [
        d
        for d in _api(page, live_server, "GET", "/api/declarations?limit=50")["items"]
        if d["owner_org_id"] != dutch_model["owner_org_id"]
    ]
    assert mine
    page.goto(f"{live_server}/declarations/{mine[0]['id']}")
    page.wait_for_selector("#model-score #no-score")
    assert page.locator("#probability").count() == 0 and page.locator("#contributions-chart").count() == 0


def test_terminal_operator_has_no_selection_or_models_pages(page, live_server):
    sign_in(page, live_server, "terminal.security")
    nav = page.locator("nav[aria-label=Main]").inner_html()
    assert "/selection" not in nav and "/models" not in nav
    for path in ("/models", "/selection"):
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 403, path
