// The drug alert page's chart: the recipients of an alert by state (acknowledged, pending, overdue, decided clear,
// decided object), drawn with Vega-Lite from the counts the page carries in data-chart (no inline script: the
// Content-Security-Policy allows scripts from this origin only).
(function () {
  const STATES = ["acknowledged", "pending", "overdue", "decided clear", "decided object"];
  const COLOURS = ["#4c78a8", "#9d9da0", "#e45756", "#54a24b", "#b3261e"];

  async function recipientsChart(el) {
    if (el.dataset.rendered !== undefined) return;
    el.dataset.rendered = "";
    const rows = JSON.parse(el.dataset.chart || "[]");
    const total = rows.reduce(function (n, r) { return n + r.recipients; }, 0);
    if (total === 0) { el.textContent = "No recipients to chart."; el.dataset.rendered = "0"; return; }
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 160,
      data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "state", type: "nominal", title: null, sort: STATES, axis: { labelAngle: 0 } },
        y: { field: "recipients", type: "quantitative", title: "recipients", axis: { tickMinStep: 1 } },
        color: { field: "state", type: "nominal", legend: null, scale: { domain: STATES, range: COLOURS } },
        tooltip: [{ field: "state" }, { field: "recipients" }],
      },
    };
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
    el.dataset.rendered = String(total);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const el = document.getElementById("recipients-chart");
    if (el) recipientsChart(el);
  });
})();
