"""Declaration pages in headless Chromium: upload through the ingest page, the error report, list, filters, detail."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.declarations.test_ingest import declaration
from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser


def _file(tmp_path, name, records):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_ingest_page_shows_the_error_report_then_loads_a_good_file(page, live_server, tmp_path):
    sign_in(page, live_server, "be.analyst")
    page.click("nav >> text=Ingests")
    page.click("text=Load a file")
    bad = declaration("WEB-BAD", port_of_loading="ZZZZZ")
    page.set_input_files("input[name=file]", _file(tmp_path, "bad.jsonl", [declaration("WEB-OK"), bad]))
    page.click("button:text('Load')")
    report = page.locator("#report")
    assert "rejected" in report.locator("h2").inner_text()
    cells = page.locator("#errors tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["2", "port_of_loading", "ZZZZZ"]
    cocoa = declaration("WEB-COCOA", country_of_departure="CI", port_of_loading="CIABJ")
    cocoa["goods"][0].update(hs_code="180100", description="Cocoa beans", country_of_origin="CI")
    page.click("text=Load a file")
    page.set_input_files("input[name=file]", _file(tmp_path, "good.jsonl", [declaration("WEB-OK"), cocoa]))
    page.click("button:text('Load')")
    assert "committed" in page.locator("#report h2").inner_text()
    statuses = page.locator("#ingests tbody tr td:nth-child(4)").all_inner_texts()
    assert statuses[:2] == ["committed", "rejected"]
    # a file shared with the Alliance group: the Dutch see it too (next test)
    page.click("text=Load a file")
    page.set_input_files("input[name=file]", _file(tmp_path, "shared.jsonl", [declaration("WEB-SHARED")]))
    page.select_option("select[name=sharing_group_id]", label="Alliance customs authorities")
    page.click("button:text('Load')")
    assert "committed" in page.locator("#report h2").inner_text()


def test_declaration_list_filters_and_detail(page, live_server):
    sign_in(page, live_server, "be.analyst")
    page.goto(f"{live_server}/declarations?hs=1801")
    goods = page.locator("#declarations tbody tr td:nth-child(5)").all_inner_texts()
    assert goods and all("1801" in cell for cell in goods)
    page.fill("input[name=ref]", "WEB-")
    page.click("button:text('Filter')")
    refs = page.locator("#declarations tbody tr td:first-child").all_inner_texts()
    assert refs == ["WEB-COCOA"]
    page.click("text=WEB-COCOA")
    assert page.locator("h1").inner_text().startswith("Declaration WEB-COCOA")
    assert "Cocoa beans" in page.locator("#goods").inner_text()
    assert "CSQU3054383" in page.locator("#containers").inner_text()
    assert "Fresh Fruit Imports B.V." in page.locator("#parties").inner_text()
    assert "Not controlled" in page.locator("#controls").inner_text()


def test_other_customs_do_not_see_them_and_terminals_have_no_declaration_pages(page, live_server):
    sign_in(page, live_server, "nl.analyst")
    page.goto(f"{live_server}/declarations?ref=WEB-")
    assert page.locator("#declarations tbody tr td:first-child").all_inner_texts() == ["WEB-SHARED"]
    page.click("text=WEB-SHARED")
    marking = page.locator("#marking").inner_text()
    assert "owner Belgian Customs – Antwerp" in marking and "shared with Alliance customs authorities" in marking
    page.click("text=Sign out")
    sign_in(page, live_server, "terminal.security")
    assert "/declarations" not in page.locator("nav[aria-label=Main]").inner_html()
    response = page.goto(f"{live_server}/declarations")
    assert response is not None and response.status == 403


def test_download_csv_carries_the_filter_and_exports_only_matching_declarations(page, live_server):
    sign_in(page, live_server, "be.analyst")
    page.goto(f"{live_server}/declarations")
    assert urlsplit(page.get_attribute("#export-csv", "href") or "").query == ""  # no filter, no query
    office = page.locator("#declarations tbody tr td:nth-child(3)").first.inner_text().strip()
    page.fill("input[name=office]", office)
    page.fill("input[name=origin]", "")
    page.click("button:text('Filter')")
    page.wait_for_url(re.compile(r"office="))
    shown = page.locator("#declarations tbody tr td:first-child").all_inner_texts()
    total = int(re.search(r"(\d+) visible", page.locator("h1").inner_text()).group(1))  # type: ignore[union-attr]
    assert shown and total >= len(shown)

    href = page.get_attribute("#export-csv", "href") or ""
    assert urlsplit(href).path == "/api/declarations/export.csv"
    assert parse_qs(urlsplit(href).query) == {"office": [office]}  # only the filter that is set
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename == "declarations.csv"
    with Path(download.path()).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert ",".join(rows[0]).startswith("id,ref,type")
    header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert "office" in header and body
    assert all(r["office"] == office for r in body)
    assert len({r["id"] for r in body}) == total  # every matching declaration, not just the page shown
    assert set(shown) <= {r["ref"] for r in body}
