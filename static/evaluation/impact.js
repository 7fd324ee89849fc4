/* Impact evaluation page: draw the trend chart from the json_script data, and while comparison
   groups are being computed, poll the status endpoint, show progress, and reload when done.
   The page works without this script: the data table sits beside the chart, and a link
   refreshes the page. */
(function () {
  "use strict";

  function drawChart() {
    var canvas = document.getElementById("trend-chart");
    var source = document.getElementById("trend-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var suffix = data.synthetic ? " (synthetic demo data)" : "";
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.years,
        datasets: [
          { label: "Participating schools" + suffix, data: data.participants, borderColor: "#0d6efd", backgroundColor: "#0d6efd", spanGaps: true },
          { label: "Matched comparison schools" + suffix, data: data.comparison, borderColor: "#d63384", backgroundColor: "#d63384", borderDash: [6, 4], spanGaps: true }
        ]
      },
      options: {
        responsive: true,
        animation: false,
        plugins: { title: { display: true, text: data.label } },
        scales: { x: { title: { display: true, text: "Academic year (year it ends)" } } }
      }
    });
  }

  function drawEventStudy() {
    var canvas = document.getElementById("event-chart");
    var source = document.getElementById("event-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var labels = data.years.map(function (year, i) {
      var r = data.relative[i];
      return year + " (" + (r > 0 ? "+" : "") + r + ")";
    });
    new Chart(canvas, {
      data: {
        labels: labels,
        datasets: [
          { type: "bar", label: "95% confidence interval", data: data.low.map(function (low, i) { return [low, data.high[i]]; }),
            backgroundColor: "rgba(13, 110, 253, 0.25)", borderColor: "#0d6efd", borderWidth: 1, barPercentage: 0.3 },
          { type: "line", label: "Difference from the baseline year (" + data.unit + ")", data: data.estimate,
            borderColor: "#212529", backgroundColor: "#212529", showLine: false, pointRadius: 4 }
        ]
      },
      options: {
        responsive: true,
        animation: false,
        plugins: { title: { display: true, text: "Event study: " + data.label } },
        scales: { x: { title: { display: true, text: "Academic year (years from the baseline)" } } }
      }
    });
  }

  function pollStatus() {
    var box = document.getElementById("impact-status");
    if (!box || box.dataset.busy !== "true" || !window.fetch) return;
    var url = box.dataset.statusUrl;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) return;
          var busy = status.groups.filter(function (g) { return g.state === "queued" || g.state === "running"; });
          status.groups.forEach(function (g) {
            var cell = document.querySelector("#group-" + g.measure + " .js-state");
            if (cell && (g.state === "queued" || g.state === "running")) {
              cell.textContent = g.state_label + " (" + g.progress + "%)" + (g.note ? ": " + g.note : "");
            }
          });
          if (!status.busy) {
            window.location.reload();
            return;
          }
          box.innerHTML = "";
          var p = document.createElement("p");
          p.className = "alert alert-info";
          p.textContent = "Computing " + busy.length + " comparison group(s)… this page will refresh when they are ready.";
          box.appendChild(p);
          busy.forEach(function (g) {
            var bar = document.createElement("div");
            bar.className = "progress mb-2";
            bar.setAttribute("role", "progressbar");
            bar.setAttribute("aria-label", g.label);
            bar.setAttribute("aria-valuemin", "0");
            bar.setAttribute("aria-valuemax", "100");
            bar.setAttribute("aria-valuenow", String(g.progress));
            var fill = document.createElement("div");
            fill.className = "progress-bar";
            fill.style.width = g.progress + "%";
            fill.textContent = g.label + " " + g.progress + "%";
            bar.appendChild(fill);
            box.appendChild(bar);
          });
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawChart();
    drawEventStudy();
    pollStatus();
  });
})();
