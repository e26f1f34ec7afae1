// Calibration charts: each drawn from the JSON beside its canvas (json_script: nothing inline under
// the CSP), with colours from the design tokens. The numbers are in the table under each chart.
(function () {
  "use strict";

  function token(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function colours() {
    return {
      brand: token("--brand", "#24527a"),
      won: token("--sla-on-track", "#1e6b3a"),
      other: token("--line", "#d9dee5"),
      ink: token("--quiet", "#52606d"),
      line: token("--line", "#d9dee5"),
      warn: token("--sla-at-risk", "#8a4b00"),
    };
  }

  function axes(c, x, y) {
    var ticks = { color: c.ink, maxRotation: 0, autoSkip: true };
    return {
      x: Object.assign({ grid: { display: false }, ticks: ticks }, x || {}),
      y: Object.assign({ grid: { color: c.line }, ticks: ticks, beginAtZero: true }, y || {}),
    };
  }

  function distribution(data, c) {
    var converted = data.datasets["Converted"];
    var others = data.datasets["Not converted"];
    // The converted are often a few dozen beside a thousand: then their own scale shows their shape.
    var ownScale = Math.max.apply(null, converted.concat([0])) * 5 < Math.max.apply(null, others.concat([0]));
    var scales = axes(c, { title: { display: true, text: "Score", color: c.ink } });
    if (ownScale) {
      scales.converted = { position: "right", beginAtZero: true, grid: { display: false }, ticks: { color: c.won, precision: 0 } };
    }
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: ownScale ? "Converted (right scale)" : "Converted", data: converted, backgroundColor: c.won, yAxisID: ownScale ? "converted" : "y" },
          { label: ownScale ? "Not converted (left scale)" : "Not converted", data: others, backgroundColor: c.other },
        ],
      },
      options: { scales: scales },
    };
  }

  function bands(data, c) {
    var base = data.labels.map(function () { return data.base; });
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Converted (%)", data: data.datasets["Converted (%)"], backgroundColor: c.brand },
          { type: "line", label: "Base rate (%)", data: base, borderColor: c.warn, borderDash: [6, 4], pointRadius: 0, fill: false },
        ],
      },
      options: { scales: axes(c, { title: { display: true, text: "Band (1 = best scores)", color: c.ink } }) },
    };
  }

  function reliability(data, c) {
    return {
      type: "scatter",
      data: {
        datasets: [
          {
            label: "Observed (dot size: how many)",
            data: data.points,
            backgroundColor: c.brand,
            borderColor: c.brand,
            showLine: true,
            clip: 8, // a bin at 0% or 100% shows its whole dot
            // A bin of one candidate must not look as sure as a bin of hundreds.
            pointRadius: function (context) {
              var point = context.raw || {};
              return 3 + 2 * Math.log10(Math.max(point.n || 1, 1));
            },
          },
          { label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 100, y: 100 }], showLine: true, borderColor: c.ink, borderDash: [4, 4], pointRadius: 0 },
        ],
      },
      options: {
        scales: axes(
          c,
          { type: "linear", min: 0, max: 100, grid: { color: c.line }, title: { display: true, text: "Predicted (%)", color: c.ink } },
          { min: 0, max: 100, title: { display: true, text: "Converted (%)", color: c.ink } }
        ),
      },
    };
  }

  var BUILDERS = { distribution: distribution, bands: bands, reliability: reliability };

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    var build = BUILDERS[canvas.dataset.kind];
    if (!source || !build || !window.Chart) return;
    var c = colours();
    var config = build(JSON.parse(source.textContent), c);
    config.options.animation = false;
    config.options.maintainAspectRatio = false;
    config.options.plugins = { legend: { labels: { color: c.ink } } };
    new window.Chart(canvas, config);
    canvas.dataset.drawn = "true";
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]:not([data-drawn])").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  // A stored report computed while the page waited is swapped in by htmx's poll: draw its charts.
  document.addEventListener("htmx:afterSettle", drawAll);
})();
