// A version's backtest page: draws each chart from the JSON beside its canvas (json_script, so the
// strict Content-Security-Policy holds), the version in the brand colour, the live one quiet.
(function () {
  "use strict";

  function token(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var isRate = canvas.dataset.kind === "precision";
    var colours = [token("--brand", "#24527a"), token("--quiet", "#52606d")];
    var ink = token("--quiet", "#52606d");
    var grid = { color: token("--line", "#d9dee5") };
    var datasets = Object.keys(data.datasets).map(function (name, index) {
      return {
        label: name,
        data: data.datasets[name],
        borderColor: colours[index % colours.length],
        backgroundColor: colours[index % colours.length],
        borderDash: index ? [6, 4] : [],
        borderWidth: 2,
        spanGaps: false,
        maxBarThickness: 32,
      };
    });
    var ticks = { color: ink, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 };
    var valueTicks = Object.assign({}, ticks, {
      precision: isRate ? undefined : 0,
      callback: isRate ? function (value) { return Math.round(value * 100) + "%"; } : undefined,
    });
    new window.Chart(canvas, {
      type: isRate ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { labels: { color: ink } } },
        scales: {
          x: { grid: { display: false }, ticks: ticks },
          y: { grid: grid, ticks: valueTicks, beginAtZero: true, suggestedMax: isRate ? 1 : undefined },
        },
      },
    });
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
