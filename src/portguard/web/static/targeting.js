// Charts of learned targeting, drawn with Vega-Lite from JSON the page carries in data-* attributes
// (no inline script: the Content-Security-Policy allows scripts from this origin only).
(function () {
  const REASON_COLOURS = {
    rules: "#e45756", campaign: "#f58518", model: "#4c78a8", "rule score": "#72b7b2",
    uncertainty: "#b279a2", random: "#54a24b", free: "#e8ebf0",
  };

  function curveSpec(curve) {
    const rows = [];
    curve.forEach(function (p) {
      rows.push({ share: p.share, measure: "precision", value: p.precision });
      rows.push({ share: p.share, measure: "recall", value: p.recall });
    });
    return {
      width: 420, height: 240, data: { values: rows },
      mark: { type: "line", point: true, tooltip: true },
      encoding: {
        x: { field: "share", type: "quantitative", title: "share of declarations controlled (top n %)", axis: { format: ".0%" } },
        y: { field: "value", type: "quantitative", title: null, axis: { format: ".0%" }, scale: { domain: [0, 1] } },
        color: { field: "measure", type: "nominal", title: null, scale: { range: ["#4c78a8", "#f58518"] } },
        tooltip: [{ field: "share", format: ".0%" }, { field: "measure" }, { field: "value", format: ".1%" }],
      },
    };
  }

  function importanceSpec(importance) {
    const rows = importance.slice(0, 15).map(function (fg) { return { feature: fg[0], gain: fg[1] }; });
    return {
      width: 300, height: { step: 16 }, data: { values: rows },
      mark: { type: "bar", color: "#4c78a8", tooltip: true },
      encoding: {
        y: { field: "feature", type: "nominal", sort: null, title: null },
        x: { field: "gain", type: "quantitative", title: "total gain" },
      },
    };
  }

  function gaugeSpec(data) {
    const rows = [];
    let used = 0;
    Object.keys(REASON_COLOURS).forEach(function (reason) {
      const n = reason === "free" ? Math.max(0, data.capacity - used) : (data.counts[reason] || 0);
      if (reason !== "free") used += n;
      if (n > 0) rows.push({ reason: reason, controls: n, order: Object.keys(REASON_COLOURS).indexOf(reason) });
    });
    const reasons = rows.map(function (r) { return r.reason; });
    return {
      width: 560, height: 36, data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "controls", type: "quantitative", stack: "zero", title: "controls (capacity " + data.capacity + ")",
             scale: { domain: [0, Math.max(data.capacity, used)] } },
        color: { field: "reason", type: "nominal", title: "reason",
                 scale: { domain: reasons, range: reasons.map(function (r) { return REASON_COLOURS[r]; }) } },
        order: { field: "order", type: "quantitative" },
        tooltip: [{ field: "reason" }, { field: "controls" }],
      },
    };
  }

  function contributionSpec(rows) {
    return {
      width: 320, height: { step: 20 }, data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "label", type: "nominal", sort: null, title: null },
        x: { field: "contribution", type: "quantitative", title: "contribution (log-odds)" },
        color: { condition: { test: "datum.contribution > 0", value: "#e45756" }, value: "#4c78a8" },
        tooltip: [{ field: "feature" }, { field: "value" }, { field: "contribution", format: "+.3f" }],
      },
    };
  }

  async function embed(el, spec) {
    spec.$schema = "https://vega.github.io/schema/vega-lite/v6.json";
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
  }

  async function draw(el) {
    if (el.dataset.rendered !== undefined) return;
    el.dataset.rendered = "";
    const data = JSON.parse(el.dataset.chart || "null");
    if (!data) { el.textContent = "Nothing to chart yet."; el.dataset.rendered = "0"; return; }
    const kind = el.dataset.kind;
    let n = 0;
    if (kind === "curve") {
      if (!data.curve.length) { el.textContent = "No validation curve recorded."; el.dataset.rendered = "0"; return; }
      await embed(el, curveSpec(data.curve)); n = data.curve.length;
    } else if (kind === "importance") {
      await embed(el, importanceSpec(data.importance)); n = data.importance.length;
    } else if (kind === "gauge") {
      await embed(el, gaugeSpec(data)); n = data.capacity;
    } else if (kind === "contributions") {
      const rows = data.map(function (c) {
        const v = c.value === null ? "missing" : (typeof c.value === "number" ? Number(c.value.toPrecision(4)) : c.value);
        return { feature: c.feature, value: v, contribution: c.contribution, label: c.feature + " = " + v };
      });
      await embed(el, contributionSpec(rows)); n = rows.length;
    }
    el.dataset.rendered = String(n);
  }

  function drawAll(root) {
    const scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll(".targeting-chart").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.detail && event.detail.elt); });
})();
