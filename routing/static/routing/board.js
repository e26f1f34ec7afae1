// The manager's board: draws each chart from the JSON beside its canvas (json_script), with
// colours from the design tokens, and lets htmx show the 4xx answers that carry a form's
// errors or a refused reassignment (htmx leaves error responses unswapped by default).
(function () {
  "use strict";

  function token(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    return {
      brand: token("--brand", "#24527a"),
      met: token("--sla-on-track", "#1e6b3a"),
      missed: token("--sla-breached", "#a4161a"),
      risk: token("--sla-at-risk", "#8a4b00"),
      ink: token("--quiet", "#52606d"),
      line: token("--line", "#d9dee5"),
    };
  }

  function colourFor(kind, name, index, colours) {
    if (kind === "stacked") return name === "Missed" ? colours.missed : colours.met;
    if (kind === "queue-age") return [colours.met, colours.met, colours.risk, colours.missed, colours.missed][index];
    return colours.brand;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var kind = canvas.dataset.kind;
    var colours = palette();
    var names = Object.keys(data.datasets);
    var datasets = names.map(function (name) {
      var values = data.datasets[name];
      var colour = canvas.dataset.chart === "queue-age"
        ? values.map(function (_, index) { return colourFor("queue-age", name, index, colours); })
        : colourFor(kind, name, 0, colours);
      return { label: name, data: values, backgroundColor: colour, borderWidth: 0, maxBarThickness: 48 };
    });
    var stacked = kind === "stacked";
    var horizontal = kind === "horizontal";
    var grid = { color: colours.line };
    // Upright labels, thinned out when there are many (a month of days).
    var ticks = { color: colours.ink, precision: 0, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 };
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: names.length > 1, labels: { color: colours.ink } } },
        scales: {
          x: { stacked: stacked, grid: horizontal ? grid : { display: false }, ticks: ticks, beginAtZero: true },
          y: { stacked: stacked, grid: horizontal ? { display: false } : grid, ticks: ticks, beginAtZero: true },
        },
      },
    });
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });

  // The live SLA board refreshes itself every minute, but not under a manager's hand: while
  // focus is in it (choosing a rep to reassign to), or while a reassignment is on its way.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var section = event.detail.elt;
    if (section.id !== "sla-board") return;
    if (section.contains(document.activeElement) || section.querySelector(".htmx-request")) {
      event.preventDefault();
    }
  });

  // 400 (a form's errors), 403 and 409 (a refused reassignment) come with the fragment to show.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 403 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
