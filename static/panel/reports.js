// Reports page (/scp/reports/): draws the charts from the JSON the page carries
// (<script type="application/json" id="report-data">), with the vendored Chart.js.
// Every chart has its table beside it; without this script the tables are the report.
(function () {
  "use strict";

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof window.Chart === "undefined") return null;
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {}
    );
    return new window.Chart(canvas, config);
  }

  function init() {
    var node = document.getElementById("report-data");
    if (!node) return;
    var data = JSON.parse(node.textContent);
    var text = data.text;
    document.documentElement.classList.add("charts-ready");
    draw("chart-activity", {
      type: "line",
      data: {
        labels: data.series.labels,
        datasets: [
          { label: text.opened, data: data.series.opened, borderColor: "#2563eb", backgroundColor: "#2563eb" },
          { label: text.closed, data: data.series.closed, borderColor: "#16a34a", backgroundColor: "#16a34a" },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    draw("chart-backlog", {
      type: "line",
      data: {
        labels: data.series.labels,
        datasets: [
          { label: text.backlog, data: data.series.backlog, borderColor: "#b45309", backgroundColor: "#b45309" },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    draw("chart-channels", {
      type: "bar",
      data: {
        labels: data.channels.labels,
        datasets: [{ label: text.opened, data: data.channels.opened, backgroundColor: "#2563eb" }],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    draw("chart-replies", {
      type: "bar",
      data: {
        labels: data.replies.labels,
        datasets: [{ label: text.replies, data: data.replies.responses, backgroundColor: "#7c3aed" }],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  // The period menu: a custom period needs its dates; the others fill them in.
  function periodSync() {
    var period = document.getElementById("rep-period");
    var start = document.getElementById("rep-start");
    var end = document.getElementById("rep-end");
    if (!period || !start || !end) return;
    function sync() {
      var custom = period.value === "custom";
      start.disabled = end.disabled = !custom;
    }
    period.addEventListener("change", sync);
    sync();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); periodSync(); });
  } else {
    init();
    periodSync();
  }
})();
