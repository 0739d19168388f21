// Charts of the workbench, drawn with Vega-Lite from the JSON API (same-origin, with the session cookie).
(function () {
  const ACTION_COLOURS = {
    consult: "#4c78a8", collect: "#f58518", alter: "#e45756", erase: "#b279a2", disclose: "#72b7b2",
    combine: "#54a24b", login: "#9d9da0", logout: "#c7c7c7", admin: "#eeca3b",
  };

  async function activityChart(el) {
    const response = await fetch(el.dataset.src, { headers: { Accept: "application/json" } });
    if (!response.ok) { el.textContent = "Activity could not be loaded (" + response.status + ")."; return; }
    const rows = await response.json();
    if (rows.length === 0) { el.textContent = "No activity in this period."; return; }
    const actions = Object.keys(ACTION_COLOURS);
    const nDays = Number(el.dataset.days || 30);
    const days = [];
    for (let i = nDays - 1; i >= 0; i--) {
      days.push(new Date(Date.now() - i * 86400000).toISOString().slice(0, 10));
    }
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 220,
      data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "day", type: "ordinal", title: "day (UTC)", scale: { domain: days },
             axis: { labelAngle: -45, labelExpr: "substring(datum.value, 5)" } },
        y: { field: "entries", type: "quantitative", aggregate: "sum", title: "entries" },
        color: { field: "action", type: "nominal", scale: { domain: actions, range: actions.map(a => ACTION_COLOURS[a]) } },
      },
    };
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
    el.dataset.rendered = String(rows.length);
  }

  // A histogram of the numbers in data-values (JSON), binned by data-step over [0, 1]: e.g. the network page's
  // risk distribution. data-title names the axis, data-unit the counted things, data-scale the count axis's scale
  // ("symlog" for skewed counts), data-empty the text for no values.
  async function histogram(el) {
    const values = JSON.parse(el.dataset.values || "[]");
    if (values.length === 0) { el.textContent = el.dataset.empty || "Nothing to chart."; el.dataset.rendered = "0"; return; }
    const step = Number(el.dataset.step || 0.05);
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 200,
      data: { values: values.map(function (v) { return { value: v }; }) },
      mark: { type: "bar", tooltip: true, color: "#e45756" },
      encoding: {
        x: { field: "value", type: "quantitative", bin: { extent: [0, 1], step: step }, title: el.dataset.title || "value" },
        y: { aggregate: "count", type: "quantitative", title: el.dataset.unit || "count",
             scale: { type: el.dataset.scale || "linear" } },
      },
    };
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
    el.dataset.rendered = String(values.length);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const el = document.getElementById("activity-chart");
    if (el) activityChart(el);
    document.querySelectorAll(".histogram-chart").forEach(histogram);
  });
})();
