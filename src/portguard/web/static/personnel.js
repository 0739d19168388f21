// The personnel pages' chart: an employee's access events and insider signals per hour of day, drawn with Vega-Lite
// from the rows the page carries in data-chart (no inline script: the Content-Security-Policy allows scripts from
// this origin only).
(function () {
  async function hoursChart(el) {
    if (el.dataset.rendered !== undefined) return;
    el.dataset.rendered = "";
    const rows = JSON.parse(el.dataset.chart || "[]");
    const total = rows.reduce(function (n, r) { return n + r.n; }, 0);
    if (total === 0) { el.textContent = "No access events to chart."; el.dataset.rendered = "0"; return; }
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 180,
      data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "hour", type: "ordinal", title: "hour of day (local)", scale: { domain: Array.from({ length: 24 }, function (_, h) { return h; }) } },
        y: { field: "n", type: "quantitative", title: "count" },
        xOffset: { field: "what" },
        color: { field: "what", type: "nominal", title: null, scale: { domain: ["access events", "signals"], range: ["#4c78a8", "#e45756"] } },
        tooltip: [{ field: "hour" }, { field: "what" }, { field: "n", title: "count" }],
      },
    };
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
    el.dataset.rendered = String(total);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const el = document.getElementById("hours-chart");
    if (el) hoursChart(el);
  });
})();
