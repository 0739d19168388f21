// The network view: Cytoscape.js over the JSON API (/api/network/graph, same origin, with the session cookie),
// expanded one node at a time. No inline script (the Content-Security-Policy allows scripts from this origin only):
// the page passes the node, hops and run in data-* attributes of #network-view. Labels come from traders'
// declarations, so the side panel is built with textContent, never innerHTML.
// The view exposes what it shows for people and tests alike: data-nodes, data-edges and data-expanded on
// #network-view, and "N nodes, M edges" in #graph-status.
(function () {
  const COLOURS = {
    entity: "#4c78a8", declaration: "#9d9da0", container: "#b279a2", phone: "#f58518",
    email: "#eeca3b", account: "#54a24b", address: "#72b7b2", seizure: "#d62728",
  };

  function styles() {
    const out = [
      { selector: "node", style: {
        "background-color": "#9d9da0", label: "data(label)", "font-size": 8, color: "#1b2430",
        "text-valign": "bottom", "text-margin-y": 2, "text-wrap": "ellipsis", "text-max-width": "110px",
        "min-zoomed-font-size": 7, width: 16, height: 16,
      } },
      { selector: "node[kind = 'entity']", style: {
        width: "mapData(risk, 0, 1, 16, 56)", height: "mapData(risk, 0, 1, 16, 56)",
      } },
      { selector: "node[kind = 'seizure']", style: { shape: "star", width: 34, height: 34, "font-weight": "bold" } },
      { selector: "node[kind = 'declaration']", style: { shape: "round-rectangle", width: 14, height: 10 } },
      { selector: "node[kind = 'container']", style: { shape: "rectangle", width: 14, height: 10 } },
      { selector: "node.start", style: { "border-width": 3, "border-color": "#1b2430" } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#5b6777", "border-style": "dashed" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#0b5cad", "border-style": "solid" } },
      { selector: "edge", style: { width: 1, "line-color": "#c7ccd4", "curve-style": "haystack", opacity: 0.8 } },
      { selector: "edge[kind = 'seized_in']", style: { "line-color": "#d62728", width: 2 } },
    ];
    Object.keys(COLOURS).forEach(function (kind) {
      out.splice(1, 0, { selector: "node[kind = '" + kind + "']", style: { "background-color": COLOURS[kind] } });
    });
    return out;
  }

  function valueOf(nodeId) { return nodeId.slice(nodeId.indexOf(":") + 1); }

  async function fetchGraph(view, node, hops) {
    const params = new URLSearchParams({ node: node, hops: String(hops) });
    if (view.dataset.run) params.set("run_id", view.dataset.run);
    const response = await fetch(view.dataset.api + "?" + params.toString(), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) throw new Error((body && body.detail) || ("HTTP " + response.status));
    return body;
  }

  function merge(cy, elements, near) {
    const fresh = [];
    const centre = near ? near.position() : null;
    elements.nodes.forEach(function (n, i) {
      if (cy.getElementById(n.data.id).empty()) {
        const item = { group: "nodes", data: n.data };
        if (centre) {
          const angle = (2 * Math.PI * i) / Math.max(elements.nodes.length, 1);
          item.position = { x: centre.x + 80 * Math.cos(angle), y: centre.y + 80 * Math.sin(angle) };
        }
        fresh.push(item);
      }
    });
    elements.edges.forEach(function (e) {
      if (cy.getElementById(e.data.id).empty()) fresh.push({ group: "edges", data: e.data });
    });
    cy.add(fresh);
    return fresh.filter(function (x) { return x.group === "nodes"; }).length;
  }

  function report(view, cy, note) {
    view.dataset.nodes = String(cy.nodes().length);
    view.dataset.edges = String(cy.edges().length);
    const status = document.getElementById("graph-status");
    if (status) {
      status.textContent = cy.nodes().length + " nodes, " + cy.edges().length + " edges" + (note ? " · " + note : "");
    }
  }

  function layout(cy, randomize) {
    cy.layout({
      name: "cose", animate: false, randomize: randomize, fit: true, padding: 20,
      nodeRepulsion: function () { return 9000; }, idealEdgeLength: function () { return 60; }, numIter: 1500,
    }).run();
  }

  function row(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function link(parent, href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (parent.childNodes.length) parent.appendChild(document.createTextNode(" · "));
    parent.appendChild(a);
  }

  function showDetails(view, node) {
    const data = node.data();
    const list = document.getElementById("node-details");
    const links = document.getElementById("node-links");
    const empty = document.getElementById("node-empty");
    if (!list || !links) return;
    list.replaceChildren();
    links.replaceChildren();
    if (empty) empty.hidden = true;
    list.hidden = false;
    row(list, "label", data.label || "");
    row(list, "kind", data.kind);
    row(list, "id", data.id);
    if (data.kind === "entity") {
      row(list, "risk", Number(data.risk || 0).toFixed(3));
      row(list, "community", data.community === null || data.community === undefined ? "—" : String(data.community));
    }
    row(list, "handling", "TLP:" + (data.handling || ""));
    row(list, "links shown", String(node.degree(false)));
    const run = view.dataset.run ? "&run_id=" + encodeURIComponent(view.dataset.run) : "";
    if (data.kind === "entity") {
      link(links, "/network/entities/" + encodeURIComponent(valueOf(data.id)) + (run ? "?" + run.slice(1) : ""), "entity page");
    } else if (data.kind === "declaration") {
      link(links, "/declarations/" + encodeURIComponent(valueOf(data.id)), "declaration");
    }
    link(links, "/network/view?node=" + encodeURIComponent(data.id) + "&hops=" + view.dataset.hops + run, "centre the view here");
    view.dataset.selected = data.id;
  }

  async function expand(view, cy, node) {
    if (node.hasClass("expanded")) return;
    node.addClass("expanded");
    try {
      const body = await fetchGraph(view, node.id(), 1);
      const added = merge(cy, body.elements, node);
      if (added) layout(cy, false);
      view.dataset.expanded = String(Number(view.dataset.expanded || 0) + 1);
      report(view, cy, added + " added around " + (node.data("label") || node.id()) + (body.truncated ? " (truncated)" : ""));
    } catch (err) {
      node.removeClass("expanded");
      report(view, cy, "could not expand: " + err.message);
    }
  }

  async function start(view) {
    const status = document.getElementById("graph-status");
    const container = document.getElementById("cy");
    if (typeof cytoscape !== "function" || !container) { if (status) status.textContent = "Cytoscape.js did not load."; return; }
    const cy = cytoscape({ container: container, style: styles(), minZoom: 0.05, maxZoom: 4 });
    view._cy = cy;
    let body;
    try {
      body = await fetchGraph(view, view.dataset.node, Number(view.dataset.hops || 2));
    } catch (err) {
      if (status) { status.textContent = "The network could not be loaded: " + err.message; status.classList.add("error"); }
      view.dataset.nodes = "0";
      view.dataset.error = err.message;
      return;
    }
    merge(cy, body.elements, null);
    const first = cy.getElementById(view.dataset.node);
    first.addClass("start");
    layout(cy, true);
    report(view, cy, body.truncated ? "truncated at the nearest " + body.nodes + " nodes" : "");
    cy.on("tap", "node", function (event) {
      const node = event.target;
      cy.elements().unselect();
      node.select();
      showDetails(view, node);
      expand(view, cy, node);
    });
    if (!first.empty()) {
      first.select();
      showDetails(view, first);
      if (Number(view.dataset.hops || 2) >= 1) first.addClass("expanded");  // its neighbours are shown already
    }
    view.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    const view = document.getElementById("network-view");
    if (view) start(view);
    const hops = document.getElementById("hops-select");
    if (hops) {
      hops.addEventListener("change", function () {
        const params = new URLSearchParams(window.location.search);
        params.set("hops", hops.value);
        if (view) params.set("node", view.dataset.node);
        window.location.search = params.toString();
      });
    }
  });
})();
