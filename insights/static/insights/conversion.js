// The conversion page: draws its two charts from the JSON beside each canvas (json_script, no
// inline script under the CSP) with colours from the design tokens, again whenever htmx swaps
// in new results, and lets htmx show a 400 (the filters' errors next to their fields).
(function () {
  "use strict";

  function token(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // The funnel's bars in the stage badge colours: entry (MQL or PQL), accepted, SQL, opportunity, won.
  function stageColours(entry) {
    return [
      token(entry === "PQL" ? "--stage-pql" : "--stage-mql", "#1d4f91"),
      token("--stage-accepted", "#0b5563"),
      token("--stage-sql", "#155e3b"),
      token("--stage-opportunity", "#7a4100"),
      token("--stage-won", "#0f5a1f"),
    ];
  }

  function axes(horizontal) {
    var ink = token("--quiet", "#52606d");
    var grid = { color: token("--line", "#d9dee5") };
    var ticks = { color: ink, precision: 0, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 };
    return {
      x: { grid: horizontal ? grid : { display: false }, ticks: ticks, beginAtZero: true },
      y: { grid: horizontal ? { display: false } : grid, ticks: ticks, beginAtZero: true },
    };
  }

  function funnel(canvas, data) {
    var names = Object.keys(data.datasets);
    var colours = stageColours(names[0]);
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: names.map(function (name, index) {
          return { label: name, data: data.datasets[name], backgroundColor: colours[index], borderWidth: 0, maxBarThickness: 28 };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { labels: { color: token("--quiet", "#52606d"), boxWidth: 12 } } },
        scales: axes(false),
      },
    };
  }

  // Each group's rate as a dot on its 95% interval, drawn as a floating bar.
  function interval(canvas, data) {
    var brand = token("--brand", "#24527a");
    var scales = axes(true);
    scales.x.max = 100;
    scales.x.ticks = Object.assign({}, scales.x.ticks, { callback: function (value) { return value + "%"; } });
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          {
            label: "95% interval",
            data: data.low.map(function (low, index) { return [low, data.high[index]]; }),
            backgroundColor: token("--stage-mql-bg", "#e2ecfa"),
            borderColor: brand,
            borderWidth: 1,
            barPercentage: 0.5,
            grouped: false,
          },
          {
            type: "scatter",
            label: "Rate",
            data: data.rate.map(function (rate, index) { return { x: rate, y: data.labels[index] }; }),
            backgroundColor: brand,
            pointRadius: 5,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                var index = context.dataIndex;
                return data.count[index] + " of " + data.total[index] + ": " + data.rate[index] + "% (" +
                  data.low[index] + "–" + data.high[index] + "%)";
              },
            },
          },
        },
        scales: { x: scales.x, y: { type: "category", grid: { display: false }, ticks: { color: token("--quiet", "#52606d") } } },
      },
    };
  }

  var BUILDERS = { funnel: funnel, interval: interval };

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    var build = BUILDERS[canvas.dataset.kind];
    if (!source || !build || !window.Chart || canvas.dataset.drawn === "true") return;
    new window.Chart(canvas, build(canvas, JSON.parse(source.textContent)));
    canvas.dataset.drawn = "true";
  }

  function drawIn(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawIn(document); });
  document.addEventListener("htmx:afterSettle", function () { drawIn(document); });

  // A 400 carries the filters with their errors: show it like any answer.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
