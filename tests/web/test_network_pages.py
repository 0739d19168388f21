"""Network pages in headless Chromium, as Dutch customs' analyst: the network page lists entities riskiest first and
draws the risk chart; an entity page shows its party records and declarations; the network view renders Cytoscape
nodes and expands one on a click; the community list shows communities and opens a view around one.

The demo runs the network when it loads; should a demo come without a run, the module's first test makes one with
the page's "Run now" form. The tests run in file order and share the run.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import sign_in

pytestmark = [pytest.mark.browser]

ANALYST = "nl.analyst"


@pytest.fixture
def analyst(page, live_server):  # type: ignore[no-untyped-def]
    """A page signed in as Dutch customs' analyst, on the network page with a run to show."""
    sign_in(page, live_server, ANALYST)
    page.goto(f"{live_server}/network")
    if page.locator("#no-run").count():
        page.click("#run-now-button")
        page.wait_for_url(f"{live_server}/network?run_id=*", timeout=120_000)
    return page


def _graph(page) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    view = page.locator("#network-view")
    return {
        "nodes": int(view.get_attribute("data-nodes") or 0),
        "edges": int(view.get_attribute("data-edges") or 0),
        "expanded": int(view.get_attribute("data-expanded") or 0),
        "selected": view.get_attribute("data-selected"),
    }


def test_the_network_page_lists_entities_riskiest_first_with_the_chart(analyst, live_server):
    page = analyst
    assert page.locator("#run-summary").count() == 1 and page.locator("#run-form").count() == 1
    rows = page.locator("#entities tbody tr[data-id]")
    assert rows.count() > 10
    risks = [float(rows.nth(i).get_attribute("data-risk") or 0) for i in range(rows.count())]
    assert risks == sorted(risks, reverse=True) and risks[0] == 1.0
    page.wait_for_selector("#risk-chart[data-rendered]:not([data-rendered=''])")
    assert int(page.get_attribute("#risk-chart", "data-rendered") or 0) > 0
    assert page.locator("#risk-chart svg").count() >= 1

    label = rows.first.locator("a.entity-link").inner_text()
    page.fill("#entity-search input[name=q]", label[:8])
    page.click("#entity-search button[type=submit]")
    page.wait_for_url(f"{live_server}/network?*q=*")
    assert label in page.locator("#entities").inner_text()


def test_the_entity_page_shows_records_and_declarations(analyst, live_server):
    page = analyst
    first = page.locator("#entities tbody tr[data-id]").first
    entity_id = first.get_attribute("data-id")
    first.locator("a.entity-link").click()
    page.wait_for_url(f"{live_server}/network/entities/{entity_id}*")
    records = page.locator("#entity-records tbody tr[data-record]")
    assert records.count() >= 1
    assert {records.nth(i).get_attribute("data-method") for i in range(records.count())} <= {
        "model",
        "incremental",
        "confirmed",
        "split",
    }
    declarations = page.locator("#entity-declarations tbody tr[data-id]")
    assert declarations.count() >= 1
    assert declarations.first.locator("a").get_attribute("href").startswith("/declarations/")  # type: ignore[union-attr]
    # the riskiest entity is party to a seized declaration
    assert page.locator("#entity-declarations .badge-seized").count() >= 1
    assert page.locator("#confirm-form").count() == 1 and page.locator("#split-form").count() == 1

    page.click("#view-around")
    page.wait_for_selector("#network-view[data-ready=true]")
    assert page.locator("#view-node").inner_text() == f"entity:{entity_id}"


def test_the_network_view_renders_nodes_and_expands_one_on_click(analyst, live_server):
    page = analyst
    page.goto(f"{live_server}/network/view?hops=1")
    page.wait_for_selector("#network-view[data-ready=true]")
    assert page.locator("#cy canvas").count() >= 1
    before = _graph(page)
    assert before["nodes"] > 1 and before["edges"] >= 1
    assert f"{before['nodes']} nodes, {before['edges']} edges" in page.locator("#graph-status").inner_text()
    start = page.locator("#view-node").inner_text()
    assert before["selected"] == start

    # a declaration (its other parties and containers are one link further out), the one farthest from any other
    # node
    target = page.evaluate(
        """() => {
          const cy = document.getElementById("network-view")._cy;
          let best = null, gap = -1;
          cy.nodes().forEach(function (n) {
            if (n.data("kind") !== "declaration") return;
            const p = n.renderedPosition();
            let near = Infinity;
            cy.nodes().forEach(function (m) {
              if (m === n) return;
              const q = m.renderedPosition();
              near = Math.min(near, Math.hypot(p.x - q.x, p.y - q.y));
            });
            if (near > gap) { gap = near; best = { id: n.id(), x: p.x, y: p.y }; }
          });
          return best;
        }"""
    )
    assert target is not None
    # the tap goes through Cytoscape's own event (the page's handler runs as for a click): a pixel click on a
    # canvas whose layout may still be settling missed its node under load
    page.evaluate("id => document.getElementById('network-view')._cy.getElementById(id).emit('tap')", target["id"])
    page.wait_for_selector("#network-view[data-expanded='1']")
    after = _graph(page)
    assert after["selected"] == target["id"]
    assert after["nodes"] > before["nodes"] and after["edges"] > before["edges"]
    assert target["id"] in page.locator("#node-details").inner_text()
    assert "centre the view here" in page.locator("#node-links").inner_text()
    exports = page.locator("#exports a.export")
    assert {exports.nth(i).get_attribute("data-format") for i in range(exports.count())} == {
        "ftm",
        "graphml",
        "gexf",
        "i2",
    }


def test_the_community_list_shows_communities(analyst, live_server):
    page = analyst
    page.goto(f"{live_server}/network/communities")
    rows = page.locator("#communities tbody tr[data-community]")
    assert rows.count() >= 1
    cells = rows.first.locator("td").all_inner_texts()
    assert int(cells[1]) > 1 and cells[4]
    rows.first.locator("a.view-community").click()
    page.wait_for_selector("#network-view[data-ready=true]")
    assert int(page.get_attribute("#network-view", "data-nodes") or 0) > 1
