// Charts of container tracking, drawn with Vega-Lite from JSON the page carries in data-* attributes
// (no inline script: the Content-Security-Policy allows scripts from this origin only).
(function () {
  function timelineSpec(data) {
    const lanes = ["EQUIPMENT", "TRANSPORT", "SHIPMENT", "IOT", "REEFER", "SCAN", "CAMERA", "RELEASE"];
    return {
      width: 760, height: 220,
      layer: [
        {
          data: { values: data.alerts },
          mark: { type: "rule", color: "#e45756", strokeWidth: 2, strokeDash: [4, 3], tooltip: true },
          encoding: { x: { field: "t", type: "temporal" }, tooltip: [{ field: "detector" }, { field: "status" }, { field: "t", type: "temporal", format: "%Y-%m-%d %H:%M" }] },
        },
        {
          data: { values: data.events },
          mark: { type: "point", filled: true, size: 90, tooltip: true },
          encoding: {
            x: { field: "t", type: "temporal", title: "event time (UTC)" },
            y: { field: "lane", type: "nominal", title: null, sort: lanes },
            color: { field: "lane", type: "nominal", legend: null },
            opacity: { condition: { test: "datum.planned", value: 0.35 }, value: 1 },
            tooltip: [{ field: "code" }, { field: "where" }, { field: "t", type: "temporal", format: "%Y-%m-%d %H:%M:%S" }],
          },
        },
        {
          data: { values: data.events },
          mark: { type: "text", dy: -11, fontSize: 9 },
          encoding: { x: { field: "t", type: "temporal" }, y: { field: "lane", type: "nominal", sort: lanes }, text: { field: "code" } },
        },
      ],
    };
  }

  function countsSpec(rows) {
    return {
      width: 520, height: { step: 18 }, data: { values: rows },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "detector", type: "nominal", title: null },
        x: { field: "n", type: "quantitative", title: "alerts", stack: "zero" },
        color: { field: "status", type: "nominal", scale: { domain: ["open", "acknowledged", "withdrawn"], range: ["#e45756", "#4c78a8", "#bab0ac"] } },
        tooltip: [{ field: "detector" }, { field: "status" }, { field: "n" }],
      },
    };
  }

  async function draw(el) {
    if (el.dataset.rendered) return;
    el.dataset.rendered = "";
    const data = JSON.parse(el.dataset.chart || "null");
    if (!data || (Array.isArray(data) && !data.length)) { el.textContent = "Nothing to chart yet."; el.dataset.rendered = "0"; return; }
    let spec, n;
    if (el.dataset.kind === "timeline") { spec = timelineSpec(data); n = data.events.length; }
    else { spec = countsSpec(data); n = data.length; }
    await vegaEmbed(el, spec, { actions: false, renderer: "svg" });
    el.dataset.rendered = String(n);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".tracking-chart").forEach(draw);
  });
})();
