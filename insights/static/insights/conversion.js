// The conversion page: draws its two charts from the JSON beside each canvas (json_script, no
// inline script under the CSP) with colours from the design tokens, again whenever htmx swaps
// in new results, and lets htmx show a 400 (the filters' errors next to their fields).
(function () {
  "use strict";

  function token(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // The funnel's steps as shades of the brand colour, darkest first: a sequence that reads in order.
  var SHADES = ["#173a59", "#24527a", "#3f77a8", "#7aa5cc", "#b6cfe6"];

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
    var edge = token("--brand-strong", "#173a59");
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: names.map(function (name, index) {
          return {
            label: name, data: data.datasets[name], backgroundColor: SHADES[index], borderColor: edge,
            borderWidth: 1, maxBarThickness: 28,
          };
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

  // Each group's rate as a mark on its 95% interval, both floating bars ([from, to]).
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
            order: 1, // drawn first, under the rate's mark
          },
          {
            // The rate: a narrow dark mark across its interval bar (drawn over it, not beside it).
            label: "Rate",
            data: data.rate.map(function (rate) { return [Math.max(0, rate - 0.6), Math.min(100, rate + 0.6)]; }),
            backgroundColor: brand,
            borderWidth: 0,
            barPercentage: 0.9,
            grouped: false,
            order: 0,
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
        scales: scales,
      },
    };
  }

  var BUILDERS = { funnel: funnel, interval: interval };

  // htmx "settles" a swap by moving the old element's class, style, width and height onto the new
  // one with the same id, by setAttribute: a style attribute (Chromium leaves style="" on date
  // fields, Chart.js sizes canvases) is then blocked by the Content-Security-Policy. On this page
  // nothing needs a style carried over.
  if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];

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

  // htmx keeps the page as HTML for the Back button: keep it without drawn charts (a canvas's
  // pixels are not in its HTML) and without style attributes (put back as HTML, the CSP would
  // block them), and draw again once it is back.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = window.Chart && window.Chart.getChart(canvas);
      if (chart) chart.destroy();
      delete canvas.dataset.drawn;
      ["width", "height"].forEach(function (name) { canvas.removeAttribute(name); });
    });
    document.querySelectorAll("body [style]").forEach(function (element) { element.removeAttribute("style"); });
  });
  document.addEventListener("htmx:historyRestore", function () { drawIn(document); });

  // A 400 carries the filters with their errors: show it like any answer.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
